"""Metrics, one class per metric, in the style of NeuroBench (a Definition and Implementation
notes per class; ``docs/metrics/`` holds one page per class, generated from these docstrings
by ``python -m bioopzo.cost.write_docs docs/metrics``).

Each metric is called on an :class:`~bioopzo.cost.counts.EventCounts` and returns per-sample
values. Forward metrics (synaptic operations, activation sparsity, neuron updates,
footprint, connection sparsity) follow NeuroBench's definitions so that they compare with
NeuroBench numbers; the learning metrics are new categories (NeuroBench counts inference
only).
"""

from __future__ import annotations

import inspect
from pathlib import Path

from bioopzo.cost.counts import MODES, SCHEDULES, EventCounts
from bioopzo.cost.model import rule_energy, rule_time
from bioopzo.rules.registry import rule_class

__all__ = ["Metric", "METRICS", "write_docs"]


class Metric:
    """Base class: ``name``, ``kind`` (forward / learning / static / cost) and ``__call__``."""

    name = ""
    kind = ""
    needs_rule = False

    def __call__(self, counts: EventCounts, rule: str | None = None, **kwargs):
        raise NotImplementedError


class SynapticOperations(Metric):
    """Synaptic operations per sample, effective and dense.

    Definition
    ----------
    Effective: the number of (non-zero presynaptic activity, non-zero weight) pairs over all
    forward connections and steps, i.e. sum_t sum_l sum_{i: x_{l-1,i}[t] != 0} nnz_out(i, l).
    Dense: every pair, zeros included: sum_l N_{l-1} N_l per step. Effective operations are
    ACs (accumulates) when every input value of the layer at that step is in {-1, 0, 1}, and
    MACs otherwise.

    Implementation notes
    --------------------
    Counted from the recorded activity x_{l-1}[t] of every step (inputs, hidden layers) and
    the non-zero pattern of the weights, so it is exact, not inferred from rates. The AC/MAC
    decision is per layer and step, as NeuroBench decides per layer call. Biases are not
    counted. Same definitions as NeuroBench's ``synaptic_operations`` (Effective_ACs,
    Effective_MACs, Dense), divided by the number of samples.
    """

    name, kind = "synaptic_operations", "forward"

    def __call__(self, counts, rule=None, **kw):
        return {"effective": counts.per_sample("sop_effective"),
                "effective_acs": counts.per_sample("sop_effective_ac"),
                "effective_macs": counts.per_sample("sop_effective_mac"),
                "dense": counts.per_sample("sop_dense")}


class ActivationSparsity(Metric):
    """Fraction of zero activations, per layer and pooled.

    Definition
    ----------
    (number of zero outputs) / (number of outputs), pooled over the input and hidden layers,
    steps and samples: 0 = always active, 1 = silent.

    Implementation notes
    --------------------
    The outputs are the activities x_l[t] the layers send on (the input encoding's x_0 and
    the hidden layers' x_l). NeuroBench counts only activation modules (spiking neurons);
    ``per_layer`` gives the hidden layers alone for that comparison. The linear readout has
    no spiking output and is left out.
    """

    name, kind = "activation_sparsity", "forward"

    def __call__(self, counts, rule=None, **kw):
        T, n = counts.steps_per_sample, counts.n_samples
        per_layer = {}
        active = total = 0.0
        for l, layer in enumerate(["input", *[f"hidden{k}" for k in range(1, counts.n_hidden + 1)]]):
            a = counts.total("activations", None, layer)
            outputs = counts.sizes[l] * T * n
            per_layer[layer] = 1.0 - a / outputs
            active += a
            total += outputs
        return {"pooled": 1.0 - active / total, "per_layer": per_layer}


class NeuronUpdates(Metric):
    """Neuron updates per sample, active and inactive.

    Definition
    ----------
    One neuron update per compartment per step for every hidden and readout neuron
    (sum_l N_l T per sample). Active: the neuron received at least one synaptic event at
    that step (some presynaptic x_i[t] != 0 with W[j, i] != 0); inactive: the rest.

    Implementation notes
    --------------------
    Loihi charges active and inactive updates differently (81 / 52 pJ in Davies 2018), so
    both are counted exactly from the recorded activity. Input neurons are spike sources,
    not updated compartments, and are not counted (as in cost-model.md e.5). NeuroBench's
    "membrane updates" instead count neuron-steps whose membrane changed; with a leak every
    membrane that is non-zero changes, so the active count is the closer analogue.
    """

    name, kind = "neuron_updates", "forward"

    def __call__(self, counts, rule=None, **kw):
        return {"active": counts.per_sample("nu_active"),
                "inactive": counts.per_sample("nu_inactive")}


