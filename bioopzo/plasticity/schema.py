"""The plasticity data-file schema: what a CSV may state, and its strict reading.

A data file is a CSV with ``#`` comment lines; one data row per measured condition. Every column
must be one this schema understands (``SCHEMA_TEXT`` lists them; ``bioopzo plasticity --schema``
prints it); any other column is refused with the list of understood ones.

Measured change (exactly one mean column, at most one error column in the mean's unit):

    fraction  dw_rel, dw_rel_mean, mean          dw_rel = w_after / w_before - 1   (0.25 = +25 %)
    percent   dw_pct, dw_pct_mean, epsc_change_pct, epsp_change_pct               dw_rel = pct / 100
    ratio     dw_ratio, dw_ratio_mean, rel_strength_mean                          dw_rel = ratio - 1

    error  <stem>_sem | sem     standard error: the fit's sigma
           <stem>_sd  | sd      standard deviation: sigma = sd / sqrt(n_cells) (needs n_cells)
           <stem>_err | err | error   an error bar of unstated kind: used as sigma

where ``<stem>`` is the mean column without ``_mean`` (``dw_rel_sem`` goes with ``dw_rel_mean``;
``epsc_change_sem_pct`` with ``epsc_change_pct``). Without an error column the fit is unweighted.

Protocol fields, per row as a column, or for the whole file in a header line
``# protocol: n_pairings = 60`` or in a sidecar ``<file>.toml`` with a ``[protocol]`` table (one
place per field; a field stated twice is refused):

    protocol           pairing (default) | burst | pre_post_pre | post_pre_post | quadruplet |
                       pairing_modulator
    delta_t_ms         t_post - t_pre (pairing, pairing_modulator); for a burst t_post[timing_spike] - t_pre
    n_post_spikes      burst: postsynaptic spikes in the burst
    burst_interval_ms  burst: interval between successive burst spikes
    timing_spike       burst: which postsynaptic spike delta_t_ms refers to (1 = first)
    dt1_ms, dt2_ms     pre_post_pre: t_post - t_pre1 > 0, t_post - t_pre2 < 0; post_pre_post:
                       t_post1 - t_pre < 0, t_post2 - t_pre > 0; quadruplet: the two pairs' t_post - t_pre
    T_ms               quadruplet: T > 0 the second pre spike T after the first (post-pre-pre-post),
                       T < 0 the second post spike |T| after the first (pre-post-post-pre)
    modulator_delay_ms, modulator_duration_ms, modulator_value
                       pairing_modulator: a pulse of value (+1 dopamine, -1 serotonin) starting
                       delay after the pairing
    frequency_hz       repetition frequency of the motif (default 1 Hz); periods >= 1 s count as
                       independent repetitions, shorter ones are simulated as one train
    n_pairings         repetitions of the motif (default 60)

Other columns: ``n_cells`` (cells per row: sd to sem), ``label`` (free text), and one grouping
column ``experiment``, ``figure`` or ``cell``. Rows of several groups are never pooled silently:
the reader refuses them unless the caller chooses ``separate`` (fit each group) or ``joint`` (one
fit with shared parameters; groups are left out one at a time in the prediction check).
"""

from __future__ import annotations

import csv
import io
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from brian2 import Hz, ms

from bioopzo.config import ConfigError
from bioopzo.plasticity.protocols import Condition, burst, motif, pairing, repeated

__all__ = ["SCHEMA_TEXT", "MEAN_COLUMNS", "GROUP_COLUMNS", "PROTOCOLS", "PROTOCOL_FIELDS", "GROUP_CHOICES",
           "Table", "parse_table", "table_rows", "error_columns_for"]

#: mean column -> (kind, how it becomes dw_rel)
MEAN_COLUMNS = {
    "dw_rel": "fraction", "dw_rel_mean": "fraction", "mean": "fraction",
    "dw_pct": "percent", "dw_pct_mean": "percent", "epsc_change_pct": "percent",
    "epsp_change_pct": "percent",
    "dw_ratio": "ratio", "dw_ratio_mean": "ratio", "rel_strength_mean": "ratio",
}
ERROR_KINDS = ("sem", "sd", "err", "error")
_ERROR_TOKENS = {"sem", "sd", "se", "std", "stdev", "err", "error", "errors", "stderr", "ci", "ci95"}
GROUP_COLUMNS = ("experiment", "figure", "cell")
GROUP_CHOICES = ("separate", "joint")
OTHER_COLUMNS = ("n_cells", "label")

