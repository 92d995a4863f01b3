"""What every analysis writes: a table, a figure and a JSON record, each written atomically
(:mod:`bioopzo.runs`), plus the names of the implementations that produce the numbers.

:class:`AnalysisResult` holds one analysis's rows and writes ``<name>.csv``,
``<name>.png`` and ``<name>.json`` (configs, arguments, versions, headline).
"""

from __future__ import annotations

from pathlib import Path

from bioopzo.runs import save_figure_atomic, versions, write_csv_atomic, write_json_atomic

__all__ = ["AnalysisResult", "record", "new_figure", "REFERENCE_IMPLEMENTATION",
           "BRIAN2_IMPLEMENTATION"]

REFERENCE_IMPLEMENTATION = ("bioopzo/reference.py (NumPy oracle of the Brian2 model; batch 1 is step "
                            "for step the Brian2 model, tests/rules/test_oracle.py)")
BRIAN2_IMPLEMENTATION = "Brian2 model via bioopzo.train.train"


def record(config_dicts: dict, arguments: dict, implementation: str, seconds: float) -> dict:
    """The JSON record saved next to every table: configs, arguments, versions."""
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
