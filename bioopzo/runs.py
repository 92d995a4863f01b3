"""Run folders, checkpoints, versions, and files written so that nothing is lost or half-written.

Atomic writes: :func:`atomic_open` gives a temporary file in the target's folder; when
its ``with`` block ends without error the file is flushed to disk and renamed over the
target, so a reader sees the old file or the new one, never a part. :func:`write_atomic`
(text or bytes), :func:`write_csv_atomic`, :func:`write_json_atomic` and
:func:`save_figure_atomic` are built on it.

A run folder (``bioopzo train --out OUT``; see :mod:`bioopzo.train` for its files) is
written as ``OUT.partial`` (:func:`partial_folder`) and renamed to ``OUT`` when finished
(:func:`swap_in_folder`); an old ``OUT`` is removed only once the new one is in place.
While it runs, ``OUT.partial/checkpoint.npz`` holds everything needed to continue
(:func:`write_checkpoint`, :func:`load_checkpoint`). :func:`check_out_folder` refuses
an ``OUT`` that holds another run, something else, or an interrupted run, and (through
:func:`check_writable_folder`, which every command calls on its output folder before it
computes anything) one that cannot be created or written: under a file, or under a folder
this user cannot write to.
:func:`versions` records the package, Brian2, NumPy and Python versions.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import platform
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

from bioopzo.config import EVENT_DATASETS, ConfigError, ExperimentConfig, load_config

__all__ = ["atomic_open", "write_atomic", "write_csv_atomic", "write_json_atomic",
           "save_figure_atomic", "swap_in_folder", "partial_folder", "check_out_folder",
           "check_writable_folder",
           "write_checkpoint", "load_checkpoint", "checkpoint_epoch", "load_run", "versions",
           "RunFolderError", "RUN_FILES", "CHECKPOINT"]

#: files whose presence marks a folder as holding a bioopzo run
RUN_FILES = ("config.toml", "metrics.csv", "weights.npz", "summary.json")
#: the checkpoint of an unfinished run, inside ``OUT.partial``
CHECKPOINT = "checkpoint.npz"


class RunFolderError(ConfigError):
    """The output folder cannot be used (it holds a run, or is not a folder)."""


# ------------------------------------------------------------------ atomic writes
@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "wb", **open_args):
    """Open a temporary file beside ``path`` (``mode`` "w" or "wb"); rename it over
    ``path`` when the block ends without error, remove it otherwise."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode, **open_args) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)          # mkstemp creates 0600; results are ordinary files
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_atomic(path: str | Path, data: bytes | str) -> Path:
    """Write ``data`` (text as UTF-8, or bytes) to ``path`` atomically."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    with atomic_open(path, "wb") as fh:
        fh.write(data)
    return Path(path)


def write_csv_atomic(path: str | Path, rows: list[dict]) -> Path:
    """Write ``rows`` as CSV (columns: every key, in order of first appearance)."""
    if not rows:
        raise ValueError(f"no rows to write to {path}")
    fields: list[str] = []
    for row in rows:
        fields += [k for k in row if k not in fields]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields)
    writer.writeheader()
    writer.writerows(rows)
    return write_atomic(path, buf.getvalue())


def write_json_atomic(path: str | Path, data) -> Path:
    """Write ``data`` as indented JSON (values JSON cannot hold are written as text)."""
    return write_atomic(path, json.dumps(data, indent=2, default=str) + "\n")


def save_figure_atomic(fig, path: str | Path, dpi: int = 120) -> Path:
    """Save a matplotlib figure as PNG atomically."""
    with atomic_open(path, "wb") as fh:
        fig.savefig(fh, dpi=dpi, format="png")
    return Path(path)


def swap_in_folder(partial: Path, out: Path) -> None:
    """Rename the finished folder ``partial`` to ``out``, replacing an old ``out``."""
    if out.exists():
        old = out.with_name(out.name + ".old")
        if old.exists():
            shutil.rmtree(old)
        out.rename(old)
        partial.rename(out)
        shutil.rmtree(old)
    else:
        partial.rename(out)


# -------------------------------------------------------------------- run folders
def partial_folder(out: Path) -> Path:
    """``OUT.partial``: where the run for ``OUT`` is written until it finishes."""
    return out.with_name(out.name + ".partial")


def check_writable_folder(out: str | Path, option: str = "--out") -> Path:
    """Refuse an output folder ``out`` (given as ``option``) that is a file, lies under a
    file, or cannot be created or written (its nearest existing folder refuses a new
    entry: permissions, a read-only file system). Writes nothing that stays: the test
    is a temporary folder made and removed in the nearest existing folder."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise RunFolderError(f"{option} {str(out)!r} exists and is not a folder; "
                             "choose a folder path")
    existing = out.absolute()
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise RunFolderError(f"{option} {str(out)!r} lies under the file {str(existing)!r}; "
                             "choose a path under a folder")
    try:
        probe = tempfile.mkdtemp(dir=existing, prefix=".bioopzo-write-test-")
        os.rmdir(probe)
    except OSError as exc:
        raise RunFolderError(f"{option} {str(out)!r} cannot be written: {str(existing)!r} "
                             f"refuses new files ({exc.strerror}); choose a folder you can "
                             "write to") from None
    return out


