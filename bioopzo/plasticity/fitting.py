"""Fitting a plasticity model's free parameters to a data set with ``scipy.optimize``.

Minimised: sum_k ((y_k - y_model_k) / sigma_k)^2 (NMSE up to the factor 1/n), with sigma_k = 1 for
data without error bars (plain least squares). Bounded (trust-region reflective) from several
starting points; the best fit wins. The model values come from the model's NumPy form, which
tests/plasticity/test_plasticity.py proves equal to the Brian2 protocol simulation to 1e-6 for every model.
The optimiser works on plain numbers in each parameter's unit (``PlasticityModel.values``).

``scale_refit`` is the one-parameter refit used in the leave-one-dataset-out table: all rules here
are linear in their amplitudes, so c * y_model is the rule with all amplitudes times c, and the
best c is sum(y y_model / sigma^2) / sum(y_model^2 / sigma^2).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from brian2 import ms
from scipy.optimize import least_squares, lsq_linear

from bioopzo.plasticity.datasets import PlasticityData
from bioopzo.plasticity.models import PlasticityModel
from bioopzo.plasticity.scores import scores

__all__ = ["Fit", "fit_rule", "scale_refit", "starting_points", "linear_basis", "solve_linear"]


@dataclass
class Fit:
    rule: PlasticityModel
    data: str
    prediction: np.ndarray
    scores: dict
    evaluations: int

    @property
    def parameters(self) -> dict:
        """The fitted free parameters as Brian2 quantities."""
        params = self.rule.params
        return {k: params[k] for k in self.rule.free}

    @property
    def parameter_table(self) -> dict:
        """The fitted free parameters as numbers, the unit in the name (``tau_pre_ms``)."""
        return self.rule.table(self.rule.free)


def _sigma(data: PlasticityData) -> np.ndarray:
    return data.err if data.has_errors else np.ones(len(data))


def starting_points(rule: PlasticityModel) -> list[dict]:
    """The model's current values, plus a small grid for the nonlinear OPZO parameters (plain
    numbers in the parameters' units)."""
    base = {k: rule.values[k] for k in rule.free}
    starts = [base]
    if "kappa" in rule.free:
        for tau, kappa in itertools.product((5.0 * ms, 20.0 * ms, 80.0 * ms), (2.0, 8.0, 25.0)):
            starts.append({**base, "tau_pre": rule.number("tau_pre", tau), "kappa": kappa})
    return starts


def fit_rule(rule: PlasticityModel, data: PlasticityData, max_nfev: int = 200, grid: bool = True) -> Fit:
    """Fit ``rule.free`` to ``data`` (NumPy form); returns the fitted rule and its scores.

    Rules linear in all free parameters (pair, triplet, Clopath amplitudes) are fitted by bounded
    linear least squares on basis columns (one simulation per parameter: the global optimum). The
    OPZO synapse is linear in ``scale`` only: the scale is solved in closed form for each trial of
    the other parameters (variable projection), which ``least_squares`` fits from a grid of starts
    (``grid=False``: from the rule's current values only, as the leave-one-out refits do).
    """
    if data.qualitative:
        raise ValueError(f"{data.name} holds qualitative checks only; it is not fitted")
    names = list(rule.free)
    sigma = _sigma(data)
    evaluations = 0

    def predict(**values):
        nonlocal evaluations
        evaluations += 1
        return rule.with_values(**values).weight_changes(data.conditions, "numpy")

    if rule.linear_free:
        offset, basis = linear_basis(rule, data.conditions)
        evaluations += len(names) + 1
        fitted = solve_linear(rule, offset, basis, data.mean, sigma)
    else:
        inner = [k for k in names if k != "scale"]
        all_low, all_high = rule.free_bounds()
        bounds = {k: (lo, hi) for k, lo, hi in zip(names, all_low, all_high)}
        low = np.array([bounds[k][0] for k in inner], dtype=float)
        high = np.array([bounds[k][1] for k in inner], dtype=float)

        def profiled(x):
            unit = predict(**dict(zip(inner, map(float, x))), scale=1.0)
            c, scaled = _weighted_scale(unit, data.mean, sigma)
            c = float(np.clip(c, *bounds["scale"]))
            return c, (c * unit - data.mean) / sigma

        best = None
        for start in (starting_points(rule) if grid else starting_points(rule)[:1]):
            x0 = np.clip([start[k] for k in inner], low * (1 + 1e-9) + 1e-12, high * (1 - 1e-9))
            res = least_squares(lambda x: profiled(x)[1], x0, bounds=(low, high), x_scale="jac",
                                max_nfev=max_nfev)
            if best is None or res.cost < best.cost:
                best = res
        c, _ = profiled(best.x)
        fitted = rule.with_values(**dict(zip(inner, map(float, best.x))), scale=c)
    prediction = fitted.weight_changes(data.conditions, "numpy")
    return Fit(fitted, data.name, prediction, scores(data.mean, prediction, data.err), evaluations)


def linear_basis(rule: PlasticityModel, conditions) -> tuple[np.ndarray, np.ndarray]:
    """(offset, basis) of a rule linear in its free parameters: y_model = offset + basis @ p
    (NumPy form, one evaluation per free parameter)."""
    names = list(rule.free)
    zero = {k: 0.0 for k in names}
    offset = rule.with_values(**zero).weight_changes(conditions, "numpy")
    basis = np.column_stack([rule.with_values(**{**zero, k: 1.0}).weight_changes(conditions, "numpy") - offset
                             for k in names])
    return offset, basis


def solve_linear(rule: PlasticityModel, offset, basis, y, sigma) -> PlasticityModel:
    """The bounded weighted least-squares solution for a linear rule (the global optimum)."""
    low, high = rule.free_bounds()
    res = lsq_linear(basis / sigma[:, None], (y - offset) / sigma, bounds=(low, high))
    return rule.with_values(**dict(zip(rule.free, map(float, res.x))))


def _weighted_scale(prediction, y, sigma):
    denominator = np.sum(prediction ** 2 / sigma ** 2)
    c = float(np.sum(prediction * y / sigma ** 2) / denominator) if denominator > 0 else 0.0
    return c, c * prediction


def scale_refit(prediction: np.ndarray, data: PlasticityData) -> tuple[float, np.ndarray]:
    """Best single factor c for c * prediction on ``data``; returns (c, c * prediction)."""
    return _weighted_scale(prediction, data.mean, _sigma(data))
