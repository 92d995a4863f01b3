"""Model parameters and protocol times as Brian2 quantities, and their plain numbers.

Parameters and protocol times are Brian2 quantities (``tau_plus=16.8*ms``, ``delta_t=10*ms``,
``frequency=20*Hz``, ``theta_minus=-70.6*mV``, ``A_LTD=14e-5/mV``); dimensionless ones are plain
numbers. The NumPy forms and the Brian2 namespaces are built from plain numbers in one fixed unit
per quantity:

    number = value / unit

``in_unit`` returns the shortest decimal that the unit maps back to the same quantity, so
``in_unit(15.7*ms, ms)`` is 15.7 and not 15.700000000000001 (a value in SI units times a scale is
not always exactly invertible in floating point). A value with the wrong dimensions raises
``ConfigError`` naming the parameter and the unit it expects.
"""

from __future__ import annotations

import numpy as np
from brian2 import DimensionMismatchError, Quantity, mV, ms
from brian2.units.fundamentalunits import fail_for_dimension_mismatch

from bioopzo.config import ConfigError

__all__ = ["in_unit", "array_in_unit", "check_unit", "unit_suffix", "unit_text"]

#: units of the exported parameter names (``tau_plus`` in ms is written ``tau_plus_ms``)
_SUFFIXES = ((ms, "ms"), (mV, "mV"), (1 / mV, "per_mV"), (1 / mV ** 2, "per_mV2"))


def unit_text(unit) -> str:
    """A unit as a user writes it: ``ms``, ``mV``, ``1/mV``; ``1`` for dimensionless."""
    if not isinstance(unit, Quantity):
        return "1 (dimensionless)"
    for known, suffix in _SUFFIXES:
        if _same_unit(unit, known):
            return suffix.replace("per_", "1/").replace("mV2", "mV**2")
    return str(unit)


def _same_unit(a, b) -> bool:
    try:
        fail_for_dimension_mismatch(a, b)
    except DimensionMismatchError:
        return False
    return float(a) == float(b)


def unit_suffix(unit) -> str:
    """The suffix that names ``unit`` in a column or key: ``_ms``, ``_mV``, ``_per_mV``, ``_per_mV2``
    or nothing for a dimensionless parameter."""
    if not isinstance(unit, Quantity):
        return ""
    for known, suffix in _SUFFIXES:
        if _same_unit(unit, known):
            return "_" + suffix
    raise ValueError(f"no column suffix for the unit {unit}")


def check_unit(value, unit, name: str, owner: str = "") -> None:
    """Raise ConfigError unless ``value`` has the dimensions of ``unit``."""
    try:
        fail_for_dimension_mismatch(value, unit if isinstance(unit, Quantity) else 1)
    except DimensionMismatchError:
        where = f"{owner}: " if owner else ""
        example = f"{name}=10*{unit_text(unit)}" if isinstance(unit, Quantity) else f"{name}=0.5"
        raise ConfigError(f"{where}{name} must be in {unit_text(unit)} (a Brian2 quantity, e.g. "
                          f"{example}), got {value!r}") from None


def in_unit(value, unit, name: str, owner: str = "") -> float:
    """``value / unit`` as a float (the shortest decimal that maps back to ``value``)."""
    check_unit(value, unit, name, owner)
    if not isinstance(unit, Quantity):
        return float(value)
    number = float(value / unit)
    short = float(f"{number:.15g}")
    return short if short != number and float(short * unit) == float(value) else number


def array_in_unit(values, unit, name: str, owner: str = "") -> np.ndarray:
    """``values / unit`` as a float array; an empty sequence needs no unit."""
    if not isinstance(values, Quantity) and len(values) == 0:
        return np.zeros(0)
    if not isinstance(values, Quantity) and all(isinstance(v, Quantity) for v in values):
        return np.array([in_unit(v, unit, name, owner) for v in values], dtype=float)
    check_unit(values, unit, name, owner)
    return np.asarray(values / unit, dtype=float)
