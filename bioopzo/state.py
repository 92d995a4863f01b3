"""The learnable state: its names, its initial values, and its layout in a model.

Learnable state moves between the model, the NumPy reference, checkpoints and
the devices as a dict of NumPy arrays keyed by name:

    W1, b1, ..., WL, bL, Wout, bout          forward weights (n_post, n_pre) and biases (n,)
    <param>_acc, <param>_vel                 optimizer state of each of them (updates.py)
    the rule's feedback matrices (n_l, m)     e.g. B1 (dfa), M1 (opzo)
    loss_baseline (m,)                        rules with a loss baseline (zo)

Initial values: W_l ~ U(-g/sqrt(n_{l-1}), g/sqrt(n_{l-1})) with g =
``network.weight_init_gain`` (``readout_init_gain`` for Wout), drawn from
``default_rng([seed, 11])`` in layer order; zero biases and optimizer state;
feedback matrices as the rule defines them, from the same generator.

In a Brian2 model each name lives in one or more variables (:class:`StateTarget`):
a Synapses' synaptic variable holds a matrix in the ``post_pre`` layout (the
saved (n_post, n_pre) matrix of a pre-major all-to-all Synapses: its transpose,
flattened) or the ``pre_post`` layout (the matrix itself flattened: bp's
transposed copy of a forward matrix); a group's variable holds a vector
(``neuron``). :class:`StateLayout` converts between the named state and those
flat arrays: it assigns them, reads them back, and gives them as a standalone
binary's ``run_args`` or as the files a project reads at start.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from bioopzo.rules.registry import make_rule
from bioopzo.updates import optimizer_state_names

if TYPE_CHECKING:
    from bioopzo.config import ExperimentConfig

__all__ = ["parameter_names", "weight_name", "bias_name", "initial_state", "StateTarget",
           "StateLayout", "LAYOUTS"]

#: how a variable holds a saved array (module docstring)
LAYOUTS = ("post_pre", "pre_post", "neuron")


def weight_name(l: int, n_hidden: int) -> str:
    """Saved name of the weights into layer l (1..L), or into the readout (l = L + 1)."""
    return f"W{l}" if l <= n_hidden else "Wout"


def bias_name(l: int, n_hidden: int) -> str:
    """Saved name of layer l's biases (l = L + 1: the readout's)."""
    return f"b{l}" if l <= n_hidden else "bout"


def parameter_names(config: ExperimentConfig) -> list[str]:
    """Forward parameters in layer order: W1, b1, ..., Wout, bout."""
    L = len(config.network.hidden)
    names = []
    for l in range(1, L + 2):
        names += [weight_name(l, L), bias_name(l, L)]
    return names


def initial_state(config: ExperimentConfig, n_inputs: int, n_classes: int,
                  seed: int | None = None) -> dict[str, np.ndarray]:
    """Random initial weights (seeded), zero biases and zero optimizer state.

    W_l ~ U(-g/sqrt(n_{l-1}), g/sqrt(n_{l-1})), g = ``network.weight_init_gain``
    (``readout_init_gain`` for W_o); feedback matrices as the rule defines them.
    """
    seed = config.training.seed if seed is None else seed
    rng = np.random.default_rng([seed, 11])
    sizes = [n_inputs, *config.network.hidden, n_classes]
    L = len(config.network.hidden)
    state: dict[str, np.ndarray] = {}
    for l in range(1, L + 2):
        gain = config.network.weight_init_gain if l <= L else config.network.readout_init_gain
        bound = gain / np.sqrt(sizes[l - 1])
        state[weight_name(l, L)] = rng.uniform(-bound, bound, (sizes[l], sizes[l - 1]))
        state[bias_name(l, L)] = np.zeros(sizes[l])
    rule = make_rule(config)
    for name in list(state):
        for suffix in optimizer_state_names(config.optimizer):
            state[f"{name}_{suffix}"] = np.zeros_like(state[name])
    if rule.trains_hidden:
        for l in range(L):
            state.update(rule.initial_feedback_state(l, sizes[l + 1], n_classes, rng))
    if rule.needs_loss_baseline:
        state["loss_baseline"] = np.zeros(n_classes)
    return state


@dataclass(frozen=True)
class StateTarget:
    """One model variable that holds a saved array: ``owner.<variable>`` in ``layout``.

    ``owner`` is a Brian2 Synapses (matrix layouts: it has ``source`` and
    ``target`` groups) or NeuronGroup (``neuron``)."""

    owner: object
    variable: str
    layout: str

    def flat(self, value: np.ndarray) -> np.ndarray:
        """The saved array ``value`` as this variable holds it."""
        value = np.asarray(value, dtype=float)
        if self.layout == "post_pre":
            return value.T.ravel()
        if self.layout == "pre_post":
            return value.ravel()
        return value

    def saved(self, flat: np.ndarray) -> np.ndarray:
        """The saved array from this variable's flat values (``post_pre`` or ``neuron``)."""
        flat = np.array(flat, dtype=float)
        if self.layout == "neuron":
            return flat
        if self.layout != "post_pre":
            raise ValueError(f"state is read back from 'post_pre' or 'neuron' variables, "
                             f"not {self.layout!r}")
        n_pre, n_post = len(self.owner.source), len(self.owner.target)
        # the transpose as a view (Fortran order): the next run's flat() is a view again
        return flat.reshape(n_pre, n_post).T

    @property
    def values(self):
        """The owner's variable (a Brian2 VariableView: ``[:]`` reads and assigns)."""
        return getattr(self.owner, self.variable)

    @property
    def model_variable(self):
        """The owner's variable object (a Brian2 Variable: name, dtype, size)."""
        return self.owner.variables[self.variable]


class StateLayout:
    """Saved name -> the model variables holding it; the first one is read back.

    Parameters
    ----------
    targets : dict of name -> list of StateTarget
    """

    def __init__(self, targets: dict[str, list[StateTarget]]):
        for name, where in targets.items():
            if not where:
                raise ValueError(f"state {name!r} has no model variable")
            for target in where:
                if target.layout not in LAYOUTS:
                    raise ValueError(f"state {name!r}: unknown layout {target.layout!r}")
        self.targets = {name: list(where) for name, where in targets.items()}

    @property
    def names(self) -> list[str]:
        return list(self.targets)

    def check(self, state: dict) -> None:
        """``state`` must hold every name of the layout."""
        missing = set(self.targets) - set(state)
        if missing:
            raise ValueError(f"state lacks {sorted(missing)}; it must hold {sorted(self.targets)}")

    def flat_values(self, state: dict):
        """(name, target, flat values) for every variable of every name."""
        self.check(state)
        for name, where in self.targets.items():
            for target in where:
                yield name, target, target.flat(state[name])

    def assign(self, state: dict) -> None:
        """Assign ``state`` to the model's variables (runtime device, or initial values)."""
        for _, target, values in self.flat_values(state):
            target.values[:] = values

    def run_args(self, state: dict) -> dict:
        """``state`` as a standalone binary's ``run_args``: {variable view: flat values}."""
        return {target.values: values for _, target, values in self.flat_values(state)}

    def files(self, state: dict, file_of) -> dict:
        """``state`` as the files a compiled project reads at start:
        {file_of(target): flat values in the variable's dtype}."""
        return {file_of(target): np.asarray(values, dtype=target.model_variable.dtype).ravel()
                for _, target, values in self.flat_values(state)}

    def read(self) -> dict[str, np.ndarray]:
        """The named state, read back from the model (after a run)."""
        return {name: where[0].saved(where[0].values[:]) for name, where in self.targets.items()}
