"""``bioopzo plasticity``: run rules through the plasticity protocols, fit, score and plot.

    bioopzo plasticity --rule opzo --data sjostrom_2001 [--out DIR]
    bioopzo plasticity --rule triplet --data-file my.csv [--groups separate|joint]
    bioopzo plasticity --rule every --data wang_2005
    bioopzo plasticity --schema
    bioopzo plasticity --all [--out DIR]

Writes into --out (default ``runs/plasticity_<rule>_<data>`` or ``runs/plasticity_all``), every
file atomically (temporary file, then rename): ``scores.csv``, ``predictions.csv``,
``parameters.json``, ``parameter_report.csv`` (value, standard error, relative SE in percent,
bounds, flags on_bound / unconstrained; column ``model``: "full" or the selected submodel's name,
``selected``: the rows of the selected model, removed terms as rows with flags fixed_at_0 and the
reason), ``model_comparison.csv`` (AIC, AICc, BIC, their differences to the best rule, leave-one-out
RMSE as a fraction and NMSE; a selected submodel as a row of its own next to its rule; skipped rules
with the reason), ``figure_<...>.png``, ``report.md``, ``versions.json``; with ``--all`` also
``lodo.csv`` (leave-one-dataset-out), ``third_factor.csv``, ``voltage_clamp.csv`` and one figure per
rule. The selected models' parameter table, the removed terms with their reasons and the
model-comparison table are printed too. ``--no-reduce`` reports the full models only (no nested
submodels, :func:`bioopzo.plasticity.comparison.select_nested`).
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import sys
from pathlib import Path

import numpy as np

from bioopzo.config import ConfigError
from bioopzo.options import (add_output_options, add_verbosity_options, check_output_folder,
                             default_out, replace_output_folder)
from bioopzo.runs import write_atomic

__all__ = ["register", "run_plasticity", "csv_text", "markdown_table"]

RUN_FILES = ("scores.csv", "predictions.csv", "parameters.json", "report.md")


def _save_figure(fig, path: Path) -> None:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    write_atomic(path, buffer.getvalue())


def csv_text(rows: list[dict]) -> str:
    """Rows as CSV text (header from the first row's keys, floats to 6 significant digits)."""
    if not rows:
        return ""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
    return out.getvalue()


def _prepare_out(out: Path, overwrite: bool) -> Path:
    """Check ``out`` (new, empty, or with ``overwrite`` earlier plasticity results) and return
    the partial folder the results are written into before they replace ``out``."""
    check_output_folder(out, overwrite, markers=RUN_FILES, kind="plasticity results")
    partial = out.with_name(out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)   # what an interrupted run left
    partial.mkdir(parents=True)
    return partial


def _versions(args_dict: dict) -> dict:
    from bioopzo.runs import versions

    return {**versions(), "arguments": args_dict}


def _score_row(ev) -> dict:
    return {"rule": ev.rule_name, "data": ev.data.name, **ev.scores, "engine": ev.engine,
            "max_brian2_minus_numpy": ev.max_engine_difference,
            "parameters": json.dumps({k: float(f"{v:.6g}") for k, v in ev.fit.parameter_table.items()})}


def _prediction_rows(ev) -> list[dict]:
    return [{"rule": ev.rule_name, "data": ev.data.name, "condition": c.label, "x": float(x),
             "group": g, "repeats": c.repeats, "measured": float(m), "error_bar": float(e),
             "model": float(p)}
            for c, x, g, m, e, p in zip(ev.data.conditions, ev.data.x, ev.data.groups, ev.data.mean,
                                        ev.data.err, ev.prediction)]


def _comparison_rows(ev) -> list[dict]:
    """The full rule's comparison row, then its selected submodel's (when terms were removed)."""
    return [ev.comparison] + ([ev.selected_comparison] if ev.selected_comparison else [])


def _fmt(v, digits=3):
    if isinstance(v, float):
        if np.isinf(v):
            return "inf"
        return "n/a" if not np.isfinite(v) else f"{v:.{digits}g}"
    return "n/a" if v == -1 else str(v)


def markdown_table(rows: list[dict], columns: list[str]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for r in rows:
        lines.append("| " + " | ".join(_fmt(r.get(c, "")) for c in columns) + " |")
    return "\n".join(lines)


PARAMETER_COLUMNS = ["rule", "model", "data", "parameter", "value", "se", "se_relative_pct", "lower_bound",
                     "upper_bound", "flags"]
COMPARISON_COLUMNS = ["rule", "data", "n", "k", "chi2", "aic", "aicc", "bic", "delta_aic", "delta_aicc",
                      "delta_bic",
                      "loo_unit", "loo_rmse_fraction", "loo_nmse"]


def text_table(rows: list[dict], columns: list[str]) -> str:
    """Rows as a fixed-width text table (numbers to 3 significant digits)."""
    cells = [[_fmt(r.get(c, "")) for c in columns] for r in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths))]
    lines += ["  ".join(x.ljust(w) for x, w in zip(row, widths)) for row in cells]
    return "\n".join(lines)


