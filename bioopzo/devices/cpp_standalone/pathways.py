"""The event code of synaptic pathways on cpp_standalone: no spike queue, and
every OpenMP thread at work where that is safe.

A Brian2 pathway fires, at each step, the synapses of the source neurons that
had its event. With a scalar delay, Brian2's cpp_standalone device copies those
synapses' indices into a spike queue (one per OpenMP thread, each holding a
contiguous part of the synapses), merges the threads' queues, and runs the
event code on OpenMP's master thread alone as soon as it touches a pre- or
postsynaptic variable, as the forward input ``I_syn_post += w x_pre`` and the
replayed update ``w -= p_pre E_post`` (updates.py) do. Every bioopzo pathway has
a scalar delay of zero (``schedule.no_delays``), so the queue holds exactly the
synapses of the source's current events: this module gives each such pathway a
code object whose templates (``templates/`` next to this module, variants of
Brian2's) push
nothing and walk the source's event space through the per-source synapse lists
Brian2 prepared (once per Synapses and direction: the replayed updates' T
pathways share the lists of the first). Each pathway gets one schedule:

- ``"serial"``: one thread walks every thread's lists in thread order, which is
  the merged queue's order: bitwise Brian2's result, for any event code.
- ``"synaptic"`` (OpenMP, large matrices): every written variable is synaptic.
  A synapse lies in exactly one thread's lists, and its source fires at most
  once per step, so each thread walks its own lists: no two threads write the
  same element, reads of pre- and postsynaptic variables see values no thread
  writes, and every synapse sees the same operations as on one thread (bitwise
  the same result).
- ``"accumulate"`` (OpenMP, large matrices): besides synaptic variables, the
  code writes one postsynaptic variable ``X`` only as ``X_post += e`` (or
  ``-=``) and reads it nowhere else. Thread 0 adds into ``X``; thread t > 0 into
  a zeroed buffer of ``X``'s size; after a barrier, ``X[j] += buffer_t[j]`` for
  t = 1, 2, ... in order. For a fixed thread count the result is deterministic;
  only the order of the additions into ``X`` (hence rounding in the last bits)
  differs from one thread's.

Code that calls ``rand()``, ``randn()``, ``poisson()`` or a user function runs
``"serial"``: on several threads its draws would come in another order.

Dense layout. A presynaptic pathway between whole groups also gets a
``dense_schedule``: before each run, the pathway whose lists its Synapses share
checks whether synapse ``s`` connects ``s / N_post`` to ``s % N_post`` for every
``s < N_pre N_post`` (the layout ``connect()`` creates for all pairs). If so,
every pathway of that Synapses walks ``idx = i N_post + j`` over the targets
``j`` of each source event ``i`` and reads no synapse list and no index array:
for ``I_syn_post += w x_pre`` that leaves 8 bytes per event (the weight) of the
20 that the list walk reads, in a loop the compiler vectorises. Any other
layout walks the lists as above.

- ``"serial"``: one thread walks every target.
- ``"events"`` (OpenMP, large matrices): the code writes only synaptic
  variables (the replayed updates ``w -= p_pre E_post``). Thread t walks a
  contiguous block of the step's events, each over its whole row of targets: a
  source fires at most once per step, so no two threads touch the same synapse,
  and each synapse sees the same arithmetic as on one thread.
- ``"targets"`` (OpenMP, large matrices): the code also writes postsynaptic
  variables (the forward input ``I_syn_post += w x_pre``), and reads no
  written postsynaptic variable through another index. Thread t walks one
  contiguous block of targets for every event: no two threads touch the same
  synapse or target. The blocks begin on cache lines (64 bytes) of the first
  written postsynaptic array: two threads that wrote the two ends of one line
  at every event would pass that line between their cores at every event
  (false sharing, which with the half-row walks made the 2-thread nmnist
  build 0.73x the 1-thread one on this project's 2-core machine).
- ``"accumulate"`` (OpenMP, large matrices): the code adds to one postsynaptic
  variable ``X`` only as ``X_post += e`` (the forward input), as in the list
  walk's schedule of that name: the step's events are cut into K contiguous
  blocks (K build threads), block 0 adds into ``X``, block t > 0 into a zeroed
  buffer, each over whole rows; after a barrier ``X[j] += buffer_t[j]`` in
  block order. Deterministic for a given build on any number of running
  threads; the order of the additions into ``X`` differs from one thread's.
In the first three, each target receives its additions in the order of the
events, which is the order of Brian2's queue: bitwise Brian2's result.

Why whole rows: a thread that walks whole rows reads long runs of memory the
hardware prefetches well, and writes no cache line another thread writes. On
this project's 2-core machine (nmnist, 2312 x 800 float32 weights, about 116
events per step) the 2-thread forward input walking half-rows ran no faster
than one thread walking whole rows, and before the targets' blocks were
aligned, slower; whole-row blocks of events with a buffer are what made the
second thread pay (benchmarks/throughput.py, README Performance).

Summed variables. Brian2 sums ``x_post = f(...) (summed)`` by walking every
synapse through the pre- and postsynaptic index arrays, a scatter-add the
compiler cannot vectorise (on nmnist's 10 x 800 feedback, 8 % of a 1-thread
run; under 1 % after). :func:`dense_summed_variables` gives the summed variables of Synapses
between whole groups a template that checks connect()'s layout once per run and
then walks every target of every source directly, in synapse order: the same
additions in the same order. The inner loop is vectorised, and under Brian2's
``-ffast-math`` the compiler may evaluate the summed expression differently in
vector code than in Brian2's scalar loop: bitwise Brian2's sum for a product
such as BP's ``w_T delta_pre`` (tests/devices/test_pathways.py), equal to
rounding for OPZO's feedback expression (a division and the running averages),
which moved the quickstart's digits run (OPZO, seed 1, float64) from 97.2 to
96.9 % test accuracy when this template came in.

Event code of neuron groups. The in-place sample histories (neurons.py) run
one custom event's code per step of the sample, in every step, and all but one
of them find their event empty. :func:`serial_event_code` gives such code a
variant of Brian2's ``reset`` template that walks the event's neurons on one
thread: Brian2's opens an OpenMP parallel region on every call, which on two
threads costs more than the few hundred copies it runs.

Small groups. Brian2 opens an OpenMP parallel region for the loop of every
NeuronGroup code object and for the zeroing of every summed variable, several
per group and step. For a readout of ten neurons, or a hidden layer of a few
hundred, waking the second thread costs more than the loop: :func:`serial_small_groups`
gives the code of groups of fewer than :data:`MIN_PARALLEL_NEURONS` neurons that
draws no random numbers, and the summed variables onto them, code objects
rendered as without OpenMP (one thread, no region). The big loops (the inputs'
step, the pathways) keep their threads. Their neuron loops are marked
independent (``#pragma GCC ivdep``, templates/stateupdate.cpp) so that the
compiler vectorises them: in float32, with ``expf`` vectorised (vector_math.py),
nmnist's 800 hidden neurons' step took 4,000 instead of 15,000 cycles and the
update of their sample histories 44,000 instead of 158,000 cycles per sample.

The equations are Brian2's; only the loop that runs them changes. The code is
read with Brian2's own parser (``parse_statement``, ``get_identifiers``). The
runtime device and the GPU lanes never see these code objects (their
``DeviceCapabilities`` have no pathway templates, and :func:`assign_schedules`
does nothing unless the active device is Brian2's own cpp_standalone).
"""

