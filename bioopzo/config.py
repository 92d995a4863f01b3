"""Frozen, typed experiment configuration.

A bioopzo experiment is one :class:`ExperimentConfig`, made of small frozen
sections (network, neuron, noise, rule, optimizer, data, device, training).
Every section validates itself in ``__post_init__`` so that a bad value fails
with a message that names the key, the value, and what would be accepted.

Quantities with physical units are written as strings in TOML files
(``dt = "1 ms"``, ``max_rate = "1 kHz"``) and parsed into Brian2
:class:`~brian2.units.fundamentalunits.Quantity` objects; a value with the
wrong dimension (``"2 mV"`` for a time constant) or without a unit is refused.
The membrane potential of the discrete-time model is expressed in units of the
firing threshold's scale (dimensionless, as in OTTT), so threshold, noise scale
and weights are plain numbers.

A model file may carry per-rule overrides (``[per_rule.bp]``), applied when
that rule is selected, so one named config gives a sensible run for each rule::

    [rule]
    name = "opzo"
    [per_rule.bp]
    noise = { scale = 0.0 }
"""

from __future__ import annotations

import copy
import dataclasses
import math
import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import brian2.units as _units
from brian2 import Hz, Quantity, ms
from brian2.units.fundamentalunits import Unit, get_dimensions, get_unit

from bioopzo.data.names import DATASET_NAMES, EVENT_DATASETS
from bioopzo.errors import ConfigError
from bioopzo.rules.names import RULE_NAMES

__all__ = [
    "ConfigError",
    "NetworkConfig",
    "NeuronConfig",
    "NoiseConfig",
    "RuleConfig",
    "OptimizerConfig",
    "DataConfig",
    "DeviceConfig",
    "TrainingConfig",
    "ExperimentConfig",
    "load_config",
    "packaged_models",
    "resolve_config_path",
    "deep_merge",
    "parse_quantity",
    "feedback_samples",
    "feedback_momentum_warning",
    "DEVICE_NAMES",
    "PRECISIONS",
    "ENCODING_NAMES",
    "DATASET_NAMES",
    "EVENT_DATASETS",
]

DEVICE_NAMES = ("cpp_standalone", "runtime", "genn", "cuda_standalone")
#: float types of the compiled state ([device] precision)
PRECISIONS = ("float64", "float32")
ENCODING_NAMES = ("rate", "direct", "latency", "frames")


# --------------------------------------------------------------------------- units
_UNIT_NAMESPACE = {
    name: obj for name, obj in vars(_units).items() if isinstance(obj, (Unit, Quantity))
}
_QUANTITY_RE = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*\*?\s*(.*?)\s*$")
_UNIT_EXPR_RE = re.compile(r"^[A-Za-z0-9_ */().^-]+$")


def parse_quantity(text: Any, expected: Quantity, key: str) -> Quantity:
    """Parse ``"1 ms"`` (or a Quantity) into a Quantity with ``expected``'s dimensions."""
    example = f"'{float(expected / _base_unit(expected)):g} {_base_unit(expected)!s}'"
    if isinstance(text, Quantity):
        value = text
    elif isinstance(text, str):
        match = _QUANTITY_RE.match(text)
        unit_text = match.group(2) if match else ""
        if not match or not unit_text or not _UNIT_EXPR_RE.match(unit_text):
            raise ConfigError(
                f"{key} = {text!r} is not a quantity with a unit; write it like {example}"
            )
        try:
            unit = eval(unit_text.replace("^", "**"), {"__builtins__": {}}, _UNIT_NAMESPACE)  # noqa: S307
        except Exception:
            raise ConfigError(
                f"{key} = {text!r}: unknown unit {unit_text!r}; write it like {example}"
            ) from None
        value = float(match.group(1)) * unit
    else:
        raise ConfigError(
            f"{key} = {text!r} has no unit; quantities are strings with units, like {example}"
        )
    if get_dimensions(value) != get_dimensions(expected):
        raise ConfigError(
            f"{key} = {text!r} is in {get_unit(get_dimensions(value))!s}, "
            f"but a {_dimension_name(expected)} is needed, like {example}"
        )
    return value


def _base_unit(q: Quantity) -> Unit:
    dim = get_dimensions(q)
    if dim == get_dimensions(ms):
        return ms
    if dim == get_dimensions(Hz):
        return Hz
    return Unit(1, dim=dim)


