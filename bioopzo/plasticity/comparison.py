"""Rules compared on one data set: information criteria, leave-one-out prediction, and the nested
submodels of a rule that drop the terms the data do not need.

With error bars sigma_k the loss is chi^2 = sum_k ((y_k - y_model_k) / sigma_k)^2 (Gaussian errors
of known size, constants dropped); without them the residual sum of squares RSS enters through the
maximised Gaussian likelihood. k is the number of fitted parameters, n the number of points:

    with error bars:     AIC = chi^2 + 2k              BIC = chi^2 + k ln n
    without:             AIC = n ln(RSS/n) + 2k        BIC = n ln(RSS/n) + k ln n
    AICc = AIC + 2k(k + 1) / (n - k - 1)   (small-sample correction; NaN when n <= k + 1)

Only differences between rules on the same data set mean anything (``delta_aic``, ``delta_bic``:
0 for the best rule). Leave-one-out prediction: the data are split into folds, the groups of a
grouping column (experiment, figure, cell) when there are several, else single rows; each fold is
predicted by the rule refitted on all other folds (linear rules: the global optimum; the OPZO
synapse: started from the full-data fit). ``loo_rmse_fraction`` is the RMSE of the held-out dw_rel
(fractions, 0.1 = 10 percentage points), ``loo_nmse`` the mean of ((y - y_pred) / sigma)^2 (NaN
without error bars).

Nested-model selection (``select_nested``), as Pfister & Gerstner (2006) reduced the triplet rule to
its minimal models: after the full fit, every flagged parameter (on its lower bound 0 or
unconstrained, :mod:`bioopzo.plasticity.uncertainty`) that the model lists as ``removable`` (an
amplitude whose value 0 switches its term off) is a candidate. Every submodel that fixes a non-empty
subset of the candidates at 0 is fitted (at least one free parameter stays) and scored by AICc (AIC
when n <= k_full + 1 leaves AICc undefined; the RSS form without error bars, as above). Rule: among
the current model and its submodels, those within ``PARSIMONY_MARGIN`` = 2 units of the lowest score
are not distinguished by the data; of those the one with the fewest free parameters wins, ties by the
lower score. The winner's parameter report is computed again and the search repeats from it until no
removable parameter is flagged or the current model wins. The evidence per removed term is
dAICc = AICc(selected) - AICc(selected with that term free again) (negative: removing it helped).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field, replace

import numpy as np

from bioopzo.plasticity.fitting import Fit, fit_rule, linear_basis, solve_linear
from bioopzo.plasticity.uncertainty import parameter_report

__all__ = ["information_criteria", "leave_one_out", "comparison_row", "add_deltas", "submodel",
           "removable_flags", "select_nested", "Selection", "PARSIMONY_MARGIN"]

#: submodels within this many AICc units of the best are not distinguished: the smallest one wins
PARSIMONY_MARGIN = 2.0


def information_criteria(y, prediction, err, k: int) -> dict:
    y, prediction, err = (np.asarray(a, dtype=float) for a in (y, prediction, err))
    n = len(y)
    with_errors = bool(np.all(np.isfinite(err)) and np.all(err > 0))
    rss = float(np.sum((y - prediction) ** 2))
    if with_errors:
        chi2 = float(np.sum(((y - prediction) / err) ** 2))
        base = chi2
    else:
        chi2 = math.nan
        base = n * math.log(max(rss, 1e-300) / n)
    aic = base + 2 * k
    return {"n": n, "k": k, "chi2": chi2, "rss": rss, "aic": aic,
            "aicc": aic + 2 * k * (k + 1) / (n - k - 1) if n - k - 1 > 0 else math.nan,
            "bic": base + k * math.log(n)}


def _folds(data) -> tuple[str, list[list[int]]]:
    groups = list(dict.fromkeys(data.fit_groups)) if data.fit_groups else []
    if len(groups) > 1:
        return data.group_column or "group", [[i for i, g in enumerate(data.fit_groups) if g == group]
                                              for group in groups]
    return "row", [[i] for i in range(len(data))]


def leave_one_out(fit, data) -> dict:
    """Held-out predictions of ``fit.rule`` refitted without each fold (NumPy form)."""
    unit, folds = _folds(data)
    held = np.full(len(data), np.nan)
    sigma = data.err if data.has_errors else np.ones(len(data))
    if fit.rule.linear_free:
        offset, basis = linear_basis(fit.rule, data.conditions)
    for fold in folds:
        rest = [i for i in range(len(data)) if i not in fold]
        if not rest:
            continue
        if fit.rule.linear_free:
            refit = solve_linear(fit.rule, offset[rest], basis[rest], data.mean[rest], sigma[rest])
            x = np.array([refit.values[k] for k in refit.free])
            held[fold] = offset[fold] + basis[fold] @ x
        else:
            refit = fit_rule(fit.rule, data.subset(rest), grid=False).rule
            held[fold] = refit.weight_changes([data.conditions[i] for i in fold], "numpy")
    residual = data.mean - held
    nmse = float(np.mean((residual / data.err) ** 2)) if data.has_errors else math.nan
    return {"loo_unit": unit, "loo_folds": len(folds),
            "loo_rmse_fraction": float(np.sqrt(np.mean(residual ** 2))), "loo_nmse": nmse,
            "prediction": held}


def comparison_row(rule_name: str, fit, data, model: str = "full") -> dict:
    """One model-comparison row: information criteria of the fit and its leave-one-out error (the
    refits keep ``fit.rule.free``: a submodel is refitted as the submodel). ``model``: "full" or
    the submodel's name (``triplet[-A2_plus,-A3_minus]``)."""
    loo = leave_one_out(fit, data)
    loo.pop("prediction")
    return {"rule": rule_name, "model": model, "data": data.name,
            **information_criteria(data.mean, fit.prediction, data.err, len(fit.rule.free)),
            "delta_aic": math.nan, "delta_aicc": math.nan, "delta_bic": math.nan, **loo,
            "status": "fitted"}


