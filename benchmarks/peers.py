"""PyTorch peers of bioopzo's online training, timed side by side with it.

Every contender trains the same network (sizes, T, initial weights from
:func:`bioopzo.state.initial_state`) on the same encoded inputs and labels, on
the same number of threads (``torch.set_num_threads`` for the peers, OpenMP
threads for bioopzo's cpp_standalone build). The neuron is bioopzo's
discrete-time LIF with soft reset,

    u[k] = lambda v[k-1] + W_1 x_0[k] + b_1,   s[k] = H(u[k] - theta),   v[k] = u[k] - theta s[k]
    o[k] = W_o s[k] + b_o      (a non-spiking readout, cross-entropy at every step)

with the surrogate derivative psi = kappa sig (1 - sig), sig = sigmoid(kappa (u - theta)).
What each contender computes per sample:

- ``bioopzo``: online BP (rules/bp.py) on the compiled cpp_standalone device,
  batch 1: every step the forward pass, e = softmax(o) - y,
  delta_1 = psi (W_o^T e), the gradient sum_k delta[k] a_0[k]^T with input traces
  a_0[k] = lambda_a a_0[k-1] + x_0[k], applied once per sample (event-driven:
  only active inputs cost). Timed as the whole ``run_epoch`` (start-up, array
  I/O included) and as the binary's network run alone, on the same encoded
  inputs in memory as the peers (generated events are drawn before timing),
  held as :class:`bioopzo.data.sparse_frames.SparseFrames` (their non-zero
  entries, converted before timing as the peers' tensors are built): each run
  gathers its samples' entries instead of scanning their dense frames.
- ``torch online BP``: the same rule, hand-vectorised in PyTorch without
  autograd: the input currents of the T steps in one matrix product (the
  weights are fixed within a sample), the recurrence step by step, and the
  gradient sum over steps as one matrix product per update; batch 1 (one
  update per sample) or batch B (the mean over B samples, bioopzo's ``batch``
  schedule). :func:`check_online_bp` compares it with ``bioopzo.reference``.
- ``snnTorch BPTT``: ``snntorch.Leaky`` neurons (subtractive reset, sigmoid
  surrogate of slope kappa), backpropagation through the T steps of a batch,
  one Adam step per batch: fewer weight updates per sample than the online rules.
- ``SpikingJelly OTTT``: ``OTTTLIFNode`` neurons in an ``OTTTSequential``, the
  loss of each step back-propagated at that step through the presynaptic
  traces (online through time), gradients accumulated over the T steps, one
  SGD step per batch.

The peers compute in float32 (what a PyTorch user runs); bioopzo in its
configured precision. A peer whose package is missing is skipped by name.
"""

from __future__ import annotations

import importlib.util
import multiprocessing
import os
import statistics
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bioopzo.data.epochs import make_epoch_data
from bioopzo.data.sparse_frames import SparseFrames
from bioopzo.devices import make_simulator
from bioopzo.reference import ReferenceModel
from bioopzo.state import initial_state
from workloads import GeneratedEvents

INSTALL_HINT = "pip install -e .[bench]"


def missing_package(name: str) -> str | None:
    """``"skipped ...: <name> not installed"`` text when ``name`` cannot be imported, else None."""
    if importlib.util.find_spec(name) is None:
        return f"{name} not installed ({INSTALL_HINT})"
    return None


@dataclass
class PeerWorkload:
    """One benchmark workload: its config, inputs for bioopzo's simulators (an
    array or a lazy frame source), the encoded inputs (N, T, n0) and labels."""

    name: str
    config: object
    inputs: object
    encoded: np.ndarray
    labels: np.ndarray
    n_classes: int = 10

    @property
    def sizes(self) -> list[int]:
        return [self.encoded.shape[-1], *self.config.network.hidden, self.n_classes]

    @property
    def steps(self) -> int:
        return self.encoded.shape[1]

    def initial(self) -> dict:
        return initial_state(self.config, self.sizes[0], self.n_classes, 1)


@dataclass
class Timing:
    samples: int
    seconds: float
    network_seconds: float = float("nan")
    run_threads: int = 0                   # bioopzo: OpenMP threads its (last) run used


