"""Training throughput of bioopzo against plain NumPy, side by side in one run.

    python benchmarks/throughput.py            # full benchmark (about 55 min on 2 cores)
    python benchmarks/throughput.py --quick    # fewer samples, no scaling sweep
    python benchmarks/throughput.py --peers-only --quick   # bioopzo against PyTorch, minutes
    python benchmarks/throughput.py --peers-only --load 2  # also the threads under load

Workloads (per-sample online learning: one update per sample, batch 1):

- ``digits``: 64-256-10, T = 16, rate-coded scikit-learn digits;
- ``nmnist``: 2312-800-10, T = 30, generated binary events with N-MNIST-like
  statistics (each input active with probability 0.05 per step).

Contenders, same network, T, rule and samples (digits 1280, nmnist 480, each
in one simulation run): bioopzo cpp_standalone with 1 and 2 OpenMP threads
(compiled once, then the best of two timed runs), bioopzo runtime (numpy
target, timed once), and ``bioopzo.reference`` at batch 1 (the same per-sample
algorithm in NumPy) and at batch 32 (mini-batch schedule, what a NumPy/PyTorch
user would run), each the best of two timings unless one takes over 30 s.
The benchmark prints samples per second, the ratio of the best cpp_standalone
to every contender, the time per plastic synapse and step, and the floor a
dense rule could not beat on this machine:
one read and one write of every weight per step, at the bandwidth of a large
NumPy array copy measured in the same run. Then it fits how the time per
sample grows with the hidden size and with T, measures the share of an epoch
spent outside the compiled simulation, and the peak memory of epochs of 1 000
and 10 000 samples. Timings are noisy on shared machines; compare the ratios.

The ``peers`` part (benchmarks/peers.py) times bioopzo's online BP (batch 1,
cpp_standalone, whole run and the binary's network run alone) against PyTorch
peers on the same network, inputs, T, initial weights and threads: the same rule
hand-vectorised in PyTorch (batch 1 and 32), snnTorch BPTT (batch 32 and 128)
and SpikingJelly OTTT (batch 1 and 32); interleaved (A B C A B C ...), each
reported as the median and range of its repeats. The ``load`` part starts
``--load`` busy processes (benchmarks/load.py) and times bioopzo's 1-thread and
2-thread builds side by side under them.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bioopzo.config import load_config
from bioopzo.devices.cpp_standalone.threads import RUN_THREADS_VARIABLE
from bioopzo.devices import make_simulator
from bioopzo.data.epochs import make_epoch_data
from bioopzo.state import initial_state
from bioopzo.reference import ReferenceModel
from bioopzo.runs import write_json_atomic

sys.path.insert(0, str(Path(__file__).parent))
from load import busy_load  # noqa: E402
from peers import (BioopzoProcess, Contender, PeerWorkload, TORCH_PEERS,  # noqa: E402
                   check_online_bp, missing_package, run_interleaved, summary, torch_contenders)
from workloads import EVENT_PROBABILITY, GeneratedEvents, workload  # noqa: E402,F401

def plastic_synapses(config, n_inputs: int, n_classes: int = 10) -> int:
    sizes = [n_inputs, *config.network.hidden, n_classes]
    return sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))


def time_simulator(config, x, y, repeat: int = 1) -> tuple[float, float]:
    """(seconds per run of all samples, excluding compilation; compile seconds).
    ``time_simulator.network_seconds`` keeps the binary's own network run time of
    the best repeat (cpp_standalone: without start-up, array I/O and set-up)."""
    n_inputs = x.shape[-1]
    data = make_epoch_data(x, y, x[:0] if isinstance(x, np.ndarray) else x[np.arange(0)],
                           y[:0], 1)
    state = initial_state(config, n_inputs, 10, 1)
    with tempfile.TemporaryDirectory(prefix="bioopzo-bench-") as tmp:
        sim = make_simulator(config, n_inputs, 10, Path(tmp) / "build")
        with sim:
            t = time.perf_counter()
            res = sim.run_epoch(data, state, 1)
            first = time.perf_counter() - t
            times, network = [first], [res.network_time]
            compiled = config.device.name == "cpp_standalone"
            for r in range(repeat if compiled else 0):    # the runtime does not compile
                res = sim.run_epoch(data, res.state, 2 + r)
                times.append(res.simulation_time)
                network.append(res.network_time)
    if compiled:
        compile_s, times, network = first - times[1], times[1:], network[1:]
    else:
        compile_s = 0.0
    best = min(times)
    time_simulator.network_seconds = network[int(np.argmin(times))]
    return best, max(compile_s, 0.0)


def time_reference(config, encoded, y, batch: int, repeat: int = 2,
                   repeat_below_s: float = 30.0) -> float:
    """Seconds for all samples, the best of ``repeat`` timings like the compiled
    contenders, except that a timing over ``repeat_below_s`` is not repeated."""
    n = len(y) - len(y) % batch
    best = np.inf
    for _ in range(repeat):
        ref = ReferenceModel(config, encoded.shape[-1], 10,
                             initial_state(config, encoded.shape[-1], 10, 1), seed=1)
        t = time.perf_counter()
        ref.run(encoded[:n], y[:n], batch=batch)
        best = min(best, (time.perf_counter() - t) * len(y) / n)
        if best > repeat_below_s:
            break
    return best


def copy_bandwidth(megabytes: int = 512) -> float:
    """Bytes per second moved (read + write) by a large NumPy array copy, best of 5."""
    a = np.ones(megabytes * 2**20 // 8)
    b = np.empty_like(a)
    best = np.inf
    for _ in range(5):
        t = time.perf_counter()
        np.copyto(b, a)
        best = min(best, time.perf_counter() - t)
    return 2 * a.nbytes / best


def compare(args, bandwidth: float) -> list[dict]:
    floor_ns = 16 / bandwidth * 1e9     # read + write one float64 weight per synapse-step
    rows = []
    for name, n in (("digits", args.digits_samples), ("nmnist", args.nmnist_samples)):
        for rule in ("opzo", "bp"):
            timings = {}
            config, x, encoded, y = workload(name, rule, n)
            syn = plastic_synapses(config, encoded.shape[-1])
            T = config.data.steps_per_sample
            for threads in (1, 2):
                c, *_ = workload(name, rule, n, threads=threads)
                seconds, compile_s = time_simulator(c, x, y, repeat=2)
                timings[f"cpp_standalone {threads} thread{'s' if threads > 1 else ''}"] = seconds
                net_s = time_simulator.network_seconds
                print(f"  [{name} {rule}] cpp_standalone x{threads}: {n / seconds:8.1f} samples/s "
                      f"(compiled in {compile_s:.0f} s; the binary's network run alone: "
                      f"{n / net_s:.1f} samples/s, {100 * (1 - net_s / seconds):.0f} % of the run "
                      "is start-up, set-up and array I/O)", flush=True)
            c, *_ = workload(name, rule, n, device="runtime")
            timings["runtime (numpy)"], _ = time_simulator(c, x, y)
            print(f"  [{name} {rule}] runtime: {n / timings['runtime (numpy)']:8.1f} samples/s",
                  flush=True)
            timings["reference batch 1"] = time_reference(config, encoded, y, 1)
            c, *_ = workload(name, rule, n, schedule="batch")
            timings["reference batch 32"] = time_reference(c, encoded, y, 32)
            best_key = min((k for k in timings if k.startswith("cpp")), key=timings.get)
            for key, seconds in timings.items():
                rows.append({
                    "workload": name, "rule": rule, "contender": key,
                    "samples_per_s": n / seconds,
                    "best_standalone_speedup": seconds / timings[best_key],
                    "ns_per_synapse_step": seconds / n / (syn * T) * 1e9,
                    "dense_floor_ns": floor_ns,
                })
    return rows


def event_floor(args, ours: bool = False) -> dict:
    """What one synaptic event costs in Brian2's generated event-driven code here:
    a 2312 -> 800 all-to-all Synapses whose only pathway adds w to its target (the
    least an event can do), fired by the nmnist workload's generated events,
    cpp_standalone, 1 thread; the pathway's own time (spike queue push and the
    per-synapse loop, Brian2's profiler) per synaptic event. An online rule
    (batch 1) touches every synapse of an active input at least twice per sample
    (the forward input and the weight update), so ``2 x events x floor`` bounds
    the time per sample of any such rule run by Brian2's own pathway code (spike
    queues) on one thread. bioopzo's pathways (bioopzo/devices/cpp_standalone/pathways.py) skip the
    queue and share the threads, so they are not bound by it; ``ours=True``
    times the same pathway with bioopzo's templates (one thread: the dense
    layout's walk of the targets)."""
    import brian2
    from brian2 import NeuronGroup, Synapses, TimedArray, device, ms, second, set_device

    from bioopzo.devices.cpp_standalone import configure_make

    n_in, n_hidden, T, n = 2312, 800, 30, args.nmnist_samples
    frames = GeneratedEvents(n, T, n_in)[np.arange(n)].reshape(n * T, n_in).astype(float)
    with tempfile.TemporaryDirectory(prefix="bioopzo-floor-") as tmp:
        set_device("cpp_standalone", directory=tmp, build_on_run=False)
        try:
            device.reinit()
            device.activate(directory=tmp, build_on_run=False)
            configure_make()
            brian2.defaultclock.dt = 1 * ms
            frame = TimedArray(frames, dt=1 * ms)
            inputs = NeuronGroup(n_in, "x : 1", events={"active": "x != 0"},
                                 namespace={"frame": frame})
            inputs.run_regularly("x = frame(t, i)", when="start")
            inputs.thresholder["active"].when = "start"
            inputs.thresholder["active"].order = 1
            hidden = NeuronGroup(n_hidden, "I : 1")
            syn = Synapses(inputs, hidden, "w : 1", on_pre={"transmit": "I_post += w"},
                           on_event={"transmit": "active"}, delay={"transmit": 0 * ms})
            syn.connect()
            syn.w = 0.001
            if ours:
                from bioopzo.devices.cpp_standalone.pathways import assign_schedules

                assign_schedules([syn])
            net = brian2.Network(inputs, hidden, syn)
            net.run(n * T * ms, profile=True)
            device.build(directory=tmp, compile=True, run=True)
            seconds = sum(float(t / second) for name, t in net.profiling_info if "transmit" in name)
        finally:
            device.reinit()
            set_device("runtime")
    events = float(frames.sum()) * n_hidden
    floor_ns = seconds / events * 1e9
    per_sample = events / n
    return {"ns_per_event": floor_ns, "events_per_sample": per_sample,
            "bound_samples_per_s": 1.0 / (2 * per_sample * floor_ns * 1e-9)}


