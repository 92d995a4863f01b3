"""Plasticity protocols against biological data (issue 6): checks 1-3, exactness of the NumPy
forms used for fitting, parameters in Brian2 units, data validation and the command line."""

from __future__ import annotations

import os

import numpy as np
import pytest
from brian2 import Hz, mV, ms, second

from bioopzo.config import ConfigError
from bioopzo.plasticity.datasets import (QUANTITATIVE, load_data_file, load_dataset,
                                         third_factor_conditions, wang_motif)
from bioopzo.plasticity.evaluate import (evaluate_rule, leave_one_dataset_out, published_control,
                                         rule_for, third_factor_table, voltage_clamp_table)
from bioopzo.plasticity.fitting import fit_rule
from bioopzo.plasticity.protocols import Condition, pairing, pairing_train
from bioopzo.plasticity.models import (PLASTICITY_MODELS, ClopathVoltage, OPZOEligibility, PairSTDP,
                                       TripletSTDP, make_plasticity_model, pfister_gerstner_parameters)
from bioopzo.plasticity.scores import scores


def test_packaged_data_sets_load_with_citations():
    sizes = {"bi_poo_1998": 42, "sjostrom_2001": 10, "wang_2005": 13}
    for name in QUANTITATIVE:
        data = load_dataset(name)
        assert len(data) == sizes[name] == len(data.mean) == len(data.err)
        assert "(" in data.source and len(data.source) > 80       # the citation line of the CSV
    sj = load_dataset("sjostrom_2001")
    assert sj.has_errors and sj.conditions[0].repeats == 60 and len(sj.conditions[0].pre_steps) == 1
    assert sj.conditions[1].repeats == 1 and len(sj.conditions[1].pre_steps) == 60   # 10 Hz: one train
    # Wang quadruplet T = 20 ms: post-pre-pre-post, |dt| = 5 ms, 20 ms between the two pre spikes
    q = wang_motif("post-pre-pre-post", -5 * ms, 5 * ms, 20 * ms, 60)
    assert np.diff(q.pre / ms)[0] == pytest.approx(20) and (q.pre[0] - q.post[0]) / ms == pytest.approx(5)
    with pytest.raises(ConfigError, match="unknown data set"):
        load_dataset("sjostrom")


def test_plasticity_data_are_package_data():
    """Every shipped data file matches a [tool.setuptools.package-data] glob of pyproject.toml."""
    import fnmatch
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    setuptools = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
    globs = setuptools["package-data"]["bioopzo"]
    files = sorted((root / "bioopzo" / "plasticity" / "data").iterdir())
    assert len(files) >= 10
    for f in files:
        rel = f.relative_to(root / "bioopzo").as_posix()
        assert any(fnmatch.fnmatch(rel, g) for g in globs), rel


def test_check1_triplet_rule_reproduces_sjostrom_and_beats_pair_rule(capsys):
    """Check 1: PG 2006 visual-cortex all-to-all triplet parameters, Brian2 protocol simulation."""
    data = load_dataset("sjostrom_2001")
    control = published_control(data, engine="brian2")
    # pair rule fitted to the same data; its NumPy form equals its Brian2 simulation
    # (test_numpy_form_equals_brian2_protocol), which keeps this test to one long Brian2 run
    pair = evaluate_rule("pair", data, engine="numpy")
    triplet_scores, pair_scores = control["scores"], pair.scores
    with capsys.disabled():
        print(f"\n[check 1] Sjöström 2001, 60 pairings: triplet (PG 2006 published) {triplet_scores}"
              f"\n[check 1] pair rule (A+, A- fitted)                  {pair_scores}")
    assert triplet_scores["within"] >= 8
    assert triplet_scores["nmse"] < pair_scores["nmse"] / 5
    assert triplet_scores["r2"] > 0.8 > pair_scores["r2"] + 0.4
    # the triplet rule reverses the sign at -10 ms between 20 and 50 Hz; the pair rule cannot
    minus = [i for i, g in enumerate(data.groups) if g == "-10 ms"]
    assert control["prediction"][minus[0]] < 0 < control["prediction"][minus[-1]]
    assert abs(pair.prediction[minus[-1]] - data.mean[minus[-1]]) > data.err[minus[-1]]
    # the independent digitisation of the same figure agrees within 0.035 and gives the same verdict
    cross = load_dataset("sjostrom_2001_crosscheck")
    assert np.max(np.abs(cross.mean - data.mean)) < 0.035
    assert scores(cross.mean, control["prediction"], cross.err)["within"] >= 8


