"""``gaussian()``: standard-normal draws for the model's noise, fast in C++.

Brian2's ``randn()`` in C++ standalone is the polar Box-Muller method on a
Mersenne twister (two 32-bit draws per uniform, a log and a square root per
pair); at one draw per hidden neuron and step it was about a fifth of the
``digits`` benchmark's time. ``gaussian()`` draws the same distribution,
z ~ N(0, 1), by the ziggurat method (Marsaglia & Tsang 2000, J. Stat. Softw.
5(8)): with f(x) = exp(-x^2/2) and 128 layers of equal area v,

    X_1 = r,   X_{i+1} = f^-1(f(X_i) + v / X_i)   (i = 1..126),   X_128 = 0,
    X_0 = v / f(r)           (base layer: the rectangle [0, r] x [0, f(r)] plus the tail)
    r = 3.442619855899,  v = 9.91256303526217e-3   (Marsaglia & Tsang's 128-layer values)

one 64-bit draw picks a layer i (7 bits), a sign (1 bit) and u in [0, 1)
(53 bits); x = u X_i is returned at once when x < X_{i+1} (about 98.8 % of
draws). Otherwise, for i >= 1, x is kept when a uniform height in
[f(X_i), f(X_{i+1})] lies under f(x), and for the base layer x comes from the
tail beyond r by Marsaglia's exponential method (a = -ln(u1)/r, b = -ln(u2),
kept when 2b > a^2, x = r + a); a rejected draw starts over.

The uniform bits come from xoshiro256** (Blackman & Vigna 2021), one state per
code object and OpenMP thread, seeded through splitmix64 from two draws of
Brian2's own generator for that thread at the first call of a run, so the
noise follows the run's seed (``brian2.seed``, or the seed a standalone run
receives) and is reproducible.

On the runtime device (numpy target) ``gaussian()`` is NumPy's
``standard_normal``, seeded by ``brian2.seed`` like ``randn()``. Devices without
an implementation (the GPU lanes) keep ``randn()``
(``BrianNetwork(fast_gaussian=False)``).
"""

from __future__ import annotations

import numpy as np
from brian2 import Function, prefs
from brian2.codegen.generators.numpy_generator import NumpyCodeGenerator
from brian2.devices.cpp_standalone.codeobject import CPPStandaloneCodeObject

__all__ = ["GAUSSIAN", "ziggurat_tables", "R", "V", "LAYERS"]

R = 3.442619855899
V = 9.91256303526217e-3
LAYERS = 128


def ziggurat_tables() -> tuple[np.ndarray, np.ndarray]:
    """Layer edges X_0..X_128 and heights f(X_i) (f(X_128) = 1) of the docstring's ziggurat."""
    f = lambda x: np.exp(-0.5 * x * x)  # noqa: E731
    x = np.zeros(LAYERS + 1)
    x[0], x[1] = V / f(R), R
    for i in range(1, LAYERS - 1):
        x[i + 1] = np.sqrt(-2.0 * np.log(f(x[i]) + V / x[i]))
    heights = f(x)
    heights[LAYERS] = 1.0
    return x, heights


def _numpy_gaussian(vectorisation_idx):
    try:
        n = len(vectorisation_idx)
    except TypeError:
        n = int(vectorisation_idx)
    values = np.random.standard_normal(n)
    return values[0] if n == 1 else values


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
    void seed(const int thread) {
        uint64_t x = 0;
        for (int k = 0; k < 2; k++)
            x = (x << 32) ^ (uint64_t)(brian::_random_generators[thread].rand() * 4294967296.0);
        for (int k = 0; k < 4; k++)
            s[k] = splitmix(x);
        seeded = true;
    }
    inline double draw(const int thread) {
        if (!seeded)
            seed(thread);
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
static thread_local BioopzoGaussian _bioopzo_gaussian_state;
}

inline double _bioopzo_gaussian(const int _vectorisation_idx) {
    return _bioopzo_gaussian_state.draw(%THREAD%);
}
"""


def _cpp_code(owner) -> dict:
    x, heights = ziggurat_tables()
    thread = "omp_get_thread_num()" if prefs.devices.cpp_standalone.openmp_threads else "0"
    code = (_CPP.replace("%TABLES%", _array("_zig_x", x) + _array("_zig_f", heights))
            .replace("%R%", repr(R)).replace("%THREAD%", thread))
    return {"support_code": code}


#: the Brian2 function ``gaussian()`` (put it in a group's namespace)
GAUSSIAN = Function(_numpy_gaussian, arg_units=[], return_unit=1, stateless=False,
                    auto_vectorise=True)
GAUSSIAN.implementations.add_implementation(NumpyCodeGenerator, code=_numpy_gaussian)
GAUSSIAN.implementations.add_dynamic_implementation(
    CPPStandaloneCodeObject, code=_cpp_code, namespace=lambda owner: {}, name="_bioopzo_gaussian")
