"""Issue 7 analyses at a tiny size: each runs, writes its table, figure and
record, and shows the direction of its headline result.

All numbers here come from reference.py (batch-1 training, the Brian2 model's
algorithm; tests/rules/test_oracle.py proves they agree) on 64-48-32-10 (or 64-32-10)
digits networks with stratified subsets of 150-250 samples and T = 10 steps, so
each analysis takes seconds.
"""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from bioopzo.analysis import alignment, depth, jacobian, momentum, noise, variance
from bioopzo.analysis.estimators import ESTIMATORS, estimator_statistics, probe_pass
from bioopzo.analysis.training import train_reference
from bioopzo.config import ExperimentConfig
from bioopzo.data import load_dataset, make_encoder
from bioopzo.state import initial_state
from bioopzo.reference import ReferenceModel


def tiny(hidden=(48, 32), **sections):
    from bioopzo.config import deep_merge

    base = {
        "name": "tiny",
        "network": {"hidden": list(hidden), "weight_init_gain": 2.5},
        "rule": {"name": "opzo", "feedback_momentum": 0.999},
        "noise": {"scale": 0.5},
        "optimizer": {"learning_rate": 0.005, "lr_schedule": "cosine"},
        "data": {"dataset": "digits", "limit": 250, "steps_per_sample": 10},
        "training": {"epochs": 1, "seed": 1},
        "per_rule": {"bp": {"noise": {"scale": 0.0}}, "dfa": {"noise": {"scale": 0.0}}},
    }
    return ExperimentConfig.from_dict(deep_merge(base, sections))


def _check_outputs(result, tmp_path):
    paths = result.write(tmp_path)
    rows = list(csv.DictReader(paths["csv"].open()))
    assert len(rows) == len(result.rows) > 0
    assert paths["png"].stat().st_size > 5000
    meta = json.loads(paths["json"].read_text())
    assert "reference.py" in meta["implementation"] or "Brian2" in meta["implementation"]
    assert meta["headline"] == result.headline()
    assert not list(tmp_path.glob(".*tmp")) and not list(tmp_path.glob(".*.png"))
    return rows


def test_bp_estimate_is_the_oracle_gradient_direction():
    """The bp estimate of probe_pass equals the update reference.py applies."""
    cfg = tiny(rule={"name": "bp"}, noise={"scale": 0.0},
               optimizer={"learning_rate": 0.01, "schedule": "sample", "lr_schedule": "constant"})
    ds = load_dataset(cfg.data, 1)
    x = make_encoder(cfg.data, cfg.neuron.dt).encode(ds.x_train[:1], np.random.default_rng(0))
    state = initial_state(cfg, ds.n_inputs, ds.n_classes, 1)
    model = ReferenceModel(cfg, ds.n_inputs, ds.n_classes, state, seed=1)
    G = probe_pass(model, x, ds.y_train[:1], ("bp",)).gradients["bp"]
    before = {k: v.copy() for k, v in model.state.items()}
    model.run(x, ds.y_train[:1])
    for l, g in enumerate(G, start=1):
        step = before[f"W{l}"] - model.state[f"W{l}"]
        assert np.abs(g[0]).max() > 0
        np.testing.assert_allclose(step, 0.01 * g[0], rtol=1e-9, atol=1e-12)


def test_variance_zo_far_above_opzo(tmp_path):
    res = variance.run(tiny(), probe_samples=25, checkpoints_per_epoch=1, echo=None)
    _check_outputs(res, tmp_path)
    assert {r["rule"] for r in res.rows} == set(ESTIMATORS)
    for layer in (1, 2):
        zo, opzo, pzo = (res.ratio(r, layer) for r in ("zo", "opzo", "pzo"))
        print(f"layer {layer}: var/var_bp zo {zo:.3g}, pzo {pzo:.3g}, opzo {opzo:.3g}")
        assert zo > 10 * opzo          # Prop. 4.1: ZO orders of magnitude noisier
        assert pzo > 10 * opzo         # the momentum is what removes the variance
        assert opzo < 10               # OPZO of BP's order


