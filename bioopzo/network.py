"""Build the Brian2 network of DESIGN.md section 1 from an ExperimentConfig.

Objects and their place in one step (all code blocks in the ``start`` slot,
``order`` increasing down this list; parameter updates then run as
clock-driven equations in the ``groups`` slot):

    [weight updates]  accumulated schedules: the previous sample's update (credit E,
                      replay events, replay pathways in step order, dense updaters)
    inputs            x_0[t] from the sample's intensities (encoder) or frames, trace a_0;
                      event ``active`` (x_0 != 0)
    [noise draw]      sphere noise only: gaussian draw and its squared norm
    for l = 1..L:     S_l ``transmit``: I_syn += w x_pre for every active presynaptic
                      neuron (event-driven: inputs that did not spike cost nothing);
                      layer l forward code; its transmit event (the spike, or x_l != 0
                      with output noise)
    readout           S_o transmit; o = I_syn + b; softmax denominator; error e
    feedback          per rule: g_l summed from its pathway; delta_l = psi_l g_l
                      (parallel for opzo/dfa/zo, top-down for bp)
    groups slot       b (and M for opzo) updates; W updates of the step schedule (the
                      accumulated schedules update b once per sample, with W)

A sample is ``steps_per_sample`` steps; data reach the model through
TimedArrays indexed by sample (intensities, label, training flag, batch-end
flag) or by step (frames), so one run streams many samples, training samples
first and then the test samples with learning and noise gated off. Runs of the
accumulated schedules end with one extra inert step, in which the last
sample's update is applied.

Learnable state (weights, biases, feedback matrices, optimizer state) moves in
and out as a dict of NumPy arrays: weight matrices are (n_post, n_pre) and
feedback matrices (n_l, m).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from brian2 import (Clock, Network, NeuronGroup, SpikeMonitor, StateMonitor, Synapses,
                    TimedArray, defaultclock, linked_var, second)

from bioopzo.config import ConfigError, ExperimentConfig
from bioopzo.data.datasets import check_intensities, check_labels
from bioopzo.data.encoders import make_encoder
from bioopzo.gaussian import GAUSSIAN
from bioopzo.neurons import (credit_code, hidden_forward_code, hidden_model,
                             hidden_modulation_code, history_code, history_model, input_code,
                             input_model, noise_draw_code, readout_error_code, readout_forward_code,
                             readout_model, sample_events, shared_namespace)
from bioopzo.pathways import assign_schedules
from bioopzo.rules.base import FeedbackContext, all_to_all
from bioopzo.rules.registry import make_rule
from bioopzo.updates import (frozen_equations, optimizer_state_names, replays_directly,
                             sample_pathways, sample_update_equations, three_factor_gradient,
                             update_equations)

# The once-per-sample weight updates run on a clock of period T dt while the
# Synapses' transmit pathway runs on its source's clock (by design); Brian2 warns
# about every such Synapses at each run. Only that message is silenced.
logging.getLogger("brian2.synapses.synapses.synapses_dt_mismatch").setLevel(logging.ERROR)
# Spike events without a reset are intended (the membrane resets inside the step's
# code): no empty resetter is built, so Brian2's reminder about one is silenced.
logging.getLogger("brian2.groups.neurongroup.only_threshold").setLevel(logging.ERROR)

__all__ = ["EpochData", "SampleInputs", "BrianNetwork", "initial_state", "make_epoch_data",
           "parameter_names"]


class SampleInputs:
    """The inputs of an epoch's samples in streaming order, read on demand.

    ``segments`` is a list of (source, indices): rows ``indices`` of
    ``source`` (a NumPy array of intensities (N, n) or frames (N, T, n), or a
    lazy frame source with ``shape`` and ``__getitem__(int array)``), in order.
    Only :meth:`rows` materialises data, one simulation run's worth at a time.
    """

    def __init__(self, segments: list):
        self.segments = [(src, np.asarray(idx, dtype=np.int64)) for src, idx in segments]
        shapes = {tuple(src.shape[1:]) for src, _ in self.segments}
        if len(shapes) != 1:
            raise ValueError(f"sample sources disagree in shape: {sorted(shapes)}")
        self.sample_shape = shapes.pop()

    def __len__(self) -> int:
        return sum(len(idx) for _, idx in self.segments)

    @property
    def shape(self) -> tuple:
        return (len(self), *self.sample_shape)

    @property
    def ndim(self) -> int:
        return 1 + len(self.sample_shape)

    def rows(self, start: int, stop: int) -> np.ndarray:
        parts, offset = [], 0
        for src, idx in self.segments:
            lo, hi = max(start - offset, 0), min(stop - offset, len(idx))
            if lo < hi:
                parts.append(np.asarray(src[idx[lo:hi]], dtype=float))
            offset += len(idx)
        if not parts:
            return np.zeros((0, *self.sample_shape))
        return np.concatenate(parts) if len(parts) > 1 else parts[0]

    def __repr__(self) -> str:
        return f"<SampleInputs {self.shape} in {len(self.segments)} segment(s)>"


@dataclass(frozen=True)
class EpochData:
    """Everything a simulation streams, one row per sample.

    ``inputs`` are intensities (N, n_inputs) in [0, 1], frames (N, T, n_inputs)
    for per-step data, or a :class:`SampleInputs` that reads them on demand.
    The last ``n_padding`` samples are inert fill (no learning, results
    dropped) that make a run's length fixed for a compiled model.
    """

    inputs: np.ndarray | SampleInputs
    labels: np.ndarray        # (N,) int
    is_training: np.ndarray   # (N,) 0/1: learning (and noise) on
    ends_batch: np.ndarray    # (N,) 0/1: accumulated updates applied at this sample's end
    lr_factor: np.ndarray | None = None   # (N,) learning-rate factor (default 1)
    n_padding: int = 0

    @property
    def n_samples(self) -> int:
        return len(self.labels)

    @property
    def learning_rate_factors(self) -> np.ndarray:
        """is_training x lr_factor: what the model reads per sample."""
        factor = np.ones(self.n_samples) if self.lr_factor is None else self.lr_factor
        return np.asarray(self.is_training, float) * np.asarray(factor, float)

    def input_rows(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        stop = self.n_samples if stop is None else stop
        if isinstance(self.inputs, SampleInputs):
            return self.inputs.rows(start, stop)
        return np.asarray(self.inputs[start:stop], dtype=float)

    def chunk(self, start: int, stop: int, size: int | None = None) -> "EpochData":
        """Samples start..stop with materialised inputs, padded with inert
        samples to ``size``."""
        size = stop - start if size is None else size
        pad = size - (stop - start)
        if pad < 0:
            raise ValueError(f"{stop - start} samples do not fit a run of {size}")
        x = self.input_rows(start, stop)
        factor = (np.ones(self.n_samples) if self.lr_factor is None
                  else np.asarray(self.lr_factor, float))

        def fill(a, value=0.0):
            a = np.asarray(a)[start:stop]
            return np.concatenate([a, np.full(pad, value, dtype=a.dtype)]) if pad else a

        if pad:
            x = np.concatenate([x, np.zeros((pad, *x.shape[1:]))])
        return EpochData(x, fill(self.labels, 0), fill(self.is_training), fill(self.ends_batch),
                         fill(factor, 1.0), pad)

    def chunks(self, size: int):
        """Consecutive runs of ``size`` samples (the last one padded)."""
        for start in range(0, self.n_samples, size):
            yield self.chunk(start, min(start + size, self.n_samples), size)


def make_epoch_data(x_train, y_train, x_test, y_test, samples_per_update: int,
                    order: np.ndarray | None = None, lr_factor: np.ndarray | None = None
                    ) -> EpochData:
    """Training samples (in ``order``, with learning-rate factors ``lr_factor``)
    followed by test samples; inputs are read from ``x_train`` / ``x_test`` on
    demand (arrays or lazy frame sources)."""
    if order is None:
        order = np.arange(len(y_train))
    order = np.asarray(order, dtype=np.int64)
    x = SampleInputs([(x_train, order), (x_test, np.arange(len(y_test)))])
    y = np.concatenate([np.asarray(y_train)[order], np.asarray(y_test)])
    n_train = len(order)
    training = np.zeros(len(y))
    training[:n_train] = 1
    ends = np.zeros(len(y))
    k = np.arange(n_train)
    ends[:n_train] = ((k + 1) % samples_per_update == 0) | (k == n_train - 1)
    factor = np.ones(len(y))
    if lr_factor is not None:
        factor[:n_train] = lr_factor
    if np.any(factor[:n_train] <= 0):
        raise ValueError("learning-rate factors of training samples must be positive")
    return EpochData(x, np.asarray(y, np.int64), training, ends, factor)


def parameter_names(config: ExperimentConfig) -> list[str]:
    """Forward parameters in layer order: W1, b1, ..., Wout, bout."""
    names = []
    for l in range(1, len(config.network.hidden) + 1):
        names += [f"W{l}", f"b{l}"]
    return names + ["Wout", "bout"]


def initial_state(config: ExperimentConfig, n_inputs: int, n_classes: int,
                  seed: int | None = None) -> dict[str, np.ndarray]:
    """Random initial weights (seeded), zero biases and zero optimizer state.

    W_l ~ U(-g/sqrt(n_{l-1}), g/sqrt(n_{l-1})), g = ``network.weight_init_gain``
    (``readout_init_gain`` for W_o); feedback matrices as the rule defines them.
    """
    seed = config.training.seed if seed is None else seed
    rng = np.random.default_rng([seed, 11])
    sizes = [n_inputs, *config.network.hidden, n_classes]
    L = len(config.network.hidden)
    state: dict[str, np.ndarray] = {}
    for l in range(1, L + 2):
        name = f"W{l}" if l <= L else "Wout"
        bias = f"b{l}" if l <= L else "bout"
        gain = config.network.weight_init_gain if l <= L else config.network.readout_init_gain
        bound = gain / np.sqrt(sizes[l - 1])
        state[name] = rng.uniform(-bound, bound, (sizes[l], sizes[l - 1]))
        state[bias] = np.zeros(sizes[l])
    rule = make_rule(config)
    for name in list(state):
        for suffix in optimizer_state_names(config.optimizer):
            state[f"{name}_{suffix}"] = np.zeros_like(state[name])
    if rule.trains_hidden:
        for l in range(L):
            state.update(rule.initial_feedback_state(l, sizes[l + 1], n_classes, rng))
    if rule.needs_loss_baseline:
        state["loss_baseline"] = np.zeros(n_classes)
    return state


# Schedule slots (``start``, increasing order)
_ORDER_INPUT = 0
_ORDER_NOISE = 1
_ORDER_NOISE_NORM = 2
_ORDER_INPUT_EVENTS = 3
# accumulated schedules, before the new sample's first step: the biases' updates,
# the credit E of the postsynaptic groups, the presynaptic once-per-sample events,
# their pathways (one order per step of the sample, so the additions run in step
# order), the dense updaters
_ORDER_BIASES = -4000
_ORDER_CREDIT = -3000
_ORDER_REPLAY_EVENTS = -2000
_ORDER_REPLAY = -1000           # + step k of the sample (T < 990)
_ORDER_SAMPLE_UPDATES = -10


def _layer_order(l: int) -> int:       # l = 1..L, L+1 for the readout
    return 10 * l


def no_delays(pathways) -> dict:
    """Synapses keyword ``delay``: every pathway without delay, as one scalar each
    (without it Brian2 keeps a per-synapse delay array for every pathway, which
    the standalone binary allocates, reads and writes at each run)."""
    return {name: 0 * second for name in pathways}


def run_once_per_sample(runner, clock, order: int) -> None:
    """Move a Brian2 code runner (a pathway, a thresholder, a state updater) onto the
    sample clock ``clock`` (period T dt), in the ``start`` slot at ``order``. Brian2
    gives these runners their group's clock and has no argument to choose another."""
    runner._clock = clock
    runner.when = "start"
    runner.order = order


