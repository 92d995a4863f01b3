"""Learning rules on digits: the README results table (core issue, check 3).

Trains every rule on the two digits networks with 3 seeds in cpp_standalone
and writes a tidy CSV (one row per run) and a Markdown table (mean and sd per
rule and network):

    python analyses/rules_on_digits.py [--seeds 1 2 3] [--workers 2] [--out analyses/results]

Networks: models/digits_fc.toml (64-256-10) and models/digits_fc2.toml
(64-256-256-10). Rules: bp, opzo, dfa, zo and the readout control (hidden
weights frozen). Each rule takes its [per_rule] table from the model file.
Because the readout control depends strongly on how active the random hidden
layers are, the two-layer network is also run with a 2.5x stronger forward
initialisation (``--gains``).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

RULES = ("bp", "opzo", "dfa", "zo", "readout")


def one_run(job):
    model, rule, seed, gain, out = job
    from bioopzo.cli import resolve_config_path
    from bioopzo.config import load_config
    from bioopzo.train import train

    over = {"rule": {"name": rule}, "training": {"seed": seed}}
    if gain is not None:
        over["network"] = {"weight_init_gain": gain}
    config = load_config(resolve_config_path(model), over)
    tag = f"{model}_gain{gain or 1}_{rule}_seed{seed}"
    run_dir = Path(out) / "runs" / tag
    if (run_dir / "summary.json").exists():
        summary = json.loads((run_dir / "summary.json").read_text())
        rows = list(csv.DictReader((run_dir / "metrics.csv").open()))
    else:
        result = train(config, run_dir, overwrite=True, progress=False, echo=lambda *a: None)
        summary = json.loads((run_dir / "summary.json").read_text())
        rows = result.metrics
    last = rows[-1]
    return {
        "network": model, "hidden": "-".join(map(str, config.network.hidden)),
        "weight_init_gain": config.network.weight_init_gain, "rule": rule, "seed": seed,
        "epochs": config.training.epochs,
        "test_accuracy": float(summary["final_test_accuracy"]),
        "best_test_accuracy": float(summary["best_test_accuracy"]),
        "rate_last_hidden": float(last[f"rate_hidden{len(config.network.hidden)}"]),
        "wall_seconds": float(summary["wall_seconds"]),
        "run_dir": str(run_dir),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--gains", type=float, nargs="*", default=[2.5],
                        help="extra forward-init gains for the two-layer network")
    parser.add_argument("--out", default="analyses/results")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    jobs = [(m, r, s, None, str(out)) for m in ("digits_fc", "digits_fc2") for r in RULES
            for s in args.seeds]
    jobs += [("digits_fc2", r, s, g, str(out)) for g in args.gains
             for r in ("bp", "opzo", "dfa", "readout") for s in args.seeds]
    with ProcessPoolExecutor(args.workers) as pool:
        rows = []
        for row in pool.map(one_run, jobs):
            rows.append(row)
            print(f"{row['network']:10s} gain {row['weight_init_gain']:<4g} {row['rule']:8s} "
                  f"seed {row['seed']}  test {100 * row['test_accuracy']:5.1f} %  "
                  f"({row['wall_seconds']:.0f} s)", flush=True)
    with (out / "rules_on_digits.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    lines = ["| network | init gain | rule | test accuracy (%) mean ± sd | seeds | last hidden layer rate |",
             "|---|---|---|---|---|---|"]
    keys = sorted({(r["network"], r["weight_init_gain"]) for r in rows})
    for net, gain in keys:
        for rule in RULES:
            sel = [r for r in rows if r["network"] == net and r["weight_init_gain"] == gain
                   and r["rule"] == rule]
            if not sel:
                continue
            acc = 100 * np.array([r["test_accuracy"] for r in sel])
            rate = np.mean([r["rate_last_hidden"] for r in sel])
            lines.append(f"| {net} ({sel[0]['hidden']}) | {gain:g} | {rule} | "
                         f"{acc.mean():.1f} ± {acc.std(ddof=1) if len(acc) > 1 else 0:.1f} | "
                         f"{len(acc)} | {rate:.3f} |")
    table = "\n".join(lines) + "\n"
    (out / "rules_on_digits.md").write_text(table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
