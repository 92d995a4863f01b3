"""Rules compared on one data set: information criteria and leave-one-out prediction.

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
"""

from __future__ import annotations

import math

import numpy as np

from bioopzo.plasticity.fitting import fit_rule, linear_basis, solve_linear

__all__ = ["information_criteria", "leave_one_out", "comparison_row", "add_deltas"]


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


def comparison_row(rule_name: str, fit, data) -> dict:
    """One model-comparison row: information criteria of the fit and its leave-one-out error."""
    loo = leave_one_out(fit, data)
    loo.pop("prediction")
    return {"rule": rule_name, "data": data.name,
            **information_criteria(data.mean, fit.prediction, data.err, len(fit.rule.free)),
            "delta_aic": math.nan, "delta_bic": math.nan, **loo, "status": "fitted"}


def add_deltas(rows: list[dict]) -> list[dict]:
    """Fill delta_aic and delta_bic per data set (0 for the best fitted rule)."""
    for data_name in dict.fromkeys(r["data"] for r in rows):
        fitted = [r for r in rows if r["data"] == data_name and r["status"] == "fitted"]
        if not fitted:
            continue
        best_aic = min(r["aic"] for r in fitted)
        best_bic = min(r["bic"] for r in fitted)
        for r in fitted:
            r["delta_aic"] = r["aic"] - best_aic
            r["delta_bic"] = r["bic"] - best_bic
    return rows