def _dimension_name(q: Quantity) -> str:
    dim = get_dimensions(q)
    return {get_dimensions(ms): "time", get_dimensions(Hz): "frequency"}.get(dim, str(dim))


def format_quantity(q: Quantity) -> str:
    """Inverse of :func:`parse_quantity` for time and rate quantities."""
    unit = _base_unit(q)
    return f"{float(q / unit):.12g} {unit!s}"


# ------------------------------------------------------------------------ helpers
def _choice(section: str, key: str, value: Any, allowed: tuple) -> None:
    if value not in allowed:
        raise ConfigError(
            f"[{section}] {key} = {value!r} is not one of {', '.join(map(repr, allowed))}"
        )


def _number(section: str, key: str, value: Any, *, low=None, high=None,
            low_open=False, integer=False) -> None:
    kind = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind):
        what = "an integer" if integer else "a number"
        raise ConfigError(f"[{section}] {key} = {value!r} must be {what}")
    if low is not None and (value < low or (low_open and value == low)):
        relation = ">" if low_open else ">="
        raise ConfigError(f"[{section}] {key} = {value!r} must be {relation} {low}")
    if high is not None and value > high:
        raise ConfigError(f"[{section}] {key} = {value!r} must be <= {high}")


def _quantity_field(default: Quantity, **kw):
    return field(default_factory=lambda: default, metadata={"quantity": default, **kw})


# ----------------------------------------------------------------------- sections
@dataclass(frozen=True)
class NetworkConfig:
    """Layer sizes, weight initialisation and loss.

    ``hidden`` lists the hidden LIF layer sizes (n_1 .. n_L); input and output
    sizes come from the data set. Forward weights are drawn uniformly from
    ``[-g/sqrt(n_in), g/sqrt(n_in)]`` with ``g = weight_init_gain``. The loss is
    ``ce`` (softmax cross-entropy), ``mse`` (1/2 ||o - y||^2) or ``mix``
    ((1 - loss_mix) CE + loss_mix MSE, the OTTT loss).
    """

    hidden: tuple[int, ...] = (256,)
    weight_init_gain: float = 1.0
    readout_init_gain: float = 1.0
    loss: str = "ce"
    loss_mix: float = 0.05

    def __post_init__(self):
        object.__setattr__(self, "hidden", tuple(self.hidden))
        if not self.hidden:
            raise ConfigError("[network] hidden must list at least one hidden layer size")
        for n in self.hidden:
            _number("network", "hidden", n, low=1, integer=True)
        _number("network", "weight_init_gain", self.weight_init_gain, low=0)
        _number("network", "readout_init_gain", self.readout_init_gain, low=0)
        _choice("network", "loss", self.loss, ("ce", "mse", "mix"))
        _number("network", "loss_mix", self.loss_mix, low=0, high=1)

    @property
    def loss_gamma(self) -> float:
        """Weight of the MSE term in the loss."""
        return {"ce": 0.0, "mse": 1.0, "mix": float(self.loss_mix)}[self.loss]


@dataclass(frozen=True)
class NeuronConfig:
    """Discrete-time LIF constants (OTTT defaults: lambda = 1 - dt/tau_mem = 0.5).

    ``leak = 1 - dt/tau_mem`` and ``trace_decay = 1 - dt/tau_trace`` are the
    per-step decay factors; ``threshold`` is theta, ``reset`` is ``soft``
    (subtract theta) or ``hard`` (to zero), ``surrogate_slope`` is kappa of the
    sigmoid surrogate psi(u) = kappa sigma(kappa(u - theta))(1 - sigma(...)).
    """

    dt: Quantity = _quantity_field(1 * ms)
    tau_mem: Quantity = _quantity_field(2 * ms)
    tau_trace: Quantity = _quantity_field(2 * ms)
    threshold: float = 1.0
    reset: str = "soft"
    surrogate_slope: float = 4.0

    def __post_init__(self):
        for name in ("dt", "tau_mem", "tau_trace"):
            q = parse_quantity(getattr(self, name), ms, f"[neuron] {name}")
            if q <= 0 * ms:
                raise ConfigError(f"[neuron] {name} = {format_quantity(q)} must be positive")
            object.__setattr__(self, name, q)
        for name in ("tau_mem", "tau_trace"):
            if getattr(self, name) < self.dt:
                raise ConfigError(
                    f"[neuron] {name} = {format_quantity(getattr(self, name))} is shorter than "
                    f"dt = {format_quantity(self.dt)}; the per-step decay 1 - dt/tau would be negative"
                )
        _number("neuron", "threshold", self.threshold, low=0, low_open=True)
        _choice("neuron", "reset", self.reset, ("soft", "hard"))
        _number("neuron", "surrogate_slope", self.surrogate_slope, low=0, low_open=True)

    @property
    def leak(self) -> float:
        return float(1 - self.dt / self.tau_mem)

    @property
    def trace_decay(self) -> float:
        return float(1 - self.dt / self.tau_trace)