@dataclass
class Contender:
    """A timed contender; ``time(n)`` trains ``n`` samples from the initial weights."""

    label: str
    computes: str
    batch: int
    threads: int
    runner: object = None                  # callable (n_samples) -> Timing
    samples: int = 0                       # samples per timing (a multiple of batch)
    timings: list = field(default_factory=list)
    setup_seconds: float = 0.0             # compile (bioopzo) or first-call warm-up

    def time(self) -> Timing:
        result = self.runner(self.samples)
        self.timings.append(result)
        return result

    def rates(self, network: bool = False) -> list[float]:
        return [t.samples / (t.network_seconds if network else t.seconds) for t in self.timings]


def summary(rates: list[float]) -> dict:
    """Median, minimum and maximum of samples per second."""
    return {"median": statistics.median(rates), "low": min(rates), "high": max(rates)}


# --------------------------------------------------------------------- bioopzo
class BioopzoRunner:
    """A compiled (or runtime) simulator kept open for repeated timings of one epoch
    of ``n`` training samples, each from the initial state."""

    def __init__(self, workload: PeerWorkload, config, n: int, directory):
        self.workload, self.config = workload, config
        x, y = workload.inputs, workload.labels
        if isinstance(x, GeneratedEvents):
            # generated events: drawn once into memory, as the peers' tensors are,
            # so that no timing pays for generating them; bioopzo holds the frames
            # as their non-zero entries (SparseFrames), as a user holding an event
            # data set in memory would (1/10 of the dense float32 at 5 % density)
            x = SparseFrames.from_dense(x[np.arange(len(x))])
        empty = x[:0] if isinstance(x, np.ndarray) else x[np.arange(0)]
        self.n = n
        self.data = make_epoch_data(x, y, empty, y[:0], 1, order=np.arange(n))
        self.sim = make_simulator(config, workload.sizes[0], workload.n_classes, directory)
        self.sim.__enter__()
        self.seed = 0
        t = time.perf_counter()
        self(n)
        self.setup_seconds = time.perf_counter() - t      # compile + first run

    def __call__(self, n: int) -> Timing:
        if n != self.n:
            raise ValueError(f"this bioopzo runner trains {self.n} samples per timing, not {n}")
        self.seed += 1
        state = initial_state(self.config, self.workload.sizes[0], self.workload.n_classes, 1)
        t = time.perf_counter()
        result = self.sim.run_epoch(self.data, state, self.seed)
        return Timing(n, time.perf_counter() - t, result.network_time,
                      getattr(self.sim, "run_threads", 0))

    def close(self):
        self.sim.__exit__(None, None, None)


def serve_bioopzo(conn, name: str, rule: str, n: int, threads: int, directory: str,
                  environment: dict | None = None, precision: str = "float64"):
    """Worker process of :class:`BioopzoProcess`: compile and run once, answer
    ("ready", seconds) or ("error", text), then time one epoch per received
    sample count until it receives None. ``environment``: variables set first."""
    from workloads import workload

    os.environ.update(environment or {})
    runner = None
    try:
        config, x, encoded, y = workload(name, rule, n, threads=threads, precision=precision)
        wl = PeerWorkload(name, config, x, encoded, y)
        runner = BioopzoRunner(wl, config, n, Path(directory))
        conn.send(("ready", runner.setup_seconds))
        while (request := conn.recv()) is not None:
            timing = runner(request)
            conn.send(("timing", (timing.samples, timing.seconds, timing.network_seconds,
                                  timing.run_threads)))
    except (Exception, KeyboardInterrupt):
        conn.send(("error", traceback.format_exc()))
    finally:
        if runner is not None:
            runner.close()
        conn.close()


class BioopzoProcess:
    """A :class:`BioopzoRunner` of workload ``name`` in its own process, so that
    several compiled builds can be timed interleaved (Brian2 keeps one
    standalone project per process). Called like the runner."""

    def __init__(self, name: str, rule: str, n: int, threads: int, directory,
                 environment: dict | None = None, precision: str = "float64"):
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.n = n
        self.process = context.Process(target=serve_bioopzo, daemon=True,
                                       args=(child, name, rule, n, threads, str(directory),
                                             environment, precision))
        self.process.start()
        child.close()
        self.setup_seconds = self.answer("ready")

    def answer(self, kind: str):
        try:
            got, value = self.conn.recv()
        except EOFError:
            raise RuntimeError(f"the bioopzo worker process ended (exit code "
                               f"{self.process.exitcode})") from None
        if got == "error":
            raise RuntimeError(f"the bioopzo worker process failed:\n{value}")
        assert got == kind, (got, kind)
        return value

    def __call__(self, n: int) -> Timing:
        self.conn.send(n)
        return Timing(*self.answer("timing"))

    def close(self):
        if self.process.is_alive():
            try:
                self.conn.send(None)
            except (BrokenPipeError, OSError):
                pass
            self.process.join(timeout=60)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.conn.close()


