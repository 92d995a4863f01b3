"""Where a compiled bioopzo step spends its time: cycles per code object.

    python benchmarks/code_object_cycles.py                    # nmnist BP, float32, 2 threads
    python benchmarks/code_object_cycles.py --precision float64

Builds the benchmark's ``nmnist`` BP network (benchmarks/workloads.py) on
cpp_standalone without the build cache, then rebuilds a copy of Brian2's
``network.cpp`` in which ``Network::run`` reads the time-stamp counter
(``rdtsc``) around every code object it calls and writes the sums when the run
ends. It runs one epoch of ``--samples`` samples ``--repeats`` times and prints,
per kind of code object (the 30 slot and replay objects of a kind summed), the
share of the cycles, microseconds per simulation step (cycles converted with
the counter's rate measured over the same run) and cycles per call, from the
run with the median total. The counter reads add about 30 cycles per call;
the numbers are for attribution, not for the speed of the uninstrumented
binary. x86-64 with GCC, OpenMP builds (2 threads or more) only.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import statistics
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from peers import BioopzoRunner, PeerWorkload  # noqa: E402
from workloads import workload  # noqa: E402

#: the file the instrumented binary writes (relative to its project folder)
CYCLES_FILE = "code_object_cycles.txt"

_CALL = """                if (func)  // code objects can be NULL in cases where we store just the clock
                    func();"""
_TIMED_CALL = """                if (func) {  // bioopzo benchmarks/code_object_cycles.py
                    const unsigned long long _c0 = __rdtsc();
                    func();
                    _bioopzo_cycles[i] += __rdtsc() - _c0;
                    _bioopzo_calls[i]++;
                }"""
_END = "    Network::_globally_running = false;\n"
_DUMP = _END + """    {   // bioopzo benchmarks/code_object_cycles.py
        FILE* _f = fopen("%s", "w");
        for (size_t i = 0; i < objects.size() && i < 4096; i++)
            fprintf(_f, "%%zu %%llu %%llu\\n", i, _bioopzo_cycles[i], _bioopzo_calls[i]);
        fprintf(_f, "seconds %%.9f\\n", omp_get_wtime() - start);
        fclose(_f);
    }
"""
_HEAD = ("#include <x86intrin.h>\n#include <cstdio>\n"
         "static unsigned long long _bioopzo_cycles[4096], _bioopzo_calls[4096];\n")


def instrument(project: Path) -> None:
    """Patch ``project``'s network.cpp and rebuild the binary (make)."""
    path = project / "network.cpp"
    text = path.read_text()
    if _CALL not in text or _END not in text or "omp_get_wtime() - start" not in text:
        raise SystemExit("this Brian2's network.cpp differs from the one this script patches "
                         "(checked on Brian2 2.9.0 with OpenMP threads); run with --threads 2")
    text = _HEAD + text.replace(_CALL, _TIMED_CALL).replace(
        _END, _DUMP % (project / CYCLES_FILE).as_posix(), 1)
    path.write_text(text)
    subprocess.run(["make", "-j2"], cwd=project, check=True, stdout=subprocess.DEVNULL)


def object_names(project: Path) -> list[str]:
    """The code objects in ``Network::run``'s order (main.cpp's ``add`` calls)."""
    main = (project / "main.cpp").read_text()
    return re.findall(r"\.add\(&\w+, _run_(\w+)\);", main)


def kinds(project: Path, steps: int) -> tuple[list[tuple[str, float, float, float]], float]:
    """(kind, share, us per step, cycles per call) sorted by share, and us per step in all."""
    lines = (project / CYCLES_FILE).read_text().split("\n")
    seconds = float(next(line.split()[1] for line in lines if line.startswith("seconds")))
    rows = [tuple(int(v) for v in line.split()) for line in lines
            if line and not line.startswith("seconds")]
    names = object_names(project)
    cycles, calls = defaultdict(int), defaultdict(int)
    for i, c, n in rows:
        name = re.sub(r"(slot|replay)\d+", r"\1N", names[i]) if i < len(names) else f"object {i}"
        cycles[name] += c
        calls[name] += n
    total = sum(cycles.values())
    rate = total / seconds            # counter cycles per second over the network run
    out = [(name, c / total, 1e6 * c / rate / steps, c / max(calls[name], 1))
           for name, c in cycles.items()]
    return sorted(out, key=lambda row: -row[1]), 1e6 * total / rate / steps


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2, help="OpenMP threads (2 or more)")
    parser.add_argument("--precision", default="float32", choices=["float32", "float64"])
    parser.add_argument("--samples", type=int, default=480)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--top", type=int, default=16)
    args = parser.parse_args(argv)
    config, x, encoded, y = workload("nmnist", "bp", args.samples, threads=args.threads,
                                     precision=args.precision)
    config = dataclasses.replace(config, device=dataclasses.replace(config.device,
                                                                    build_cache=False))
    with tempfile.TemporaryDirectory(prefix="bioopzo-cycles-") as folder:
        project = Path(folder) / "nmnist"
        runner = BioopzoRunner(PeerWorkload("nmnist", config, x, encoded, y), config,
                               args.samples, project)
        try:
            instrument(project)
            runs = []
            for _ in range(args.repeats):
                runner(args.samples)
                runs.append(kinds(project, args.samples * encoded.shape[1]))
        finally:
            runner.close()
    table, per_step = sorted(runs, key=lambda run: run[1])[len(runs) // 2]
    print(f"nmnist BP, cpp_standalone {args.precision}, {args.threads} thread(s), "
          f"{args.samples} samples: {per_step:.2f} us per step in code objects "
          f"(median of {args.repeats} runs; totals {statistics.median(r[1] for r in runs):.2f})")
    print(f"{'code object (kind)':60s} {'share':>6s} {'us/step':>8s} {'cycles/call':>12s}")
    for name, share, us, per_call in table[:args.top]:
        print(f"{name:60s} {100 * share:5.1f}% {us:8.2f} {per_call:12.0f}")


if __name__ == "__main__":
    main()