@dataclass(frozen=True)
class NoiseConfig:
    """Per-step noise alpha z_l[t] injected into every hidden layer.

    ``scale`` is alpha (in threshold units), ``site`` is ``output`` (added to
    the activity sent on; the measured default) or ``membrane`` (added to u), ``distribution`` is
    ``gaussian``, ``rademacher`` or ``sphere`` (uniform on the sphere of radius
    sqrt(n_l), so that E[z z^T] = I for all three). ``antithetic`` pairs z, -z on
    consecutive steps. ``during_evaluation`` keeps the noise on for test samples.
    """

    scale: float = 0.3
    site: str = "output"
    distribution: str = "gaussian"
    antithetic: bool = False
    during_evaluation: bool = False

    def __post_init__(self):
        _number("noise", "scale", self.scale, low=0)
        _choice("noise", "site", self.site, ("membrane", "output"))
        _choice("noise", "distribution", self.distribution, ("gaussian", "rademacher", "sphere"))
        for name in ("antithetic", "during_evaluation"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"[noise] {name} must be true or false")


@dataclass(frozen=True)
class RuleConfig:
    """The learning rule and its own hyperparameters.

    ``name`` is one of opzo, bp, dfa, zo, readout. OPZO: ``feedback_momentum`` is
    rho in M <- rho M + (1 - rho) z o~^T (divided by alpha when
    ``divide_by_noise_scale``), ``feedback_init`` is ``zeros`` or ``random``
    (normal, std ``feedback_init_scale``/sqrt(m); DFA always random).
    ``feedback_bias_correction`` divides M by the weight its average has
    gathered, c <- rho c + (1 - rho) (c = 0 at the start with ``zeros``, 1 with
    ``random``), so the feedback is M / c: an equal-weight mean of the estimates
    so far while c < 1, as Adam corrects its moments (without it a zero M grows
    only as 1 - rho^n and the hidden layers barely learn for ~1/(1 - rho) steps).
    ``use_surrogate`` keeps psi in delta = psi * g (off: delta = g; with membrane
    noise M already estimates do/du, which contains the noise-smoothed spike
    nonlinearity, so psi counts it twice).
    ZO: ``baseline_decay`` is beta of the running loss baseline b <- beta b + (1 - beta) l.

    How large rho must be depends on the schedule: M averages about
    B (1 + rho) / (1 - rho) single-sample estimates (B samples per M update; one
    update per step). :func:`feedback_momentum_warning` names configs where that
    is far below what the layers need.
    """

    name: str = "opzo"
    feedback_momentum: float = 0.9999
    feedback_init: str = "zeros"
    feedback_init_scale: float = 1.0
    feedback_bias_correction: bool = True
    divide_by_noise_scale: bool = True
    use_surrogate: bool = True
    baseline_decay: float = 0.99

    def __post_init__(self):
        if self.name not in RULE_NAMES:
            raise ConfigError(
                f"unknown rule {self.name!r}; choose one of {', '.join(RULE_NAMES)}"
            )
        _number("rule", "feedback_momentum", self.feedback_momentum, low=0, high=1)
        _choice("rule", "feedback_init", self.feedback_init, ("zeros", "random"))
        _number("rule", "feedback_init_scale", self.feedback_init_scale, low=0)
        _number("rule", "baseline_decay", self.baseline_decay, low=0, high=1)
        for name in ("divide_by_noise_scale", "use_surrogate", "feedback_bias_correction"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"[rule] {name} must be true or false")