def _report_tables(parameter_rows: list[dict], comparison_rows: list[dict], echo) -> list[str]:
    """Print the parameter and model-comparison tables; their report.md sections."""
    from bioopzo.plasticity.comparison import add_deltas

    add_deltas(comparison_rows)
    fitted = [r for r in comparison_rows if r["status"] == "fitted"]
    skipped = [r for r in comparison_rows if r["status"] != "fitted"]
    shown = [r for r in parameter_rows if r.get("selected", True) and r["flags"] != "fixed_at_0"]
    removed = [r for r in parameter_rows if r["flags"] == "fixed_at_0"]
    full = [r for r in parameter_rows if r.get("model") == "full" and not r.get("selected", True)]
    removed_lines = [f"{r['rule']} on {r['data']} ({r['model']}): {r['parameter']} fixed at 0: {r['reason']}"
                     for r in removed]
    if parameter_rows:
        echo("fitted parameters (se: standard error from the loss curvature; flags: on_bound, "
             "unconstrained = flat direction or relative SE > 100 %; model: full, or the submodel with "
             "flagged amplitudes fixed at 0 that AICc selects, whose full fit is in parameter_report.csv):")
        echo(text_table(shown, PARAMETER_COLUMNS))
    for line in removed_lines:
        echo(line)
    if fitted:
        echo("model comparison (AIC/BIC: lower is better, chi2 with error bars else n ln(RSS/n); "
             "leave-one-out refits, RMSE as a fraction of the weight; 'rule (selected: ...)': the "
             "selected submodel, refitted as such):")
        echo(text_table(fitted, COMPARISON_COLUMNS))
    for r in skipped:
        echo(f"{r['rule']} skipped on {r['data']}: {r['status'][len('skipped: '):]}")
    lines = []
    if parameter_rows:
        lines += ["## Fitted parameters with standard errors and flags (selected models)", "",
                  markdown_table(shown, PARAMETER_COLUMNS), ""]
    if removed_lines:
        lines += ["Terms removed (fixed at 0) by the nested-model selection:", "",
                  *[f"- {line}" for line in removed_lines], "",
                  "### The full models", "", markdown_table(full, PARAMETER_COLUMNS), ""]
    if comparison_rows:
        lines += ["## Model comparison (AIC, BIC, leave-one-out)", "",
                  markdown_table(comparison_rows, COMPARISON_COLUMNS + ["status"]), ""]
    return lines


