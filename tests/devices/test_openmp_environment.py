"""The OpenMP wait policy follows the machine's load: spinning threads while every thread
has a free CPU (2-4x faster on an idle machine), passive waiting when other processes
keep the CPUs busy (spinning then steals the cores they need)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bioopzo.devices.cpp_standalone import threads
from bioopzo.devices.cpp_standalone.threads import OPENMP_ENVIRONMENT, busy_cpus, openmp_environment


def test_one_thread_needs_no_openmp_setting(monkeypatch):
    monkeypatch.setattr(threads, "busy_cpus", lambda interval=0.05: 64.0)
    assert openmp_environment(1) == {}


def test_idle_machine_spins_busy_machine_waits_passively(monkeypatch):
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    monkeypatch.setattr(threads, "usable_cpus", lambda: 2)
    monkeypatch.setattr(threads, "busy_cpus", lambda interval=0.05: 0.1)
    assert openmp_environment(2) == {}
    monkeypatch.setattr(threads, "busy_cpus", lambda interval=0.05: 2.0)
    assert openmp_environment(2) == OPENMP_ENVIRONMENT
    # one running thread waits for none, and no team of two forms at the binary's start
    assert openmp_environment(2, run_threads=1) == {"OMP_THREAD_LIMIT": "1"}
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