def scaling(args) -> dict:
    """Time per sample of cpp_standalone (1 thread, opzo, nmnist inputs) against
    hidden size and against T; fitted exponents of t ~ x^b."""
    out = {}
    n = args.scaling_samples
    for key, values, make in (
            ("hidden", (256, 512, 1024, 2048), lambda v: dict(hidden=v)),
            ("T", (10, 20, 40), lambda v: dict(steps=v))):
        per_sample = []
        for v in values:
            config, x, _, y = workload("nmnist", "opzo", n, **make(v))
            seconds, _ = time_simulator(config, x, y)
            per_sample.append(seconds / n)
            print(f"  scaling {key} = {v}: {1e3 * seconds / n:.2f} ms per sample", flush=True)
        exponent = float(np.polyfit(np.log(values), np.log(per_sample), 1)[0])
        out[key] = {"values": list(values), "ms_per_sample": [1e3 * t for t in per_sample],
                    "exponent": exponent}
    return out


def epoch_overhead(args) -> list[dict]:
    """Digits at 1 000 training samples per epoch, 3 epochs of `bioopzo train`:
    the share of each epoch's wall time outside the compiled simulation."""
    from bioopzo.train import train

    config = load_config(None, {"data": {"limit": 1250}, "training": {"epochs": 3},
                                "optimizer": {"schedule": "sample"}})
    with tempfile.TemporaryDirectory(prefix="bioopzo-bench-") as tmp:
        result = train(config, Path(tmp) / "run", progress=False, echo=lambda *a: None)
    rows = []
    for row in result.metrics:
        rows.append({"epoch": row["epoch"], "epoch_seconds": row["epoch_seconds"],
                     "outside_fraction": row["outside_simulation_seconds"] / row["epoch_seconds"],
                     "outside_network_run_fraction":
                         1 - row["network_run_seconds"] / row["epoch_seconds"]})
    return rows


