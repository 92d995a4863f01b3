"""OPZO: online pseudo-zeroth-order feedback (Xiao et al., arXiv 2407.12516).

Layer l receives g_l[t] = M_l e[t] through a readout-to-layer Synapses whose
weights M_l (n_l x m) are learned online by the momentum rule (paper's Eq. 6):

    M_l <- rho M_l + (1 - rho) z_l[t] o~[t]^T        (/alpha when divide_by_noise_scale)
    c_l <- rho c_l + (1 - rho)                        (feedback_bias_correction; else c_l = 1)
    g_l[t] = M_l e[t] / c_l                           (with the updated M_l and c_l)

z_l is the layer's own noise at step t and o~ the noisy readout of the same
step, so E[z o~^T] = alpha J^T: M_l tracks the data-averaged same-step Jacobian
of the readout with respect to the noise site (times alpha unless divided by
it). c_l is the total weight of M_l's exponential average (0 at the start with
zero M, so M_l / c_l is the equal-weight mean of the estimates until about
1/(1 - rho) updates, then the usual exponential average). The M and c updates
are clock-driven equations gated by ``training``; g reads the same updated
values. c_l is one number per layer, kept per synapse so the pathway stays a
plain Synapses (saved as ``M<l>_weight``).

NumPy reference (batch of B samples): the same with the batch mean of z o~^T,

    M_l <- M_l + training (rho M_l + (1 - rho) z_l^T o~ / B - M_l),   g_l = e (M_l / c_l)^T

Operation counts (cost-model.md e.2): direct feedback of e, FB_l[t] = N_l nz(e[t]);
UPD_M[t] = N_l m writes of M_l at every training step; RNG[t] = N_l noise draws; third
factors of another rule's run from the saved M_l (rules/counting.py). Extra storage: M_l.

Loihi learning engine: M_l (synapse from readout unit i to hidden neuron j) is a two-term
rule on top of the shared forward and readout terms (rules/engine_terms.py),

    dM_ji = (1 - rho) (z_j o~_i - M_ji)     ->   dw = c * u0 * x1 * y1 - c * u0 * w,  c = 1 - rho
              x1 = o~_i (graded readout activity), y1 = z_j (the neuron's own noise)
"""

from __future__ import annotations

import numpy as np

from bioopzo.rules.base import DirectFeedbackRule, FeedbackContext, FeedbackPathway, StepSignals
from bioopzo.rules.engine_terms import EngineRule, forward_term, readout_term


class OPZORule(DirectFeedbackRule):
    feedback_key = "M"
    name = "opzo"
    needs_noise = True

    def build_feedback(self, ctx: FeedbackContext, layer: int):
        rule = self.config.rule
        scale = 1.0 / self.config.noise.scale if rule.divide_by_noise_scale else 1.0
        target = "(rho_feedback*M + (1 - rho_feedback)*z_scale*z_post*o_pre)"
        M_now = f"(M + training_post*({target} - M))"
        state = {f"M{layer + 1}": "M"}
        if rule.feedback_bias_correction:
            # c_l is ``avg_weight``. For brian2genn, which copies summed expressions into
            # GeNN code by plain substring substitution and duplicates support code: no name
            # in the expression contains another, and no function with support code is used
            # (1 - ceil(c/(1 + c)) equals int(c <= 0) for c >= 0).
            weight = "(rho_feedback*avg_weight + 1 - rho_feedback)"
            weight_now = f"(avg_weight + training_post*({weight} - avg_weight))"
            guard = f"(1 - ceil({weight_now}/(1 + {weight_now})))"
            model = f"""
dM/dt = training_post*({target} - M)/dt : 1 (clock-driven)
davg_weight/dt = training_post*({weight} - avg_weight)/dt : 1 (clock-driven)
g_post = {M_now}/({weight_now} + {guard})*delta_pre : 1 (summed)
"""
            state[f"M{layer + 1}_weight"] = "avg_weight"
        else:
            model = f"""
dM/dt = training_post*({target} - M)/dt : 1 (clock-driven)
g_post = {M_now}*delta_pre : 1 (summed)
"""
        syn = ctx.synapses(ctx.readout, layer, model, "feedback_opzo", method="euler",
                           namespace={"rho_feedback": float(rule.feedback_momentum),
                                      "z_scale": scale})
        return FeedbackPathway(syn, state)

    def initial_feedback_state(self, layer, n_hidden, n_classes, rng):
        rule = self.config.rule
        if rule.feedback_init == "zeros":
            M = np.zeros((n_hidden, n_classes))
        else:
            M = rng.normal(0.0, rule.feedback_init_scale / np.sqrt(n_classes), (n_hidden, n_classes))
        state = {f"M{layer + 1}": M}
        if rule.feedback_bias_correction:
            # the weight of M's average so far: none for a zero start, full for a drawn one
            start = 0.0 if rule.feedback_init == "zeros" else 1.0
            state[f"M{layer + 1}_weight"] = np.full((n_hidden, n_classes), start)
        return state

    @staticmethod
    def feedback_matrix(config, state: dict, layer: int) -> np.ndarray:
        """The feedback M_l / c_l that the rule applies (``layer`` 1-based)."""
        M = state[f"M{layer}"]
        if not config.rule.feedback_bias_correction or f"M{layer}_weight" not in state:
            return M
        c = float(state[f"M{layer}_weight"].flat[0])
        return M / c if c > 0 else M

    def reference_signal(self, layer: int, step: StepSignals, upper):
        rule, noise = self.config.rule, self.config.noise
        scale = 1.0 / noise.scale if rule.divide_by_noise_scale else 1.0
        rho = rule.feedback_momentum
        st, training = step.state, step.training
        M = st[f"M{layer + 1}"]
        zo_est = scale * (step.z[layer].T @ step.o) / len(step.o)
        M_new = M + training * (rho * M + (1 - rho) * zo_est - M)
        updates = {f"M{layer + 1}": M_new}
        if rule.feedback_bias_correction:
            c = st[f"M{layer + 1}_weight"]
            c_new = c + training * (rho * c + (1 - rho) - c)
            updates[f"M{layer + 1}_weight"] = c_new
            M_new = M_new / np.where(c_new > 0, c_new, 1.0)
        return step.e @ M_new.T, updates

    @classmethod
    def feedback_update_counts(cls, sizes):
        L = len(sizes) - 2
        return {"upd_m": {l: float(sizes[l] * sizes[-1]) for l in range(1, L + 1)}}

    @classmethod
    def engine_terms(cls, gate="u0"):
        return [forward_term(cls.name, "top-down signal g_j = (M_l e)_j", gate),
                readout_term(cls.name, gate),
                EngineRule(cls.name, "feedback M_l (readout -> hidden)",
                           "(1 - rho) * u0 * x1 * y1 - (1 - rho) * u0 * w",
                           {"x1": "noisy readout activity o~_i (graded)",
                            "y1": "the neuron's own noise z_j"},
                           "every training step, whatever the weight schedule")]
