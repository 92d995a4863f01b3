"""Run rules through the protocols, fit, score, and build the tables.

- ``evaluate_rule(rule_name, data)``: fit the rule's free parameters to the data (NumPy form), run
  the fitted rule through the Brian2 protocol simulation, score the Brian2 weight changes and record
  the largest |Brian2 - NumPy| difference.
- ``published_control(data)``: the Pfister & Gerstner 2006 triplet rule with its published
  parameters (no fit), the positive control of the harness.
- ``third_factor_table(rule)``: the qualitative third-factor checks (Yagishita 2014 window, He 2015
  signs, Brzosko 2015 conversion). A change counts as "none" when |dw| <= 10 % of the largest |dw| of
  the rule over all checks and a reference condition (the pairing with the modulator pulse starting at
  the pairing onset), else LTP or LTD by its sign.
- ``leave_one_dataset_out(fits)``: parameters fitted on one data set scored on each other one, as
  fitted (strict transfer) and with one refitted amplitude factor (shape transfer).
- ``skip_reason(rule_name, data)``: why a rule is not fitted to a data set (None when it is):
  ``opzo_eligibility`` integrates its eligibility trace into the weight only while a modulator pulse
  is on, so it is fitted only to data whose every condition states one (protocol
  pairing_modulator); with a constant modulator its change would depend on the simulated tail.

Each evaluation carries its parameter report (:mod:`bioopzo.plasticity.uncertainty`) and its
model-comparison row (:mod:`bioopzo.plasticity.comparison`). With ``reduce`` (the default) it also
carries the nested-model selection (``comparison.select_nested``: flagged amplitudes fixed at 0 when
AICc says the data do not need them): the report then holds the full fit's rows (model "full") and
the selected model's rows with one row per removed term, and ``selected_comparison`` is the selected
submodel's comparison row (its leave-one-out refits the submodel). Scores, predictions and figures
are the full fit's.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from brian2 import ms

from bioopzo.plasticity.datasets import (MODULATOR_PULSE, QUANTITATIVE, YAGISHITA_DELAYS, PlasticityData,
                                         load_dataset, third_factor_conditions, voltage_clamp_conditions)
from bioopzo.plasticity.comparison import Selection, comparison_row, select_nested
from bioopzo.plasticity.fitting import Fit, fit_rule, scale_refit
from bioopzo.plasticity.models import (TripletSTDP, clopath_parameters, make_plasticity_model,
                                       pfister_gerstner_parameters)
from bioopzo.plasticity.protocols import pairing
from bioopzo.plasticity.quantities import in_unit
from bioopzo.plasticity.scores import scores
from bioopzo.plasticity.uncertainty import parameter_report

__all__ = ["Evaluation", "evaluate_rule", "published_control", "third_factor_table", "voltage_clamp_table",
           "qualitative_table",
           "leave_one_dataset_out", "rule_for", "skip_reason", "skipped_row", "selected_rule_label",
           "QUANTITATIVE_RULES",
           "NONE_FRACTION"]

#: Rules scored on the quantitative (pairing) data sets; opzo_eligibility is modulator-gated and
#: is scored on the third-factor checks only.
QUANTITATIVE_RULES = ("pair", "triplet", "clopath", "opzo")
NONE_FRACTION = 0.1
_PG_SET = {"sjostrom_2001": "visual_cortex"}


def rule_for(rule_name: str, data_name: str):
    """The model with its starting parameters for a data set (PG 2006 set matching the data)."""
    rule = make_plasticity_model(rule_name)
    if rule_name == "clopath" and data_name == "ngezahayo_2000":
        # the hippocampal set was fitted to these data (its tau_minus, tau_plus are blank: unused
        # under clamp, the visual-cortex values stay)
        return rule.with_params(**clopath_parameters("hippocampus", allow_blank=True))
    if rule_name == "triplet":
        rule = rule.with_params(**pfister_gerstner_parameters(_PG_SET.get(data_name, "hippocampal"),
                                                              "all_to_all", "full"))
    return rule


@dataclass
class Evaluation:
    rule_name: str
    data: PlasticityData
    fit: Fit
    prediction: np.ndarray          # the reported model values (Brian2 unless engine == "numpy")
    engine: str
    max_engine_difference: float    # max |Brian2 - NumPy| over the conditions (nan if not run)
    scores: dict = field(default_factory=dict)
    parameter_rows: list = field(default_factory=list)    # Selection.parameter_rows (full, selected)
    comparison: dict = field(default_factory=dict)        # comparison.comparison_row of the full fit
    selection: Selection | None = None                    # comparison.select_nested (None: not reduced)
    selected_comparison: dict | None = None               # the selected submodel's row (None: none removed)


def skip_reason(rule_name: str, data: PlasticityData) -> str | None:
    """Why ``rule_name`` is not fitted to ``data`` (None when it is)."""
    if rule_name == "opzo_eligibility" and not all(c.modulator is not None for c in data.conditions):
        return ("gated by a modulator pulse: it is fitted only to data whose every condition states one "
                "(protocol pairing_modulator) and scored on --data three_factor")
    return None


def skipped_row(rule_name: str, data: PlasticityData, reason: str) -> dict:
    """A model-comparison row for a rule that was not fitted, with the reason."""
    nan = float("nan")
    return {"rule": rule_name, "model": "full", "data": data.name, "n": len(data), "k": -1, "chi2": nan,
            "rss": nan, "aic": nan, "aicc": nan, "bic": nan, "delta_aic": nan, "delta_aicc": nan,
            "delta_bic": nan, "loo_unit": "", "loo_folds": -1, "loo_rmse_fraction": nan, "loo_nmse": nan,
            "status": f"skipped: {reason}"}


def selected_rule_label(rule_name: str, selection: Selection) -> str:
    """``triplet (selected: A2_plus = A3_minus = 0)``: the selected submodel in comparison tables."""
    return f"{rule_name} (selected: {selection.label})"


def evaluate_rule(rule_name: str, data: PlasticityData, engine: str = "brian2",
                  report: bool = True, reduce: bool = True) -> Evaluation:
    """Fit, simulate and score; with ``report`` also the parameter report and the comparison row,
    with ``reduce`` also the nested-model selection and the selected submodel's comparison row."""
    rule = rule_for(rule_name, data.name)
    fit = fit_rule(rule, data)
    prediction = fit.prediction
    difference = float("nan")
    if engine == "brian2":
        prediction = fit.rule.weight_changes(data.conditions, "brian2")
        difference = float(np.max(np.abs(prediction - fit.prediction)))
    elif engine != "numpy":
        raise ValueError(f"engine must be 'brian2' or 'numpy', not {engine!r}")
    ev = Evaluation(rule_name, data, fit, prediction, engine, difference,
                    scores(data.mean, prediction, data.err))
    if report:
        if reduce:
            ev.selection = select_nested(fit, data)
            selection = ev.selection
        else:
            full_report = parameter_report(fit, data)
            selection = Selection(fit, fit, full_report, full_report)
        ev.parameter_rows = selection.parameter_rows(rule_name)
        ev.comparison = comparison_row(rule_name, fit, data)
        if selection.removed:
            ev.selected_comparison = comparison_row(selected_rule_label(rule_name, selection),
                                                    selection.selected, data,
                                                    model=selection.selected.rule.name)
    return ev


