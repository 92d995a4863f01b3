"""Clean interrupts of `bioopzo train`: SIGINT and SIGTERM stop within seconds, kill the
compiled binary, keep the last checkpoint, say how to continue, and exit with 130 / 143;
``--resume`` then ends bit for bit where an uninterrupted run ends."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from test_training import write_config

from bioopzo.cli import main
from bioopzo.config import load_config
from bioopzo.runs import load_checkpoint
from bioopzo.train import train


def _weights(run_dir: Path) -> dict:
    with np.load(run_dir / "weights.npz") as f:
        return {k: f[k] for k in f.files}


def _processes_in(folder: Path) -> list[str]:
    """Command lines of live processes whose working folder lies in ``folder``
    (a compiled binary, make or the compiler run in the Brian2 project folder)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if cwd.startswith(str(folder)):
            found.append(f"{entry.name}: {cmdline}")
    return found


def _start(config: Path, out: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "bioopzo", "train", "--config", str(config),
                             "--out", str(out), "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def _binary_runs(partial: Path) -> int:
    """Runs of the compiled binary so far (each leaves brian_build/results_<n>)."""
    found = [int(p.name.split("_")[1]) for p in (partial / "brian_build").glob("results_*")
             if p.name.split("_")[1].isdigit()]
    return max(found, default=0)


def _assert_clean_interrupt(proc, signalled_at, out: Path, status: int, epoch: int | None):
    """``epoch``: the one the signal must land in (None: the one after the checkpoint)."""
    stdout, stderr = proc.communicate(timeout=60)
    elapsed = time.time() - signalled_at
    if epoch is None:
        epoch = load_checkpoint(out.with_name(out.name + ".partial"))["epoch"] + 1
    assert proc.returncode == status, (proc.returncode, stderr[-3000:])
    assert elapsed < 5, f"took {elapsed:.1f} s to stop"
    assert "Traceback" not in stderr + stdout and "please report" not in stderr, stderr
    assert f"interrupted in epoch {epoch}; continue with: bioopzo train --resume {out}" in stderr
    deadline = time.time() + 5
    while _processes_in(out.parent) and time.time() < deadline:
        time.sleep(0.1)
    assert _processes_in(out.parent) == []
    assert load_checkpoint(out.with_name(out.name + ".partial"))["epoch"] == epoch - 1
    assert not out.exists()


@pytest.mark.standalone
def test_sigint_mid_epoch_stops_kills_the_binary_and_resumes_bitwise(tmp_path):
    """cpp_standalone, epoch = 30 runs of the binary (24 training, 6 test runs of 60
    samples): SIGINT to the training process while epoch 2's binary runs."""
    path = write_config(tmp_path, device="cpp_standalone", epochs=3, encoding="rate")
    path.write_text(path.read_text().replace("limit = 200\n", "")
                    .replace("seed = 3\n", "seed = 3\nsamples_per_run = 60\n"))
    out = tmp_path / "stopped"
    proc = _start(path, out)
    partial = tmp_path / "stopped.partial"
    deadline = time.time() + 300
    while _binary_runs(partial) < 33:          # epoch 2 (runs 31-60) under way
        assert proc.poll() is None, proc.communicate()[1]
        assert time.time() < deadline, "epoch 2 did not start within 300 s"
        time.sleep(0.002)
    proc.send_signal(signal.SIGINT)
    _assert_clean_interrupt(proc, time.time(), out, 130, epoch=2)

    assert main(["train", "--resume", str(out), "--quiet"]) == 0
    straight = train(load_config(path), tmp_path / "straight", progress=False,
                     echo=lambda *a: None)
    resumed = _weights(out)
    assert resumed.keys() == _weights(tmp_path / "straight").keys()
    for key, value in _weights(tmp_path / "straight").items():
        assert np.array_equal(resumed[key], value), f"{key} differs"
    rows = (out / "metrics.csv").read_text().splitlines()
    column = rows[0].split(",").index("test_accuracy_fraction")
    assert [float(r.split(",")[column]) for r in rows[1:]] == [
        row["test_accuracy"] for row in straight.metrics]


def test_sigterm_mid_epoch_exits_143_with_the_resume_hint(tmp_path):
    """runtime device: SIGTERM once the first checkpoint is written."""
    path = write_config(tmp_path, device="runtime", epochs=4, encoding="rate")
    path.write_text(path.read_text().replace("limit = 200", "limit = 600"))
    out = tmp_path / "stopped"
    proc = _start(path, out)
    checkpoint = tmp_path / "stopped.partial" / "checkpoint.npz"
    deadline = time.time() + 300
    while not checkpoint.exists():
        assert proc.poll() is None, proc.communicate()[1]
        assert time.time() < deadline, "epoch 1 did not finish within 300 s"
        time.sleep(0.01)
    time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    _assert_clean_interrupt(proc, time.time(), out, 143, epoch=None)


@pytest.mark.standalone
def test_ctrl_c_during_compilation_is_an_interrupt_not_a_compiler_error(tmp_path):
    """SIGINT to the process group (as a terminal's Ctrl-C) while make runs."""
    path = write_config(tmp_path, device="cpp_standalone", epochs=2, encoding="rate")
    out = tmp_path / "stopped"
    proc = _start(path, out)
    build = tmp_path / "stopped.partial" / "brian_build"
    deadline = time.time() + 300
    while not any("make" in p or "g++" in p or "cc1plus" in p for p in _processes_in(build)):
        assert proc.poll() is None, proc.communicate()[1]
        assert time.time() < deadline, "compilation did not start within 300 s"
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGINT)
    signalled_at = time.time()
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr[-3000:]
    assert time.time() - signalled_at < 5
    assert "Traceback" not in stderr + stdout and "compilation failed" not in stderr
    assert re.search(r"interrupted in epoch 1, before any epoch finished", stderr), stderr
    time.sleep(0.5)
    assert _processes_in(tmp_path) == []
    assert not out.exists() and not (tmp_path / "stopped.partial").exists()
