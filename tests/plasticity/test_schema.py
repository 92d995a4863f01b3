"""Issue 20: the strict data-file schema, protocols a file states (bursts, triplets, modulator
pulses), parameter reports with standard errors and flags, and the model comparison."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from brian2 import ms

from bioopzo.config import ConfigError
from bioopzo.plasticity.command import run_plasticity
from bioopzo.plasticity.comparison import information_criteria, leave_one_out, submodel
from bioopzo.plasticity.datasets import (QUANTITATIVE, PlasticityData, load_data_file, load_dataset,
                                         split_groups)
from bioopzo.plasticity.evaluate import evaluate_rule, rule_for
from bioopzo.plasticity.fitting import fit_rule
from bioopzo.plasticity.models import PLASTICITY_MODELS, PairSTDP
from bioopzo.plasticity.schema import SCHEMA_TEXT, error_columns_for
from bioopzo.plasticity.uncertainty import parameter_report


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


# ----------------------------------------------------------------------------- check 1: schema errors
@pytest.mark.parametrize("text, named, alternatives", [
    ("delta_t_ms,dw_rel,weight_change\n10,0.1,3\n", "unknown column 'weight_change'",
     ["dw_rel_mean", "delta_t_ms", "n_pairings", "cell"]),
    ("delta_t_ms,dw_ratio,per_cell_sem\n10,1.1,0.05\n", "unrecognised error column 'per_cell_sem'",
     ["dw_ratio_sem", "dw_ratio_sd", "dw_ratio_err", "sem"]),
    ("protocol,delta_t_ms,n_post_spikes,burst_interval_ms,dw_rel\nburst,10,3,10,0.2\n",
     "protocol 'burst' needs 'timing_spike'",
     ["# protocol: timing_spike", "delta_t_ms, n_post_spikes, burst_interval_ms, timing_spike"]),
    ("protocol,dt1_ms,dw_rel\npre_post_pre,5,0.1\n", "protocol 'pre_post_pre' needs 'dt2_ms'",
     ["dt1_ms, dt2_ms"]),
    ("figure,delta_t_ms,dw_rel\n2a,10,0.1\n2b,10,0.2\n3,-10,-0.1\n",
     "grouping column 'figure' holds 3 groups", ["--groups separate", "--groups joint"]),
    ("delta_t_ms,dw_rel,dw_rel_sd\n10,0.1,0.2\n", "error column 'dw_rel_sd' is a standard deviation",
     ["n_cells", "dw_rel_sem"]),
    ("delta_t_ms,dw_rel\n10,0.1\n", None, None),
])
def test_schema_errors_name_the_column_and_the_alternatives(tmp_path, text, named, alternatives):
    path = _write(tmp_path, "lab.csv", text)
    if named is None:
        assert len(load_data_file(path)) == 1
        return
    with pytest.raises(ConfigError) as info:
        load_data_file(path)
    message = str(info.value)
    assert named in message, message
    for alternative in alternatives:
        assert alternative in message, (alternative, message)
    assert "\n" not in message


def test_schema_accepts_the_documented_spellings_header_and_sidecar(tmp_path):
    # the columns --help used to name, (delta_t_ms, mean, error), are read as a fraction and its error
    plain = load_data_file(_write(tmp_path, "plain.csv",
                                  "delta_t_ms,mean,error\n10,0.3,0.05\n-10,-0.2,0.05\n"))
    assert np.allclose(plain.mean, [0.3, -0.2]) and np.allclose(plain.err, 0.05)
    ratio = load_data_file(_write(tmp_path, "ratio.csv", "delta_t_ms,dw_ratio,dw_ratio_sem\n10,1.3,0.05\n"))
    assert np.allclose(ratio.mean, [0.3]) and np.allclose(ratio.err, [0.05])
    sd = load_data_file(_write(tmp_path, "sd.csv", "delta_t_ms,dw_pct,dw_pct_sd,n_cells\n10,30,8,4\n"))
    assert np.allclose(sd.mean, [0.3]) and np.allclose(sd.err, [0.04])        # 8 % / sqrt(4)
    assert "epsc_change_sem_pct" in error_columns_for("epsc_change_pct")
    # protocol fields for the whole file: a header line, or a sidecar TOML; stating one twice is refused
    header = load_data_file(_write(tmp_path, "h.csv", "# protocol: n_pairings = 5\n"
                                   "# protocol: frequency_hz = 20\ndelta_t_ms,dw_rel\n10,0.1\n"))
    assert header.conditions[0].repeats == 1 and len(header.conditions[0].pre_steps) == 5   # a train
    side = _write(tmp_path, "s.csv", "delta_t_ms,dw_rel\n10,0.1\n")
    _write(tmp_path, "s.toml", "[protocol]\nn_pairings = 7\n")
    assert load_data_file(side).conditions[0].repeats == 7                    # 1 Hz: independent
    twice = _write(tmp_path, "t.csv", "# protocol: n_pairings = 5\ndelta_t_ms,n_pairings,dw_rel\n10,5,0.1\n")
    with pytest.raises(ConfigError, match="'n_pairings' is a column and also stated for the whole file"):
        load_data_file(twice)
    unused = _write(tmp_path, "u.csv", "protocol,delta_t_ms,dt2_ms,dw_rel\npairing,10,5,0.1\n")
    with pytest.raises(ConfigError, match="does not use 'dt2_ms'"):
        load_data_file(unused)
    for name in ("dw_rel_mean", "per row", "sidecar", "timing_spike", "n_cells", "--groups"):
        assert name in SCHEMA_TEXT


def test_help_and_schema_option_show_the_schema(capsys):
    from bioopzo.cli import main

    assert main(["plasticity", "--schema"]) == 0
    assert "timing_spike" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["plasticity", "--help"])
    text = capsys.readouterr().out
    assert "dw_ratio_mean" in text and "burst_interval_ms" in text and "--groups" in text


# ----------------------------------------------------------------------------- check 2: bursts
def test_burst_in_a_file_is_simulated_as_a_burst_and_pair_rule_sums_its_pairs(tmp_path):
    path = _write(tmp_path, "burst.csv",
                  "# protocol: n_pairings = 60\n"
                  "protocol,delta_t_ms,n_post_spikes,burst_interval_ms,timing_spike,dw_rel,dw_rel_sem\n"
                  "burst,3,3,10,2,0.2,0.05\n"
                  "burst,-12,3,5,1,-0.1,0.05\n"
                  "pairing,10,,,,0.1,0.05\n")
    data = load_data_file(path)
    stated = [(3, 3, 10, 2), (-12, 3, 5, 1)]        # delta_t_ms, n_post_spikes, interval, timing_spike
    for condition, (delta_t, n, interval, timing) in zip(data.conditions[:2], stated):
        assert len(condition.pre) == 1 and len(condition.post) == n and condition.repeats == 60
        offsets = (condition.post - condition.pre[0]) / ms
        assert offsets[timing - 1] == pytest.approx(delta_t)              # the spike the timing refers to
        assert np.allclose(np.diff(offsets), interval)
    # burst 1: t_post - t_pre = -7, 3, 13 ms; burst 2: -12, -7, -2 ms
    assert np.allclose((data.conditions[0].post - data.conditions[0].pre[0]) / ms, [-7, 3, 13])
    A_plus, A_minus = 0.011, 0.006
    rule = PairSTDP().with_params(A2_plus=A_plus, A2_minus=A_minus)
    analytic = np.array([60 * PairSTDP.analytic((c.post - c.pre[0]), A_plus, A_minus).sum()
                         for c in data.conditions])
    simulated = rule.weight_changes(data.conditions, "brian2")
    assert np.max(np.abs(simulated - analytic)) < 1e-6
    assert np.max(np.abs(rule.weight_changes(data.conditions, "numpy") - analytic)) < 1e-6
    assert analytic[0] != pytest.approx(analytic[2] * 1.0, rel=0.1)           # not a single pair


def test_triplet_and_quadruplet_rows_build_the_packaged_motifs():
    wang = load_dataset("wang_2005")
    labels = [c.label for c in wang.conditions]
    pre_post_pre = wang.conditions[labels.index("pre-post-pre 5/-15/-")]
    assert np.allclose(pre_post_pre.pre / ms - 1, [0, 20]) and np.allclose(pre_post_pre.post / ms - 1, [5])
    quad = wang.conditions[labels.index("pre-post-post-pre 5/-5/-88.5")]
    assert np.allclose(np.diff(quad.post / ms), [88.5]) and np.allclose((quad.post - quad.pre) / ms, [5, -5])


# ----------------------------------------------------------------------------- check 3: flags
def _report(rule_name, data_name):
    data = load_dataset(data_name)
    fit = fit_rule(rule_for(rule_name, data_name), data)
    return {r["parameter"]: r for r in parameter_report(fit, data)}, fit, data


def test_check3_triplet_terms_unconstrained_on_pairing_data_and_sjostrom_report(capsys):
    bi_poo, _, _ = _report("triplet", "bi_poo_1998")
    sj, full_fit, sj_data = _report("triplet", "sjostrom_2001")
    with capsys.disabled():
        for name, report in (("bi_poo_1998", bi_poo), ("sjostrom_2001", sj)):
            for r in report.values():
                print(f"\n[check 3] triplet on {name}: {r['parameter']} = {r['value']:.3g} +- {r['se']:.3g} "
                      f"({r['se_relative_pct']:.3g} %) flags {r['flags'] or '-'}", end="")
        print()
    # single pairings never meet the second trace: the triplet terms are a flat direction of the loss
    for name in ("A3_plus", "A3_minus"):
        assert "unconstrained" in bi_poo[name]["flags"] and bi_poo[name]["se"] == np.inf
    assert bi_poo["A2_plus"]["flags"] == "" and bi_poo["A2_plus"]["se_relative_pct"] < 20
    # Sjöström: the frequency dependence fixes the triplet LTP term and the pair LTD term
    assert sj["A3_plus"]["flags"] == "" and sj["A2_minus"]["flags"] == ""
    assert sj["A3_plus"]["se_relative_pct"] < 50 and sj["A2_minus"]["se_relative_pct"] < 50
    # measured: the FULL model's pair LTP term sits on its lower bound 0 and the triplet LTD term is not
    # determined (relative SE > 100 %) - the two terms that Pfister & Gerstner's minimal visual-cortex
    # model sets to 0. That minimal model flags nothing and wins on AIC; the report shows it as the
    # selected model (test_nested_selection_on_sjostrom_removes_the_terms_pfister_gerstner_set_to_zero).
    assert "on_bound" in sj["A2_plus"]["flags"] and "unconstrained" in sj["A3_minus"]["flags"]
    minimal = submodel(rule_for("triplet", "sjostrom_2001"), ["A2_plus", "A3_minus"])
    assert minimal.free == ("A3_plus", "A2_minus") and minimal.name == "triplet[-A2_plus,-A3_minus]"
    assert minimal.values["A2_plus"] == minimal.values["A3_minus"] == 0.0
    fit = fit_rule(minimal, sj_data)
    assert all(r["flags"] == "" for r in parameter_report(fit, sj_data))
    k_full = information_criteria(sj_data.mean, full_fit.prediction, sj_data.err, 4)
    k_min = information_criteria(sj_data.mean, fit.prediction, sj_data.err, 2)
    assert k_min["aic"] < k_full["aic"] and k_min["bic"] < k_full["bic"]


# ----------------------------------------------------------------------------- nested-model selection
def _selection_lines(ev):
    s = ev.selection
    return [f"\n[nested] {ev.rule_name} on {ev.data.name}: " + ", ".join(
        f"{c['model']} k {c['k']} AICc {c['aicc']:.4g}{' (selected)' if c['selected'] else ''}"
        for c in s.candidates)] + [f"\n[nested]   {line}" for line in s.removal_lines()]


def test_nested_selection_on_sjostrom_removes_the_terms_pfister_gerstner_set_to_zero(capsys):
    data = load_dataset("sjostrom_2001")
    ev = evaluate_rule("triplet", data, engine="numpy")
    s = ev.selection
    with capsys.disabled():
        print("".join(_selection_lines(ev)))
    assert s.removed == ("A2_plus", "A3_minus") and s.criterion == "aicc"
    assert s.selected.rule.name == "triplet[-A2_plus,-A3_minus]" and s.selected.rule.free == ("A3_plus",
                                                                                               "A2_minus")
    # the full model still flags both terms; the selected model flags nothing and has the lower AICc
    full = {r["parameter"]: r["flags"] for r in s.full_report}
    assert "on_bound" in full["A2_plus"] and "unconstrained" in full["A3_minus"]
    assert [r["flags"] for r in s.selected_report] == ["", ""]
    aicc = {c["model"]: c["aicc"] for c in s.candidates}
    assert aicc["triplet[-A2_plus,-A3_minus]"] < aicc["triplet"] - 2
    assert aicc["triplet[-A2_plus,-A3_minus]"] == min(aicc.values())
    # evidence per removed term: AICc of the selected model minus AICc with that term free again
    with_a2 = fit_rule(submodel(ev.fit.rule, ["A3_minus"]), data)
    expected = aicc["triplet[-A2_plus,-A3_minus]"] - information_criteria(
        data.mean, with_a2.prediction, data.err, 3)["aicc"]
    assert s.evidence["A2_plus"] == pytest.approx(expected) and expected < 0
    assert s.removal_lines()[0] == ("A2_plus fixed at 0: on its lower bound in the full fit "
                                    f"(dAICc {expected:.3g} when removed)")
    assert s.removal_lines()[1].startswith("A3_minus fixed at 0: unconstrained (relative SE 4")
    # report rows: the full fit (model "full", not selected), the selected model, the removed terms
    rows = ev.parameter_rows
    assert [r["parameter"] for r in rows if r["model"] == "full"] == ["A2_plus", "A3_plus", "A2_minus",
                                                                      "A3_minus"]
    assert not any(r["selected"] for r in rows if r["model"] == "full")
    chosen = [r for r in rows if r["selected"]]
    assert [(r["parameter"], r["flags"]) for r in chosen] == [
        ("A3_plus", ""), ("A2_minus", ""), ("A2_plus", "fixed_at_0"), ("A3_minus", "fixed_at_0")]
    assert chosen[2]["value"] == 0.0 and chosen[2]["reason"].startswith("on its lower bound in the full fit")
    # the comparison row of the selected model: k 2, and its leave-one-out refits the submodel
    row = ev.selected_comparison
    assert row["rule"] == "triplet (selected: A2_plus = A3_minus = 0)" and row["k"] == 2
    held = leave_one_out(s.selected, data)["prediction"]
    minimal = submodel(rule_for("triplet", "sjostrom_2001"), ["A2_plus", "A3_minus"])
    for i in (0, 5, 9):
        refit = fit_rule(minimal, data.subset([j for j in range(len(data)) if j != i]))
        assert refit.rule.free == minimal.free
        assert held[i] == pytest.approx(refit.rule.weight_changes([data.conditions[i]], "numpy")[0], abs=1e-9)
    assert row["loo_rmse_fraction"] == pytest.approx(float(np.sqrt(np.mean((data.mean - held) ** 2))))
    assert row["loo_rmse_fraction"] != pytest.approx(ev.comparison["loo_rmse_fraction"])
    # --no-reduce: the full model only
    plain = evaluate_rule("triplet", data, engine="numpy", reduce=False)
    assert plain.selection is None and plain.selected_comparison is None
    assert {r["model"] for r in plain.parameter_rows} == {"full"}
    assert all(r["selected"] for r in plain.parameter_rows)


def test_nested_selection_on_pairing_data_removes_the_triplet_terms_leaving_the_pair_rule(capsys):
    data = load_dataset("bi_poo_1998")
    ev = evaluate_rule("triplet", data, engine="numpy")
    s = ev.selection
    with capsys.disabled():
        print("".join(_selection_lines(ev)))
    full = {r["parameter"]: r for r in s.full_report}
    for name in ("A3_plus", "A3_minus"):
        assert "unconstrained" in full[name]["flags"] and full[name]["flat_direction"]
    assert s.removed == ("A3_plus", "A3_minus") and [r["flags"] for r in s.selected_report] == ["", ""]
    # the selected model is the pair rule's form: same free amplitudes, same prediction as the pair fit
    pair = fit_rule(rule_for("pair", "bi_poo_1998"), data)
    assert s.selected.rule.free == pair.rule.free
    assert np.allclose(s.selected.prediction, pair.prediction, atol=1e-12)
    # the triplet terms change nothing here: removing them costs no fit, only parameters (RSS form)
    aicc = {c["model"]: c["aicc"] for c in s.candidates}
    assert aicc["triplet"] - aicc["triplet[-A3_plus,-A3_minus]"] == pytest.approx(
        2 * 2 + 2 * 4 * 5 / (42 - 5) - 2 * 2 * 3 / (42 - 3), rel=1e-6)
    assert all(line.endswith("when removed)") and "flat direction in the full fit" in line
               for line in s.removal_lines())


def test_nested_selection_keeps_every_term_the_data_need():
    """Data from a triplet rule with all four amplitudes nonzero, under pre-post-pre, post-pre-post and
    frequency protocols, small noise: nothing is flagged, and every single removal costs AICc."""
    wang, sj = load_dataset("wang_2005"), load_dataset("sjostrom_2001")
    conditions = wang.conditions + sj.conditions
    # the hippocampal PG 2006 set (the fit's starting rule for this data name) with a smaller A3_minus:
    # changes of -0.3 to +0.4 (its tau_x of 946 ms makes the published A3_minus give -2.4 at 50 Hz)
    truth = rule_for("triplet", "synthetic").with_values(A3_minus=3e-4)
    amplitudes = [truth.values[k] for k in truth.free]
    assert min(amplitudes) > 0
    sigma = 0.02
    clean = truth.weight_changes(conditions, "numpy")
    y = clean + np.random.default_rng(0).normal(0.0, sigma, len(clean))
    data = PlasticityData("synthetic", conditions, y, np.full(len(y), sigma), np.arange(len(y), dtype=float),
                          "condition", ("synthetic",) * len(y), "generated in the test", "mixed")
    ev = evaluate_rule("triplet", data, engine="numpy")
    s = ev.selection
    assert s.removed == () and s.selected is s.full and ev.selected_comparison is None
    assert all(r["flags"] == "" for r in s.full_report)
    assert np.allclose([s.full.rule.values[k] for k in s.full.rule.free], amplitudes, rtol=0.3)
    full_aicc = information_criteria(y, s.full.prediction, data.err, 4)["aicc"]
    for name in s.full.rule.free:
        reduced = fit_rule(submodel(s.full.rule, [name]), data)
        assert information_criteria(y, reduced.prediction, data.err, 3)["aicc"] > full_aicc + 10, name
    assert {r["model"] for r in ev.parameter_rows} == {"full"}


def test_standard_errors_match_the_linear_least_squares_formula():
    data = load_dataset("wang_2005")
    fit = fit_rule(rule_for("pair", "wang_2005"), data)
    rows = parameter_report(fit, data)
    names = list(fit.rule.free)
    J = np.column_stack([fit.rule.with_values(**{n: float(n == m) for n in names}).weight_changes(
        data.conditions, "numpy") for m in names]) / data.err[:, None]
    chi2 = float(np.sum(((data.mean - fit.prediction) / data.err) ** 2))
    expected = np.sqrt(np.diag(np.linalg.inv(J.T @ J)) * max(1.0, chi2 / (len(data) - len(names))))
    assert np.allclose([r["se"] for r in rows], expected, rtol=1e-4)


# ----------------------------------------------------------------------------- check 4: comparison
@pytest.mark.parametrize("data_name", QUANTITATIVE)
def test_check4_model_comparison_for_every_rule_on_each_packaged_data_set(tmp_path, data_name, capsys):
    result = run_plasticity(list(PLASTICITY_MODELS), load_dataset(data_name), tmp_path / "out",
                            engine="numpy")
    printed = capsys.readouterr().out
    rows = {r["rule"]: r for r in result["model_comparison"] if r["model"] == "full"}
    selected = [r for r in result["model_comparison"] if r["model"] != "full"]
    assert set(rows) == set(PLASTICITY_MODELS)
    fitted = [r for r in rows.values() if r["status"] == "fitted"]
    assert len(fitted) == 4
    assert min(r["delta_aic"] for r in fitted + selected) == 0
    assert min(r["delta_aicc"] for r in fitted + selected) == 0
    for r in fitted + selected:
        assert np.isfinite([r["aic"], r["aicc"], r["bic"], r["loo_rmse_fraction"]]).all()
        assert r["loo_unit"] == "row" and r["loo_folds"] == r["n"] == len(load_dataset(data_name))
    # every data set has a selected triplet submodel, listed right after the full triplet rule
    order = [r["rule"] for r in result["model_comparison"]]
    triplet_selected = [r for r in selected if r["rule"].startswith("triplet (selected: ")]
    assert len(triplet_selected) == 1
    assert order.index(triplet_selected[0]["rule"]) == order.index("triplet") + 1
    assert triplet_selected[0]["aicc"] < rows["triplet"]["aicc"] and triplet_selected[0]["k"] < 4
    assert rows["opzo_eligibility"]["status"].startswith("skipped: gated by a modulator pulse")
    assert "opzo_eligibility skipped on" in printed and "model comparison" in printed
    assert "fitted parameters" in printed and "unconstrained" in printed
    assert "triplet on " + data_name + " (triplet[-" in printed and "fixed at 0: " in printed
    with open(tmp_path / "out" / "model_comparison.csv") as f:
        table = list(csv.DictReader(f))
    assert len(table) == 5 + len(selected) and "loo_rmse_fraction" in table[0] and "delta_bic" in table[0]
    assert [r["model"] for r in table if r["rule"] == triplet_selected[0]["rule"]] == [
        triplet_selected[0]["model"]]
    with open(tmp_path / "out" / "parameter_report.csv") as f:
        params = list(csv.DictReader(f))
    assert "se_relative_pct" in params[0] and {p["rule"] for p in params} == {r["rule"] for r in fitted}
    assert {p["model"] for p in params if p["rule"] == "triplet"} == {"full", triplet_selected[0]["model"]}
    assert all(p["reason"].endswith("when removed)") for p in params if p["flags"] == "fixed_at_0")


# ----------------------------------------------------------------------------- groups
def test_groups_are_fitted_jointly_or_separately_never_pooled_silently(tmp_path, capsys):
    from bioopzo.cli import main

    text = ("# protocol: n_pairings = 60\ncell,delta_t_ms,dw_rel,dw_rel_sem\n"
            + "".join(f"c{c},{d},{0.3 * np.sign(d) * np.exp(-abs(d) / 20) + 0.02 * c:.4f},0.05\n"
                      for c in (1, 2, 3) for d in (-20, -10, 10, 20)))
    path = _write(tmp_path, "cells.csv", text)
    assert main(["plasticity", "--rule", "pair", "--engine", "numpy", "--data-file", str(path),
                 "--out", str(tmp_path / "none")]) == 2
    assert "grouping column 'cell' holds 3 groups" in capsys.readouterr().err
    joint = load_data_file(path, groups="joint")
    ev = evaluate_rule("pair", joint, engine="numpy")
    assert len(joint) == 12 and ev.comparison["loo_unit"] == "cell" and ev.comparison["loo_folds"] == 3
    parts = split_groups(load_data_file(path, groups="separate"))
    assert [p.name for p in parts] == ["cells[c1]", "cells[c2]", "cells[c3]"]
    assert all(len(p) == 4 for p in parts)
    assert main(["plasticity", "--rule", "pair", "--engine", "numpy", "--data-file", str(path),
                 "--groups", "separate", "--out", str(tmp_path / "sep")]) == 0
    with open(tmp_path / "sep" / "model_comparison.csv") as f:
        assert [r["data"] for r in csv.DictReader(f)] == ["cells[c1]", "cells[c2]", "cells[c3]"]


def test_modulator_rows_build_the_third_factor_protocol_and_admit_opzo_eligibility(tmp_path):
    from brian2 import second

    from bioopzo.plasticity.datasets import third_factor_conditions
    from bioopzo.plasticity.evaluate import skip_reason
    from bioopzo.plasticity.models import make_plasticity_model

    path = _write(tmp_path, "da.csv", "# protocol: protocol = pairing_modulator\n# protocol: n_pairings = 1\n"
                  "# protocol: modulator_duration_ms = 300\n"
                  "delta_t_ms,modulator_delay_ms,modulator_value,dw_rel,sem\n10,1000,1,0.3,0.05\n"
                  "-10,1000,-1,-0.2,0.05\n")
    data = load_data_file(path)
    reference, _ = third_factor_conditions((1.0 * second,))
    he_ne, he_5ht = reference[1], reference[2]        # He 2015: NE after pre-post, 5-HT after post-pre
    for mine, theirs in zip(data.conditions, (he_ne, he_5ht)):
        assert (mine.pre_steps, mine.post_steps) == (theirs.pre_steps, theirs.post_steps)
        assert [(float(a), float(b), v) for a, b, v in mine.modulator] == \
               [(float(a), float(b), v) for a, b, v in theirs.modulator]
    assert skip_reason("opzo_eligibility", data) is None
    assert skip_reason("opzo_eligibility", load_dataset("sjostrom_2001")).startswith("gated by a modulator")
    rule = make_plasticity_model("opzo_eligibility")
    filtered = rule.weight_changes(data.conditions, "numpy")             # the linear-filter form
    assert np.max(np.abs(filtered - rule.step_loop(data.conditions))) < 1e-12 and filtered[0] > 0