@dataclass(frozen=True)
class OptimizerConfig:
    """When and how weights change.

    ``schedule``: ``step`` (apply every step, OTTT_O-like), ``sample`` (sum over
    a sample's steps, apply at its last step, OTTT_A-like) or ``batch`` (sum over
    the steps of ``batch_size`` consecutive samples, divided by ``batch_size``).
    ``momentum`` mu: v <- mu v + G, W <- W - eta v (0 = plain SGD).
    ``readout_learning_rate`` defaults to ``learning_rate``. ``lr_schedule``:
    ``constant``, or ``cosine`` (eta x (1 + cos(pi p))/2 with p the fraction of
    training samples seen so far in the run, so it decays smoothly over all epochs).
    """

    learning_rate: float = 0.01
    readout_learning_rate: float | None = None
    momentum: float = 0.0
    schedule: str = "step"
    batch_size: int = 1
    lr_schedule: str = "constant"

    def __post_init__(self):
        _choice("optimizer", "lr_schedule", self.lr_schedule, ("constant", "cosine"))
        _number("optimizer", "learning_rate", self.learning_rate, low=0)
        if self.readout_learning_rate is not None:
            _number("optimizer", "readout_learning_rate", self.readout_learning_rate, low=0)
        _number("optimizer", "momentum", self.momentum, low=0, high=1)
        _choice("optimizer", "schedule", self.schedule, ("step", "sample", "batch"))
        _number("optimizer", "batch_size", self.batch_size, low=1, integer=True)

    @property
    def readout_rate(self) -> float:
        return self.learning_rate if self.readout_learning_rate is None else self.readout_learning_rate

    @property
    def samples_per_update(self) -> int:
        return self.batch_size if self.schedule == "batch" else 1


