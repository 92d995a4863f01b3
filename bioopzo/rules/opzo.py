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
"""

from __future__ import annotations

import numpy as np

from bioopzo.rules.base import FeedbackContext, FeedbackPathway, LearningRule


class OPZORule(LearningRule):
    name = "opzo"
    needs_noise = True

    def build_feedback(self, ctx: FeedbackContext, layer: int):
        rule = self.config.rule
        scale = 1.0 / self.config.noise.scale if rule.divide_by_noise_scale else 1.0
        target = "(rho_feedback*M + (1 - rho_feedback)*z_scale*z_post*o_pre)"
        M_now = f"(M + training_post*({target} - M))"
        state = {f"M{layer + 1}": "M"}
        if rule.feedback_bias_correction:
            weight = "(rho_feedback*M_weight + 1 - rho_feedback)"
            weight_now = f"(M_weight + training_post*({weight} - M_weight))"
            model = f"""
dM/dt = training_post*({target} - M)/dt : 1 (clock-driven)
dM_weight/dt = training_post*({weight} - M_weight)/dt : 1 (clock-driven)
g_post = {M_now}/({weight_now} + int({weight_now} <= 0))*delta_pre : 1 (summed)
"""
            state[f"M{layer + 1}_weight"] = "M_weight"
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

