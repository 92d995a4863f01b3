"""Synaptic pathways that run on every OpenMP thread (cpp_standalone).

Brian2's cpp_standalone device splits each pathway's spike queue between the
OpenMP threads, but runs a pathway's event code on the master thread alone as
soon as the code touches a pre- or postsynaptic variable: with ``w -= p_pre
E_post`` (the replayed update, updates.py) or ``I_syn_post += w x_pre`` (the
forward input), more threads only add the cost of merging the queues. This
module classifies each pathway's abstract code and, where it is safe, gives the
pathway a code object whose template (``bioopzo/templates/synapses.cpp``, a
variant of Brian2's) runs every thread on its own queue:

- ``"synaptic"``: every written variable is synaptic. A synapse lies in exactly
  one thread's queue and, with one scalar delay, at most once per step, so no
  two threads write the same element; reads of pre- and postsynaptic variables
  see values no thread writes. Every synapse sees the same operations as on one
  thread: the result is bitwise the same.
- ``"accumulate"``: besides synaptic variables, the code writes one
  postsynaptic variable ``X`` only as ``X_post += e`` (or ``-=``) and reads it
  nowhere else. Thread 0 adds into ``X``; thread t > 0 into a zeroed buffer of
  ``X``'s size; after a barrier, ``X[j] += buffer_t[j]`` for t = 1, 2, ... in
  order. For a fixed thread count the result is deterministic; only the order
  of the additions into ``X`` (hence rounding in the last bits) differs from
  one thread's.

Anything else keeps Brian2's template. The equations are Brian2's; only the
schedule of the generated loop changes. Runtime and the GPU devices never see
these code objects (:func:`parallelize_pathways` does nothing unless the active
device is Brian2's own cpp_standalone with more than one OpenMP thread).
"""

from __future__ import annotations

import logging
import re

__all__ = ["pathway_schedule", "parallelize_pathways", "brian2_is_compatible",
           "MIN_PARALLEL_SYNAPSES"]

log = logging.getLogger("bioopzo.openmp")

#: Pathways of smaller Synapses keep Brian2's template: their few events per
#: step cost less than waking a second thread.
MIN_PARALLEL_SYNAPSES = 65_536

_STATEMENT = re.compile(r"^\s*([A-Za-z_]\w*)\s*([-+*/]?=)\s*(.+?)\s*$")
_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")


def _statements(code: str) -> list[tuple[str, str, str]] | None:
    """(target, operator, expression) per line of abstract code, or None for
    code this module does not parse (then the pathway keeps Brian2's template)."""
    out = []
    for line in code.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = _STATEMENT.match(line)
        if match is None:
            return None
        out.append(match.groups())
    return out


def _referenced(expression: str, variables, seen=None) -> list:
    """The Brian2 variables an expression reads, subexpressions expanded
    (Brian2 rewrites a pre- or postsynaptic subexpression into names of its own
    that it also adds to the Synapses' variables)."""
    from brian2.core.variables import Subexpression

    seen = set() if seen is None else seen
    found = []
    for name in set(_IDENTIFIER.findall(expression)):
        var = variables.get(name)
        if var is None:
            continue
        found.append(var)
        if isinstance(var, Subexpression) and name not in seen:
            seen.add(name)
            found += _referenced(var.expr, variables, seen)
    return found


def pathway_schedule(pathway) -> tuple[str | None, str | None]:
    """(schedule, accumulated variable) for a Brian2 ``SynapticPathway``:
    ``("synaptic", None)``, ``("accumulate", "X_post")`` or ``(None, None)``
    (Brian2's own schedule); see the module docstring."""
    synapses = pathway.synapses
    variables, indices = synapses.variables, synapses.variables.indices
    statements = _statements(pathway.code)
    if not statements:
        return None, None
    local = {t for t, op, _ in statements if op == "=" and t not in variables}
    accumulated = set()
    for target, op, _ in statements:
        if target in local:
            continue
        index = indices[target] if target in variables else None
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
    target = variables[name]
    if any(var is target for _, _, expression in statements
           for var in _referenced(expression, variables)):
        return None, None
    return "accumulate", name


def _code_object_class():
    """A cpp_standalone code object class whose ``synapses`` template is
    bioopzo's (every other template is Brian2's)."""
    global _CODE_OBJECT
    if _CODE_OBJECT is None:
        from brian2.devices.cpp_standalone.codeobject import CPPStandaloneCodeObject

        class ThreadedPathwayCodeObject(CPPStandaloneCodeObject):
            """cpp_standalone code object with bioopzo's synapses template."""

            templater = CPPStandaloneCodeObject.templater.derive("bioopzo")

        _CODE_OBJECT = ThreadedPathwayCodeObject
    return _CODE_OBJECT


_CODE_OBJECT = None


def _brian2_version() -> str:
    import brian2

    return brian2.__version__


def _threads() -> int:
    from brian2 import get_device, prefs
    from brian2.devices.cpp_standalone.device import CPPStandaloneDevice

    if type(get_device()) is not CPPStandaloneDevice:     # runtime, genn, cuda: never
        return 0
    return int(prefs.devices.cpp_standalone.openmp_threads)


def brian2_is_compatible() -> bool:
    """Whether this Brian2's templates have what bioopzo's template relies on
    (checked on Brian2 2.9.0 and 2.10.1): per-thread spike queues in the
    pathway class and the synapses template's master-thread branch. Another
    version keeps Brian2's own schedule."""
    from importlib.resources import files

    folder = files("brian2.devices.cpp_standalone") / "templates"
    try:
        classes = (folder / "synapses_classes.cpp").read_text()
        synapses = (folder / "synapses.cpp").read_text()
    except OSError:
        return False
    return ("std::vector< CSpikeQueue * > queue;" in classes
            and "{{pathway.name}}.peek();" in synapses
            and "{% if _non_synaptic %}" in synapses)


def parallelize_pathways(synapses_groups, min_synapses: int | None = None) -> dict:
    """Give every eligible pathway of ``synapses_groups`` with at least
    ``min_synapses`` (default :data:`MIN_PARALLEL_SYNAPSES`) possible synapses
    the threaded template, on cpp_standalone with more than one OpenMP thread.
    Returns ``{pathway name: schedule}`` of the pathways changed."""
    if _threads() <= 1:
        return {}
    if not brian2_is_compatible():
        log.info("Brian2 %s: pathways keep Brian2's OpenMP schedule (bioopzo's template "
                 "is checked on 2.9.0 and 2.10.1)", _brian2_version())
        return {}
    min_synapses = MIN_PARALLEL_SYNAPSES if min_synapses is None else min_synapses
    changed = {}
    for synapses in synapses_groups:
        if len(synapses.source) * len(synapses.target) < min_synapses:
            continue
        for pathway in synapses._pathways:
            schedule, accumulated = pathway_schedule(pathway)
            if schedule is None:
                continue
            pathway.codeobj_class = _code_object_class()
            pathway.template_kwds = dict(pathway.template_kwds or {}, openmp_schedule=schedule)
            if accumulated is not None:
                pathway.template_kwds.update(
                    accumulate_variable=accumulated,
                    accumulate_size=int(synapses.variables[accumulated].size))
            changed[pathway.name] = schedule
    return changed