class Messages(Metric):
    """Spike messages between cores, and the hops they travel.

    Definition
    ----------
    A neuron that is active at a step sends one message to every core that holds one of its
    non-zero targets (Loihi multicasts once per destination core). A message between cores
    of one tile is an in-tile message; otherwise it travels the Manhattan distance between
    the tiles, counted separately as east-west and north-south hops. Learning rules add
    feedback messages: the error vector to every hidden core (opzo, dfa), each layer's delta
    to the cores of the layer below (bp), one scalar broadcast per hidden core (zo).

    Implementation notes
    --------------------
    Counts follow the documented neuron-to-core mapping (greedy layer-wise packing,
    row-major placement on the tile mesh; ``bioopzo.cost.mapping``), which approximates
    Loihi's compiler, so message and hop counts depend on it (caveat 6). Feedback messages
    carry graded payloads; their cost is that of binary spikes (caveat 3).
    """

    name, kind = "messages", "forward"

    def __call__(self, counts, rule=None, **kw):
        out = {"forward": counts.per_sample("msg"), "forward_in_tile": counts.per_sample("msg_in_tile"),
               "forward_hops_east_west": counts.per_sample("hops_ew"),
               "forward_hops_north_south": counts.per_sample("hops_ns")}
        if rule is not None:
            out.update(feedback=counts.per_sample("fb_msg", rule),
                       feedback_hops_east_west=counts.per_sample("fb_hops_ew", rule),
                       feedback_hops_north_south=counts.per_sample("fb_hops_ns", rule))
        return out


class TraceUpdates(Metric):
    """Trace updates per sample (presynaptic and postsynaptic).

    Definition
    ----------
    One update (decay plus impulse) per presynaptic trace per step, for every neuron of the
    input and hidden layers (x1 = a_i); and one per postsynaptic trace per step, for every
    trace the rule's learning-engine form uses on hidden neurons (y1, y2, y3) and one (the
    error) per readout unit.

    Implementation notes
    --------------------
    Traces live per axon and per neuron, not per synapse (Loihi), so the count scales with
    neurons. Counted every step whatever the weight schedule, because the traces must follow
    the activity at every step. On Loihi their cost is folded into the neuron pipeline
    (energy 0 in the Loihi profiles); the abstract profile charges one AC each.
    """

    name, kind, needs_rule = "trace_updates", "learning", True

    def __call__(self, counts, rule=None, **kw):
        return {"pre": counts.per_sample("tr_pre", rule), "post": counts.per_sample("tr_post", rule)}


class SurrogateEvaluations(Metric):
    """Surrogate-derivative evaluations psi(u_j) per sample.

    Definition
    ----------
    One evaluation per hidden neuron per step: sum_{l in H} N_l T.

    Implementation notes
    --------------------
    Every rule here multiplies its top-down signal by psi (delta = psi g). Counted per
    step, also with the once-per-sample schedule, because the accumulated update needs psi
    at each step. Loihi 2 microcode would compute it into y3; the abstract profile charges
    one MAC each.
    """

    name, kind, needs_rule = "surrogate_evaluations", "learning", True

    def __call__(self, counts, rule=None, **kw):
        return counts.per_sample("sg", rule)


class NoiseDraws(Metric):
    """Noise samples drawn per sample.

    Definition
    ----------
    OPZO and ZO perturb every hidden neuron at every training step: sum_{l in H} N_l T.
    BP and DFA draw none.

    Implementation notes
    --------------------
    Counted from the rule, for every recorded step taken as a training step. Loihi
    compartments have hardware noise generators, so the Loihi profiles fold the draw into the
    neuron update; the abstract profile charges one op per draw.
    """

    name, kind, needs_rule = "noise_draws", "learning", True

    def __call__(self, counts, rule=None, **kw):
        return counts.per_sample("rng", rule)


class ErrorOperations(Metric):
    """Output-error operations per sample.

    Definition
    ----------
    m per step: one error component e_j = dl/do_j per readout unit.

    Implementation notes
    --------------------
    Every rule trains the readout from e, and opzo, dfa and bp send it down; zo needs the
    loss, which costs the same m operations. Folded into the readout's neuron update on Loihi.
    """

    name, kind, needs_rule = "error_operations", "learning", True

    def __call__(self, counts, rule=None, **kw):
        return counts.per_sample("err", rule)