def peak_memory(n_samples: int) -> dict:
    """Peak RSS of a child process that streams ``n_samples`` generated N-MNIST-like
    samples (2312 inputs, T = 30, a small hidden layer) through one cpp_standalone epoch."""
    code = (
        "import sys, resource, numpy as np, tempfile\n"
        "sys.path.insert(0, %r)\n"
        "from throughput import GeneratedEvents\n"
        "from bioopzo.config import load_config\n"
        "from bioopzo.devices import make_simulator\n"
        "from bioopzo.data.epochs import make_epoch_data\n"
        "from bioopzo.state import initial_state\n"
        "n = int(sys.argv[1])\n"
        "c = load_config(None, {'network': {'hidden': [32]}, 'data': {'encoding': 'frames', "
        "'steps_per_sample': 30}, 'optimizer': {'schedule': 'sample'}})\n"
        "x = GeneratedEvents(n, 30, 2312); y = np.arange(n) %% 10\n"
        "data = make_epoch_data(x, y, x, y[:0], 1)\n"
        "with tempfile.TemporaryDirectory() as d:\n"
        "    with make_simulator(c, 2312, 10, d + '/b') as sim:\n"
        "        r = sim.run_epoch(data, initial_state(c, 2312, 10, 1), 1)\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "
        "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, r.n_runs)\n"
    ) % str(Path(__file__).parent)
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code, str(n_samples)], capture_output=True,
                         text=True, check=True)
    self_kb, child_kb, runs = out.stdout.split()[-3:]
    return {"samples": n_samples, "python_peak_mb": int(self_kb) / 1024,
            "simulation_peak_mb": int(child_kb) / 1024, "runs": int(runs),
            "seconds": time.perf_counter() - t}