from __future__ import annotations

import ast
import logging

import brian2
from brian2 import get_device, prefs
from brian2.core.functions import DEFAULT_FUNCTIONS
from brian2.core.variables import Subexpression
from brian2.devices.cpp_standalone.device import CPPStandaloneDevice
from brian2.groups.neurongroup import NeuronGroup
from brian2.groups.subgroup import Subgroup
from brian2.parsing.statements import parse_statement
from brian2.utils.stringtools import get_identifiers

from bioopzo.devices.brian2_compat import (brian2_source_text, derived_code_object_class,
                                           synaptic_pathways)

__all__ = ["pathway_schedule", "dense_schedule", "dense_aligned_variable", "assign_schedules",
           "dense_summed_variables", "serial_event_code",
           "serial_small_groups", "MIN_PARALLEL_NEURONS", "brian2_is_compatible",
           "MIN_PARALLEL_SYNAPSES"]

log = logging.getLogger("bioopzo.devices.cpp_standalone.pathways")

#: Pathways of smaller Synapses run ``"serial"``: their few events per step
#: cost less than waking a second thread.
MIN_PARALLEL_SYNAPSES = 65_536

#: the assignment operators whose target this module can reason about
_OPERATORS = ("=", "+=", "-=", "*=", "/=")


def _statements(code: str) -> list[tuple[str, str, str]] | None:
    """(target, operator, expression) per line of abstract code, read with
    Brian2's ``parse_statement``, or None for code this module does not follow
    (then the pathway runs on one thread)."""
    out = []
    for line in code.splitlines():
        if not line.split("#", 1)[0].strip():
            continue
        try:
            target, operator, expression, _ = parse_statement(line)
        except ValueError:
            return None
        if operator not in _OPERATORS:
            return None
        out.append((target, operator, expression))
    return out


