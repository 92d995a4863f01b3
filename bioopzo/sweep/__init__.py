"""Sweeps: many independent training runs on dask.distributed, resumable and exactly-once.

- :mod:`bioopzo.sweep.plan`: sweep files (a base config, fixed overrides, a grid, listed
  points) and the validated points they make (:func:`load_sweep`).
- :mod:`bioopzo.sweep.task`: one point as a dask task, trained in a child process and
  claimed exactly once (:func:`run_point`).
- :mod:`bioopzo.sweep.point`: the child process (``python -m bioopzo.sweep.point``).
- :mod:`bioopzo.sweep.cluster`: where tasks run (existing scheduler, local processes,
  SLURM/PBS via dask-jobqueue), and :func:`run_tasks` for any list of independent tasks.
- :mod:`bioopzo.sweep.table`: the results table (CSV and Parquet) and summary figure.
- :mod:`bioopzo.sweep.runner`: :func:`run_sweep`, which runs what is missing and writes
  the table.
- :mod:`bioopzo.sweep.command`: ``bioopzo sweep``.
"""

from bioopzo.sweep.cluster import CLUSTER_KINDS, job_script, run_tasks
from bioopzo.sweep.plan import SweepPoint, SweepSpec, load_sweep, point_config, resolve_sweep_path
from bioopzo.sweep.runner import SweepReport, format_report, pending_points, plan_text, run_sweep
from bioopzo.sweep.table import collect_table, summary_figure, write_table
from bioopzo.sweep.task import PointFailed, is_complete, run_point

__all__ = ["SweepSpec", "SweepPoint", "SweepReport", "PointFailed", "load_sweep", "point_config",
           "resolve_sweep_path", "run_sweep", "run_point", "run_tasks", "is_complete",
           "pending_points", "plan_text", "format_report", "collect_table", "write_table",
           "summary_figure", "job_script", "CLUSTER_KINDS"]
