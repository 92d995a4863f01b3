"""Sweeps: many independent training runs on dask.distributed, resumable and exactly-once.

A sweep file (TOML) names a base config and the overrides that make its points::

    name = "rules_x_seeds"
    config = "digits_fc"               # path (relative to this file) or packaged model name
    [fixed]                            # applied to every point
    "training.epochs" = 12
    [grid]                             # Cartesian product of these lists
    "rule.name" = ["opzo", "bp", "dfa", "zo"]
    "training.seed" = [1, 2, 3, 4, 5]
    [[points]]                         # optional list of override tables (crossed with the grid)
    "noise.scale" = 0.25

Keys are dotted ``section.key`` names of :mod:`bioopzo.config`; they win over the base
file's ``[per_rule]`` tables (a swept ``noise.scale`` applies to every rule). Every
point is validated through :meth:`bioopzo.config.ExperimentConfig.from_dict` before any
work starts, so a typo is a :class:`~bioopzo.config.ConfigError` naming the point and key.
The number of points is ``len(points or [{}]) * prod(len(v) for v in grid.values())``.

Each point is one :func:`bioopzo.train.train` run, in a child Python process
(``python -m bioopzo.sweep_point``) so that points never share Brian2 device
state, with its own run folder and Brian2 build folder. A sweep folder holds::

    sweep.toml             copy of the sweep file
    configs/<point>.toml   the point's resolved config (rerun one: bioopzo train --config ...)
    runs/<point>/          the point's run folder (see bioopzo.train) + sweep_point.json, train.log
    results.csv            one row per completed point (overrides, seed, accuracies, wall time,
    results.parquet          versions), in sweep order
    summary.png            final test accuracy per setting, one dot per seed, mean +- sd
    failures.json          failed points with their error (absent when none failed)
    failed/<point>.log     a failed point's output
    attempts.log           one line per attempt event (start, claimed, failed, discarded)
    running/<point>        marker of an executing task (worker pid), while it runs

A point's name is its varying overrides plus a hash of its resolved config, so
changing the base config (or a bioopzo version that resolves it differently)
makes new points instead of reusing old run folders.

Exactly-once: an attempt trains into ``attempts/<point>.<uuid>`` and claims its
point by renaming that folder to ``runs/<point>`` (atomic on one file system;
a rename onto a run folder that exists fails, so a second attempt of the same
point is discarded, never recorded twice). A point whose run folder exists is
skipped, so rerunning an interrupted sweep only runs what is missing. A worker
that dies mid-task has its task retried by the scheduler (``allowed-failures``
times, then the point is reported failed); the dead worker's child process
notices that its parent is gone and exits. The table is rebuilt from the run
folders and written atomically (temporary file, then rename).
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import itertools
import json
import logging
import math
import os
import re
import shutil
import sys
import tomllib
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bioopzo.config import ConfigError, ExperimentConfig
from bioopzo.sweep_task import PointFailed, _atomic_write_text, _is_complete, run_point

__all__ = ["SweepSpec", "SweepPoint", "PointFailed", "load_sweep", "run_sweep", "run_point",
           "collect_table", "write_table", "summary_figure", "job_script", "CLUSTER_KINDS"]

log = logging.getLogger("bioopzo.sweep")

CLUSTER_KINDS = ("local", "slurm", "pbs")
SWEEP_KEYS = ("name", "config", "out", "fixed", "grid", "points", "cluster")
#: how often the scheduler reschedules a task whose worker died before it gives up
ALLOWED_WORKER_DEATHS = 3
#: dask-jobqueue defaults for one single-threaded worker per job (override in [cluster.slurm])
JOBQUEUE_DEFAULTS = {"cores": 1, "processes": 1, "memory": "4GB", "walltime": "02:00:00"}
DEPENDENCY_HINT = "bioopzo sweep needs dask.distributed and pyarrow: pip install 'bioopzo[sweep]'"


@dataclass(frozen=True)
class SweepPoint:
    """One run: its overrides (dotted keys), resolved config and folder name."""

    id: str
    overrides: dict
    config: ExperimentConfig = field(compare=False, repr=False)

    @property
    def seed(self) -> int:
        return self.config.training.seed


@dataclass(frozen=True)
class SweepSpec:
    name: str
    path: Path
    base: Path
    points: tuple[SweepPoint, ...]
    varying: tuple[str, ...]          # dotted keys that differ between points
    out: Path
    cluster: dict = field(default_factory=dict)


# ------------------------------------------------------------------ sweep files
def _flatten(table: dict, prefix: str = "") -> dict:
    """``{"rule": {"name": "bp"}}`` and ``{"rule.name": "bp"}`` both give ``{"rule.name": "bp"}``."""
    out = {}
    for key, value in table.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, dotted + "."))
        else:
            out[dotted] = value
    return out


def _nest(flat: dict) -> dict:
    nested: dict = {}
    for dotted, value in flat.items():
        *sections, key = dotted.split(".")
        node = nested
        for s in sections:
            node = node.setdefault(s, {})
        node[key] = value
    return nested


def resolve_sweep_path(text: str) -> Path:
    """A path, or the name of a packaged sweep (``models/sweeps/<name>.toml``)."""
    path = Path(text)
    if path.is_file():
        return path
    from importlib.resources import files

    folder = files("bioopzo").joinpath("models", "sweeps")
    named = ({Path(p.name).stem: Path(str(p)) for p in folder.iterdir() if p.name.endswith(".toml")}
             if folder.is_dir() else {})
    if text in named:
        return named[text]
    raise ConfigError(f"sweep file {text!r} does not exist and is not a packaged sweep; "
                      f"packaged sweeps: {', '.join(sorted(named)) or 'none'}")


def _resolve_base(text: Any, sweep_path: Path) -> Path:
    from bioopzo.config import resolve_config_path

    if not isinstance(text, str):
        raise ConfigError(f"{sweep_path}: config = {text!r} must be a path or a model name "
                          "(like \"digits_fc\")")
    beside = sweep_path.parent / text
    if beside.is_file():
        return beside
    try:
        return resolve_config_path(text)
    except ConfigError as exc:
        raise ConfigError(f"{sweep_path}: {exc}") from None


def _slug(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else value
    return re.sub(r"[^A-Za-z0-9.+-]+", "-", text).strip("-")[:24] or "x"


def _short(key: str) -> str:
    """``training.seed`` -> ``seed``, ``rule.name`` -> ``rule``."""
    parts = key.split(".")
    return parts[-2] if parts[-1] == "name" and len(parts) > 1 else parts[-1]


def _point_id(overrides: dict, varying: tuple[str, ...], config: ExperimentConfig) -> str:
    digest = hashlib.sha1(config.to_toml().encode()).hexdigest()[:8]
    parts = [f"{_short(k)}-{_slug(overrides[k])}" for k in varying if k in overrides]
    return "_".join(parts + [digest])


def point_config(base: Path, overrides: dict) -> ExperimentConfig:
    """The base config with a point's dotted overrides applied.

    The overrides also win over the base file's ``[per_rule.<rule>]`` tables (which
    :func:`~bioopzo.config.load_config` applies after its overrides), so that a sweep over
    ``noise.scale`` also changes the noise of a rule whose per-rule table sets it.
    """
    from bioopzo.config import deep_merge

    nested = _nest(overrides)
    try:
        raw = tomllib.loads(base.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{base} is not valid TOML: {exc}") from None
    raw = deep_merge(raw, nested)
    per_rule = raw.get("per_rule")
    if isinstance(per_rule, dict):
        sections = {k: v for k, v in nested.items() if k not in ("name", "rule", "per_rule")}
        if "rule" in nested:
            sections["rule"] = {k: v for k, v in nested["rule"].items() if k != "name"}
        raw["per_rule"] = {rule: deep_merge(table, sections) if isinstance(table, dict) else table
                           for rule, table in per_rule.items()}
    return ExperimentConfig.from_dict(raw, origin=str(base))


def load_sweep(path: str | Path, out: str | Path | None = None) -> SweepSpec:
    """Read and validate a sweep file; every point's config is built (and checked) here."""
    path = resolve_sweep_path(str(path))
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"sweep file {path} is not valid TOML: {exc}") from None
    unknown = sorted(set(raw) - set(SWEEP_KEYS))
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) {unknown}; a sweep file has "
                          f"{', '.join(SWEEP_KEYS)}")
    if "config" not in raw:
        raise ConfigError(f"{path}: no base config; add config = \"digits_fc\" (a model name "
                          "or a path relative to the sweep file)")
    base = _resolve_base(raw["config"], path)
    name = str(raw.get("name", path.stem))
    for key in ("fixed", "grid", "cluster"):
        if not isinstance(raw.get(key, {}), dict):
            raise ConfigError(f"{path}: [{key}] must be a table")
    fixed = _flatten(raw.get("fixed", {}))
    grid = _flatten(raw.get("grid", {}))
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{path}: [grid] {key} = {values!r} must be a non-empty list of "
                              f"values, like \"{key}\" = [1, 2]")
    listed = raw.get("points", [{}])
    if not isinstance(listed, list) or not listed or not all(isinstance(p, dict) for p in listed):
        raise ConfigError(f"{path}: points must be a non-empty array of tables ([[points]])")
    listed = [_flatten(p) for p in listed]
    varying = tuple(dict.fromkeys(
        [k for p in listed for k in p if len({json.dumps(q.get(k)) for q in listed}) > 1]
        + [k for k, v in grid.items() if len(v) > 1]))

    points: list[SweepPoint] = []
    seen: dict[str, dict] = {}
    for extra in listed:
        for combo in itertools.product(*grid.values()):
            overrides = {**fixed, **extra, **dict(zip(grid, combo))}
            try:
                config = point_config(base, overrides)
            except ConfigError as exc:
                raise ConfigError(f"sweep file {path}, point {overrides}: {exc}") from None
            pid = _point_id(overrides, varying, config)
            if pid in seen:
                raise ConfigError(f"{path}: points {seen[pid]} and {overrides} give the same "
                                  "resolved config; remove one of them")
            seen[pid] = overrides
            points.append(SweepPoint(pid, overrides, config))
    cluster = raw.get("cluster", {})
    for kind, table in cluster.items():
        if kind not in ("slurm", "pbs") or not isinstance(table, dict):
            raise ConfigError(f"{path}: [cluster.{kind}] is not a dask-jobqueue cluster table; "
                              "use [cluster.slurm] or [cluster.pbs] with SLURMCluster/PBSCluster "
                              "arguments (queue, account, walltime, memory, ...)")
    out_dir = Path(out) if out is not None else Path(raw.get("out", Path("runs") / "sweeps" / name))
    return SweepSpec(name, path, base, tuple(points), varying, out_dir.absolute(), cluster)