#: protocol field -> (unit or kind, description, default or None)
PROTOCOL_FIELDS = {
    "protocol": ("name", "pairing | burst | pre_post_pre | post_pre_post | quadruplet | pairing_modulator",
                 "pairing"),
    "delta_t_ms": ("ms", "t_post - t_pre; burst: t_post[timing_spike] - t_pre", None),
    "n_post_spikes": ("count", "burst: postsynaptic spikes in the burst", None),
    "burst_interval_ms": ("ms", "burst: interval between burst spikes", None),
    "timing_spike": ("index", "burst: which post spike delta_t_ms refers to (1 = first)", None),
    "dt1_ms": ("ms", "pre_post_pre: t_post - t_pre1 > 0; post_pre_post: t_post1 - t_pre < 0; "
                     "quadruplet: first pair's t_post - t_pre", None),
    "dt2_ms": ("ms", "pre_post_pre: t_post - t_pre2 < 0; post_pre_post: t_post2 - t_pre > 0; "
                     "quadruplet: second pair's t_post - t_pre", None),
    "T_ms": ("ms", "quadruplet: > 0 pre-pre interval, < 0 post-post interval", None),
    "modulator_delay_ms": ("ms", "pairing_modulator: pulse start after the pairing", None),
    "modulator_duration_ms": ("ms", "pairing_modulator: pulse length", None),
    "modulator_value": ("1", "pairing_modulator: signed pulse value (+1 dopamine, -1 serotonin)", None),
    "frequency_hz": ("Hz", "repetition frequency (>= 1 s period: independent repetitions)", 1.0),
    "n_pairings": ("count", "repetitions of the motif", 60),
}
#: protocol -> the fields it needs (frequency_hz and n_pairings apply to all, with defaults)
PROTOCOLS = {
    "pairing": ("delta_t_ms",),
    "burst": ("delta_t_ms", "n_post_spikes", "burst_interval_ms", "timing_spike"),
    "pre_post_pre": ("dt1_ms", "dt2_ms"),
    "post_pre_post": ("dt1_ms", "dt2_ms"),
    "quadruplet": ("dt1_ms", "dt2_ms", "T_ms"),
    "pairing_modulator": ("delta_t_ms", "modulator_delay_ms", "modulator_duration_ms", "modulator_value"),
}
_COMMON_FIELDS = ("frequency_hz", "n_pairings")
#: the curve a row is drawn in, by protocol
_DISPLAY_GROUP = {"pairing": "pairs", "burst": "bursts", "pre_post_pre": "triplets",
                  "post_pre_post": "triplets", "quadruplet": "quadruplets", "pairing_modulator": "modulator"}


def error_columns_for(mean_column: str) -> list[str]:
    """Error columns accepted with ``mean_column`` (in the same unit)."""
    stem = mean_column[:-len("_mean")] if mean_column.endswith("_mean") else mean_column
    names = []
    if mean_column != "mean":
        if stem.endswith("_pct"):
            names += [f"{stem[:-4]}_{kind}_pct" for kind in ERROR_KINDS[:3]]
        names += [f"{stem}_{kind}" for kind in ERROR_KINDS[:3]]
    return names + list(ERROR_KINDS)


