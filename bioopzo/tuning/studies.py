"""Fair rule comparisons: per-rule learning rates tuned on a validation split,
then every rule over seeds on the test set, with paired differences.

``tune`` trains every rule at learning rates eta_r x f for the factors f of a
grid (eta_r is the rule's own learning rate in the model file, so a rule whose
file sets a smaller rate, like zo, is searched around it), with
``data.validation_fraction`` of the training set held out as the evaluation
set; the test set is never read. The chosen rate of rule r maximises the mean
final validation accuracy over the tuning seeds. Every run is a point of a
sweep (:mod:`bioopzo.sweep`; its own process and run folder; rerunning skips finished
points). A tuning folder holds::

    sweep.toml, configs/, runs/, results.csv   the sweep (see bioopzo.sweep)
    tuning.csv        one row per rule and learning rate: mean and sd of the validation accuracy
    tuning.md         the same as a table, with the chosen rate per rule
    tuned.toml        the model file with [per_rule.<rule>] learning rates set to the chosen ones

``compare`` trains every rule of a model file (typically a ``tuned.toml``) with
each seed and reports, on the test set, mean ± sd and the paired difference
to a baseline rule by seed: mean difference d = mean_s (acc_r(s) - acc_base(s))
with the 95 % interval d ± t_{0.975, n-1} sd_d / sqrt(n) (Student's t over
n seeds); ``paired_differences.csv`` has the same for every pair of rules. A
comparison folder holds the sweep plus ``comparison.csv``,
``paired_differences.csv`` and ``comparison.md``.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bioopzo.config import ConfigError, load_config, resolve_config_path
from bioopzo.rules.names import RULE_NAMES
from bioopzo.runs import write_atomic, write_csv_atomic
from bioopzo.sweep import collect_table, load_sweep, run_sweep
from bioopzo.tuning.scores import best_rate, paired_difference
from bioopzo.options import fraction_columns, plural, read_fraction

__all__ = ["TuningResult", "tune", "compare", "DEFAULT_FACTORS"]

#: learning-rate factors around each rule's configured rate
DEFAULT_FACTORS = (0.25, 0.5, 1.0, 2.0, 4.0)


def _check_rules(rules) -> tuple[str, ...]:
    rules = tuple(rules)
    bad = [r for r in rules if r not in RULE_NAMES]
    if bad or not rules:
        raise ConfigError(f"unknown rule(s) {bad}; choose from {', '.join(RULE_NAMES)}")
    return rules


def _check_seeds(seeds) -> tuple[int, ...]:
    seeds = tuple(int(s) for s in seeds)
    if not seeds or len(set(seeds)) != len(seeds) or min(seeds) < 0:
        raise ConfigError(f"seeds {list(seeds)} must be distinct non-negative integers")
    return seeds


def _write_sweep_file(path: Path, name: str, base: Path, fixed: dict, points: list[dict],
                      seeds: tuple[int, ...]) -> None:
    import tomli_w


    doc = {"name": name, "config": _config_reference(base, path.parent), "fixed": fixed,
           "points": points, "grid": {"training.seed": list(seeds)}}
    write_atomic(path, tomli_w.dumps(doc))


def _config_reference(base: Path, folder: Path) -> str:
    """How a sweep file in ``folder`` names ``base``: a packaged model by its name, any
    other file by its path relative to ``folder`` (so result folders can move with the
    repository), absolute only across drives."""

    base = base.resolve()
    try:
        if Path(resolve_config_path(base.stem)).resolve() == base:
            return base.stem
    except ConfigError:
        pass
    try:
        return os.path.relpath(base, folder.resolve())
    except ValueError:
        return str(base)


def _run(sweep_file: Path, out: Path, workers, echo, progress: bool = False):
    spec = load_sweep(sweep_file, out=out)
    report = run_sweep(spec, workers=workers, progress=progress, echo=echo)
    if not report.ok:
        raise ConfigError(f"{plural(len(report.failed), 'run')} of {out} failed (see {out}/failed/); "
                          "rerun the same command to retry them")
    return collect_table(spec)


@dataclass
class TuningResult:
    rows: list            # per rule and learning rate
    chosen: dict          # rule -> learning rate
    tuned_config: Path


def tune(config_path: str | Path, out: str | Path, *, rules=RULE_NAMES, factors=DEFAULT_FACTORS,
         seeds=(1,), validation_fraction: float = 0.2, epochs: int | None = None,
         workers: int | None = None, echo=print, progress: bool = False) -> TuningResult:
    """Tune each rule's learning rate on a validation split (see module docstring);
    ``progress`` draws the sweep's progress bar."""
    config_path = Path(config_path)
    rules, seeds = _check_rules(rules), _check_seeds(seeds)
    factors = tuple(float(f) for f in factors)
    if not factors or min(factors) <= 0:
        raise ConfigError(f"learning-rate factors {list(factors)} must be positive")
    if not 0 < validation_fraction < 1:
        raise ConfigError(f"validation fraction {validation_fraction} must be between 0 and 1")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    base = load_config(config_path)
    points = []
    for rule in rules:
        eta = base.with_overrides({"rule": {"name": rule}}).optimizer.learning_rate
        for f in factors:
            points.append({"rule.name": rule, "optimizer.learning_rate": float(f"{eta * f:.4g}")})
    fixed = {"data.validation_fraction": validation_fraction}
    if epochs is not None:
        fixed["training.epochs"] = epochs
    sweep_file = out / "tune_sweep.toml"
    _write_sweep_file(sweep_file, f"tune_{base.name}", config_path, fixed, points, seeds)
    table = _run(sweep_file, out, workers, echo, progress)
    rows, chosen = [], {}
    for rule in rules:
        by_lr: dict[float, list[float]] = {}
        for r in table:
            if r["rule"] == rule:
                lr = load_config(out / r["run_dir"] / "config.toml").optimizer.learning_rate
                by_lr.setdefault(lr, []).append(float(read_fraction(r, "final_test_accuracy")))
        lrs = sorted(by_lr)
        means = [float(np.mean(by_lr[lr])) if np.all(np.isfinite(by_lr[lr])) else -1.0 for lr in lrs]
        best = chosen[rule] = best_rate(by_lr)
        for lr, mean in zip(lrs, means):
            acc = np.asarray(by_lr[lr])
            rows.append({"rule": rule, "learning_rate": lr, "validation_accuracy_mean": mean,
                         "validation_accuracy_sd": float(acc.std(ddof=1)) if acc.size > 1 else 0.0,
                         "seeds": acc.size, "chosen": lr == best,
                         "at_grid_edge": lr == best and best in (lrs[0], lrs[-1]) and len(lrs) > 1})
    tuned = out / "tuned.toml"
    _write_tuned(config_path, tuned, chosen, validation_fraction, factors, seeds)
    _write_tuning_tables(out, rows, base.name, validation_fraction, seeds, factors)
    return TuningResult(rows, chosen, tuned)


