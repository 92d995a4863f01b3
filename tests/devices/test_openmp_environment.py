"""The OpenMP wait policy follows the machine's load: spinning threads while every thread
has a free CPU (2-4x faster on an idle machine), passive waiting when other processes
keep the CPUs busy (spinning then steals the cores they need)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bioopzo.devices.cpp_standalone import simulator
from bioopzo.devices.cpp_standalone.simulator import OPENMP_ENVIRONMENT, busy_cpus, openmp_environment


def test_one_thread_needs_no_openmp_setting(monkeypatch):
    monkeypatch.setattr(simulator, "busy_cpus", lambda interval=0.05: 64.0)
    assert openmp_environment(1) == {}


def test_idle_machine_spins_busy_machine_waits_passively(monkeypatch):
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    monkeypatch.setattr(simulator.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setattr(simulator, "busy_cpus", lambda interval=0.05: 0.1)
    assert openmp_environment(2) == {}
    monkeypatch.setattr(simulator, "busy_cpus", lambda interval=0.05: 2.0)
    assert openmp_environment(2) == OPENMP_ENVIRONMENT
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")          # the user's setting wins
    assert openmp_environment(2) == {}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="busy_cpus reads Linux's /proc/stat")
def test_busy_cpus_sees_a_spinning_process():
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        subprocess.run([sys.executable, "-c", "pass"], check=True)   # let the spinner start
        assert busy_cpus(0.5) >= 0.5
    finally:
        spinner.kill()
        spinner.wait()
