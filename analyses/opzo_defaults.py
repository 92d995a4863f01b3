"""Choose OPZO's defaults (noise site, psi with membrane noise, alpha, rho) by
measurement on a validation split carved from the digits training set.

For every setting an OPZO network is trained with reference.py at batch 1 (step
for step the Brian2 model's algorithm) on digits with ``validation_fraction =
0.2`` and ``split_seed = 0`` (the test set is never read), and scored by its
final validation accuracy and, at the end of training, the per-sample cosine of
its hidden updates with BP's gradient on the same noisy forward pass
(bioopzo.analysis.estimators). Writes analyses/results/opzo_defaults.{csv,md}.

    python analyses/opzo_defaults.py [--model digits_fc2] [--epochs 3] [--seeds 1 2]
        [--variants ...] [--alphas 0.1 0.3 1.0] [--rhos 0.999 0.9999] [--tag NAME] [--workers 2]
"""

from __future__ import annotations

import argparse
import itertools
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from bioopzo.analysis.estimators import estimator_statistics
from bioopzo.analysis.training import probe_set, train_reference
from bioopzo.config import load_config
from bioopzo.config import resolve_config_path as resolve_model
from bioopzo.runs import write_atomic, write_csv_atomic

VARIANTS = {  # name: (noise site, keep psi, bias-corrected M)
    "membrane+psi": ("membrane", True, True),
    "membrane, no psi": ("membrane", False, True),
    "output+psi": ("output", True, True),
    "output+psi, M uncorrected": ("output", True, False),
}


def point(job):
    model, variant, alpha, rho, seed, epochs, lr = job
    site, psi, corrected = VARIANTS[variant]
    cfg = load_config(resolve_model(model), {
        "rule": {"name": "opzo", "feedback_momentum": rho, "use_surrogate": psi,
                 "feedback_bias_correction": corrected},
        "noise": {"site": site, "scale": alpha},
        "optimizer": {"learning_rate": lr},
        "data": {"split_seed": 0, "validation_fraction": 0.2},
        "training": {"epochs": epochs, "seed": seed}})
    t0 = time.perf_counter()
    run = train_reference(cfg)
    _, x, y = probe_set(cfg, 100, 53)
    stats = {(s.rule, s.layer): s.cosine_mean
             for s in estimator_statistics(run.model, x, y, ("opzo",))}
    L = len(cfg.network.hidden)
    row = {"model": model, "variant": variant, "site": site, "psi": psi, "alpha": alpha, "rho": rho,
           "learning_rate": lr, "seed": seed, "epochs": epochs,
           "validation_accuracy": run.final_accuracy, "seconds": round(time.perf_counter() - t0, 1)}
    for l in range(1, L + 1):
        row[f"cos_bp_layer{l}"] = stats[("opzo", l)]
    return row


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="digits_fc2")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    p.add_argument("--variants", nargs="+", default=list(VARIANTS)[:3], choices=list(VARIANTS))
    p.add_argument("--alphas", type=float, nargs="+", default=[0.1, 0.3, 1.0])
    p.add_argument("--rhos", type=float, nargs="+", default=[0.999, 0.9999])
    p.add_argument("--learning-rate", type=float, default=0.005)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--tag", default="", help="suffix of the output file names")
    p.add_argument("--out", default="analyses/results")
    args = p.parse_args(argv)
    jobs = [(args.model, v, a, r, s, args.epochs, args.learning_rate)
            for v, a, r, s in itertools.product(args.variants, args.alphas, args.rhos, args.seeds)]
    rows = []
    with ProcessPoolExecutor(args.workers) as pool:
        for row in pool.map(point, jobs):
            rows.append(row)
            print(", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
                            for k, v in row.items() if k not in ("model", "site", "psi")), flush=True)
    out = Path(args.out)
    name = f"opzo_defaults_{args.model}" + (f"_{args.tag}" if args.tag else "")
    write_csv_atomic(out / f"{name}.csv", rows)
    L = sum(k.startswith("cos_bp") for k in rows[0])
    lines = [f"OPZO settings on {args.model}, validation split (20 % of the training set, split_seed 0), "
             f"{args.epochs} epochs, learning rate {args.learning_rate:g}, mean over seeds "
             f"{' '.join(map(str, args.seeds))} (reference.py, batch 1)", "",
             "| variant | alpha | rho | validation accuracy (%) | " +
             " | ".join(f"cos(update, BP) layer {l}" for l in range(1, L + 1)) + " |",
             "|---|---|---|---|" + "---|" * L]
    for v, a, r in itertools.product(args.variants, args.alphas, args.rhos):
        sel = [x for x in rows if (x["variant"], x["alpha"], x["rho"]) == (v, a, r)]
        acc = 100 * np.mean([x["validation_accuracy"] for x in sel])
        cos = [np.mean([x[f"cos_bp_layer{l}"] for x in sel]) for l in range(1, L + 1)]
        lines.append(f"| {v} | {a:g} | {r:g} | {acc:.1f} | " + " | ".join(f"{c:.3f}" for c in cos) + " |")
    write_atomic(out / f"{name}.md", "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
