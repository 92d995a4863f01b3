"""ZO: single-point zeroth-order node perturbation as a baseline.

No error vector reaches the hidden layers, only the scalar noisy loss:

    g_l[t] = (l(o~[t]) - b[t]) z_l[t] / alpha,     b <- beta b + (1 - beta) l(o~[t])

with b the running loss baseline before step t's loss is included. The readout
keeps one baseline share per unit (the loss is a sum over units), and a
readout-to-layer Synapses sums the units' advantages onto every neuron:
g_post = sum_i advantage_i * z_post / alpha. The readout weights still learn
from e[t], as in every rule.
"""

from __future__ import annotations

from bioopzo.rules.base import FeedbackContext, FeedbackPathway, LearningRule


class ZORule(LearningRule):
    name = "zo"
    needs_noise = True
    needs_loss_baseline = True

    def build_feedback(self, ctx: FeedbackContext, layer: int):
        syn = ctx.synapses(ctx.readout, layer,
                           "g_post = advantage_pre*z_post/noise_scale : 1 (summed)", "feedback_zo")
        return FeedbackPathway(syn, {})