BIOOPZO_COMPUTES = ("online BP (rules/bp.py), batch 1: forward, spatial BP and traces every "
                    "step, one update per sample, event-driven (only active inputs cost)")


class BioopzoBuilds:
    """Compiled bioopzo simulators shared by the peers and load parts: one per
    (workload, rule, threads), each compiled once in its own worker process
    (Brian2's standalone device is one per process) and kept until ``close``."""

    def __init__(self, workloads: dict, directory: Path):
        self.workloads, self.directory = workloads, directory
        self.runners: dict = {}

    def runner(self, name: str, rule: str, threads: int, fixed: bool = False,
               precision: str = "float64") -> BioopzoProcess:
        """``fixed``: every run uses all ``threads`` (else fewer when the machine is busy)."""
        key = (name, rule, threads, fixed, precision)
        if key not in self.runners:
            n = len(self.workloads[name].labels)
            print(f"  compiling bioopzo {rule} cpp_standalone {precision} x{threads} for {name} ...",
                  flush=True)
            env = {RUN_THREADS_VARIABLE: str(threads)} if fixed else None
            folder = f"{name}-{rule}-{threads}-{precision}{'-fixed' if fixed else ''}"
            self.runners[key] = BioopzoProcess(name, rule, n, threads, self.directory / folder,
                                               environment=env, precision=precision)
            print(f"  ... compiled and ran once in {self.runners[key].setup_seconds:.0f} s",
                  flush=True)
        return self.runners[key]

    def contender(self, name: str, rule: str, threads: int,
                  precision: str = "float64") -> Contender:
        runner = self.runner(name, rule, threads, precision=precision)
        return Contender(f"bioopzo {rule} cpp_standalone {precision}", BIOOPZO_COMPUTES, 1,
                         threads, runner, runner.n, setup_seconds=runner.setup_seconds)

    def close(self):
        for runner in self.runners.values():
            runner.close()


