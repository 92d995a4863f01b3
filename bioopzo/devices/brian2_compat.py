"""Every use of a Brian2 internal, in one place.

bioopzo builds its model from Brian2's public API. The few things that API
does not offer reach into Brian2's internals, and only through this module:

- ``set_runner_clock``: a code runner (a pathway, a thresholder, a state
  updater) onto another clock; Brian2 gives each runner its group's clock and
  has no argument to choose another (``CodeRunner._clock``).
- ``synaptic_pathways``: a Synapses' pathways (``Synapses._pathways``).
- ``derived_code_object_class``: a cpp_standalone code object class whose
  templater looks up templates in a package of ours first
  (``CPPStandaloneCodeObject.templater.derive``).
- ``brian2_source_text``: the text of a file shipped with Brian2 (its
  cpp_standalone templates, its spike queue), to check what our templates
  rely on.
- ``last_run_time``: seconds the last standalone binary ran, as the device
  records them (``Device._last_run_time``).
- ``RANDOM_GENERATORS`` and ``seed_generators_code``: the C++ name of
  Brian2's per-thread random generators in a standalone project
  (``brian::_random_generators``) and code that seeds them from a variable.
- ``static_array_file``: the file name under ``static_arrays/`` from which a
  standalone binary reads a variable's initial values (``_static_array_`` +
  the device's array name).
- ``timed_array_file``: the file under ``static_arrays/`` from which a
  standalone binary reads a ``TimedArray``'s build-time values (its name +
  ``_values``).
- ``standalone_array_variables``: every Brian2 variable that a standalone
  project holds as an array (``CPPStandaloneDevice.arrays``).
- ``skip_written_arrays``: the end of a standalone binary's run writes every
  array into the results folder (``_write_arrays()`` in the generated
  ``objects.cpp``, one ``ofstream outfile_<array>`` block per array); this
  removes the blocks of arrays that nobody reads back.
- ``faster_makefile``: the generated ``makefile`` compiles every source with
  Brian2's ``%.o : %.cpp`` rule and first scans the dependencies of all of
  them in one serial ``-MM`` pass (``make.deps``); this adds a precompiled
  ``objects.h`` to that rule and marks the scan done.
- ``begin_standalone_run``, ``end_standalone_run``,
  ``standalone_run_environment``: the bookkeeping of ``device.run`` around a
  run of the binary that bioopzo starts itself (``results_dir``,
  ``run_args_arrays``, ``array_cache``, ``clocks``, ``has_been_run``,
  ``_last_run_time``, ``_last_run_completed_fraction``,
  ``run_environment_variables``), as ``CPPStandaloneDevice.run`` does it.

Checked on Brian2 2.9.0 (this environment), 2.5.4 (the genn lane, with
brian2genn 1.7.0) and 2.10.1 (the cuda lane, with brian2cuda 1.0b1); see
docs/lanes/*.md. Brian2 is imported inside the functions, so importing this
module loads nothing of Brian2.
"""

from __future__ import annotations

__all__ = ["set_runner_clock", "synaptic_pathways", "derived_code_object_class",
           "brian2_source_text", "last_run_time", "RANDOM_GENERATORS", "seed_generators_code",
           "static_array_file", "timed_array_file", "standalone_array_variables",
           "skip_written_arrays", "begin_standalone_run", "end_standalone_run",
           "standalone_run_environment", "faster_makefile", "CHECKED_VERSIONS"]

#: Brian2 versions this module was checked on: this environment's, the genn lane's, the cuda lane's
CHECKED_VERSIONS = ("2.9.0", "2.5.4", "2.10.1")

#: C++ name of Brian2's random generators (one per OpenMP thread) in a standalone project
RANDOM_GENERATORS = "brian::_random_generators"


def set_runner_clock(runner, clock) -> None:
    """Run the Brian2 code runner ``runner`` on ``clock`` instead of its group's."""
    runner._clock = clock


def synaptic_pathways(synapses) -> list:
    """The ``SynapticPathway`` objects of a Brian2 ``Synapses``."""
    return list(synapses._pathways)


def derived_code_object_class(package: str, name: str, env_globals: dict | None = None):
    """A subclass of Brian2's ``CPPStandaloneCodeObject`` named ``name`` whose
    templates are looked up in ``package``'s ``templates`` folder first, then in
    Brian2's; ``env_globals`` replace the templates' globals of those names."""
    from brian2.devices.cpp_standalone.codeobject import CPPStandaloneCodeObject

    templater = CPPStandaloneCodeObject.templater.derive(package, templates_dir="templates",
                                                         env_globals=env_globals)
    return type(name, (CPPStandaloneCodeObject,), {"templater": templater,
                                                   "__doc__": f"cpp_standalone code object "
                                                              f"with {package}'s templates."})


def brian2_source_text(package: str, name: str) -> str | None:
    """The text of file ``name`` of the Brian2 package ``package`` (e.g.
    ``brian2.synapses``, ``spikequeue.h``), or None where it is absent."""
    from importlib.resources import files

    try:
        path = files(package) / name
        return path.read_text() if path.is_file() else None
    except (OSError, ModuleNotFoundError):
        return None


def last_run_time(device):
    """What the standalone ``device`` recorded as its last binary run's duration
    in seconds (None where it recorded nothing)."""
    return getattr(device, "_last_run_time", None)


