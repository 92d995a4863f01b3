"""The ``cpp_standalone`` device: Brian2's C++ standalone code, compiled once per network.

- simulator.py: the simulator (compile once, re-run the binary with ``run_args``).
- pathways.py and templates/: pathways without spike queues, on one or every
  OpenMP thread.
- gaussian.py: ``gaussian()`` as a C++ ziggurat.
"""

from bioopzo.devices.cpp_standalone.simulator import (StandaloneSimulator, configure_make,
                                                      standalone_capabilities)

__all__ = ["StandaloneSimulator", "standalone_capabilities", "configure_make"]
