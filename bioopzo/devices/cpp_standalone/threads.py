"""How many OpenMP threads a compiled run uses, chosen per run from the machine's load.

A binary compiled for K threads (``[device] threads = K``) runs each simulation
run on

    n = K                                 while the machine has a free CPU for every thread,
    n = max(1, min(K, round(C - B)))      otherwise,

with C the CPUs this process may use and B the CPUs other processes keep busy
(:class:`LoadMeter`: the smaller of /proc/stat's busy time since the previous
run began, less this process's and the previous run's, and the tasks running
at the moment; :func:`busy_cpus`, two samples 50 ms apart, before the first run). The binary forks and
joins its threads several times per time step, so a thread that the scheduler
parks behind a competing process stalls the other: with two busy processes on
two cores the 2-thread build ran at 0.80x the 1-thread build (README
Performance, "Threads under load"). ``$BIOOPZO_RUN_THREADS`` (1..K) fixes n.

The choice cannot change results: every parallel loop is split into K fixed
parts whatever n is. OpenMP's static schedule gives thread t of K the
contiguous part

    q = N / K,  r = N mod K:   part t = [t (q + 1), (t + 1)(q + 1))       for t < r
                               part t = [r (q + 1) + (t - r) q, ... + q)  for t >= r

of a loop over N elements; element i draws its random numbers from stream
:func:`stream_code`'s part(i) (Brian2's generator part(i), and the ``gaussian()``
state part(i)), and the pathways walk the K threads' synapse lists as K
"virtual threads" spread over the n running ones (templates/synapses.cpp). On K
threads part(i) is the thread that runs element i; on fewer, one thread runs
several parts in order, drawing from each part's stream in the same order.

When n < K, idle threads need not wait; when the machine is busy but n = K
(``$BIOOPZO_RUN_THREADS``), waiting threads sleep (:data:`OPENMP_ENVIRONMENT`)
instead of spinning, which would steal the core a competing process needs. On
an idle machine spinning is 2-4x faster, so it is the default there.
"""

from __future__ import annotations

import os
import time

__all__ = ["OPENMP_ENVIRONMENT", "RUN_THREADS_VARIABLE", "busy_cpus", "LoadMeter", "usable_cpus",
           "threads_for_run", "openmp_environment", "run_threads_code", "stream_code"]

#: OpenMP settings of a run whose threads share the CPUs with other busy processes
OPENMP_ENVIRONMENT = {"OMP_WAIT_POLICY": "PASSIVE"}

#: environment variable that fixes the number of threads a compiled run uses (1..K)
RUN_THREADS_VARIABLE = "BIOOPZO_RUN_THREADS"


def busy_cpus(interval: float = 0.05) -> float:
    """How many CPUs other processes keep busy, from two samples of /proc/stat
    ``interval`` seconds apart (0 where /proc/stat cannot be read)."""
    def sample():
        with open("/proc/stat") as f:
            fields = [float(x) for x in f.readline().split()[1:]]
        return sum(fields), fields[3] + (fields[4] if len(fields) > 4 else 0.0)  # idle + iowait
    try:
        total0, idle0 = sample()
        time.sleep(interval)
        total1, idle1 = sample()
    except (OSError, ValueError, IndexError):
        return 0.0
    cpus = os.cpu_count() or 1
    total = total1 - total0
    return 0.0 if total <= 0 else cpus * (1.0 - (idle1 - idle0) / total)


def _cpu_snapshot() -> tuple[float, float, float, int] | None:
    """(wall seconds, CPU-seconds all CPUs were busy, CPU-seconds of this
    process and its waited-for children, tasks running now other than the one
    reading), or None where /proc/stat cannot be read."""
    try:
        with open("/proc/stat") as f:
            text = f.read()
        fields = [float(x) for x in text.split("\n", 1)[0].split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)
        running = next((int(line.split()[1]) for line in text.splitlines()
                        if line.startswith("procs_running ")), 0)
    except (OSError, ValueError, IndexError):
        return None
    ticks = float(os.sysconf("SC_CLK_TCK")) if hasattr(os, "sysconf") else 100.0
    own = os.times()
    return (time.perf_counter(), (sum(fields) - idle) / ticks,
            own.user + own.system + own.children_user + own.children_system,
            max(0, running - 1))