def check_out_folder(out: Path, overwrite: bool) -> None:
    """Refuse ``out`` if it is a file, lies under a file or an unwritable folder, holds
    something other than a run, holds a run (unless ``overwrite``), or has an
    interrupted run beside it (unless ``overwrite``)."""
    check_writable_folder(out)
    if out.is_dir() and any(out.iterdir()):
        if any((out / name).exists() for name in RUN_FILES):
            if not overwrite:
                raise RunFolderError(
                    f"{str(out)!r} already holds a run; choose another --out, or pass "
                    "--overwrite to replace it (the old run is kept until the new one finishes)"
                )
        else:
            raise RunFolderError(
                f"{str(out)!r} is not empty and holds no bioopzo run; choose an empty or new folder"
            )
    partial = partial_folder(out)
    if (partial / CHECKPOINT).exists() and not overwrite:
        epoch = checkpoint_epoch(partial)
        raise RunFolderError(
            f"{str(partial)!r} holds an interrupted run (checkpoint after epoch {epoch}); "
            f"continue it with `bioopzo train --resume {out}`, or pass --overwrite to discard it"
        )


def load_run(run_dir: str | Path) -> tuple[ExperimentConfig, dict]:
    """The resolved config and learnable state of a finished run."""
    run_dir = Path(run_dir)
    missing = [name for name in ("config.toml", "weights.npz") if not (run_dir / name).is_file()]
    if missing:
        raise RunFolderError(
            f"{str(run_dir)!r} is not a finished bioopzo run (missing {', '.join(missing)}); "
            "pass the folder that `bioopzo train --out` wrote"
        )
    config = load_config(run_dir / "config.toml")
    try:
        with np.load(run_dir / "weights.npz") as f:
            state = {k: f[k] for k in f.files}
    except Exception as exc:  # corrupt or truncated file
        raise RunFolderError(f"{run_dir / 'weights.npz'} cannot be read ({exc})") from None
    return config, state


# -------------------------------------------------------------------- checkpoints
def write_checkpoint(run_dir: Path, epoch: int, state: dict, rng, rows: list[dict]) -> None:
    """Atomically replace ``run_dir/checkpoint.npz``: the learnable ``state`` after
    ``epoch``, the state of the shuffling generator ``rng`` and the metric ``rows``."""
    meta = {"epoch": epoch, "rng_state": rng.bit_generator.state, "metrics": rows}
    with atomic_open(run_dir / CHECKPOINT, "wb") as fh:
        np.savez(fh, **{f"state/{k}": v for k, v in state.items()},
                 meta=np.array(json.dumps(meta)))


def load_checkpoint(run_dir: str | Path) -> dict:
    """``{"epoch", "state", "rng_state", "metrics"}`` of a run folder's checkpoint."""
    path = Path(run_dir) / CHECKPOINT
    try:
        with np.load(path) as f:
            meta = json.loads(str(f["meta"]))
            state = {k[len("state/"):]: f[k] for k in f.files if k.startswith("state/")}
    except Exception as exc:
        raise RunFolderError(f"checkpoint {path} cannot be read ({exc}); start the run again "
                             "with --overwrite") from None
    return {**meta, "state": state}


def checkpoint_epoch(run_dir: Path) -> int | str:
    """The epoch of ``run_dir``'s checkpoint, or ``"?"`` when it cannot be read."""
    try:
        return load_checkpoint(run_dir)["epoch"]
    except RunFolderError:
        return "?"


# ----------------------------------------------------------------------- versions
def versions(config: ExperimentConfig | None = None) -> dict:
    """Package, Brian2, NumPy and Python versions, platform and command line; with a
    ``config``, also its device (and tonic's version for event data sets)."""
    import brian2

    import bioopzo

    out = {
        "bioopzo": bioopzo.__version__,
        "brian2": brian2.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "command": " ".join(sys.argv),
    }
    if config is not None:
        out["device"] = config.device.name
        if config.data.dataset in EVENT_DATASETS:   # the event files are read by tonic
            import tonic

            out["tonic"] = tonic.__version__
    return out