# --------------------------------------------------------------- results table
VERSION_KEYS = ("bioopzo", "brian2", "numpy", "python")


def collect_table(spec: SweepSpec) -> list[dict]:
    """One row per completed point, in sweep order, read from the run folders."""
    rows = []
    for point in spec.points:
        run_dir = spec.out / "runs" / point.id
        if not _is_complete(run_dir):
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
            "final_test_accuracy": summary["final_test_accuracy"],
            "best_test_accuracy": summary["best_test_accuracy"],
            "final_train_accuracy": summary["final_train_accuracy"],
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
    tmp = csv_path.with_name(f".{csv_path.name}.{uuid.uuid4().hex[:8]}.tmp")
    with tmp.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(cols)
        writer.writerows(zip(*cols.values()))
    os.replace(tmp, csv_path)
    table = pa.table({k: pa.array(v) if v else pa.array([], pa.string()) for k, v in cols.items()})
    tmp = pq_path.with_name(f".{pq_path.name}.{uuid.uuid4().hex[:8]}.tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, pq_path)
    return csv_path, pq_path


def summary_figure(rows: list[dict], varying: tuple[str, ...], title: str = ""):
    """Final test accuracy per setting (the varying keys except the seed): one dot per
    seed, a bar at the mean with +- 1 sd. Returns a matplotlib Figure (no pyplot)."""
    import numpy as np
    from matplotlib.figure import Figure

    keys = [k for k in varying if k != "training.seed"]
    groups: dict[str, list[float]] = {}
    for r in rows:
        label = ", ".join(f"{_short(k)}={r[k]}" for k in keys) or "all points"
        groups.setdefault(label, []).append(100 * float(r["final_test_accuracy"]))
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


def _write_figure(fig, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    fig.savefig(tmp, dpi=120, format="png")
    os.replace(tmp, path)


# --------------------------------------------------------------------- clusters
def _require_dask():
    try:
        import distributed  # noqa: F401
        import pyarrow  # noqa: F401
    except ImportError:
        raise ConfigError(DEPENDENCY_HINT) from None


def _jobqueue_cluster(kind: str, spec: SweepSpec, dashboard: bool = True):
    try:
        import dask_jobqueue
    except ImportError:
        raise ConfigError(f"--cluster {kind} needs dask-jobqueue: pip install 'bioopzo[sweep]'") \
            from None
    cls = {"slurm": dask_jobqueue.SLURMCluster, "pbs": dask_jobqueue.PBSCluster}[kind]
    kwargs = {**JOBQUEUE_DEFAULTS, **spec.cluster.get(kind, {})}
    if not dashboard:
        kwargs["scheduler_options"] = {**kwargs.get("scheduler_options", {}), "dashboard": False,
                                       "dashboard_address": ":0"}   # any free port
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        first = str(exc).splitlines()[0]
        raise ConfigError(f"{spec.path}: [cluster.{kind}] is not accepted by {cls.__name__} "
                          f"({first}); see dask-jobqueue's documentation for its arguments") from None


def job_script(spec: SweepSpec, kind: str) -> str:
    """The batch script dask-jobqueue would submit for one worker (nothing is submitted)."""
    _require_dask()
    cluster = _jobqueue_cluster(kind, spec, dashboard=False)
    try:
        return cluster.job_script()
    finally:
        cluster.close()


def _check_submit_command(cluster_kind: str) -> None:
    submit = {"slurm": "sbatch", "pbs": "qsub"}.get(cluster_kind)
    if submit and shutil.which(submit) is None:
        raise ConfigError(f"--cluster {cluster_kind} submits jobs with {submit!r}, which is not "
                          "on this machine's PATH; run on the cluster's login node, or add "
                          "--dry-run to see the job script")


def _dask_settings(verbose: bool = False):
    import dask
    import distributed  # noqa: F401  (configures its loggers on import)

    if not verbose:
        logging.getLogger("distributed").setLevel(logging.ERROR)

    return dask.config.set({
        "distributed.scheduler.allowed-failures": ALLOWED_WORKER_DEATHS,
        "distributed.scheduler.worker-saturation": 1.0,   # a worker runs what it is given
    })


def _start_client(spec: SweepSpec, scheduler: str | None, cluster_kind: str, workers: int):
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            return Client(scheduler, timeout="20s"), None
        except OSError as exc:
            raise ConfigError(f"cannot reach the dask scheduler at {scheduler!r} ({exc}); "
                              "start one with `dask scheduler` or use --cluster") from None
    if cluster_kind == "local":
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=":0", silence_logs=logging.ERROR)
    else:
        cluster = _jobqueue_cluster(cluster_kind, spec)
        cluster.scale(workers)
    return Client(cluster), cluster


# ------------------------------------------------------------------------ sweep
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
            _atomic_write_text(path, text)


def plan_text(spec: SweepSpec, pending: list[SweepPoint]) -> str:
    lines = [f"sweep {spec.name}: {len(spec.points)} points from {spec.base} "
             f"({len(spec.points) - len(pending)} already done) -> {spec.out}"]
    for point in spec.points:
        state = "to run" if point in pending else "done"
        lines.append(f"  {state:7s} {point.id}  {json.dumps(point.overrides)}")
    return "\n".join(lines)


def run_sweep(spec: SweepSpec, *, scheduler: str | None = None, cluster: str = "local",
              workers: int | None = None, progress: bool = True, echo=print) -> SweepReport:
    """Run the points of ``spec`` that have no complete run folder; write table and figure."""
    from tqdm import tqdm

    _require_dask()
    if cluster not in CLUSTER_KINDS:
        raise ConfigError(f"cluster {cluster!r} is not one of {', '.join(CLUSTER_KINDS)}")
    if scheduler is None:
        _check_submit_command(cluster)
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
        _atomic_write_text(spec.out / "sweep.toml", spec.path.read_text())
    pending = [p for p in spec.points if not _is_complete(spec.out / "runs" / p.id)]
    n_before = len(spec.points) - len(pending)
    failed: dict[str, str] = {}
    done = 0
    shutil.rmtree(spec.out / "failed", ignore_errors=True)
    if not pending:
        echo(f"sweep {spec.name}: all {len(spec.points)} points already done; nothing to run")
    else:
        n_workers = workers or max(1, min(len(pending), os.cpu_count() or 1))
        where = scheduler or f"{cluster} cluster with {n_workers} worker(s)"
        echo(f"sweep {spec.name}: {len(spec.points)} points, {n_before} already done, "
             f"{len(pending)} to run on {where}; output {spec.out}")
        with _dask_settings():
            client, owned = _start_client(spec, scheduler, cluster, n_workers)
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
        _write_figure(summary_figure(rows, spec.varying, f"{spec.name}: {len(rows)} runs "
                                                  "(dots: seeds; bars: mean ± sd)"),
                      report.figure)
    failures = spec.out / "failures.json"
    if failed:
        ids = {p.id: p for p in spec.points}
        _atomic_write_text(failures, json.dumps(
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
    lines = [f"sweep {spec.name}: {report.total} points: {report.done} run now, "
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
        groups.setdefault(label, []).append(100 * float(r["final_test_accuracy"]))
    out = []
    for label, acc in groups.items():
        mean = sum(acc) / len(acc)
        sd = math.sqrt(sum((a - mean) ** 2 for a in acc) / (len(acc) - 1)) if len(acc) > 1 else 0.0
        out.append(f"  {label}: final test accuracy {mean:.1f} +- {sd:.1f} % ({len(acc)} seeds)")
    return "\n".join(out)
