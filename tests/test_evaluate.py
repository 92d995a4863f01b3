"""`bioopzo evaluate RUN` reproduces the test accuracy the run recorded, exactly, on the
device it trained on: the test samples of each epoch run from their own seed
(``evaluation_seed``, recorded in metrics.csv and summary.json) in runs of the recorded
size, and evaluate replays them. Rate-coded inputs (``rand()`` every step) make any other
random stream give another accuracy."""

from __future__ import annotations

import csv
import json

import pytest
from test_training import write_config

from bioopzo.cli import main
from bioopzo.config import load_config
from bioopzo.train import evaluate, evaluation_seed, train


def _train(tmp_path, device: str, extra: str = ""):
    path = write_config(tmp_path, device=device, epochs=2, encoding="rate")
    path.write_text(path.read_text().replace("limit = 200", "limit = 300")
                    .replace("seed = 3\n", "seed = 3\n" + extra))
    out = tmp_path / f"run_{device}"
    result = train(load_config(path), out, progress=False, echo=lambda *a: None)
    return out, result


def _assert_replayed(out, result, device, capsys):
    summary = json.loads((out / "summary.json").read_text())
    rows = list(csv.DictReader((out / "metrics.csv").open()))
    assert [int(r["evaluation_seed"]) for r in rows] == [evaluation_seed(3, 1), evaluation_seed(3, 2)]
    assert summary["evaluation_seed"] == evaluation_seed(3, 2) != evaluation_seed(3, 1)
    res = evaluate(out)
    assert res["device"] == device and res["replayed"]
    assert res["n_test"] == 60
    assert res["test_accuracy"] == result.test_accuracy == summary["final_test_accuracy_fraction"]
    assert res["test_loss"] == pytest.approx(result.metrics[-1]["test_loss"], rel=1e-12)
    assert main(["evaluate", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"test accuracy {100 * result.test_accuracy:.1f} %" in printed
    assert "replayed with its test seed" in printed


def test_evaluate_replays_the_recorded_test_accuracy_on_runtime(tmp_path, capsys):
    """Runs of 25 samples: 240 training samples, then 60 test samples in 3 runs (the
    last one padded); evaluate streams them the same way."""
    out, result = _train(tmp_path, "runtime", "samples_per_run = 25\n")
    assert json.loads((out / "summary.json").read_text())["samples_per_run"] == 25
    _assert_replayed(out, result, "runtime", capsys)


def test_another_test_seed_gives_another_accuracy(tmp_path):
    """The check above can fail: rate-coded test samples from another seed differ."""
    from bioopzo.data import load_dataset
    from bioopzo.runs import load_run
    from bioopzo.train import run_samples

    out, result = _train(tmp_path, "runtime")
    config, state = load_run(out)
    ds = load_dataset(config.data, 3)
    outputs = [run_samples(config, state, ds.x_test, ds.y_test, seed=s).result.o_sum
               for s in (evaluation_seed(3, 2), evaluation_seed(3, 2) + 1)]
    assert (outputs[0] != outputs[1]).any()


@pytest.mark.standalone
def test_evaluate_replays_the_recorded_test_accuracy_on_cpp_standalone(tmp_path, capsys):
    out, result = _train(tmp_path, "cpp_standalone")
    _assert_replayed(out, result, "cpp_standalone", capsys)
