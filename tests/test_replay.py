"""The once-per-sample update's replayed and active forms equal the dense sum.

updates.py exchanges the sums of the sample's gradient: sum_k learn_delta_k a[k]
over every synapse becomes sum_s pulse[s] E[s] over the synapses of the
presynaptic neurons active at step s (replayed form), or keeps the T-term sum
but only for presynaptic neurons active in the sample (active form). Every
form must learn the same weights (to rounding), spike for spike, for every
rule whose weights learn once per sample, with the update applied straight to
the weights (sample schedule, SGD) or through the accumulator (mini-batches,
momentum); bp's transposed copy must stay equal to the forward weights.
"""

from __future__ import annotations

import brian2
from dataclasses import replace
import numpy as np
import pytest
from conftest import small_config

from bioopzo.data.epochs import make_epoch_data
from bioopzo.devices.runtime import RUNTIME_CAPABILITIES
from bioopzo.network import BrianNetwork
from bioopzo.state import initial_state

N_IN, N_OUT, T, N = 14, 4, 8, 6


def _forms(net) -> list:
    return [net._update_form(l) for l in range(1, len(net.sizes))]


def _run(cfg, data, state, replay):
    brian2.prefs.codegen.target = "numpy"
    brian2.defaultclock.dt = cfg.neuron.dt
    net = BrianNetwork(cfg, N_IN, N_OUT, data, state,
                       capabilities=replace(RUNTIME_CAPABILITIES, sample_clock_pathways=replay),
                       record_states=[("hidden1", "s"), ("hidden2", "s")])
    brian2.seed(3)
    net.network.run(net.duration, namespace={})
    return net


def _frames(rng):
    # sparse events with counts 1 and 2, and one input that never fires
    frames = (rng.random((N, T, N_IN)) < 0.25) * rng.integers(1, 3, (N, T, N_IN)).astype(float)
    frames[:, :, 0] = 0
    return frames


@pytest.mark.parametrize("form", ["replay", "active"])
@pytest.mark.parametrize("rule,schedule,momentum", [
    ("opzo", "sample", 0.0), ("bp", "sample", 0.0), ("dfa", "batch", 0.0),
    ("bp", "batch", 0.9), ("opzo", "sample", 0.5), ("zo", "sample", 0.0),
])
def test_sparse_forms_equal_the_dense_sum(rng, rule, schedule, momentum, form):
    cfg = small_config(rule={"name": rule}, data={"encoding": "frames", "steps_per_sample": T},
                       training={"replay_min_synapses": 0 if form == "replay" else 10**9},
                       noise={"scale": 0.3 if rule in ("opzo", "zo") else 0.0},
                       optimizer={"schedule": schedule, "momentum": momentum, "batch_size": 2,
                                  "learning_rate": 0.1})
    frames = _frames(rng)
    y = rng.integers(0, N_OUT, N)
    data = make_epoch_data(frames[:5], y[:5], frames[5:], y[5:], cfg.optimizer.samples_per_update,
                           lr_factor=np.linspace(1.0, 0.5, 5))
    state = initial_state(cfg, N_IN, N_OUT)
    dense, replayed = _run(cfg, data, state, False), _run(cfg, data, state, True)
    assert _forms(replayed) == [form] * 3 and _forms(dense) == ["dense"] * 3
    for l in (1, 2):
        s_dense = dense.recorded(f"hidden{l}", "s")
        assert s_dense.sum() > 0, "the test network must spike"
        np.testing.assert_array_equal(replayed.recorded(f"hidden{l}", "s"), s_dense)
    learned, reference = replayed.get_state(), dense.get_state()
    for key, value in reference.items():
        scale = max(np.max(np.abs(value)), 1e-12)
        np.testing.assert_allclose(learned[key], value, rtol=0, atol=1e-12 * scale, err_msg=key)
    assert not np.allclose(learned["W1"], state["W1"]), "the hidden weights must learn"
    np.testing.assert_array_equal(learned["W1"][:, 0], state["W1"][:, 0])   # silent input
    if rule == "bp":   # the transposed copies add the same products in the same order
        for pathway in replayed.feedback:
            forward = pathway.mirror_of
            np.testing.assert_array_equal(np.asarray(pathway.synapses.w_T[:]).reshape(
                len(forward.target), len(forward.source)).T.ravel(), np.asarray(forward.w[:]))