def peer_workloads(args) -> dict:
    out = {}
    for name in args.peer_workloads:
        config, x, encoded, y = workload(name, "bp", args.peer_samples)
        out[name] = PeerWorkload(name, config, x, encoded, y)
    return out


def peers(args, builds: BioopzoBuilds) -> list[dict]:
    """bioopzo (batch 1, whole run and network run) against the PyTorch peers."""
    rows = []
    for name, wl in builds.workloads.items():
        if missing_package("torch") is None:
            err = check_online_bp(wl)
            print(f"[{name}] the PyTorch online BP agrees with bioopzo.reference (float64, 4 samples, "
                  f"batch 1 and 4): largest weight difference {err:.1e}", flush=True)
        for threads in args.threads:
            contenders = [builds.contender(name, "bp", threads, precision)
                          for precision in ("float64", "float32")]
            contenders += torch_contenders(wl, threads, args.peer_seconds)
            print(f"[{name}] {len(contenders)} contenders on {threads} thread"
                  f"{'s' if threads > 1 else ''}, {args.peer_repeats} interleaved repeats", flush=True)
            run_interleaved(contenders, args.peer_repeats)
            for c in contenders:
                row = {"workload": name, "threads": threads, "contender": c.label,
                       "batch": c.batch, "samples": c.samples, "computes": c.computes,
                       "setup_seconds": c.setup_seconds, **summary(c.rates())}
                rows.append(row)
                if c.label.startswith("bioopzo"):
                    rows.append({**row, "contender": f"{c.label}, network run only",
                                 **summary(c.rates(network=True))})
    return rows


def print_peers(rows: list[dict]):
    """The peers table with the ratio of bioopzo's whole run to every contender."""
    for name in dict.fromkeys(r["workload"] for r in rows):
        part = [r for r in rows if r["workload"] == name]
        best = max(r["median"] for r in part if r["contender"].startswith("bioopzo")
                   and "network run" not in r["contender"])
        print(f"\npeers on {name}: samples/s, median and range of the interleaved repeats; "
              f"ratio = best bioopzo whole run ({best:.1f}) / contender")
        print(f"{'contender':44s} {'threads':>7s} {'batch':>5s} {'samples':>7s} {'median':>9s} "
              f"{'range':>17s} {'ratio':>7s}")
        for r in part:
            label = r["contender"] + ("" if r["contender"].startswith("bioopzo")
                                      and "network" in r["contender"] else
                                      ", whole run" if r["contender"].startswith("bioopzo") else "")
            ratio = "-" if "network run" in label else f"{best / r['median']:.2f}"
            print(f"{label:44s} {r['threads']:7d} {r['batch']:5d} {r['samples']:7d} "
                  f"{r['median']:9.1f} {r['low']:8.1f}-{r['high']:<8.1f} {ratio:>7s}")
    print("\nper sample, each contender computes:")
    print(f"  bioopzo: {BIOOPZO_COMPUTES}; the whole run counts start-up, set-up and array I/O, "
          "not compilation")
    for label, _, _, computes in TORCH_PEERS:
        print(f"  {label}: {computes}")
    print("  (the peers compute in float32 with PyTorch on the same threads)")