@pytest.mark.parametrize("taus", [(16.8, 33.7), (10.0, 25.0)])
def test_check2_pair_rule_single_pairing_equals_analytic_change(taus):
    """Check 2: one pairing per delay, all delays in one Brian2 run, against A exp(-|dt|/tau)."""
    tau_plus, tau_minus = taus
    A_plus, A_minus = 0.0105, 0.0123
    delays = np.concatenate([np.arange(-120.0, 0.0, 3.7), np.arange(0.1, 121.0, 3.7)])
    rule = PairSTDP().with_params(A2_plus=A_plus, A2_minus=A_minus, tau_plus=tau_plus * ms,
                                  tau_minus=tau_minus * ms)
    conditions = [pairing(d * ms) for d in delays]
    exact_delays = np.array([(c.post[0] - c.pre[0]) / ms for c in conditions])
    assert np.allclose(exact_delays, delays, atol=0.05 + 1e-9)          # on the 0.1 ms grid
    analytic = PairSTDP.analytic(exact_delays * ms, A_plus, A_minus, tau_plus * ms, tau_minus * ms)
    simulated = rule.weight_changes(conditions, "brian2")
    assert np.max(np.abs(simulated - analytic)) < 1e-6
    assert np.max(np.abs(rule.weight_changes(conditions, "numpy") - analytic)) < 1e-6
    assert np.all(simulated[exact_delays > 0] > 0) and np.all(simulated[exact_delays < 0] < 0)


def _mixed_protocol():
    """Wang motifs, a 50 Hz train at +-10 ms and third-factor pulses: exercises every code path."""
    conds = list(load_dataset("wang_2005").conditions)
    conds += [pairing_train(10 * ms, 50 * Hz, 6), pairing_train(-10 * ms, 50 * Hz, 6),
              pairing_train(10 * ms, 20 * Hz, 3)]
    conds.append(Condition(np.array([1.0, 3.0]) * ms, np.array([8.0]) * ms, 1,
                           ((20 * ms, 60 * ms, 1.0), (100 * ms, 130 * ms, -0.5)), "mod"))
    conds.append(Condition(np.array([1.0]) * ms, (), 1, ((0 * ms, 50 * ms, 2.0),), "pre only"))
    conds.append(Condition((), np.array([4.0]) * ms, 1, ((0 * ms, 50 * ms, 1.0),), "post only"))
    conds.append(Condition(np.array([1.0, 11.0, 21.0]) * ms, (), 1, None, "clamp -30 mV", clamp=-30 * mV))
    conds.append(Condition(np.array([1.0, 30.0]) * ms, np.array([15.0]) * ms, 1, None,
                           "clamp -45 mV, forced spike", clamp=-45 * mV))
    return conds


