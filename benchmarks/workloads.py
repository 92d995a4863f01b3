"""The benchmark workloads, the same for every contender.

- ``digits``: 64-256-10, T = 16, rate-coded scikit-learn digits;
- ``nmnist``: 2312-800-10, T = 30, generated binary events with N-MNIST-like
  statistics: input j of sample i is active at step k with probability
  p = 0.05 (:class:`GeneratedEvents`, seeded by (seed, i)), labels uniform.
"""

from __future__ import annotations

import numpy as np

from bioopzo.config import load_config
from bioopzo.data import load_dataset
from bioopzo.data.encoders import make_encoder

EVENT_PROBABILITY = 0.05


class GeneratedEvents:
    """A lazy frame source of binary events: input j of sample i is active at
    step k with probability ``p``, drawn from a generator seeded by (seed, i)."""

    def __init__(self, n_samples: int, steps: int, n_inputs: int, p: float = EVENT_PROBABILITY,
                 seed: int = 0):
        self.shape = (n_samples, steps, n_inputs)
        self.p, self.seed = p, seed

    def __len__(self):
        return self.shape[0]

    def __getitem__(self, indices):
        indices = np.atleast_1d(np.asarray(indices))
        out = np.empty((len(indices), *self.shape[1:]), dtype=np.float32)
        for row, i in enumerate(indices):
            rng = np.random.default_rng([self.seed, int(i)])
            out[row] = rng.random(self.shape[1:]) < self.p
        return out


def workload(name: str, rule: str, n_samples: int, hidden: int | None = None,
             steps: int | None = None, threads: int = 1, device: str = "cpp_standalone",
             schedule: str = "sample", batch_size: int = 32, precision: str = "float64"):
    """(config, inputs for the simulators, encoded inputs (N, T, n0), labels)."""
    if name == "digits":
        over = {"network": {"hidden": [hidden or 256]},
                "data": {"steps_per_sample": steps or 16, "encoding": "rate"}}
    else:
        over = {"network": {"hidden": [hidden or 800]},
                "data": {"steps_per_sample": steps or 30, "encoding": "frames"}}
    over["rule"] = {"name": rule}
    over["optimizer"] = {"schedule": schedule, "batch_size": batch_size, "lr_schedule": "constant"}
    over["device"] = {"name": device, "threads": threads, "precision": precision}
    over["training"] = {"samples_per_run": max(n_samples, 1), "max_run_input_mb": 1024.0}
    config = load_config(None, over)
    T = config.data.steps_per_sample
    rng = np.random.default_rng(3)
    if name == "digits":
        data = load_dataset(config.data, 1)
        idx = rng.choice(len(data.y_train), n_samples, replace=len(data.y_train) < n_samples)
        x, y = data.x_train[idx], data.y_train[idx]
        encoded = make_encoder(config.data, config.neuron.dt).encode(x, rng)
    else:
        x = GeneratedEvents(n_samples, T, 2312)
        y = rng.integers(0, 10, n_samples)
        encoded = x[np.arange(n_samples)].astype(float)
    return config, x, encoded, y
