"""Per-sample gradient estimates of every rule, and same-step Jacobian estimates,
from one noisy forward pass of the reference model at a fixed state.

The forward pass is reference.py's (``ReferenceModel.layer``: same neurons,
noise site and distribution); no parameter changes. Per step t of a sample,
with alpha z_l[t] the injected noise, o~ the (noisy) readout and
e = (1 - gamma)(softmax(o~) - y) + gamma (o~ - y) the output error, each rule's
top-down signal g_l (per sample) is

    bp    g_l = W_{l+1}^T delta_{l+1}          (W_o^T e at the top; spatial BP in the step)
    zo    g_l = (l(o~) - b) z_l / alpha        (single point; b = batch-mean loss of the step)
    pzo   g_l = z_l (o~^T e) / alpha           (instantaneous pseudo-ZO, z o~^T without momentum)
    opzo  g_l = M_l e / alpha                  (momentum feedback M_l of the state; no 1/alpha
                                               when the rule divides by alpha itself)
    dfa   g_l = B_l e                          (B_l of the state, or drawn as DFA draws it)

and delta_l = psi_l g_l (g_l when ``use_surrogate`` is off). The per-sample
weight-gradient estimate of hidden layer l is G_l = sum_t delta_l[t] a_{l-1}[t]^T
(the sample's summed three-factor update, before the learning rate). The 1/alpha
puts pzo and opzo on the gradient's scale (E[z o~^T]/alpha is the smoothed
Jacobian); the training rule drops it and lets the learning rate absorb it.

Same-step Jacobian estimate (what OPZO's M_l tracks, ``probe_jacobian`` of
reference.py), per sample x: J_l(x) = mean_t z_l (o~ - o~|z_l=0)^T / alpha.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bioopzo.state import initial_state
from bioopzo.reference import ReferenceModel, surrogate
from bioopzo.rules.opzo import OPZORule

__all__ = ["ESTIMATORS", "ProbeResult", "probe_pass", "EstimatorStats", "estimator_statistics",
           "cosine"]

ESTIMATORS = ("bp", "zo", "pzo", "opzo", "dfa")


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    return float(np.sum(a * b) / (na * nb)) if na > 0 and nb > 0 else float("nan")


@dataclass
class ProbeResult:
    """Per-sample estimates: ``gradients[rule][l]`` (N, n_l, n_{l-1});
    ``jacobians[l]`` (N, n_l, m) when requested; ``loss`` (N,)."""

    gradients: dict = field(default_factory=dict)
    jacobians: list = field(default_factory=list)
    loss: np.ndarray | None = None


def _feedback_matrices(model: ReferenceModel, name: str) -> list:
    """M_l (opzo) or B_l (dfa) from the model's state, or DFA's draw when absent."""
    L = len(model.config.network.hidden)
    key = "M" if name == "opzo" else "B"
    if all(f"{key}{l}" in model.state for l in range(1, L + 1)):
        if name == "opzo":
            return [OPZORule.feedback_matrix(model.config, model.state, l) for l in range(1, L + 1)]
        return [model.state[f"{key}{l}"] for l in range(1, L + 1)]
    if name == "opzo":
        raise ValueError("the opzo estimate needs the feedback matrices M_l of an OPZO state")
    cfg = model.config.with_overrides({"rule": {"name": "dfa"}})
    st = initial_state(cfg, model.n_inputs, model.n_classes)
    return [st[f"B{l}"] for l in range(1, L + 1)]


def probe_pass(model: ReferenceModel, inputs: np.ndarray, labels: np.ndarray,
               estimators=ESTIMATORS, *, jacobian: bool = False) -> ProbeResult:
    """One noisy forward pass of ``inputs`` (N, T, n_0) at the model's current
    state (no learning); returns every requested estimator's per-sample G_l."""
    cfg = model.config
    nrn, st = cfg.neuron, model.state
    for name in estimators:
        if name not in ESTIMATORS:
            raise ValueError(f"unknown estimator {name!r}; choose from {', '.join(ESTIMATORS)}")
    inputs = np.asarray(inputs, float)
    N, T, _ = inputs.shape
    L = len(cfg.network.hidden)
    sizes = model.sizes
    m = model.n_classes
    alpha = cfg.noise.scale
    if alpha <= 0 and any(n in ("zo", "pzo", "opzo") for n in estimators) or (jacobian and alpha <= 0):
        raise ValueError("zo, pzo, opzo and Jacobian estimates need [noise] scale > 0")
    gamma = cfg.network.loss_gamma
    y = np.zeros((N, m))
    y[np.arange(N), np.asarray(labels, int)] = 1.0
    fb = {name: _feedback_matrices(model, name) for name in ("opzo", "dfa") if name in estimators}
    m_scale = 1.0 if cfg.rule.divide_by_noise_scale or alpha <= 0 else 1.0 / alpha
    v = [np.zeros((N, n)) for n in sizes[1:-1]]
    traces = [np.zeros((N, n)) for n in sizes[:-1]]
    deltas = {name: [np.zeros((N, T, n)) for n in sizes[1:-1]] for name in estimators}
    pre = [np.zeros((N, T, n)) for n in sizes[:-1]]
    jac = [np.zeros((N, n, m)) for n in sizes[1:-1]] if jacobian else []
    loss_total = np.zeros(N)
    z_prev = None
    for k in range(T):
        z = [model.draw_noise((N, n)) for n in sizes[1:-1]]
        if cfg.noise.antithetic and k % 2 == 1:
            z = [-zz for zz in z_prev]
        z_prev = z
        traces[0][:] = nrn.trace_decay * traces[0] + inputs[:, k]
        x = inputs[:, k]
        v_before = [vv.copy() for vv in v]
        layer_inputs, psi = [], []
        for l in range(L):
            layer_inputs.append(x)
            u, s, x = model.layer(l + 1, x, v[l], alpha * z[l])
            v[l][:] = u - nrn.threshold * s if nrn.reset == "soft" else u * (1 - s)
            traces[l + 1][:] = nrn.trace_decay * traces[l + 1] + s
            psi.append(surrogate(u, nrn.threshold, nrn.surrogate_slope))
        o = x @ st["Wout"].T + st["bout"]
        with np.errstate(over="ignore"):
            denom = np.exp(o[:, None, :] - o[:, :, None]).sum(axis=2)
        e = (1 - gamma) * (1.0 / denom - y) + gamma * (o - y)
        loss = ((1 - gamma) * y * np.log(denom) + gamma * 0.5 * (o - y) ** 2).sum(axis=1)
        loss_total += loss
        for l in range(L):
            pre[l][:, k] = traces[l]
        mod = psi if cfg.rule.use_surrogate else [np.ones_like(p) for p in psi]
        for name in estimators:
            if name == "bp":
                upper = e
                for l in range(L - 1, -1, -1):
                    W_above = st["Wout"] if l == L - 1 else st[f"W{l + 2}"]
                    upper = mod[l] * (upper @ W_above)
                    deltas[name][l][:, k] = upper
                continue
            for l in range(L):
                if name == "zo":
                    g = (loss - loss.mean())[:, None] * z[l] / alpha
                elif name == "pzo":
                    g = z[l] * np.sum(o * e, axis=1, keepdims=True) / alpha
                elif name == "opzo":
                    g = m_scale * (e @ fb["opzo"][l].T)
                else:
                    g = e @ fb["dfa"][l].T
                deltas[name][l][:, k] = mod[l] * g
        if jacobian:
            for l in range(L):
                o_clean = model.readout_without_noise(l, layer_inputs[l], v_before, z, alpha)
                jac[l] += np.einsum("bi,bj->bij", z[l], o - o_clean) / (alpha * T)
    grads = {name: [np.einsum("bti,btj->bij", deltas[name][l], pre[l]) for l in range(L)]
             for name in estimators}
    return ProbeResult(grads, jac, loss_total)