def published_control(data: PlasticityData | None = None, engine: str = "brian2") -> dict:
    """PG 2006 visual-cortex all-to-all (full) triplet rule, published parameters, on Sjöström 2001."""
    data = data or load_dataset("sjostrom_2001")
    rule = TripletSTDP().with_params(**pfister_gerstner_parameters("visual_cortex", "all_to_all", "full"))
    prediction = rule.weight_changes(data.conditions, engine)
    return {"rule": rule, "prediction": prediction, "scores": scores(data.mean, prediction, data.err)}


def third_factor_table(rule, engine: str = "brian2", delays=None) -> list[dict]:
    """The third-factor checks of ``rule`` (delays: Brian2 times, default ``YAGISHITA_DELAYS``)."""
    conds, expect = third_factor_conditions(YAGISHITA_DELAYS if delays is None else delays)
    # reference: the same pairing with the modulator pulse starting at the pairing onset
    onset = in_unit(conds[0].pre[0], ms, "onset")
    pulse = in_unit(MODULATOR_PULSE, ms, "MODULATOR_PULSE")
    reference = pairing(10.0 * ms, 1, onset=onset * ms, label="reference",
                        modulator=((onset * ms, (onset + pulse) * ms, 1.0),))
    dw_all = rule.weight_changes(list(conds) + [reference], engine)
    dw = dw_all[:-1]
    largest = float(np.max(np.abs(dw_all)))
    rows = []
    for c, e, value in zip(conds, expect, dw):
        if largest == 0 or abs(value) <= NONE_FRACTION * largest:
            got = "none"
        else:
            got = "LTP" if value > 0 else "LTD"
        rows.append({"rule": rule.name, "check": c.label, "study": e["study"], "expected": e["expect"],
                     "model": got, "dw_rel": float(value),
                     "dw_over_largest": float(value / largest) if largest else 0.0,
                     "passes": got == e["expect"], "why": e["why"], "reference_dw": float(dw_all[-1])})
    return rows


