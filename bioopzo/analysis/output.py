"""Atomic writers for analysis outputs (temp file in the same folder, then rename)."""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from pathlib import Path

from bioopzo.files import write_atomic

__all__ = ["write_text_atomic", "write_csv_atomic", "write_json_atomic", "save_figure_atomic",
           "REFERENCE_IMPLEMENTATION", "BRIAN2_IMPLEMENTATION"]

REFERENCE_IMPLEMENTATION = ("bioopzo/reference.py (NumPy oracle of the Brian2 model; batch 1 is step "
                            "for step the Brian2 model, tests/test_oracle.py)")
BRIAN2_IMPLEMENTATION = "Brian2 model via bioopzo.train.train"


def write_text_atomic(path: str | Path, text: str) -> Path:
    return write_atomic(path, text)


def write_csv_atomic(path: str | Path, rows: list[dict]) -> Path:
    if not rows:
        raise ValueError(f"no rows to write to {path}")
    fields: list[str] = []
    for row in rows:
        fields += [k for k in row if k not in fields]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields)
    writer.writeheader()
    writer.writerows(rows)
    return write_text_atomic(path, buf.getvalue())


def write_json_atomic(path: str | Path, data) -> Path:
    return write_text_atomic(path, json.dumps(data, indent=2, default=str) + "\n")


def save_figure_atomic(fig, path: str | Path, dpi: int = 120) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".png")
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=dpi, format="png")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def record(config_dicts: dict, arguments: dict, implementation: str, seconds: float) -> dict:
    """The JSON record saved next to every table: configs, arguments, versions."""
    from bioopzo.train import versions

    return {"implementation": implementation, "arguments": arguments, "configs": config_dicts,
            "versions": versions(), "wall_seconds": seconds}


class AnalysisResult:
    """Rows of one analysis plus what is needed to write and summarise them.

    Subclasses set ``name`` and implement ``figure()`` and ``headline()``."""

    name = "analysis"

    def __init__(self, rows: list[dict], meta: dict):
        self.rows = rows
        self.meta = meta

    def headline(self) -> list[str]:  # pragma: no cover - abstract
        raise NotImplementedError

    def figure(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def write(self, folder: str | Path) -> dict:
        """Write ``<name>.csv``, ``<name>.png`` and ``<name>.json`` (atomically)."""
        folder = Path(folder)
        paths = {"csv": write_csv_atomic(folder / f"{self.name}.csv", self.rows)}
        fig = self.figure()
        paths["png"] = save_figure_atomic(fig, folder / f"{self.name}.png")
        meta = dict(self.meta)
        meta["headline"] = self.headline()
        paths["json"] = write_json_atomic(folder / f"{self.name}.json", meta)
        return paths


def new_figure(ncols: int, width: float = 4.2, height: float = 3.4):
    """A matplotlib Figure (no pyplot state) with ``ncols`` axes in a row."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * ncols, height), layout="constrained")
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    return fig, list(axes)
