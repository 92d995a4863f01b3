"""Online spatial backpropagation (OTTT's instantaneous spatial gradient).

Within one step, from the top down:

    g_L[t] = W_o^T e[t],    g_l[t] = W_{l+1}^T delta_{l+1}[t],    delta_l = psi_l g_l

Weight transport is explicit: the pathway onto layer l is a Synapses from the
layer above (or the readout) back onto l, holding a copy W_T of W_{l+1}^T that
starts equal to it and is updated by the same clock-driven rule from the same
factors (delta of the upper layer, trace of layer l), on the same schedule
(once per sample for the accumulated schedules), so it stays equal to it.
The copy is re-synchronised from the forward weights at every epoch start.
"""

from __future__ import annotations

from bioopzo.rules.base import FeedbackContext, FeedbackPathway, LearningRule
from bioopzo.updates import three_factor_gradient, update_equations


class BPRule(LearningRule):
    name = "bp"
    feedback_order = "top_down"

    def build_feedback(self, ctx: FeedbackContext, layer: int):
        L = len(ctx.layers)
        upper = ctx.readout if layer == L - 1 else ctx.layers[layer + 1]
        forward = ctx.forward[layer + 1]
        rate = "eta_readout" if layer == L - 1 else "eta_hidden"
        opt = self.config.optimizer
        gradient = three_factor_gradient(opt, ctx.steps, modulated="pre", traced="post")
        model = "g_post = w_T*delta_pre : 1 (summed)\n" + update_equations(
            "w_T", gradient, "apply_pre", rate, opt)
        syn = ctx.synapses(upper, layer, model, "feedback_bp", method="euler", dt=ctx.update_dt)
        if opt.schedule != "step":
            from bioopzo.network import schedule_sample_updates

            schedule_sample_updates(syn)
        # loaded from the forward synapses' saved state, in the transposed layout
        return FeedbackPathway(syn, {}, mirror_of=forward)
