"""Cost reports: the numbers of one analysis, and the files ``bioopzo cost`` writes.

A report folder holds::

    cost_report.md     tables: energy per sample by rule and phase, ranking, schedule effect,
                       all counting modes, event counts, NeuroBench forward metrics,
                       learning-engine forms, time, core mapping, profile figures with
                       sources, notes and the applicable caveats
    cost_table.csv     one row per rule x counting mode x schedule: energy by phase, time
    cost_counts.json   every count (per sample, per layer, per step), energies, times, the
                       profile with sources, config and versions
    cost_energy.png    stacked bars: energy per sample by rule and phase (both schedules)

The folder is written as ``<out>.partial`` and renamed when complete, so a failed analysis
never leaves a half-written report.
"""

from __future__ import annotations

import csv
import io
import json
import math
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from bioopzo.config import ConfigError
from bioopzo.runs import check_writable_folder, swap_in_folder
from bioopzo.cost.caveats import applicable_caveats
from bioopzo.cost.counts import MODES, SCHEDULES, EventCounts
from bioopzo.cost.metrics import (ActivationSparsity, ConnectionSparsity, Footprint, NeuronUpdates,
                                  SynapticOperations)
from bioopzo.cost.model import PHASES, inference_energy, rule_energy, rule_time, update_counts
from bioopzo.rules.registry import COUNTED_RULES, rule_class

__all__ = ["CostReport", "analyze", "write_report", "check_out_dir", "REPORT_FILES"]

REPORT_FILES = ("cost_report.md", "cost_table.csv", "cost_counts.json", "cost_energy.png")
SCHEDULE_TEXT = {"step": "every step", "sample": "once per sample"}


@dataclass
class CostReport:
    counts: EventCounts
    profile: object
    rules: tuple
    mode: str
    schedule: str
    rule_complexity: float = 1.0
    energy: dict = field(default_factory=dict)    # rule -> mode -> schedule -> phases
    time: dict = field(default_factory=dict)      # rule -> mode -> schedule -> parts
    inference: dict = field(default_factory=dict)
    meta: dict = field(default_factory=dict)

    def total(self, rule: str, mode: str | None = None, schedule: str | None = None) -> float:
        return self.energy[rule][mode or self.mode][schedule or self.schedule]["total"]

    def ranking(self, mode: str | None = None, schedule: str | None = None) -> list[str]:
        """Rules from cheapest to most expensive per-sample training energy."""
        return sorted(self.rules, key=lambda r: self.total(r, mode, schedule))

    def schedule_effect(self, mode: str | None = None) -> dict:
        """rule -> (energy every step, energy once per sample, ratio)."""
        out = {}
        for r in self.rules:
            step, sample = self.total(r, mode, "step"), self.total(r, mode, "sample")
            out[r] = (step, sample, step / sample if sample > 0 else math.nan)
        return out

    @property
    def caveats(self) -> list[tuple[int, str]]:
        return applicable_caveats(self.profile, self.rules)


def analyze(counts: EventCounts, profile, rules=COUNTED_RULES, *, mode: str = "dense",
            schedule: str = "step", rule_complexity: float = 1.0, meta: dict | None = None) -> CostReport:
    """Energies and times of every rule in every counting mode and schedule."""
    rules = tuple(rules)
    for r in rules:
        if r not in counts.rules:
            raise ConfigError(f"rule {r!r} was not counted; counted: {', '.join(counts.rules)}")
    if mode not in MODES:
        raise ConfigError(f"unknown update mode {mode!r}; choose one of {', '.join(MODES)}")
    if schedule not in SCHEDULES:
        raise ConfigError(f"unknown schedule {schedule!r}; choose one of {', '.join(SCHEDULES)}")
    rep = CostReport(counts, profile, rules, mode, schedule, rule_complexity, meta=dict(meta or {}))
    modes = [m for m in MODES if all(counts.has(f"upd_w.{m}.step", r) for r in rules)]
    if mode not in modes:
        raise ConfigError(f"update mode {mode!r} is not available from these counts "
                          f"({counts.source}); choose one of {', '.join(modes)}")
    for r in rules:
        rep.energy[r] = {m: {s: rule_energy(counts, r, profile, m, s, rule_complexity) for s in SCHEDULES}
                         for m in modes}
        rep.time[r] = {m: {s: rule_time(counts, r, profile, m, s) for s in SCHEDULES} for m in modes}
    rep.inference = {"energy": inference_energy(counts, profile), "time": rule_time(counts, None, profile)}
    return rep


