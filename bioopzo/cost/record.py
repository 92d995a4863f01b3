"""Record the per-step activity the counts need from the Brian2 simulation itself.

The trained network runs on Brian2's runtime device with a StateMonitor (``when='end'``)
on every per-step variable the counts read (nothing in the network changes):

    inputs:    x (x_0[t]), trace (a_0[t])
    hidden l:  s, x, trace, psi, z (noise, drawn every step) and delta (= psi g of the
               simulated rule)
    readout:   delta (the output error e[t])

``learning=False`` (default) runs the samples as test samples: learning and noise off,
the feedback pathway still computes g and delta. ``learning=True`` runs them as one
training epoch (noise on, weights, biases and feedback matrices changing every update
event), as during training (:func:`bioopzo.train.run_samples`); weights for the
counts are then those before the epoch. The result is an :class:`~bioopzo.cost.counts.Activity`.
"""

from __future__ import annotations

import numpy as np

from bioopzo.config import ExperimentConfig
from bioopzo.cost.counts import Activity
from bioopzo.rules.registry import COUNTED_RULES, make_rule, rule_class
from bioopzo.options import plural

__all__ = ["recorded_variables", "record_activity", "activity_from_recording"]


def recorded_variables(config: ExperimentConfig, learning: bool = False) -> tuple:
    """(group, variable) pairs to record for ``config``."""
    L = len(config.network.hidden)
    rule = make_rule(config)
    out = [("inputs", "x"), ("inputs", "trace"), ("readout", "delta")]
    for l in range(1, L + 1):
        out += [(f"hidden{l}", v) for v in ("s", "x", "trace", "psi")]
        if rule.trains_hidden:
            out.append((f"hidden{l}", "delta"))
        out.append((f"hidden{l}", "z"))     # drawn every step, even when its injection is off
    return tuple(out)


def _feedback_matrices(state: dict) -> dict:
    """The feedback matrices (M_l, B_l) of a saved state."""
    return {k: np.asarray(v) for k, v in state.items() if k[:1] in "MB" and k[1:].isdigit()}


def activity_from_recording(config: ExperimentConfig, state: dict, recorded: dict, *,
                            learning: bool, source: str) -> Activity:
    """Turn recorded (steps, neurons) arrays into an :class:`Activity`."""
    L = len(config.network.hidden)
    hidden = [f"hidden{l}" for l in range(1, L + 1)]
    weights = [np.asarray(state[f"W{l}"]) for l in range(1, L + 1)] + [np.asarray(state["Wout"])]
    sizes = (weights[0].shape[1], *[w.shape[0] for w in weights])
    x_in = recorded[("inputs", "x")]
    delta = None
    if all((h, "delta") in recorded for h in hidden):
        delta = [recorded[(h, "delta")] for h in hidden]
    noise = None
    if all((h, "z") in recorded for h in hidden):
        noise = [recorded[(h, "z")] for h in hidden]
    feedback = _feedback_matrices(state)
    decay = config.neuron.trace_decay
    return Activity(
        sizes=sizes, weights=weights, steps_per_sample=config.data.steps_per_sample,
        x=[x_in, *[recorded[(h, "x")] for h in hidden]],
        spikes=[(x_in != 0).astype(float), *[recorded[(h, "s")] for h in hidden]],
        traces=[recorded[("inputs", "trace")], *[recorded[(h, "trace")] for h in hidden]],
        psi=[recorded[(h, "psi")] for h in hidden], error=recorded[("readout", "delta")],
        delta=delta, noise=noise, rule=config.rule.name, feedback=feedback,
        trace_max=1.0 / (1.0 - decay) if decay < 1 else float(config.data.steps_per_sample),
        training=learning, source=source)


def record_activity(config: ExperimentConfig, state: dict, intensities, labels, *,
                    learning: bool = False, seed: int = 0) -> Activity:
    """Run ``intensities`` (N, n_inputs) through the network on the runtime device and
    return the recorded activity (exact, per step)."""
    from bioopzo.train import run_samples

    intensities = np.asarray(intensities, float)
    labels = np.asarray(labels)
    runtime = config.with_overrides({"device": {"name": "runtime"}})
    variables = recorded_variables(runtime, learning)
    recorded = run_samples(runtime, state, intensities, labels, seed=seed, learning=learning,
                           record_spikes=True, record_states=variables).recorded
    what = ("training epoch (learning and noise on)" if learning
            else "evaluation (learning and noise off)")
    source = (f"recorded from the Brian2 simulation (runtime device), {what}, "
              f"{plural(len(labels), 'sample')}: exact counts")
    act = activity_from_recording(runtime, state, recorded, learning=learning, source=source)
    _add_fixed_feedback(runtime, act)
    return act


def _add_fixed_feedback(config: ExperimentConfig, act: Activity) -> None:
    """A rule with fixed feedback matrices (dfa's B_l) has them drawn once: add the ones a
    run of that rule with this config and seed would draw, so that its factor-gated counts
    of a network trained with another rule use real matrices."""
    from bioopzo.state import initial_state

    for name in COUNTED_RULES:
        if not rule_class(name).fixed_feedback or name == config.rule.name:
            continue
        other = config.with_overrides({"rule": {"name": name}})
        drawn = _feedback_matrices(initial_state(other, act.sizes[0], act.sizes[-1],
                                                 other.training.seed))
        keys = list(drawn)
        if all(k in act.feedback for k in keys):
            continue
        for k in keys:
            act.feedback.setdefault(k, drawn[k])
        act.notes.append(f"{name}: {', '.join(keys)} are those a {name.upper()} run of this "
                         f"config would draw (seed {other.training.seed}); the network's "
                         "forward weights are the recorded run's")