def add_deltas(rows: list[dict]) -> list[dict]:
    """Fill delta_aic, delta_aicc and delta_bic per data set (0 for the best fitted rule)."""
    for data_name in dict.fromkeys(r["data"] for r in rows):
        fitted = [r for r in rows if r["data"] == data_name and r["status"] == "fitted"]
        if not fitted:
            continue
        for key in ("aic", "aicc", "bic"):
            finite = [r[key] for r in fitted if math.isfinite(r[key])]
            best = min(finite) if finite else math.nan
            for r in fitted:
                r[f"delta_{key}"] = r[key] - best
    return rows


# ----------------------------------------------------------------------------- nested submodels
def submodel(rule, removed):
    """``rule`` with the parameters ``removed`` fixed at 0 and no longer free, named after them
    (``triplet[-A2_plus,-A3_minus]``; the rule itself when nothing is removed)."""
    removed = set(removed)
    unknown = removed - set(rule.free)
    if unknown:
        raise KeyError(f"{rule.name} has no free parameter(s) {sorted(unknown)}; free: {list(rule.free)}")
    if not removed:
        return rule
    names = [k for k in rule.free if k in removed]
    keep = [i for i, k in enumerate(rule.free) if k not in removed]
    return replace(rule.with_values(**{k: 0.0 for k in names}),
                   name=f"{rule.name}[{','.join('-' + k for k in names)}]",
                   free=tuple(rule.free[i] for i in keep), bounds=tuple(rule.bounds[i] for i in keep))


def removable_flags(rule, report: list[dict], where: str = "the full fit") -> dict:
    """Flagged parameters of ``report`` (rows of :func:`parameter_report` for ``rule``) that 0 removes
    from the rule (``rule.removable``, lower bound 0): name -> why (``on its lower bound in the full
    fit``, ``unconstrained in the full fit (relative SE 433 %)``)."""
    low, high = rule.free_bounds()
    out = {}
    for name, lo, hi, row in zip(rule.free, low, high, report):
        if name not in rule.removable or lo != 0 or not row["flags"]:
            continue
        value = row["value"]
        at_low = "on_bound" in row["flags"] and abs(value - lo) <= abs(hi - value)
        if at_low:
            why = "on its lower bound" + (" and a flat direction" if row["flat_direction"] else "")
        elif "unconstrained" in row["flags"]:
            why = ("unconstrained (a flat direction)" if row["flat_direction"] else
                   f"unconstrained (relative SE {row['se_relative_pct']:.3g} %)")
        else:
            continue                   # on its upper bound: setting it to 0 is not what the data say
        out[name] = f"{why} in {where}"
    return out