def _schema_text() -> str:
    fields = "\n".join(f"  {name:22s} {unit:6s} {text}" + ("" if default is None else f" (default {default})")
                       for name, (unit, text, default) in PROTOCOL_FIELDS.items())
    needs = "\n".join(f"  {p:18s} needs {', '.join(f)}" for p, f in PROTOCOLS.items())
    means = "\n".join(f"  {kind:8s} " + ", ".join(c for c, k in MEAN_COLUMNS.items() if k == kind)
                      for kind in ("fraction", "percent", "ratio"))
    return f"""data file (--data-file): CSV, '#' lines are comments; one row per measured condition.
mean column (exactly one; dw_rel = fraction 0.25 = +25 %, percent / 100, ratio - 1):
{means}
error column (optional, same unit as the mean; <stem> = mean column without _mean):
  <stem>_sem, sem            standard error (the fit's sigma)
  <stem>_sd, sd              standard deviation (sigma = sd / sqrt(n_cells); needs n_cells)
  <stem>_err, err, error     error bar of unstated kind (used as sigma)
  percent stems: epsc_change_sem_pct, epsc_change_sd_pct, epsc_change_err_pct
protocol fields (a column per row, or for the whole file a header line '# protocol: field = value'
  or a sidecar <file>.toml with a [protocol] table; one place per field):
{fields}
{needs}
other columns: n_cells (cells per row), label (text), one grouping column of {', '.join(GROUP_COLUMNS)}
  (several groups need --groups separate (fit each) or --groups joint (shared parameters))
any other column is refused."""


#: the schema as printed by ``bioopzo plasticity --schema`` and shown in its ``--help``
SCHEMA_TEXT = _schema_text()


def table_rows(text: str, source: str) -> list[dict]:
    """Data rows of CSV text (``#`` lines skipped) as dicts of strings."""
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        raise ConfigError(f"{source}: no header line and no data rows (only comments or empty)")
    rows = [dict(r) for r in csv.DictReader(io.StringIO("\n".join(lines)))]
    for r in rows:
        if None in r:
            raise ConfigError(f"{source}: a row has more cells than the header: {r[None]}; "
                              "check the commas in that line")
    return rows


def _header(text: str, source: str) -> tuple[dict, str]:
    """(``# protocol: field = value`` settings, ``# source:`` line) of CSV text."""
    settings, citation = {}, ""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("# source:") and not citation:
            citation = stripped[len("# source:"):].strip()
        if not stripped.startswith("# protocol:"):
            continue
        body = stripped[len("# protocol:"):]
        if "=" not in body:
            raise ConfigError(f"{source}: header line {stripped!r} is not 'field = value'; write e.g. "
                              "'# protocol: n_pairings = 60'")
        key, value = (part.strip() for part in body.split("=", 1))
        if key not in PROTOCOL_FIELDS:
            raise ConfigError(f"{source}: header line names unknown protocol field {key!r}; "
                              f"protocol fields are {', '.join(PROTOCOL_FIELDS)}")
        if key in settings:
            raise ConfigError(f"{source}: protocol field {key!r} is stated twice in the header; keep one")
        settings[key] = value
    return settings, citation