def run_plasticity(rule_names, data, out: Path, engine: str = "brian2", overwrite: bool = False,
                   all_tables: bool = False, echo=print, argv_dict: dict | None = None,
                   say=None, reduce: bool = True) -> dict:
    """Evaluate ``rule_names`` on one data set (or everything with ``all_tables``) into ``out``
    (written whole: into ``out.partial``, which then replaces ``out``). ``echo`` prints
    results, ``say`` progress (default: ``echo``); ``reduce``: also select the nested submodels
    (``False``: the full models only)."""
    from bioopzo.plasticity import evaluate as E
    from bioopzo.plasticity import figures as F
    from bioopzo.plasticity.datasets import QUANTITATIVE, load_dataset

    datasets = data if isinstance(data, (list, tuple)) else [data]
    parameter_rows: list[dict] = []
    comparison_rows: list[dict] = []
    say = echo if say is None else say
    final = Path(out)
    out = _prepare_out(final, overwrite)
    write_atomic(out / "versions.json", json.dumps(_versions(argv_dict or {}), indent=2) + "\n")
    report = ["# bioopzo plasticity results", ""]
    result: dict = {}
    if all_tables:
        everything = E.evaluate_all(engine, progress=lambda text: say(f"  running {text}"), reduce=reduce)
        evaluations = everything["evaluations"]
        control = everything["control"]
        result.update(everything)
        score_rows = [_score_row(ev) for ev in evaluations.values()]
        cs = control["scores"]
        score_rows.append({"rule": "triplet (PG 2006 published, no fit)", "data": "sjostrom_2001", **cs,
                           "engine": engine, "max_brian2_minus_numpy": float("nan"),
                           "parameters": json.dumps(control["rule"].table(control["rule"].free))})
        write_atomic(out / "lodo.csv", csv_text(everything["lodo"]))
        write_atomic(out / "third_factor.csv", csv_text(everything["third_factor"]))
        for rule_name in E.QUANTITATIVE_RULES:
            evs = [evaluations[(rule_name, d)] for d in QUANTITATIVE]
            _save_figure(F.rule_figure(rule_name, evs), out / f"figure_{rule_name}.png")
        sj = load_dataset("sjostrom_2001")
        models = {"triplet (PG 2006)": control["prediction"],
                  **{r: evaluations[(r, "sjostrom_2001")].prediction for r in ("pair", "opzo")}}
        _save_figure(F.comparison_figure(sj, models), out / "figure_sjostrom_controls.png")
        _save_figure(F.third_factor_figure(everything["third_factor"]), out / "figure_third_factor.png")
        write_atomic(out / "voltage_clamp.csv", csv_text(everything["voltage_clamp"]))
        _save_figure(F.third_factor_figure(everything["voltage_clamp"],
                                           "voltage clamp (Ngezahayo et al. 2000): 20 pre spikes at 10 Hz"),
                     out / "figure_voltage_clamp.png")
        report += ["## Fits per data set", "", markdown_table(score_rows, [
            "rule", "data", "rmse", "nmse", "r2", "within", "n", "max_brian2_minus_numpy", "parameters"]), "",
            "## Leave one data set out", "", markdown_table(everything["lodo"], [
                "rule", "fitted_on", "scored_on", "rmse", "nmse", "r2", "within", "scale_factor",
                "nmse_rescaled", "r2_rescaled"]), "",
            "## Third-factor checks", "", markdown_table(everything["third_factor"], [
                "rule", "check", "expected", "model", "dw_over_largest", "passes"]), "",
            "## Voltage-clamp check (Ngezahayo et al. 2000)", "",
            markdown_table(everything["voltage_clamp"], [
                "rule", "check", "expected", "model", "dw_over_largest", "passes"]), ""]
        parameters = {f"{r}|{d}": ev.fit.rule.table() for (r, d), ev in evaluations.items()}
        predictions = [row for ev in evaluations.values() for row in _prediction_rows(ev)]
        for data_name in QUANTITATIVE:
            for rule_name in E.QUANTITATIVE_RULES:
                ev = evaluations[(rule_name, data_name)]
                parameter_rows += ev.parameter_rows
                comparison_rows += _comparison_rows(ev)
            d = load_dataset(data_name)
            comparison_rows.append(E.skipped_row("opzo_eligibility", d, E.skip_reason("opzo_eligibility", d)))
    else:
        score_rows, predictions, parameters, evs = [], [], {}, []
        for d in datasets:
            if not d.qualitative:
                say(f"{d.name}: {len(d)} conditions; protocol as stated: {d.protocol}")
        for data, rule_name in ((d, r) for d in datasets for r in rule_names):
            reason = None if data.qualitative else E.skip_reason(rule_name, data)
            if reason:
                comparison_rows.append(E.skipped_row(rule_name, data, reason))
                continue
            if data.qualitative:
                rows = E.qualitative_table(E.rule_for(rule_name, data.name), data.name, engine)
                write_atomic(out / f"{data.name}_{rule_name}.csv", csv_text(rows))
                _save_figure(F.third_factor_figure(rows, data.protocol),
                             out / f"figure_{rule_name}_{data.name}.png")
                predictions += rows
                passed = sum(r["passes"] for r in rows)
                score_rows.append({"rule": rule_name, "data": data.name, "checks_passed": passed,
                                   "checks": len(rows)})
                report += [f"## {rule_name} on {data.name}", "",
                           markdown_table(rows, ["check", "expected", "model", "dw_rel", "passes"]), ""]
                parameters[rule_name] = E.rule_for(rule_name, data.name).table()
                echo(f"{rule_name} on {data.name}: {passed}/{len(rows)} qualitative checks pass")
                continue
            say(f"  fitting {rule_name} on {data.name} ({len(data)} conditions)"
                 + (" and running Brian2" if engine == "brian2" else ""))
            ev = E.evaluate_rule(rule_name, data, engine, reduce=reduce)
            evs.append(ev)
            score_rows.append(_score_row(ev))
            predictions += _prediction_rows(ev)
            parameters[rule_name if len(datasets) == 1 else f"{rule_name}|{data.name}"] = ev.fit.rule.table()
            parameter_rows += ev.parameter_rows
            comparison_rows += _comparison_rows(ev)
            s = ev.scores
            echo(f"{rule_name} on {data.name}: RMSE {s['rmse']:.4f}, NMSE {_fmt(s['nmse'], 4)}, "
                 f"R^2 {s['r2']:.3f}, within error bars {_fmt(s['within'])}/{s['n']}; "
                 f"max |Brian2 - NumPy| {_fmt(ev.max_engine_difference, 2)}")
            safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in data.name).strip("_")
            _save_figure(F.rule_figure(rule_name, [ev]), out / f"figure_{rule_name}_{safe}.png")
        if evs:
            report += ["## Fit", "", markdown_table(score_rows, [
                "rule", "data", "rmse", "nmse", "r2", "within", "n", "max_brian2_minus_numpy",
                "parameters"]), ""]
    report += _report_tables(parameter_rows, comparison_rows, echo)
    if parameter_rows:
        write_atomic(out / "parameter_report.csv", csv_text(parameter_rows))
    if comparison_rows:
        write_atomic(out / "model_comparison.csv", csv_text(comparison_rows))
    write_atomic(out / "scores.csv", csv_text(score_rows))
    write_atomic(out / "predictions.csv", csv_text(predictions))
    write_atomic(out / "parameters.json", json.dumps(parameters, indent=2, default=float) + "\n")
    write_atomic(out / "report.md", "\n".join(report) + "\n")
    result["scores"] = score_rows
    result["parameter_report"] = parameter_rows
    result["model_comparison"] = comparison_rows
    replace_output_folder(out, final)
    echo(f"results in {final}")
    return result