def voltage_clamp_table(rule, engine: str = "brian2") -> list[dict]:
    """Ngezahayo et al. 2000 sign sequence under voltage clamp; "none" when |dw| <= 10 % of the
    largest |dw| of the rule over the clamp potentials."""
    conds, expect = voltage_clamp_conditions()
    dw = rule.weight_changes(conds, engine)
    largest = float(np.max(np.abs(dw)))
    rows = []
    for c, e, value in zip(conds, expect, dw):
        got = "none" if largest == 0 or abs(value) <= NONE_FRACTION * largest else (
            "LTP" if value > 0 else "LTD")
        rows.append({"rule": rule.name, "check": c.label, "study": e["study"], "expected": e["expect"],
                     "model": got, "dw_rel": float(value),
                     "dw_over_largest": float(value / largest) if largest else 0.0,
                     "passes": got == e["expect"], "why": e["why"]})
    return rows


def qualitative_table(rule, data_name: str, engine: str = "brian2") -> list[dict]:
    """The qualitative checks of ``data_name`` (three_factor or ngezahayo_2000) for ``rule``."""
    if data_name == "three_factor":
        return third_factor_table(rule, engine)
    if data_name == "ngezahayo_2000":
        return voltage_clamp_table(rule, engine)
    raise ValueError(f"{data_name!r} has no qualitative checks")


def leave_one_dataset_out(evaluations: dict, data_names=QUANTITATIVE) -> list[dict]:
    """``evaluations[(rule, data)]`` fitted on one data set, scored on every other one (NumPy form)."""
    rows = []
    data = {name: load_dataset(name) for name in data_names}
    for (rule_name, fitted_on), ev in sorted(evaluations.items()):
        for target in data_names:
            if target == fitted_on:
                continue
            d = data[target]
            prediction = ev.fit.rule.weight_changes(d.conditions, "numpy")
            strict = scores(d.mean, prediction, d.err)
            c, rescaled = scale_refit(prediction, d)
            refit = scores(d.mean, rescaled, d.err)
            rows.append({"rule": rule_name, "fitted_on": fitted_on, "scored_on": target,
                         **{f"{k}": v for k, v in strict.items()},
                         "scale_factor": c, **{f"{k}_rescaled": v for k, v in refit.items() if k != "n"}})
    return rows


def evaluate_all(engine: str = "brian2", rules=QUANTITATIVE_RULES, data_names=QUANTITATIVE,
                 progress=None, reduce: bool = True) -> dict:
    """Every rule on every quantitative data set, the published control, LODO and third-factor tables
    (``reduce``: with the nested-model selection of each fit)."""
    evaluations = {}
    for data_name in data_names:
        data = load_dataset(data_name)
        for rule_name in rules:
            if progress:
                progress(f"{rule_name} on {data_name}")
            evaluations[(rule_name, data_name)] = evaluate_rule(rule_name, data, engine, reduce=reduce)
    third = []
    third_rules = [make_plasticity_model(name)
                   for name in ("opzo", "opzo_eligibility", "pair", "triplet", "clopath")]
    if ("opzo", "sjostrom_2001") in evaluations:
        # the eligibility variant with the surrogate sharpness and trace fitted to Sjöström 2001
        fitted = evaluations[("opzo", "sjostrom_2001")].fit.rule.values
        kappa, tau_pre = fitted["kappa"], fitted["tau_pre"]
        sharp = make_plasticity_model("opzo_eligibility").with_values(kappa=kappa, tau_pre=tau_pre)
        third_rules.insert(2, replace(sharp, name=f"opzo_eligibility (kappa {kappa:.3g}, "
                                                  f"tau_pre {tau_pre:.3g} ms)"))
    for rule in third_rules:
        if progress:
            progress(f"{rule.name} on the third-factor checks")
        third += third_factor_table(rule, engine)
    clamp = []
    for rule_name in ("clopath", "opzo", "pair", "triplet"):
        if progress:
            progress(f"{rule_name} on the voltage-clamp check")
        clamp += voltage_clamp_table(rule_for(rule_name, "ngezahayo_2000"), engine)
    return {"evaluations": evaluations, "control": published_control(engine=engine),
            "lodo": leave_one_dataset_out(evaluations, data_names), "third_factor": third,
            "voltage_clamp": clamp}