# ------------------------------------------------------------------------ formatting
def _si(value: float, unit: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if value == 0:
        return f"0 {unit}"
    for factor, prefix in ((1, ""), (1e-3, "m"), (1e-6, "µ"), (1e-9, "n"), (1e-12, "p"), (1e-15, "f")):
        if abs(value) >= factor:
            return f"{value / factor:.3g} {prefix}{unit}"
    return f"{value:.3g} {unit}"


def _n(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _table(header, rows) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return out


COUNT_ROWS = [
    ("sop_effective", "synaptic ops, effective (forward)", None),
    ("sop_dense", "synaptic ops, dense (forward)", None),
    ("spikes", "spikes (input and hidden)", None),
    ("nu_active", "neuron updates, active", None),
    ("nu_inactive", "neuron updates, inactive", None),
    ("msg", "forward messages", None),
    ("hops_ew", "forward hops, east-west", None),
    ("hops_ns", "forward hops, north-south", None),
    ("err", "output-error ops", "rule"),
    ("rng", "noise draws", "rule"),
    ("sg", "surrogate evaluations", "rule"),
    ("tr_pre", "presynaptic trace updates", "rule"),
    ("tr_post", "postsynaptic trace updates", "rule"),
    ("fb_ops", "feedback ops (costed)", "rule"),
    ("fb_ops_dense", "feedback ops, dense", "rule"),
    ("fb_ops_effective", "feedback ops, effective", "rule"),
    ("fb_msg", "feedback messages", "rule"),
    ("upd_m", "feedback-matrix (M) updates", "rule"),
]


def markdown(rep: CostReport) -> str:
    c, p = rep.counts, rep.profile
    meta = rep.meta
    L = c.n_hidden
    lines = [f"# Op-cost report: {meta.get('name', 'network')}", ""]
    lines += [f"- Network: {'-'.join(map(str, c.sizes))} (input, hidden..., readout), "
              f"T = {c.steps_per_sample} steps per sample, {c.n_samples} sample(s)",
              f"- Counts: {c.source}",
              f"- Simulated rule: {meta.get('simulated_rule', 'n/a')}; the learning counts of every "
              "rule assume each recorded step is a training step on the same forward activity",
              f"- Profile: `{p.name}`: {p.description}",
              f"- Update counting mode: **{rep.mode}**; schedule: **{SCHEDULE_TEXT[rep.schedule]}**"
              f"{' (the run' + chr(39) + 's schedule)' if meta.get('schedule_from_run') else ''}; "
              f"rule_complexity = {rep.rule_complexity} (an assumption)",
              f"- Command: `{meta.get('command', '')}`", ""]
    # energy by phase
    lines += [f"## Training energy per sample ({rep.mode}, {SCHEDULE_TEXT[rep.schedule]})", ""]
    rows = []
    ranking = rep.ranking()
    for r in rep.rules:
        e = rep.energy[r][rep.mode][rep.schedule]
        t = rep.time[r][rep.mode][rep.schedule]
        rows.append([r, *[_si(e[ph], "J") for ph in PHASES], f"**{_si(e['total'], 'J')}**",
                     _si(t["total"], "s"), ranking.index(r) + 1])
    inf = rep.inference
    rows.append(["inference only", *[_si(inf["energy"][ph], "J") for ph in PHASES],
                 _si(inf["energy"]["total"], "J"), _si(inf["time"]["total"], "s"), "-"])
    lines += _table(["rule", *PHASES, "total", "time", "rank"], rows) + [""]
    lines += ["## Ranking (cheapest first)", ""]
    base = rep.total(ranking[0])
    for k, r in enumerate(ranking, 1):
        lines.append(f"{k}. {r}: {_si(rep.total(r), 'J')} per sample "
                     f"({rep.total(r) / base:.2f}x the cheapest)")
    lines += ["", f"## Effect of the update schedule ({rep.mode})", ""]
    rows = [[r, _si(s, "J"), _si(a, "J"), f"{ratio:.2f}x"]
            for r, (s, a, ratio) in rep.schedule_effect().items()]
    lines += _table(["rule", "every step", "once per sample", "every step / once per sample"], rows)
    lines += ["", "## Total energy per sample in every counting mode", ""]
    modes = list(next(iter(rep.energy.values())))
    rows = [[r, *[_si(rep.total(r, m, s), "J") for m in modes for s in SCHEDULES]] for r in rep.rules]
    lines += _table(["rule", *[f"{m}, {SCHEDULE_TEXT[s]}" for m in modes for s in SCHEDULES]], rows)
    # counts
    lines += ["", "## Event counts per sample", ""]
    rows = []
    for key, label, scope in COUNT_ROWS:
        if scope is None:
            rows.append([label, *[_n(c.per_sample(key))] * len(rep.rules)])
        else:
            rows.append([label, *[_n(c.per_sample(key, r)) if c.has(key, r) else "0" for r in rep.rules]])
    for m in MODES:
        for s in SCHEDULES:
            rows.append([f"weight updates, {m}, {SCHEDULE_TEXT[s]}",
                         *[_n(update_counts(c, r, m, s)["upd_w"]) for r in rep.rules]])
            rows.append([f"weight transport, {m}, {SCHEDULE_TEXT[s]}",
                         *[_n(update_counts(c, r, m, s)["wt"]) for r in rep.rules]])
    lines += _table(["count", *rep.rules], rows)
    lines += ["", "Per layer and per step: `cost_counts.json`.", ""]
    # NeuroBench
    sop = SynapticOperations()(c)
    sparsity = ActivationSparsity()(c)
    nu = NeuronUpdates()(c)
    foot = Footprint()(c, profile=None)
    lines += ["## NeuroBench-compatible forward metrics (per sample)", ""]
    lines += _table(["metric", "value"], [
        ["Effective_ACs", _n(sop["effective_acs"])], ["Effective_MACs", _n(sop["effective_macs"])],
        ["Dense", _n(sop["dense"])],
        ["activation sparsity (pooled)", f"{sparsity['pooled']:.4f}"],
        *[[f"activation sparsity, {k}", f"{v:.4f}"] for k, v in sparsity["per_layer"].items()],
        ["neuron updates, active / inactive", f"{_n(nu['active'])} / {_n(nu['inactive'])}"],
        ["footprint (float32 parameters)", f"{foot['neurobench_bytes']:,} B"],
        ["connection sparsity", f"{ConnectionSparsity()(c):.4f}"],
        ["parameter count", f"{foot['neurobench_bytes'] // 4:,}"],
    ])
    lines += ["", "## The rules in Loihi learning-engine terms", ""]
    rows = []
    for r in rep.rules:
        for er in rule_class(r).engine_terms():
            rows.append([r, er.target, f"`dw = {er.dw}`", er.product_terms,
                         "; ".join(f"{k}: {v}" for k, v in er.traces.items()), er.note])
    lines += _table(["rule", "synapses", "expression", "product terms", "traces", "note"], rows)
    lines += ["", "`u0`: evaluated every epoch for every synapse (`x0` in the presynaptically "
              "gated mode). Hardware footprint with this profile's precisions: " + ", ".join(
                  f"{r} {Footprint()(c, r, profile=p)['hardware_bytes']:,.0f} B" for r in rep.rules), ""]
    lines += [f"## Time per sample ({rep.mode}, {SCHEDULE_TEXT[rep.schedule]})", ""]
    rows = [[r, *[_si(rep.time[r][rep.mode][rep.schedule][k], "s") for k in
                  ("compute", "barrier", "routing", "backward_phases", "total")]] for r in rep.rules]
    rows.append(["inference only", *[_si(rep.inference["time"][k], "s") for k in
                                     ("compute", "barrier", "routing", "backward_phases", "total")]])
    lines += _table(["rule", "compute (busiest core)", "barrier sync", "routing", "bp backward phases",
                     "total"], rows)
    static = p.architecture.get("static_power_per_chip")
    n_chips = max(1, math.ceil(c.mapping.n_tiles / (int(p.arch("tiles_east_west")) *
                                                    int(p.arch("tiles_north_south")))))
    lines += ["", f"In real-time mode (1 ms per step, as Loihi is often throttled) a sample takes "
              f"{c.steps_per_sample} ms."]
    if static is not None:
        watts = static.value * n_chips
        lines.append(
            f"Static energy (derived, {static.text} per chip, {n_chips} chip(s); NOT in the totals): "
            + ", ".join(f"{r} {_si(watts * rep.time[r][rep.mode][rep.schedule]['total'], 'J')}"
                        for r in rep.rules)
            + f"; real-time mode {_si(watts * c.steps_per_sample * 1e-3, 'J')} per sample.")
    lines += ["", "## Core mapping", "", c.mapping.describe(), ""]
    lines += ["## Profile figures and their sources", "",
              f"Profile `{p.name}` ({p.path}). Default source: {p.source}. Marks: P primary checked, "
              "S secondary transcription, U unverified or an assumption of this analyzer.", ""]
    lines += _table(["kind", "figure", "value", "mark", "source"],
                    [[r["kind"], r["key"], r["value"], r["mark"], r["source"]] for r in p.table()])
    if c.notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in dict.fromkeys(c.notes)]
    lines += ["", "## Caveats (cost-model.md e.6)", ""]
    lines += [f"{k}. {text}" for k, text in rep.caveats]
    del L
    return "\n".join(lines) + "\n"


def csv_text(rep: CostReport) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["rule", "mode", "schedule", *[f"{ph}_J" for ph in PHASES], "total_J",
                     "time_s", "profile"])
    for r in rep.rules:
        for m, by_s in rep.energy[r].items():
            for s, e in by_s.items():
                writer.writerow([r, m, s, *[f"{e[ph]:.6g}" for ph in PHASES], f"{e['total']:.6g}",
                                 f"{rep.time[r][m][s]['total']:.6g}", rep.profile.name])
    inf = rep.inference
    writer.writerow(["inference", "", "", *[f"{inf['energy'][ph]:.6g}" for ph in PHASES],
                     f"{inf['energy']['total']:.6g}", f"{inf['time']['total']:.6g}", rep.profile.name])
    return buf.getvalue()


