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

Every quantitative data set (packaged or a user's ``--data-file``) is read by the same strict
schema, :mod:`bioopzo.plasticity.schema`: the file states its protocol (per row, in ``# protocol:``
header lines or a sidecar TOML) and the simulation is built from exactly that. A grouping column
(experiment, figure, cell) needs a choice: ``groups="separate"`` (``split_groups`` gives one data
set per group) or ``"joint"`` (one fit; the groups are what the leave-one-out check leaves out).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import numpy as np
from brian2 import mV, ms, second

from bioopzo.config import ConfigError
from bioopzo.plasticity.protocols import Condition, motif, pairing
from bioopzo.plasticity.quantities import in_unit
from bioopzo.plasticity.schema import parse_table, table_rows

__all__ = ["PlasticityData", "DATASETS", "load_dataset", "load_data_file", "read_table", "data_folder",
           "QUANTITATIVE", "THIRD_FACTOR", "QUALITATIVE", "split_groups", "PACKAGED_FILES",
           "voltage_clamp_conditions",
           "third_factor_conditions", "wang_motif", "YAGISHITA_DELAYS", "MODULATOR_PULSE"]

def data_folder():
    return files("bioopzo.plasticity").joinpath("data")


def read_table(name: str) -> list[dict]:
    """Rows of a packaged CSV (``#`` comment lines skipped) as dicts of strings."""
    return table_rows(data_folder().joinpath(name).read_text(encoding="utf-8"), name)


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
    fit_groups: tuple = ()   # grouping-column value per point (empty: no grouping column)
    group_column: str = ""   # experiment, figure or cell

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
                              self.qualitative,
                              tuple(self.fit_groups[i] for i in index) if self.fit_groups else (),
                              self.group_column)


def _from_table(table, name: str, source: str) -> PlasticityData:
    """A data set from a schema table: x and curves from what the rows state."""
    fields = table.fields
    if set(table.protocols) == {"pairing"}:
        freq = [f["frequency_hz"] for f in fields]
        if len(set(freq)) > 1:
            x = np.array(freq)
            xlabel = "pairing frequency (Hz)"
            groups = tuple(f"{f['delta_t_ms']:+g} ms" for f in fields)
        else:
            x, xlabel = np.array([f["delta_t_ms"] for f in fields]), "t_post - t_pre (ms)"
            groups = table.display_groups
    elif set(table.protocols) <= {"pairing", "burst"}:
        x = np.array([f["delta_t_ms"] for f in fields])
        xlabel = "t_post (timing spike) - t_pre (ms)"
        groups = tuple(g if p == "pairing" else f"burst of {int(f['n_post_spikes'])}"
                       for g, p, f in zip(table.display_groups, table.protocols, fields))
    else:
        x, xlabel, groups = np.arange(len(fields), dtype=float), "protocol (CSV row)", table.display_groups
    counts = {p: table.protocols.count(p) for p in dict.fromkeys(table.protocols)}
    n = sorted({int(f["n_pairings"]) for f in fields})
    freq = sorted({f["frequency_hz"] for f in fields})
    protocol = (", ".join(f"{p} x{k}" for p, k in counts.items()) + f"; n_pairings {'/'.join(map(str, n))}"
                f"; {'/'.join(f'{f:g}' for f in freq)} Hz (periods >= 1 s independent)")
    if table.defaults_used:
        protocol += f"; schema defaults for {', '.join(table.defaults_used)}"
    return PlasticityData(name, table.conditions, table.mean, table.err, x, xlabel, tuple(groups),
                          source, protocol, False,
                          table.fit_groups if table.group_column else (), table.group_column)


#: packaged data set -> its CSV (read by the schema like any user file)
PACKAGED_FILES = {
    "bi_poo_1998": "bi_poo_1998_stdp_window_scatter.csv",
    "sjostrom_2001": "sjostrom_2001_frequency_dependence.csv",
    "sjostrom_2001_crosscheck": "sjostrom_2001_frequency_dependence_digitised_crosscheck.csv",
    "wang_2005": "wang_2005_hippocampal_triplets_quadruplets.csv",
}


def _packaged(data_name: str) -> PlasticityData:
    name = PACKAGED_FILES[data_name]
    table = parse_table(data_folder().joinpath(name).read_text(encoding="utf-8"), name)
    return _from_table(table, data_name, source_line(name))


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
                       "why": f"after/before ratio {ratio:.3f} ± {err:.3f}"})
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
    "bi_poo_1998": lambda: _packaged("bi_poo_1998"),
    "sjostrom_2001": lambda: _packaged("sjostrom_2001"),
    "sjostrom_2001_crosscheck": lambda: _packaged("sjostrom_2001_crosscheck"),
    "wang_2005": lambda: _packaged("wang_2005"),
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


def load_data_file(path: str | Path, groups: str | None = None) -> PlasticityData:
    """Load and validate a user CSV against the schema (:mod:`bioopzo.plasticity.schema`);
    ``groups``: ``"separate"`` or ``"joint"`` where a grouping column holds several groups."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"data file {str(path)!r} does not exist; give the path of a CSV file")
    try:
        text = path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError) as exc:
        raise ConfigError(f"data file {str(path)!r} cannot be read as UTF-8 text ({exc}); "
                          "save it as a plain CSV") from exc
    table = parse_table(text, str(path), path, groups)
    return _from_table(table, path.stem, table.source or f"user file {path.name}")


def split_groups(data: PlasticityData) -> list[PlasticityData]:
    """One data set per group of the grouping column (named ``<data>[<group>]``); the data set
    itself when it has no grouping column."""
    if not data.fit_groups:
        return [data]
    out = []
    for group in dict.fromkeys(data.fit_groups):
        index = [i for i, g in enumerate(data.fit_groups) if g == group]
        part = data.subset(index)
        out.append(PlasticityData(f"{data.name}[{group}]", part.conditions, part.mean, part.err, part.x,
                                  part.xlabel, part.groups, part.source, part.protocol, False, (), ""))
    return out
