"""Running a sweep: every point one training run on dask.distributed, resumable and exactly-once.

See :mod:`bioopzo.sweep.plan` for sweep files and their points.

Each point is one :func:`bioopzo.train.train` run, in a child Python process
(``python -m bioopzo.sweep.point``) so that points never share Brian2 device
state, with its own run folder and Brian2 build folder. A sweep folder holds::

    sweep.toml             copy of the sweep file
    configs/<point>.toml   the point's resolved config (rerun one: bioopzo train --config ...)
    runs/<point>/          the point's run folder (see bioopzo.train) + sweep_point.json, train.log
    results.csv            one row per completed point (overrides, seed, accuracies, wall time,
    results.parquet          versions), in sweep order
    summary.png            final test accuracy per setting, one dot per seed, mean ± sd
    failures.json          failed points with their error (absent when none failed)
    failed/<point>.log     a failed point's output
    attempts.log           one line per attempt event (start, claimed, failed, discarded)
    running/<point>        marker of an executing task (worker pid), while it runs

Exactly-once: an attempt trains into ``attempts/<point>.<uuid>`` and claims its
point by renaming that folder to ``runs/<point>`` (atomic on one file system;
a rename onto a run folder that exists fails, so a second attempt of the same
point is discarded, never recorded twice). A point whose run folder exists is
skipped, so rerunning an interrupted sweep only runs what is missing. A worker
that dies mid-task has its task retried by the scheduler (``allowed-failures``
times, then the point is reported failed); the dead worker's child process
notices that its parent is gone and exits. The table is rebuilt from the run
folders (:mod:`bioopzo.sweep.table`) and written atomically. The claim protocol is
:mod:`bioopzo.sweep.task`; where the tasks run is :mod:`bioopzo.sweep.cluster`.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from bioopzo.config import ConfigError
from bioopzo.runs import save_figure_atomic, write_atomic
from bioopzo.sweep.cluster import (ALLOWED_WORKER_DEATHS, CLUSTER_KINDS, check_submit_command,
                                   dask_settings, require_dask, start_client)
from bioopzo.sweep.plan import SweepPoint, SweepSpec
from bioopzo.sweep.table import collect_table, summary_figure, write_table
from bioopzo.sweep.task import is_complete, run_point
from bioopzo.options import PLUS_MINUS, plural, read_fraction

__all__ = ["run_sweep", "SweepReport", "pending_points", "plan_text", "format_report"]


@dataclass
class SweepReport:
    total: int
    already_done: int
    done: int
    failed: dict            # point id -> error text
    rows: list
    table: tuple | None = None
    figure: Path | None = None

    @property
    def ok(self) -> bool:
        return not self.failed


def _write_configs(spec: SweepSpec) -> None:
    folder = spec.out / "configs"
    folder.mkdir(parents=True, exist_ok=True)
    for point in spec.points:
        path = folder / f"{point.id}.toml"
        text = point.config.to_toml()
        if not path.is_file() or path.read_text() != text:
            write_atomic(path, text)


def pending_points(spec: SweepSpec) -> list[SweepPoint]:
    """The points of ``spec`` that have no complete run folder yet."""
    return [p for p in spec.points if not is_complete(spec.out / "runs" / p.id)]


def plan_text(spec: SweepSpec, pending: list[SweepPoint]) -> str:
    """The points of ``spec``, each marked done or to run."""
    lines = [f"sweep {spec.name}: {plural(len(spec.points), 'point')} from {spec.base} "
             f"({len(spec.points) - len(pending)} already done) -> {spec.out}"]
    for point in spec.points:
        state = "to run" if point in pending else "done"
        lines.append(f"  {state:7s} {point.id}  {json.dumps(point.overrides)}")
    return "\n".join(lines)


def run_sweep(spec: SweepSpec, *, scheduler: str | None = None, cluster: str = "local",
              workers: int | None = None, progress: bool = True, echo=print) -> SweepReport:
    """Run the points of ``spec`` that have no complete run folder; write table and figure."""
    from tqdm import tqdm

    require_dask()
    if cluster not in CLUSTER_KINDS:
        raise ConfigError(f"cluster {cluster!r} is not one of {', '.join(CLUSTER_KINDS)}")
    if scheduler is None:
        check_submit_command(cluster)
    spec.out.mkdir(parents=True, exist_ok=True)
    with _sweep_lock(spec.out):
        return _run_sweep_locked(spec, scheduler, cluster, workers, progress, echo, tqdm)


@contextlib.contextmanager
def _sweep_lock(out: Path):
    """One driver per sweep folder (its end-of-run cleanup assumes no other attempts)."""
    try:
        import fcntl
    except ImportError:          # not POSIX: no lock
        yield
        return
    with (out / ".sweep.lock").open("w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConfigError(f"another bioopzo sweep is running in {out}; wait for it to end "
                              "(or use another --out)") from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _run_sweep_locked(spec, scheduler, cluster, workers, progress, echo, tqdm) -> SweepReport:
    _write_configs(spec)
    if spec.path.resolve() != (spec.out / "sweep.toml").resolve():
        write_atomic(spec.out / "sweep.toml", spec.path.read_text())
    pending = pending_points(spec)
    n_before = len(spec.points) - len(pending)
    failed: dict[str, str] = {}
    done = 0
    shutil.rmtree(spec.out / "failed", ignore_errors=True)
    if not pending:
        echo(f"sweep {spec.name}: all {plural(len(spec.points), 'point')} already done; nothing to run")
    else:
        n_workers = workers or max(1, min(len(pending), os.cpu_count() or 1))
        where = scheduler or f"{cluster} cluster with {plural(n_workers, 'worker')}"
        echo(f"sweep {spec.name}: {plural(len(spec.points), 'point')}, {n_before} already done, "
             f"{len(pending)} to run on {where}; output {spec.out}")
        with dask_settings():
            client, owned = start_client(spec, scheduler, cluster, n_workers)
            try:
                done, failed = _run_pending(client, spec, pending, progress, tqdm)
            finally:
                client.close()
                if owned is not None:
                    owned.close()
        for debris in ("attempts", "running"):       # left behind by killed workers
            shutil.rmtree(spec.out / debris, ignore_errors=True)
    rows = collect_table(spec)
    report = SweepReport(len(spec.points), n_before, done, failed, rows)
    report.table = write_table(rows, spec.out)
    if rows:
        report.figure = spec.out / "summary.png"
        save_figure_atomic(summary_figure(rows, spec.varying, f"{spec.name}: {plural(len(rows), 'run')} "
                                                        "(dots: seeds; bars: mean ± sd)"),
                           report.figure)
    failures = spec.out / "failures.json"
    if failed:
        ids = {p.id: p for p in spec.points}
        write_atomic(failures, json.dumps(
            [{"point": k, "overrides": ids[k].overrides, "error": v} for k, v in failed.items()],
            indent=2) + "\n")
    elif failures.exists():
        failures.unlink()
    return report


def _run_pending(client, spec: SweepSpec, pending: list[SweepPoint], progress: bool, tqdm):
    from distributed import wait

    futures = {}
    for point in pending:
        task = {"sweep_dir": str(spec.out), "id": point.id, "overrides": point.overrides,
                "config": str(spec.out / "configs" / f"{point.id}.toml")}
        fut = client.submit(run_point, task, key=f"bioopzo-sweep-{spec.name}-{point.id}",
                            pure=False)
        futures[fut] = point
    bar = tqdm(total=len(futures), desc=f"sweep {spec.name}", unit="point", file=sys.stderr,
               disable=not progress, dynamic_ncols=True)
    done, failed = 0, {}
    remaining = set(futures)
    shown = None
    try:
        while remaining:
            try:
                finished, remaining = wait(remaining, timeout=1.0, return_when="FIRST_COMPLETED")
            except TimeoutError:
                finished = set()
            for fut in finished:
                point = futures[fut]
                if fut.status == "finished":
                    done += 1
                else:
                    failed[point.id] = _error_text(fut)
                bar.update(1)
            running = _n_running(spec.out, {futures[f].id for f in remaining})
            if (done, running, len(failed)) != shown:
                shown = (done, running, len(failed))
                bar.set_postfix_str(f"done {done}, running {running}, failed {len(failed)}")
    finally:
        bar.close()
    return done, failed


def _n_running(sweep_dir: Path, pending_ids: set) -> int:
    """Points whose task is executing now: each running task keeps a marker file
    ``running/<point>`` (a marker left by a killed worker counts until the retry ends)."""
    folder = sweep_dir / "running"
    return len(pending_ids & {p.name for p in folder.iterdir()}) if folder.is_dir() else 0


def _error_text(fut) -> str:
    exc = fut.exception()
    name = type(exc).__name__
    if name == "KilledWorker":
        return (f"the worker running this point died {ALLOWED_WORKER_DEATHS + 1} times "
                "(out of memory? killed by the batch system?)")
    return f"{name}: {exc}"


def format_report(report: SweepReport, spec: SweepSpec) -> str:
    """What a sweep did, in lines: counts, table and figure paths, accuracy per setting."""
    lines = [f"sweep {spec.name}: {plural(report.total, 'point')}: {report.done} run now, "
             f"{report.already_done} already done, {len(report.failed)} failed"]
    if report.table:
        lines.append(f"table: {report.table[0]} and {report.table[1].name} ({len(report.rows)} rows)")
    if report.figure:
        lines.append(f"figure: {report.figure}")
    if report.rows:
        lines.append(_accuracy_lines(report.rows, spec.varying))
    for pid, error in report.failed.items():
        lines.append(f"FAILED {pid}: {error}")
    return "\n".join(lines)


def _accuracy_lines(rows: list[dict], varying: tuple[str, ...]) -> str:
    keys = [k for k in varying if k != "training.seed"]
    groups: dict[str, list[float]] = {}
    for r in rows:
        label = ", ".join(f"{k}={r[k]}" for k in keys) or "all points"
        groups.setdefault(label, []).append(100 * float(read_fraction(r, "final_test_accuracy")))
    out = []
    for label, acc in groups.items():
        mean = sum(acc) / len(acc)
        sd = math.sqrt(sum((a - mean) ** 2 for a in acc) / (len(acc) - 1)) if len(acc) > 1 else 0.0
        out.append(f"  {label}: final test accuracy {mean:.1f} {PLUS_MINUS} {sd:.1f} % "
                   f"({plural(len(acc), 'seed')})")
    return "\n".join(out)