def _called(expression: str) -> set[str]:
    """Names of the functions an expression calls."""
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError:
        return {"<unparsed>"}
    return {node.func.id if isinstance(node.func, ast.Name) else "<unnamed>"
            for node in ast.walk(tree) if isinstance(node, ast.Call)}


def _deterministic(statements) -> bool:
    """Whether the code calls only Brian2's stateless functions (exp, clip, ...):
    ``rand()``, ``randn()``, ``poisson()`` or a user function (whose state this
    module cannot see) would draw in another order on several threads."""
    for _, _, expression in statements:
        for name in _called(expression):
            function = DEFAULT_FUNCTIONS.get(name)
            if function is None or not function.stateless:
                return False
    return True


def _referenced(expression: str, variables, seen=None) -> list:
    """The Brian2 variables an expression reads, subexpressions expanded
    (Brian2 rewrites a pre- or postsynaptic subexpression into names of its own
    that it also adds to the Synapses' variables)."""
    seen = set() if seen is None else seen
    found = []
    for name in get_identifiers(expression):
        var = variables.get(name)
        if var is None:
            continue
        found.append(var)
        if isinstance(var, Subexpression) and name not in seen:
            seen.add(name)
            found += _referenced(var.expr, variables, seen)
    return found


def _writes(pathway):
    """``(statements, writes)`` of a pathway's code, ``writes`` holding
    ``(target, operator, index)`` for every variable it writes (its local
    helpers left out); None for code that must stay on one thread whatever it
    writes: code this module does not parse, or that is not deterministic."""
    variables, indices = pathway.synapses.variables, pathway.synapses.variables.indices
    statements = _statements(pathway.code)
    if not statements or not _deterministic(statements):
        return None
    local = {t for t, op, _ in statements if op == "=" and t not in variables}
    writes = [(target, op, indices[target] if target in variables else None)
              for target, op, _ in statements if target not in local]
    return statements, writes


def pathway_schedule(pathway) -> tuple[str | None, str | None]:
    """The threaded schedule a Brian2 ``SynapticPathway``'s code allows, with the
    accumulated variable: ``("synaptic", None)``, ``("accumulate", "X_post")``
    or ``(None, None)`` (one thread only); see the module docstring."""
    parsed = _writes(pathway)
    if parsed is None:
        return None, None
    statements, writes = parsed
    accumulated = set()
    for target, op, index in writes:
        if index == "_idx":
            continue
        if index == "_postsynaptic_idx" and op in ("+=", "-="):
            accumulated.add(target)
            continue
        return None, None
    if not accumulated:
        return "synaptic", None
    if len(accumulated) > 1:
        return None, None
    (name,) = accumulated
    if sum(target == name for target, _, _ in statements) != 1:
        return None, None
    variables = pathway.synapses.variables
    target = variables[name]
    if any(var is target for _, _, expression in statements
           for var in _referenced(expression, variables)):
        return None, None
    return "accumulate", name


def dense_schedule(pathway) -> str:
    """The schedule of ``pathway``'s walk of a dense layout (module docstring):
    ``"events"`` where the code writes synaptic variables only, ``"targets"``
    where it also writes postsynaptic variables and reads no written
    postsynaptic variable through another index (as ``v_pre`` in a recurrent
    Synapses would), and calls only stateless functions (both); ``"serial"``
    otherwise."""
    parsed = _writes(pathway)
    if parsed is None:
        return "serial"
    statements, writes = parsed
    if any(index not in ("_idx", "_postsynaptic_idx") for _, _, index in writes):
        return "serial"
    if all(index == "_idx" for _, _, index in writes):
        return "events"
    variables, indices = pathway.synapses.variables, pathway.synapses.variables.indices
    written = [variables[target] for target, _, index in writes if index == "_postsynaptic_idx"]
    for _, _, expression in statements:
        for name in get_identifiers(expression):
            var = variables.get(name)
            if (var is not None and indices[name] != "_postsynaptic_idx"
                    and any(var is w for w in written)):
                return "serial"
    return "targets"


def dense_aligned_variable(pathway) -> str | None:
    """The first postsynaptic variable ``pathway``'s code writes (the
    ``"targets"`` walk splits the targets on its cache lines), or None."""
    parsed = _writes(pathway)
    if parsed is None:
        return None
    return next((target for target, _, index in parsed[1] if index == "_postsynaptic_idx"), None)


