"""DFA: direct feedback alignment (Nokland 2016) as a baseline.

Layer l receives g_l[t] = B_l e[t] through a readout-to-layer Synapses with
fixed random weights B_l (n_l x m), drawn N(0, s^2/m) with
s = ``feedback_init_scale``.
"""

from __future__ import annotations

import numpy as np

from bioopzo.rules.base import FeedbackContext, FeedbackPathway, LearningRule


class DFARule(LearningRule):
    name = "dfa"

    def build_feedback(self, ctx: FeedbackContext, layer: int):
        syn = ctx.synapses(ctx.readout, layer, "B : 1 (constant)\ng_post = B*delta_pre : 1 (summed)",
                           "feedback_dfa")
        return FeedbackPathway(syn, {f"B{layer + 1}": "B"})

    def initial_feedback_state(self, layer, n_hidden, n_classes, rng):
        scale = self.config.rule.feedback_init_scale / np.sqrt(n_classes)
        return {f"B{layer + 1}": rng.normal(0.0, scale, (n_hidden, n_classes))}
