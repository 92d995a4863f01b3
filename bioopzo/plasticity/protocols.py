"""Plasticity protocols: forced pre- and postsynaptic spike patterns, run as one Brian2 simulation.

A protocol is a list of :class:`Condition` objects, one per data point. A condition is a motif of
presynaptic and postsynaptic spike times (ms, on the dt grid), an optional modulator time course
(pulses of given sign between given times) and a repeat count. The weight change of the condition is

    dw_rel = repeats * (w(T) - w(0)) / w(0),      w(0) = 1,

that is, the motif is simulated once and its change multiplied by ``repeats``. This is exact for the
additive (weight-independent) rules of :mod:`bioopzo.plasticity.rules` whenever the repetitions are
independent, i.e. separated by intervals over which every trace of the rule has decayed. Pairings at
<= 1 Hz are treated so: 1 s or more against time constants <= 125 ms for the visual-cortex sets and
the pair window; reproductions of Wang et al. 2005 treat their 60 motifs the same way. This is an
approximation for the hippocampal full triplet sets (tau_x = 946 and 575 ms, whose r2 trace keeps
e^(-1000/946) = 0.35 after 1 s), as in those reproductions. Protocols whose pairings interact
(Sjöström pairings at 10-50 Hz) are simulated as one train with all their pairings.

All conditions run in ONE Brian2 simulation: condition k owns presynaptic neuron k, postsynaptic
neuron k and the single synapse k -> k (``SpikeGeneratorGroup`` sources, ``connect(j='i')``).
Time step dt = 0.1 ms; spikes are forced at the given times (rounded to the grid when the condition
is built). The Brian2 runtime device with the numpy target is used and Brian2's device is reset to
runtime afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Condition", "DT_MS", "pairing", "pairing_train", "motif", "protocol_duration_ms",
           "simulate_brian2", "modulator_array", "clamp_arrays"]

#: Simulation time step of every protocol (ms).
DT_MS = 0.1
#: Time after the last event of the longest condition that the simulation still runs (ms).
TAIL_MS = 5.0


def _grid(times_ms) -> tuple[float, ...]:
    steps = np.rint(np.asarray(times_ms, dtype=float) / DT_MS).astype(np.int64)
    return tuple(float(s * DT_MS) for s in steps)


@dataclass(frozen=True)
class Condition:
    """One data point's protocol.

    pre_ms, post_ms: spike times in ms (>= 0, on the 0.1 ms grid) of the simulated motif.
    repeats: independent repetitions of the motif (its weight change is multiplied by this).
    modulator: ((start_ms, stop_ms, value), ...) pulses of the third factor; value is signed
        (+1 dopamine / noradrenaline, -1 serotonin in the He et al. 2015 convention). ``None`` means
        a constant modulator of 1 for the whole simulation (pairing experiments without a third factor).
    label: a short name for tables and figures.
    clamp_mV: postsynaptic membrane held at this potential for the whole simulation (voltage clamp;
        rules with a membrane read it, spike-pair rules ignore it), or ``None``.
    """

    pre_ms: tuple[float, ...]
    post_ms: tuple[float, ...]
    repeats: int = 1
    modulator: tuple[tuple[float, float, float], ...] | None = None
    label: str = ""
    clamp_mV: float | None = None

    def __post_init__(self):
        object.__setattr__(self, "pre_ms", _grid(self.pre_ms))
        object.__setattr__(self, "post_ms", _grid(self.post_ms))
        for name in ("pre_ms", "post_ms"):
            times = getattr(self, name)
            if any(t < 0 for t in times):
                raise ValueError(f"{name} of condition {self.label!r} has negative times: {times}")
            if len(set(times)) != len(times):
                raise ValueError(f"{name} of condition {self.label!r} has two spikes in one 0.1 ms step")

    @property
    def last_event_ms(self) -> float:
        times = list(self.pre_ms) + list(self.post_ms)
        if self.modulator:
            times += [stop for _, stop, _ in self.modulator]
        return max(times) if times else 0.0


def pairing(delta_t_ms: float, repeats: int = 1, onset_ms: float = 1.0, label: str = "",
            modulator=None) -> Condition:
    """One pre/post pair with delta_t = t_post - t_pre (ms), both spikes at or after ``onset_ms``."""
    t_pre = onset_ms + max(0.0, -delta_t_ms)
    return Condition((t_pre,), (t_pre + delta_t_ms,), repeats, modulator, label)


def pairing_train(delta_t_ms: float, frequency_hz: float, n_pairings: int, onset_ms: float = 1.0,
                  label: str = "") -> Condition:
    """``n_pairings`` pre/post pairs at ``frequency_hz`` in one train (one repetition)."""
    period = 1000.0 / frequency_hz
    t_pre = onset_ms + max(0.0, -delta_t_ms) + period * np.arange(n_pairings)
    return Condition(tuple(t_pre), tuple(t_pre + delta_t_ms), 1, None, label)


def motif(pre_ms, post_ms, repeats: int = 1, onset_ms: float = 1.0, label: str = "") -> Condition:
    """Any spike motif; times are shifted so that the first spike is at ``onset_ms``."""
    first = min(list(pre_ms) + list(post_ms))
    return Condition(tuple(np.asarray(pre_ms, float) - first + onset_ms),
                     tuple(np.asarray(post_ms, float) - first + onset_ms), repeats, None, label)


def protocol_duration_ms(conditions) -> float:
    """Simulated time of a protocol: the last event of any condition plus a 5 ms tail."""
    return float(np.ceil((max(c.last_event_ms for c in conditions) + TAIL_MS) / DT_MS) * DT_MS)


def n_steps(conditions) -> int:
    return int(round(protocol_duration_ms(conditions) / DT_MS))


def modulator_array(conditions, steps: int) -> np.ndarray:
    """(steps, N) third-factor values per step: 1 everywhere for conditions without pulses."""
    m = np.ones((steps, len(conditions)))
    t = np.arange(steps) * DT_MS
    for k, c in enumerate(conditions):
        if c.modulator is not None:
            m[:, k] = 0.0
            for start, stop, value in c.modulator:
                m[(t >= start - 1e-9) & (t < stop - 1e-9), k] += value
    return m


def spike_steps(times_ms) -> np.ndarray:
    return np.rint(np.asarray(times_ms, dtype=float) / DT_MS).astype(np.int64)


def simulate_brian2(rule, conditions) -> np.ndarray:
    """Run all conditions in one Brian2 simulation (runtime device, numpy target); returns dw_rel."""
    import brian2 as b2

    conditions = list(conditions)
    previous_target = b2.prefs.codegen.target
    device = b2.get_device()
    if type(device).__name__ != "RuntimeDevice":
        device.reinit()
    b2.set_device("runtime")
    b2.prefs.codegen.target = "numpy"
    try:
        net = b2.Network()
        clock = b2.Clock(dt=DT_MS * b2.ms, name="plasticity_clock")
        n = len(conditions)
        pre_idx = np.concatenate([[k] * len(c.pre_ms) for k, c in enumerate(conditions)] + [[]])
        pre_t = np.concatenate([c.pre_ms for c in conditions] + [[]])
        post_idx = np.concatenate([[k] * len(c.post_ms) for k, c in enumerate(conditions)] + [[]])
        post_t = np.concatenate([c.post_ms for c in conditions] + [[]])
        pre = b2.SpikeGeneratorGroup(n, pre_idx.astype(int), pre_t * b2.ms, clock=clock, name="pre")
        post_spikes = b2.SpikeGeneratorGroup(n, post_idx.astype(int), post_t * b2.ms, clock=clock,
                                             name="post_spikes")
        steps = n_steps(conditions)
        modulator = b2.TimedArray(modulator_array(conditions, steps), dt=DT_MS * b2.ms, name="modulator")
        synapse = rule.build_brian2(pre, post_spikes, conditions, clock, net, modulator)
        net.add(pre, post_spikes, synapse)
        net.run(steps * DT_MS * b2.ms, namespace={})
        w = np.asarray(synapse.w[:], dtype=float)
    finally:
        b2.prefs.codegen.target = previous_target
        if type(b2.get_device()).__name__ != "RuntimeDevice":
            b2.set_device("runtime")
    repeats = np.array([c.repeats for c in conditions], dtype=float)
    return repeats * (w - 1.0)


def clamp_arrays(conditions) -> tuple[np.ndarray, np.ndarray]:
    """(clamped flag, clamp potential in mV) per condition; 0 mV where not clamped."""
    clamped = np.array([c.clamp_mV is not None for c in conditions], dtype=float)
    value = np.array([c.clamp_mV if c.clamp_mV is not None else 0.0 for c in conditions], dtype=float)
    return clamped, value
