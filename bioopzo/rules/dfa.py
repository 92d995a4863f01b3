"""DFA: direct feedback alignment (Nokland 2016) as a baseline.

Layer l receives g_l[t] = B_l e[t] through a readout-to-layer Synapses with
fixed random weights B_l (n_l x m), drawn N(0, s^2/m) with
s = ``feedback_init_scale``. NumPy reference: g_l = e B_l^T (batch rows).

Operation counts (cost-model.md e.2): direct feedback of e, FB_l[t] = N_l nz(e[t]); no
noise, no learned feedback; third factors of another rule's run from the B_l a DFA run of
the same config and seed draws (rules/counting.py). Extra storage: B_l.

Loihi learning engine: the shared forward term with y2 = g_j = (B_l e)_j and the readout
term (rules/engine_terms.py); B_l is fixed.
"""

from __future__ import annotations

import numpy as np

from bioopzo.rules.base import DirectFeedbackRule, FeedbackContext, FeedbackPathway, StepSignals
from bioopzo.rules.engine_terms import forward_term, readout_term


class DFARule(DirectFeedbackRule):
    feedback_key = "B"
    name = "dfa"
    fixed_feedback = True

    def build_feedback(self, ctx: FeedbackContext, layer: int):
        syn = ctx.synapses(ctx.readout, layer, "B : 1 (constant)\ng_post = B*delta_pre : 1 (summed)",
                           "feedback_dfa")
        return FeedbackPathway(syn, {f"B{layer + 1}": "B"})

    def initial_feedback_state(self, layer, n_hidden, n_classes, rng):
        scale = self.config.rule.feedback_init_scale / np.sqrt(n_classes)
        return {f"B{layer + 1}": rng.normal(0.0, scale, (n_hidden, n_classes))}

    def reference_signal(self, layer: int, step: StepSignals, upper):
        return step.e @ step.state[f"B{layer + 1}"].T, {}

    @classmethod
    def engine_terms(cls, gate="u0"):
        return [forward_term(cls.name, "top-down signal g_j = (B_l e)_j", gate),
                readout_term(cls.name, gate)]
