"""Training runs for the analyses, with checkpoints.

``train_reference`` trains with :class:`bioopzo.reference.ReferenceModel` one
sample at a time (``batch = 1``), which is step for step the algorithm of the
Brian2 model (tests/rules/test_oracle.py): the same epoch order
(``default_rng([seed, 23])`` permutations), per-sample learning-rate factors
(``bioopzo.updates.learning_rate_factors``), update schedule and initial state
(``bioopzo.state.initial_state``). Only the random streams of the input
encoding and of the injected noise differ from a Brian2 run with the same seed.
Test accuracy is measured after every epoch with learning and noise off.
``on_checkpoint(model, epoch, fraction)`` is called ``checkpoints_per_epoch``
times per epoch (after equal shares of the training samples), for probes.

``train_brian2`` runs the same config through ``bioopzo.train.train`` (the
Brian2 model; cpp_standalone compiles once per distinct network, ~20 s).
``train_many`` trains a list of configs in parallel worker processes, on the
local dask cluster of :mod:`bioopzo.sweep.cluster`.

A run *breaks down* when a learnable variable, or the training loss, becomes
NaN or infinite; the accuracy of that and later epochs is then recorded as NaN.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bioopzo.config import ConfigError, ExperimentConfig
from bioopzo.data import load_dataset, make_encoder
from bioopzo.state import initial_state
from bioopzo.reference import ReferenceModel
from bioopzo.sweep.cluster import run_tasks
from bioopzo.updates import learning_rate_factors

__all__ = ["TrainedRun", "train_reference", "train_brian2", "train_many", "BACKENDS"]

BACKENDS = ("reference", "brian2")


@dataclass
class TrainedRun:
    config: ExperimentConfig
    backend: str
    rows: list = field(default_factory=list)     # one dict per epoch
    broke_down: bool = False
    wall_seconds: float = 0.0
    model: ReferenceModel | None = None

    @property
    def test_accuracies(self) -> np.ndarray:
        return np.array([r["test_accuracy"] for r in self.rows], float)

    @property
    def final_accuracy(self) -> float:
        return float(self.test_accuracies[-1]) if self.rows else float("nan")

    def summary(self) -> dict:
        acc = self.test_accuracies
        return {"final_test_accuracy": self.final_accuracy,
                "best_test_accuracy": float(np.nanmax(acc)) if np.any(np.isfinite(acc)) else float("nan"),
                "test_accuracy_per_epoch": [float(a) for a in acc],
                "broke_down": self.broke_down, "wall_seconds": self.wall_seconds,
                "backend": self.backend}


def probe_set(config: ExperimentConfig, n_samples: int, stream: int):
    """(data set, encoded probe inputs (n, T, n_in), their labels): ``n_samples``
    training samples drawn without replacement and encoded by the config's
    encoder, both from ``default_rng([seed, stream])`` (each analysis its own stream)."""
    ds = load_dataset(config.data, config.training.seed)
    rng = np.random.default_rng([config.training.seed, stream])
    pick = rng.choice(len(ds.y_train), min(n_samples, len(ds.y_train)), replace=False)
    x_probe = make_encoder(config.data, config.neuron.dt).encode(ds.x_train[pick], rng)
    return ds, x_probe, ds.y_train[pick]


def _finite(state: dict) -> bool:
    return all(np.all(np.isfinite(v)) for v in state.values())


def train_reference(config: ExperimentConfig, *, checkpoints_per_epoch: int = 0,
                    on_checkpoint=None, batch: int = 1) -> TrainedRun:
    """Train ``config`` with reference.py, one sample at a time (see module docstring).

    ``batch`` > 1 runs that many samples in parallel (reference.py's mini-batch:
    summed updates, the M update with the batch mean of z o~^T); the last
    samples of each checkpoint interval that do not fill a batch are skipped."""
    t0 = time.perf_counter()
    cfg = config
    seed = cfg.training.seed
    ds = load_dataset(cfg.data, seed)
    state = initial_state(cfg, ds.n_inputs, ds.n_classes, seed)
    model = ReferenceModel(cfg, ds.n_inputs, ds.n_classes, state, seed=[seed, 29])
    encoder = make_encoder(cfg.data, cfg.neuron.dt)
    order_rng = np.random.default_rng([seed, 23])
    enc_rng = np.random.default_rng([seed, 37])
    n = len(ds.y_train)
    spu = cfg.optimizer.samples_per_update
    run = TrainedRun(cfg, "reference", model=model)
    n_chunks = max(1, checkpoints_per_epoch)
    bounds = np.linspace(0, n, n_chunks + 1).round().astype(int)
    for epoch in range(1, cfg.training.epochs + 1):
        order = order_rng.permutation(n)
        factors = learning_rate_factors(cfg.optimizer, epoch, cfg.training.epochs, n)
        k = np.arange(n)
        ends = (((k + 1) % spu == 0) | (k == n - 1)).astype(float)
        x = encoder.encode(ds.x_train[order], enc_rng)
        y = ds.y_train[order]
        correct, loss = 0, 0.0
        with np.errstate(all="ignore"):
            for c in range(n_chunks):
                stop = bounds[c + 1] - (bounds[c + 1] - bounds[c]) % batch
                rows = slice(bounds[c], stop)
                if stop <= bounds[c]:
                    continue
                rec = model.run(x[rows], y[rows], np.ones(len(y[rows])), ends[rows],
                                lr_factor=factors[rows], batch=batch)
                correct += int(np.sum(rec.predictions == y[rows]))
                loss += float(np.sum(rec.loss))
                if on_checkpoint is not None and checkpoints_per_epoch and _finite(model.state):
                    on_checkpoint(model, epoch, bounds[c + 1] / n)
        if not _finite(model.state) or not np.isfinite(loss):
            run.broke_down = True
            run.rows.append({"epoch": epoch, "train_accuracy": float("nan"),
                             "train_loss": float("nan"), "test_accuracy": float("nan")})
            for later in range(epoch + 1, cfg.training.epochs + 1):
                run.rows.append({"epoch": later, "train_accuracy": float("nan"),
                                 "train_loss": float("nan"), "test_accuracy": float("nan")})
            break
        x_test = encoder.encode(ds.x_test, enc_rng)
        with np.errstate(all="ignore"):
            acc = model.evaluate(x_test, ds.y_test, batch=min(len(ds.y_test), 512))
        run.rows.append({"epoch": epoch, "train_accuracy": correct / n,
                         "train_loss": loss / (n * cfg.data.steps_per_sample), "test_accuracy": acc})
    run.wall_seconds = time.perf_counter() - t0
    return run


def train_brian2(config: ExperimentConfig, run_dir: str | Path) -> TrainedRun:
    """Train ``config`` with the Brian2 model (``bioopzo.train.train``) into ``run_dir``."""
    from bioopzo.train import train

    t0 = time.perf_counter()
    run = TrainedRun(config, "brian2")
    try:
        result = train(config, run_dir, overwrite=True, progress=False, echo=lambda *a: None)
        run.rows = [{"epoch": int(r["epoch"]), "train_accuracy": float(r["train_accuracy"]),
                     "train_loss": float(r["train_loss"]),
                     "test_accuracy": float(r["test_accuracy"])} for r in result.metrics]
    except FloatingPointError:
        run.broke_down = True
        run.rows = [{"epoch": e, "train_accuracy": float("nan"), "train_loss": float("nan"),
                     "test_accuracy": float("nan")} for e in range(1, config.training.epochs + 1)]
    run.wall_seconds = time.perf_counter() - t0
    return run


def _job(job):
    config, backend, run_dir = job
    run = train_reference(config) if backend == "reference" else train_brian2(config, run_dir)
    run.model = None
    return run


def train_many(configs: list, backend: str = "reference", workers: int = 1,
               run_root: str | Path = "analyses/results/runs", echo=None) -> list[TrainedRun]:
    """Train every config, in ``workers`` processes (the sweep's local cluster,
    :func:`bioopzo.sweep.run_tasks`); results in the order of ``configs``, each passed
    to ``echo`` as it arrives in that order. Brian2 runs go to ``run_root/<i>_<name>``."""
    if backend not in BACKENDS:
        raise ConfigError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    jobs = [(c, backend, Path(run_root) / f"{i:03d}_{c.name}") for i, c in enumerate(configs)]
    return run_tasks(_job, jobs, workers=workers, on_result=echo)
