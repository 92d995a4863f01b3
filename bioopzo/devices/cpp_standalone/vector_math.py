"""Vectorised single-precision ``exp`` in the compiled neuron loops.

The hidden layers' step computes the surrogate derivative

    psi = kappa sig (1 - sig),   sig = 1 / (1 + exp(-kappa (u - theta)))

for every neuron and step. Brian2 compiles with ``-ffast-math
-fno-finite-math-only``; the second flag leaves ``__FAST_MATH__`` undefined,
and with it glibc's declarations of the SIMD variants of its math functions
(libmvec). GCC therefore calls the scalar ``expf`` once per neuron and cannot
vectorise the loop. The header written here (:data:`HEADER`) declares libmvec's
variant of ``expf``, so that the loops marked independent (templates/
``stateupdate.cpp``) run 8 or 16 neurons per call; ``g++`` links libmvec
through libm's linker script. On nmnist's 800 hidden neurons in float32 the
step took 4,000 instead of 15,000 cycles (a 2-thread build on this project's
2-core machine, cycles per call of the code object counted in one run).

Only ``expf``, so only float32 builds change: libmvec's ``expf`` differs from
the scalar one by at most a few units in the last place, within the float32
tolerance of the oracle tests. The declaration is in every code object, so in
any float32 build GCC may also vectorise other loops that call ``expf`` where
its own cost model finds it pays. Double builds keep the scalar ``exp``.
Only with GCC on x86-64 Linux where libmvec is installed (glibc >= 2.22);
elsewhere nothing is declared and the loops call the scalar function.
"""

from __future__ import annotations

import ctypes.util
import os
import platform
import shutil
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

__all__ = ["HEADER", "HEADER_NAME", "available", "use_vector_math", "write_header"]

#: the header's file name in the project (the makefile's ``-I.`` finds it)
HEADER_NAME = "bioopzo_vector_math.h"

HEADER = """\
// bioopzo.devices.cpp_standalone.vector_math: libmvec's SIMD variant of expf
// (glibc declares it only under __FAST_MATH__, which Brian2's
// -fno-finite-math-only turns off), so that GCC vectorises loops calling expf.
#ifndef BIOOPZO_VECTOR_MATH_H
#define BIOOPZO_VECTOR_MATH_H
#include <cmath>
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(__FAST_MATH__)
extern "C" float expf(float) noexcept __attribute__((__simd__("notinbranch")));
#endif
#endif
"""


@lru_cache(maxsize=None)
def available() -> bool:
    """GCC (the standalone compiler ``$CXX`` or ``c++``) on x86-64 Linux with
    libmvec installed."""
    if not sys.platform.startswith("linux") or platform.machine().lower() not in ("x86_64", "amd64"):
        return False
    if ctypes.util.find_library("mvec") is None:
        return False
    compiler = shutil.which(os.environ.get("CXX", "c++"))
    if compiler is None:
        return False
    try:
        version = subprocess.run([compiler, "--version"], capture_output=True, text=True,
                                 timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return "clang" not in version.lower() and ("gcc" in version.lower() or "g++" in version
                                               or "Free Software Foundation" in version)


def use_vector_math(device) -> bool:
    """Include :data:`HEADER` in every code object of the standalone ``device``'s
    project (call before the code is generated; write the file with
    :func:`write_header` after ``device.build``). Returns whether it did."""
    if not available():
        return False
    name = f'"{HEADER_NAME}"'
    if name not in device.headers:
        device.headers.append(name)
    return True


def write_header(directory) -> None:
    """Write :data:`HEADER` into the project ``directory``."""
    (Path(directory) / HEADER_NAME).write_text(HEADER)