def test_direct_input_keeps_the_dense_form(rng):
    """Every input is active every step under ``direct``: layer 1 sums densely,
    the spiking layers above replay."""
    cfg = small_config(data={"encoding": "direct", "steps_per_sample": T},
                       optimizer={"schedule": "sample"}, training={"replay_min_synapses": 0})
    x = rng.random((3, N_IN))
    y = np.array([0, 1, 2])
    net = BrianNetwork(cfg, N_IN, N_OUT, make_epoch_data(x[:2], y[:2], x[2:], y[2:], 1),
                       initial_state(cfg, N_IN, N_OUT))
    assert _forms(net) == ["dense", "replay", "replay"]
    assert all(f"replay{k}" in net.forward[2].events for k in range(T))
    assert "active_in_sample" not in net.forward[0].events
    assert "trace_0" in net.inputs.variables and "pulse_0" in net.layers[0].variables


def test_small_weight_matrices_sum_over_active_inputs(rng):
    """Below ``training.replay_min_synapses`` a matrix takes the active form (one
    pathway to compile, not T); the step schedule has no once-per-sample form."""
    cfg = small_config(optimizer={"schedule": "sample"},
                       training={"replay_min_synapses": 30 * 20})   # hidden = [30, 20]
    x = rng.random((3, N_IN))
    y = np.array([0, 1, 2])
    data = make_epoch_data(x[:2], y[:2], x[2:], y[2:], 1)
    net = BrianNetwork(cfg, N_IN, N_OUT, data, initial_state(cfg, N_IN, N_OUT))
    assert _forms(net) == ["active", "replay", "active"]   # 14 x 30, 30 x 20, 20 x 4
    assert "active_in_sample" in net.forward[0].events
    step = BrianNetwork(cfg.with_overrides({"optimizer": {"schedule": "step"}}), N_IN, N_OUT,
                        data, initial_state(cfg, N_IN, N_OUT), prefix="step_")
    assert _forms(step) == [None, None, None]


def test_large_groups_write_their_history_in_place(rng):
    """On a device with in-place histories, groups of at least
    ``training.slot_history_min_neurons`` neurons get the slot{k} events and no
    shift register; smaller groups shift; the runtime device always shifts."""
    cfg = small_config(rule={"name": "bp"}, network={"hidden": [30, 20]},
                       data={"encoding": "frames", "steps_per_sample": T},
                       training={"replay_min_synapses": 0, "slot_history_min_neurons": 25},
                       optimizer={"schedule": "sample"})
    data = make_epoch_data(_frames(rng), np.arange(N) % N_OUT, np.zeros((0, T, N_IN)),
                           np.zeros(0, int), 1)
    state = initial_state(cfg, N_IN, N_OUT)
    in_place = replace(RUNTIME_CAPABILITIES, slot_histories=lambda resetter: None)
    net = BrianNetwork(cfg, N_IN, N_OUT, data, state, capabilities=in_place)
    slots = {g.name: {e for e in g.events if e.startswith("slot")}
             for g in (net.inputs, *net.layers)}
    assert slots == {net.inputs.name: set(), net.layers[0].name: {f"slot{k}" for k in range(T)},
                     net.layers[1].name: set()}
    assert "learn_delta_0 = learn*delta" in net.layers[0].event_codes["slot0"]
    assert "trace_0 = trace" in net.layers[0].event_codes["slot0"] or \
        "pulse_0 = s" in net.layers[0].event_codes["slot0"]
    shifted = BrianNetwork(cfg, N_IN, N_OUT, data, state, capabilities=RUNTIME_CAPABILITIES)
    assert not any(e.startswith("slot") for g in shifted.layers for e in g.events)
