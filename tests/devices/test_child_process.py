"""The compiled binary dies with the Python process that started it (issue 19, check 2):
after SIGKILL of the parent (the kernel's parent-death signal) and after SIGINT
(killed and reaped before the interrupt propagates)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="finds child processes through /proc (Linux)")

INTERRUPTED_GROUP = """
import sys
from pathlib import Path
from bioopzo.devices.cpp_standalone.process import run_child

folder = Path(sys.argv[1])
run_child(["sh", "-c", "sleep 300 & echo $! > grandchild; echo started > ready; wait"],
          cwd=folder, output=folder / "out.txt", group=True)
"""

LONG_RUN = """
import sys
from pathlib import Path
from bioopzo.config import load_config
from bioopzo.train import train

cfg = load_config(sys.argv[1]).with_overrides({
    "network": {"hidden": [64]}, "data": {"limit": 1797, "steps_per_sample": 400},
    "training": {"epochs": 1}})
train(cfg, Path(sys.argv[2]), progress=False, echo=lambda *a: None)
"""


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _exe_name(pid: int) -> str:
    try:
        return Path(os.readlink(f"/proc/{pid}/exe")).name
    except OSError:
        return ""


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory):
    """One build cache for this module's runs: the network compiles once."""
    return tmp_path_factory.mktemp("child_process_cache")


def _start_long_run(tmp_path, cache) -> tuple[subprocess.Popen, int]:
    """A Python process training on cpp_standalone, and the pid of its binary once it runs."""
    script = tmp_path / "long_run.py"
    script.write_text(LONG_RUN)
    models = Path(__file__).resolve().parents[2] / "models" / "digits_fc.toml"
    parent = subprocess.Popen([sys.executable, str(script), str(models), str(tmp_path / "run")],
                              env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path),
                                   "BIOOPZO_CACHE_DIR": str(cache)},
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 600    # the first compilation, on a loaded machine
    while time.monotonic() < deadline:
        binaries = [c for c in _children(parent.pid) if _exe_name(c) == "main"]
        if binaries:
            return parent, binaries[0]
        if parent.poll() is not None:
            pytest.fail(f"the training process ended early: {parent.stderr.read().decode()[-2000:]}")
        time.sleep(0.2)
    parent.kill()
    pytest.fail("the compiled binary did not start within 600 s")


def _gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return not _alive(pid)


def test_an_interrupt_kills_the_whole_process_group_of_a_compilation(tmp_path):
    """What ``make`` runs (the compilers) is killed with it when Python is interrupted."""
    script = tmp_path / "group.py"
    script.write_text(INTERRUPTED_GROUP)
    parent = subprocess.Popen([sys.executable, str(script), str(tmp_path)],
                              env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    deadline = time.monotonic() + 60
    while not (tmp_path / "ready").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    grandchild = int((tmp_path / "grandchild").read_text())
    assert _alive(grandchild)
    os.kill(parent.pid, signal.SIGINT)
    parent.wait(timeout=30)
    assert parent.returncode == -signal.SIGINT
    assert _gone_within(grandchild, 5.0), "the compiler's process group survived the interrupt"


@pytest.mark.standalone
def test_the_binary_dies_when_its_parent_is_killed(tmp_path, shared_cache):
    parent, binary = _start_long_run(tmp_path, shared_cache)
    try:
        time.sleep(0.5)
        assert _alive(binary), "the binary should still be running before the kill"
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(timeout=10)
        assert _gone_within(binary, 5.0), f"binary {binary} survived its parent's SIGKILL"
    finally:
        if _alive(binary):
            os.kill(binary, signal.SIGKILL)


@pytest.mark.standalone
def test_an_interrupt_kills_and_reaps_the_binary(tmp_path, shared_cache):
    parent, binary = _start_long_run(tmp_path, shared_cache)
    try:
        time.sleep(0.5)
        os.kill(parent.pid, signal.SIGINT)
        assert _gone_within(binary, 5.0), f"binary {binary} survived the interrupt"
        parent.wait(timeout=30)
        # an unhandled KeyboardInterrupt ends Python by SIGINT; a handler exits 130
        assert parent.returncode in (-signal.SIGINT, 130)
    finally:
        if parent.poll() is None:
            parent.kill()
        if _alive(binary):
            os.kill(binary, signal.SIGKILL)
