"""[device] precision: float32 state on cpp_standalone (issue 18, check 2), refused elsewhere."""

from __future__ import annotations

import numpy as np
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
                     tmp_path / p, progress=False, echo=lambda *a: None)
            for p in PRECISIONS}
    assert runs["float32"].state["W1"].dtype == np.float32
    assert runs["float64"].state["W1"].dtype == np.float64
    accs = {p: r.metrics[-1]["test_accuracy"] for p, r in runs.items()}
    assert accs["float32"] > 0.5, accs
    # the same network, spikes and noise: the weights agree to single precision's accuracy
    w32, w64 = runs["float32"].state["W1"], runs["float64"].state["W1"]
    assert np.max(np.abs(w32 - w64)) / np.max(np.abs(w64)) < 0.05
