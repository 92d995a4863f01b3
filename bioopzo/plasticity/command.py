"""``bioopzo plasticity``: run rules through the plasticity protocols, fit, score and plot.

    bioopzo plasticity --rule opzo --data sjostrom_2001 [--out DIR]
    bioopzo plasticity --rule triplet --data-file my.csv
    bioopzo plasticity --all [--out DIR]

Writes into --out (default ``runs/plasticity_<rule>_<data>`` or ``runs/plasticity_all``), every
file atomically (temporary file, then rename): ``scores.csv``, ``predictions.csv``,
``parameters.json``, ``figure_<...>.png``, ``report.md``, ``versions.json``; with ``--all`` also
``lodo.csv`` (leave-one-dataset-out), ``third_factor.csv``, ``voltage_clamp.csv`` and one figure
per rule.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path

import numpy as np

from bioopzo.config import ConfigError
from bioopzo.runs import check_writable_folder, write_atomic

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


def _prepare_out(out: Path, overwrite: bool) -> None:
    check_writable_folder(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {str(out)!r} exists and is not a folder; choose a folder path")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        if any((out / f).exists() for f in RUN_FILES):
            raise ConfigError(f"{str(out)!r} already holds plasticity results; choose another --out or "
                              "pass --overwrite")
        raise ConfigError(f"{str(out)!r} is not empty; choose an empty or new folder")
    out.mkdir(parents=True, exist_ok=True)


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


def _fmt(v, digits=3):
    if isinstance(v, float):
        return "n/a" if not np.isfinite(v) else f"{v:.{digits}g}"
    return "n/a" if v == -1 else str(v)


def markdown_table(rows: list[dict], columns: list[str]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for r in rows:
        lines.append("| " + " | ".join(_fmt(r.get(c, "")) for c in columns) + " |")
    return "\n".join(lines)


def run_plasticity(rule_names, data, out: Path, engine: str = "brian2", overwrite: bool = False,
                   all_tables: bool = False, echo=print, argv_dict: dict | None = None) -> dict:
    """Evaluate ``rule_names`` on one data set (or everything with ``all_tables``) into ``out``."""
    from bioopzo.plasticity import evaluate as E
    from bioopzo.plasticity import figures as F
    from bioopzo.plasticity.datasets import QUANTITATIVE, load_dataset

    out = Path(out)
    _prepare_out(out, overwrite)
    write_atomic(out / "versions.json", json.dumps(_versions(argv_dict or {}), indent=2) + "\n")
    report = ["# bioopzo plasticity results", ""]
    result: dict = {}
    if all_tables:
        everything = E.evaluate_all(engine, progress=lambda text: echo(f"  running {text}"))
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
    else:
        score_rows, predictions, parameters, evs = [], [], {}, []
        for rule_name in rule_names:
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
            echo(f"  fitting {rule_name} on {data.name} ({len(data)} conditions)"
                 + (" and running Brian2" if engine == "brian2" else ""))
            ev = E.evaluate_rule(rule_name, data, engine)
            evs.append(ev)
            score_rows.append(_score_row(ev))
            predictions += _prediction_rows(ev)
            parameters[rule_name] = ev.fit.rule.table()
            s = ev.scores
            echo(f"{rule_name} on {data.name}: RMSE {s['rmse']:.4f}, NMSE {_fmt(s['nmse'], 4)}, "
                 f"R^2 {s['r2']:.3f}, within error bars {_fmt(s['within'])}/{s['n']}; "
                 f"max |Brian2 - NumPy| {_fmt(ev.max_engine_difference, 2)}")
            _save_figure(F.rule_figure(rule_name, [ev]), out / f"figure_{rule_name}_{data.name}.png")
        if evs:
            report += ["## Fit", "", markdown_table(score_rows, [
                "rule", "data", "rmse", "nmse", "r2", "within", "n", "max_brian2_minus_numpy",
                "parameters"]), ""]
    write_atomic(out / "scores.csv", csv_text(score_rows))
    write_atomic(out / "predictions.csv", csv_text(predictions))
    write_atomic(out / "parameters.json", json.dumps(parameters, indent=2, default=float) + "\n")
    write_atomic(out / "report.md", "\n".join(report) + "\n")
    result["scores"] = score_rows
    echo(f"results in {out}")
    return result


def cmd_plasticity(args) -> int:
    from bioopzo.plasticity.datasets import load_data_file, load_dataset
    from bioopzo.plasticity.models import PLASTICITY_MODELS

    if args.all and (args.data_file or args.data):
        raise ConfigError("--all runs every packaged data set; drop --data / --data-file")
    if args.data_file and args.data:
        raise ConfigError("give either --data NAME or --data-file PATH, not both")
    rules = list(PLASTICITY_MODELS) if args.rule == "every" else [args.rule]
    data = None
    if not args.all:
        if args.data_file:
            data = load_data_file(args.data_file)
        else:
            data = load_dataset(args.data or "sjostrom_2001")
        if not data.qualitative and "opzo_eligibility" in rules:
            if args.rule == "opzo_eligibility":
                raise ConfigError("opzo_eligibility is gated by a modulator pulse and is scored on "
                                  "--data three_factor only; use --rule opzo for pairing data")
            rules.remove("opzo_eligibility")
            print(f"--rule every skips opzo_eligibility on {data.name}: it is gated by a modulator pulse "
                  "and is scored on --data three_factor only")
    name = "all" if args.all else f"{args.rule}_{data.name}"
    out = Path(args.out) if args.out else Path("runs") / f"plasticity_{name}"
    run_plasticity(rules, data, out, engine=args.engine, overwrite=args.overwrite, all_tables=args.all,
                   argv_dict={"argv": sys.argv[1:], **{k: v for k, v in vars(args).items() if k != "func"}})
    return 0


def register(subparsers) -> None:
    from bioopzo.plasticity.datasets import DATASETS
    from bioopzo.plasticity.models import PLASTICITY_MODELS

    p = subparsers.add_parser("plasticity", help="rules through plasticity protocols vs biological data")
    p.add_argument("--rule", default="opzo", choices=[*PLASTICITY_MODELS, "every"],
                   help="plasticity model under test (default opzo; 'every' runs every model, "
                        "opzo_eligibility on three_factor only)")
    p.add_argument("--data", choices=list(DATASETS), help="packaged data set (default sjostrom_2001)")
    p.add_argument("--data-file", help="your own CSV in the packaged schema (delta_t_ms, mean, error)")
    p.add_argument("--all", action="store_true", help="every rule on every data set: tables and figures")
    p.add_argument("--engine", choices=("brian2", "numpy"), default="brian2",
                   help="report Brian2 protocol simulations (default) or the NumPy forms only")
    p.add_argument("--out", help="output folder (default runs/plasticity_<rule>_<data>)")
    p.add_argument("--overwrite", action="store_true", help="write into a folder that holds results")
    p.set_defaults(func=cmd_plasticity)