def _write_tuned(config_path: Path, path: Path, chosen: dict, fraction, factors, seeds) -> None:
    import tomli_w


    raw = tomllib.loads(config_path.read_text())
    per_rule = raw.setdefault("per_rule", {})
    for rule, lr in chosen.items():
        per_rule.setdefault(rule, {}).setdefault("optimizer", {})["learning_rate"] = lr
    header = (f"# {config_path.name} with per-rule learning rates tuned by bioopzo tune:\n"
              f"# the rule's own rate x {list(factors)}, best mean final accuracy on a validation\n"
              f"# split of {fraction:g} of the training set (the test set unread), seeds {list(seeds)}.\n")
    write_atomic(path, header + tomli_w.dumps(raw))


def _write_tuning_tables(out: Path, rows, name, fraction, seeds, factors) -> None:

    # file columns say that accuracies are fractions (README Conventions)
    write_csv_atomic(out / "tuning.csv", [fraction_columns(r, ("validation_accuracy_mean",
                                                               "validation_accuracy_sd")) for r in rows])
    lines = [f"Learning rates of {name} tuned on a validation split ({fraction:g} of the training "
             f"set), seeds {' '.join(map(str, seeds))}; grid: each rule's rate x "
             f"{', '.join(f'{f:g}' for f in factors)}", "",
             "| rule | learning rate | validation accuracy (%) | chosen |", "|---|---|---|---|"]
    for r in rows:
        mark = "**yes**" + (" (grid edge)" if r["at_grid_edge"] else "") if r["chosen"] else ""
        lines.append(f"| {r['rule']} | {r['learning_rate']:g} | "
                     f"{100 * r['validation_accuracy_mean']:.1f} | {mark} |")
    write_atomic(out / "tuning.md", "\n".join(lines) + "\n")


