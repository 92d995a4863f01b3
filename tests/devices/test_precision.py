"""[device] precision: float32 state on cpp_standalone (issue 18, check 2), refused elsewhere."""

from __future__ import annotations

import pytest

from bioopzo.config import PRECISIONS, ConfigError, load_config
from bioopzo.train import train


def test_unknown_precision_names_the_allowed_values():
    with pytest.raises(ConfigError, match=r"\[device\] precision = 'float16' is not one of "
                                          r"'float64', 'float32'"):
        load_config("digits_fc", {"device": {"precision": "float16"}})
    assert PRECISIONS == ("float64", "float32")


def test_float32_is_refused_on_the_runtime_device():
    with pytest.raises(ConfigError, match="cpp_standalone only.*runtime"):
        load_config("digits_fc", {"device": {"name": "runtime", "precision": "float32"}})


@pytest.mark.standalone
def test_float32_training_runs_in_single_precision_and_learns(tmp_path):
    over = {"network": {"hidden": [32]}, "data": {"limit": 300, "steps_per_sample": 8},
            "training": {"epochs": 2}}
    runs = {p: train(load_config("digits_fc", {**over, "device": {"precision": p}}),
                     tmp_path / p, progress=False, echo=lambda *a: None, keep_build=True)
            for p in PRECISIONS}
    for p, ctype in (("float32", "float"), ("float64", "double")):   # the compiled weights
        objects = (tmp_path / p / "brian_build" / "objects.cpp").read_text()
        assert f"std::vector<{ctype}> _dynamic_array_forward1_w;" in objects, p
    # both learn (single spike flips make the two trajectories part: the step-level
    # agreement is tests/rules/test_oracle.py's float32 test)
    accs = {p: r.metrics[-1]["test_accuracy"] for p, r in runs.items()}
    assert min(accs.values()) > 0.5, accs
