"""The child processes of a standalone project: ``make`` and the compiled binary.

Both run under :func:`run_child`, which ties the child's life to ours:

- On Linux the child asks the kernel for ``SIGKILL`` when its parent dies
  (``prctl(PR_SET_PDEATHSIG, SIGKILL)`` between fork and exec, through ctypes),
  so a ``kill -9`` of the Python process does not leave an orphan binary
  computing. The signal follows the thread that started the child: start
  children from a thread that outlives them (training runs on the main thread).
  Elsewhere this step is skipped.
- Any exception while waiting (``KeyboardInterrupt``, ``SystemExit`` from a
  SIGTERM handler) kills the child and reaps it before it is re-raised; the
  compiler runs in a process group of its own, and the whole group is killed.

The binary's run replaces Brian2's ``device.run`` (which waits through
``subprocess.call`` and cannot be interrupted cleanly) and keeps what bioopzo
needs of it: the results folder passed as ``--results_dir``, the device's
run-time environment variables, ``stdout.txt`` in the results folder, an error
on a non-zero exit with the end of that output, and the device's bookkeeping
so that variables read back from the results (brian2_compat). Brian2's
NaN scan of every group after a run is not repeated (training checks its state
for non-finite values itself).
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from brian2 import prefs

from bioopzo.devices.brian2_compat import (PRECOMPILED_HEADER, begin_standalone_run,
                                           end_standalone_run, faster_makefile,
                                           standalone_run_environment)

__all__ = ["run_child", "compile_project", "run_binary", "StandaloneProcessError",
           "PR_SET_PDEATHSIG"]

#: Linux prctl option: the signal a process receives when its parent dies
PR_SET_PDEATHSIG = 1


class StandaloneProcessError(RuntimeError):
    """``make`` or the compiled binary exited with a non-zero status."""


def _die_with_parent(parent: int):
    """``preexec_fn``: SIGKILL this child when its parent dies (Linux)."""
    def preexec():
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):
            return
        if os.getppid() != parent:   # the parent died before prctl took effect
            os._exit(1)
    return preexec


def run_child(command: list[str], *, cwd: Path, output: Path, env: dict | None = None,
              group: bool = False) -> tuple[int, float]:
    """Run ``command`` in ``cwd`` with stdout and stderr to the file ``output``;
    its exit status and wall seconds. The child dies with this process (see the
    module docstring); ``group``: in a new process group, killed as a whole."""
    preexec = _die_with_parent(os.getpid()) if sys.platform.startswith("linux") else None
    with open(output, "wb") as out:
        t0 = time.perf_counter()
        child = subprocess.Popen(command, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                 env=env, preexec_fn=preexec, start_new_session=group)
        try:
            status = child.wait()
        except BaseException:
            _kill(child, group)
            raise
    return status, time.perf_counter() - t0


def _kill(child: subprocess.Popen, group: bool) -> None:
    """Kill ``child`` (and its process group) and reap it."""
    try:
        if group:
            os.killpg(child.pid, signal.SIGKILL)
        else:
            child.kill()
    except (ProcessLookupError, PermissionError):
        pass
    while True:
        try:
            child.wait()
            return
        except KeyboardInterrupt:   # a second Ctrl-C while reaping: keep reaping
            continue


def _tail(path: Path, lines: int = 20) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])


def compile_project(directory: Path) -> float:
    """``make`` the generated project in ``directory`` (Brian2's make command and
    extra arguments, with a precompiled ``objects.h``: brian2_compat.faster_makefile;
    output in ``make.log``); the seconds it took."""
    directory = Path(directory)
    faster_makefile(directory)
    command = [*prefs.devices.cpp_standalone.make_cmd_unix.split(),
               *prefs.devices.cpp_standalone.extra_make_args_unix]
    log_file = directory / "make.log"
    try:
        status, seconds = run_child(command, cwd=directory, output=log_file, group=True)
    finally:
        (directory / f"{PRECOMPILED_HEADER}.gch").unlink(missing_ok=True)   # 46 MB for nmnist
    if status != 0:
        raise StandaloneProcessError(f"compiling the C++ project in {directory} failed (make exit "
                                f"status {status}); the end of {log_file}:\n{_tail(log_file)}")
    return seconds


def run_binary(device, directory: Path, results: str, run_args: list[str],
               environment: dict | None = None) -> float:
    """Run the compiled binary of the project in ``directory`` with ``run_args``
    (command-line strings), results into ``directory/results``; the wall seconds.
    ``environment``: extra variables for the child (on top of the device's)."""
    results_dir = os.path.join(os.path.abspath(directory / results), "")
    os.makedirs(results_dir, exist_ok=True)
    begin_standalone_run(device, results_dir, run_args)
    env = dict(os.environ)
    env.update(standalone_run_environment(device))
    env.update(environment or {})
    run_cmd = prefs.devices.cpp_standalone.run_cmd_unix
    command = [*([run_cmd] if isinstance(run_cmd, str) else run_cmd),
               "--results_dir", results_dir, *run_args]
    stdout = Path(results_dir) / "stdout.txt"
    status, seconds = run_child(command, cwd=directory, output=stdout, env=env)
    if status != 0:
        how = (f"killed by signal {-status}" if status < 0 else f"exit status {status}")
        raise StandaloneProcessError(f"the compiled network in {directory} failed ({how}); "
                                f"the end of {stdout}:\n{_tail(stdout)}")
    end_standalone_run(device, results_dir)
    return seconds
