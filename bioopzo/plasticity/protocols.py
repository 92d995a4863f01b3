"""Plasticity protocols: forced pre- and postsynaptic spike patterns, run as one Brian2 simulation.

A protocol is a list of :class:`Condition` objects, one per data point. A condition is a motif of
presynaptic and postsynaptic spike times (Brian2 time quantities, put on the dt grid), an optional
modulator time course (pulses of given sign between given times), an optional voltage clamp and a
repeat count. The weight change of the condition is

    dw_rel = repeats * (w(T) - w(0)) / w(0),      w(0) = 1,

that is, the motif is simulated once and its change multiplied by ``repeats``. This is exact for the
additive (weight-independent) rules of :mod:`bioopzo.plasticity.models` whenever the repetitions are
independent, i.e. separated by intervals over which every trace of the rule has decayed. Pairings at
<= 1 Hz are treated so: 1 s or more against time constants <= 125 ms for the visual-cortex sets and
the pair window; reproductions of Wang et al. 2005 treat their 60 motifs the same way. This is an
approximation for the hippocampal full triplet sets (tau_x = 946 and 575 ms, whose r2 trace keeps
e^(-1000/946) = 0.35 after 1 s), as in those reproductions. Protocols whose pairings interact
(Sjöström pairings at 10-50 Hz) are simulated as one train with all their pairings.

All conditions run in ONE Brian2 simulation: condition k owns presynaptic neuron k, postsynaptic
neuron k and the single synapse k -> k (``SpikeGeneratorGroup`` sources, ``connect(j='i')``).
Time step dt = 0.1 ms; spikes are forced at the given times (rounded to the grid when the condition
is built; a condition keeps them as step indices). Times are quantities everywhere
(``delta_t=10*ms``, ``frequency=20*Hz``, ``onset=1*ms``); the arrays for Brian2 and the NumPy forms
are built from step indices and plain numbers in ms. The Brian2 runtime device with the numpy target
is used and Brian2's device is reset to runtime afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from brian2 import Hz, Quantity, mV, ms, second

from bioopzo.plasticity.quantities import array_in_unit, check_unit, in_unit

__all__ = ["Condition", "DT", "TAIL", "INDEPENDENT_INTERVAL", "pairing", "pairing_train", "motif",
           "burst", "repeated", "protocol_duration", "n_steps",
           "simulate_brian2", "modulator_array", "clamp_arrays", "spike_arrays"]

#: Simulation time step of every protocol.
DT = 0.1 * ms
#: Time after the last event of the longest condition that the simulation still runs.
TAIL = 5.0 * ms
#: Repetitions of a motif at least this far apart count as independent (``repeats``); closer ones
#: are simulated as one train.
INDEPENDENT_INTERVAL = 1.0 * second
#: the same two in ms, for building arrays
_STEP_MS = in_unit(DT, ms, "DT")
_TAIL_MS = in_unit(TAIL, ms, "TAIL")


def _steps(times, name: str, label: str) -> tuple[int, ...]:
    times_ms = array_in_unit(times, ms, name, f"condition {label!r}")
    return tuple(int(s) for s in np.rint(times_ms / _STEP_MS).astype(np.int64))


def _pulse_key(pulse) -> tuple[float, float, float]:
    start, stop, value = pulse
    return float(start), float(stop), float(value)


@dataclass(frozen=True, eq=False)
class Condition:
    """One data point's protocol.

    pre, post: spike times (Brian2 time quantities, >= 0) of the simulated motif; they are rounded
        to the dt grid and kept as step indices ``pre_steps``, ``post_steps`` (``pre``, ``post``
        then hold the grid times).
    repeats: independent repetitions of the motif (its weight change is multiplied by this).
    modulator: ((start, stop, value), ...) pulses of the third factor, start and stop as time
        quantities; value is signed (+1 dopamine / noradrenaline, -1 serotonin in the He et al. 2015
        convention). ``None`` means a constant modulator of 1 for the whole simulation (pairing
        experiments without a third factor).
    label: a short name for tables and figures.
    clamp: postsynaptic membrane held at this potential (a voltage quantity) for the whole
        simulation (voltage clamp; rules with a membrane read it, spike-pair rules ignore it), or
        ``None``.
    """

    pre: Quantity
    post: Quantity
    repeats: int = 1
    modulator: tuple | None = None
    label: str = ""
    clamp: Quantity | None = None
    pre_steps: tuple[int, ...] = field(init=False)
    post_steps: tuple[int, ...] = field(init=False)

    def __post_init__(self):
        for name in ("pre", "post"):
            steps = _steps(getattr(self, name), name, self.label)
            if any(s < 0 for s in steps):
                raise ValueError(f"{name} of condition {self.label!r} has negative times: "
                                 f"{getattr(self, name)}")
            if len(set(steps)) != len(steps):
                raise ValueError(f"{name} of condition {self.label!r} has two spikes in one 0.1 ms step")
            object.__setattr__(self, f"{name}_steps", steps)
            object.__setattr__(self, name, np.array(steps, dtype=float) * _STEP_MS * ms)
        owner = f"condition {self.label!r}"
        if self.modulator is not None:
            pulses = tuple(tuple(p) for p in self.modulator)
            for start, stop, value in pulses:
                check_unit(start, ms, "modulator pulse start", owner)
                check_unit(stop, ms, "modulator pulse stop", owner)
                check_unit(value, 1, "modulator pulse value", owner)
            object.__setattr__(self, "modulator", pulses)
        if self.clamp is not None:
            check_unit(self.clamp, mV, "clamp", owner)

    def _key(self) -> tuple:
        modulator = None if self.modulator is None else tuple(map(_pulse_key, self.modulator))
        clamp = None if self.clamp is None else float(self.clamp)
        return (self.pre_steps, self.post_steps, self.repeats, modulator, self.label, clamp)

    def __eq__(self, other):
        return isinstance(other, Condition) and self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    @property
    def last_event(self) -> Quantity:
        return _last_event_ms(self) * ms


def _last_event_ms(c: Condition) -> float:
    times = [s * _STEP_MS for s in c.pre_steps + c.post_steps]
    if c.modulator:
        times += [in_unit(stop, ms, "modulator pulse stop") for _, stop, _ in c.modulator]
    return max(times) if times else 0.0


def pairing(delta_t, repeats: int = 1, onset=1.0 * ms, label: str = "", modulator=None) -> Condition:
    """One pre/post pair with delta_t = t_post - t_pre, both spikes at or after ``onset``."""
    d = in_unit(delta_t, ms, "delta_t")
    t_pre = in_unit(onset, ms, "onset") + max(0.0, -d)
    return Condition(np.array([t_pre]) * ms, np.array([t_pre + d]) * ms, repeats, modulator, label)


def pairing_train(delta_t, frequency, n_pairings: int, onset=1.0 * ms, label: str = "") -> Condition:
    """``n_pairings`` pre/post pairs at ``frequency`` in one train (one repetition)."""
    d = in_unit(delta_t, ms, "delta_t")
    period = 1000.0 / in_unit(frequency, Hz, "frequency")
    t_pre = in_unit(onset, ms, "onset") + max(0.0, -d) + period * np.arange(n_pairings)
    return Condition(t_pre * ms, (t_pre + d) * ms, 1, None, label)


def motif(pre, post, repeats: int = 1, onset=1.0 * ms, label: str = "") -> Condition:
    """Any spike motif; times are shifted so that the first spike is at ``onset``."""
    pre_ms = array_in_unit(pre, ms, "pre")
    post_ms = array_in_unit(post, ms, "post")
    first = min(list(pre_ms) + list(post_ms))
    start = in_unit(onset, ms, "onset")
    return Condition((pre_ms - first + start) * ms, (post_ms - first + start) * ms, repeats, None, label)


def burst(delta_t, n_spikes: int, interval, timing_spike: int = 1, repeats: int = 1, onset=1.0 * ms,
          label: str = "") -> Condition:
    """One presynaptic spike and a postsynaptic burst of ``n_spikes`` spikes ``interval`` apart;
    ``delta_t = t_post[timing_spike] - t_pre`` with ``timing_spike`` counted from 1 (the first spike
    of the burst). The first spike of the motif is at ``onset``."""
    if int(n_spikes) != n_spikes or n_spikes < 1:
        raise ValueError(f"n_spikes of burst {label!r} must be a positive integer, got {n_spikes}")
    if int(timing_spike) != timing_spike or not 1 <= timing_spike <= n_spikes:
        raise ValueError(f"timing_spike of burst {label!r} must be 1..{n_spikes}, got {timing_spike}")
    d = in_unit(delta_t, ms, "delta_t")
    isi = in_unit(interval, ms, "interval")
    post = d + isi * (np.arange(int(n_spikes)) - (int(timing_spike) - 1))
    return motif(np.array([0.0]) * ms, post * ms, repeats, onset=onset, label=label)


def repeated(condition: Condition, frequency, n: int, label: str | None = None) -> Condition:
    """``n`` repetitions of ``condition``'s motif at ``frequency``: independent (``repeats = n``) when
    the period is at least ``INDEPENDENT_INTERVAL``, else one train of ``n`` motifs a period apart.
    A period not longer than the motif raises ValueError."""
    label = condition.label if label is None else label
    period = 1000.0 / in_unit(frequency, Hz, "frequency")
    span = (max(condition.pre_steps + condition.post_steps) - min(condition.pre_steps + condition.post_steps)
            ) * _STEP_MS
    if period <= span:
        raise ValueError(f"condition {label!r}: the repetition period {period:g} ms is not longer than "
                         f"the motif ({span:g} ms)")
    pre = np.array(condition.pre_steps, dtype=float) * _STEP_MS
    post = np.array(condition.post_steps, dtype=float) * _STEP_MS
    if period >= in_unit(INDEPENDENT_INTERVAL, ms, "INDEPENDENT_INTERVAL"):
        return Condition(pre * ms, post * ms, condition.repeats * int(n), condition.modulator, label,
                         condition.clamp)
    shifts = period * np.arange(int(n))
    return Condition((pre[None, :] + shifts[:, None]).ravel() * ms,
                     (post[None, :] + shifts[:, None]).ravel() * ms, condition.repeats,
                     condition.modulator, label, condition.clamp)


def _duration_ms(conditions) -> float:
    return float(np.ceil((max(_last_event_ms(c) for c in conditions) + _TAIL_MS) / _STEP_MS) * _STEP_MS)


def protocol_duration(conditions) -> Quantity:
    """Simulated time of a protocol: the last event of any condition plus ``TAIL`` (5 ms)."""
    return _duration_ms(conditions) * ms


def n_steps(conditions) -> int:
    """Number of dt steps of the protocol's simulation."""
    return int(round(_duration_ms(conditions) / _STEP_MS))