def _dense_layout_possible(pathway) -> bool:
    """A presynaptic pathway between whole groups: its Synapses may have
    ``connect()``'s layout (the compiled code checks it before each run)."""
    synapses = pathway.synapses
    return (pathway.prepost == "pre"
            and not isinstance(synapses.source, Subgroup)
            and not isinstance(synapses.target, Subgroup))


def _code_object_class():
    """A cpp_standalone code object class whose ``synapses``,
    ``synapses_push_spikes`` and ``reset`` templates are bioopzo's (every other
    is Brian2's)."""
    global _CODE_OBJECT
    if _CODE_OBJECT is None:
        _CODE_OBJECT = derived_code_object_class("bioopzo.devices.cpp_standalone",
                                                 "PathwayCodeObject")
    return _CODE_OBJECT


_CODE_OBJECT = None


#: Code of smaller NeuronGroups (and summed variables onto them) runs on one
#: thread, without an OpenMP region (:func:`serial_small_groups`).
MIN_PARALLEL_NEURONS = 1024

#: names whose use marks code as drawing random numbers (stochastic equations: xi)
_RANDOM_NAMES = {"rand", "randn", "poisson", "gaussian", "uniform", "xi"}


def _serial_pragma(kind: str):
    """``openmp_pragma`` of code rendered as without OpenMP."""
    return {"with_openmp": False, "get_thread_num": "0", "get_num_threads": "1"}.get(kind, "")


def _serial_code_object_class():
    global _SERIAL_CODE_OBJECT
    if _SERIAL_CODE_OBJECT is None:
        _SERIAL_CODE_OBJECT = derived_code_object_class(
            "bioopzo.devices.cpp_standalone", "SerialCodeObject",
            env_globals={"openmp_pragma": _serial_pragma, "independent_neuron_loops": True})
    return _SERIAL_CODE_OBJECT


_SERIAL_CODE_OBJECT = None


def _draws_random_numbers(group) -> bool:
    """Whether any code of ``group`` (equations, run_regularly code, event
    conditions and code) draws random numbers."""
    texts = [str(group.equations), *group.events.values(), *group.event_codes.values()]
    texts += [getattr(obj, "abstract_code", "") or "" for obj in group.contained_objects]
    names = set().union(*(get_identifiers(text) for text in texts))
    return bool(names & _RANDOM_NAMES) or any(n.startswith("xi_") for n in names)


def serial_small_groups(objects, min_neurons: int | None = None) -> list[str]:
    """Run on one thread, without OpenMP regions and with vectorisable neuron
    loops, the code of every NeuronGroup of ``objects`` with fewer than
    ``min_neurons`` (default :data:`MIN_PARALLEL_NEURONS`) neurons that draws no
    random numbers, and the summed variables of ``objects``' Synapses onto such
    groups. Only on Brian2's own cpp_standalone device with OpenMP threads (a
    build without keeps Brian2's loops, bitwise Brian2's results). Returns the
    groups' names."""
    threads = _threads()
    if not threads or threads < 2:
        return []
    limit = MIN_PARALLEL_NEURONS if min_neurons is None else min_neurons
    serial = [obj for obj in objects if isinstance(obj, NeuronGroup)
              and len(obj) < limit and not _draws_random_numbers(obj)]
    names = {group.name for group in serial}
    for group in serial:
        for obj in group.contained_objects:
            obj.codeobj_class = _serial_code_object_class()
    for synapses in objects:
        for updater in getattr(synapses, "summed_updaters", {}).values():
            if updater.target.name in names:
                updater.codeobj_class = _serial_code_object_class()
    return sorted(names)


def dense_summed_variables(synapses_groups) -> list[str]:
    """Give every summed variable of ``synapses_groups``' Synapses between whole
    groups bioopzo's ``summed_variable`` template (templates/), which walks
    connect()'s layout directly when the run finds it (module docstring). Only on
    Brian2's own cpp_standalone device whose templates bioopzo's fit; returns the
    summed variables' names."""
    if _threads() is None or not brian2_is_compatible():
        return []
    names = []
    for synapses in synapses_groups:
        if isinstance(synapses.source, Subgroup) or isinstance(synapses.target, Subgroup):
            continue
        for updater in getattr(synapses, "summed_updaters", {}).values():
            if updater.codeobj_class is None:        # serial ones keep their class
                updater.codeobj_class = _code_object_class()
            updater.template_kwds = dict(updater.template_kwds or {},
                                         dense_sources=len(synapses.source),
                                         dense_targets=len(synapses.target))
            names.append(updater.name)
    return names


