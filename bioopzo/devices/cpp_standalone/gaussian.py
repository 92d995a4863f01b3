"""``gaussian()`` on cpp_standalone: the ziggurat of devices/gaussian.py in C++.

The layer edges X_i and heights f(X_i) are those of
:func:`bioopzo.devices.gaussian.ziggurat_tables`, written into the support code
as constant tables. The uniform bits come from xoshiro256** (Blackman & Vigna
2021), one state per code object and part of the loop (threads.py: with K
OpenMP threads, part k is the k-th of K contiguous blocks of the group's
elements, whatever number of threads runs it), seeded through splitmix64 from
two draws of Brian2's generator k at the first call of a run, so the noise
follows the run's seed and is the same on any number of running threads.

``uniform()`` is Brian2's ``rand()`` on the same parts: generator part(i) for
element i (Brian2's ``rand()`` takes the running thread's generator, so its
draws would depend on how many threads run). Without OpenMP both use part 0
only, as Brian2 does.
"""

from __future__ import annotations

import numpy as np
from brian2 import prefs
from brian2.devices.cpp_standalone.codeobject import CPPStandaloneCodeObject

from bioopzo.devices.brian2_compat import RANDOM_GENERATORS
from bioopzo.devices.cpp_standalone.threads import stream_code
from bioopzo.devices.gaussian import R, gaussian_function, uniform_function, ziggurat_tables
from bioopzo.errors import ConfigError

__all__ = ["CPP_GAUSSIAN", "CPP_UNIFORM", "gaussian_support_code", "uniform_support_code"]


def _array(name: str, values: np.ndarray) -> str:
    body = ", ".join(repr(float(v)) for v in values)
    return f"static const double {name}[{len(values)}] = {{{body}}};\n"


_CPP = """
namespace {
%TABLES%
struct BioopzoGaussian {
    uint64_t s[4];
    bool seeded = false;

    static inline uint64_t rotl(const uint64_t x, const int k) {
        return (x << k) | (x >> (64 - k));
    }
    static inline uint64_t splitmix(uint64_t &x) {
        uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    inline uint64_t next() {                       // xoshiro256**
        const uint64_t result = rotl(s[1] * 5, 7) * 9;
        const uint64_t t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = rotl(s[3], 45);
        return result;
    }
    inline double uniform() {                      // [0, 1), 53 bits
        return (next() >> 11) * 1.1102230246251565e-16;
    }
    void seed(const int part) {
        uint64_t x = 0;
        for (int k = 0; k < 2; k++)
            x = (x << 32) ^ (uint64_t)(%GENERATORS%[part].rand() * 4294967296.0);
        for (int k = 0; k < 4; k++)
            s[k] = splitmix(x);
        seeded = true;
    }
    inline double draw(const int part) {
        if (!seeded)
            seed(part);
        for (;;) {
            const uint64_t bits = next();
            const int i = (int)(bits & 127);
            const double sign = (bits & 128) ? -1.0 : 1.0;
            const double x = ((bits >> 11) * 1.1102230246251565e-16) * _zig_x[i];
            if (x < _zig_x[i + 1])
                return sign * x;
            if (i == 0) {                          // the tail beyond r
                double a, b;
                do {
                    a = -log(1.0 - uniform()) / %R%;
                    b = -log(1.0 - uniform());
                } while (2.0 * b <= a * a);
                return sign * (%R% + a);
            }
            const double y = _zig_f[i] + uniform() * (_zig_f[i + 1] - _zig_f[i]);
            if (y < exp(-0.5 * x * x))
                return sign * x;
        }
    }
};
static BioopzoGaussian _bioopzo_gaussian_states[%PARTS%];
%STREAM%}

inline double _bioopzo_gaussian(const int _vectorisation_idx) {
    const int _part = _bioopzo_gaussian_part(_vectorisation_idx);
    return _bioopzo_gaussian_states[_part].draw(_part);
}
"""


def _parts(owner, function: str) -> tuple[int, int]:
    """(elements of ``owner``'s loops, OpenMP threads of the build: 1 without OpenMP)."""
    threads = max(1, int(prefs.devices.cpp_standalone.openmp_threads))
    if threads == 1:
        return 0, 1
    try:
        size = len(owner)
    except (TypeError, NotImplementedError) as err:   # Synapses before the run
        raise ConfigError(f"{function}() in the code of {owner.name} (not a group of fixed size) "
                          "needs [device] threads = 1 on cpp_standalone") from err
    return size, threads


def gaussian_support_code(owner) -> dict:
    """Brian2 dynamic implementation: the C++ support code of ``gaussian()``."""
    x, heights = ziggurat_tables()
    size, threads = _parts(owner, "gaussian")
    code = (_CPP.replace("%TABLES%", _array("_zig_x", x) + _array("_zig_f", heights))
            .replace("%R%", repr(R)).replace("%PARTS%", str(threads))
            .replace("%STREAM%", stream_code("_bioopzo_gaussian_part", size, threads))
            .replace("%GENERATORS%", RANDOM_GENERATORS))
    return {"support_code": code}


def uniform_support_code(owner) -> dict:
    """Brian2 dynamic implementation: the C++ support code of ``uniform()``."""
    size, threads = _parts(owner, "uniform")
    code = ("namespace {\n" + stream_code("_bioopzo_uniform_part", size, threads) + "}\n"
            "inline double _bioopzo_uniform(const int _vectorisation_idx) {\n"
            f"    return {RANDOM_GENERATORS}[_bioopzo_uniform_part(_vectorisation_idx)].rand();\n"
            "}\n")
    return {"support_code": code}


#: ``gaussian()`` with its NumPy and C++ (cpp_standalone) implementations
CPP_GAUSSIAN = gaussian_function()
CPP_GAUSSIAN.implementations.add_dynamic_implementation(
    CPPStandaloneCodeObject, code=gaussian_support_code, namespace=lambda owner: {},
    name="_bioopzo_gaussian")

#: ``uniform()`` (Brian2's ``rand()`` drawn per loop part) with its NumPy and C++ implementations
CPP_UNIFORM = uniform_function()
CPP_UNIFORM.implementations.add_dynamic_implementation(
    CPPStandaloneCodeObject, code=uniform_support_code, namespace=lambda owner: {},
    name="_bioopzo_uniform")
