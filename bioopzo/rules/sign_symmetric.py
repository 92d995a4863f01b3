"""Sign-symmetric feedback (Liao, Leibo & Poggio 2016, "How important is weight
symmetry in backpropagation?", AAAI): backpropagation through the signs of the
forward weights only.

Within one step, from the top down, as bp (rules/bp.py) with sign(W) for W:

    g_L[t] = sign(W_o)^T e[t],    g_l[t] = sign(W_{l+1})^T delta_{l+1}[t],    delta_l = psi_l g_l

Brian2: bp's pathway from the layer above (or the readout) onto layer l, with the
mirrored copy W_T of W_{l+1}^T kept and updated as bp keeps it (same factors, same
schedule, re-synchronised at every epoch start); only the summed variable differs,
``g_post = sign(w_T)*delta_pre``.

NumPy reference (batch rows): g_l = delta_{l+1} sign(W_{l+1}) (delta_{L+1} = e).

Operation counts (cost-model.md e.2): bp's, FB_l[t] = N_{l+1} N_l (effective:
nz(delta_{l+1}[t]) N_l), sent layer by layer; third factors of another rule's run
recomputed exactly, delta_l = psi_l (delta_{l+1} sign(W_{l+1})). WT counts the writes
of the mirrored W_2..W_{L+1} as bp's do: an upper bound, since only the signs are
transported (one bit per synapse, and a write only when a sign flips).

Loihi learning engine: the shared forward term with y2 = g_j = (sign(W_{l+1})^T
delta_{l+1})_j, the readout term, and the mirror's update as bp's (rules/bp.py):
weight transport of signs only.
"""

from __future__ import annotations

import numpy as np

from bioopzo.rules.bp import BPRule


class SignSymmetricRule(BPRule):
    name = "sign_symmetric"
    transported = "sign(w_T)"
    signal_text = "sign-symmetric g_j = (sign(W_{l+1})^T delta_{l+1})_j"
    transport_text = ("weight transport of signs only: the backward synapses use sign(w) of "
                      "this copy (one bit each); its writes are counted as bp's, an upper bound")

    @staticmethod
    def feedback_weights(W: np.ndarray) -> np.ndarray:
        return np.sign(W)
