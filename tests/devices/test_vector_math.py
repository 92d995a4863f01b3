"""vector_math.py: libmvec's expf declared so that GCC vectorises neuron loops."""

import subprocess

import numpy as np
import pytest

from bioopzo.devices.cpp_standalone import vector_math

#: Brian2's default C++ flags (prefs.codegen.cpp.extra_compile_args_gcc)
BRIAN2_FLAGS = ["-w", "-O3", "-ffast-math", "-fno-finite-math-only", "-march=native", "-std=c++11"]

LOOP = """
#include <cmath>
#include "bioopzo_vector_math.h"
void surrogate(const float* __restrict u, float* __restrict psi, int n)
{
    #pragma GCC ivdep
    for (int i = 0; i < n; i++)
    {
        const float sig = 1.0f / (1.0f + std::exp(-4.0f * (u[i] - 1.0f)));   // the float overload: expf
        psi[i] = 4.0f * sig * (1.0f - sig);
    }
}
"""

MAIN = """
#include <cstdio>
void surrogate(const float*, float*, int);
int main()
{
    const int n = 1000;
    static float u[n], psi[n];
    for (int i = 0; i < n; i++) u[i] = -3.0f + 6.0f * i / n;
    surrogate(u, psi, n);
    for (int i = 0; i < n; i++) std::printf("%.9g\\n", psi[i]);
    return 0;
}
"""


class FakeDevice:
    headers: list

    def __init__(self):
        self.headers = []


def test_header_is_added_once_where_available(tmp_path):
    dev = FakeDevice()
    used = vector_math.use_vector_math(dev)
    assert used is vector_math.available()
    vector_math.use_vector_math(dev)
    assert dev.headers == ([f'"{vector_math.HEADER_NAME}"'] if used else [])
    vector_math.write_header(tmp_path)
    assert (tmp_path / vector_math.HEADER_NAME).read_text() == vector_math.HEADER


@pytest.mark.skipif(not vector_math.available(),
                    reason="needs GCC on x86-64 Linux with glibc's libmvec")
def test_loop_calls_the_vector_expf_and_agrees_with_numpy(tmp_path):
    """With the header, Brian2's flags vectorise a loop that calls expf (the
    object calls libmvec's _ZGV..._expf); the linked program's psi agrees with
    float64 NumPy to float32 precision."""
    vector_math.write_header(tmp_path)
    (tmp_path / "loop.cpp").write_text(LOOP)
    (tmp_path / "main.cpp").write_text(MAIN)
    subprocess.run(["c++", "-c", *BRIAN2_FLAGS, "-I.", "loop.cpp", "-o", "loop.o"],
                   cwd=tmp_path, check=True)
    symbols = subprocess.run(["nm", "loop.o"], cwd=tmp_path, capture_output=True,
                             text=True, check=True).stdout
    assert any(line.split()[-1].startswith("_ZGV") and line.endswith("_expf")
               for line in symbols.splitlines()), symbols
    subprocess.run(["c++", *BRIAN2_FLAGS, "loop.o", "main.cpp", "-o", "surrogate"],
                   cwd=tmp_path, check=True)
    out = subprocess.run(["./surrogate"], cwd=tmp_path, capture_output=True, text=True,
                         check=True).stdout
    psi = np.array(out.split(), dtype=float)
    u = -3.0 + 6.0 * np.arange(1000, dtype=np.float32) / 1000
    sig = 1 / (1 + np.exp(-4.0 * (u.astype(float) - 1.0)))
    # float32: 1 - sig cancels near sig = 1 (absolute errors up to ~3e-7 there)
    np.testing.assert_allclose(psi, 4 * sig * (1 - sig), rtol=1e-5, atol=1e-6)