def json_data(rep: CostReport) -> dict:
    c = rep.counts
    return {
        "meta": rep.meta, "mode": rep.mode, "schedule": rep.schedule,
        "rule_complexity": rep.rule_complexity, "rules": list(rep.rules),
        "ranking": rep.ranking(),
        "schedule_effect": {r: {"every_step_J": a, "once_per_sample_J": b, "ratio": x}
                            for r, (a, b, x) in rep.schedule_effect().items()},
        "energy_J": rep.energy, "time_s": rep.time, "inference": rep.inference,
        "counts": c.to_dict(),
        "learning_engine": {r: [{"target": e.target, "dw": e.dw, "product_terms": e.product_terms,
                                 "traces": e.traces, "note": e.note} for e in rule_class(r).engine_terms()]
                            for r in rep.rules},
        "profile": {"name": rep.profile.name, "description": rep.profile.description,
                    "source": rep.profile.source, "path": rep.profile.path,
                    "figures": rep.profile.table()},
        "caveats": [{"number": k, "text": t} for k, t in rep.caveats],
    }


def energy_figure(rep: CostReport, fig=None):
    """Stacked bars of energy per sample by rule and phase, one panel per schedule, drawn
    into ``fig`` (a new matplotlib Figure, without pyplot, by default)."""
    from matplotlib.figure import Figure

    fig = fig if fig is not None else Figure(figsize=(9, 3.8))
    axes = fig.subplots(1, 2, sharey=True)
    colors = dict(zip(PHASES, ("#4c72b0", "#8172b3", "#55a868", "#c44e52", "#dd8452", "#937860")))
    for ax, sched in zip(axes, SCHEDULES):
        bottom = [0.0] * len(rep.rules)
        for ph in PHASES:
            vals = [rep.energy[r][rep.mode][sched][ph] * 1e6 for r in rep.rules]
            if not any(vals):
                continue
            ax.bar(rep.rules, vals, bottom=bottom, color=colors[ph], label=ph.replace("_", " "))
            bottom = [b + v for b, v in zip(bottom, vals)]
        ax.set_title(f"updates {SCHEDULE_TEXT[sched]}")
        ax.set_xlabel("rule")
    axes[0].set_ylabel("energy per training sample (µJ)")
    axes[1].legend(fontsize=8, loc="upper right")
    fig.suptitle(f"{rep.meta.get('name', '')}: {rep.profile.name}, {rep.mode} update counting",
                 fontsize=10)
    fig.tight_layout()
    return fig