# ---------------------------------------------------------------- torch peers
def torch_tensors(workload: PeerWorkload, dtype_name: str = "float32"):
    import torch

    dtype = getattr(torch, dtype_name)
    x = torch.from_numpy(np.ascontiguousarray(workload.encoded)).to(dtype)
    y = torch.from_numpy(np.asarray(workload.labels, dtype=np.int64))
    state = {k: torch.from_numpy(np.asarray(v, dtype=float)).to(dtype)
             for k, v in workload.initial().items() if k in ("W1", "b1", "Wout", "bout")}
    return x, y, state


class OnlineBP:
    """bioopzo's online BP rule (one hidden layer, ``sample``/``batch`` schedule,
    no momentum) hand-vectorised in PyTorch; see the module docstring."""

    def __init__(self, config, state: dict):
        nrn, opt = config.neuron, config.optimizer
        self.leak, self.trace_decay = nrn.leak, nrn.trace_decay
        self.theta, self.kappa = nrn.threshold, nrn.surrogate_slope
        self.gamma = config.network.loss_gamma
        self.rate, self.readout_rate = opt.learning_rate, opt.readout_rate
        self.batch_schedule = opt.schedule == "batch"
        self.W1, self.b1 = state["W1"].clone(), state["b1"].clone()
        self.Wo, self.bo = state["Wout"].clone(), state["bout"].clone()

    def train_batch(self, x, y):
        """x: (B, T, n0) inputs, y: (B,) labels; one update from the B samples."""
        import torch

        B, T, n0 = x.shape
        n1, m = self.W1.shape[0], self.Wo.shape[0]
        target = torch.nn.functional.one_hot(y, m).to(x.dtype)
        current = torch.matmul(x, self.W1.T) + self.b1      # (B, T, n1): W fixed within a sample
        v = torch.zeros(B, n1, dtype=x.dtype)
        a0 = torch.zeros(B, n0, dtype=x.dtype)
        a1 = torch.zeros(B, n1, dtype=x.dtype)
        traces0 = torch.empty(T, B, n0, dtype=x.dtype)
        traces1 = torch.empty(T, B, n1, dtype=x.dtype)
        deltas = torch.empty(T, B, n1, dtype=x.dtype)
        errors = torch.empty(T, B, m, dtype=x.dtype)
        for k in range(T):
            u = self.leak * v + current[:, k]
            s = (u >= self.theta).to(x.dtype)
            v = u - self.theta * s
            a0 = self.trace_decay * a0 + x[:, k]
            a1 = self.trace_decay * a1 + s
            o = s @ self.Wo.T + self.bo
            e = (1 - self.gamma) * (torch.softmax(o, dim=1) - target) + self.gamma * (o - target)
            sig = torch.sigmoid(self.kappa * (u - self.theta))
            deltas[k] = self.kappa * sig * (1 - sig) * (e @ self.Wo)
            traces0[k], traces1[k], errors[k] = a0, a1, e
        scale = 1.0 / B if self.batch_schedule else 1.0
        d, e = deltas.reshape(T * B, n1), errors.reshape(T * B, m)
        self.W1 -= self.rate * scale * (d.T @ traces0.reshape(T * B, n0))
        self.b1 -= self.rate * scale * d.sum(0)
        self.Wo -= self.readout_rate * scale * (e.T @ traces1.reshape(T * B, n1))
        self.bo -= self.readout_rate * scale * e.sum(0)

    def state(self) -> dict:
        return {"W1": self.W1.numpy(), "b1": self.b1.numpy(), "Wout": self.Wo.numpy(),
                "bout": self.bo.numpy()}