def serial_event_code(resetter) -> None:
    """Run a NeuronGroup's event code (``group.resetter[event]``) on one thread,
    without an OpenMP parallel region (template ``reset`` in ``templates/``).
    Only on Brian2's own cpp_standalone device; elsewhere it does nothing."""
    if _threads() is not None:
        resetter.codeobj_class = _code_object_class()


def _threads() -> int | None:
    """OpenMP threads of Brian2's own cpp_standalone device (0: no OpenMP), or
    None on any other device (runtime, genn, cuda)."""
    if type(get_device()) is not CPPStandaloneDevice:
        return None
    return int(prefs.devices.cpp_standalone.openmp_threads)


def brian2_is_compatible() -> bool:
    """Whether this Brian2's templates have what bioopzo's templates rely on
    (checked on Brian2 2.9.0 and 2.10.1): per-thread spike queues with public
    per-source synapse lists and offsets, pathways that peek at those queues and
    say how many there are.
    Another version keeps Brian2's own templates."""
    templates = "brian2.devices.cpp_standalone.templates"
    classes = brian2_source_text(templates, "synapses_classes.cpp")
    synapses = brian2_source_text(templates, "synapses.cpp")
    queue = (brian2_source_text("brian2.synapses", "spikequeue.h")
             or brian2_source_text("brian2.synapses", "cspikequeue.cpp"))
    if classes is None or synapses is None or queue is None:
        return False
    return ("std::vector< CSpikeQueue * > queue;" in classes
            and "int Nsource, Ntarget, _nb_threads;" in classes
            and "{{pathway.name}}.peek();" in synapses
            and "vector< vector<int> > synapses;" in queue
            and "int32_t source_end;" in queue
            and "int openmp_padding;" in queue)


def assign_schedules(synapses_groups, min_synapses: int | None = None) -> dict:
    """Give every pathway of ``synapses_groups`` that has a scalar delay
    bioopzo's templates and a schedule: ``"synaptic"`` or
    ``"accumulate"`` where OpenMP runs more than one thread, the Synapses have at
    least ``min_synapses`` (default :data:`MIN_PARALLEL_SYNAPSES`) possible
    synapses and the code allows it; ``"serial"`` otherwise. A presynaptic
    pathway between whole groups also gets the ``dense_schedule`` of its walk
    of connect()'s layout (template keyword ``dense_schedule``), used when the
    run finds that layout, and so do the Synapses' summed variables
    (:func:`dense_summed_variables`). Only on Brian2's own cpp_standalone device. Returns
    ``{pathway name: schedule of the list walk}``.

    Every scalar delay must be zero: the templates deliver the source's current
    events. Brian2 standalone cannot read a delay's value before the run, so
    this is the caller's promise (``schedule.no_delays`` gives every bioopzo
    pathway its zero delay)."""
    threads = _threads()
    if threads is None:
        return {}
    if not brian2_is_compatible():
        log.info("Brian2 %s: pathways keep Brian2's spike queues (bioopzo's templates "
                 "are checked on 2.9.0 and 2.10.1)", brian2.__version__)
        return {}
    min_synapses = MIN_PARALLEL_SYNAPSES if min_synapses is None else min_synapses
    assigned = {}
    for synapses in synapses_groups:
        large = len(synapses.source) * len(synapses.target) >= min_synapses
        lists = {}     # direction -> the pathway whose prepared synapse lists all share
        for pathway in synaptic_pathways(synapses):
            delay = pathway.variables["delay"] if "delay" in pathway.variables else None
            if delay is None or not delay.scalar:
                continue
            schedule, accumulated = (pathway_schedule(pathway) if threads > 1 and large
                                     else (None, None))
            schedule = schedule or "serial"
            pathway.codeobj_class = _code_object_class()
            pathway.template_kwds = dict(pathway.template_kwds or {}, openmp_schedule=schedule,
                                         synapse_lists=lists.setdefault(pathway.prepost,
                                                                        pathway.name))
            if _dense_layout_possible(pathway):
                walk = ("serial" if threads < 2 or not large else
                        "accumulate" if accumulated is not None else dense_schedule(pathway))
                pathway.template_kwds.update(
                    dense_schedule=walk, dense_sources=len(synapses.source),
                    dense_targets=len(synapses.target),
                    dense_aligned=dense_aligned_variable(pathway) if walk == "targets" else None)
            if accumulated is not None:
                pathway.template_kwds.update(
                    accumulate_variable=accumulated,
                    accumulate_size=int(synapses.variables[accumulated].size))
            assigned[pathway.name] = schedule
    dense_summed_variables(synapses_groups)
    return assigned