@dataclass(frozen=True)
class DataConfig:
    """Data set, split and input encoding.

    ``encoding``: ``rate`` (Bernoulli per step, p = max_rate * dt * intensity),
    ``direct`` (the intensity as an analog input every step) or ``latency``
    (one spike per input at step round((1 - intensity)(T - 1)), none when the
    intensity is below ``latency_cutoff``) or ``frames`` (event data sets: the
    per-step input values x_0[t] come from the data, binned to T steps).
    ``steps_per_sample`` is T.
    ``limit`` keeps a stratified subset of that many samples before splitting.
    ``split_seed`` draws the train/test split of a data set without an official
    one (digits); unset, the run's seed draws it, so each seed has its own test
    set. Set, every seed shares one test set and hyperparameters tuned on any
    seed's validation split never saw it.
    ``validation_fraction`` > 0 carves that share of each class out of the
    training set as a validation set and evaluates on it instead of the test
    set, which the run then never reads (what ``bioopzo tune`` uses).
    ``normalization`` of the embedded data: ``minmax`` (intensities in [0, 1])
    or ``standardize`` (per input, (x - mean) / sd with the training set's
    statistics; values are signed, so only ``encoding = "direct"`` applies).

    Event data sets (``nmnist``, ``shd``, ``dvsgesture``) are read from the
    folder ``data_dir`` (never downloaded), need ``encoding = "frames"``, keep
    their official train/test split (``test_fraction`` is not used) and are
    binned into T = ``steps_per_sample`` frames, one per step: bin k of a
    recording whose first event is at t_0 holds the events with
    t_0 + k w <= t < t_0 + (k + 1) w. The bin width w is ``bin_width`` (events
    at t >= t_0 + T w are dropped) or, when ``bin_width`` is not set, each
    recording's own span, w = ceil((t_last - t_0 + 1 us) / T), so that every
    event lands in a bin. ``downsample_to = [W', H']`` scales pixel coordinates
    to a W' x H' sensor (x' = floor(x W'/W)); ``polarity`` is ``both`` (one input
    per pixel and polarity) or ``merge`` (one per pixel); ``frame_values`` is
    ``count`` (events per bin and input) or ``binary`` (min(count, 1)).
    """

    dataset: str = "digits"
    encoding: str = "rate"
    steps_per_sample: int = 16
    max_rate: Quantity = _quantity_field(1000 * Hz)
    latency_cutoff: float = 0.1
    test_fraction: float = 0.2
    limit: int | None = None
    split_seed: int | None = None
    validation_fraction: float = 0.0
    normalization: str = "minmax"
    data_dir: str | None = None
    bin_width: Quantity | None = None
    downsample_to: tuple[int, int] | None = None
    polarity: str = "both"
    frame_values: str = "count"

    def __post_init__(self):
        _choice("data", "dataset", self.dataset, DATASET_NAMES)
        _choice("data", "encoding", self.encoding, ENCODING_NAMES)
        _number("data", "steps_per_sample", self.steps_per_sample, low=1, integer=True)
        q = parse_quantity(self.max_rate, Hz, "[data] max_rate")
        if q <= 0 * Hz:
            raise ConfigError("[data] max_rate must be positive")
        object.__setattr__(self, "max_rate", q)
        _number("data", "latency_cutoff", self.latency_cutoff, low=0, high=1)
        _number("data", "test_fraction", self.test_fraction, low=0, high=1, low_open=True)
        if self.test_fraction >= 1:
            raise ConfigError("[data] test_fraction must be below 1")
        if self.limit is not None:
            _number("data", "limit", self.limit, low=2, integer=True)
        if self.split_seed is not None:
            _number("data", "split_seed", self.split_seed, low=0, integer=True)
        _number("data", "validation_fraction", self.validation_fraction, low=0, high=1)
        if self.validation_fraction >= 1:
            raise ConfigError("[data] validation_fraction must be below 1 (a share of the training set)")
        _choice("data", "normalization", self.normalization, ("minmax", "standardize"))
        if self.normalization == "standardize" and self.encoding != "direct":
            raise ConfigError(
                f"[data] normalization = \"standardize\" gives signed inputs, which encoding = "
                f"{self.encoding!r} cannot turn into spikes: set encoding = \"direct\" (analog input "
                "current) or normalization = \"minmax\""
            )
        if self.normalization == "standardize" and self.dataset in EVENT_DATASETS:
            raise ConfigError("[data] normalization applies to the embedded data sets only; "
                              f"{self.dataset!r} is read as event frames")
        self._check_event_options()

    def _check_event_options(self) -> None:
        event_data = self.dataset in EVENT_DATASETS
        if event_data and self.encoding != "frames":
            raise ConfigError(
                f"[data] dataset = {self.dataset!r} is an event data set, so encoding = "
                f"{self.encoding!r} does not apply: set encoding = \"frames\" (the binned events are "
                "the per-step inputs) and steps_per_sample = the number of time bins T"
            )
        if not event_data:
            given = [k for k in ("data_dir", "bin_width", "downsample_to")
                     if getattr(self, k) is not None]
            if given:
                raise ConfigError(
                    f"[data] {', '.join(given)} {'applies' if len(given) == 1 else 'apply'} only "
                    f"to the event data sets "
                    f"({', '.join(EVENT_DATASETS)}); {self.dataset!r} is embedded: remove "
                    f"{'them' if len(given) > 1 else 'it'} (or the --data-dir option)"
                )
        if self.data_dir is not None and (not isinstance(self.data_dir, str) or not self.data_dir):
            raise ConfigError(f"[data] data_dir = {self.data_dir!r} must be a folder path (a string)")
        if self.bin_width is not None:
            q = parse_quantity(self.bin_width, ms, "[data] bin_width")
            if q < 1 * _units.us:
                raise ConfigError(
                    f"[data] bin_width = {format_quantity(q)} must be at least 1 us "
                    "(event times have microsecond resolution)"
                )
            object.__setattr__(self, "bin_width", q)
        if self.downsample_to is not None:
            size = self.downsample_to
            if (not isinstance(size, (list, tuple)) or len(size) != 2
                    or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in size)):
                raise ConfigError(
                    f"[data] downsample_to = {size!r} must be [width, height] in pixels, "
                    "two positive integers, like [32, 32]"
                )
            object.__setattr__(self, "downsample_to", tuple(size))
        _choice("data", "polarity", self.polarity, ("both", "merge"))
        _choice("data", "frame_values", self.frame_values, ("count", "binary"))