def test_alignment_momentum_feedback_aligns_better_than_instantaneous(tmp_path):
    res = alignment.run(tiny(), rules=("opzo", "dfa", "zo"), probe_samples=25,
                        checkpoints_per_epoch=2, echo=None)
    _check_outputs(res, tmp_path)
    for layer in (1, 2):
        opzo, pzo, dfa, zo = (res.final(e, layer)["cosine_mean"] for e in ("opzo", "pzo", "dfa", "zo"))
        print(f"layer {layer}: cos opzo {opzo:.3f}, pzo {pzo:.3f}, dfa {dfa:.3f}, zo {zo:.3f}")
        assert opzo > pzo + 0.05
        assert opzo > zo + 0.05
        assert dfa > 0.1
    assert res.final("opzo", 2)["cosine_mean"] > 0.3
    # every rule is probed on the same noisy pass, also dfa, which trains without noise
    assert {r["probe_noise_scale"] for r in res.rows} == {0.5}


def test_alignment_opzo_beats_dfa_with_the_default_settings(tmp_path):
    """Issue check 1 at reduced size: the packaged two-layer model's OPZO settings
    (output noise, alpha 0.3, rho 0.9999, bias-corrected M) align OPZO's hidden
    updates with BP's better than DFA's, in both layers, on the same noisy pass."""
    from bioopzo.config import resolve_config_path
    from bioopzo.config import load_config

    cfg = load_config(resolve_config_path("digits_fc2"), {
        "network": {"hidden": [64, 64]}, "data": {"limit": 600}, "training": {"epochs": 2}})
    res = alignment.run(cfg, probe_samples=40, checkpoints_per_epoch=1, echo=None)
    for layer in (1, 2):
        opzo, dfa = (res.final(e, layer)["cosine_mean"] for e in ("opzo", "dfa"))
        print(f"layer {layer}: cos(update, BP) opzo {opzo:.3f}, dfa {dfa:.3f}")
        assert opzo > dfa


def test_jacobian_momentum_near_one_estimates_the_jacobian(tmp_path):
    res = jacobian.run(tiny(), rhos=(0.0, 0.999), alphas=(), probe_samples=40, draws=2,
                       checkpoints_per_epoch=1, echo=None)
    _check_outputs(res, tmp_path)
    fin = res.final()
    for layer in (1, 2):
        near_one, zero = fin[(0.999, 0.5, 1, layer)], fin[(0.0, 0.5, 1, layer)]
        print(f"layer {layer}: cos rho .999 {near_one['cosine_M_jacobian']:.3f}, "
              f"rho 0 {zero['cosine_M_jacobian']:.3f}, spread {near_one['jacobian_spread']:.3f}")
        assert near_one["cosine_M_jacobian"] > zero["cosine_M_jacobian"] + 0.2
        assert abs(zero["cosine_M_jacobian"]) < 0.2
        assert np.isfinite(near_one["jacobian_spread"])


def test_noise_every_distribution_and_site_learns(tmp_path):
    grid = {"distributions": ("gaussian", "rademacher", "sphere"), "sites": ("membrane", "output"),
            "scales": (0.5,), "antithetic": (False,), "extra_scales": ()}
    res = noise.run(tiny(hidden=(32,), data={"limit": 200}), grid=grid, echo=None)
    _check_outputs(res, tmp_path)
    cells = res.cells()
    assert len(cells) == 6
    for c in cells:
        assert c["mean"] > 0.4, c      # chance is 0.1
    (spread,) = res.spreads()
    assert spread["range"] < 0.3


def test_momentum_too_small_fails(tmp_path):
    res = momentum.run(tiny(data={"limit": 200}, optimizer={"learning_rate": 0.02}),
                       rhos=(0.0, 0.999), echo=None)
    _check_outputs(res, tmp_path)
    by = {r["rho"]: r for r in res.by_rho()}
    print({k: v["mean"] for k, v in by.items()})
    assert by[0.999]["mean"] > by[0.0]["mean"] + 0.2
    assert by[0.0]["at_chance"] or by[0.0]["broke_down"]
    assert by[0.999]["at_chance"] == 0


