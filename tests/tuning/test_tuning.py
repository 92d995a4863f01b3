"""``bioopzo tune`` and ``bioopzo compare``: learning rates chosen on a validation
split carved from the training set, then rules over seeds with paired differences."""

from __future__ import annotations

import csv
import json
import tomllib

import numpy as np
import pytest

from bioopzo.cli import main
from bioopzo.config import ConfigError, load_config
from bioopzo.tuning import compare, paired_difference, tune

pytest.importorskip("distributed", reason="bioopzo tune runs on the sweep machinery (dask)")

# Cheap runs: numpy runtime, 60 digits, 1 epoch, 8 hidden neurons, 4 steps per sample.
TINY = """
name = "tiny"
[network]
hidden = [8]
[rule]
name = "opzo"
[optimizer]
learning_rate = 0.01
[data]
limit = 60
steps_per_sample = 4
split_seed = 0
[device]
name = "runtime"
[training]
epochs = 1
[per_rule.bp]
noise = { scale = 0.0 }
[per_rule.readout]
noise = { scale = 0.0 }
optimizer = { learning_rate = 0.02 }
"""


def test_paired_difference_is_students_t_interval():
    d = paired_difference([0.9, 0.8, 0.7], [0.8, 0.8, 0.8])
    # differences 0.1, 0, -0.1: mean 0, sd 0.1, t_{0.975, 2} = 4.3027
    assert d["mean"] == pytest.approx(0.0, abs=1e-12)
    assert d["sd"] == pytest.approx(0.1)
    assert d["high"] == pytest.approx(4.302653 * 0.1 / np.sqrt(3), rel=1e-5)
    assert not d["excludes_zero"]
    assert paired_difference([0.9, 0.91, 0.92, 0.93], [0.8, 0.8, 0.81, 0.8])["excludes_zero"]
    with pytest.raises(ValueError, match="two seeds"):
        paired_difference([0.9], [0.8])


def test_tune_on_validation_then_compare_on_test(tmp_path):
    model = tmp_path / "tiny.toml"
    model.write_text(TINY)
    res = tune(model, tmp_path / "tune", rules=("bp", "readout"), factors=(0.5, 2.0), seeds=(1,),
               workers=2, echo=lambda *a: None)
    # each rule searched around its own rate: bp 0.01 x {0.5, 2}, readout 0.02 x {0.5, 2}
    assert {(r["rule"], r["learning_rate"]) for r in res.rows} == {
        ("bp", 0.005), ("bp", 0.02), ("readout", 0.01), ("readout", 0.04)}
    for r in res.rows:
        best = max(x["validation_accuracy_mean"] for x in res.rows if x["rule"] == r["rule"])
        assert r["chosen"] == (r["learning_rate"] == res.chosen[r["rule"]])
        if r["chosen"]:
            assert r["validation_accuracy_mean"] == best
    # every tuning run evaluated on a validation split of its training set
    summaries = [json.loads(p.read_text()) for p in (tmp_path / "tune" / "runs").glob("*/summary.json")]
    assert len(summaries) == 4 and {s["evaluation"] for s in summaries} == {"validation"}
    tuned = load_config(res.tuned_config, {"rule": {"name": "bp"}})
    assert tuned.optimizer.learning_rate == res.chosen["bp"]
    assert tuned.data.validation_fraction == 0          # the tuned model file trains on all of train
    raw = tomllib.loads(res.tuned_config.read_text())
    assert raw["per_rule"]["readout"]["noise"] == {"scale": 0.0}      # other per-rule keys kept
    assert "| bp |" in (tmp_path / "tune" / "tuning.md").read_text()
    # the sweep file names the model relative to itself, so result folders can move
    assert tomllib.loads((tmp_path / "tune" / "tune_sweep.toml").read_text())["config"] == "../tiny.toml"

    rows = compare(res.tuned_config, tmp_path / "cmp", rules=("bp", "readout"), seeds=(1, 2),
                   workers=2, echo=lambda *a: None)
    by = {r["rule"]: r for r in rows}
    assert "diff_bp_mean" in by["readout"] and "diff_bp_mean" not in by["bp"]
    table = list(csv.DictReader((tmp_path / "cmp" / "comparison.csv").open()))
    assert [t["rule"] for t in table] == ["bp", "readout"]
    per_seed = [float(v) for v in by["readout"]["per_seed"].split()]
    bp_seed = [float(v) for v in by["bp"]["per_seed"].split()]
    assert by["readout"]["diff_bp_mean"] == pytest.approx(np.mean(per_seed) / 100 - np.mean(bp_seed) / 100,
                                                          abs=1e-3)
    summaries = [json.loads(p.read_text()) for p in (tmp_path / "cmp" / "runs").glob("*/summary.json")]
    assert {s["evaluation"] for s in summaries} == {"test"}
    pairs = list(csv.DictReader((tmp_path / "cmp" / "paired_differences.csv").open()))
    assert [(p["rule"], p["minus"]) for p in pairs] == [("bp", "readout")]
    assert float(pairs[0]["mean_fraction"]) == pytest.approx(-by["readout"]["diff_bp_mean"])
    # file columns say fraction or percentage (README Conventions)
    assert {"test_accuracy_mean_fraction", "diff_bp_mean_fraction", "per_seed_pct"} <= set(table[0])
    assert "validation_accuracy_mean_fraction" in next(csv.DictReader((tmp_path / "tune" /
                                                                        "tuning.csv").open()))
    assert "| bp - readout |" in (tmp_path / "cmp" / "comparison.md").read_text()


def test_tune_and_compare_refuse_bad_input(tmp_path, capsys):
    model = tmp_path / "tiny.toml"
    model.write_text(TINY)
    with pytest.raises(ConfigError, match="factors"):
        tune(model, tmp_path / "t", factors=(0.0,))
    with pytest.raises(ConfigError, match="at least two seeds"):
        compare(model, tmp_path / "c", seeds=(1,))
    with pytest.raises(ConfigError, match="baseline"):
        compare(model, tmp_path / "c", rules=("opzo", "dfa"), baseline="bp")
    val = tmp_path / "val.toml"
    val.write_text(TINY.replace("split_seed = 0", "split_seed = 0\nvalidation_fraction = 0.2"))
    assert main(["compare", "--config", str(val), "--out", str(tmp_path / "c")]) == 2
    assert "validation_fraction = 0" in capsys.readouterr().err
