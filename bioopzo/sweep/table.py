"""A sweep's results: one row per completed point, written as CSV and Parquet, and a figure.

Rows are read from the points' run folders (``runs/<point>/summary.json``,
``versions.json``, ``sweep_point.json``), in sweep order, so the table can always
be rebuilt from what is on disk. The figure shows the final test accuracy per setting
(the varying keys except the seed): one dot per seed, a bar at the mean with ± 1 sd.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from bioopzo.options import read_fraction
from bioopzo.runs import atomic_open
from bioopzo.sweep.plan import SweepSpec, short_key
from bioopzo.sweep.task import is_complete

__all__ = ["collect_table", "write_table", "summary_figure", "VERSION_KEYS"]

VERSION_KEYS = ("bioopzo", "brian2", "numpy", "python")


def collect_table(spec: SweepSpec) -> list[dict]:
    """One row per completed point, in sweep order, read from the run folders."""
    rows = []
    for point in spec.points:
        run_dir = spec.out / "runs" / point.id
        if not is_complete(run_dir):
            continue
        summary = json.loads((run_dir / "summary.json").read_text())
        versions = json.loads((run_dir / "versions.json").read_text())
        info_path = run_dir / "sweep_point.json"
        info = json.loads(info_path.read_text()) if info_path.is_file() else {}
        row: dict[str, Any] = {"point": point.id}
        for key in spec.varying:
            row[key] = point.overrides.get(key)
        row.update({
            "rule": point.config.rule.name,
            "seed": point.seed,
            "epochs": summary["epochs"],
            "final_test_accuracy_fraction": read_fraction(summary, "final_test_accuracy"),
            "best_test_accuracy_fraction": read_fraction(summary, "best_test_accuracy"),
            "final_train_accuracy_fraction": read_fraction(summary, "final_train_accuracy"),
            "train_seconds": summary["wall_seconds"],
            "point_seconds": info.get("point_seconds"),
            "device": versions.get("device", point.config.device.name),
            **{k: versions.get(k) for k in VERSION_KEYS},
            "run_dir": str(run_dir.relative_to(spec.out)),
        })
        rows.append(row)
    return rows


def _columns(rows: list[dict]) -> dict[str, list]:
    """Column-wise values with one type per column (lists and mixed types become JSON text)."""
    names = list(dict.fromkeys(k for r in rows for k in r))
    cols = {}
    for name in names:
        values = [r.get(name) for r in rows]
        kinds = {type(v) for v in values if v is not None}
        if kinds <= {int, float} or kinds <= {str} or kinds <= {bool}:
            cols[name] = [float(v) if kinds == {int, float} and v is not None else v for v in values]
        else:
            cols[name] = [None if v is None else json.dumps(v) for v in values]
    return cols


def write_table(rows: list[dict], out: Path) -> tuple[Path, Path]:
    """Write ``results.csv`` and ``results.parquet`` atomically; returns their paths."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    cols = _columns(rows) if rows else {"point": []}
    csv_path, pq_path = out / "results.csv", out / "results.parquet"
    with atomic_open(csv_path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(cols)
        writer.writerows(zip(*cols.values()))
    table = pa.table({k: pa.array(v) if v else pa.array([], pa.string()) for k, v in cols.items()})
    with atomic_open(pq_path, "wb") as fh:
        pq.write_table(table, fh)
    return csv_path, pq_path


def summary_figure(rows: list[dict], varying: tuple[str, ...], title: str = ""):
    """Final test accuracy per setting (the varying keys except the seed): one dot per
    seed, a bar at the mean with ± 1 sd. Returns a matplotlib Figure (no pyplot)."""
    import numpy as np
    from matplotlib.figure import Figure

    keys = [k for k in varying if k != "training.seed"]
    groups: dict[str, list[float]] = {}
    for r in rows:
        label = ", ".join(f"{short_key(k)}={r[k]}" for k in keys) or "all points"
        groups.setdefault(label, []).append(100 * float(read_fraction(r, "final_test_accuracy")))
    fig = Figure(figsize=(max(4.0, 1.1 * len(groups) + 2), 3.6))
    ax = fig.subplots()
    rng = np.random.default_rng(0)
    for x, (label, acc) in enumerate(groups.items()):
        acc = np.asarray(acc)
        ax.plot(x + rng.uniform(-0.12, 0.12, acc.size), acc, "o", color="0.45", ms=4, zorder=3)
        sd = acc.std(ddof=1) if acc.size > 1 else 0.0
        ax.errorbar(x, acc.mean(), yerr=sd, fmt="_", color="C0", ms=22, mew=2.5, capsize=6,
                    zorder=4)
    ax.set_xlim(-0.6, len(groups) - 0.4)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels(list(groups), rotation=30 if len(groups) > 4 else 0, ha="right"
                       if len(groups) > 4 else "center")
    ax.set_ylabel("final test accuracy (%)")
    ax.set_title(title or "sweep", fontsize=10)
    ax.grid(axis="y", lw=0.4, alpha=0.6)
    fig.tight_layout()
    return fig
