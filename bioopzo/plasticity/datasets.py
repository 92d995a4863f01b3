"""Biological plasticity data sets (packaged CSVs with citations) and their protocols.

Each data set is a list of conditions (see :mod:`bioopzo.plasticity.protocols`) with the measured
relative weight change dw_rel (fraction: 0.25 = +25 %) and its error bar (NaN where none is given).
The CSVs and their README (sources, digitisation notes) live in ``bioopzo/plasticity/data``.

Protocols (the README of the data lists what the sources say and what is assumed):

- ``bi_poo_1998``: one pairing at each delta_t = t_post - t_pre, repeated 60 times at 1 Hz
  (independent repetitions), dw_rel = epsc_change_pct / 100; no error bars.
- ``sjostrom_2001``: 60 pairings at +10 or -10 ms at 0.1-50 Hz (the protocol of the PG 2006
  reproductions); trains at <= 1 Hz are simulated as 60 independent pairings, faster ones as one
  train of 60 pairings.
- ``sjostrom_2001_crosscheck``: the same figure digitised independently (error bars labelled std
  by the digitiser); for cross-checks, not in the ``--all`` tables.
- ``wang_2005``: 2 pairs, 8 triplets, 3 quadruplets, each motif repeated 60 times (independent).
- ``ngezahayo_2000``: qualitative voltage-clamp check (Ngezahayo et al. 2000, low-confidence
  digitisation): 20 presynaptic spikes at 10 Hz with the postsynaptic membrane clamped at -40, -30,
  -20, -10 or 0 mV (the stimulation protocol was not verified: an assumption); expected no change,
  LTD, no change, LTP, LTP (a change counts when the ratio differs from 1 by more than its error bar).
- ``three_factor``: qualitative third-factor timing checks (Yagishita 2014, He 2015, Brzosko 2015):
  one pairing (+10 ms or -10 ms) followed by a 0.3 s modulator pulse at delay d after the pairing onset.

CSV columns name their units (``delta_t_ms``, ``frequency_hz``); they become Brian2 quantities as
the conditions are built. User data (``load_data_file``) use the same schema: a timing column
``delta_t_ms``, optionally ``frequency_hz`` (default 1 Hz) and ``n_pairings`` (default 60), one mean
column (``dw_rel_mean``, ``dw_rel``, a ``*_pct`` column in percent or ``dw_ratio`` after/before) and
optionally one error column (``dw_rel_sem`` or ``dw_rel_err``, in the unit of the mean column).
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import numpy as np
from brian2 import Hz, mV, ms, second

from bioopzo.config import ConfigError
from bioopzo.plasticity.protocols import Condition, motif, pairing, pairing_train
from bioopzo.plasticity.quantities import in_unit

__all__ = ["PlasticityData", "DATASETS", "load_dataset", "load_data_file", "read_table", "data_folder",
           "QUANTITATIVE", "THIRD_FACTOR", "QUALITATIVE", "voltage_clamp_conditions",
           "third_factor_conditions", "wang_motif", "YAGISHITA_DELAYS", "MODULATOR_PULSE"]

N_REPETITIONS = 60
#: A pairing interval this long counts as independent repetitions.
INDEPENDENT_INTERVAL = 1.0 * second


def data_folder():
    return files("bioopzo.plasticity").joinpath("data")


def _rows(text: str, source: str) -> list[dict]:
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        raise ConfigError(f"{source}: no header line and no data rows (only comments or empty)")
    reader = csv.DictReader(io.StringIO("\n".join(lines)))
    rows = [dict(r) for r in reader]
    for r in rows:
        if None in r:
            raise ConfigError(f"{source}: a row has more cells than the header: {r[None]}; "
                              "check the commas in that line")
    return rows


def read_table(name: str) -> list[dict]:
    """Rows of a packaged CSV (``#`` comment lines skipped) as dicts of strings."""
    return _rows(data_folder().joinpath(name).read_text(encoding="utf-8"), name)


def source_line(name: str) -> str:
    for line in data_folder().joinpath(name).read_text(encoding="utf-8").splitlines():
        if line.startswith("# source:"):
            return line[len("# source:"):].strip()
    return ""


@dataclass(frozen=True)
class PlasticityData:
    """A data set: conditions, measured dw_rel and error bar per condition."""

    name: str
    conditions: tuple
    mean: np.ndarray
    err: np.ndarray
    x: np.ndarray            # the plotted independent variable
    xlabel: str
    groups: tuple            # group label per point (curves in the figure)
    source: str
    protocol: str            # one-line description for reports
    qualitative: bool = False

    def __len__(self):
        return len(self.conditions)

    @property
    def has_errors(self) -> bool:
        return bool(np.all(np.isfinite(self.err)) and np.all(self.err > 0))

    def subset(self, index) -> "PlasticityData":
        index = list(index)
        return PlasticityData(self.name, tuple(self.conditions[i] for i in index), self.mean[index],
                              self.err[index], self.x[index], self.xlabel,
                              tuple(self.groups[i] for i in index), self.source, self.protocol,
                              self.qualitative)


def _frequency_condition(delta_t, frequency, n_pairings: int, label: str) -> Condition:
    if 1 / frequency >= INDEPENDENT_INTERVAL:
        return pairing(delta_t, repeats=n_pairings, label=label)
    return pairing_train(delta_t, frequency, n_pairings, label=label)


def _bi_poo() -> PlasticityData:
    name = "bi_poo_1998_stdp_window_scatter.csv"
    rows = read_table(name)
    dt = np.array([float(r["delta_t_ms"]) for r in rows])
    y = np.array([float(r["epsc_change_pct"]) for r in rows]) / 100
    conds = tuple(pairing(d * ms, N_REPETITIONS, label=f"{d:+.1f} ms") for d in dt)
    return PlasticityData("bi_poo_1998", conds, y, np.full(len(y), np.nan), dt,
                          "t_post - t_pre (ms)", ("pairs",) * len(y), source_line(name),
                          "60 single pairings at 1 Hz (independent)")


def _sjostrom(name: str = "sjostrom_2001_frequency_dependence.csv", err_column: str = "dw_rel_sem",
              data_name: str = "sjostrom_2001") -> PlasticityData:
    rows = read_table(name)
    conds, mean, err, x, groups = [], [], [], [], []
    for r in rows:
        f, d = float(r["frequency_hz"]), float(r["delta_t_ms"])
        conds.append(_frequency_condition(d * ms, f * Hz, N_REPETITIONS, f"{d:+g} ms @ {f:g} Hz"))
        mean.append(float(r["dw_rel_mean"]))
        err.append(float(r[err_column]))
        x.append(f)
        groups.append(f"{d:+g} ms")
    return PlasticityData(data_name, tuple(conds), np.array(mean), np.array(err), np.array(x),
                          "pairing frequency (Hz)", tuple(groups), source_line(name),
                          "60 pairings at +-10 ms; <= 1 Hz as independent pairings")


def wang_motif(pattern: str, dt1, dt2, T, repeats: int, label: str = "") -> Condition:
    """Spike times of a Wang et al. 2005 motif (conventions in the CSV header); dt1, dt2, T are
    times (NaN where the pattern does not use them)."""
    dt1, dt2, T = (in_unit(v, ms, name) for v, name in ((dt1, "dt1"), (dt2, "dt2"), (T, "T")))
    if pattern == "pre-post":
        return pairing(dt1 * ms, repeats, label=label)
    if pattern == "post-pre":
        return pairing(dt1 * ms, repeats, label=label)
    if pattern == "pre-post-pre":           # dt1 = t_post - t_pre1 > 0, dt2 = t_post - t_pre2 < 0
        return motif(np.array([0.0, dt1 - dt2]) * ms, np.array([dt1]) * ms, repeats, label=label)
    if pattern == "post-pre-post":          # dt1 = t_post1 - t_pre < 0, dt2 = t_post2 - t_pre > 0
        return motif(np.array([0.0]) * ms, np.array([dt1, dt2]) * ms, repeats, label=label)
    if pattern == "post-pre-pre-post":      # T > 0: interval between the two presynaptic spikes
        return motif(np.array([5.0, 5.0 + T]) * ms, np.array([0.0, 10.0 + T]) * ms, repeats, label=label)
    if pattern == "pre-post-post-pre":      # T < 0: interval |T| between the two postsynaptic spikes
        return motif(np.array([0.0, 10.0 + abs(T)]) * ms, np.array([5.0, 5.0 + abs(T)]) * ms, repeats,
                     label=label)
    raise ConfigError(f"unknown Wang et al. 2005 pattern {pattern!r}")


def _wang() -> PlasticityData:
    name = "wang_2005_hippocampal_triplets_quadruplets.csv"
    rows = read_table(name)
    conds, mean, err, groups = [], [], [], []
    for r in rows:
        f = {k: (float(r[k]) if r[k] else math.nan) for k in ("dt1_ms", "dt2_ms", "T_ms")}
        label = f"{r['pattern']} {r['dt1_ms']}/{r['dt2_ms'] or '-'}/{r['T_ms'] or '-'}"
        conds.append(wang_motif(r["pattern"], f["dt1_ms"] * ms, f["dt2_ms"] * ms, f["T_ms"] * ms,
                                int(r["n_repetitions"]), label))
        mean.append(float(r["dw_rel_mean"]))
        err.append(float(r["dw_rel_err"]))
        groups.append(r["protocol"])
    return PlasticityData("wang_2005", tuple(conds), np.array(mean), np.array(err),
                          np.arange(len(mean), dtype=float), "protocol (CSV row)", tuple(groups),
                          source_line(name), "each motif 60 times (independent)")


#: Delays of the modulator onset after the pairing onset in the Yagishita et al. 2014 check.
YAGISHITA_DELAYS = (-1.0 * second, 0.3 * second, 0.6 * second, 1.0 * second, 2.0 * second, 5.0 * second)
#: Duration of the modulator pulse of the third-factor checks.
MODULATOR_PULSE = 0.3 * second


def third_factor_conditions(delays=YAGISHITA_DELAYS) -> tuple[list[Condition], list[dict]]:
    """Third-factor timing conditions and, per condition, the qualitative expectation.

    Pairing onset 0.1 s after the earliest modulator pulse (1.1 s for d = -1 s); modulator pulse 0.3 s
    of value +1 (dopamine, noradrenaline) or -1 (serotonin) starting d after the pairing onset.
    """
    delays_s = [in_unit(d, second, "delay") for d in delays]
    pulse_s = in_unit(MODULATOR_PULSE, second, "MODULATOR_PULSE")
    onset = 100.0 + 1000.0 * max(0.0, -min(delays_s))
    conds, expect = [], []

    def cond(delta_t, delay_s, value, label):
        start, stop = onset + 1000 * delay_s, onset + 1000 * (delay_s + pulse_s)
        mod = () if value == 0 else ((start * ms, stop * ms, value),)
        return pairing(delta_t * ms, 1, onset=onset * ms, label=label, modulator=mod)

    for d in delays_s:
        inside = 0.3 <= d <= 2.0
        conds.append(cond(10.0, d, 1.0, f"Yagishita: DA at {d:+g} s"))
        expect.append({"study": "yagishita2014", "expect": "LTP" if inside else "none",
                       "why": "enlargement only for 0.3 <= d <= 2 s"})
    conds.append(cond(10.0, 1.0, 1.0, "He: pre-post, NE at 1 s"))
    expect.append({"study": "he2015", "expect": "LTP", "why": "pre-post trace converted to LTP by NE"})
    conds.append(cond(-10.0, 1.0, -1.0, "He: post-pre, 5-HT at 1 s"))
    expect.append({"study": "he2015", "expect": "LTD", "why": "post-pre trace converted to LTD by 5-HT"})
    conds.append(cond(10.0, 0.0, 0.0, "He: pre-post, no modulator"))
    expect.append({"study": "he2015", "expect": "none", "why": "pairing alone leaves no lasting change"})
    conds.append(cond(-10.0, 0.0, 0.0, "Brzosko: post-pre, no dopamine"))
    expect.append({"study": "brzosko2015", "expect": "LTD", "why": "timing-dependent LTD"})
    conds.append(cond(-10.0, 1.0, 1.0, "Brzosko: post-pre, DA at 1 s"))
    expect.append({"study": "brzosko2015", "expect": "LTP", "why": "dopamine converts t-LTD into LTP"})
    return conds, expect


def _three_factor(delays=YAGISHITA_DELAYS) -> PlasticityData:
    conds, expect = third_factor_conditions(delays)
    sign = {"LTP": 1.0, "LTD": -1.0, "none": 0.0}
    mean = np.array([sign[e["expect"]] for e in expect])
    return PlasticityData("three_factor", tuple(conds), mean, np.full(len(mean), np.nan),
                          np.arange(len(mean), dtype=float), "check", tuple(e["study"] for e in expect),
                          source_line("three_factor_eligibility_timing.csv"),
                          "1 pairing, 0.3 s modulator pulse at delay d (signs only)", qualitative=True)


def _sjostrom_crosscheck() -> PlasticityData:
    return _sjostrom("sjostrom_2001_frequency_dependence_digitised_crosscheck.csv", "dw_rel_err",
                     "sjostrom_2001_crosscheck")


def voltage_clamp_conditions() -> tuple[list[Condition], list[dict]]:
    """Ngezahayo et al. 2000 clamp conditions and, per condition, the sign the data show."""
    conds, expect = [], []
    for r in read_table("ngezahayo_2000_voltage_clamp_pairing_digitised.csv"):
        v = float(r["clamp_mV_nominal"])
        ratio, err = float(r["rel_strength_mean"]), float(r["rel_strength_err"])
        got = "none" if abs(ratio - 1) <= err else ("LTP" if ratio > 1 else "LTD")
        pre = 10.0 + 100.0 * np.arange(20)
        conds.append(Condition(pre * ms, (), 1, None, f"clamp {v:+g} mV", clamp=v * mV))
        expect.append({"study": "ngezahayo2000", "expect": got,
                       "why": f"after/before ratio {ratio:.3f} +- {err:.3f}"})
    return conds, expect


def _ngezahayo() -> PlasticityData:
    conds, expect = voltage_clamp_conditions()
    sign = {"LTP": 1.0, "LTD": -1.0, "none": 0.0}
    return PlasticityData("ngezahayo_2000", tuple(conds), np.array([sign[e["expect"]] for e in expect]),
                          np.full(len(conds), np.nan),
                          np.array([in_unit(c.clamp, mV, "clamp") for c in conds]),
                          "clamp potential (mV)", ("clamp",) * len(conds),
                          source_line("ngezahayo_2000_voltage_clamp_pairing_digitised.csv"),
                          "20 presynaptic spikes at 10 Hz under voltage clamp (signs only)", qualitative=True)


DATASETS = {
    "bi_poo_1998": _bi_poo,
    "sjostrom_2001": _sjostrom,
    "sjostrom_2001_crosscheck": _sjostrom_crosscheck,
    "wang_2005": _wang,
    "three_factor": _three_factor,
    "ngezahayo_2000": _ngezahayo,
}
QUANTITATIVE = ("bi_poo_1998", "sjostrom_2001", "wang_2005")
THIRD_FACTOR = ("three_factor",)
QUALITATIVE = ("three_factor", "ngezahayo_2000")


def load_dataset(name: str) -> PlasticityData:
    if name not in DATASETS:
        raise ConfigError(f"unknown data set {name!r}; choose one of {', '.join(DATASETS)} "
                          "or pass your own CSV with --data-file")
    return DATASETS[name]()


_MEAN_COLUMNS = ("dw_rel_mean", "dw_rel", "dw_ratio")
_ERR_COLUMNS = ("dw_rel_sem", "dw_rel_err", "dw_ratio_err")


def load_data_file(path: str | Path) -> PlasticityData:
    """Load and validate a user CSV in the packaged schema (see the module docstring)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"data file {str(path)!r} does not exist; give the path of a CSV file")
    try:
        text = path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError) as exc:
        raise ConfigError(f"data file {str(path)!r} cannot be read as UTF-8 text ({exc}); "
                          "save it as a plain CSV") from exc
    rows = _rows(text, str(path))
    if not rows:
        raise ConfigError(f"{path}: header but no data rows; add one row per condition")
    columns = list(rows[0])
    if "delta_t_ms" not in columns:
        raise ConfigError(f"{path}: no 'delta_t_ms' column (t_post - t_pre in ms); columns are {columns}")
    pct = [c for c in columns if c.endswith("_pct") and not c.endswith("_err_pct")
           and not c.endswith("_sem_pct")]
    means = [c for c in columns if c in _MEAN_COLUMNS] + pct
    if len(means) != 1:
        raise ConfigError(f"{path}: need exactly one mean column (one of {', '.join(_MEAN_COLUMNS)} or a "
                          f"'*_pct' column), found {means or 'none'}")
    mean_col = means[0]
    errs = [c for c in columns if c in _ERR_COLUMNS or c.endswith("_err_pct") or c.endswith("_sem_pct")]
    if len(errs) > 1:
        raise ConfigError(f"{path}: more than one error column {errs}; keep one")
    err_col = errs[0] if errs else None

    def number(row, col, lineno, default=None):
        text = (row.get(col) or "").strip()
        if not text:
            if default is not None:
                return default
            raise ConfigError(f"{path}: data row {lineno}: column {col!r} is empty; fill in a number")
        try:
            value = float(text)
        except ValueError:
            raise ConfigError(f"{path}: data row {lineno}: column {col!r} = {text!r} is not a "
                              "number") from None
        if not math.isfinite(value):
            raise ConfigError(f"{path}: data row {lineno}: column {col!r} = {text!r} is not finite")
        return value

    conds, mean, err, x, groups = [], [], [], [], []
    has_freq = "frequency_hz" in columns
    for lineno, row in enumerate(rows, start=1):
        d = number(row, "delta_t_ms", lineno)
        if d == 0:
            raise ConfigError(f"{path}: data row {lineno}: delta_t_ms = 0 (simultaneous spikes) is not "
                              "supported; use a nonzero delay")
        f = number(row, "frequency_hz", lineno, 1.0) if has_freq else 1.0
        if f <= 0:
            raise ConfigError(f"{path}: data row {lineno}: frequency_hz = {f} must be > 0")
        if 1000.0 / f <= abs(d):
            raise ConfigError(f"{path}: data row {lineno}: at {f} Hz the pairing period is not longer "
                              f"than |delta_t_ms| = {abs(d)}; lower the frequency or the delay")
        n = N_REPETITIONS
        if "n_pairings" in columns:
            n = number(row, "n_pairings", lineno, float(N_REPETITIONS))
        if n < 1 or n != int(n):
            raise ConfigError(f"{path}: data row {lineno}: n_pairings = {n} must be a positive integer")
        m = number(row, mean_col, lineno)
        e = number(row, err_col, lineno) if err_col else math.nan
        if err_col and e <= 0:
            raise ConfigError(f"{path}: data row {lineno}: error {err_col} = {e} must be > 0")
        if mean_col.endswith("_pct"):
            m, e = m / 100, e / 100
        elif mean_col == "dw_ratio":
            m = m - 1
        conds.append(_frequency_condition(d * ms, f * Hz, int(n), f"{d:+g} ms @ {f:g} Hz"))
        mean.append(m)
        err.append(e)
        x.append(f if has_freq else d)
        groups.append(f"{d:+g} ms" if has_freq else "pairs")
    return PlasticityData(path.stem, tuple(conds), np.array(mean), np.array(err), np.array(x),
                          "pairing frequency (Hz)" if has_freq else "t_post - t_pre (ms)", tuple(groups),
                          f"user file {path.name}", "n_pairings pairings per condition (default 60)")
