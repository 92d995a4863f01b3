"""What a fit's data decide: standard errors of the fitted parameters from the loss curvature, and
flags for parameters on a bound or left unconstrained.

The fit minimises L(p) = sum_k r_k(p)^2 with weighted residuals r_k = (y_k - y_model_k(p)) / sigma_k
(sigma_k = 1 without error bars). At the optimum p*, with J = dr/dp (central differences on the
NumPy form; exact for the rules linear in their amplitudes), the curvature is F = J^T J and

    cov(p) = s^2 F^-1,    s^2 = max(1, L / (n - k))  with error bars (inflated when the model misfits)
                          s^2 = L / (n - k)           without error bars (residual variance)
                          (n <= k: no degrees of freedom left, every SE is inf)
    SE_i = sqrt(cov_ii),  relative SE = SE_i / |p_i|

F is decomposed in parameters scaled by their bound ranges: an eigenvalue below 1e-10 of the largest
is a flat direction of the loss (the data do not change when the parameters move along it), and
every parameter loading more than 0.1 on it gets SE = inf. Flags:

    on_bound        |p_i - bound| <= max(1e-3 |bound|, 1e-9 (high - low)) for either bound (the
                    optimum is not a stationary point in p_i; SE then describes the curvature only)
    unconstrained   SE_i = inf (flat direction) or relative SE above 100 % (the data allow p_i = 0)
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["parameter_report", "FLAT_EIGENVALUE", "FLAT_LOADING", "MAX_RELATIVE_SE", "BOUND_TOLERANCE"]

FLAT_EIGENVALUE = 1e-10
FLAT_LOADING = 0.1
#: relative standard error above which a parameter counts as unconstrained (1.0 = 100 %)
MAX_RELATIVE_SE = 1.0
BOUND_TOLERANCE = 1e-3


def _residual_jacobian(rule, data, sigma, low, high) -> np.ndarray:
    names = list(rule.free)
    x0 = np.array([rule.values[k] for k in names], dtype=float)
    columns = []
    for i, name in enumerate(names):
        h = 1e-4 * (high[i] - low[i]) if np.isfinite(high[i] - low[i]) else 1e-4 * max(abs(x0[i]), 1.0)
        up, down = min(x0[i] + h, high[i]), max(x0[i] - h, low[i])
        if up == down:
            columns.append(np.zeros(len(data)))
            continue
        f_up = rule.with_values(**{name: up}).weight_changes(data.conditions, "numpy")
        f_down = rule.with_values(**{name: down}).weight_changes(data.conditions, "numpy")
        columns.append(-(f_up - f_down) / (up - down) / sigma)
    return np.column_stack(columns)


def parameter_report(fit, data) -> list[dict]:
    """One row per fitted parameter: value, SE, relative SE (percent), bounds and flags."""
    rule = fit.rule
    names = list(rule.free)
    low, high = rule.free_bounds()
    sigma = data.err if data.has_errors else np.ones(len(data))
    n, k = len(data), len(names)
    loss = float(np.sum(((data.mean - fit.prediction) / sigma) ** 2))
    dof = n - k
    if data.has_errors:
        s2 = max(1.0, loss / dof) if dof > 0 else math.inf
    else:
        s2 = loss / dof if dof > 0 else math.inf
    J = _residual_jacobian(rule, data, sigma, low, high)
    scale = np.where(np.isfinite(high - low) & (high > low), high - low, 1.0)
    F_scaled = (J * scale).T @ (J * scale)
    eigenvalues, vectors = np.linalg.eigh(F_scaled)
    top = max(float(eigenvalues.max()), 0.0)
    flat = eigenvalues <= FLAT_EIGENVALUE * top if top > 0 else np.ones(k, bool)
    flat_loading = np.abs(vectors[:, flat]).max(axis=1) if flat.any() else np.zeros(k)
    keep = ~flat
    inverse = (vectors[:, keep] / eigenvalues[keep]) @ vectors[:, keep].T if keep.any() else np.zeros((k, k))
    variance = s2 * np.diag(inverse) * scale ** 2 if math.isfinite(s2) else np.full(k, math.inf)
    rows = []
    for i, name in enumerate(names):
        value = float(rule.values[name])
        se = math.inf if flat_loading[i] > FLAT_LOADING or not math.isfinite(s2) else float(np.sqrt(
            max(variance[i], 0.0)))
        relative = se / abs(value) if value != 0 else math.inf
        flags = []
        near_low = value - low[i] <= max(BOUND_TOLERANCE * abs(low[i]), 1e-9 * scale[i])
        near_high = high[i] - value <= max(BOUND_TOLERANCE * abs(high[i]), 1e-9 * scale[i])
        if near_low or near_high:
            flags.append("on_bound")
        if not math.isfinite(se) or relative > MAX_RELATIVE_SE:
            flags.append("unconstrained")
        unit_name = next(iter(rule.table([name])))
        rows.append({"rule": rule.name, "data": data.name, "parameter": unit_name, "value": value,
                     "se": se, "se_relative_pct": 100.0 * relative if math.isfinite(relative) else math.inf,
                     "lower_bound": float(low[i]), "upper_bound": float(high[i]),
                     "flat_direction": bool(flat_loading[i] > FLAT_LOADING),
                     "flags": ";".join(flags)})
    return rows
