"""OPZO: online pseudo-zeroth-order feedback (Xiao et al., arXiv 2407.12516).

Layer l receives g_l[t] = M_l e[t] through a readout-to-layer Synapses whose
weights M_l (n_l x m) are learned online by the momentum rule (paper's Eq. 6):

    M_l <- rho M_l + (1 - rho) z_l[t] o~[t]^T        (/alpha when divide_by_noise_scale)
    g_l[t] = M_l e[t]                                 (with the updated M_l)

z_l is the layer's own noise at step t and o~ the noisy readout of the same
step, so E[z o~^T] = alpha J^T: M_l tracks the data-averaged same-step Jacobian
of the readout with respect to the noise site (times alpha). The M update is a
clock-driven equation gated by ``training``; g reads the same updated value.
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
        model = f"""
dM/dt = training_post*({target} - M)/dt : 1 (clock-driven)
g_post = (M + training_post*({target} - M))*delta_pre : 1 (summed)
"""
        syn = ctx.synapses(ctx.readout, layer, model, "feedback_opzo", method="euler",
                           namespace={"rho_feedback": float(rule.feedback_momentum),
                                      "z_scale": scale})
        return FeedbackPathway(syn, {f"M{layer + 1}": "M"})

    def initial_feedback_state(self, layer, n_hidden, n_classes, rng):
        rule = self.config.rule
        if rule.feedback_init == "zeros":
            M = np.zeros((n_hidden, n_classes))
        else:
            M = rng.normal(0.0, rule.feedback_init_scale / np.sqrt(n_classes), (n_hidden, n_classes))
        return {f"M{layer + 1}": M}