def traffic_floor(builds: BioopzoBuilds, bandwidth: float) -> list[dict]:
    """The physical floor of bioopzo's event-driven online rule on each workload:
    every active input (x != 0 at a step) reads its row of input weights once for
    the forward input and reads and writes it once in the replayed update (one
    per sample, README Performance), so the weight traffic per sample is

        bytes = (active inputs per sample) x N_hidden x 3 x (8 float64 | 4 float32)

    (the hidden-to-readout matrix, 800 x 10 on nmnist, and the neuron state add
    under 1 %), and ``bandwidth / bytes`` bounds the samples per second."""
    rows = []
    for name, wl in builds.workloads.items():
        active = float(np.count_nonzero(wl.encoded)) / len(wl.labels)
        for precision, itemsize in (("float64", 8), ("float32", 4)):
            traffic = active * wl.sizes[1] * 3 * itemsize
            rows.append({"workload": name, "precision": precision,
                         "active_inputs_per_sample": active, "bytes_per_sample": traffic,
                         "bandwidth_gb_s": bandwidth / 1e9,
                         "floor_samples_per_s": bandwidth / traffic})
    return rows


def print_traffic_floor(rows: list[dict]):
    for r in rows:
        print(f"physical floor on {r['workload']} ({r['precision']}): "
              f"{r['active_inputs_per_sample']:.0f} active inputs per sample move "
              f"{r['bytes_per_sample'] / 1e6:.1f} MB of weights; at {r['bandwidth_gb_s']:.1f} GB/s "
              f"at most {r['floor_samples_per_s']:.0f} samples/s on one memory bus")


def threads_under_load(args, builds: BioopzoBuilds) -> list[dict]:
    """bioopzo's 1- and 2-thread builds timed side by side under ``args.load`` busy
    processes; the ratio of the 2-thread median to the 1-thread median."""
    rows = []
    name = "nmnist" if "nmnist" in builds.workloads else next(iter(builds.workloads))
    for rule in args.load_rules:
        runners = [builds.runner(name, rule, 1), builds.runner(name, rule, 2),
                   builds.runner(name, rule, 2, fixed=True)]
        labels = [f"bioopzo {rule} cpp_standalone", f"bioopzo {rule} cpp_standalone",
                  f"bioopzo {rule} cpp_standalone, threads fixed"]
        contenders = [Contender(label, BIOOPZO_COMPUTES, 1, t, r, r.n)
                      for label, t, r in zip(labels, (1, 2, 2), runners)]
        print(f"[{name} {rule}] {args.load} busy processes; 1 thread, 2 threads and 2 fixed "
              f"threads interleaved, {args.peer_repeats} repeats", flush=True)
        with busy_load(args.load):
            run_interleaved(contenders, args.peer_repeats)
        one, two, fixed = (summary(c.rates()) for c in contenders)
        rows.append({"workload": name, "rule": rule, "busy_processes": args.load,
                     "samples": runners[0].n, "one_thread": one, "two_threads": two,
                     "ratio": two["median"] / one["median"],
                     "two_thread_build_ran_on": [t.run_threads for t in contenders[1].timings],
                     "two_fixed_threads": fixed, "fixed_ratio": fixed["median"] / one["median"]})
    return rows


def print_load(rows: list[dict]):
    for r in rows:
        one, two = r["one_thread"], r["two_threads"]
        verdict = "holds" if r["ratio"] >= 0.9 else "falls more than 10 % below 1 thread"
        print(f"under {r['busy_processes']} busy processes, {r['workload']} {r['rule']} "
              f"({r['samples']} samples per run, whole run): 1 thread {one['median']:.1f} "
              f"({one['low']:.1f}-{one['high']:.1f}), 2 threads {two['median']:.1f} "
              f"({two['low']:.1f}-{two['high']:.1f}) samples/s; 2 / 1 threads = "
              f"{r['ratio']:.2f} ({verdict}); the 2-thread build's runs used "
              f"{', '.join(map(str, r['two_thread_build_ran_on']))} threads (chosen by load); "
              f"with both threads fixed ({RUN_THREADS_VARIABLE}=2): "
              f"{r['two_fixed_threads']['median']:.1f} ({r['two_fixed_threads']['low']:.1f}-"
              f"{r['two_fixed_threads']['high']:.1f}), {r['fixed_ratio']:.2f} of 1 thread")


