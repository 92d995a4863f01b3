"""Checkpoints, exact resume after SIGKILL, reproducibility and divergence."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from test_training import write_config

from bioopzo.cli import main
from bioopzo.config import load_config
from bioopzo.runs import RunFolderError, load_checkpoint
from bioopzo.train import TrainingDiverged, resume, train


def _weights(run_dir):
    with np.load(run_dir / "weights.npz") as f:
        return {k: f[k] for k in f.files}


def _assert_bitwise_equal(a: dict, b: dict):
    assert a.keys() == b.keys()
    for key in a:
        assert np.array_equal(a[key], b[key]), f"{key} differs"


def _quiet(*args):
    pass


def test_same_seed_same_device_gives_bitwise_identical_weights(tmp_path):
    config = load_config(write_config(tmp_path, epochs=2, encoding="rate"))
    train(config, tmp_path / "a", progress=False, echo=_quiet)
    train(config, tmp_path / "b", progress=False, echo=_quiet)
    _assert_bitwise_equal(_weights(tmp_path / "a"), _weights(tmp_path / "b"))
    other = config.with_overrides({"training": {"seed": 4}})
    train(other, tmp_path / "c", progress=False, echo=_quiet)
    assert not np.array_equal(_weights(tmp_path / "a")["W1"], _weights(tmp_path / "c")["W1"])


@pytest.mark.standalone
def test_sigkill_in_epoch_2_then_resume_equals_an_uninterrupted_run(tmp_path):
    """cpp_standalone: kill -9 (the process group: Python and the binary it runs)
    while epoch 2 runs, resume, compare bit for bit."""
    extra = "samples_per_run = 60\n"   # an epoch = 30 runs of the binary (1797 samples)
    path = write_config(tmp_path, device="cpp_standalone", epochs=3, encoding="rate")
    text = path.read_text().replace("limit = 200\n", "").replace("seed = 3\n", "seed = 3\n" + extra)
    path.write_text(text)
    killed = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "bioopzo", "train", "--config", str(path),
                             "--out", str(killed), "--quiet"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    partial = tmp_path / "killed.partial"
    deadline = time.time() + 300

    def binary_runs() -> int:
        """Runs of the compiled binary so far (each leaves brian_build/results_<n>)."""
        found = [int(p.name.split("_")[1]) for p in (partial / "brian_build").glob("results_*")
                 if p.name.split("_")[1].isdigit()]
        return max(found, default=0)

    # wait until epoch 2 (runs 31-60) is under way: its 2nd run has started
    while binary_runs() < 32:
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.time() < deadline, "epoch 2 did not start within 300 s"
        time.sleep(0.002)
    os.killpg(proc.pid, signal.SIGKILL)      # the training process and its running binary
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    state = load_checkpoint(tmp_path / "killed.partial")
    assert state["epoch"] == 1, "the kill must land in epoch 2 (epoch 2 finished first)"
    assert not killed.exists()
    # a new run into the same folder is refused: it would discard the checkpoint
    with pytest.raises(RunFolderError, match="--resume"):
        train(load_config(path), killed, progress=False, echo=_quiet)

    assert main(["train", "--resume", str(killed), "--quiet"]) == 0
    assert not (tmp_path / "killed.partial").exists()
    assert not (killed / "checkpoint.npz").exists()
    uninterrupted = train(load_config(path), tmp_path / "straight", progress=False, echo=_quiet)
    _assert_bitwise_equal(_weights(killed), _weights(tmp_path / "straight"))
    resumed_rows = (killed / "metrics.csv").read_text().splitlines()
    assert len(resumed_rows) == 4
    assert [float(r.split(",")[4]) for r in resumed_rows[1:]] == pytest.approx(
        [row["test_accuracy"] for row in uninterrupted.metrics], abs=0)


def test_divergence_names_epoch_and_layer_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    import bioopzo.devices as devices

    config = load_config(write_config(tmp_path, epochs=3))
    original = devices.Simulator.run_epoch
    calls = []

    def diverge_in_epoch_2(self, data, state, seed):
        res = original(self, data, state, seed)
        calls.append(1)
        if len(calls) == 3:   # epoch 2's training samples (each epoch: training, then test runs)
            res.state["M1"][3, 1] = np.nan
        return res

    monkeypatch.setattr(devices.Simulator, "run_epoch", diverge_in_epoch_2)
    out = tmp_path / "run"
    with pytest.raises(TrainingDiverged, match=r"epoch 2: M1: feedback matrix of hidden layer 1") as exc:
        train(config, out, progress=False, echo=_quiet)
    assert "checkpoint (after epoch 1) is kept" in str(exc.value)
    assert load_checkpoint(tmp_path / "run.partial")["epoch"] == 1
    assert main(["train", "--config", str(tmp_path / "tiny.toml"), "--out", str(out), "--quiet"]) == 2
    monkeypatch.undo()
    result = resume(out, progress=False, echo=_quiet)
    assert [row["epoch"] for row in result.metrics] == [1, 2, 3]
    assert np.all(np.isfinite(_weights(out)["M1"]))


def test_resume_errors_are_clear(tmp_path, capsys):
    with pytest.raises(RunFolderError, match="no interrupted run"):
        resume(tmp_path / "nothing", progress=False, echo=_quiet)
    assert main(["train", "--resume", str(tmp_path / "x"), "--epochs", "3"]) == 2
    assert "drop --epochs" in capsys.readouterr().err