@dataclass
class Selection:
    """The full fit, the selected submodel (the full fit itself when nothing is removed) and why.

    removed: the parameters fixed at 0 (in the rule's order); reasons: name -> the flag that made it
    a candidate; evidence: name -> criterion(selected) - criterion(selected with it free again);
    criterion: "aicc" or "aic"; candidates: every model fitted (name, k, aic, aicc, selected).
    """

    full: Fit
    selected: Fit
    full_report: list
    selected_report: list
    removed: tuple = ()
    reasons: dict = field(default_factory=dict)
    evidence: dict = field(default_factory=dict)
    criterion: str = "aicc"
    candidates: list = field(default_factory=list)

    @property
    def label(self) -> str:
        """``A2_plus = A3_minus = 0`` ("" when nothing is removed)."""
        return " = ".join(self.removed) + " = 0" if self.removed else ""

    def removal_lines(self) -> list[str]:
        """One line per removed term: ``A2_plus fixed at 0: on its lower bound in the full fit
        (dAICc -4.29 when removed)``."""
        score = "dAICc" if self.criterion == "aicc" else "dAIC"
        return [f"{k} fixed at 0: {self.reasons[k]} ({score} {self.evidence[k]:.3g} when removed)"
                for k in self.removed]

    def parameter_rows(self, rule_name: str) -> list[dict]:
        """The full fit's report rows (model "full") and, when terms were removed, the selected
        model's rows (model = its name) plus one row per removed term (value 0, flags fixed_at_0,
        the reason); ``selected`` marks the rows of the selected model."""
        reduced = bool(self.removed)
        rows = [_report_row(rule_name, "full", not reduced, r) for r in self.full_report]
        if reduced:
            name = self.selected.rule.name
            rows += [_report_row(rule_name, name, True, r) for r in self.selected_report]
            low, high = self.full.rule.free_bounds()
            bounds = dict(zip(self.full.rule.free, zip(low, high)))
            units = {r_name: row["parameter"] for r_name, row in zip(self.full.rule.free, self.full_report)}
            for k, line in zip(self.removed, self.removal_lines()):
                rows.append({"rule": rule_name, "model": name, "selected": True, "data": self.full.data,
                             "parameter": units[k], "value": 0.0, "se": math.nan,
                             "se_relative_pct": math.nan, "lower_bound": float(bounds[k][0]),
                             "upper_bound": float(bounds[k][1]), "flat_direction": False,
                             "flags": "fixed_at_0", "reason": line.split(": ", 1)[1]})
        return rows


def _report_row(rule_name: str, model: str, selected: bool, row: dict) -> dict:
    return {"rule": rule_name, "model": model, "selected": selected,
            **{k: v for k, v in row.items() if k != "rule"}, "reason": ""}


def _score(fit, data, criterion: str) -> float:
    return information_criteria(data.mean, fit.prediction, data.err, len(fit.rule.free))[criterion]


def select_nested(fit, data, margin: float = PARSIMONY_MARGIN) -> Selection:
    """Fit the nested submodels of ``fit.rule`` that fix its flagged removable parameters at 0 and
    select one by AICc (module docstring: the rule, the repeat, the evidence per term)."""
    full_rule = fit.rule
    n, k_full = len(data), len(full_rule.free)
    criterion = "aicc" if n - k_full - 1 > 0 else "aic"
    fits = {frozenset(): fit}
    reports = {frozenset(): parameter_report(fit, data)}

    def fitted(removed: frozenset):
        if removed not in fits:
            fits[removed] = fit_rule(submodel(full_rule, removed), data)
        return fits[removed]

    removed, reasons = frozenset(), {}
    while True:
        where = "the full fit" if not removed else f"the fit of {fits[removed].rule.name}"
        current = fits[removed].rule
        flagged = removable_flags(current, reports[removed], where)
        if not flagged:
            break
        options = [removed | frozenset(s) for r in range(1, len(flagged) + 1)
                   for s in itertools.combinations(flagged, r)]
        options = [removed] + [o for o in options if len(o) < k_full]
        scores = {o: _score(fitted(o), data, criterion) for o in options}
        best = min(scores.values())
        close = [o for o in options if scores[o] <= best + margin]
        chosen = min(close, key=lambda o: (k_full - len(o), scores[o]))
        if chosen == removed:
            break
        reasons.update({k: flagged[k] for k in chosen - removed})
        removed = chosen
        reports[removed] = parameter_report(fits[removed], data)
    selected = fits[removed]
    order = tuple(k for k in full_rule.free if k in removed)
    evidence = {k: _score(selected, data, criterion) - _score(fitted(removed - {k}), data, criterion)
                for k in order}
    candidates = [{"model": f.rule.name, "k": len(f.rule.free),
                   **{c: information_criteria(data.mean, f.prediction, data.err, len(f.rule.free))[c]
                      for c in ("aic", "aicc")}, "selected": key == removed}
                  for key, f in fits.items()]
    return Selection(fit, selected, reports[frozenset()], reports[removed], order, reasons, evidence,
                     criterion, candidates)
