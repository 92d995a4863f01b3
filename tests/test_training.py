"""Training runs, run folders, the CLI, compile-once and bad input (checks 4 and 5)."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from bioopzo.cli import main
from bioopzo.config import ConfigError, load_config
from bioopzo.runs import RunFolderError
from bioopzo.train import evaluate, train

SMALL_TOML = """
name = "tiny"
[network]
hidden = [32]
[rule]
name = "opzo"
[noise]
scale = 0.5
[optimizer]
learning_rate = 0.01
[data]
dataset = "digits"
encoding = "{encoding}"
steps_per_sample = 8
limit = 200
[device]
name = "{device}"
[training]
epochs = {epochs}
seed = 3
[per_rule.bp]
noise = {{ scale = 0.0 }}
"""


def write_config(tmp_path, device="runtime", epochs=2, encoding="direct", extra=""):
    path = tmp_path / "tiny.toml"
    path.write_text(SMALL_TOML.format(device=device, epochs=epochs, encoding=encoding) + extra)
    return path


def test_cli_train_writes_a_complete_run_folder_and_evaluate_reloads_it(tmp_path, capsys):
    cfg = write_config(tmp_path)
    out = tmp_path / "run"
    assert main(["train", "--config", str(cfg), "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "test accuracy" in printed and str(out) in printed
    for name in ("config.toml", "metrics.csv", "weights.npz", "versions.json",
                 "summary.json", "learning_curve.png"):
        assert (out / name).is_file(), name
    assert not (out.parent / "run.partial").exists()
    versions = json.loads((out / "versions.json").read_text())
    assert versions["brian2"] and versions["bioopzo"]
    rows = (out / "metrics.csv").read_text().splitlines()
    assert len(rows) == 3 and rows[0].startswith("epoch,train_loss")
    summary = json.loads((out / "summary.json").read_text())
    # direct encoding and noise off at test time: evaluation is exactly reproducible
    res = evaluate(out)
    assert res["test_accuracy"] == pytest.approx(summary["final_test_accuracy_fraction"])
    assert "test_accuracy_fraction" in rows[0].split(",")      # file columns name the fraction
    assert main(["evaluate", str(out)]) == 0
    assert "test accuracy" in capsys.readouterr().out
    # the saved config reproduces the run's config
    assert load_config(out / "config.toml").to_dict() == load_config(cfg).to_dict()


def test_a_limit_that_leaves_no_test_samples_is_refused(tmp_path, capsys):
    """--limit 5 on digits gives no test samples: refused before anything is written."""
    cfg = write_config(tmp_path, epochs=1)
    out = tmp_path / "run"
    assert main(["train", "--config", str(cfg), "--out", str(out), "--limit", "5", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "split is empty" in err and "raise --limit" in err and "Traceback" not in err
    assert not out.exists() and not (tmp_path / "run.partial").exists()


def test_existing_run_is_refused_and_kept_when_overwrite_fails(tmp_path, capsys, monkeypatch):
    cfg = write_config(tmp_path, epochs=1)
    out = tmp_path / "run"
    assert main(["train", "--config", str(cfg), "--out", str(out), "--quiet"]) == 0
    before = (out / "weights.npz").read_bytes()
    assert main(["train", "--config", str(cfg), "--out", str(out), "--quiet"]) == 2
    assert "already holds a run" in capsys.readouterr().err
    # a failing --overwrite run leaves the old run untouched
    import bioopzo.devices.runtime as devices

    def boom(self, *args, **kwargs):
        raise RuntimeError("simulated crash")

    monkeypatch.setattr(devices.RuntimeSimulator, "run_epoch", boom)
    assert main(["train", "--config", str(cfg), "--out", str(out), "--overwrite", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "internal error: RuntimeError: simulated crash" in err and "Traceback" not in err
    assert (out / "weights.npz").read_bytes() == before
    assert not (tmp_path / "run.partial").exists()
    monkeypatch.undo()
    assert main(["train", "--config", str(cfg), "--out", str(out), "--overwrite", "--quiet",
                 "--seed", "4"]) == 0
    assert (out / "weights.npz").read_bytes() != before


@pytest.mark.parametrize("args, message", [
    (["--rule", "hebb"], "invalid choice: 'hebb'"),
    (["--device", "loihi"], "invalid choice: 'loihi'"),
])
def test_cli_rejects_unknown_rule_and_device(tmp_path, capsys, args, message):
    with pytest.raises(SystemExit) as exc:
        main(["train", "--config", str(write_config(tmp_path)), *args])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("extra_section, message", [
    ('[neuron]\ntau_mem = "2 mV"\n', "a time is needed"),
    ('[neuron]\ndt = 1\n', "has no unit"),
])
def test_cli_reports_bad_config_values(tmp_path, capsys, extra_section, message):
    text = SMALL_TOML.format(device="runtime", epochs=1, encoding="direct") + extra_section
    path = tmp_path / "bad.toml"
    path.write_text(text)
    assert main(["train", "--config", str(path), "--out", str(tmp_path / "r")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_negative_noise_scale_and_gpu_lanes_are_clear_errors(tmp_path, capsys):
    path = tmp_path / "neg.toml"
    path.write_text(SMALL_TOML.format(device="runtime", epochs=1, encoding="direct").replace(
        "scale = 0.5", "scale = -0.5"))
    assert main(["train", "--config", str(path), "--out", str(tmp_path / "r")]) == 2
    assert "[noise] scale = -0.5 must be >= 0" in capsys.readouterr().err
    assert main(["train", "--config", str(write_config(tmp_path)), "--device", "genn",
                 "--out", str(tmp_path / "g")]) == 2
    err = capsys.readouterr().err
    assert "genn" in err and "cpp_standalone" in err
    assert not (tmp_path / "g").exists()


def test_labels_outside_the_classes_are_refused():
    from bioopzo.data.epochs import make_epoch_data
    from bioopzo.network import BrianNetwork
    from bioopzo.state import initial_state
    from conftest import small_config

    cfg = small_config()
    x = np.random.default_rng(0).random((3, 20))
    data = make_epoch_data(x, np.array([0, 1, 7]), x[:0], np.array([], int), 1)
    with pytest.raises(ConfigError, match="outside the classes 0..4"):
        BrianNetwork(cfg, 20, 5, data, initial_state(cfg, 20, 5))


def test_evaluate_needs_a_finished_run(tmp_path):
    with pytest.raises(RunFolderError, match="not a finished bioopzo run"):
        evaluate(tmp_path)
    (tmp_path / "config.toml").write_text(write_config(tmp_path).read_text())
    (tmp_path / "weights.npz").write_bytes(b"truncated")
    with pytest.raises(RunFolderError, match="cannot be read"):
        evaluate(tmp_path)


@pytest.mark.standalone
def test_cpp_standalone_compiles_once_for_three_epochs(tmp_path, caplog):
    """Check 4: epochs 2 and 3 re-run the binary of epoch 1."""
    caplog.set_level(logging.INFO, logger="bioopzo")
    cfg = load_config(write_config(tmp_path, device="cpp_standalone", epochs=3, encoding="rate"))
    result = train(cfg, tmp_path / "run", progress=False, echo=lambda *a: None, keep_build=True)
    messages = [r.getMessage() for r in caplog.records if r.name == "bioopzo.devices"]
    assert sum("compiled the Brian2 C++ project" in m for m in messages) == 1
    # no run leaves its inputs (weights, data) behind in the build folder
    static = tmp_path / "run" / "brian_build" / "static_arrays"
    assert static.is_dir() and not list(static.glob("init_*")) and not list(static.glob("run_*"))
    # each epoch: one run of its training samples, one of its test samples (their own seed)
    assert sum("no recompilation" in m for m in messages) == 2 * 3 - 1
    assert [row["compiled"] for row in result.metrics] == [1, 0, 0]
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["n_builds"] == 1
    # every epoch drew fresh randomness (different seeds), and learning happened
    accs = [row["train_accuracy"] for row in result.metrics]
    assert accs[-1] > 0.3
    assert result.metrics[-1]["test_accuracy"] > 0.5