@pytest.mark.parametrize("rule", [
    PairSTDP().with_params(A2_plus=0.01, A2_minus=0.007),
    TripletSTDP().with_params(**pfister_gerstner_parameters("hippocampal", "all_to_all", "full")),
    TripletSTDP(interaction="nearest_spike").with_params(
        **pfister_gerstner_parameters("visual_cortex", "nearest_spike", "full")),
    OPZOEligibility().with_params(scale=2e-3, tau_pre=12.0 * ms, kappa=6.0),
    OPZOEligibility(name="opzo_eligibility").with_params(scale=1e-4, tau_e=40.0 * ms),
    ClopathVoltage(),
], ids=["pair", "triplet_ata", "triplet_nearest", "opzo", "opzo_eligibility", "clopath"])
def test_numpy_form_equals_brian2_protocol(rule):
    """The NumPy forms used for fitting equal the Brian2 protocol simulation to 1e-6."""
    conditions = _mixed_protocol()
    if isinstance(rule, OPZOEligibility) and rule.tau_e == 0 * ms:
        # the closed form is used when no condition has modulator pulses; test it and the step loop
        plain = [c for c in conditions if c.modulator is None]
        repeats = np.array([c.repeats for c in plain])
        closed = repeats * rule.closed_form(plain)
        assert np.max(np.abs(rule.weight_changes(plain, "brian2") - closed)) < 1e-6
    brian = rule.weight_changes(conditions, "brian2")
    numpy_form = rule.weight_changes(conditions, "numpy")
    assert np.max(np.abs(brian)) > 1e-3                    # the protocol changes the weights
    assert np.max(np.abs(brian - numpy_form)) < 1e-6


def test_check3_opzo_synapse_window_is_one_sided():
    """Check 3 (numbers in README): OPZO's change has the modulator's sign at every delay."""
    bi_poo = load_dataset("bi_poo_1998")
    sj = load_dataset("sjostrom_2001")
    ratio = {}
    for kappa in (4.0, 36.0):
        rule = OPZOEligibility().with_params(scale=1e-3, kappa=kappa, tau_pre=15.0 * ms)
        dw = rule.weight_changes(bi_poo.conditions, "numpy")
        assert np.all(dw > 0)                              # no LTD branch for post-before-pre
        ratio[kappa] = dw[bi_poo.x > 0].max() / dw[bi_poo.x < 0].max()
    # with DESIGN's kappa = 4 the surrogate at rest, psi(0) = 0.07, times the presynaptic trace summed
    # over 0.1 ms steps outweighs the spike-time term: nearly no timing dependence at all; with a
    # sharp surrogate the change is Hebbian on the causal side only
    assert ratio[4.0] < 1.3 and ratio[36.0] > 3
    fit = fit_rule(make_plasticity_model("opzo"), sj)
    minus_low = [i for i, (g, x) in enumerate(zip(sj.groups, sj.x)) if g == "-10 ms" and x <= 20]
    assert np.all(sj.mean[minus_low] < 0) and np.all(fit.prediction[minus_low] >= -1e-12)
    assert fit.scores["within"] <= 5


def test_third_factor_checks_eligibility_variant_and_controls():
    delays = np.array([-1.0, 0.6, 1.0, 5.0]) * second
    elig = {r["check"]: r for r in third_factor_table(make_plasticity_model("opzo_eligibility"), "numpy",
                                                     delays)}
    yag = [r for r in elig.values() if r["study"] == "yagishita2014"]
    assert all(r["passes"] for r in yag), yag                      # window, with tau_e = 1 s
    assert elig["He: pre-post, NE at 1 s"]["passes"] and elig["He: pre-post, no modulator"]["passes"]
    assert not elig["Brzosko: post-pre, no dopamine"]["passes"]   # no change without a modulator
    plain = third_factor_table(make_plasticity_model("opzo"), "numpy", delays)
    # without an eligibility trace a modulator >= 0.3 s after the pairing finds nothing to convert
    assert [r["model"] for r in plain if r["study"] == "yagishita2014"] == ["none"] * 4
    assert plain[0]["reference_dw"] > 0
    triplet = third_factor_table(make_plasticity_model("triplet"), "numpy", delays)
    assert not all(r["passes"] for r in triplet if r["study"] == "yagishita2014")   # no third factor
    conds, expect = third_factor_conditions(delays)
    assert len(conds) == len(expect) == len(delays) + 5


