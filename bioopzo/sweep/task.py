"""The dask task of a sweep: one point, trained in a child process, claimed exactly once.

The task itself never runs Brian2 in the worker process: each point's child process
``python -m bioopzo.sweep.point`` does, in isolation (importing this module still
imports the ``bioopzo`` package, and with it Brian2's units, once per worker).

Claim protocol: an attempt trains into ``attempts/<point>.<attempt>`` and renames that
folder to ``runs/<point>``. ``rename(2)`` is atomic on one file system and fails when
the target is a non-empty folder, so of two attempts of one point (a retry after a
worker death racing a slow original, or two sweeps started at once) exactly one is
recorded; the other is discarded. Events (start, claimed, failed, discarded) are
appended to ``attempts.log``, one short ``O_APPEND`` write per line.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from bioopzo.runs import write_atomic

__all__ = ["PointFailed", "run_point", "is_complete"]


class PointFailed(RuntimeError):
    """One point's training run failed; the message carries the end of its log."""


def is_complete(run_dir: Path) -> bool:
    """Whether ``run_dir`` holds a finished training run (its summary.json)."""
    return (run_dir / "summary.json").is_file()


def _log_event(sweep_dir: Path, *fields: Any) -> None:
    """One line per attempt event, appended atomically (short O_APPEND writes)."""
    line = "\t".join([time.strftime("%Y-%m-%dT%H:%M:%S"), *map(str, fields)]) + "\n"
    fd = os.open(sweep_dir / "attempts.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def _remove_marker(marker: Path, attempt: str) -> None:
    try:
        if json.loads(marker.read_text()).get("attempt") == attempt:
            marker.unlink()
    except (OSError, ValueError):
        pass


def run_point(task: dict) -> dict:
    """Dask task: train one point in a child process and claim its run folder.

    ``task`` holds ``sweep_dir``, ``id``, ``config`` (path of the resolved TOML)
    and ``overrides``, and optionally ``trainer``, the command that trains one point
    (default: the worker's ``python -m bioopzo.sweep.point``; it is called with
    ``CONFIG OUT --parent-pid PID`` and must leave a complete run folder in ``OUT``).
    Returns ``{"id", "status": "done"|"already done", ...}``;
    raises :class:`PointFailed` when training fails.
    """
    sweep_dir = Path(task["sweep_dir"])
    pid = task["id"]
    run_dir = sweep_dir / "runs" / pid
    if is_complete(run_dir):
        return {"id": pid, "status": "already done"}
    attempt = f"{uuid.uuid4().hex[:12]}"
    work = sweep_dir / "attempts" / f"{pid}.{attempt}"
    work.parent.mkdir(parents=True, exist_ok=True)
    log_path = work.with_name(work.name + ".log")
    _log_event(sweep_dir, "start", pid, attempt, f"worker_pid={os.getpid()}")
    marker = sweep_dir / "running" / pid
    marker.parent.mkdir(exist_ok=True)
    write_atomic(marker, json.dumps({"attempt": attempt, "worker_pid": os.getpid(),
                                           "host": os.uname().nodename}))
    t0 = time.perf_counter()
    trainer = task.get("trainer") or [sys.executable, "-m", "bioopzo.sweep.point"]
    cmd = [*trainer, task["config"], str(work), "--parent-pid", str(os.getpid())]
    try:
        with log_path.open("w") as fh:
            proc = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL,
                                  env={**os.environ, "PYTHONUNBUFFERED": "1"})
    finally:
        _remove_marker(marker, attempt)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0 or not is_complete(work):
        tail = log_path.read_text(errors="replace").strip().splitlines()[-12:]
        failed = sweep_dir / "failed"
        failed.mkdir(exist_ok=True)
        os.replace(log_path, failed / f"{pid}.log")
        shutil.rmtree(work, ignore_errors=True)
        _log_event(sweep_dir, "failed", pid, attempt, f"exit={proc.returncode}")
        raise PointFailed(f"exit status {proc.returncode}; log {failed / (pid + '.log')}:\n    "
                          + "\n    ".join(tail))
    os.replace(log_path, work / "train.log")
    info = {"id": pid, "overrides": task["overrides"], "attempt": attempt,
            "worker_pid": os.getpid(), "host": os.uname().nodename, "point_seconds": seconds}
    (work / "sweep_point.json").write_text(json.dumps(info, indent=2) + "\n")
    run_dir.parent.mkdir(exist_ok=True)
    try:
        os.rename(work, run_dir)        # the claim: fails if another attempt got there first
    except OSError:
        shutil.rmtree(work, ignore_errors=True)
        if not is_complete(run_dir):
            _log_event(sweep_dir, "failed", pid, attempt, "run folder blocked")
            raise PointFailed(f"{run_dir} exists but holds no complete run (no summary.json); "
                              "remove it and rerun the sweep") from None
        _log_event(sweep_dir, "discarded", pid, attempt, "another attempt claimed the point")
        return {"id": pid, "status": "already done"}
    _log_event(sweep_dir, "claimed", pid, attempt, f"seconds={seconds:.1f}")
    return {"id": pid, "status": "done", "seconds": seconds}