@dataclass(frozen=True)
class DeviceConfig:
    """Where Brian2 runs the model: ``cpp_standalone`` (default), ``runtime``
    (numpy target), ``genn`` or ``cuda_standalone`` (GPU lanes).
    ``threads`` is the OpenMP thread count of cpp_standalone (1 = no OpenMP).
    ``build_cache``: cpp_standalone reuses a compiled binary of the same
    generated code from the build cache (``$BIOOPZO_CACHE_DIR`` or
    ``~/.cache/bioopzo/builds``; ``bioopzo cache info``).
    ``precision``: the float type of every state variable and weight on
    cpp_standalone (Brian2's ``core.default_float_dtype``): ``"float64"`` or
    ``"float32"`` (half the memory traffic; the compiled oracle set agrees with
    the float64 reference to 1e-4 of each variable's scale, README "How it
    works"). Other devices run float64 only."""

    name: str = "cpp_standalone"
    threads: int = 1
    build_cache: bool = True
    precision: str = "float64"

    def __post_init__(self):
        if self.name not in DEVICE_NAMES:
            raise ConfigError(
                f"unknown device {self.name!r}; choose one of {', '.join(DEVICE_NAMES)}"
            )
        _number("device", "threads", self.threads, low=1, integer=True)
        if not isinstance(self.build_cache, bool):
            raise ConfigError("[device] build_cache must be true or false")
        _choice("device", "precision", self.precision, PRECISIONS)
        if self.precision != "float64" and self.name != "cpp_standalone":
            raise ConfigError(f"[device] precision = {self.precision!r} runs on cpp_standalone "
                              f"only; device {self.name!r} needs precision = \"float64\"")


@dataclass(frozen=True)
class TrainingConfig:
    """Number of epochs, the seed of every random choice in the run, and how an
    epoch streams through the simulation.

    An epoch runs as consecutive simulation runs of at most ``samples_per_run``
    samples (fewer when one run's inputs would exceed ``max_run_input_mb``
    megabytes), carrying the learnable state from run to run, so memory does
    not grow with the number of samples in an epoch.

    With one update per sample or batch, a weight matrix of at least
    ``replay_min_synapses`` synapses is updated by replaying the sample's
    presynaptic events (updates.py; the same result, at a cost proportional to
    the input activity, and T more pathways to compile); smaller ones sum the
    T-term gradient over every synapse. 0 replays every matrix.

    On compiled devices a group of at least ``slot_history_min_neurons``
    neurons writes the sample's history in place (neurons.py: one custom event
    per step, 2 T more files to compile per group) instead of shifting T
    values per neuron every step; smaller groups shift. 0: every group.
    """

    epochs: int = 5
    seed: int = 1
    samples_per_run: int = 2000
    max_run_input_mb: float = 256.0
    replay_min_synapses: int = 100_000
    slot_history_min_neurons: int = 256

    def __post_init__(self):
        _number("training", "epochs", self.epochs, low=1, integer=True)
        _number("training", "seed", self.seed, low=0, integer=True)
        _number("training", "samples_per_run", self.samples_per_run, low=1, integer=True)
        _number("training", "max_run_input_mb", self.max_run_input_mb, low=0, low_open=True)
        _number("training", "replay_min_synapses", self.replay_min_synapses, low=0, integer=True)
        _number("training", "slot_history_min_neurons", self.slot_history_min_neurons, low=0,
                integer=True)


_SECTIONS = {
    "network": NetworkConfig,
    "neuron": NeuronConfig,
    "noise": NoiseConfig,
    "rule": RuleConfig,
    "optimizer": OptimizerConfig,
    "data": DataConfig,
    "device": DeviceConfig,
    "training": TrainingConfig,
}