def compare(config_path: str | Path, out: str | Path, *, rules=RULE_NAMES, seeds=(1, 2, 3, 4, 5),
            baseline: str = "bp", epochs: int | None = None, workers: int | None = None,
            echo=print, progress: bool = False) -> list[dict]:
    """Train every rule with every seed on the test set; rows of mean, sd and paired
    differences to ``baseline`` (see module docstring); ``progress`` draws the sweep's bar."""
    config_path = Path(config_path)
    rules, seeds = _check_rules(rules), _check_seeds(seeds)
    if baseline not in rules:
        raise ConfigError(f"the baseline rule {baseline!r} must be one of the compared rules")
    if len(seeds) < 2:
        raise ConfigError("a comparison needs at least two seeds (paired differences)")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    base = load_config(config_path)
    if base.data.validation_fraction > 0:
        raise ConfigError(f"{config_path} evaluates on a validation split; a comparison reports "
                          "test accuracy: set [data] validation_fraction = 0")
    fixed = {"training.epochs": epochs} if epochs is not None else {}
    sweep_file = out / "compare_sweep.toml"
    _write_sweep_file(sweep_file, f"compare_{base.name}", config_path, fixed,
                      [{"rule.name": r} for r in rules], seeds)
    table = _run(sweep_file, out, workers, echo, progress)
    acc = {(r["rule"], int(r["seed"])): float(read_fraction(r, "final_test_accuracy")) for r in table}
    rate = {}
    for r in table:
        run = Path(out) / r["run_dir"] / "metrics.csv"
        if run.is_file():
            import csv

            with run.open() as fh:
                last = list(csv.DictReader(fh))[-1]
            rate[(r["rule"], int(r["seed"]))] = float(last.get(
                f"rate_hidden{len(base.network.hidden)}", "nan") or "nan")
    rows = []
    for rule in rules:
        a = np.array([acc[(rule, s)] for s in seeds])
        b = np.array([acc[(baseline, s)] for s in seeds])
        row = {"rule": rule, "learning_rate": base.with_overrides({"rule": {"name": rule}})
               .optimizer.learning_rate, "seeds": len(seeds), "test_accuracy_mean": float(a.mean()),
               "test_accuracy_sd": float(a.std(ddof=1)),
               "last_hidden_rate": float(np.mean([rate.get((rule, s), np.nan) for s in seeds])),
               "per_seed": " ".join(f"{100 * v:.1f}" for v in a)}
        if rule != baseline:
            d = paired_difference(a, b)
            row.update({f"diff_{baseline}_{k}": v for k, v in d.items() if k != "n"})
        rows.append(row)
    pairs = []
    for i, a in enumerate(rules):
        for b in rules[i + 1:]:
            d = paired_difference([acc[(a, s)] for s in seeds], [acc[(b, s)] for s in seeds])
            pairs.append({"rule": a, "minus": b, **{k: v for k, v in d.items() if k != "n"}})
    _write_comparison(out, rows, pairs, base, seeds, baseline)
    return rows


def _write_comparison(out: Path, rows, pairs, base, seeds, baseline) -> None:

    # file columns say which values are fractions and which percentages (README Conventions)
    fractions = ("test_accuracy_mean", "test_accuracy_sd",
                 *[f"diff_{baseline}_{k}" for k in ("mean", "sd", "low", "high")])
    write_csv_atomic(out / "comparison.csv",
                     [{("per_seed_pct" if k == "per_seed" else k): v
                       for k, v in fraction_columns(r, fractions).items()} for r in rows])
    write_csv_atomic(out / "paired_differences.csv",
                     [fraction_columns(p, ("mean", "sd", "low", "high")) for p in pairs])
    hidden = "-".join(map(str, base.network.hidden))
    lines = [f"{base.name} (hidden {hidden}), test accuracy after {plural(base.training.epochs, 'epoch')}, "
             f"seeds {' '.join(map(str, seeds))}; paired difference to {baseline} by seed, 95 % "
             "interval (Student's t)", "",
             f"| rule | learning rate | test accuracy (%) mean ± sd | minus {baseline} (points) | "
             "95 % interval | last hidden layer rate |", "|---|---|---|---|---|---|"]
    for r in rows:
        if r["rule"] == baseline:
            diff, ci = "", ""
        else:
            diff = f"{100 * r[f'diff_{baseline}_mean']:+.1f}"
            ci = f"[{100 * r[f'diff_{baseline}_low']:+.1f}, {100 * r[f'diff_{baseline}_high']:+.1f}]"
        lines.append(f"| {r['rule']} | {r['learning_rate']:g} | {100 * r['test_accuracy_mean']:.1f} ± "
                     f"{100 * r['test_accuracy_sd']:.1f} | {diff} | {ci} | {r['last_hidden_rate']:.3f} |")
    lines += ["", "Every pair, paired by seed (points; the interval excludes zero: *):", "",
              "| difference | mean | 95 % interval |", "|---|---|---|"]
    for p in pairs:
        mark = " *" if p["excludes_zero"] else ""
        lines.append(f"| {p['rule']} - {p['minus']} | {100 * p['mean']:+.1f}{mark} | "
                     f"[{100 * p['low']:+.1f}, {100 * p['high']:+.1f}] |")
    write_atomic(out / "comparison.md", "\n".join(lines) + "\n")
