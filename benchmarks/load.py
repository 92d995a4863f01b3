"""A synthetic competing load: N busy processes for the duration of a block.

Each process is a pure-Python spin loop (one core's worth of work each when the
scheduler lets it run) that also exits by itself once its parent is gone, so a
benchmark killed without clean-up leaves nothing spinning. :func:`busy_load`
starts them, and stops and reaps them when the block ends, by an exception,
Ctrl-C (KeyboardInterrupt) or SIGTERM (turned into KeyboardInterrupt while the
block runs).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from contextlib import contextmanager

#: the busy process: spin, checking every million iterations that the parent still lives
SPIN = ("import os, sys\n"
        "parent = int(sys.argv[1])\n"
        "while os.getppid() == parent:\n"
        "    for _ in range(1_000_000):\n"
        "        pass\n")


def interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


@contextmanager
def busy_load(n: int):
    """Run the block with ``n`` busy processes; yields their ``Popen`` objects."""
    if n < 0:
        raise ValueError(f"--load needs 0 or more busy processes, got {n}")
    handle_term = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, interrupt) if handle_term else None
    procs: list[subprocess.Popen] = []
    try:
        for _ in range(n):
            procs.append(subprocess.Popen([sys.executable, "-c", SPIN, str(os.getpid())],
                                          stdin=subprocess.DEVNULL))
        yield procs
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        for p in procs:
            p.wait()
        if handle_term:
            signal.signal(signal.SIGTERM, previous)
