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

This module holds the tables and the NumPy implementation: on the runtime
device (numpy target) ``gaussian()`` is NumPy's ``standard_normal``, seeded by
``brian2.seed`` like ``randn()``. The C++ draw above is cpp_standalone's
(devices/cpp_standalone/gaussian.py). Devices without an implementation (the
GPU lanes) keep ``randn()`` (their ``DeviceCapabilities.gaussian`` is None).
"""

from __future__ import annotations

import numpy as np
from brian2 import Function
from brian2.codegen.generators.numpy_generator import NumpyCodeGenerator

__all__ = ["GAUSSIAN", "gaussian_function", "numpy_gaussian", "uniform_function", "numpy_uniform",
           "ziggurat_tables", "R", "V", "LAYERS"]

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


def _one_per_element(vectorisation_idx, draw):
    """``draw(n)``, n the length of the vectorisation index (a scalar for one element)."""
    try:
        n = len(vectorisation_idx)
    except TypeError:
        n = int(vectorisation_idx)
    values = draw(n)
    return values[0] if n == 1 else values


def numpy_gaussian(vectorisation_idx):
    """NumPy's standard normal draws, one per element of the vectorisation index."""
    return _one_per_element(vectorisation_idx, np.random.standard_normal)


def numpy_uniform(vectorisation_idx):
    """NumPy's uniform draws on [0, 1), one per element of the vectorisation index."""
    return _one_per_element(vectorisation_idx, np.random.rand)


def _numpy_function(implementation) -> Function:
    function = Function(implementation, arg_units=[], return_unit=1, stateless=False,
                        auto_vectorise=True)
    function.implementations.add_implementation(NumpyCodeGenerator, code=implementation)
    return function


def gaussian_function() -> Function:
    """A new Brian2 function ``gaussian()`` with its NumPy implementation (a
    device adds its own)."""
    return _numpy_function(numpy_gaussian)


def uniform_function() -> Function:
    """A new Brian2 function ``uniform()``, u ~ U[0, 1) like ``rand()``, with its
    NumPy implementation; cpp_standalone adds one whose draws do not depend on
    the number of threads that run the code (devices/cpp_standalone/gaussian.py)."""
    return _numpy_function(numpy_uniform)


#: the Brian2 function ``gaussian()`` of the runtime device (put it in a group's namespace)
GAUSSIAN = gaussian_function()