class LoadMeter:
    """How many CPUs other processes keep busy, without waiting: the smaller of
    (a) the CPU time all processes used since the previous look (/proc/stat)
    minus this process's and its finished children's (the previous run's
    binary), over the wall time, and (b) the tasks running at this instant other
    than this one (``procs_running``). (a) alone would count a process that ran
    between two runs and has stopped (a benchmark's interleaved contenders),
    (b) alone a brief burst; a load that keeps the CPUs busy shows in both. The
    first look, or one less than 50 ms after the previous, samples
    :func:`busy_cpus` (two samples 50 ms apart) instead, which the runs of a
    compiled model then no longer wait for."""

    #: shortest interval measured from the previous look (seconds)
    MIN_INTERVAL = 0.05

    def __init__(self):
        self._last = None

    def busy(self) -> float:
        now = _cpu_snapshot()
        last, self._last = self._last, now
        if now is None:
            return 0.0
        if last is None or now[0] - last[0] < self.MIN_INTERVAL:
            busy = busy_cpus()
            self._last = _cpu_snapshot()
            return busy
        others = (now[1] - last[1]) - (now[2] - last[2])
        return float(min(max(0.0, others / (now[0] - last[0])), now[3]))


def usable_cpus() -> int:
    """The CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def threads_for_run(threads: int, busy: float | None = None) -> int:
    """Threads of the next run of a binary compiled for ``threads`` (module docstring;
    ``busy``: :func:`busy_cpus` if already measured); ``$BIOOPZO_RUN_THREADS`` wins (a
    value outside 1..threads is an error)."""
    if threads <= 1:
        return 1
    fixed = os.environ.get(RUN_THREADS_VARIABLE)
    if fixed:
        try:
            n = int(fixed)
        except ValueError:
            n = 0
        if not 1 <= n <= threads:
            from bioopzo.errors import ConfigError
            raise ConfigError(f"${RUN_THREADS_VARIABLE}={fixed!r} must be a whole number from 1 "
                              f"to the build's {threads} threads; unset it to choose by load")
        return n
    free = usable_cpus() - (busy_cpus() if busy is None else busy)
    if free >= threads - 0.5:
        return threads
    return max(1, min(threads, int(round(free))))


def openmp_environment(threads: int, run_threads: int | None = None,
                       busy: float | None = None) -> dict:
    """The OpenMP environment of a run on ``run_threads`` of a binary compiled for
    ``threads``: ``OMP_THREAD_LIMIT=run_threads`` when fewer than the build's
    threads run (the binary's start-up, before it reads ``$BIOOPZO_RUN_THREADS``,
    would otherwise open a team of ``threads``, whose idle thread then woke and
    spun at every later parallel region: under two busy processes that halved
    the speed of a 2-thread build running on 1); the libgomp default (spinning)
    when the machine has a free CPU for every running thread, else
    :data:`OPENMP_ENVIRONMENT` (passive waiting). Settings in ``os.environ``
    win. ``busy``: :func:`busy_cpus` if already measured."""
    run_threads = threads if run_threads is None else run_threads
    if threads <= 1:
        return {}
    env = {}
    if run_threads < threads:
        env["OMP_THREAD_LIMIT"] = str(max(1, run_threads))
    if run_threads > 1 and usable_cpus() - (busy_cpus() if busy is None else busy) < run_threads - 0.5:
        env.update(OPENMP_ENVIRONMENT)
    return {k: v for k, v in env.items() if k not in os.environ}


def run_threads_code(threads: int) -> str:
    """C++ for ``main`` (after Brian2 fixed ``threads`` threads): run on
    ``$BIOOPZO_RUN_THREADS`` threads instead when it names 1..threads."""
    return (f'if (const char* _bioopzo_run_threads = getenv("{RUN_THREADS_VARIABLE}"))\n'
            "{\n"
            "    const int _n = atoi(_bioopzo_run_threads);\n"
            f"    if (_n >= 1 && _n <= {int(threads)})\n"
            "        omp_set_num_threads(_n);\n"
            "}")


def stream_code(name: str, size: int, threads: int) -> str:
    """C++ ``int name(int i)``: the part of a loop over ``size`` elements that
    OpenMP's static schedule gives element ``i`` on ``threads`` threads (module
    docstring); 0 without OpenMP. On ``threads`` running threads it checks that
    the part is the running thread (another OpenMP runtime splitting loops
    otherwise would make two threads share a stream) and stops the binary if not."""
    if threads <= 1:
        return f"static inline int {name}(const int) {{ return 0; }}\n"
    size, threads = int(size), int(threads)
    q, r = divmod(size, threads)
    head = r * (q + 1)
    return (f"static inline int {name}(const int _i)\n"
            "{\n"
            f"    const int _part = _i < {head} ? _i / {q + 1} : "
            + (f"{r} + (_i - {head}) / {q};\n" if q > 0 else "0;\n")
            + f"    if (omp_get_num_threads() == {threads} && _part != omp_get_thread_num())\n"
            "    {\n"
            '        std::cerr << "bioopzo: OpenMP split a loop unlike its static schedule; '
            'run with [device] threads = 1" << std::endl;\n'
            "        std::exit(70);\n"
            "    }\n"
            "    return _part;\n"
            "}\n")