def test_depth_bp_at_least_opzo(tmp_path):
    res = depth.run(tiny(hidden=(32,), data={"limit": 150}), depths=(1, 2), echo=None)
    _check_outputs(res, tmp_path)
    gaps = res.gaps()
    assert [g["depth"] for g in gaps] == [1, 2]
    print(res.headline())
    for g in gaps:
        assert g["bp_minus_opzo"] > -0.05


def test_unknown_training_backend_is_refused():
    from bioopzo.analysis.training import train_many
    from bioopzo.config import ConfigError

    with pytest.raises(ConfigError, match="unknown backend 'gpu'"):
        train_many([tiny()], backend="gpu")


def test_train_many_in_worker_processes_gives_the_serial_results():
    pytest.importorskip("distributed", reason="parallel training runs on the sweep's dask cluster")
    from bioopzo.analysis.training import train_many

    configs = [tiny(hidden=(16,), data={"limit": 40}, training={"seed": s}) for s in (1, 2, 3)]
    seen = []
    serial = train_many(configs, workers=1)
    parallel = train_many(configs, workers=2, echo=seen.append)
    assert [r.rows for r in parallel] == [r.rows for r in serial]
    assert [r.config.training.seed for r in seen] == [1, 2, 3]


def test_training_breakdown_is_reported():
    run = train_reference(tiny(hidden=(16,), rule={"name": "bp"}, noise={"scale": 0.0}, data={"limit": 40},
                               optimizer={"learning_rate": 1e300, "lr_schedule": "constant"}))
    assert run.broke_down and np.isnan(run.final_accuracy)


def test_zo_estimates_need_noise():
    cfg = tiny(rule={"name": "dfa"}, noise={"scale": 0.0})
    ds = load_dataset(cfg.data, 1)
    model = ReferenceModel(cfg, ds.n_inputs, ds.n_classes)
    x = np.zeros((2, cfg.data.steps_per_sample, ds.n_inputs))
    with pytest.raises(ValueError, match="noise"):
        estimator_statistics(model, x, ds.y_train[:2], ("zo",))


def test_feedback_alignment_notebook(tmp_path):
    from test_notebooks import run_notebook

    nb = run_notebook("feedback_alignment.ipynb",
                      "EPOCHS = 1\nLIMIT = 150\nHIDDEN = [32, 24]\nGAIN = 2.5\nSTEPS = 8\nPROBE = 20\n"
                      "CHECKPOINTS = 1\nRHOS = [0.0, 0.999]\n", tmp_path)
    text = "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                     for o in c.get("outputs", []))
    assert "cosine(update, BP gradient)" in text and "cos(M_l, data-averaged" in text
    images = [o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(images) == 2


def test_cli_defaults_and_bad_arguments(capsys):
    from bioopzo.analysis.command import make_config
    from bioopzo.cli import build_parser, main

    parser = build_parser()
    cfg = make_config(parser.parse_args(["analyze", "momentum"]))
    assert cfg.data.limit == 600 and cfg.training.epochs == 3 and cfg.network.weight_init_gain == 2.5
    full = make_config(parser.parse_args(["analyze", "momentum", "--full"]))
    assert full.data.limit is None and full.training.epochs == 12
    assert main(["analyze", "noise", "--workers", "0"]) == 2
    assert "--workers 0 must be at least 1" in capsys.readouterr().err
    assert main(["analyze", "momentum", "--epochs", "0"]) == 2     # not the default 3 epochs
    assert "--epochs 0 must be at least 1" in capsys.readouterr().err
    assert main(["analyze", "depth", "--config", "no_such_model"]) == 2
    assert "neither a file nor a named model" in capsys.readouterr().err
