"""Learning-rule objects: where each hidden layer's top-down signal g_l comes from.

All rules share the three-factor update of DESIGN.md section 1,

    delta_l[t] = psi_l[t] * g_l[t]
    dW_l  ~ -delta_l[t] a_{l-1}[t]^T,     dW_o ~ -e[t] a_L[t]^T,

and differ only in g_l. A rule object emits the Brian2 fragments of its
feedback pathway (a Synapses from the readout, or from the layer above, onto
layer l whose summed variable is ``g_post``), names the state it keeps, and
says whether its pathways run in parallel (opzo, dfa, zo) or top-down in
sequence within the step (bp).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from bioopzo.config import ExperimentConfig

__all__ = ["LearningRule", "FeedbackContext", "FeedbackPathway", "all_to_all"]


def all_to_all(n_pre: int, n_post: int) -> tuple[np.ndarray, np.ndarray]:
    """Pre-major synapse indices: synapse k joins pre k // n_post to post k % n_post."""
    i = np.repeat(np.arange(n_pre, dtype=np.int32), n_post)
    j = np.tile(np.arange(n_post, dtype=np.int32), n_pre)
    return i, j


@dataclass(frozen=True)
class FeedbackPathway:
    """A rule's feedback Synapses onto one hidden layer and the state it keeps.

    ``state`` maps saved-state names (``"M1"``) to the Synapses' variables;
    ``mirror_of`` is the forward Synapses this pathway transposes (bp), whose
    saved weights and optimizer state it is loaded from.
    """

    synapses: object
    state: dict
    mirror_of: object = None


@dataclass
class FeedbackContext:
    """What a rule needs to build layer l's feedback pathway."""

    config: ExperimentConfig
    layers: list          # hidden NeuronGroups, layer 1..L at index 0..L-1
    readout: object       # readout NeuronGroup
    forward: list         # forward Synapses S_1..S_L, S_o
    namespace: dict       # shared constants
    prefix: str = ""      # prepended to object names
    update_dt: object = None   # period of weight updates (dt, or T dt for accumulated schedules)
    #: per forward Synapses S_1..S_L, S_o: the form of its once-per-sample update
    #: (updates.py; None: updated every step); a mirror of it takes the same form
    update_forms: list = None

    @property
    def steps(self) -> int:
        return self.config.data.steps_per_sample

    def synapses(self, source, layer: int, model: str, name: str, *, method=None,
                 namespace: dict | None = None, dt=None, **pathways):
        """An all-to-all Synapses from ``source`` onto hidden layer ``layer`` (0-based);
        ``pathways``: Synapses keywords such as ``on_post`` and ``on_event``."""
        from brian2 import Synapses

        target = self.layers[layer]
        kwargs = {"method": method, **pathways} if method else dict(pathways)
        if dt is not None:
            kwargs["dt"] = dt
        syn = Synapses(source, target, model=model, namespace={**self.namespace, **(namespace or {})},
                       name=f"{self.prefix}{name}_{layer + 1}", **kwargs)
        i, j = all_to_all(len(source), len(target))
        syn.connect(i=i, j=j)
        return syn


@dataclass(frozen=True)
class LearningRule:
    """Base class; subclasses set the class attributes and build feedback."""

    config: ExperimentConfig

    name: ClassVar[str] = ""
    #: hidden weights learn (False only for the readout control)
    trains_hidden: ClassVar[bool] = True
    #: noise is required for the estimate
    needs_noise: ClassVar[bool] = False
    #: the readout keeps a running loss baseline (zo)
    needs_loss_baseline: ClassVar[bool] = False
    #: 'parallel' (direct feedback from the readout) or 'top_down' (layer by layer)
    feedback_order: ClassVar[str] = "parallel"

    def build_feedback(self, ctx: FeedbackContext, layer: int):
        """A :class:`FeedbackPathway` whose Synapses' summed variable sets ``g``
        of hidden layer ``layer`` (0-based)."""
        raise NotImplementedError

    def initial_feedback_state(self, layer: int, n_hidden: int, n_classes: int,
                               rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Initial values of this rule's own feedback state for ``layer``, as
        (n_hidden, n_classes) matrices keyed by saved-state name."""
        return {}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"