def print_table(rows):
    print(f"\n{'workload':8s} {'rule':5s} {'contender':26s} {'samples/s':>10s} "
          f"{'best SA is x faster':>20s} {'ns/syn-step':>12s}")
    for r in rows:
        print(f"{r['workload']:8s} {r['rule']:5s} {r['contender']:26s} {r['samples_per_s']:10.1f} "
              f"{r['best_standalone_speedup']:20.2f} {r['ns_per_synapse_step']:12.3f}")


SECTIONS = ("compare", "floor", "scaling", "overhead", "memory", "peers", "load")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples; no scaling sweep")
    parser.add_argument("--digits-samples", type=int, default=1280)
    parser.add_argument("--nmnist-samples", type=int, default=480)
    parser.add_argument("--scaling-samples", type=int, default=16)
    parser.add_argument("--skip", nargs="*", default=[], choices=list(SECTIONS))
    parser.add_argument("--peers-only", action="store_true",
                        help="only bioopzo against the PyTorch peers (and --load when given)")
    parser.add_argument("--peer-workloads", nargs="+", choices=["nmnist", "digits"], default=None,
                        help="workloads of the peers part (default nmnist digits; --quick: nmnist)")
    parser.add_argument("--peer-samples", type=int, default=None,
                        help="samples per bioopzo run, and the samples the peers cycle through "
                             "(default 480; --quick 96)")
    parser.add_argument("--peer-seconds", type=float, default=None,
                        help="a peer trains about this long per timing (default 5; --quick 2)")
    parser.add_argument("--peer-repeats", type=int, default=None,
                        help="interleaved repeats of every contender (default 5; --quick 3)")
    parser.add_argument("--threads", type=int, nargs="+", default=None,
                        help="thread counts of the peers part (default 1 2; --quick 1)")
    parser.add_argument("--load", type=int, default=None,
                        help="busy processes of the threads-under-load part (default 2; 0 skips "
                             "it; with --peers-only it runs only when given)")
    parser.add_argument("--load-rules", nargs="+", choices=["bp", "opzo"], default=None,
                        help="rules of the threads-under-load part (default bp opzo; --quick bp)")
    parser.add_argument("--json", help="also write every number to this JSON file")
    args = parser.parse_args(argv)
    quick = args.quick
    defaults = {"peer_workloads": ["nmnist"] if quick else ["nmnist", "digits"],
                "peer_samples": 96 if quick else 480, "peer_seconds": 2.0 if quick else 5.0,
                "peer_repeats": 3 if quick else 5, "threads": [1] if quick else [1, 2],
                "load_rules": ["bp"] if quick else ["bp", "opzo"]}
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.peers_only:
        args.skip = sorted(set(SECTIONS) - {"peers"} - ({"load"} if args.load else set()))
    if args.load is None:
        args.load = 2
    if args.load == 0:
        args.skip = sorted(set(args.skip) | {"load"})
    if args.load < 0:
        parser.error(f"--load {args.load}: give the number of busy processes, 0 or more")
    if args.peer_samples < 1 or args.peer_repeats < 1 or min(args.threads) < 1:
        parser.error("--peer-samples, --peer-repeats and --threads must be at least 1")
    if args.quick:
        args.digits_samples, args.nmnist_samples = 64, 32
        args.skip = sorted(set(args.skip) | {"scaling"})
    if min(args.digits_samples, args.nmnist_samples) < 32:
        parser.error("the batch-32 reference needs at least 32 samples per workload")
    import brian2

    import bioopzo

    print(f"bioopzo {bioopzo.__version__}, Brian2 {brian2.__version__}, NumPy {np.__version__}, "
          f"{os.cpu_count()} CPUs")
    results: dict = {}
    bandwidth = copy_bandwidth()
    floor = 16 / bandwidth * 1e9
    results["copy_bandwidth_gb_s"] = bandwidth / 1e9
    print(f"memory bandwidth (NumPy copy, read + write): {bandwidth / 1e9:.1f} GB/s -> a dense rule "
          f"that reads and writes every float64 weight each step needs >= {floor:.3f} ns per "
          "synapse-step")
    if "compare" not in args.skip:
        rows = compare(args, bandwidth)
        results["compare"] = rows
        print_table(rows)
    if "floor" not in args.skip:
        floor_row = event_floor(args)
        ours_row = event_floor(args, ours=True)
        results["event_floor"] = floor_row
        results["event_floor_bioopzo"] = ours_row
        print(f"Brian2 event floor (2312 -> 800 pathway adding w, nmnist events): "
              f"{floor_row['ns_per_event']:.2f} ns per synaptic event; an online rule touches "
              f"{2 * floor_row['events_per_sample'] / 1e6:.2f} M synaptic events per nmnist sample "
              f"(forward input and update), so with Brian2's own spike queues on one thread "
              f"it cannot exceed {floor_row['bound_samples_per_s']:.0f} samples/s")
        print(f"the same pathway with bioopzo's templates (bioopzo/devices/cpp_standalone/"
              f"pathways.py; connect()'s "
              f"dense layout, 1 thread): {ours_row['ns_per_event']:.2f} ns per synaptic event, "
              f"{floor_row['ns_per_event'] / ours_row['ns_per_event']:.1f}x less; bound "
              f"{ours_row['bound_samples_per_s']:.0f} samples/s")
    if "scaling" not in args.skip:
        sc = scaling(args)
        results["scaling"] = sc
        for key, v in sc.items():
            print(f"time per sample ~ {key}^{v['exponent']:.2f}  ("
                  + ", ".join(f"{x}: {t:.2f} ms" for x, t in zip(v["values"], v["ms_per_sample"]))
                  + ")")
    if "overhead" not in args.skip:
        rows = epoch_overhead(args)
        results["overhead"] = rows
        for r in rows:
            print(f"digits epoch {r['epoch']} (1000 training samples): {r['epoch_seconds']:.2f} s, "
                  f"outside the compiled simulation {100 * r['outside_fraction']:.1f} % "
                  f"(outside the binary's network run {100 * r['outside_network_run_fraction']:.1f} %)")
    if "memory" not in args.skip:
        rows = [peak_memory(n) for n in (1000, 10000)]
        results["memory"] = rows
        for r in rows:
            print(f"epoch of {r['samples']:>5} generated N-MNIST-like samples ({r['runs']} runs): "
                  f"peak RSS python {r['python_peak_mb']:.0f} MB, simulation binary "
                  f"{r['simulation_peak_mb']:.0f} MB ({r['seconds']:.0f} s)")
    if not {"peers", "load"} <= set(args.skip):
        with tempfile.TemporaryDirectory(prefix="bioopzo-peers-") as tmp:
            builds = BioopzoBuilds(peer_workloads(args), Path(tmp))
            try:
                if "peers" not in args.skip:
                    results["peers"] = peers(args, builds)
                    print_peers(results["peers"])
                    results["traffic_floor"] = traffic_floor(builds, bandwidth)
                    print_traffic_floor(results["traffic_floor"])
                if "load" not in args.skip:
                    results["load"] = threads_under_load(args, builds)
                    print_load(results["load"])
            finally:
                builds.close()
    if args.json:
        write_json_atomic(args.json, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
