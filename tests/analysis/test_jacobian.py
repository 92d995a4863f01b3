"""Check 2: OPZO's feedback matrices learn the same-step Jacobian.

A fixed random 64-100-50-10 network (learning rate 0: only M learns) is fed
rate-coded digits in cpp_standalone. Afterwards each M_l is compared with the
data-averaged, noise-smoothed same-step Jacobian of the readout with respect to
layer l's noise, which the reference estimates from independent noise samples
(``probe_jacobian``). With strong momentum the cosine similarity is high; with
rho = 0 (M is the last single-step estimate z o~^T) it is near zero.
"""

from __future__ import annotations

import numpy as np
import pytest

from bioopzo.config import ExperimentConfig
from bioopzo.data import load_dataset, make_encoder
from bioopzo.state import initial_state
from bioopzo.reference import ReferenceModel
from bioopzo.train import train


def cosine(a, b):
    return float(np.sum(a * b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def _config(rho, epochs):
    return ExperimentConfig.from_dict({
        "name": "jacobian",
        "network": {"hidden": [100, 50]},
        "rule": {"name": "opzo", "feedback_momentum": rho},
        "noise": {"scale": JAC_ALPHA},
        "optimizer": {"learning_rate": 0.0},
        "device": {"name": "cpp_standalone"},
        "training": {"epochs": epochs, "seed": 2},
    })


JAC_ALPHA = 1.0
JAC_RHO = 0.99999
JAC_EPOCHS = 16


@pytest.mark.standalone
def test_feedback_matrices_converge_to_the_jacobian(tmp_path):
    cfg = _config(JAC_RHO, JAC_EPOCHS)
    run = train(cfg, tmp_path / "momentum", progress=False, echo=lambda *a: None)
    M = [run.state["M1"], run.state["M2"]]
    # with rho = 0, M is one step's z o~^T
    no_momentum = train(_config(0.0, 1), tmp_path / "plain", progress=False, echo=lambda *a: None)
    M0 = [no_momentum.state["M1"], no_momentum.state["M2"]]

    # the target: E[z_l (o~ - o~|z_l=0)^T] / alpha over the same data, from
    # independent noise (4 noise repeats of every training sample)
    ds = load_dataset(cfg.data, cfg.training.seed)
    state = initial_state(cfg, ds.n_inputs, ds.n_classes)
    inputs = make_encoder(cfg.data, cfg.neuron.dt).encode(ds.x_train, np.random.default_rng(5))
    probe = ReferenceModel(cfg, ds.n_inputs, ds.n_classes, state, seed=9)
    rec = probe.run(np.repeat(inputs, 4, axis=0), np.repeat(ds.y_train, 4), batch=4,
                    probe_jacobian=True)
    J = rec.signals["jacobian"]
    with_momentum = [cosine(m, j) for m, j in zip(M, J)]
    without = [cosine(m, j) for m, j in zip(M0, J)]
    print(f"cosine(M_l, Jacobian) rho={JAC_RHO}: {np.round(with_momentum, 3)}; "
          f"rho=0: {np.round(without, 3)}")
    assert min(with_momentum) > 0.9
    assert max(np.abs(without)) < 0.3


def test_default_config_feedback_estimates_the_last_layer_jacobian(tmp_path):
    """Issue check: with learning off on digits at the packaged default config
    (digits_fc: output noise alpha 0.3, rho 0.9999, bias-corrected M), M's cosine
    with the same-step Jacobian of the last hidden layer exceeds 0.9."""
    from bioopzo.analysis import jacobian
    from bioopzo.config import load_config

    cfg = load_config(None, {"training": {"epochs": 2}})
    assert cfg.name == "digits_fc" and cfg.rule.feedback_momentum == 0.9999
    res = jacobian.run(cfg, rhos=(cfg.rule.feedback_momentum,), alphas=(), probe_samples=200,
                       draws=4, checkpoints_per_epoch=1, echo=None)
    (last,) = [r for k, r in res.final().items() if k[-1] == len(cfg.network.hidden)]
    print(f"default config, learning off, {last['step']} steps: cos(M_L, Jacobian) = "
          f"{last['cosine_M_jacobian']:.3f}")
    assert last["cosine_M_jacobian"] > 0.9