@dataclass(frozen=True)
class ExperimentConfig:
    """A whole experiment: one instance per run, saved next to its results."""

    name: str = "experiment"
    network: NetworkConfig = field(default_factory=NetworkConfig)
    neuron: NeuronConfig = field(default_factory=NeuronConfig)
    noise: NoiseConfig = field(default_factory=NoiseConfig)
    rule: RuleConfig = field(default_factory=RuleConfig)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    data: DataConfig = field(default_factory=DataConfig)
    device: DeviceConfig = field(default_factory=DeviceConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    per_rule: dict = field(default_factory=dict, compare=False, repr=False)
    #: the raw tables this config was made from (before per-rule overrides)
    source: dict | None = field(default=None, compare=False, repr=False)
    #: explicit overrides applied on top of the per-rule table (they win over it)
    overrides: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self):
        if self.rule.name in ("opzo", "zo") and self.noise.scale <= 0:
            raise ConfigError(
                f"rule {self.rule.name!r} estimates gradients from injected noise, so "
                f"[noise] scale must be > 0 (got {self.noise.scale!r})"
            )

    # ---------------------------------------------------------------- dict I/O
    @classmethod
    def from_dict(cls, raw: dict, *, origin: str = "config",
                  overrides: dict | None = None) -> "ExperimentConfig":
        """A config from raw tables: the file's tables, then the selected rule's
        ``[per_rule]`` table, then ``overrides`` (which win over both)."""
        raw = copy.deepcopy(raw)
        source_raw = copy.deepcopy(raw)
        overrides = copy.deepcopy(overrides or {})
        unknown = set(raw) - set(_SECTIONS) - {"name", "per_rule"}
        if unknown:
            raise ConfigError(
                f"{origin}: unknown section(s) {sorted(unknown)}; known sections are "
                f"{sorted(_SECTIONS)} plus 'name' and 'per_rule'"
            )
        per_rule = raw.pop("per_rule", {}) or {}
        for rule_name, table in per_rule.items():
            if rule_name not in RULE_NAMES:
                raise ConfigError(f"{origin}: [per_rule.{rule_name}] names an unknown rule")
        rule_name = deep_merge(raw, overrides).get("rule", {}).get("name", RuleConfig.name)
        if rule_name in per_rule:
            raw = deep_merge(raw, per_rule[rule_name])
        raw = deep_merge(raw, overrides)
        unknown = set(raw) - set(_SECTIONS) - {"name"}
        if unknown:
            raise ConfigError(f"{origin}: unknown section(s) {sorted(unknown)} in the overrides; "
                              f"known sections are {sorted(_SECTIONS)}")
        kwargs: dict[str, Any] = {
            "name": str(raw.get("name", cls.name)), "per_rule": per_rule, "source": source_raw,
            "overrides": overrides,
        }
        for section, section_cls in _SECTIONS.items():
            table = raw.get(section, {})
            if not isinstance(table, dict):
                raise ConfigError(f"{origin}: [{section}] must be a table")
            known = {f.name for f in fields(section_cls)}
            bad = set(table) - known
            if bad:
                raise ConfigError(
                    f"{origin}: unknown key(s) {sorted(bad)} in [{section}]; "
                    f"known keys are {sorted(known)}"
                )
            try:
                kwargs[section] = section_cls(**table)
            except ConfigError as exc:
                raise ConfigError(f"{origin}: {exc}") from None
        try:
            return cls(**kwargs)
        except ConfigError as exc:
            raise ConfigError(f"{origin}: {exc}") from None

    def to_dict(self) -> dict:
        """The resolved config as a plain dict (TOML-ready, per-rule tables applied);
        quantities become strings with units."""
        out: dict[str, Any] = {"name": self.name}
        for section in _SECTIONS:
            obj = getattr(self, section)
            table = {}
            for f in fields(obj):
                value = getattr(obj, f.name)
                if isinstance(value, Quantity):
                    value = format_quantity(value)
                elif isinstance(value, tuple):
                    value = list(value)
                if value is not None:
                    table[f.name] = value
            out[section] = table
        return out

    def with_overrides(self, overrides: dict) -> "ExperimentConfig":
        """A new config with nested overrides (``{"rule": {"name": "bp"}}``) applied.

        Overrides accumulate on top of the raw tables this config was made
        from: selecting another rule applies that rule's ``[per_rule]`` table
        instead, and explicit overrides always win over per-rule tables.
        """
        if self.source is None:
            return ExperimentConfig.from_dict(deep_merge(self.to_dict(), overrides))
        return ExperimentConfig.from_dict(self.source, overrides=deep_merge(self.overrides, overrides))

    def to_toml(self) -> str:
        import tomli_w

        return tomli_w.dumps(self.to_dict())


#: Below these effective sample counts of M's average (one hidden layer; two or more,
#: for the layers below the last) OPZO's feedback is far from the Jacobian: measured
#: cosines of M_l with the same-step Jacobian on digits, analyses/jacobian.py.
FEEDBACK_SAMPLES_FAR_TOO_FEW = (4_000, 12_000)