def seed_generators_code(array: str) -> str:
    """C++ for ``main``: seed every thread's random generator ``k`` with
    ``brian::<array>[0] + k`` (``array``: the device's name of a one-element array)."""
    return (f"for (int _i = 0; _i < (int){RANDOM_GENERATORS}.size(); _i++)\n"
            f"    {RANDOM_GENERATORS}[_i].seed((unsigned long)brian::{array}[0] + _i);")


def static_array_file(device, variable) -> str:
    """Name of the file under the project's ``static_arrays/`` from which the
    binary reads ``variable``'s initial values."""
    return "_static_array_" + device.get_array_name(variable, access_data=False)


def timed_array_file(timed_array) -> str:
    """Name of the file under the project's ``static_arrays/`` from which the
    binary reads ``timed_array``'s build-time values."""
    return f"{timed_array.name}_values"


def standalone_array_variables(device) -> list:
    """Every Brian2 ``Variable`` that the standalone ``device``'s project holds
    as an array (dynamic arrays included)."""
    return list(device.arrays)


def skip_written_arrays(directory, arrays) -> set:
    """Remove, from the generated ``objects.cpp`` in ``directory``, the code with
    which the binary writes the arrays named ``arrays`` (the device's names
    without data access, e.g. ``_dynamic_array_syn_w``) into its results folder
    at the end of a run. Returns the names whose code was found and removed (an
    unknown layout of ``_write_arrays()`` removes nothing)."""
    import re
    from pathlib import Path

    path = Path(directory) / "objects.cpp"
    text = path.read_text()
    start = text.find("void _write_arrays()\n{")
    end = text.find("\n}\n", start)
    if start < 0 or end < 0:
        return set()
    wanted = set(arrays)
    removed = set()

    def drop(match):
        if match.group("name") not in wanted:
            return match.group(0)
        removed.add(match.group("name"))
        return ""

    block = re.compile(r"    ofstream outfile_(?P<name>\w+);\n.*?Error writing output file for "
                       r"(?P=name)\.\" << endl;\n    \}\n", re.DOTALL)
    body = block.sub(drop, text[start:end])
    if removed:
        path.write_text(text[:start] + body + text[end:])
    return removed


def begin_standalone_run(device, results_dir: str, run_args: list[str]) -> None:
    """Prepare the standalone ``device`` for a run of its binary that writes into
    ``results_dir`` (absolute, ending in a separator) with the command-line
    ``run_args`` (``"group.variable=value"``): values set on the command line
    and the clocks' end times are read back from the results, not the cache."""
    device.results_dir = results_dir
    device.run_args_arrays.clear()
    assigned = {arg.split("=", 1)[0] for arg in run_args if "=" in arg}
    for var in device.array_cache:
        owner = getattr(var.owner, "name", None)
        if owner is not None and f"{owner}.{var.name}" in assigned:
            device.array_cache[var] = None
    for clock in device.clocks:
        device.array_cache[clock.variables["t"]] = None


def end_standalone_run(device, results_dir: str) -> None:
    """Record on ``device`` that its binary ran into ``results_dir``: variables
    are read from there, and the run's duration from ``last_run_info.txt``."""
    from pathlib import Path

    device.has_been_run = True
    info = Path(results_dir) / "last_run_info.txt"
    if info.is_file():
        run_time, completed = info.read_text().split()
        device._last_run_time = float(run_time)
        device._last_run_completed_fraction = float(completed)


def standalone_run_environment(device) -> dict:
    """Environment variables the standalone ``device`` sets for its binary
    (Brian2's preference, then the device's own)."""
    from brian2 import prefs

    env = dict(prefs["devices.cpp_standalone.run_environment_variables"])
    env.update(device.run_environment_variables)
    return {str(k): str(v) for k, v in env.items()}


#: Brian2's makefile rule (2.5.4 to 2.10.1) that compiles one C++ source of a project
_OBJECT_RULE = "%.o : %.cpp makefile\n\t$(CXX) $(CXXFLAGS) $< -o $@"

#: the header every generated C++ source includes, precompiled once per build
PRECOMPILED_HEADER = "objects.h"


def faster_makefile(directory) -> bool:
    """Make the standalone project in ``directory`` compile faster, the same
    code with the same flags: ``objects.h`` (the arrays, Synapses classes, the
    standard headers: about two thirds of each source's compile time) is
    compiled once into ``objects.h.gch`` and included first in every C++ source
    (``-include``, which GCC reads from the precompiled file and skips where the
    flags differ), and ``make.deps`` (a serial dependency scan of every source,
    17 s for nmnist here, used only to rebuild after edits) is written empty:
    bioopzo compiles each generated project once, from scratch. False, and the
    makefile left as it is, where it lacks Brian2's rule."""
    from pathlib import Path

    makefile = Path(directory) / "makefile"
    try:
        text = makefile.read_text()
    except OSError:
        return False
    if _OBJECT_RULE not in text:
        return False
    gch = f"{PRECOMPILED_HEADER}.gch"
    rules = (f"{gch}: {PRECOMPILED_HEADER} makefile\n"
             f"\t$(CXX) $(CXXFLAGS) {PRECOMPILED_HEADER} -o {gch}\n\n"   # a .h: a C++ header
             f"%.o : %.cpp makefile {gch}\n"
             f"\t$(CXX) $(CXXFLAGS) -include {PRECOMPILED_HEADER} $< -o $@")
    makefile.write_text(text.replace(_OBJECT_RULE, rules))
    (Path(directory) / "make.deps").write_text("")
    return True
