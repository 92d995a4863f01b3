"""Operation counts of the feedback pathways (cost-model.md e.2): the shared pieces.

Per recorded step t and hidden layer l (N_l units, m readout units), a rule's feedback
is described by a :class:`FeedbackTraffic`: the feedback operations FB_l[t] (dense and
effective) and which units of the sending layer send a message at t. The cost analyzer
(cost/counts.py) routes those messages over the core mapping. Direct feedback from the
readout (opzo, dfa: g_l = F_l e with an N_l x m matrix F_l) counts

    FB_l[t] = N_l nz(e[t])  (dense: N_l m),   senders: the readout units with e_i[t] != 0

and its third factors, recomputed for a network trained with another rule, are
delta_l = psi_l (e F_l^T) with F_l from the saved state, else a random stand-in of
scale 1/sqrt(m) (said in the notes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["FeedbackTraffic", "direct_traffic", "direct_traffic_from_rates",
           "matrix_third_factors"]


@dataclass(frozen=True)
class FeedbackTraffic:
    """Feedback onto hidden layer ``layer`` (1-based) per step.

    ``source`` is the sending layer (L + 1: the readout). Recorded form: ``senders`` is
    (S, N_source) with 1 where a unit sends a message at that step, and the ops are (S,)
    arrays. Rate form: ``senders`` is the expected number of sending units per step and
    the ops are numbers per step.
    """

    layer: int
    source: int
    senders: object
    ops: object
    ops_dense: object
    ops_effective: object


def direct_traffic(sizes: tuple, error: np.ndarray) -> list[FeedbackTraffic]:
    """Direct feedback of e through an N_l x m matrix onto every hidden layer (recorded)."""
    L, m = len(sizes) - 2, sizes[-1]
    err_nz = (error != 0).sum(1).astype(float)
    e_active = (error != 0).astype(float)
    ones = np.ones(error.shape[0])
    out = []
    for l in range(1, L + 1):
        ops = sizes[l] * err_nz
        out.append(FeedbackTraffic(l, L + 1, e_active, ops, float(sizes[l] * m) * ones, ops))
    return out


def direct_traffic_from_rates(sizes: tuple, error_nonzero: int) -> list[FeedbackTraffic]:
    """Direct feedback of e with ``error_nonzero`` non-zero entries (rate form)."""
    L, m = len(sizes) - 2, sizes[-1]
    out = []
    for l in range(1, L + 1):
        ops = float(sizes[l] * error_nonzero)
        out.append(FeedbackTraffic(l, L + 1, error_nonzero, ops, float(sizes[l] * m), ops))
    return out


def matrix_third_factors(act, key: str, rule: str, notes: list) -> list[np.ndarray]:
    """delta_l = psi_l (e F_l^T) with F_l = ``act.feedback[f"{key}{l}"]`` (or a stand-in)."""
    L = len(act.sizes) - 2
    out = []
    for l in range(1, L + 1):
        mat = act.feedback.get(f"{key}{l}")
        if mat is None or not np.any(mat):
            rng = np.random.default_rng([l, 5])
            mat = rng.normal(0.0, 1.0 / np.sqrt(act.sizes[-1]), (act.sizes[l], act.sizes[-1]))
            notes.append(f"{rule}: {key}{l} is not in the saved state (or is all zero); its "
                         "factor-gated counts use a random stand-in of scale 1/sqrt(m)")
        out.append(act.psi[l - 1] * (act.error @ np.asarray(mat).T))
    return out
