"""Figures: each protocol's model curve against the data with error bars, one panel per data set.

Built on ``matplotlib.figure.Figure`` (no pyplot state), so they work in scripts, notebooks and
tests alike; save with ``fig.savefig(path)``.
"""

from __future__ import annotations

import numpy as np
from brian2 import ms
from matplotlib.figure import Figure

from bioopzo.plasticity.protocols import pairing
from bioopzo.plasticity.quantities import in_unit

__all__ = ["data_panel", "rule_figure", "comparison_figure", "third_factor_figure", "window_curve"]

_COLORS = {"pair": "tab:blue", "triplet": "tab:green", "clopath": "tab:purple", "opzo": "tab:red",
           "opzo_eligibility": "tab:orange", "triplet (PG 2006)": "tab:olive"}


def window_curve(rule, repeats: int = 60, span=100.0 * ms):
    """Dense pair window of a model (NumPy form): delta_t grid (ms, 1 ms apart up to ``span``) and
    dw_rel of ``repeats`` pairings."""
    span_in_ms = in_unit(span, ms, "span")
    grid = np.concatenate([np.arange(-span_in_ms, 0, 1.0), np.arange(1.0, span_in_ms + 0.5, 1.0)])
    return grid, rule.weight_changes([pairing(d * ms, repeats) for d in grid], "numpy")


def data_panel(ax, data, models: dict, dense: dict | None = None):
    """Data (error bars where given) and model values per condition; ``models``: label -> values."""
    groups = list(dict.fromkeys(data.groups))
    markers = "osD^v"
    for g_index, group in enumerate(groups):
        idx = [i for i, g in enumerate(data.groups) if g == group]
        x = data.x[idx]
        err = data.err[idx] if data.has_errors else None
        ax.errorbar(x, data.mean[idx], yerr=err, fmt=markers[g_index % 5], color="k", ms=4,
                    capsize=2, lw=1, label=f"data {group}" if len(groups) > 1 else "data")
        for label, values in models.items():
            values = np.asarray(values)[idx]
            color = _COLORS.get(label.split(" ")[0] if label not in _COLORS else label)
            if data.name == "bi_poo_1998" and dense and label in dense:
                continue
            order = np.argsort(x)
            ax.plot(x[order], values[order], markers[g_index % 5] + ("-" if len(groups) > 1 else ""),
                    color=color, mfc="none", ms=6, lw=1, label=f"{label} {group}" if len(groups) > 1
                    else label)
    for label, (x, y) in (dense or {}).items():
        ax.plot(x, y, "-", color=_COLORS.get(label), lw=1.5, label=label)
    ax.axhline(0, color="0.7", lw=0.5)
    if data.name == "sjostrom_2001":
        ax.set_xscale("log")
        ax.set_xlim(0.05, 80)
    if data.name == "wang_2005":
        ax.set_xticks(data.x)
        ax.set_xticklabels([c.label for c in data.conditions], rotation=70, fontsize=6)
    ax.set_xlabel(data.xlabel)
    ax.set_ylabel("dw_rel (fraction)")
    ax.set_title(data.name, fontsize=9)
    ax.legend(fontsize=6)
    return ax


def rule_figure(rule_name: str, evaluations: list) -> Figure:
    """One panel per data set for one rule (``evaluations``: its Evaluation objects)."""
    fig = Figure(figsize=(4.2 * len(evaluations), 3.6), layout="constrained")
    axes = fig.subplots(1, len(evaluations), squeeze=False)[0]
    for ax, ev in zip(axes, evaluations):
        dense = None
        if ev.data.name == "bi_poo_1998" or ev.data.groups[0] == "pairs":
            dense = {rule_name: window_curve(ev.fit.rule)}
        data_panel(ax, ev.data, {rule_name: ev.prediction}, dense)
        s = ev.scores
        text = f"RMSE {s['rmse']:.3f}  R2 {s['r2']:.2f}"
        if s["within"] >= 0:
            text += f"\nNMSE {s['nmse']:.2f}  within {s['within']}/{s['n']}"
        ax.text(0.02, 0.98, text, transform=ax.transAxes, va="top", fontsize=7)
    fig.suptitle(f"{rule_name}: fitted per data set (Brian2 protocol simulation)", fontsize=10)
    return fig


def comparison_figure(data, models: dict) -> Figure:
    """Several rules on one data set."""
    fig = Figure(figsize=(5.5, 4.0), layout="constrained")
    data_panel(fig.subplots(), data, models)
    return fig


def third_factor_figure(rows: list[dict], title: str = "third-factor timing checks (0.3 s modulator "
                        "pulse at delay d after one pairing)") -> Figure:
    """Weight change over the largest |dw| of each rule, per check, with the expected sign."""
    rules = list(dict.fromkeys(r["rule"] for r in rows))
    checks = list(dict.fromkeys(r["check"] for r in rows))
    fig = Figure(figsize=(9, 4.2), layout="constrained")
    ax = fig.subplots()
    width = 0.8 / len(rules)
    for k, rule in enumerate(rules):
        values = [next(r["dw_over_largest"] for r in rows if r["rule"] == rule and r["check"] == c)
                  for c in checks]
        ax.bar(np.arange(len(checks)) + k * width, values, width, label=rule,
               color=_COLORS.get(rule))
    expected = {"LTP": 1.0, "LTD": -1.0, "none": 0.0}
    exp_values = [expected[next(r["expected"] for r in rows if r["check"] == c)] for c in checks]
    ax.plot(np.arange(len(checks)) + 0.4 - width / 2, exp_values, "k_", ms=14, mew=2, label="expected sign")
    ax.set_xticks(np.arange(len(checks)) + 0.4 - width / 2)
    ax.set_xticklabels(checks, rotation=35, ha="right", fontsize=7)
    ax.set_ylabel("dw / max |dw| of the rule")
    ax.axhline(0, color="0.6", lw=0.5)
    ax.legend(fontsize=7)
    ax.set_title(title, fontsize=9)
    return fig
