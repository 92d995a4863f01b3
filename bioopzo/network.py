"""Build the Brian2 network of DESIGN.md section 1 from an ExperimentConfig.

Objects and their place in one step (all code blocks in the ``start`` slot,
``order`` increasing down this list; parameter updates then run as
clock-driven equations in the ``groups`` slot):

    inputs            x_0[t] from the sample's intensities (encoder), trace a_0
    [noise draw]      sphere noise only: gaussian draw and its squared norm
    for l = 1..L:     S_l summed updater (I_syn = W_l x_{l-1}); layer l forward code
    readout           S_o summed updater; o = I_syn + b; softmax denominator; error e
    feedback          per rule: g_l summed from its pathway; delta_l = psi_l g_l
                      (parallel for opzo/dfa/zo, top-down for bp)
    groups slot       W, b (and M for opzo) updates, see updates.py

A sample is ``steps_per_sample`` steps; data reach the model through
TimedArrays indexed by sample (intensities, label, training flag, batch-end
flag), so one run streams a whole epoch, training samples first and then the
test samples with learning and noise gated off.

Learnable state (weights, biases, feedback matrices, optimizer state) moves in
and out as a dict of NumPy arrays: weight matrices are (n_post, n_pre) and
feedback matrices (n_l, m).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from brian2 import (Network, NeuronGroup, SpikeMonitor, StateMonitor, Synapses,
                    TimedArray, defaultclock, linked_var)

from bioopzo.config import ExperimentConfig
from bioopzo.data.datasets import check_intensities, check_labels
from bioopzo.data.encoders import make_encoder
from bioopzo.neurons import (hidden_forward_code, hidden_model, hidden_modulation_code,
                             input_code, input_model, noise_draw_code, readout_error_code,
                             readout_forward_code, readout_model, shared_namespace)
from bioopzo.rules import FeedbackContext, make_rule
from bioopzo.rules.base import all_to_all
from bioopzo.updates import optimizer_state_names, update_equations

__all__ = ["EpochData", "BrianNetwork", "initial_state", "make_epoch_data", "parameter_names"]


@dataclass(frozen=True)
class EpochData:
    """Everything one simulation run streams, one row per sample."""

    intensities: np.ndarray   # (N, n_inputs) in [0, 1]
    labels: np.ndarray        # (N,) int
    is_training: np.ndarray   # (N,) 0/1: learning (and noise) on
    ends_batch: np.ndarray    # (N,) 0/1: accumulated updates applied at this sample's end
    lr_factor: np.ndarray | None = None   # (N,) learning-rate factor (default 1)

    @property
    def n_samples(self) -> int:
        return len(self.labels)

    @property
    def learning_rate_factors(self) -> np.ndarray:
        """is_training x lr_factor: what the model reads per sample."""
        factor = np.ones(self.n_samples) if self.lr_factor is None else self.lr_factor
        return np.asarray(self.is_training, float) * np.asarray(factor, float)


def make_epoch_data(x_train, y_train, x_test, y_test, samples_per_update: int,
                    order: np.ndarray | None = None, lr_factor: np.ndarray | None = None
                    ) -> EpochData:
    """Training samples (in ``order``, with learning-rate factors ``lr_factor``)
    followed by test samples."""
    if order is None:
        order = np.arange(len(y_train))
    x = np.concatenate([x_train[order], x_test]) if len(y_test) else x_train[order]
    y = np.concatenate([y_train[order], y_test]) if len(y_test) else y_train[order]
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
    return EpochData(np.asarray(x, float), np.asarray(y, np.int64), training, ends, factor)


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


def _layer_order(l: int) -> int:       # l = 1..L, L+1 for the readout
    return 10 * l


def _frozen(param: str, optimizer) -> str:
    """A parameter that does not learn: the same variables as a learning one, no dynamics."""
    return "".join(f"{name} : 1\n" for name in
                   [param, *(f"{param}_{sfx}" for sfx in optimizer_state_names(optimizer))])


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
    """

    def __init__(self, config: ExperimentConfig, n_inputs: int, n_classes: int,
                 data: EpochData, state: dict, *, record_spikes: bool = False,
                 record_states: tuple = (), prefix: str = "", summed_lag: int = 0):
        check_labels(data.labels, n_classes, "sample labels")
        check_intensities(data.intensities, "sample intensities")
        if data.intensities.shape[1] != n_inputs:
            raise ValueError(f"the data have {data.intensities.shape[1]} inputs, "
                             f"the network {n_inputs}")
        self.config = config
        self.n_inputs, self.n_classes = n_inputs, n_classes
        self.n_samples = data.n_samples
        self.prefix = prefix
        self.summed_lag = summed_lag
        self.rule = make_rule(config)
        self.dt = config.neuron.dt
        # objects run on Brian's defaultclock when its dt is the model's (brian2genn
        # accepts no other clock), else on their own clock of dt
        self._clock = {} if defaultclock.dt == self.dt else {"dt": self.dt}
        self.duration = self.n_samples * config.data.steps_per_sample * self.dt
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
        self.network = Network(objects)
        self._views = self._state_views()
        self.set_state(state)

    # ------------------------------------------------------------------ building
    def _name(self, name: str) -> str:
        return self.prefix + name

    def _namespace(self, data: EpochData) -> dict:
        cfg, opt = self.config, self.config.optimizer
        sample_dt = cfg.data.steps_per_sample * self.dt
        streams = {
            "input_intensity": data.intensities,
            "sample_label": data.labels.astype(float),
            "sample_learning_rate": data.learning_rate_factors,
        }
        if opt.schedule != "step":   # only accumulated schedules read the batch-end flag
            streams["sample_ends_batch"] = data.ends_batch.astype(float)
        self.timed_arrays = {key: TimedArray(values, dt=sample_dt, name=self._name(key))
                             for key, values in streams.items()}
        self.encoder = make_encoder(cfg.data, self.dt)
        ns = shared_namespace(cfg)
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

    def _build_inputs(self):
        inputs = NeuronGroup(self.n_inputs, input_model(), namespace=dict(self.namespace),
                             name=self._name("inputs"), **self._clock)
        inputs.run_regularly(input_code(self.encoder.brian_statement()), when="start",
                             order=_ORDER_INPUT)
        return inputs

    def _bias_equations(self, learns: bool, rate: str) -> str:
        opt = self.config.optimizer
        if learns:
            return update_equations("b", "learn*delta", "apply", rate, opt, flag="")
        return _frozen("b", opt)

    def _build_hidden(self, l: int):
        cfg = self.config
        n = self.sizes[l]
        trains = self.rule.trains_hidden
        sphere = cfg.noise.distribution == "sphere"
        delay = self.summed_lag * (len(self.sizes) - 1 - l)    # hops from layer l to the readout
        group = NeuronGroup(n, hidden_model(cfg, trains, sphere, self._bias_equations(trains, "eta_hidden"),
                                            delay),
                            method="euler", threshold="s > 0.5", reset="",
                            namespace=dict(self.namespace), name=self._name(f"hidden{l}"), **self._clock)
        group.run_regularly(hidden_forward_code(cfg, n, delay), when="start", order=_layer_order(l) + 1)
        if sphere:
            # gaussian draw, then its squared norm summed onto a one-neuron group
            group.run_regularly(noise_draw_code(cfg), when="start", order=_ORDER_NOISE)
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
        readout = NeuronGroup(self.n_classes,
                              readout_model(cfg, self._bias_equations(True, "eta_readout"), zo),
                              method="euler", threshold="sample_end > 0.5", reset="",
                              namespace=dict(self.namespace), name=self._name("readout"), **self._clock)
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
        readout.run_regularly(readout_error_code(cfg, zo, settle), when="start", order=order + 3)
        return readout, softmax

    def _build_forward(self, l: int):
        """S_l: layer l-1 -> layer l (l = L+1: the readout), I_syn = W_l x_{l-1}."""
        L = len(self.layers)
        groups = [self.inputs, *self.layers, self.readout]
        opt = self.config.optimizer
        model = "I_syn_post = w*x_pre : 1 (summed)\n"
        if self.rule.trains_hidden or l == L + 1:
            rate = "eta_readout" if l == L + 1 else "eta_hidden"
            model += update_equations("w", "learn_post*delta_post*trace_pre", "apply_post", rate, opt)
        else:
            model += _frozen("w", opt)
        syn = Synapses(groups[l - 1], groups[l], model=model, method="euler",
                       namespace=dict(self.namespace),
                       name=self._name(f"forward{l}" if l <= L else "forward_out"), **self._clock)
        i, j = all_to_all(self.sizes[l - 1], self.sizes[l])
        syn.connect(i=i, j=j)
        _schedule_summed(syn, "I_syn_post", _layer_order(l))
        return syn

    def _build_feedback(self) -> list:
        if not self.rule.trains_hidden:
            return []
        L = len(self.layers)
        ctx = FeedbackContext(self.config, self.layers, self.readout, self.forward,
                              self.namespace, self.prefix)
        base = _layer_order(L + 2)
        pathways = []
        for l0 in range(L):
            rank = l0 if self.rule.feedback_order == "parallel" else L - 1 - l0
            pathway = self.rule.build_feedback(ctx, l0)
            _schedule_summed(pathway.synapses, "g_post", base + 2 * rank)
            self.layers[l0].run_regularly(hidden_modulation_code(self.config), when="start",
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
            check_labels(data.labels, self.n_classes, "sample labels")
            check_intensities(data.intensities, "sample intensities")
            if data.n_samples != self.n_samples:
                raise ValueError(f"the compiled model streams {self.n_samples} samples per run, "
                                 f"got {data.n_samples}")
            values = {
                "input_intensity": np.asarray(data.intensities, float),
                "sample_label": data.labels.astype(float),
                "sample_learning_rate": data.learning_rate_factors,
                "sample_ends_batch": data.ends_batch.astype(float),
            }
            for name, timed_array in self.timed_arrays.items():
                args[timed_array] = values[name]
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

    def spike_counts(self) -> list[np.ndarray]:
        """Spikes per neuron of each hidden layer in the last run."""
        return [np.asarray(mon.count[:]) for mon in self.spike_monitors]
