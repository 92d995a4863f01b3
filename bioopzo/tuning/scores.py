"""Scores of a tuning or comparison: the best learning rate, and paired differences.

:func:`best_rate` chooses the learning rate with the best mean score over seeds (a rate
with a non-finite score counts as worst; ties go to the smaller rate).
:func:`paired_difference` of accuracies a(s), b(s) paired by seed s: mean difference
d = mean_s (a(s) - b(s)) with the interval d ± t_{(1+c)/2, n-1} sd_d / sqrt(n) at
confidence c (Student's t over n seeds).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["paired_difference", "best_rate"]


def paired_difference(a, b, confidence: float = 0.95) -> dict:
    """Mean, sd and confidence interval (Student's t) of a - b paired by index."""
    from scipy import stats

    d = np.asarray(a, float) - np.asarray(b, float)
    n = d.size
    if n < 2:
        raise ValueError("a paired difference needs at least two seeds")
    mean, sd = float(d.mean()), float(d.std(ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * sd / math.sqrt(n)
    return {"mean": mean, "sd": sd, "low": mean - half, "high": mean + half, "n": n,
            "excludes_zero": bool(mean - half > 0 or mean + half < 0)}


def best_rate(scores: dict) -> float:
    """The learning rate with the best mean score (``{rate: [scores]}``); a rate with a
    non-finite score counts as worst; ties go to the smaller rate."""
    def mean(rate):
        v = np.asarray(scores[rate], float)
        return float(v.mean()) if np.all(np.isfinite(v)) else -1.0

    return max(sorted(scores), key=lambda rate: (mean(rate), -rate))