class FeedbackOperations(Metric):
    """Feedback multiply-accumulates per sample: the cost of getting g_l to the hidden layers.

    Definition
    ----------
    opzo, dfa: sum_t sum_{l in H} N_l nz(e[t]) (direct feedback from the output; dense
    N_l m). bp: sum_t sum_{l=2..L+1} N_l N_{l-1} through the transposed weights (dense;
    effective: nz(delta_l[t]) N_{l-1}). zo: sum_t sum_{l in H} N_l (g_j = (l - b) z_j / alpha).

    Implementation notes
    --------------------
    nz(e[t]) and nz(delta_l[t]) are counted from the recorded error and modulators. For N
    hidden layers of width n and m outputs the dense bp / opzo ratio is
    ((N - 1) n^2 + m n) / (N m n), the paper's O((N-1) n^2 + mn) vs O(N m n) argument.
    The energy uses ``fb_ops`` (effective for opzo/dfa, dense for bp), as cost-model.md e.4.
    """

    name, kind, needs_rule = "feedback_operations", "learning", True

    def __call__(self, counts, rule=None, **kw):
        return {"counted": counts.per_sample("fb_ops", rule),
                "dense": counts.per_sample("fb_ops_dense", rule),
                "effective": counts.per_sample("fb_ops_effective", rule)}


class WeightUpdates(Metric):
    """Forward-weight synapse updates per sample, in three counting modes and two schedules.

    Definition
    ----------
    dense: every plastic synapse at every update event. pre_gated (Loihi's x0 dependency):
    synapses whose presynaptic neuron was active in the epoch (the step, or the sample).
    factor_gated: synapses whose presynaptic trace a_i and modulator delta_j = psi_j g_j are
    both non-zero after quantisation at the step (once per sample: at some step of the
    sample). Schedules: ``step`` (an update event every step, OTTT_O-like) and ``sample``
    (one event at the end of each sample, OTTT_A-like).

    Implementation notes
    --------------------
    Quantisation: a trace is zero below trace_max / 2^bits, a modulator below
    max|delta_l| / 2^bits, bits = the profile's trace bits (7 on Loihi); see caveat 7.
    Hidden modulators of rules other than the simulated one are recomputed from the recorded
    psi and e (exact for bp; saved M / B, or a labelled stand-in, for opzo / dfa). "Once per
    sample" equals OTTT_A accumulation only if the rule can use end-of-epoch trace values.
    """

    name, kind, needs_rule = "weight_updates", "learning", True

    def __call__(self, counts, rule=None, **kw):
        return {f"{mode}.{sched}": counts.per_sample(f"upd_w.{mode}.{sched}", rule)
                if counts.has(f"upd_w.{mode}.{sched}", rule) else None
                for mode in MODES for sched in SCHEDULES}


class FeedbackMatrixUpdates(Metric):
    """OPZO feedback-matrix (M_l) updates per sample.

    Definition
    ----------
    sum_{l in H} N_l m per M-update event; OPZO updates M every training step
    (M_l <- rho M_l + (1 - rho) z_l o~^T), whatever the weight schedule.

    Implementation notes
    --------------------
    A two-term learning-engine rule on the readout-to-hidden feedback synapses, costed at the
    published synaptic-update figure (an analogy, caveat 2). Zero for the other rules.
    """

    name, kind, needs_rule = "feedback_matrix_updates", "learning", True

    def __call__(self, counts, rule=None, **kw):
        return counts.per_sample("upd_m", rule) if counts.has("upd_m", rule) else 0.0


class WeightTransport(Metric):
    """BP weight-transport writes per sample.

    Definition
    ----------
    One write to the mirrored backward weight per update of W_l, l >= 2 (W_2..W_L and the
    readout), in the same counting mode and schedule as the forward updates.

    Implementation notes
    --------------------
    Loihi has no separate figure; each write is costed as one synaptic update. Zero for the
    rules without weight transport.
    """

    name, kind, needs_rule = "weight_transport", "learning", True

    def __call__(self, counts, rule=None, **kw):
        return {f"{mode}.{sched}": counts.per_sample(f"wt.{mode}.{sched}", rule)
                if counts.has(f"wt.{mode}.{sched}", rule) else 0.0
                for mode in MODES for sched in SCHEDULES}


class Footprint(Metric):
    """Memory footprint in bytes.

    Definition
    ----------
    NeuroBench: bytes of all parameters (weights and biases) at 4 bytes each (float32).
    Hardware: synapses at the profile's weight bits, plus the rule's feedback synapses (M_l
    or B_l: N_l m each; bp's mirrors: the size of W_2..W_{L+1}) at the same width, plus one
    trace per neuron at the trace bits and two 24-bit state words (current, voltage) per
    hidden and readout neuron.

    Implementation notes
    --------------------
    Zero weights are included (as in NeuroBench). The 24-bit compartment state is an
    assumption of this analyzer (unverified); Loihi packs synapses with compression that has
    no published formula.
    """

    name, kind = "footprint", "static"

    def __call__(self, counts, rule=None, profile=None, **kw):
        sizes = counts.sizes
        L = counts.n_hidden
        weights = sum(sizes[l] * sizes[l - 1] for l in range(1, L + 2))
        biases = sum(sizes[1:])
        out = {"neurobench_bytes": 4 * (weights + biases)}
        if profile is not None:
            wbits, tbits = int(profile.arch("weight_bits")), int(profile.arch("trace_bits"))
            extra = rule_class(rule).feedback_storage(sizes) if rule is not None else 0
            bits = (weights + extra) * wbits + sum(sizes[:L + 1]) * tbits + 2 * 24 * sum(sizes[1:])
            out["hardware_bytes"] = bits / 8
        return out


