"""The plasticity-model interface: a synapse model with parameters in Brian2 units.

A plasticity model is additive: the weight starts at w(0) = 1 (the weight in units of its initial
value) and the model adds dimensionless changes, so the change of a protocol condition is
dw_rel = w(T) - 1 (times the condition's repeats). Each model has two forms that agree to 1e-6
(tests/plasticity/test_plasticity.py): Brian2 synapse code (``build_brian2``, run by
:func:`bioopzo.plasticity.protocols.simulate_brian2`) and an exact NumPy form
(``numpy_weight_changes``, used for fitting).

Parameters are Brian2 quantities (``model.tau_plus`` is ``16.8*ms``; dimensionless ones are
numbers). ``with_params(tau_plus=20*ms)`` checks each value's dimensions against the model's
``units`` and raises ConfigError naming the parameter and its unit. The model keeps each value as a
plain number in that unit (``values``), which the NumPy forms, the Brian2 namespaces and the fits
use; ``table()`` writes them with the unit in the name (``tau_plus_ms``), as the CSV and JSON
outputs do.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import ClassVar

import numpy as np

from bioopzo.plasticity.protocols import simulate_brian2
from bioopzo.plasticity.quantities import in_unit, unit_suffix

__all__ = ["PlasticityModel"]


@dataclass(frozen=True)
class PlasticityModel:
    """Base class.

    values: parameter name -> plain number in the unit ``units[name]``.
    free: names of the parameters a fit adjusts; bounds: their (low, high), as quantities.
    needs_modulator: the model reads the third factor (modulator); the others ignore it.
    linear_free: the weight change is linear in every free parameter (linear least squares fit).
    removable: the amplitudes whose value 0 removes a term of the rule (nested submodels).
    """

    values: dict = field(default_factory=dict)
    name: str = "model"

    free: tuple = ()
    bounds: tuple = ()
    needs_modulator: bool = False
    linear_free: bool = True

    #: parameter name -> Brian2 unit (1 for a dimensionless parameter)
    units: ClassVar[dict] = {}
    #: amplitudes whose value 0 switches a term of the rule off (the nested submodels of a fit fix
    #: them at 0); time constants and shape parameters are not among them
    removable: ClassVar[tuple] = ()

    # ------------------------------------------------------------------ parameters
    def number(self, name: str, value) -> float:
        """``value`` (a quantity) as a plain number in the unit of parameter ``name``."""
        return in_unit(value, self.units.get(name, 1), name, self.name)

    def with_params(self, **quantities) -> "PlasticityModel":
        """A copy with these parameters set (Brian2 quantities in the parameters' dimensions)."""
        self._check_names(quantities)
        return replace(self, values={**self.values,
                                     **{k: self.number(k, v) for k, v in quantities.items()}})

    def with_values(self, **numbers) -> "PlasticityModel":
        """A copy with these parameters set as plain numbers in the parameters' units (fits)."""
        self._check_names(numbers)
        return replace(self, values={**self.values, **{k: float(v) for k, v in numbers.items()}})

    def _check_names(self, names) -> None:
        unknown = set(names) - set(self.values)
        if unknown:
            raise KeyError(f"{self.name} has no parameter(s) {sorted(unknown)}; "
                           f"known: {sorted(self.values)}")

    @property
    def params(self) -> dict:
        """Parameter name -> value as a Brian2 quantity (a number when dimensionless)."""
        return {k: v * self.units.get(k, 1) for k, v in self.values.items()}

    def __getattr__(self, key):
        values = self.__dict__.get("values", {})
        if key in values:
            return values[key] * type(self).units.get(key, 1)
        raise AttributeError(key)

    def table(self, names=None) -> dict:
        """``{name + unit suffix: number}`` (``tau_plus_ms``, ``A_LTD_per_mV``), for CSV and JSON."""
        names = self.values if names is None else names
        return {k + unit_suffix(self.units.get(k, 1)): self.values[k] for k in names}

    def free_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """(low, high) of the free parameters as plain numbers in their units."""
        low = np.array([self.number(k, b[0]) for k, b in zip(self.free, self.bounds)], dtype=float)
        high = np.array([self.number(k, b[1]) for k, b in zip(self.free, self.bounds)], dtype=float)
        return low, high

    # ------------------------------------------------------------------ weight changes
    def weight_changes(self, conditions, engine: str = "numpy") -> np.ndarray:
        """dw_rel of every condition (times its repeats), from the Brian2 or the NumPy form."""
        if engine == "brian2":
            return simulate_brian2(self, conditions)
        if engine == "numpy":
            repeats = np.array([c.repeats for c in conditions], dtype=float)
            return repeats * self.numpy_weight_changes(list(conditions))
        raise ValueError(f"engine must be 'brian2' or 'numpy', not {engine!r}")

    def build_brian2(self, pre, post_spikes, conditions, clock, net, modulator):
        """The plastic ``Synapses`` (one per condition, k -> k), adding any helper groups to ``net``."""
        raise NotImplementedError

    def numpy_weight_changes(self, conditions) -> np.ndarray:
        """w(T) - 1 of one motif per condition."""
        raise NotImplementedError