def check_online_bp(workload: PeerWorkload, samples: int = 4) -> float:
    """Largest difference between the PyTorch online BP's weights (float64) and
    ``bioopzo.reference``'s after ``samples`` samples at batch 1 and, in one
    batch, with the batch schedule; raises when it exceeds 1e-9."""
    import torch

    from bioopzo.config import load_config

    worst = 0.0
    for batch, schedule in ((1, "sample"), (samples, "batch")):
        config = load_config(None, {**_overrides(workload.config),
                                    "optimizer": {"schedule": schedule, "batch_size": batch,
                                                  "lr_schedule": "constant",
                                                  "learning_rate": 0.05}})
        sub = PeerWorkload(workload.name, config, None, workload.encoded[:samples],
                           workload.labels[:samples], workload.n_classes)
        x, y, state = torch_tensors(sub, "float64")
        peer = OnlineBP(config, state)
        with torch.no_grad():
            for start in range(0, samples, batch):
                peer.train_batch(x[start:start + batch], y[start:start + batch])
        ref = ReferenceModel(config, sub.sizes[0], sub.n_classes, sub.initial(), seed=1)
        ref.run(sub.encoded, sub.labels, batch=batch)
        got = peer.state()
        for name, value in got.items():
            worst = max(worst, float(np.max(np.abs(value - ref.state[name]))))
    if worst > 1e-9:
        raise AssertionError(f"the PyTorch online BP differs from bioopzo.reference by {worst:.3g}")
    return worst


def _overrides(config) -> dict:
    """The config sections a peer workload depends on, as load_config overrides."""
    return {"network": {"hidden": list(config.network.hidden)},
            "data": {"steps_per_sample": config.data.steps_per_sample,
                     "encoding": config.data.encoding},
            "rule": {"name": "bp"}}


def online_bp_runner(workload: PeerWorkload, batch: int):
    import torch

    from bioopzo.config import load_config

    config = load_config(None, {**_overrides(workload.config),
                                "optimizer": {"schedule": "sample" if batch == 1 else "batch",
                                              "batch_size": batch, "lr_schedule": "constant"}})
    x, y, state = torch_tensors(workload)

    def run(n: int) -> Timing:
        peer = OnlineBP(config, state)
        t = time.perf_counter()
        with torch.no_grad():
            for i in range(0, n, batch):
                rows = np.arange(i, i + batch) % len(y)
                peer.train_batch(x[rows], y[rows])
        return Timing(n, time.perf_counter() - t)
    return run


def snntorch_runner(workload: PeerWorkload, batch: int):
    import snntorch
    import torch
    from snntorch import surrogate

    nrn = workload.config.neuron
    x, y, state = torch_tensors(workload)
    n0, n1, m = workload.sizes
    T = workload.steps

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = torch.nn.Linear(n0, n1)
            self.lif = snntorch.Leaky(beta=nrn.leak, threshold=nrn.threshold,
                                      spike_grad=surrogate.sigmoid(slope=nrn.surrogate_slope),
                                      reset_mechanism="subtract")
            self.fc2 = torch.nn.Linear(n1, m)

        def forward(self, inputs):
            current = self.fc1(inputs)                  # (B, T, n1)
            mem = self.lif.init_leaky()
            spikes = []
            for k in range(T):
                spk, mem = self.lif(current[:, k], mem)
                spikes.append(spk)
            return self.fc2(torch.stack(spikes, dim=1))    # (B, T, m)

    def run(n: int) -> Timing:
        net = Net()
        with torch.no_grad():
            net.fc1.weight.copy_(state["W1"])
            net.fc1.bias.copy_(state["b1"])
            net.fc2.weight.copy_(state["Wout"])
            net.fc2.bias.copy_(state["bout"])
        optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
        t = time.perf_counter()
        for i in range(0, n, batch):
            rows = torch.from_numpy(np.arange(i, i + batch) % len(y))
            out = net(x[rows])
            target = y[rows].repeat_interleave(T)
            loss = torch.nn.functional.cross_entropy(out.reshape(-1, m), target,
                                                     reduction="sum") / batch
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        return Timing(n, time.perf_counter() - t)
    return run