def _sidecar(path: Path | None) -> dict:
    if path is None:
        return {}
    side = path.with_suffix(".toml")
    if not side.is_file():
        return {}
    try:
        doc = tomllib.loads(side.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{side}: not valid TOML ({exc}); fix the sidecar file") from None
    unknown = set(doc) - {"protocol"}
    if unknown:
        raise ConfigError(f"{side}: unknown table(s) {sorted(unknown)}; the sidecar holds one "
                          "[protocol] table")
    table = doc.get("protocol", {})
    bad = [k for k in table if k not in PROTOCOL_FIELDS]
    if bad:
        raise ConfigError(f"{side}: unknown protocol field {bad[0]!r}; protocol fields are "
                          f"{', '.join(PROTOCOL_FIELDS)}")
    return {k: str(v) for k, v in table.items()}


def _understood(mean_column: str | None = None) -> str:
    errors = error_columns_for(mean_column) if mean_column else ["<stem>_sem", "<stem>_sd", "<stem>_err",
                                                                 *ERROR_KINDS]
    return (f"mean columns {', '.join(MEAN_COLUMNS)}; error columns {', '.join(errors)}; protocol fields "
            f"{', '.join(PROTOCOL_FIELDS)}; other columns {', '.join(OTHER_COLUMNS + GROUP_COLUMNS)} "
            "(bioopzo plasticity --schema)")


@dataclass(frozen=True)
class Table:
    """A data file read against the schema: one condition per row, dw_rel and sigma as fractions."""

    conditions: tuple
    mean: np.ndarray
    err: np.ndarray
    protocols: tuple            # protocol name per row
    fields: tuple               # per row: {field: number} as stated or defaulted
    display_groups: tuple       # curve per row (pairs, bursts, triplets, ...)
    fit_groups: tuple           # grouping-column value per row ("" without one)
    group_column: str
    mean_column: str
    error_column: str
    defaults_used: tuple        # protocol fields that took the schema's default
    source: str


def _classify(columns: list[str], source: str) -> tuple[str, str | None, str | None]:
    """(mean column, error column or None, grouping column or None); refuses what it does not know."""
    means = [c for c in columns if c in MEAN_COLUMNS]
    if len(means) != 1:
        raise ConfigError(f"{source}: need exactly one mean column, found {means or 'none'}; "
                          f"mean columns understood: {', '.join(MEAN_COLUMNS)}")
    mean_col = means[0]
    accepted_errors = error_columns_for(mean_col)
    errors = [c for c in columns if c in accepted_errors]
    groups = [c for c in columns if c in GROUP_COLUMNS]
    known = set(MEAN_COLUMNS) | set(PROTOCOL_FIELDS) | set(OTHER_COLUMNS) | set(GROUP_COLUMNS) | set(errors)
    for c in columns:
        if c in known:
            continue
        tokens = set(c.lower().split("_"))
        if tokens & _ERROR_TOKENS:
            raise ConfigError(f"{source}: unrecognised error column {c!r}; with mean column {mean_col!r} "
                              f"the error columns understood are {', '.join(accepted_errors)}")
        raise ConfigError(f"{source}: unknown column {c!r}; understood: {_understood(mean_col)}")
    if len(errors) > 1:
        raise ConfigError(f"{source}: more than one error column {errors}; keep one of "
                          f"{', '.join(accepted_errors)}")
    if len(groups) > 1:
        raise ConfigError(f"{source}: more than one grouping column {groups}; keep one of "
                          f"{', '.join(GROUP_COLUMNS)}")
    return mean_col, (errors[0] if errors else None), (groups[0] if groups else None)


def parse_table(text: str, source: str, path: Path | None = None, groups: str | None = None) -> Table:
    """Read CSV ``text`` (from ``path``, whose ``.toml`` sidecar is read if present) against the
    schema; ``groups``: None, ``"separate"`` or ``"joint"`` (needed when the grouping column holds
    more than one value)."""
    if groups is not None and groups not in GROUP_CHOICES:
        raise ConfigError(f"groups must be one of {', '.join(GROUP_CHOICES)}, not {groups!r}")
    rows = table_rows(text, source)
    if not rows:
        raise ConfigError(f"{source}: header but no data rows; add one row per condition")
    columns = list(rows[0])
    mean_col, err_col, group_col = _classify(columns, source)
    header, citation = _header(text, source)
    sidecar = _sidecar(path)
    for key in header:
        if key in sidecar:
            raise ConfigError(f"{source}: protocol field {key!r} is stated in the header and in the sidecar "
                              f"{path.with_suffix('.toml')}; keep one")
    file_level = {**header, **sidecar}
    for key in file_level:
        if key in columns:
            raise ConfigError(f"{source}: protocol field {key!r} is a column and also stated for the whole "
                              "file; keep one")
    if err_col and (err_col == "sd" or "_sd" in err_col) and "n_cells" not in columns:
        raise ConfigError(f"{source}: error column {err_col!r} is a standard deviation; add a column "
                          "'n_cells' (cells per row) so that sem = sd / sqrt(n_cells), or give a "
                          f"standard error column instead ({', '.join(error_columns_for(mean_col))})")

    def number(value: str, col: str, lineno: int) -> float:
        try:
            x = float(value)
        except ValueError:
            raise ConfigError(f"{source}: data row {lineno}: column {col!r} = {value!r} is not a "
                              "number") from None
        if not math.isfinite(x):
            raise ConfigError(f"{source}: data row {lineno}: column {col!r} = {value!r} is not finite")
        return x

    def cell(row: dict, col: str, lineno: int) -> float:
        text_value = (row.get(col) or "").strip()
        if not text_value:
            raise ConfigError(f"{source}: data row {lineno}: column {col!r} is empty; fill in a number")
        return number(text_value, col, lineno)

    conds, mean, err, protocols, fields, display, fit_groups = [], [], [], [], [], [], []
    defaults_used: set = set()
    kind = MEAN_COLUMNS[mean_col]
    for lineno, row in enumerate(rows, start=1):
        given = {k: (row.get(k) or "").strip() for k in PROTOCOL_FIELDS if k in columns}
        given = {k: v for k, v in given.items() if v}
        stated = {**file_level, **given}
        protocol = stated.get("protocol", "pairing")
        if "protocol" not in stated:
            defaults_used.add("protocol")
        if protocol not in PROTOCOLS:
            raise ConfigError(f"{source}: data row {lineno}: protocol {protocol!r} is not known; protocols "
                              f"understood: {', '.join(PROTOCOLS)}")
        needed = PROTOCOLS[protocol]
        unused = [k for k in given if k not in needed + _COMMON_FIELDS + ("protocol",)]
        if unused:
            raise ConfigError(f"{source}: data row {lineno}: protocol {protocol!r} does not use "
                              f"{unused[0]!r} = {given[unused[0]]}; leave it empty (it needs "
                              f"{', '.join(needed)})")
        values = {}
        for key in needed + _COMMON_FIELDS:
            if key in stated:
                values[key] = number(stated[key], key, lineno)
            elif PROTOCOL_FIELDS[key][2] is not None:
                values[key] = float(PROTOCOL_FIELDS[key][2])
                defaults_used.add(key)
            else:
                raise ConfigError(
                    f"{source}: data row {lineno}: protocol {protocol!r} needs {key!r} "
                    f"({PROTOCOL_FIELDS[key][1]}); give it as a column, a header line "
                    f"'# protocol: {key} = ...' or in a sidecar .toml [protocol] table "
                    f"(protocol {protocol!r} needs {', '.join(needed)})")
        label = (row.get("label") or "").strip() or _auto_label(protocol, values)
        try:
            conds.append(_condition(protocol, values, label))
        except (ValueError, ConfigError) as exc:
            raise ConfigError(f"{source}: data row {lineno}: {exc}") from None
        m = cell(row, mean_col, lineno)
        e = cell(row, err_col, lineno) if err_col else math.nan
        if err_col and e <= 0:
            raise ConfigError(f"{source}: data row {lineno}: error {err_col} = {e} must be > 0")
        if err_col and (err_col == "sd" or "_sd" in err_col):
            n_cells = cell(row, "n_cells", lineno)
            if n_cells < 1:
                raise ConfigError(f"{source}: data row {lineno}: n_cells = {n_cells} must be >= 1")
            e = e / math.sqrt(n_cells)
        if kind == "percent":
            m, e = m / 100, e / 100
        elif kind == "ratio":
            m = m - 1
        conds_label_group = (row.get(group_col) or "").strip() if group_col else ""
        if group_col and not conds_label_group:
            raise ConfigError(f"{source}: data row {lineno}: grouping column {group_col!r} is empty; "
                              "name the group of every row")
        mean.append(m)
        err.append(e)
        protocols.append(protocol)
        fields.append(values)
        display.append(_DISPLAY_GROUP[protocol])
        fit_groups.append(conds_label_group)
    distinct = list(dict.fromkeys(fit_groups))
    if group_col and len(distinct) > 1 and groups is None:
        shown = ", ".join(distinct[:6]) + (", ..." if len(distinct) > 6 else "")
        raise ConfigError(f"{source}: grouping column {group_col!r} holds {len(distinct)} groups ({shown}); "
                          "they are not pooled silently: choose --groups separate (fit each group) or "
                          "--groups joint (one fit, shared parameters)")
    return Table(tuple(conds), np.array(mean, dtype=float), np.array(err, dtype=float), tuple(protocols),
                 tuple(fields), tuple(display), tuple(fit_groups), group_col or "", mean_col, err_col or "",
                 tuple(sorted(defaults_used)), citation)


def _auto_label(protocol: str, v: dict) -> str:
    f = f" @ {v['frequency_hz']:g} Hz"
    if protocol == "pairing":
        return f"{v['delta_t_ms']:+g} ms" + f
    if protocol == "burst":
        return (f"burst {int(v['n_post_spikes'])}x{v['burst_interval_ms']:g} ms, {v['delta_t_ms']:+g} ms to "
                f"spike {int(v['timing_spike'])}" + f)
    if protocol == "quadruplet":
        return f"quadruplet {v['dt1_ms']:g}/{v['dt2_ms']:g}/{v['T_ms']:g}"
    if protocol == "pairing_modulator":
        return (f"{v['delta_t_ms']:+g} ms, modulator {v['modulator_value']:+g} at "
                f"{v['modulator_delay_ms']:g} ms")
    return f"{protocol.replace('_', '-')} {v['dt1_ms']:g}/{v['dt2_ms']:g}"


def _integer(v: dict, key: str, low: int = 1) -> int:
    x = v[key]
    if x != int(x) or x < low:
        raise ValueError(f"{key} = {x:g} must be an integer >= {low}")
    return int(x)


def _condition(protocol: str, v: dict, label: str) -> Condition:
    """The simulated condition of one row: the motif, repeated n_pairings times at frequency_hz."""
    n = _integer(v, "n_pairings")
    if v["frequency_hz"] <= 0:
        raise ValueError(f"frequency_hz = {v['frequency_hz']:g} must be > 0")
    if protocol in ("pairing", "pairing_modulator", "burst") and v["delta_t_ms"] == 0:
        raise ValueError("delta_t_ms = 0 (simultaneous spikes) is not supported; use a nonzero delay")
    if protocol == "pairing":
        base = pairing(v["delta_t_ms"] * ms, label=label)
    elif protocol == "burst":
        base = burst(v["delta_t_ms"] * ms, _integer(v, "n_post_spikes"), v["burst_interval_ms"] * ms,
                     _integer(v, "timing_spike"), label=label)
        if v["burst_interval_ms"] <= 0:
            raise ValueError(f"burst_interval_ms = {v['burst_interval_ms']:g} must be > 0")
    elif protocol == "pre_post_pre":
        if not (v["dt1_ms"] > 0 > v["dt2_ms"]):
            raise ValueError(f"pre_post_pre needs dt1_ms > 0 > dt2_ms (t_post - t_pre1, t_post - t_pre2), "
                             f"got {v['dt1_ms']:g}, {v['dt2_ms']:g}")
        base = motif(np.array([0.0, v["dt1_ms"] - v["dt2_ms"]]) * ms, np.array([v["dt1_ms"]]) * ms,
                     label=label)
    elif protocol == "post_pre_post":
        if not (v["dt1_ms"] < 0 < v["dt2_ms"]):
            raise ValueError(f"post_pre_post needs dt1_ms < 0 < dt2_ms (t_post1 - t_pre, t_post2 - t_pre), "
                             f"got {v['dt1_ms']:g}, {v['dt2_ms']:g}")
        base = motif(np.array([0.0]) * ms, np.array([v["dt1_ms"], v["dt2_ms"]]) * ms, label=label)
    elif protocol == "quadruplet":
        d1, d2, T = v["dt1_ms"], v["dt2_ms"], v["T_ms"]
        if T == 0:
            raise ValueError("T_ms = 0 is not a quadruplet; give T_ms > 0 (pre-pre) or < 0 (post-post)")
        if T > 0:
            pre = np.array([0.0, T])
        else:
            pre = np.array([0.0, d1 + abs(T) - d2])
        base = motif(pre * ms, (pre + np.array([d1, d2])) * ms, label=label)
    else:                                                   # pairing_modulator
        if n != 1 and v["frequency_hz"] > 1:
            raise ValueError("pairing_modulator repeats only as independent pairings; give "
                             "frequency_hz <= 1 or n_pairings = 1")
        d, delay, duration = v["delta_t_ms"], v["modulator_delay_ms"], v["modulator_duration_ms"]
        if duration <= 0:
            raise ValueError(f"modulator_duration_ms = {duration:g} must be > 0")
        onset = 100.0 + max(0.0, -delay)
        start = onset + delay
        base = pairing(d * ms, 1, onset=onset * ms, label=label,
                       modulator=((start * ms, (start + duration) * ms, v["modulator_value"]),))
    return repeated(base, v["frequency_hz"] * Hz, n, label)