def modulator_array(conditions, steps: int) -> np.ndarray:
    """(steps, N) third-factor values per step: 1 everywhere for conditions without pulses."""
    m = np.ones((steps, len(conditions)))
    t = np.arange(steps) * _STEP_MS
    for k, c in enumerate(conditions):
        if c.modulator is not None:
            m[:, k] = 0.0
            for start, stop, value in c.modulator:
                start_ms = in_unit(start, ms, "modulator pulse start")
                stop_ms = in_unit(stop, ms, "modulator pulse stop")
                m[(t >= start_ms - 1e-9) & (t < stop_ms - 1e-9), k] += float(value)
    return m


def spike_arrays(conditions, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """(steps, N) boolean presynaptic and postsynaptic spikes per step."""
    s_pre = np.zeros((steps, len(conditions)), bool)
    s_post = np.zeros((steps, len(conditions)), bool)
    for k, c in enumerate(conditions):
        s_pre[list(c.pre_steps), k] = True
        s_post[list(c.post_steps), k] = True
    return s_pre, s_post


def simulate_brian2(model, conditions) -> np.ndarray:
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
        clock = b2.Clock(dt=DT, name="plasticity_clock")
        n = len(conditions)
        pre_idx = np.concatenate([[k] * len(c.pre_steps) for k, c in enumerate(conditions)] + [[]])
        pre_t = np.concatenate([np.array(c.pre_steps) * _STEP_MS for c in conditions] + [[]])
        post_idx = np.concatenate([[k] * len(c.post_steps) for k, c in enumerate(conditions)] + [[]])
        post_t = np.concatenate([np.array(c.post_steps) * _STEP_MS for c in conditions] + [[]])
        pre = b2.SpikeGeneratorGroup(n, pre_idx.astype(int), pre_t * b2.ms, clock=clock, name="pre")
        post_spikes = b2.SpikeGeneratorGroup(n, post_idx.astype(int), post_t * b2.ms, clock=clock,
                                             name="post_spikes")
        steps = n_steps(conditions)
        modulator = b2.TimedArray(modulator_array(conditions, steps), dt=DT, name="modulator")
        synapse = model.build_brian2(pre, post_spikes, conditions, clock, net, modulator)
        net.add(pre, post_spikes, synapse)
        net.run(steps * _STEP_MS * b2.ms, namespace={})
        w = np.asarray(synapse.w[:], dtype=float)
    finally:
        b2.prefs.codegen.target = previous_target
        if type(b2.get_device()).__name__ != "RuntimeDevice":
            b2.set_device("runtime")
    repeats = np.array([c.repeats for c in conditions], dtype=float)
    return repeats * (w - 1.0)


def clamp_arrays(conditions) -> tuple[np.ndarray, np.ndarray]:
    """(clamped flag, clamp potential in mV) per condition; 0 mV where not clamped."""
    clamped = np.array([c.clamp is not None for c in conditions], dtype=float)
    value = np.array([in_unit(c.clamp, mV, "clamp") if c.clamp is not None else 0.0 for c in conditions],
                     dtype=float)
    return clamped, value