def schedule_sample_updates(synapses, pathways: tuple = ()) -> None:
    """Run a once-per-sample weight update before everything else in the step
    that starts the next sample (the histories still hold the last sample).

    ``pathways`` names the Synapses' once-per-sample pathways (updates.py): they
    move from their source's clock onto the Synapses' own (period T dt), so that
    they push and run once per sample, in step order, before the dense updater."""
    updater = getattr(synapses, "state_updater", None)
    if updater is not None:
        updater.when = "start"
        updater.order = _ORDER_SAMPLE_UPDATES
    for name in pathways:
        step = name.removeprefix("replay")
        run_once_per_sample(getattr(synapses, name), synapses.clock,
                            _ORDER_REPLAY + (int(step) if step.isdigit() else 0))


def _schedule_summed(synapses, variable: str, order: int) -> None:
    """Move a summed-variable updater into the ``start`` slot at ``order``."""
    updater = synapses.summed_updaters[variable]
    updater.when = "start"
    updater.order = order


class BrianNetwork:
    """The Brian2 objects of one experiment, and their state in and out.

    Parameters
    ----------
    config : ExperimentConfig
    n_inputs, n_classes : int
    data : EpochData
        The first epoch's data; later runs may replace it (same shapes).
    state : dict
        Learnable state as returned by :func:`initial_state`.
    record_spikes : bool
        Keep every hidden spike (for rasters); otherwise only counts.
    record_states : list of (group, variable)
        Extra per-step StateMonitors (``when='end'``), e.g. ``[("inputs", "x"),
        ("hidden1", "z")]``, for tests and analyses.
    prefix : str
        Prepended to every Brian2 object name, so that several networks can
        live in one standalone project.
    summed_lag : int
        Steps by which each summed hop lags on the target device (0: the schedule
        above is honoured; 1 on brian2genn, docs/lanes/genn.md). Hidden layer l then
        keeps in ``z`` the noise drawn ``summed_lag * (L + 1 - l)`` steps earlier, the
        draw whose effect reaches the readout at the current step.
    event_driven : bool
        Forward input as ``transmit`` events of the active presynaptic neurons
        (default); False builds dense summed variables instead (devices without
        custom events: the genn lane).
    replay : bool
        Accumulated schedules: the once-per-sample updates use the presynaptic
        activity (updates.py; default, needs ``event_driven``): matrices of at least
        ``training.replay_min_synapses`` synapses replay the sample's events, smaller
        ones sum over the synapses of presynaptic neurons active in the sample.
        Layer 1 under the ``direct`` encoding (every input active every step), and
        every matrix when False, sum the T-term dense form over every synapse.
    fast_gaussian : bool
        Gaussian noise from ``gaussian()`` (gaussian.py: a ziggurat, cheaper than
        Brian2's C++ ``randn()``; default). False keeps ``randn()`` (devices for
        which gaussian.py has no implementation: the GPU lanes).
    """

    def __init__(self, config: ExperimentConfig, n_inputs: int, n_classes: int,
                 data: EpochData, state: dict, *, record_spikes: bool = False,
                 record_states: tuple = (), prefix: str = "", summed_lag: int = 0,
                 event_driven: bool = True, replay: bool = True, fast_gaussian: bool = True):
        self.config = config
        self.n_inputs, self.n_classes = n_inputs, n_classes
        self.prefix = prefix
        self.summed_lag = summed_lag
        self.rule = make_rule(config)
        self.dt = config.neuron.dt
        self.steps = config.data.steps_per_sample
        self.encoder = make_encoder(config.data, self.dt)
        data = data.chunk(0, data.n_samples)
        self._check_data(data)
        self.n_samples = data.n_samples
        #: accumulated schedules: weights change once per sample, from step histories
        self.accumulated = config.optimizer.schedule != "step"
        #: steps simulated per run: the samples, plus one inert step in which the
        #: accumulated schedules apply the last sample's update
        self.n_steps = self.n_samples * self.steps + int(self.accumulated)
        self.duration = self.n_steps * self.dt
        # objects run on Brian's defaultclock when its dt is the model's (brian2genn
        # accepts no other clock), else on their own clock of dt
        self._clock = {} if defaultclock.dt == self.dt else {"dt": self.dt}
        #: forward input as transmit events of active presynaptic neurons (x != 0);
        #: False: a dense summed variable (devices without custom events)
        self.event_driven = event_driven
        self.replay = replay and event_driven
        self.gaussian = "gaussian" if fast_gaussian else "randn"
        if self.accumulated and self.steps > -_ORDER_REPLAY - 10:
            raise ConfigError(f"steps_per_sample = {self.steps} is too many for the once-per-sample "
                              f"updates (at most {-_ORDER_REPLAY - 10}); use schedule = 'step'")
        #: the clock of the once-per-sample updates (period T dt)
        self.sample_clock = (Clock(dt=self.update_dt, name=self._name("sample_clock"))
                             if self.accumulated else None)
        self.sizes = [n_inputs, *config.network.hidden, n_classes]
        self.namespace = self._namespace(data)
        self._noise_objects: list = []     # sphere noise: norm groups and their synapses
        self.inputs = self._build_inputs()
        self.layers = [self._build_hidden(l) for l in range(1, len(self.sizes) - 1)]
        self.readout, softmax = self._build_readout()
        self.forward = [self._build_forward(l) for l in range(1, len(self.sizes))]
        self.feedback = self._build_feedback()
        monitors = self._build_monitors(record_spikes, record_states)
        objects = [self.inputs, *self.layers, *self._noise_objects, self.readout, softmax,
                   *self.forward, *[p.synapses for p in self.feedback], *monitors]
        #: {pathway: schedule} of the pathways that walk their events without a spike
        #: queue, on one or every OpenMP thread (pathways.py; cpp_standalone only)
        self.pathway_schedules = assign_schedules(
            [obj for obj in objects if isinstance(obj, Synapses)])
        self.network = Network(objects)
        self._views = self._state_views()
        self.set_state(state)

    def _check_data(self, data: EpochData) -> None:
        check_labels(data.labels, self.n_classes, "sample labels")
        x = data.inputs
        if self.encoder.per_step:
            if x.ndim != 3 or x.shape[1] != self.steps:
                raise ConfigError(
                    f"[data] encoding = 'frames' needs per-step data of shape (samples, "
                    f"{self.steps}, inputs), got {x.shape}; use an event data set, or another encoding")
            if not np.all(np.isfinite(x)) or (x.size and x.min() < 0):
                raise ConfigError("frames must be finite and non-negative (event counts or rates)")
        else:
            if x.ndim != 2:
                raise ConfigError(
                    f"[data] encoding = {self.config.data.encoding!r} needs intensities of shape "
                    f"(samples, inputs), got {x.shape}; per-step data need encoding = 'frames'")
            if self.config.data.normalization == "standardize":
                if not np.all(np.isfinite(x)):
                    raise ConfigError("standardized sample inputs contain NaN or infinite values")
            else:
                check_intensities(x, "sample intensities")
        if x.shape[-1] != self.n_inputs:
            raise ValueError(f"the data have {x.shape[-1]} inputs, the network {self.n_inputs}")

    def _streams(self, data: EpochData) -> dict[str, np.ndarray]:
        """Values of the TimedArrays, plus one inert sample for the final step of
        the accumulated schedules."""
        extra = int(self.accumulated)
        x = np.asarray(data.inputs, dtype=float)
        if extra:
            x = np.concatenate([x, np.zeros((1, *x.shape[1:]))])
        pad = lambda a: np.concatenate([np.asarray(a, float), np.zeros(extra)])  # noqa: E731
        streams = {}
        if self.encoder.per_step:
            streams["input_frame"] = x.reshape(-1, x.shape[-1])
        else:
            streams["input_intensity"] = x
        streams["sample_label"] = pad(data.labels)
        streams["sample_learning_rate"] = pad(data.learning_rate_factors)
        if self.accumulated:   # only accumulated schedules read the batch-end flag
            streams["sample_ends_batch"] = pad(data.ends_batch)
        return streams

    # ------------------------------------------------------------------ building
    def _name(self, name: str) -> str:
        return self.prefix + name

    def _namespace(self, data: EpochData) -> dict:
        cfg, opt = self.config, self.config.optimizer
        sample_dt = self.steps * self.dt
        self.timed_arrays = {
            key: TimedArray(values, dt=self.dt if key == "input_frame" else sample_dt,
                            name=self._name(key))
            for key, values in self._streams(data).items()}
        ns = shared_namespace(cfg)
        ns["gaussian"] = GAUSSIAN
        ns.update(self.timed_arrays)
        ns.update(self.encoder.brian_namespace())
        ns.update({
            "noise_scale": float(cfg.noise.scale),
            "gamma": cfg.network.loss_gamma,
            "eta_hidden": float(opt.learning_rate),
            "eta_readout": float(opt.readout_rate),
            "baseline_decay": float(cfg.rule.baseline_decay),
        })
        return ns

    def _learns(self, l: int) -> bool:
        """Forward Synapses S_l (l = 1..L+1) has plastic weights."""
        return self.rule.trains_hidden or l == len(self.sizes) - 1

    def _update_form(self, l: int) -> str | None:
        """The form of S_l's once-per-sample update (updates.py): ``replay``,
        ``active`` or ``dense``; None when S_l does not learn once per sample."""
        if not (self.accumulated and self._learns(l)):
            return None
        if not self.replay or (l == 1 and self.config.data.encoding == "direct"):
            return "dense"
        if self.sizes[l - 1] * self.sizes[l] >= self.config.training.replay_min_synapses:
            return "replay"
        return "active"

    def _sample_history(self, l: int) -> str | None:
        """What group l (0 = inputs) keeps of the sample for the once-per-sample
        update of its outgoing weights S_{l+1} (and of bp's mirror, which reads the
        same): ``pulse`` (replayed form), ``trace`` (other forms) or None."""
        form = self._update_form(l + 1)
        if form is None:
            return None
        return "pulse" if form == "replay" else "trace"

    def _transmit_event(self, l: int) -> str:
        """The event of group l (0 = inputs) that fires S_{l+1}'s ``transmit``: a
        spiking layer whose activity is its spike (x = s, no output noise) uses its
        ``spike`` event, moved into the step; otherwise ``active`` (x != 0)."""
        return "spike" if l > 0 and self.config.noise.site != "output" else "active"

    def _events(self, l: int) -> dict:
        """NeuronGroup keyword for group l's custom events: ``active`` (x != 0, where
        needed) and the replay events (a fresh dict: Brian2 adds ``spike`` to it)."""
        events = ({"active": "x != 0"} if self.event_driven and self._transmit_event(l) == "active"
                  else {})
        if self._sample_history(l):
            events.update(sample_events(self._update_form(l + 1), self.steps))
        return {"events": events} if events else {}

    def _history(self, l: int, pulse: str) -> tuple[str, str]:
        """(model, code) of group l's sample history; ``pulse`` is what a step adds
        to its trace."""
        kind = self._sample_history(l)
        if kind is None:
            return "", ""
        what = "what the step added to the trace" if kind == "pulse" else "trace"
        value = pulse if kind == "pulse" else "trace"
        return history_model(kind, self.steps, what), history_code(kind, value, self.steps)

    def _sample_events_once_per_sample(self, group, l: int) -> None:
        """Detect the once-per-sample events only at the end of each sample, on the
        sample clock."""
        form = self._update_form(l + 1)
        for name in sample_events(form, self.steps) if form else ():
            run_once_per_sample(group.thresholder[name], self.sample_clock, _ORDER_REPLAY_EVENTS)

    def _active_event(self, group, l: int, order: int) -> None:
        """Detect group l's transmit event right after the group's code."""
        if not self.event_driven:
            return
        thresholder = group.thresholder[self._transmit_event(l)]
        thresholder.when = "start"
        thresholder.order = order

    def _build_inputs(self):
        history_eqs, history = self._history(0, "x")
        inputs = NeuronGroup(self.n_inputs, input_model() + history_eqs,
                             namespace=dict(self.namespace), **self._events(0),
                             name=self._name("inputs"), **self._clock)
        inputs.run_regularly(input_code(self.encoder.brian_statement(), history), when="start",
                             order=_ORDER_INPUT)
        self._active_event(inputs, 0, _ORDER_INPUT_EVENTS)
        self._sample_events_once_per_sample(inputs, 0)
        return inputs

    @property
    def _biases_once_per_sample(self) -> bool:
        """Accumulated schedules: the biases' equations (the groups' only differential
        equations) run once per sample on the sample clock, with the sample's
        gradient sum_k learn_delta_k from the step history (the same sum the
        per-step accumulation forms, up to rounding)."""
        return self.accumulated and self.replay

    def _bias_equations(self, learns: bool, rate: str) -> str:
        opt = self.config.optimizer
        if not learns:
            return frozen_equations("b", opt)
        gradient = "learn*delta"
        if self._biases_once_per_sample:
            gradient = " + ".join(f"learn_delta_{k}" for k in range(self.steps))
        return update_equations("b", gradient, "apply", rate, opt, flag="")

    def _update_biases_once_per_sample(self, group, learns: bool) -> None:
        if learns and self._biases_once_per_sample:
            run_once_per_sample(group.state_updater, self.sample_clock, _ORDER_BIASES)

    def _build_hidden(self, l: int):
        cfg = self.config
        n = self.sizes[l]
        trains = self.rule.trains_hidden
        sphere = cfg.noise.distribution == "sphere"
        delay = self.summed_lag * (len(self.sizes) - 1 - l)    # hops from layer l to the readout
        model = hidden_model(cfg, trains, sphere, self._bias_equations(trains, "eta_hidden"), delay)
        history_eqs, history = self._history(l, "s")
        model += history_eqs
        if trains and self.accumulated:
            model += history_model("learn_delta", self.steps, "learn*delta")
        group = NeuronGroup(n, model, method="euler", threshold="s > 0.5",
                            **self._events(l), namespace=dict(self.namespace),
                            name=self._name(f"hidden{l}"), **self._clock)
        group.run_regularly(hidden_forward_code(cfg, n, delay, self.gaussian) + history,
                            when="start", order=_layer_order(l) + 1)
        self._active_event(group, l, _layer_order(l) + 2)
        self._update_biases_once_per_sample(group, trains)
        self._sample_events_once_per_sample(group, l)
        if sphere:
            # gaussian draw, then its squared norm summed onto a one-neuron group
            group.run_regularly(noise_draw_code(cfg, self.gaussian), when="start",
                                order=_ORDER_NOISE)
            norm = NeuronGroup(1, "sumsq : 1", name=self._name(f"noise_norm{l}"), **self._clock)
            to_norm = Synapses(group, norm, "sumsq_post = z_raw_pre**2 : 1 (summed)",
                               name=self._name(f"noise_norm_sum{l}"), **self._clock)
            to_norm.connect()
            _schedule_summed(to_norm, "sumsq_post", _ORDER_NOISE_NORM)
            group.z_sumsq = linked_var(norm, "sumsq", index=np.zeros(n, dtype=int))
            self._noise_objects += [norm, to_norm]
        return group

    def _build_readout(self):
        cfg = self.config
        zo = self.rule.needs_loss_baseline
        model = readout_model(cfg, self._bias_equations(True, "eta_readout"), zo)
        history = ""
        if self.accumulated:
            model += history_model("learn_delta", self.steps, "learn*delta")
            history = history_code("learn_delta", "learn*delta", self.steps)
        readout = NeuronGroup(self.n_classes, model, method="euler", threshold="sample_end > 0.5",
                              namespace=dict(self.namespace), name=self._name("readout"), **self._clock)
        self._update_biases_once_per_sample(readout, True)
        order = _layer_order(len(self.layers) + 1)
        readout.run_regularly(readout_forward_code(cfg), when="start", order=order + 1)
        softmax = Synapses(readout, readout,
                           "softmax_denominator_post = exp(o_pre - o_post) : 1 (summed)",
                           name=self._name("readout_softmax"), **self._clock)
        softmax.connect()
        # the value for o = 0; read before it is first summed only where the summed
        # updater's schedule is not honoured (brian2genn, docs/lanes/genn.md)
        readout.softmax_denominator = self.n_classes
        _schedule_summed(softmax, "softmax_denominator_post", order + 2)
        settle = self.summed_lag * (len(self.sizes))    # input -> readout hops, + the softmax
        readout.run_regularly(readout_error_code(cfg, zo, history, settle), when="start", order=order + 3)
        return readout, softmax

    def _build_forward(self, l: int):
        """S_l: layer l-1 -> layer l (l = L+1: the readout), I_syn += w x_pre per
        active presynaptic neuron; the weights learn by updates.py's rule."""
        L = len(self.layers)
        groups = [self.inputs, *self.layers, self.readout]
        opt = self.config.optimizer
        learns = self._learns(l)
        rate = "eta_readout" if l == L + 1 else "eta_hidden"
        form = self._update_form(l)
        sample_updates = sample_pathways(form, "w", opt, self.steps, rate) if form else {}
        if form:
            model = sample_update_equations(form, "w", opt, self.steps, rate, "apply_post")
        elif learns:
            model = update_equations("w", three_factor_gradient(opt, self.steps), "apply_post",
                                     rate, opt)
        else:
            model = frozen_equations("w", opt)
        once_per_sample = learns and self.accumulated
        if self.event_driven:
            transmit = {"on_pre": {"transmit": "I_syn_post += w*x_pre", **sample_updates},
                        "on_event": {"transmit": self._transmit_event(l - 1),
                                     **{name: name for name in sample_updates}},
                        "delay": no_delays(["transmit", *sample_updates])}
        else:
            model = "I_syn_post = w*x_pre : 1 (summed)\n" + model
            transmit = {}
        syn = Synapses(groups[l - 1], groups[l], model=model, method="euler", **transmit,
                       namespace=dict(self.namespace),
                       name=self._name(f"forward{l}" if l <= L else "forward_out"),
                       **({"clock": self.sample_clock} if once_per_sample else self._clock))
        i, j = all_to_all(self.sizes[l - 1], self.sizes[l])
        syn.connect(i=i, j=j)
        if self.event_driven:
            syn.transmit.when = "start"
            syn.transmit.order = _layer_order(l)
        else:
            _schedule_summed(syn, "I_syn_post", _layer_order(l))
        if once_per_sample:
            schedule_sample_updates(syn, tuple(sample_updates))
        if form == "replay":
            # the postsynaptic history becomes the credit E (times eta apply when direct)
            scale = f"{rate}*apply" if replays_directly(opt) else ""
            groups[l].run_regularly(credit_code(self.steps, scale), clock=self.sample_clock,
                                    when="start", order=_ORDER_CREDIT)
        return syn

    @property
    def update_dt(self):
        """Period of the weight updates: dt, or one sample for the accumulated schedules."""
        return self.steps * self.dt if self.accumulated else self.dt

    def _build_feedback(self) -> list:
        if not self.rule.trains_hidden:
            return []
        L = len(self.layers)
        ctx = FeedbackContext(self.config, self.layers, self.readout, self.forward,
                              self.namespace, self.prefix, self.update_dt,
                              [self._update_form(l) for l in range(1, len(self.sizes))])
        base = _layer_order(L + 2)
        pathways = []
        for l0 in range(L):
            rank = l0 if self.rule.feedback_order == "parallel" else L - 1 - l0
            pathway = self.rule.build_feedback(ctx, l0)
            _schedule_summed(pathway.synapses, "g_post", base + 2 * rank)
            history = (history_code("learn_delta", "learn*delta", self.steps)
                       if self.accumulated else "")
            self.layers[l0].run_regularly(hidden_modulation_code(self.config, history), when="start",
                                          order=base + 2 * rank + 1)
            pathways.append(pathway)
        return pathways

    def _build_monitors(self, record_spikes: bool, record_states) -> list:
        self.sample_monitor = SpikeMonitor(self.readout, variables=["o_sum", "loss_sum"],
                                           name=self._name("sample_monitor"))
        self.spike_monitors = [SpikeMonitor(g, record=record_spikes, name=self._name(f"spikes{n + 1}"))
                               for n, g in enumerate(self.layers)]
        named = {"inputs": self.inputs, "readout": self.readout,
                 **{f"hidden{n + 1}": g for n, g in enumerate(self.layers)}}
        self.state_monitors = {}
        for group_name, var in record_states:
            if group_name not in named:
                raise ValueError(f"cannot record {group_name!r}; groups are {sorted(named)}")
            self.state_monitors[(group_name, var)] = StateMonitor(
                named[group_name], var, record=True, when="end",
                name=self._name(f"record_{group_name}_{var}"))
        return [self.sample_monitor, *self.spike_monitors, *self.state_monitors.values()]

    # ------------------------------------------------------------------ state I/O
    def _state_views(self) -> dict[str, list[tuple]]:
        """saved name -> [(brian object, variable, layout)], first entry is read back.

        layout 'post_pre': the saved (n_post, n_pre) matrix of a pre-major
        all-to-all Synapses; 'pre_post': its transpose (bp's mirrors);
        'neuron': a per-neuron vector.
        """
        cfg = self.config
        L = len(cfg.network.hidden)
        views: dict[str, list[tuple]] = {}
        suffixes = optimizer_state_names(cfg.optimizer)
        for l, syn in enumerate(self.forward, start=1):
            name = f"W{l}" if l <= L else "Wout"
            views[name] = [(syn, "w", "post_pre")]
            for sfx in suffixes:
                views[f"{name}_{sfx}"] = [(syn, f"w_{sfx}", "post_pre")]
        for l, group in enumerate([*self.layers, self.readout], start=1):
            name = f"b{l}" if l <= L else "bout"
            views[name] = [(group, "b", "neuron")]
            for sfx in suffixes:
                views[f"{name}_{sfx}"] = [(group, f"b_{sfx}", "neuron")]
        for pathway in self.feedback:
            syn = pathway.synapses
            for saved, var in pathway.state.items():
                views[saved] = [(syn, var, "post_pre")]
            if pathway.mirror_of is not None:
                l = self.forward.index(pathway.mirror_of) + 1
                name = f"W{l}" if l <= L else "Wout"
                views[name].append((syn, "w_T", "pre_post"))
                for sfx in suffixes:
                    views[f"{name}_{sfx}"].append((syn, f"w_T_{sfx}", "pre_post"))
        if self.rule.needs_loss_baseline:
            views["loss_baseline"] = [(self.readout, "loss_baseline", "neuron")]
        return views

    @property
    def state_names(self) -> list[str]:
        return list(self._views)

    @staticmethod
    def _flat(value: np.ndarray, layout: str) -> np.ndarray:
        value = np.asarray(value, dtype=float)
        if layout == "post_pre":
            return value.T.ravel()
        if layout == "pre_post":
            return value.ravel()
        return value

    def _check_state(self, state: dict) -> None:
        missing = set(self._views) - set(state)
        if missing:
            raise ValueError(f"state lacks {sorted(missing)}; it must hold {sorted(self._views)}")

    def set_state(self, state: dict) -> None:
        """Assign learnable state directly (runtime device, or initial values)."""
        self._check_state(state)
        for name, targets in self._views.items():
            for obj, var, layout in targets:
                getattr(obj, var)[:] = self._flat(state[name], layout)

    def run_args(self, state: dict, data: EpochData | None = None) -> dict:
        """``run_args`` for a compiled standalone binary: state and (new) data."""
        self._check_state(state)
        args = {}
        for name, targets in self._views.items():
            for obj, var, layout in targets:
                args[getattr(obj, var)] = self._flat(state[name], layout)
        if data is not None:
            data = data.chunk(0, data.n_samples)
            self._check_data(data)
            if data.n_samples != self.n_samples:
                raise ValueError(f"the compiled model streams {self.n_samples} samples per run, "
                                 f"got {data.n_samples}")
            for name, values in self._streams(data).items():
                args[self.timed_arrays[name]] = values
        return args

    def get_state(self) -> dict[str, np.ndarray]:
        """Read learnable state back (after a run)."""
        sizes = [self.n_inputs, *self.config.network.hidden, self.n_classes]
        out = {}
        for name, targets in self._views.items():
            obj, var, layout = targets[0]
            flat = np.array(getattr(obj, var)[:], dtype=float)
            if layout == "neuron":
                out[name] = flat
            else:
                n_pre, n_post = len(obj.source), len(obj.target)
                out[name] = flat.reshape(n_pre, n_post).T.copy()
        del sizes
        return out

    # ------------------------------------------------------------------- results
    def sample_results(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-sample summed readout (N, m) and summed loss (N,) of the last run."""
        mon = self.sample_monitor
        o_sum = np.asarray(mon.o_sum[:], dtype=float)
        loss = np.asarray(mon.loss_sum[:], dtype=float)
        m = self.n_classes
        if o_sum.size != self.n_samples * m:
            raise RuntimeError(f"sample monitor holds {o_sum.size} values, expected "
                               f"{self.n_samples * m}; the run did not complete")
        return o_sum.reshape(self.n_samples, m), loss.reshape(self.n_samples, m).sum(axis=1)

    def recorded(self, group: str, variable: str) -> np.ndarray:
        """(neurons, steps) values of a ``record_states`` entry, one per sample step
        (the inert final step of the accumulated schedules dropped)."""
        mon = self.state_monitors[(group, variable)]
        return np.asarray(getattr(mon, variable)[:])[:, : self.n_samples * self.steps]

    def spike_counts(self) -> list[np.ndarray]:
        """Spikes per neuron of each hidden layer in the last run."""
        return [np.asarray(mon.count[:]) for mon in self.spike_monitors]