def ottt_runner(workload: PeerWorkload, batch: int):
    import torch
    from spikingjelly.activation_based import functional, layer, neuron, surrogate

    nrn = workload.config.neuron
    x, y, state = torch_tensors(workload)
    n0, n1, m = workload.sizes
    T = workload.steps

    def make_net():
        lif = neuron.OTTTLIFNode(tau=1.0 / (1.0 - nrn.leak), decay_input=False,
                                 v_threshold=nrn.threshold, v_reset=None,
                                 surrogate_function=surrogate.Sigmoid(alpha=nrn.surrogate_slope),
                                 detach_reset=True, step_mode="s")
        net = layer.OTTTSequential(torch.nn.Linear(n0, n1), lif, torch.nn.Linear(n1, m))
        with torch.no_grad():
            net[0].weight.copy_(state["W1"])
            net[0].bias.copy_(state["b1"])
            net[2].weight.copy_(state["Wout"])
            net[2].bias.copy_(state["bout"])
        return net

    def run(n: int) -> Timing:
        net = make_net()
        net.train()
        optimizer = torch.optim.SGD(net.parameters(), lr=workload.config.optimizer.learning_rate)
        t = time.perf_counter()
        for i in range(0, n, batch):
            rows = torch.from_numpy(np.arange(i, i + batch) % len(y))
            inputs, labels = x[rows], y[rows]
            optimizer.zero_grad()
            for k in range(T):
                out = net(inputs[:, k])
                loss = torch.nn.functional.cross_entropy(out, labels, reduction="sum") / batch
                loss.backward()
            optimizer.step()
            functional.reset_net(net)
        return Timing(n, time.perf_counter() - t)
    return run


#: (label, package, runner factory, what it computes per sample)
TORCH_PEERS = (
    ("torch online BP", "torch", online_bp_runner,
     "bioopzo's online BP rule, dense: traces, spatial BP each step, one update per batch "
     "(batch 1: per sample; batch B: the mean over B samples)"),
    ("snnTorch BPTT", "snntorch", snntorch_runner,
     "forward T steps, backward through time over the batch, one Adam step per batch"),
    ("SpikingJelly OTTT", "spikingjelly", ottt_runner,
     "per step: forward and backward of that step's loss through OTTT traces; one SGD "
     "step per batch"),
)

#: batch sizes of each peer in the benchmark
PEER_BATCHES = {"torch online BP": (1, 32), "snnTorch BPTT": (32, 128),
                "SpikingJelly OTTT": (1, 32)}


def torch_contenders(workload: PeerWorkload, threads: int, target_seconds: float,
                     max_samples: int = 100_000, echo=print) -> list[Contender]:
    """The PyTorch peers that can run here, each warmed up and given a sample
    count that takes about ``target_seconds`` per timing (one batch at least,
    ``max_samples`` at most; the workload's samples repeat in order past its end)."""
    out = []
    for label, package, factory, computes in TORCH_PEERS:
        why = missing_package("torch") or missing_package(package)
        if why:
            echo(f"skipped {label}: {why}")
            continue
        import torch

        for batch in PEER_BATCHES[label]:
            torch.set_num_threads(threads)
            runner = factory(workload, batch)
            t = time.perf_counter()
            runner(batch)                         # first call: thread pool, allocator, kernels
            setup = time.perf_counter() - t
            per_sample = runner(batch).seconds / batch
            n = int(np.ceil(target_seconds / max(per_sample, 1e-6) / batch)) * batch
            n = max(batch, min(n, max_samples))      # the samples cycle when n exceeds them
            out.append(Contender(f"{label} batch {batch}", computes, batch, threads, runner, n,
                                 setup_seconds=setup))
    return out


def run_interleaved(contenders: list[Contender], repeats: int, echo=print):
    """Time the contenders A B C A B C ... ``repeats`` times (peers set their threads)."""
    for r in range(repeats):
        for c in contenders:
            if c.label.split()[0] != "bioopzo" and importlib.util.find_spec("torch"):
                import torch

                torch.set_num_threads(c.threads)
            timing = c.time()
            ran_on = (f", ran on {timing.run_threads}" if timing.run_threads
                      and timing.run_threads != c.threads else "")
            echo(f"  repeat {r + 1}/{repeats} {c.label} x{c.threads}: "
                 f"{timing.samples / timing.seconds:8.1f} samples/s ({timing.samples} samples"
                 f"{ran_on})", flush=True)