def test_voltage_clamp_sign_sequence_clopath_matches_opzo_cannot():
    """Ngezahayo et al. 2000 (low-confidence digitisation): no change, LTD, no change, LTP, LTP from
    -40 to 0 mV. The Clopath rule with its hippocampal parameters (fitted to these data) gives it;
    the OPZO surrogate is one bell around threshold, so its change has one sign and falls with V."""
    clopath = voltage_clamp_table(rule_for("clopath", "ngezahayo_2000"), "numpy")
    assert [r["expected"] for r in clopath] == ["none", "LTD", "none", "LTP", "LTP"]
    assert all(r["passes"] for r in clopath), clopath
    opzo = voltage_clamp_table(rule_for("opzo", "ngezahayo_2000"), "numpy")
    dw = np.array([r["dw_rel"] for r in opzo])
    assert np.all(dw > 0) and np.all(np.diff(dw) < 0)
    assert sum(r["passes"] for r in opzo) <= 1


def test_leave_one_dataset_out_and_scores():
    evs = {(r, d): evaluate_rule(r, load_dataset(d), engine="numpy")
           for r in ("pair", "triplet") for d in ("sjostrom_2001", "wang_2005")}
    rows = leave_one_dataset_out(evs, ("sjostrom_2001", "wang_2005"))
    assert len(rows) == 4 and {r["fitted_on"] for r in rows} == {"sjostrom_2001", "wang_2005"}
    row = next(r for r in rows if r["rule"] == "pair" and r["fitted_on"] == "wang_2005")
    wang_fit = evs[("pair", "wang_2005")].fit.rule
    sj = load_dataset("sjostrom_2001")
    direct = scores(sj.mean, wang_fit.weight_changes(sj.conditions, "numpy"), sj.err)
    assert row["nmse"] == pytest.approx(direct["nmse"]) and row["nmse_rescaled"] <= row["nmse"] + 1e-12
    s = scores([1.0, 2.0, 3.0], [1.0, 2.5, 3.0], [0.4, 0.4, 0.4])
    assert s["within"] == 2 and s["nmse"] == pytest.approx((0.5 / 0.4) ** 2 / 3)
    assert s["rmse"] == pytest.approx(np.sqrt(0.25 / 3)) and s["r2"] == pytest.approx(1 - 0.25 / 2)


def test_user_data_file_schema_and_errors(tmp_path):
    good = tmp_path / "mine.csv"
    good.write_text("# my lab\ndelta_t_ms,frequency_hz,dw_rel_mean,dw_rel_sem\n10,1,0.2,0.05\n"
                    "-10,1,-0.1,0.04\n10,20,0.3,0.1\n")
    data = load_data_file(good)
    assert len(data) == 3 and data.has_errors and data.conditions[2].repeats == 1
    pct = tmp_path / "pct.csv"
    pct.write_text("delta_t_ms,epsc_change_pct\n5,40\n-5,-20\n")
    assert np.allclose(load_data_file(pct).mean, [0.4, -0.2]) and not load_data_file(pct).has_errors
    bad = {
        "no_dt.csv": ("dt,dw_rel\n5,0.1\n", "unknown column 'dt'"),
        "no_mean.csv": ("delta_t_ms,weight\n5,0.1\n", "exactly one mean column"),
        "text.csv": ("delta_t_ms,dw_rel\nfive,0.1\n", "is not a number"),
        "empty.csv": ("delta_t_ms,dw_rel\n5,\n", "is empty"),
        "zero_err.csv": ("delta_t_ms,dw_rel,dw_rel_sem\n5,0.1,0\n", "must be > 0"),
        "fast.csv": ("delta_t_ms,frequency_hz,dw_rel\n30,50,0.1\n", "repetition period 20 ms"),
        "rows.csv": ("delta_t_ms,dw_rel\n", "no data rows"),
    }
    for name, (text, message) in bad.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(ConfigError, match=message):
            load_data_file(tmp_path / name)
    with pytest.raises(ConfigError, match="does not exist"):
        load_data_file(tmp_path / "missing.csv")


