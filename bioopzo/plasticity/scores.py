"""Scores of model weight changes y_model against measured ones y (fractions), n points:

    RMSE = sqrt( (1/n) sum (y - y_model)^2 )
    NMSE = (1/n) sum ((y - y_model) / sigma)^2       Pfister & Gerstner 2006, sigma = error bar
    R^2  = 1 - sum (y - y_model)^2 / sum (y - mean(y))^2
    within = number of points with |y - y_model| <= sigma

NMSE and within are NaN / -1 for data without error bars (Bi & Poo 1998 scatter).
"""

from __future__ import annotations

import numpy as np

__all__ = ["scores", "rmse", "nmse", "r_squared", "within_error_bars"]


def rmse(y, model) -> float:
    return float(np.sqrt(np.mean((np.asarray(y) - np.asarray(model)) ** 2)))


def nmse(y, model, sigma) -> float:
    sigma = np.asarray(sigma, dtype=float)
    if not np.all(np.isfinite(sigma)):
        return float("nan")
    return float(np.mean(((np.asarray(y) - np.asarray(model)) / sigma) ** 2))


def r_squared(y, model) -> float:
    y = np.asarray(y, dtype=float)
    ss_tot = np.sum((y - y.mean()) ** 2)
    return float(1.0 - np.sum((y - np.asarray(model)) ** 2) / ss_tot)


def within_error_bars(y, model, sigma) -> int:
    sigma = np.asarray(sigma, dtype=float)
    if not np.all(np.isfinite(sigma)):
        return -1
    return int(np.sum(np.abs(np.asarray(y) - np.asarray(model)) <= sigma))


def scores(y, model, sigma) -> dict:
    """All four scores plus the number of points."""
    return {"rmse": rmse(y, model), "nmse": nmse(y, model, sigma), "r2": r_squared(y, model),
            "within": within_error_bars(y, model, sigma), "n": int(len(y))}
