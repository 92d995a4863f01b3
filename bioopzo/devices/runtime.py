"""The ``runtime`` device: Brian2's runtime device with the numpy code generation target.

The network is rebuilt for every simulation run (no compilation; for small
models and tests). ``gaussian()`` is NumPy's standard normal here
(devices/gaussian.py), seeded by ``brian2.seed`` like ``randn()``; pathways
keep Brian2's spike queues.
"""

from __future__ import annotations

import time

import brian2

from bioopzo.devices.base import DeviceCapabilities, Simulator
from bioopzo.devices.gaussian import GAUSSIAN
from bioopzo.network import BrianNetwork, silence_expected_warnings

__all__ = ["RuntimeSimulator", "RUNTIME_CAPABILITIES"]

#: what the runtime device supports of the model
RUNTIME_CAPABILITIES = DeviceCapabilities(gaussian=GAUSSIAN)


class RuntimeSimulator(Simulator):
    """Brian2 runtime device, numpy target; the network is rebuilt each run."""

    name = "runtime"
    capabilities = RUNTIME_CAPABILITIES

    def _run_samples(self, data, state, seed):
        t0 = time.perf_counter()
        silence_expected_warnings()
        brian2.set_device("runtime")
        brian2.prefs.codegen.target = "numpy"
        brian2.defaultclock.dt = self.config.neuron.dt
        net = BrianNetwork(self.config, self.n_inputs, self.n_classes, data, state,
                           record_spikes=self.record_spikes, record_states=self.record_states,
                           capabilities=self.capabilities)
        self.network = net
        self.n_builds += 1
        brian2.seed(seed)
        t1 = time.perf_counter()
        net.network.run(net.duration, namespace={})
        sim_time = time.perf_counter() - t1
        result = self._collect(net, sim_time, t0, compiled=False)
        result.network_time = sim_time
        return result
