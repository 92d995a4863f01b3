"""Sweep files: a base config and the overrides that make a sweep's points.

A sweep file (TOML) names a base config and the overrides that make its points::

    name = "rules_x_seeds"
    config = "digits_fc"               # path (relative to this file) or packaged model name
    [fixed]                            # applied to every point
    "training.epochs" = 12
    [grid]                             # Cartesian product of these lists
    "rule.name" = ["opzo", "bp", "dfa", "zo"]
    "training.seed" = [1, 2, 3, 4, 5]
    [[points]]                         # optional list of override tables (crossed with the grid)
    "noise.scale" = 0.25

Keys are dotted ``section.key`` names of :mod:`bioopzo.config`; they win over the base
file's ``[per_rule]`` tables (a swept ``noise.scale`` applies to every rule). Every
point is validated through :meth:`bioopzo.config.ExperimentConfig.from_dict` before any
work starts, so a typo is a :class:`~bioopzo.config.ConfigError` naming the point and key.
The number of points is ``len(points or [{}]) * prod(len(v) for v in grid.values())``.

A point's name is its varying overrides plus a hash of its resolved config, so
changing the base config (or a bioopzo version that resolves it differently)
makes new points instead of reusing old run folders.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bioopzo.config import ConfigError, ExperimentConfig, deep_merge, resolve_config_path

__all__ = ["SweepSpec", "SweepPoint", "load_sweep", "point_config", "resolve_sweep_path",
           "short_key", "SWEEP_KEYS"]

SWEEP_KEYS = ("name", "config", "out", "fixed", "grid", "points", "cluster")


@dataclass(frozen=True)
class SweepPoint:
    """One run: its overrides (dotted keys), resolved config and folder name."""

    id: str
    overrides: dict
    config: ExperimentConfig = field(compare=False, repr=False)

    @property
    def seed(self) -> int:
        return self.config.training.seed


@dataclass(frozen=True)
class SweepSpec:
    name: str
    path: Path
    base: Path
    points: tuple[SweepPoint, ...]
    varying: tuple[str, ...]          # dotted keys that differ between points
    out: Path
    cluster: dict = field(default_factory=dict)


# ------------------------------------------------------------------ sweep files
def _flatten(table: dict, prefix: str = "") -> dict:
    """``{"rule": {"name": "bp"}}`` and ``{"rule.name": "bp"}`` both give ``{"rule.name": "bp"}``."""
    out = {}
    for key, value in table.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, dotted + "."))
        else:
            out[dotted] = value
    return out


def _nest(flat: dict) -> dict:
    nested: dict = {}
    for dotted, value in flat.items():
        *sections, key = dotted.split(".")
        node = nested
        for s in sections:
            node = node.setdefault(s, {})
        node[key] = value
    return nested


def resolve_sweep_path(text: str) -> Path:
    """A path, or the name of a packaged sweep (``models/sweeps/<name>.toml``)."""
    path = Path(text)
    if path.is_file():
        return path
    from importlib.resources import files

    folder = files("bioopzo").joinpath("models", "sweeps")
    named = ({Path(p.name).stem: Path(str(p)) for p in folder.iterdir() if p.name.endswith(".toml")}
             if folder.is_dir() else {})
    if text in named:
        return named[text]
    raise ConfigError(f"sweep file {text!r} does not exist and is not a packaged sweep; "
                      f"packaged sweeps: {', '.join(sorted(named)) or 'none'}")


def _resolve_base(text: Any, sweep_path: Path) -> Path:
    if not isinstance(text, str):
        raise ConfigError(f"{sweep_path}: config = {text!r} must be a path or a model name "
                          "(like \"digits_fc\")")
    beside = sweep_path.parent / text
    if beside.is_file():
        return beside
    try:
        return resolve_config_path(text)
    except ConfigError as exc:
        raise ConfigError(f"{sweep_path}: {exc}") from None


def _slug(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else value
    return re.sub(r"[^A-Za-z0-9.+-]+", "-", text).strip("-")[:24] or "x"


def short_key(key: str) -> str:
    """The short name of a dotted key: ``training.seed`` -> ``seed``, ``rule.name`` -> ``rule``."""
    parts = key.split(".")
    return parts[-2] if parts[-1] == "name" and len(parts) > 1 else parts[-1]


def _point_id(overrides: dict, varying: tuple[str, ...], config: ExperimentConfig) -> str:
    digest = hashlib.sha1(config.to_toml().encode()).hexdigest()[:8]
    parts = [f"{short_key(k)}-{_slug(overrides[k])}" for k in varying if k in overrides]
    return "_".join(parts + [digest])


def point_config(base: Path, overrides: dict) -> ExperimentConfig:
    """The base config with a point's dotted overrides applied.

    The overrides also win over the base file's ``[per_rule.<rule>]`` tables (which
    :func:`~bioopzo.config.load_config` applies after its overrides), so that a sweep over
    ``noise.scale`` also changes the noise of a rule whose per-rule table sets it.
    """
    nested = _nest(overrides)
    try:
        raw = tomllib.loads(base.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{base} is not valid TOML: {exc}") from None
    raw = deep_merge(raw, nested)
    per_rule = raw.get("per_rule")
    if isinstance(per_rule, dict):
        sections = {k: v for k, v in nested.items() if k not in ("name", "rule", "per_rule")}
        if "rule" in nested:
            sections["rule"] = {k: v for k, v in nested["rule"].items() if k != "name"}
        raw["per_rule"] = {rule: deep_merge(table, sections) if isinstance(table, dict) else table
                           for rule, table in per_rule.items()}
    return ExperimentConfig.from_dict(raw, origin=str(base))


def load_sweep(path: str | Path, out: str | Path | None = None) -> SweepSpec:
    """Read and validate a sweep file; every point's config is built (and checked) here."""
    path = resolve_sweep_path(str(path))
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"sweep file {path} is not valid TOML: {exc}") from None
    unknown = sorted(set(raw) - set(SWEEP_KEYS))
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) {unknown}; a sweep file has "
                          f"{', '.join(SWEEP_KEYS)}")
    if "config" not in raw:
        raise ConfigError(f"{path}: no base config; add config = \"digits_fc\" (a model name "
                          "or a path relative to the sweep file)")
    base = _resolve_base(raw["config"], path)
    name = str(raw.get("name", path.stem))
    for key in ("fixed", "grid", "cluster"):
        if not isinstance(raw.get(key, {}), dict):
            raise ConfigError(f"{path}: [{key}] must be a table")
    fixed = _flatten(raw.get("fixed", {}))
    grid = _flatten(raw.get("grid", {}))
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{path}: [grid] {key} = {values!r} must be a non-empty list of "
                              f"values, like \"{key}\" = [1, 2]")
    listed = raw.get("points", [{}])
    if not isinstance(listed, list) or not listed or not all(isinstance(p, dict) for p in listed):
        raise ConfigError(f"{path}: points must be a non-empty array of tables ([[points]])")
    listed = [_flatten(p) for p in listed]
    varying = tuple(dict.fromkeys(
        [k for p in listed for k in p if len({json.dumps(q.get(k)) for q in listed}) > 1]
        + [k for k, v in grid.items() if len(v) > 1]))

    points: list[SweepPoint] = []
    seen: dict[str, dict] = {}
    for extra in listed:
        for combo in itertools.product(*grid.values()):
            overrides = {**fixed, **extra, **dict(zip(grid, combo))}
            try:
                config = point_config(base, overrides)
            except ConfigError as exc:
                raise ConfigError(f"sweep file {path}, point {overrides}: {exc}") from None
            pid = _point_id(overrides, varying, config)
            if pid in seen:
                raise ConfigError(f"{path}: points {seen[pid]} and {overrides} give the same "
                                  "resolved config; remove one of them")
            seen[pid] = overrides
            points.append(SweepPoint(pid, overrides, config))
    cluster = raw.get("cluster", {})
    for kind, table in cluster.items():
        if kind not in ("slurm", "pbs") or not isinstance(table, dict):
            raise ConfigError(f"{path}: [cluster.{kind}] is not a dask-jobqueue cluster table; "
                              "use [cluster.slurm] or [cluster.pbs] with SLURMCluster/PBSCluster "
                              "arguments (queue, account, walltime, memory, ...)")
    out_dir = Path(out) if out is not None else Path(raw.get("out", Path("runs") / "sweeps" / name))
    return SweepSpec(name, path, base, tuple(points), varying, out_dir.absolute(), cluster)
