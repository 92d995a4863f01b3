"""bioopzo: OPZO and its baselines as Brian2 equations.

OPZO (online pseudo-zeroth-order training; Xiao et al., arXiv 2407.12516)
trains spiking networks with one noisy forward pass, momentum feedback
connections that learn a zeroth-order estimate of the network's Jacobian, and
three-factor synapses (presynaptic trace x postsynaptic surrogate x top-down
modulator). The README states the equations; each module's docstring states
the part it implements.
"""

__version__ = "0.1.0"

from bioopzo.config import ConfigError, ExperimentConfig, load_config  # noqa: E402

__all__ = ["__version__", "ConfigError", "ExperimentConfig", "load_config"]
