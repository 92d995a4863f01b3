"""Hardware cost profiles: per-event energy (J) and time (s), each figure with its source.

A profile is a TOML file (packaged ones live in ``bioopzo/cost/profiles/``)::

    name = "loihi1_davies2018"
    [energy]
    synaptic_op = { value = "23.6 pJ", mark = "S", source = "Davies 2018 Table 2 ..." }
    [time]
    synaptic_op = { value = "3.5 ns", mark = "S", source = "..." }
    [architecture]
    neurons_per_core = { value = 1024, mark = "S", source = "..." }

Energies carry an energy unit (fJ, pJ, nJ, uJ, mJ, J), times a time unit (ps, ns, us, ms,
s), power a power unit (uW, mW, W); the analyzer converts them to SI floats once, here,
and keeps the text it read for the report. Marks follow ``cost-model.md``: P (checked
against the primary artefact), S (secondary transcription), U (unverified, inferred, or an
assumption of this analyzer). Every figure named in :data:`ENERGY_KEYS` and
:data:`TIME_KEYS` must be present and carry a non-empty source.

Packaged profiles: ``loihi1_davies2018`` (default), ``loihi1_sanafe`` (alias
``loihi1_sanafe_calibrated``), ``abstract_45nm``, and ``loihi2``, a template without figures
(none are published), which stops with an error naming ``--profile-file``.
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path

from bioopzo.config import ConfigError

__all__ = ["Figure", "Profile", "load_profile", "profile_names", "ENERGY_KEYS", "TIME_KEYS",
           "ARCHITECTURE_KEYS", "DEFAULT_PROFILE"]

DEFAULT_PROFILE = "loihi1_davies2018"

#: energy per event (J)
ENERGY_KEYS = ("synaptic_op", "feedback_op", "synaptic_update", "neuron_update_active",
               "neuron_update_inactive", "message_in_tile", "message_out", "spike", "hop_east_west",
               "hop_north_south", "noise_draw", "error_op", "trace_update", "surrogate",
               "memory_read", "memory_write")
#: time per event (s)
TIME_KEYS = ("synaptic_op", "feedback_op", "synaptic_update", "neuron_update_active",
             "neuron_update_inactive", "message_in_tile", "hop_east_west", "hop_north_south",
             "barrier_min", "barrier_max")
#: integers describing the chip (static_power_per_chip and include_memory are optional)
ARCHITECTURE_KEYS = ("neurons_per_core", "synapse_memory_bytes", "input_axons_per_core",
                     "cores_per_tile", "tiles_east_west", "tiles_north_south", "weight_bits",
                     "trace_bits")

_UNITS = {
    "energy": {"fJ": 1e-15, "pJ": 1e-12, "nJ": 1e-9, "uJ": 1e-6, "µJ": 1e-6, "mJ": 1e-3, "J": 1.0},
    "time": {"ps": 1e-12, "ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0},
    "power": {"uW": 1e-6, "mW": 1e-3, "W": 1.0},
}
_VALUE_RE = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([A-Za-zµ]+)\s*$")
_PROFILE_DIR = "profiles"


@dataclass(frozen=True)
class Figure:
    """One per-event figure: its SI value, the text it was given as, and its source."""

    value: float
    text: str
    source: str
    mark: str = "U"
    tiles: int | None = None    # barrier figures: number of tiles they apply to


@dataclass(frozen=True)
class Profile:
    """Per-event figures of one target; ``energy[k].value`` in J, ``time[k].value`` in s."""

    name: str
    description: str
    family: str                 # loihi1, loihi2, abstract, custom
    source: str                 # default citation
    energy: dict = field(default_factory=dict)
    time: dict = field(default_factory=dict)
    architecture: dict = field(default_factory=dict)
    path: str = ""

    def e(self, key: str) -> float:
        return self.energy[key].value

    def t(self, key: str) -> float:
        return self.time[key].value

    def arch(self, key: str, default=None):
        fig = self.architecture.get(key)
        return default if fig is None else fig.value

    @property
    def include_memory(self) -> bool:
        return bool(self.arch("include_memory", False))

    def synaptic_op_energy(self, graded: bool) -> float:
        """AC for binary inputs; MAC (``synaptic_op_mac``) for graded ones where the profile has it."""
        if graded and "synaptic_op_mac" in self.energy:
            return self.e("synaptic_op_mac")
        return self.e("synaptic_op")

    def barrier_time(self, n_tiles: int) -> float:
        """Barrier sync per step, linearly interpolated between the two published points."""
        lo, hi = self.time["barrier_min"], self.time["barrier_max"]
        if hi.tiles == lo.tiles:
            return lo.value
        frac = (min(max(n_tiles, lo.tiles), hi.tiles) - lo.tiles) / (hi.tiles - lo.tiles)
        return lo.value + frac * (hi.value - lo.value)

    def table(self) -> list[dict]:
        """Rows (kind, key, value text, mark, source) for reports."""
        rows = []
        for kind, figs in (("energy", self.energy), ("time", self.time),
                           ("architecture", self.architecture)):
            for key, fig in figs.items():
                rows.append({"kind": kind, "key": key, "value": fig.text, "mark": fig.mark,
                             "source": fig.source})
        return rows


def profile_names() -> list[str]:
    folder = files("bioopzo.cost").joinpath(_PROFILE_DIR)
    return sorted(Path(p.name).stem for p in folder.iterdir() if p.name.endswith(".toml"))


def _parse_value(text, kind: str, where: str) -> float:
    if isinstance(text, bool) or not isinstance(text, (str, int, float)):
        raise ConfigError(f"{where}: expected a quantity such as '23.6 pJ', got {text!r}")
    if isinstance(text, (int, float)) or (isinstance(text, str) and not text.strip()):
        raise ConfigError(
            f"{where}: {text!r} has no unit; write it with a {kind} unit, one of "
            f"{', '.join(_UNITS[kind])} (e.g. '23.6 pJ')" if text != "" else
            f"{where}: no value given; fill in a figure with a {kind} unit and its source")
    m = _VALUE_RE.match(text)
    if not m:
        raise ConfigError(f"{where}: cannot read {text!r}; write a number and a {kind} unit, "
                          f"e.g. '23.6 pJ'")
    number, unit = float(m.group(1)), m.group(2)
    if unit not in _UNITS[kind]:
        other = [k for k, units in _UNITS.items() if unit in units]
        hint = f" ({unit} is a {other[0]} unit)" if other else ""
        article = "an" if kind[0] in "aeiou" else "a"
        raise ConfigError(f"{where}: {text!r} must be {article} {kind}{hint}; use one of "
                          f"{', '.join(_UNITS[kind])}")
    if not math.isfinite(number) or number < 0:
        raise ConfigError(f"{where}: {text!r} must be a finite, non-negative {kind}")
    return number * _UNITS[kind][unit]


def _figure(raw, kind: str, where: str) -> Figure:
    if not isinstance(raw, dict) or "value" not in raw:
        raise ConfigError(f"{where} must be a table {{ value = ..., source = ..., mark = ... }}")
    if raw["value"] == "":
        raise ConfigError(f"{where}: no value given; fill in a figure with its unit and its source")
    source = str(raw.get("source", "")).strip()
    if not source:
        raise ConfigError(f"{where} has no source; every figure must say where it comes from")
    mark = str(raw.get("mark", "U"))
    if mark not in ("P", "S", "U"):
        raise ConfigError(f"{where}: mark {mark!r} must be P, S or U (see cost-model.md)")
    tiles = raw.get("tiles")
    if kind == "architecture":
        value = raw["value"]
        if isinstance(value, str):
            return Figure(_parse_value(value, "power", where), value, source, mark)
        if isinstance(value, bool):
            return Figure(value, str(value).lower(), source, mark)
        if not isinstance(value, int) or value <= 0:
            raise ConfigError(f"{where}: {value!r} must be a positive integer")
        return Figure(value, str(value), source, mark)
    return Figure(_parse_value(raw["value"], kind, where), str(raw["value"]), source, mark,
                  int(tiles) if tiles is not None else None)


def _from_dict(raw: dict, path: str) -> Profile:
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"profile {path}: missing 'name'")
    if raw.get("user_supplied") and path.startswith("packaged:"):
        raise ConfigError(
            f"profile {name!r} has no figures: no per-operation energy or time has been "
            "published for Loihi 2 (cost-model.md a.3). Copy the template "
            f"{_packaged_path(name)}, fill in figures you can cite, and pass it with "
            "--profile-file; or choose --profile loihi1_davies2018")
    sections = {}
    for kind, keys in (("energy", ENERGY_KEYS), ("time", TIME_KEYS),
                       ("architecture", ARCHITECTURE_KEYS)):
        table = raw.get(kind, {})
        if not isinstance(table, dict):
            raise ConfigError(f"profile {name!r}: [{kind}] must be a table")
        missing = [k for k in keys if k not in table]
        if missing:
            raise ConfigError(f"profile {name!r} ({path}): [{kind}] lacks {', '.join(missing)}; "
                              "every figure must be given (0 with a source if it is folded "
                              "into another figure)")
        known = set(keys) | {"synaptic_op_mac", "static_power_per_chip", "include_memory"}
        unknown = sorted(set(table) - known)
        if unknown:
            raise ConfigError(f"profile {name!r}: unknown [{kind}] entries {unknown}; "
                              f"known: {sorted(known)}")
        sections[kind] = {k: _figure(v, kind, f"profile {name!r} [{kind}] {k}")
                          for k, v in table.items()}
    for key in ("barrier_min", "barrier_max"):
        if sections["time"][key].tiles is None or sections["time"][key].tiles < 1:
            raise ConfigError(f"profile {name!r} [time] {key} needs 'tiles = N' (N >= 1)")
    return Profile(name, str(raw.get("description", "")), str(raw.get("family", "custom")),
                   str(raw.get("default_source", "")), sections["energy"], sections["time"],
                   sections["architecture"], path)


def _packaged_path(name: str) -> str:
    return str(files("bioopzo.cost").joinpath(_PROFILE_DIR, f"{name}.toml"))


def _read_toml(path: Path, what: str) -> dict:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{what} {str(path)!r} does not exist; pass an existing TOML file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{what} {str(path)!r} is not valid TOML ({exc})") from None


def load_profile(name: str | None = None, path: str | Path | None = None) -> Profile:
    """A packaged profile by ``name`` (default ``loihi1_davies2018``) or a user file ``path``."""
    if name is not None and path is not None:
        raise ConfigError("give a profile name or a profile file, not both")
    if path is not None:
        return _from_dict(_read_toml(Path(path), "profile file"), str(path))
    name = name or DEFAULT_PROFILE
    names = profile_names()
    for candidate in names:
        raw = _read_toml(Path(_packaged_path(candidate)), "packaged profile")
        if name == candidate or name in raw.get("aliases", []):
            return _from_dict(raw, f"packaged:{candidate}")
    raise ConfigError(f"unknown profile {name!r}; packaged profiles: {', '.join(names)} "
                      "(or pass your own file with --profile-file)")
