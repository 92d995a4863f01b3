"""Check 3 of issue 4: a network trained on generated N-MNIST-format files (a learnable,
class-dependent structure: each digit's events fall mostly in its own 6 x 6 block)
reaches clearly above-chance test accuracy (chance: 10 %).

The files are written in the published layout (40-bit events under
NMNIST/Train/<digit>/) and read by the loader ``bioopzo train`` uses. The first
test trains the NumPy reference on the frames; the second runs
``bioopzo.train.train`` end to end on the Brian2 runtime device through the
network's ``encoding = "frames"`` input path (x_0[t] read from the frames).
"""

from __future__ import annotations

import numpy as np
import pytest

from bioopzo.config import ExperimentConfig
from bioopzo.data import load_dataset
from bioopzo.data.event_writers import class_pattern_nmnist


def nmnist_config(data_dir, **sections):
    from bioopzo.config import deep_merge

    base = {
        "name": "nmnist_tiny",
        "network": {"hidden": [32], "weight_init_gain": 3.0},
        "rule": {"name": "opzo"},
        "noise": {"scale": 0.5},
        "optimizer": {"learning_rate": 0.01},
        "data": {"dataset": "nmnist", "encoding": "frames", "steps_per_sample": 8,
                 "data_dir": str(data_dir), "downsample_to": [17, 17], "frame_values": "binary"},
        "device": {"name": "runtime"},
        "training": {"epochs": 3, "seed": 1},
    }
    return ExperimentConfig.from_dict(deep_merge(base, sections))


@pytest.fixture(scope="module")
def nmnist_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("nmnist_pattern")
    class_pattern_nmnist(root, {"train": 20, "test": 5}, np.random.default_rng(0), n_events=200)
    return root


def test_reference_learns_generated_nmnist_files(nmnist_folder):
    from bioopzo.reference import ReferenceModel

    cfg = nmnist_config(nmnist_folder)
    ds = load_dataset(cfg.data, cfg.training.seed)
    assert ds.x_train.shape == (200, 8, 578)
    x_train = ds.x_train[np.arange(len(ds.y_train))]
    x_test = ds.x_test[np.arange(len(ds.y_test))]
    model = ReferenceModel(cfg, ds.n_inputs, ds.n_classes, seed=1)
    rng = np.random.default_rng(1)
    before = model.evaluate(x_test, ds.y_test)
    for _ in range(cfg.training.epochs):
        order = rng.permutation(len(ds.y_train))
        model.run(x_train[order], ds.y_train[order])
    after = model.evaluate(x_test, ds.y_test)
    print(f"reference, OPZO: test accuracy {before:.2f} before, {after:.2f} after training")
    assert after >= 0.6 and after > before + 0.3


def test_training_run_on_generated_nmnist_files(nmnist_folder, tmp_path):
    from bioopzo.train import train

    cfg = nmnist_config(nmnist_folder)
    result = train(cfg, tmp_path / "run", progress=False, echo=lambda *a: None)
    accs = [row["test_accuracy"] for row in result.metrics]
    print(f"bioopzo.train on generated N-MNIST files: test accuracy per epoch {accs}")
    assert result.test_accuracy >= 0.5
    assert (tmp_path / "run" / "config.toml").read_text().count('dataset = "nmnist"') == 1
    import json

    assert json.loads((tmp_path / "run" / "versions.json").read_text())["tonic"]