def cmd_plasticity(args) -> int:
    from bioopzo.plasticity.datasets import load_data_file, load_dataset, split_groups
    from bioopzo.plasticity.evaluate import skip_reason
    from bioopzo.plasticity.models import PLASTICITY_MODELS
    from bioopzo.plasticity.schema import SCHEMA_TEXT

    if args.schema:
        print(SCHEMA_TEXT)
        return 0
    if args.all and (args.data_file or args.data):
        raise ConfigError("--all runs every packaged data set; drop --data / --data-file")
    if args.data_file and args.data:
        raise ConfigError("give either --data NAME or --data-file PATH, not both")
    rules = list(PLASTICITY_MODELS) if args.rule == "every" else [args.rule]
    data = None
    datasets: list = []
    if not args.all:
        if args.data_file:
            data = load_data_file(args.data_file, groups=args.groups)
        else:
            data = load_dataset(args.data or "sjostrom_2001")
        datasets = split_groups(data) if args.groups == "separate" else [data]
        if not data.qualitative and args.rule != "every":
            reason = skip_reason(args.rule, data)
            if reason:
                raise ConfigError(f"{args.rule} is not fitted to {data.name}: {reason}; use --rule opzo "
                                  "for pairing data")
        if args.rule == "every" and not data.qualitative:
            for rule_name in rules:
                reason = skip_reason(rule_name, data)
                if reason:
                    print(f"--rule every skips {rule_name} on {data.name}: {reason}")
    name = "all" if args.all else f"{args.rule}_{data.name}"
    out = Path(args.out) if args.out else default_out("plasticity", name)
    check_output_folder(out, args.overwrite, markers=RUN_FILES, kind="plasticity results")
    run_plasticity(rules, datasets, out, engine=args.engine, overwrite=args.overwrite, all_tables=args.all,
                   say=(lambda *a: None) if args.quiet else print, reduce=not args.no_reduce,
                   argv_dict={"argv": sys.argv[1:], **{k: v for k, v in vars(args).items() if k != "func"}})
    return 0


def register(subparsers) -> None:
    import argparse

    from bioopzo.plasticity.datasets import DATASETS
    from bioopzo.plasticity.models import PLASTICITY_MODELS
    from bioopzo.plasticity.schema import GROUP_CHOICES, SCHEMA_TEXT

    p = subparsers.add_parser("plasticity", help="rules through plasticity protocols vs biological data",
                              description="Fit plasticity rules to biological data: parameter report with "
                                          "standard errors and flags, model comparison (AIC/BIC, "
                                          "leave-one-out).",
                              epilog=SCHEMA_TEXT, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rule", default="opzo", choices=[*PLASTICITY_MODELS, "every"],
                   help="plasticity model under test (default opzo; 'every' runs every model and says "
                        "which it skipped and why)")
    p.add_argument("--data", choices=list(DATASETS), help="packaged data set (default sjostrom_2001)")
    p.add_argument("--data-file", help="your own CSV in the schema below (also: --schema)")
    p.add_argument("--groups", choices=GROUP_CHOICES,
                   help="a file with a grouping column (experiment, figure, cell) holding several groups: "
                        "fit each group separately, or all jointly with shared parameters")
    p.add_argument("--schema", action="store_true", help="print the data-file schema and exit")
    p.add_argument("--all", action="store_true", help="every rule on every data set: tables and figures")
    p.add_argument("--engine", choices=("brian2", "numpy"), default="brian2",
                   help="report Brian2 protocol simulations (default) or the NumPy forms only")
    p.add_argument("--no-reduce", action="store_true",
                   help="report the full models only; by default flagged amplitudes (on their lower bound "
                        "0 or unconstrained) are also fixed at 0 in nested submodels, and the submodel "
                        "that AICc selects (within 2 units: the fewest parameters) is reported with each "
                        "removed term's reason and dAICc")
    add_output_options(p, default="runs/plasticity_<rule>_<data>_<time>")
    add_verbosity_options(p)
    p.set_defaults(func=cmd_plasticity)
