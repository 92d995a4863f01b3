"""Online spatial backpropagation (OTTT's instantaneous spatial gradient).

Within one step, from the top down:

    g_L[t] = W_o^T e[t],    g_l[t] = W_{l+1}^T delta_{l+1}[t],    delta_l = psi_l g_l

Weight transport is explicit: the pathway onto layer l is a Synapses from the
layer above (or the readout) back onto l, holding a copy W_T of W_{l+1}^T that
starts equal to it and is updated by the same clock-driven rule from the same
factors (delta of the upper layer, trace of layer l), on the same schedule
(once per sample for the accumulated schedules, in the forward matrix's form:
its sample_updates and active forms run as on_post pathways on layer l's events,
adding the same products in the same order), so it stays equal to it.
The copy is re-synchronised from the forward weights at every epoch start.
"""

from __future__ import annotations

from bioopzo.rules.base import FeedbackContext, FeedbackPathway, LearningRule
from bioopzo.schedule import no_delays, schedule_sample_updates
from bioopzo.updates import (sample_pathways, sample_update_equations, three_factor_gradient,
                             update_equations)


class BPRule(LearningRule):
    name = "bp"
    feedback_order = "top_down"

    def build_feedback(self, ctx: FeedbackContext, layer: int):
        L = len(ctx.layers)
        upper = ctx.readout if layer == L - 1 else ctx.layers[layer + 1]
        forward = ctx.forward[layer + 1]
        rate = "eta_readout" if layer == L - 1 else "eta_hidden"
        opt = self.config.optimizer
        form = ctx.update_forms[layer + 1] if ctx.update_forms else None
        sides = {"modulated": "pre", "traced": "post"}
        if form:
            sample_updates = sample_pathways(form, "w_T", opt, ctx.steps, rate, **sides)
            updates = sample_update_equations(form, "w_T", opt, ctx.steps, rate, "apply_pre", **sides)
        else:
            sample_updates = {}
            updates = update_equations("w_T", three_factor_gradient(opt, ctx.steps, **sides),
                                       "apply_pre", rate, opt)
        model = "g_post = w_T*delta_pre : 1 (summed)\n" + updates
        pathways = {}
        if sample_updates:
            pathways = {"on_post": sample_updates, "on_event": {n: n for n in sample_updates},
                        "delay": no_delays(sample_updates)}
        syn = ctx.synapses(upper, layer, model, "feedback_bp", method="euler", dt=ctx.update_dt,
                           **pathways)
        if opt.schedule != "step":
            schedule_sample_updates(syn, tuple(sample_updates))
        # loaded from the forward synapses' saved state, in the transposed layout
        return FeedbackPathway(syn, {}, mirror_of=forward)