def check_out_dir(out: Path, overwrite: bool) -> None:
    """``out`` can take a report: new, empty, or (with ``overwrite``) an earlier report."""
    out = check_writable_folder(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"output path {str(out)!r} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()):
        if not any((out / f).exists() for f in REPORT_FILES):
            raise ConfigError(f"{str(out)!r} is not empty and holds no cost report; choose an "
                              "empty or new folder with --out")
        if not overwrite:
            raise ConfigError(f"{str(out)!r} already holds a cost report; pass --overwrite to "
                              "replace it, or choose another --out")


def write_report(rep: CostReport, out: str | Path, *, overwrite: bool = False) -> list[Path]:
    """Write the report files into ``out`` (atomically: ``out.partial`` then rename)."""
    out = Path(out)
    check_out_dir(out, overwrite)
    partial = out.with_name(out.name + ".partial")
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir(parents=True)
    try:
        (partial / "cost_report.md").write_text(markdown(rep))
        (partial / "cost_table.csv").write_text(csv_text(rep))
        (partial / "cost_counts.json").write_text(json.dumps(json_data(rep), indent=1) + "\n")
        energy_figure(rep).savefig(partial / "cost_energy.png", dpi=120)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    swap_in_folder(partial, out)
    return [out / f for f in REPORT_FILES]