def feedback_samples(config: "ExperimentConfig", batch: int = 1) -> float:
    """How many single-step estimates OPZO's M averages: B (1 + rho) / (1 - rho), the
    effective sample count of an exponential average with weight 1 - rho per update,
    with B samples per M update (1 in the Brian2 model: one update per step)."""
    rho = config.rule.feedback_momentum
    return math.inf if rho >= 1 else batch * (1 + rho) / (1 - rho)


def feedback_momentum_warning(config: "ExperimentConfig", batch: int = 1) -> str | None:
    """A one-line warning when OPZO's rho is far too small for its network, else None."""
    if config.rule.name != "opzo":
        return None
    n = feedback_samples(config, batch)
    deep = len(config.network.hidden) > 1
    need = FEEDBACK_SAMPLES_FAR_TOO_FEW[1 if deep else 0]
    if n >= need:
        return None
    rho_min = (need - batch) / (need + batch)
    return (f"[rule] feedback_momentum = {config.rule.feedback_momentum:g} makes M average only about "
            f"{n:,.0f} single-step estimates (B (1 + rho) / (1 - rho), B = {batch}); "
            f"{'the lower layers of ' if deep else ''}a {len(config.network.hidden)}-hidden-layer "
            f"network need{'' if deep else 's'} at least {need:,}, so the feedback stays far from "
            f"the Jacobian: set feedback_momentum >= {rho_min:.5f} (0.9999 is the default)")


def deep_merge(base: dict, extra: dict) -> dict:
    """A copy of ``base`` with ``extra`` merged in, table by table (``extra`` wins)."""
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def packaged_models() -> dict[str, Path]:
    """The model configs shipped with bioopzo (``bioopzo/models/*.toml``) by name."""
    from importlib.resources import files

    folder = files("bioopzo").joinpath("models")
    return {Path(p.name).stem: Path(str(p)) for p in folder.iterdir() if p.name.endswith(".toml")}


def _packaged_path(text: str) -> Path | None:
    """The packaged model ``text`` names (``digits_fc`` or ``models/digits_fc.toml``), if any."""
    models = packaged_models()
    path = Path(text)
    if text in models:
        return models[text]
    if path.stem in models and not path.exists() and path.parent.name == "models":
        return models[path.stem]
    return None


def resolve_config_path(text: str | Path | None) -> Path | None:
    """A path, or the name of a packaged model config (``digits_fc``)."""
    if text is None:
        return None
    path = Path(text)
    if path.is_file():
        return path
    named = _packaged_path(str(text))
    if named is not None:
        return named
    raise ConfigError(
        f"config {str(text)!r} is neither a file nor a named model; named models: "
        f"{', '.join(sorted(packaged_models()))}"
    )


def load_config(path: str | Path | None = None, overrides: dict | None = None) -> ExperimentConfig:
    """Read a TOML model file, a packaged model by name (``"digits_fc"``, see
    :func:`packaged_models`) or the packaged default, and apply overrides.

    ``overrides`` is a nested dict such as ``{"training": {"epochs": 2}}``; a
    ``rule.name`` override selects that rule's ``[per_rule]`` table, and the
    overrides win over that table (``--rule bp`` with a noise override keeps
    the override).
    """
    if path is None:
        from importlib.resources import files

        text = files("bioopzo").joinpath("models/digits_fc.toml").read_text()
        origin = "digits_fc.toml (packaged default)"
    else:
        path = Path(path)
        if not path.is_file():
            named = _packaged_path(str(path))
            if named is None:
                raise ConfigError(f"config file {str(path)!r} does not exist (named models: "
                                  f"{', '.join(sorted(packaged_models()))})")
            path = named
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise ConfigError(f"{str(path)!r} is not a text file; a config is a TOML model file "
                              "(see `bioopzo models`)") from None
        origin = str(path)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{origin} is not valid TOML: {exc}") from None
    if not any(isinstance(value, dict) for value in raw.values()):
        raise ConfigError(f"{origin} has no tables ([data], [network], [rule], ...): it would train "
                          "with built-in defaults; start from a packaged model (`bioopzo models`, "
                          "e.g. --config digits_fc)")
    return ExperimentConfig.from_dict(raw, origin=origin, overrides=overrides)


def replace(config, **changes):
    """``dataclasses.replace`` for config sections (re-validates)."""
    return dataclasses.replace(config, **changes)
