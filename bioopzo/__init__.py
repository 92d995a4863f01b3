"""bioopzo: OPZO and its baselines as Brian2 equations.

OPZO (online pseudo-zeroth-order training; Xiao et al., arXiv 2407.12516)
trains spiking networks with one noisy forward pass, momentum feedback
connections that learn a zeroth-order estimate of the network's Jacobian, and
three-factor synapses (presynaptic trace x postsynaptic surrogate x top-down
modulator). The README states the equations; each module's docstring states
the part it implements.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bioopzo.errors import ConfigError

if TYPE_CHECKING:
    from bioopzo.config import ExperimentConfig, load_config

__version__ = "0.1.0"

__all__ = ["__version__", "ConfigError", "ExperimentConfig", "load_config"]

#: names of config.py offered here, imported on first use: importing the package
#: (and so any of its modules, e.g. bioopzo.reference) must not import config.py,
#: whose values are Brian2 quantities
_FROM_CONFIG = ("ExperimentConfig", "load_config")


def __getattr__(name: str):
    if name in _FROM_CONFIG:
        from bioopzo import config
        return getattr(config, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
