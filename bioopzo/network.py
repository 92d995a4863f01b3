"""Build the Brian2 network of DESIGN.md section 1 from an ExperimentConfig.

Objects and their place in one step (all code blocks in the ``start`` slot,
``order`` increasing down this list, as schedule.py numbers them; parameter
updates then run as clock-driven equations in the ``groups`` slot):

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
and out as a dict of NumPy arrays (state.py): weight matrices are (n_post,
n_pre) and feedback matrices (n_l, m). The network reads what the device
supports from a DeviceCapabilities (devices/base.py); it never asks which
device is active.
"""

from __future__ import annotations

import logging

import numpy as np
from brian2 import (Clock, Network, NeuronGroup, SpikeMonitor, StateMonitor, Synapses,
                    TimedArray, defaultclock, linked_var)

from bioopzo.config import ConfigError, ExperimentConfig
from bioopzo.data.encoders import make_encoder
from bioopzo.data.epochs import EpochData, SparseValues
from bioopzo.data.samples import check_intensities, check_labels
from bioopzo.devices.base import DeviceCapabilities
from bioopzo.neurons import (credit_code, hidden_forward_code, hidden_model,
                             hidden_modulation_code, history_code, history_model, input_code,
                             input_model, noise_draw_code, readout_error_code, readout_forward_code,
                             readout_model, sample_events, shared_namespace, slot_code,
                             slot_events)
from bioopzo.rules.base import FeedbackContext, all_to_all
from bioopzo.rules.registry import make_rule
from bioopzo.schedule import (MAX_STEPS_PER_SAMPLE, ORDER_BIASES, ORDER_CREDIT, ORDER_INPUT,
                              ORDER_HISTORY_SLOTS, ORDER_INPUT_EVENTS, ORDER_NOISE, ORDER_NOISE_NORM,
                              ORDER_REPLAY_EVENTS, layer_order, no_delays, run_once_per_sample,
                              schedule_sample_updates, schedule_summed)
from bioopzo.state import StateLayout, StateTarget, bias_name, weight_name
from bioopzo.updates import (frozen_equations, optimizer_state_names, replays_directly,
                             sample_pathways, sample_update_equations, three_factor_gradient,
                             update_equations)

__all__ = ["BrianNetwork", "silence_expected_warnings"]


