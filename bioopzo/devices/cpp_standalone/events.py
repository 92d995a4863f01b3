"""The event tests of NeuronGroups on cpp_standalone, in two passes.

Every step a NeuronGroup tests each of its events (a spike, bioopzo's
``active`` inputs, the replayed steps of a sample) on every neuron and collects
the neurons whose condition holds, in ascending order:

    events[t] = [i for i in 0 .. N-1 if condition(state_i[t])]

Brian2's ``threshold`` template does it in one loop that stores under a branch
taken for the few neurons with the event. :func:`two_pass_event_tests` gives
the tests whose condition depends on the neurons' own variables bioopzo's
``threshold`` template (templates/), which tests every neuron first, in a loop
the compiler vectorises, into one byte per neuron, then reads those bytes
eight at a time and writes the indices of the neurons with the event: the same
indices in the same order, so the same results. On nmnist (2312 inputs, 5 %
active per step, a 2-thread float32 build, cycles per call counted in one
run) the inputs' ``active`` test took 4,600 instead of 8,400 cycles per step
and each of the 30 replayed steps' tests 4,000 instead of 7,300.

A condition on time alone (the slot events of the sample histories, true for
all neurons or none) keeps the single loop, which the compiler reduces to one
test; so does one that draws random numbers or calls a user function. Only on
Brian2's own cpp_standalone device, whose ``threshold`` template bioopzo's
follows (checked on Brian2 2.9.0 and 2.10.1).
"""

from __future__ import annotations

from brian2.core.variables import Constant
from brian2.groups.neurongroup import NeuronGroup
from brian2.utils.stringtools import get_identifiers

from bioopzo.devices.brian2_compat import brian2_source_text
from bioopzo.devices.cpp_standalone import pathways

__all__ = ["two_pass_event_tests", "tests_own_variables", "brian2_threshold_fits"]


def tests_own_variables(group, event: str) -> bool:
    """Whether ``group``'s condition of ``event`` reads a per-neuron variable of
    the group (else it is the same for every neuron) and draws nothing."""
    condition = group.events[event]
    if not isinstance(condition, str) or not pathways._deterministic([(None, None, condition)]):
        return False
    for name in get_identifiers(condition):
        var = group.variables.get(name)
        if var is not None and not isinstance(var, Constant) and not var.scalar:
            return True
    return False


def brian2_threshold_fits() -> bool:
    """Whether this Brian2's ``threshold`` template passes what bioopzo's reads
    (the event's space variable, the refractoriness flag and its arrays)."""
    text = brian2_source_text("brian2.devices.cpp_standalone.templates", "threshold.cpp")
    return text is not None and all(word in text for word in (
        "eventspace_variable", "_uses_refractory", "{{not_refractory}}", "{{lastspike}}"))


def two_pass_event_tests(objects) -> list[str]:
    """Give the event tests of ``objects``' NeuronGroups whose condition reads the
    neurons' own variables the two-pass template (module docstring); returns
    the thresholders' names. Only on Brian2's own cpp_standalone device."""
    if pathways._threads() is None or not brian2_threshold_fits():
        return []
    names = []
    for group in objects:
        if not isinstance(group, NeuronGroup):
            continue
        for event, thresholder in group.thresholder.items():
            if not tests_own_variables(group, event):
                continue
            if thresholder.codeobj_class is None:   # the one-thread groups keep theirs
                thresholder.codeobj_class = pathways._code_object_class()
            thresholder.template_kwds = dict(thresholder.template_kwds or {},
                                             two_pass_events=True)
            names.append(thresholder.name)
    return names