def test_cli_plasticity_writes_results_atomically(tmp_path, capsys):
    from bioopzo.cli import main

    data = tmp_path / "mine.csv"
    data.write_text("delta_t_ms,dw_rel_mean,dw_rel_sem\n10,0.3,0.05\n-10,-0.2,0.05\n40,0.05,0.05\n")
    out = tmp_path / "out"
    assert main(["plasticity", "--rule", "pair", "--data-file", str(data), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "pair on mine: RMSE" in text and "max |Brian2 - NumPy|" in text
    for name in ("scores.csv", "predictions.csv", "parameters.json", "report.md", "versions.json",
                 "figure_pair_mine.png"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    assert not list(out.glob(".*.tmp"))
    umask = os.umask(0)
    os.umask(umask)
    assert (out / "scores.csv").stat().st_mode & 0o777 == 0o666 & ~umask    # not mkstemp's 0600
    assert main(["plasticity", "--rule", "pair", "--data-file", str(data), "--out", str(out)]) == 2
    assert "exists and is not empty; pass --overwrite" in capsys.readouterr().err
    (out / "scores.csv").write_text("stale\n")
    (out / "mine.txt").write_text("not ours\n")
    assert main(["plasticity", "--rule", "pair", "--data-file", str(data), "--out", str(out),
                 "--overwrite", "--quiet"]) == 0          # --overwrite replaces the folder whole
    assert "fitting" not in capsys.readouterr().out      # --quiet: results only
    assert (out / "scores.csv").read_text() != "stale\n" and not (out / "mine.txt").exists()
    assert not out.with_name("out.partial").exists()
    assert main(["plasticity", "--data-file", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "o2")]) == 2
    assert main(["plasticity", "--rule", "opzo_eligibility", "--data", "wang_2005",
                 "--out", str(tmp_path / "o3")]) == 2
    capsys.readouterr()
    assert main(["plasticity", "--rule", "every", "--engine", "numpy", "--data-file", str(data),
                 "--out", str(tmp_path / "o4")]) == 0
    text = capsys.readouterr().out
    assert "skips opzo_eligibility on mine" in text
    assert all(f"{name} on mine: RMSE" in text for name in ("opzo", "pair", "triplet", "clopath"))


def test_parameters_and_protocol_times_are_brian2_quantities():
    """Parameters and times carry units; a wrong unit names the parameter and the unit it expects;
    the output tables keep the unit in the column name."""
    assert set(PLASTICITY_MODELS) == {"opzo", "opzo_eligibility", "pair", "triplet", "clopath"}
    pair = make_plasticity_model("pair")
    assert pair.tau_plus == 16.8 * ms and pair.params["A2_plus"] == 5e-3
    assert pair.with_params(tau_plus=20 * ms).table()["tau_plus_ms"] == 20.0
    clopath = make_plasticity_model("clopath")
    assert clopath.A_LTD == 14e-5 / mV and clopath.table()["A_LTP_per_mV2"] == 8e-5
    assert make_plasticity_model("opzo_eligibility").table()["tau_e_ms"] == 1000.0
    with pytest.raises(ConfigError, match=r"pair: tau_plus must be in ms"):
        pair.with_params(tau_plus=16.8)
    with pytest.raises(ConfigError, match=r"clopath: A_LTD must be in 1/mV"):
        clopath.with_params(A_LTD=1e-4)
    with pytest.raises(ConfigError, match=r"kappa must be in 1 \(dimensionless\)"):
        make_plasticity_model("opzo").with_params(kappa=4 * ms)
    with pytest.raises(ConfigError, match=r"delta_t must be in ms"):
        pairing(10)
    with pytest.raises(ConfigError, match=r"frequency must be in Hz"):
        pairing_train(10 * ms, 20 * ms, 3)
    with pytest.raises(ConfigError, match=r"clamp must be in mV"):
        Condition(np.array([1.0]) * ms, (), clamp=-30)
    c = pairing_train(-10 * ms, 20 * Hz, 3, onset=2 * ms)
    assert c.pre_steps == (120, 620, 1120) and c.post_steps == (20, 520, 1020)
    assert c.last_event == 112 * ms and c == pairing_train(-0.01 * second, 20 * Hz, 3, onset=2 * ms)
