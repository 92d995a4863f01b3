"""One sweep point in its own Python process (so Brian2 device state is never shared).

    python -m bioopzo.sweep.point CONFIG.toml OUT [--parent-pid PID]

trains the resolved config ``CONFIG.toml`` into the run folder ``OUT`` with
:func:`bioopzo.train.train` (its Brian2 build folder lives inside ``OUT``).
With ``--parent-pid``, a watchdog thread ends this process as soon as its
parent (the dask worker that started it) is gone, so a killed worker leaves no
training running behind it. Exit status: 0 done, 2 bad config, 3 diverged,
4 parent gone, 1 anything else (traceback on stderr).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
import time

PARENT_GONE = 4


def _watch_parent(parent_pid: int, interval: float = 0.5) -> None:
    def watch():
        while True:
            if os.getppid() != parent_pid:
                print(f"sweep point: parent process {parent_pid} is gone; stopping",
                      file=sys.stderr, flush=True)
                os._exit(PARENT_GONE)
            time.sleep(interval)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bioopzo.sweep.point", description=__doc__)
    parser.add_argument("config", help="resolved config TOML of the point")
    parser.add_argument("out", help="run folder to create")
    parser.add_argument("--parent-pid", type=int, help="exit when this process is gone")
    args = parser.parse_args(argv)
    if args.parent_pid is not None:
        _watch_parent(args.parent_pid)
    logging.getLogger("brian2").setLevel(logging.ERROR)

    from bioopzo.cli import command_status
    from bioopzo.config import load_config
    from bioopzo.train import train

    def run_point() -> int:
        result = train(load_config(args.config), args.out, progress=False)
        print(f"test accuracy {100 * result.test_accuracy:.1f} %; run folder {result.run_dir}")
        return 0

    return command_status(run_point)


if __name__ == "__main__":
    sys.exit(main())
