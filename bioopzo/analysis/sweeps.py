"""Shared machinery of the accuracy sweeps (noise, momentum, depth): train a
list of labelled configs and turn each run into a table row."""

from __future__ import annotations

import numpy as np

from bioopzo.analysis.output import BRIAN2_IMPLEMENTATION, REFERENCE_IMPLEMENTATION
from bioopzo.analysis.training import train_many
from bioopzo.options import plural

__all__ = ["sweep", "implementation", "mean_sd"]


def implementation(backend: str) -> str:
    return REFERENCE_IMPLEMENTATION if backend == "reference" else BRIAN2_IMPLEMENTATION


def sweep(labelled: list[tuple[dict, object]], backend: str, workers: int, run_root, echo=print
          ) -> list[dict]:
    """Train every (label dict, config) pair; one row per run with the label's keys
    (accuracies, their spread and drops as fractions: columns ending in ``_fraction``)."""
    configs = [c for _, c in labelled]

    def say(run):
        if echo:
            i = configs.index(run.config)
            label = ", ".join(f"{k} {v}" for k, v in labelled[i][0].items())
            state = " (broke down)" if run.broke_down else ""
            echo(f"  ({i + 1}/{len(configs)}) {label}: test accuracy {100 * run.final_accuracy:.1f} %{state} "
                 f"({run.wall_seconds:.0f} s)")

    if echo:
        echo(f"training {plural(len(configs), 'run')} ({backend} backend, "
             f"{plural(workers, 'worker process', 'worker processes')})...")
    runs = train_many(configs, backend, workers, run_root, echo=say)
    rows = []
    for (label, cfg), run in zip(labelled, runs):
        s = run.summary()
        acc = np.array(s["test_accuracy_per_epoch"], float)
        half = acc[len(acc) // 2:]
        finite = acc[np.isfinite(acc)]
        rows.append({**label, "dataset": cfg.data.dataset, "hidden": "-".join(map(str, cfg.network.hidden)),
                     "rule": cfg.rule.name, "seed": cfg.training.seed, "epochs": cfg.training.epochs,
                     "test_accuracy_fraction": s["final_test_accuracy"],
                     "best_test_accuracy_fraction": s["best_test_accuracy"],
                     "broke_down": s["broke_down"],
                     "at_chance": bool(not s["final_test_accuracy"] > 1.5 / n_classes(cfg)),
                     "sd_second_half_fraction": float(np.std(half)) if np.all(np.isfinite(half))
                     else float("nan"),
                     "largest_drop_fraction": float(np.max(np.maximum.accumulate(finite) - finite))
                     if finite.size else float("nan"),
                     "accuracy_per_epoch_fraction": " ".join(f"{a:.4f}" for a in acc),
                     "wall_seconds": s["wall_seconds"], "implementation": backend})
    return rows


def n_classes(config) -> int:
    return 10      # digits and mnist1d both have 10 classes


def mean_sd(values) -> tuple[float, float]:
    v = np.asarray(values, float)
    return float(np.mean(v)), float(np.std(v, ddof=1)) if len(v) > 1 else 0.0