@dataclass
class EstimatorStats:
    """Statistics of one estimator at one layer over probe samples (two noise draws each).

    variance      E||G - E G||^2 over samples and noise (trace of the covariance)
    noise_variance E_x Var_z[G | x] = 1/2 E||G^(1) - G^(2)||^2 (noise alone)
    distance_bp   E||G - G_bp||^2, G_bp from the same forward pass
    cosine_bp     per-sample cosine(G, G_bp): mean and sd
    bp_norm2      ||E G_bp||^2 (scale of the true mean gradient)
    """

    rule: str
    layer: int
    variance: float
    noise_variance: float
    distance_bp: float
    cosine_mean: float
    cosine_sd: float
    mean_norm2: float
    bp_norm2: float
    n_samples: int


def estimator_statistics(model: ReferenceModel, inputs: np.ndarray, labels: np.ndarray,
                         estimators=ESTIMATORS, chunk: int = 25) -> list[EstimatorStats]:
    """Run every probe sample twice (independent noise) in chunks and summarise."""
    if "bp" not in estimators:
        estimators = ("bp", *estimators)
    L = len(model.config.network.hidden)
    N = len(labels)
    acc = {(r, l): {"sum": 0.0, "sq": 0.0, "noise": 0.0, "dist": 0.0, "cos": []}
           for r in estimators for l in range(L)}
    bp_sum = [0.0] * L
    for start in range(0, N, chunk):
        rows = slice(start, min(N, start + chunk))
        a = probe_pass(model, inputs[rows], labels[rows], estimators)
        b = probe_pass(model, inputs[rows], labels[rows], estimators)
        for l in range(L):
            bp_sum[l] = bp_sum[l] + a.gradients["bp"][l].sum(axis=0) + b.gradients["bp"][l].sum(axis=0)
            for r in estimators:
                s = acc[(r, l)]
                for res in (a, b):
                    G, Gbp = res.gradients[r][l], res.gradients["bp"][l]
                    s["sum"] = s["sum"] + G.sum(axis=0)
                    s["sq"] += float(np.sum(G * G))
                    s["dist"] += float(np.sum((G - Gbp) ** 2))
                    num = np.sum(G * Gbp, axis=(1, 2))
                    den = np.linalg.norm(G, axis=(1, 2)) * np.linalg.norm(Gbp, axis=(1, 2))
                    ok = den > 0
                    s["cos"] += list(num[ok] / den[ok])
                s["noise"] += 0.5 * float(np.sum((a.gradients[r][l] - b.gradients[r][l]) ** 2))
    out = []
    n2 = 2 * N
    for l in range(L):
        bp_mean = bp_sum[l] / n2
        for r in estimators:
            s = acc[(r, l)]
            mean = s["sum"] / n2
            cos = np.array(s["cos"]) if s["cos"] else np.array([np.nan])
            out.append(EstimatorStats(
                r, l + 1, s["sq"] / n2 - float(np.sum(mean * mean)), s["noise"] / N, s["dist"] / n2,
                float(np.mean(cos)), float(np.std(cos)), float(np.sum(mean * mean)),
                float(np.sum(bp_mean * bp_mean)), N))
    return out