def silence_expected_warnings() -> None:
    """Silence the two Brian2 messages this model's design triggers on purpose.

    The once-per-sample weight updates run on a clock of period T dt while the
    Synapses' transmit pathway runs on its source's clock, about which Brian2
    warns for every such Synapses at each run; spike events without a reset are
    intended (the membrane resets inside the step's code), about which Brian2
    reminds. Only these two messages are silenced; simulators call this before
    building a network."""
    logging.getLogger("brian2.synapses.synapses.synapses_dt_mismatch").setLevel(logging.ERROR)
    logging.getLogger("brian2.groups.neurongroup.only_threshold").setLevel(logging.ERROR)


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
    capabilities : DeviceCapabilities
        What the device supports (devices/base.py); the default is Brian2's own
        facilities (randn() noise, spike queues). ``summed_lag``: each summed hop
        lags that many steps (brian2genn); hidden layer l then keeps in ``z`` the
        noise drawn ``summed_lag * (L + 1 - l)`` steps earlier, the draw whose
        effect reaches the readout at the current step. Without
        ``custom_events`` the forward input is a dense summed variable instead of
        ``transmit`` events of the active presynaptic neurons. Accumulated
        schedules replay the sample's events (matrices of at least
        ``training.replay_min_synapses`` synapses) or sum over the synapses of
        presynaptic neurons active in the sample (smaller ones), both needing
        custom events and ``sample_clock_pathways``; layer 1 under the ``direct``
        encoding (every input active every step), and every matrix without them,
        sum the T-term dense form over every synapse. ``gaussian``: the device's
        fast ``gaussian()`` draw (else ``randn()``); ``pathway_templates``: the
        device's pathway code (cpp_standalone).
    """

    def __init__(self, config: ExperimentConfig, n_inputs: int, n_classes: int,
                 data: EpochData, state: dict, *, record_spikes: bool = False,
                 record_states: tuple = (), prefix: str = "",
                 capabilities: DeviceCapabilities = DeviceCapabilities()):
        self.config = config
        self.n_inputs, self.n_classes = n_inputs, n_classes
        self.prefix = prefix
        self.capabilities = capabilities
        self.summed_lag = capabilities.summed_lag
        self.rule = make_rule(config)
        self.dt = config.neuron.dt
        self.steps = config.data.steps_per_sample
        self.encoder = make_encoder(config.data, self.dt)
        data = data.chunk(0, data.n_samples)
        self.check_data(data)
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
        self.event_driven = capabilities.custom_events
        self.replay = capabilities.sample_clock_pathways and self.event_driven
        self.gaussian = "randn" if capabilities.gaussian is None else "gaussian"
        self.uniform = "rand" if capabilities.uniform is None else "uniform"
        #: the hidden layers' and inputs' sample histories are written in place
        #: (``slot{k}`` events) instead of shifted every step (neurons.py)
        self.slot_histories = (capabilities.slot_histories is not None and self.event_driven
                               and self.accumulated)
        if self.accumulated and self.steps > MAX_STEPS_PER_SAMPLE:
            raise ConfigError(f"steps_per_sample = {self.steps} is too many for the once-per-sample "
                              f"updates (at most {MAX_STEPS_PER_SAMPLE}); use schedule = 'step'")
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
        #: {pathway: schedule} of the pathways given the device's own code (cpp_standalone:
        #: without a spike queue, on one or every OpenMP thread; devices/cpp_standalone/)
        self.pathway_schedules = ({} if capabilities.pathway_templates is None else
                                  capabilities.pathway_templates(
                                      [obj for obj in objects if isinstance(obj, Synapses)]))
        #: the groups whose code runs on one thread (cpp_standalone with OpenMP)
        self.serial_groups = ([] if capabilities.serial_code is None else
                              capabilities.serial_code(objects))
        #: the event tests given the device's own code (cpp_standalone: two passes)
        self.two_pass_tests = ([] if capabilities.event_tests is None else
                               capabilities.event_tests(objects))
        self.network = Network(objects)
        #: where each name of the learnable state lives in this network
        self.state_layout = self._state_layout()
        self.set_state(state)

    def check_data(self, data: EpochData, nonzero_frames: np.ndarray | None = None) -> None:
        """The data fit this network: labels, input shape and values for its
        encoding. ``nonzero_frames``: the frames' non-zero values, where the
        caller has them (checked instead of every frame value: zeros pass)."""
        check_labels(data.labels, self.n_classes, "sample labels")
        x = data.inputs
        if self.encoder.per_step:
            if x.ndim != 3 or x.shape[1] != self.steps:
                raise ConfigError(
                    f"[data] encoding = 'frames' needs per-step data of shape (samples, "
                    f"{self.steps}, inputs), got {x.shape}; use an event data set, or another encoding")
            values = x if nonzero_frames is None else nonzero_frames
            # min >= 0 fails on NaN and -inf, a finite max excludes +inf
            if values.size and not (values.min() >= 0 and np.isfinite(values.max())):
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

    def sparse_inputs(self, data: EpochData, given: SparseValues | None = None) -> SparseValues:
        """The inputs of ``data`` as :class:`SparseValues` of the flat values
        :meth:`streams` passes, the inert extra sample included: the sources'
        own entries where they give them (``given``, else
        ``data.sparse_inputs()``: no dense frames), else the non-zero entries of
        the (materialised) inputs."""
        size = (data.n_samples + int(self.accumulated)) * int(np.prod(data.inputs.shape[1:]))
        given = data.sparse_inputs() if given is None else given
        if given is not None:
            return SparseValues(given.index, given.values, size)
        return SparseValues.of(np.asarray(data.inputs), size)

    def streams(self, data: EpochData, sparse_inputs: bool | SparseValues = False) -> dict:
        """Values of the TimedArrays, plus one inert sample for the final step of
        the accumulated schedules; ``sparse_inputs``: the inputs' values as
        :class:`SparseValues` of the same flat values (True: computed here; or
        :meth:`sparse_inputs`'s result)."""
        extra = int(self.accumulated)
        pad = lambda a: np.concatenate([np.asarray(a, float), np.zeros(extra)])  # noqa: E731
        streams = {}
        key = "input_frame" if self.encoder.per_step else "input_intensity"
        if isinstance(sparse_inputs, SparseValues):
            streams[key] = sparse_inputs
        elif sparse_inputs:
            streams[key] = self.sparse_inputs(data)
        else:
            x = np.asarray(data.inputs, dtype=float)
            if extra:
                x = np.concatenate([x, np.zeros((1, *x.shape[1:]))])
            streams[key] = x.reshape(-1, x.shape[-1]) if self.encoder.per_step else x
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
        #: the per-run streams as TimedArrays, and the inputs' frames as the device's
        #: own function where it has one (cpp_standalone: only their non-zero values)
        self.timed_arrays, self.frame_inputs = {}, {}
        for key, values in self.streams(data).items():
            if key == "input_frame" and self.capabilities.frame_input is not None:
                self.frame_inputs[key] = self.capabilities.frame_input(self._name(key), values,
                                                                       float(self.dt))
            else:
                self.timed_arrays[key] = TimedArray(
                    values, dt=self.dt if key == "input_frame" else sample_dt, name=self._name(key))
        ns = shared_namespace(cfg)
        if self.capabilities.gaussian is not None:
            ns["gaussian"] = self.capabilities.gaussian
        if self.capabilities.uniform is not None:
            ns["uniform"] = self.capabilities.uniform
        ns.update(self.timed_arrays)
        ns.update({key: frames.function for key, frames in self.frame_inputs.items()})
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
        if self._slot_histories(l):
            events.update(slot_events(self.steps))
        return {"events": events} if events else {}

    def _history(self, l: int, pulse: str) -> tuple[str, str]:
        """(model, code) of group l's sample history; ``pulse`` is what a step adds
        to its trace. The code is empty where the history is written in place."""
        kind = self._sample_history(l)
        if kind is None:
            return "", ""
        what = "what the step added to the trace" if kind == "pulse" else "trace"
        value = pulse if kind == "pulse" else "trace"
        code = "" if self._in_place(l) else history_code(kind, value, self.steps)
        return history_model(kind, self.steps, what), code

    def _in_place(self, l: int) -> bool:
        """Whether hidden layer l (0: the inputs) writes its histories in place
        (``slot{k}`` events) rather than shifting them every step."""
        return (self.slot_histories
                and self.sizes[l] >= self.config.training.slot_history_min_neurons)

    def _slot_histories(self, l: int) -> dict[str, str]:
        """{prefix: value} of hidden layer l's (0: the inputs') histories written in
        place by its ``slot{k}`` events; empty where they are shift registers."""
        if not self._in_place(l):
            return {}
        histories = {}
        kind = self._sample_history(l)
        if kind is not None:
            histories[kind] = ("x" if l == 0 else "s") if kind == "pulse" else "trace"
        if l > 0 and self.rule.trains_hidden:
            histories["learn_delta"] = "learn*delta"
        return histories

    def _write_histories_in_place(self, group, l: int) -> None:
        """Step k's ``slot{k}`` event writes entry k of group l's histories at the
        end of the step (schedule.py), after every block that computes them."""
        histories = self._slot_histories(l)
        for k in range(self.steps if histories else 0):
            event = f"slot{k}"
            group.run_on_event(event, slot_code(histories, k), when="end",
                               order=ORDER_HISTORY_SLOTS + 1)
            group.thresholder[event].when = "end"
            group.thresholder[event].order = ORDER_HISTORY_SLOTS
            self.capabilities.slot_histories(group.resetter[event])

    def _sample_events_once_per_sample(self, group, l: int) -> None:
        """Detect the once-per-sample events only at the end of each sample, on the
        sample clock."""
        form = self._update_form(l + 1)
        for name in sample_events(form, self.steps) if form else ():
            run_once_per_sample(group.thresholder[name], self.sample_clock, ORDER_REPLAY_EVENTS)

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
        inputs.run_regularly(input_code(self.encoder.brian_statement(self.uniform), history), when="start",
                             order=ORDER_INPUT)
        self._active_event(inputs, 0, ORDER_INPUT_EVENTS)
        self._sample_events_once_per_sample(inputs, 0)
        self._write_histories_in_place(inputs, 0)
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
            run_once_per_sample(group.state_updater, self.sample_clock, ORDER_BIASES)

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
        group.run_regularly(hidden_forward_code(cfg, n, delay, self.gaussian, self.uniform) + history,
                            when="start", order=layer_order(l) + 1)
        self._active_event(group, l, layer_order(l) + 2)
        self._update_biases_once_per_sample(group, trains)
        self._sample_events_once_per_sample(group, l)
        self._write_histories_in_place(group, l)
        if sphere:
            # gaussian draw, then its squared norm summed onto a one-neuron group
            group.run_regularly(noise_draw_code(cfg, self.gaussian), when="start",
                                order=ORDER_NOISE)
            norm = NeuronGroup(1, "sumsq : 1", name=self._name(f"noise_norm{l}"), **self._clock)
            to_norm = Synapses(group, norm, "sumsq_post = z_raw_pre**2 : 1 (summed)",
                               name=self._name(f"noise_norm_sum{l}"), **self._clock)
            to_norm.connect()
            schedule_summed(to_norm, "sumsq_post", ORDER_NOISE_NORM)
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
        order = layer_order(len(self.layers) + 1)
        readout.run_regularly(readout_forward_code(cfg), when="start", order=order + 1)
        softmax = Synapses(readout, readout,
                           "softmax_denominator_post = exp(o_pre - o_post) : 1 (summed)",
                           name=self._name("readout_softmax"), **self._clock)
        softmax.connect()
        # the value for o = 0; read before it is first summed only where the summed
        # updater's schedule is not honoured (brian2genn, docs/lanes/genn.md)
        readout.softmax_denominator = self.n_classes
        schedule_summed(softmax, "softmax_denominator_post", order + 2)
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
            syn.transmit.order = layer_order(l)
        else:
            schedule_summed(syn, "I_syn_post", layer_order(l))
        if once_per_sample:
            schedule_sample_updates(syn, tuple(sample_updates))
        if form == "replay":
            # the postsynaptic history becomes the credit E (times eta apply when direct)
            scale = f"{rate}*apply" if replays_directly(opt) else ""
            groups[l].run_regularly(credit_code(self.steps, scale), clock=self.sample_clock,
                                    when="start", order=ORDER_CREDIT)
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
        base = layer_order(L + 2)
        pathways = []
        for l0 in range(L):
            rank = l0 if self.rule.feedback_order == "parallel" else L - 1 - l0
            pathway = self.rule.build_feedback(ctx, l0)
            schedule_summed(pathway.synapses, "g_post", base + 2 * rank)
            history = (history_code("learn_delta", "learn*delta", self.steps)
                       if self.accumulated and not self._in_place(l0 + 1) else "")
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
    def _state_layout(self) -> StateLayout:
        """Saved name -> the variables holding it (state.py): the forward Synapses'
        ``w`` (``post_pre``), the groups' ``b`` (``neuron``), each with its optimizer
        state, the rule's feedback state, and bp's transposed copies ``w_T``
        (``pre_post``) of the forward matrices it mirrors."""
        L = len(self.config.network.hidden)
        targets: dict[str, list[StateTarget]] = {}
        suffixes = optimizer_state_names(self.config.optimizer)

        def add(name, owner, variable, layout):
            targets.setdefault(name, []).append(StateTarget(owner, variable, layout))
            for sfx in suffixes:
                targets.setdefault(f"{name}_{sfx}", []).append(
                    StateTarget(owner, f"{variable}_{sfx}", layout))

        for l, syn in enumerate(self.forward, start=1):
            add(weight_name(l, L), syn, "w", "post_pre")
        for l, group in enumerate([*self.layers, self.readout], start=1):
            add(bias_name(l, L), group, "b", "neuron")
        for pathway in self.feedback:
            syn = pathway.synapses
            for saved, var in pathway.state.items():
                targets[saved] = [StateTarget(syn, var, "post_pre")]
            if pathway.mirror_of is not None:
                l = self.forward.index(pathway.mirror_of) + 1
                add(weight_name(l, L), syn, "w_T", "pre_post")
        if self.rule.needs_loss_baseline:
            targets["loss_baseline"] = [StateTarget(self.readout, "loss_baseline", "neuron")]
        return StateLayout(targets)

    @property
    def state_names(self) -> list[str]:
        return self.state_layout.names

    def set_state(self, state: dict) -> None:
        """Assign learnable state directly (runtime device, or initial values)."""
        self.state_layout.assign(state)

    def check_run_data(self, data: EpochData, sparse: SparseValues | None = None) -> EpochData:
        """``data`` with materialised inputs, checked to fit this network and the
        fixed number of samples a compiled model streams per run (``sparse``:
        the inputs' :meth:`sparse_inputs`, whose values are checked instead of
        every input)."""
        data = data.chunk(0, data.n_samples, lazy=sparse is not None)
        self.check_data(data, None if sparse is None else sparse.values)
        if data.n_samples != self.n_samples:
            raise ValueError(f"the compiled model streams {self.n_samples} samples per run, "
                             f"got {data.n_samples}")
        return data

    def run_args(self, state: dict, data: EpochData | None = None,
                  sparse_inputs: bool = False) -> dict:
        """``run_args`` for a compiled standalone binary: state and (new) data
        (``sparse_inputs``: the inputs as :class:`SparseValues`)."""
        args = self.state_layout.run_args(state)
        if data is not None:
            sparse = None
            given = data.sparse_inputs() if sparse_inputs and self.encoder.per_step else None
            if given is None:
                data = data.chunk(0, data.n_samples)    # the inputs materialised once
            if sparse_inputs and self.encoder.per_step and data.inputs.ndim == 3:
                sparse = self.sparse_inputs(data, given)
            data = self.check_run_data(data, sparse)
            for name, values in self.streams(data, sparse if sparse is not None
                                             else sparse_inputs).items():
                key = self.timed_arrays.get(name, None)
                args[self.frame_inputs[name] if key is None else key] = values
        return args

    def get_state(self) -> dict[str, np.ndarray]:
        """Read learnable state back (after a run)."""
        return self.state_layout.read()

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