class ConnectionSparsity(Metric):
    """Fraction of forward weights that are exactly zero.

    Definition
    ----------
    (number of zero weights) / (number of weights) over all forward connections.

    Implementation notes
    --------------------
    As NeuroBench's ``connection_sparsity`` (which rounds to 4 decimals; this does not).
    Biases are excluded. Zero for the dense networks bioopzo trains.
    """

    name, kind = "connection_sparsity", "static"

    def __call__(self, counts, rule=None, **kw):
        sizes = counts.sizes
        n = sum(sizes[l] * sizes[l - 1] for l in range(1, len(sizes)))
        return counts.zero_weights / n


class TrainingEnergy(Metric):
    """Energy per training sample, by phase, for one rule, counting mode and schedule.

    Definition
    ----------
    forward + messages + feedback + weight_updates + feedback_matrix_updates (+ memory) with
    the formulas of ``bioopzo.cost.model`` and the profile's per-event figures.

    Implementation notes
    --------------------
    Learning-engine costs are modelled by analogy with the single published pairwise-STDP
    figure (caveat 2), times ``rule_complexity`` (default 1). Static power is excluded.
    """

    name, kind, needs_rule = "training_energy", "cost", True

    def __call__(self, counts, rule=None, profile=None, mode="dense", schedule="step", **kw):
        return rule_energy(counts, rule, profile, mode, schedule, kw.get("rule_complexity", 1.0))


class TrainingTime(Metric):
    """Time per training sample on the target: busiest core, barrier sync, routing, bp phases.

    Definition
    ----------
    sum over steps of (max over layers of the per-core load + barrier + longest route), plus
    bp's (L - 1) barrier-separated backward sub-phases, divided by the number of samples.

    Implementation notes
    --------------------
    A layer's load is split evenly over its cores. Barrier time is interpolated linearly in
    the number of tiles between the two published points. Loihi is often throttled to 1 ms
    per step in real-time mode, which the report states beside this figure.
    """

    name, kind, needs_rule = "training_time", "cost", True

    def __call__(self, counts, rule=None, profile=None, mode="dense", schedule="step", **kw):
        return rule_time(counts, rule, profile, mode, schedule)


METRICS: tuple[type[Metric], ...] = (
    SynapticOperations, ActivationSparsity, NeuronUpdates, Messages, TraceUpdates,
    SurrogateEvaluations, NoiseDraws, ErrorOperations, FeedbackOperations, WeightUpdates,
    FeedbackMatrixUpdates, WeightTransport, Footprint, ConnectionSparsity, TrainingEnergy,
    TrainingTime,
)


def metric_page(cls: type[Metric]) -> str:
    """The documentation page of one metric, from its docstring."""
    doc = inspect.cleandoc(cls.__doc__)
    summary, _, body = doc.partition("\n")
    out = [f"# {cls.name}", "", summary.strip(), "",
           f"Kind: {cls.kind}. Class: `bioopzo.cost.metrics.{cls.__name__}`.", ""]
    lines = body.strip("\n").splitlines()
    k = 0
    while k < len(lines):
        line = lines[k]
        if k + 1 < len(lines) and set(lines[k + 1].strip()) == {"-"} and line.strip():
            out += [f"## {line.strip()}", ""]
            k += 2
            continue
        out.append(line)
        k += 1
    return "\n".join(out).rstrip() + "\n"


def docs_index() -> str:
    rows = ["# Metrics of the op-cost analyzer", "",
            "One page per metric (Definition, Implementation notes), generated from the docstrings",
            "of `bioopzo/cost/metrics.py` by `python -m bioopzo.cost.write_docs docs/metrics`.", "",
            "| metric | kind | summary |", "|---|---|---|"]
    for cls in METRICS:
        summary = inspect.cleandoc(cls.__doc__).splitlines()[0]
        rows.append(f"| [{cls.name}]({cls.name}.md) | {cls.kind} | {summary} |")
    return "\n".join(rows) + "\n"


def write_docs(folder: str | Path) -> list[Path]:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in [("README", docs_index()), *[(c.name, metric_page(c)) for c in METRICS]]:
        path = folder / f"{name}.md"
        tmp = path.with_suffix(".md.tmp")
        tmp.write_text(text)
        tmp.replace(path)
        written.append(path)
    return written

