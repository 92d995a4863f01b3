"""Learning-rule objects: where each hidden layer's top-down signal g_l comes from.

All rules share the three-factor update of DESIGN.md section 1,

    delta_l[t] = psi_l[t] * g_l[t]
    dW_l  ~ -delta_l[t] a_{l-1}[t]^T,     dW_o ~ -e[t] a_L[t]^T,

and differ only in g_l. A rule object holds every form of its g_l:

- Brian2: the fragments of its feedback pathway (a Synapses from the readout,
  or from the layer above, onto layer l whose summed variable is ``g_post``),
  the state it keeps, and whether its pathways run in parallel (direct
  feedback from the readout) or top-down in sequence within the step;
- NumPy: :meth:`LearningRule.reference_signal`, g_l of one step of the
  reference model (reference.py) from the step's :class:`StepSignals`, with the
  updates of the rule's own state;
- operation counts for the cost analyzer (cost/counts.py): the feedback traffic
  (:class:`~bioopzo.rules.counting.FeedbackTraffic`), the third factors delta_l
  recomputed from recorded activity, the updates of the rule's own state, and
  the extra synaptic storage it needs;
- Loihi learning-engine terms (:mod:`bioopzo.rules.engine_terms`).

The Brian2 and NumPy forms use the rule's configuration (instance methods);
the cost and learning-engine forms depend on the network sizes and recorded
activity only (class methods), so the cost analyzer can count a rule that was
not the simulated one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from bioopzo.rules.counting import direct_traffic, direct_traffic_from_rates, matrix_third_factors

if TYPE_CHECKING:
    from bioopzo.config import ExperimentConfig

__all__ = ["LearningRule", "DirectFeedbackRule", "FeedbackContext", "FeedbackPathway", "StepSignals",
           "all_to_all"]


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
class StepSignals:
    """What the NumPy reference knows at step t when the top-down signals are computed.

    Arrays are (batch, units); lists run over hidden layers 1..L (index 0..L-1).
    ``state`` is the learnable state before the step's updates.
    """

    e: np.ndarray          # output error e[t]
    o: np.ndarray          # (noisy) readout o~[t]
    loss: np.ndarray       # loss per readout unit
    z: list                # unscaled noise z_l[t]
    psi: list              # surrogate psi_l[t]
    state: dict
    training: float        # 1 while learning, 0 otherwise


@dataclass(frozen=True)
class LearningRule:
    """Base class; subclasses set the class attributes and implement the forms."""

    config: ExperimentConfig

    name: ClassVar[str] = ""
    #: hidden weights learn (False only for the readout control)
    trains_hidden: ClassVar[bool] = True
    #: the cost analyzer counts this rule (the readout control's learning is
    #: every rule's readout part, so it is not counted on its own)
    counted: ClassVar[bool] = True
    #: noise is required for the estimate (and drawn on chip: RNG counts)
    needs_noise: ClassVar[bool] = False
    #: the readout keeps a running loss baseline (zo)
    needs_loss_baseline: ClassVar[bool] = False
    #: 'parallel' (direct feedback from the readout) or 'top_down' (layer by layer)
    feedback_order: ClassVar[str] = "parallel"
    #: keeps a mirrored copy of the forward weights W_2..W_{L+1} (weight transport)
    transports_weights: ClassVar[bool] = False
    #: the feedback state is drawn once and never learned (dfa's B_l)
    fixed_feedback: ClassVar[bool] = False

    # ------------------------------------------------------------------ Brian2
    def build_feedback(self, ctx: FeedbackContext, layer: int):
        """A :class:`FeedbackPathway` whose Synapses' summed variable sets ``g``
        of hidden layer ``layer`` (0-based)."""
        raise NotImplementedError

    def initial_feedback_state(self, layer: int, n_hidden: int, n_classes: int,
                               rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Initial values of this rule's own feedback state for ``layer``, as
        (n_hidden, n_classes) matrices keyed by saved-state name."""
        return {}

    # ------------------------------------------------------------------- NumPy
    def reference_step_updates(self, step: StepSignals) -> dict[str, np.ndarray]:
        """Updates of the rule's step-wide state (not per layer), e.g. zo's baseline."""
        return {}

    def reference_signal(self, layer: int, step: StepSignals,
                         upper: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """g_l of hidden layer ``layer`` (0-based) at this step, (batch, n_l), and the
        updates of the rule's own state for that layer. ``upper`` is delta_{l+1} of
        the layer above (e for the last hidden layer); the reference visits the
        layers from the top down when ``feedback_order`` is 'top_down'."""
        raise NotImplementedError

    # ---------------------------------------------------------- cost analyzer
    @classmethod
    def third_factors(cls, act, notes: list) -> list[np.ndarray]:
        """This rule's hidden modulators delta_l (S, N_l), l = 1..L, recomputed from a
        recorded :class:`bioopzo.cost.counts.Activity` (``act.error``, ``act.psi``,
        ``act.weights``, ``act.feedback``, ``act.noise``); ``notes`` collects what
        stands in for missing quantities."""
        raise NotImplementedError

    @classmethod
    def feedback_traffic(cls, sizes: tuple, error: np.ndarray, deltas: list) -> list:
        """The :class:`~bioopzo.rules.counting.FeedbackTraffic` onto every hidden
        layer per recorded step, from the error e (S, m) and this rule's deltas."""
        raise NotImplementedError

    @classmethod
    def feedback_traffic_from_rates(cls, sizes: tuple, error_nonzero: int) -> list:
        """The same per step from average rates (dense feedback, ``error_nonzero``
        non-zero error entries): ops and senders are expected numbers."""
        raise NotImplementedError

    @classmethod
    def feedback_update_counts(cls, sizes: tuple) -> dict[str, dict[int, float]]:
        """Writes to the rule's own learned feedback state per step, {count name:
        {hidden layer l (1-based): writes}} (opzo's ``upd_m``)."""
        return {}

    @classmethod
    def feedback_storage(cls, sizes: tuple) -> int:
        """Synaptic words the rule keeps besides the forward weights (B_l, M_l, mirrors)."""
        return 0

    @classmethod
    def engine_terms(cls, gate: str = "u0") -> list:
        """The :class:`~bioopzo.rules.engine_terms.EngineRule` list this rule needs,
        hidden forward weights first; ``gate`` is u0 or x0."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


class DirectFeedbackRule(LearningRule):
    """A rule that sends the error e straight from the readout to every hidden layer
    through an n_l x m matrix (dfa's B_l, opzo's M_l), named ``<feedback_key><l>``.

    Counts (cost-model.md e.2): FB_l[t] = N_l nz(e[t]); storage sum_l N_l m; the third
    factors of another rule's run are psi_l (e K_l^T) with the saved K_l
    (rules/counting.py)."""

    #: saved-state name of the feedback matrix of layer l, without l ("B", "M")
    feedback_key: ClassVar[str] = ""

    @classmethod
    def third_factors(cls, act, notes):
        return matrix_third_factors(act, cls.feedback_key, cls.name, notes)

    @classmethod
    def feedback_traffic(cls, sizes, error, deltas):
        return direct_traffic(sizes, error)

    @classmethod
    def feedback_traffic_from_rates(cls, sizes, error_nonzero):
        return direct_traffic_from_rates(sizes, error_nonzero)

    @classmethod
    def feedback_storage(cls, sizes):
        return sum(sizes[l] * sizes[-1] for l in range(1, len(sizes) - 1))
