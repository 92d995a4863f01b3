"""The inputs' per-step frames on cpp_standalone, kept as their non-zero values.

A frame-encoded network reads ``x = input_frame(t, i)`` every step. On
Brian2's devices ``input_frame`` is a TimedArray: each run of a compiled model
holds its (samples x T, inputs) values as one dense float64 array (267 MB for
480 nmnist samples), zeroed and filled at start-up from the run's sparse file
(run_files.py), then streamed through once. Here ``input_frame`` is a function
(:class:`FrameInput`) whose C++ implementation keeps only the non-zero values,
as the run's sparse file holds them: per step k, a bitmap of the inputs with a
non-zero value (ceil(n / 64) words), the number of non-zero values before each
word, and the values in flat order,

    x_i[k] = 0                                                 if bit i of step k is clear,
    x_i[k] = values[before[k, w] + popcount(bits[k, w] & (2^b - 1))]   otherwise
             (w = i / 64, b = i mod 64),

with k = int(t / dt + 0.5) clipped to [0, steps - 1], as Brian2's TimedArray
rounds its steps. The values are the same doubles, so results are bit for bit
those of the TimedArray. At 5 % density the structures take about 0.65 bytes
per input and step (bits 0.125, counts 0.125, values 0.4) instead of 8, and the
start-up writes nothing per zero.

The structures are built from ``run_<name>.sparse`` in the folder named by
``$BIOOPZO_RUN_FILES`` when the binary starts (a static object of the support
code, initialised before ``main``; Brian2 puts support code in an anonymous
namespace, so each code object that calls the function holds its own copy: in
bioopzo's networks only the inputs' step does). A function-local static would
be built at the first call, but every call would then test its guard (an
atomic load the compiler cannot move out of the inputs' loop): on nmnist's
2312 inputs that made the step 22,800 instead of 8,000 cycles (2-thread
float32 build, cycles per call counted in one run). A missing, short or
inconsistent file stops the binary with a line that names it.
"""

from __future__ import annotations

import numpy as np
from brian2 import Function, second
from brian2.devices.cpp_standalone.codeobject import CPPStandaloneCodeObject

__all__ = ["FrameInput", "frame_input", "FRAMES_FOLDER_VARIABLE"]

#: environment variable naming the folder of a run's files (run_files.RUN_FILES_VARIABLE)
FRAMES_FOLDER_VARIABLE = "BIOOPZO_RUN_FILES"

_CPP = r"""
struct _BioopzoFrames%ID% {
    std::vector<uint64_t> bits;      // per step, one bit per input: a non-zero value
    std::vector<int64_t> before;     // per word, the non-zero values before it
    std::vector<double> values;      // the non-zero values in flat (step, input) order
};
inline void _bioopzo_frames_fail%ID%(const std::string& path, const char* what)
{
    std::cerr << "bioopzo: the run's input frames " << path << " " << what
              << "; rerun through bioopzo (it writes this file before each run)" << std::endl;
    std::exit(1);
}
inline _BioopzoFrames%ID% _bioopzo_frames_load%ID%()
{
    const int64_t steps = %STEPS%, n = %INPUTS%, words = %WORDS%;
    _BioopzoFrames%ID% frames;
    frames.bits.assign((size_t)(steps * words), 0);
    frames.before.assign((size_t)(steps * words), 0);
    const char* folder = getenv("%FOLDER_VARIABLE%");
    const std::string path = std::string(folder ? folder : "static_arrays") + "/%FILE%";
    std::ifstream in(path.c_str(), std::ios::in | std::ios::binary);
    if (!in.is_open())
        _bioopzo_frames_fail%ID%(path, "is missing");
    int64_t header[2] = {-1, 0};
    in.read(reinterpret_cast<char*>(header), sizeof(header));
    const int64_t count = header[0], width = header[1];
    if (!in || count < 0 || count > steps * n || (width != 4 && width != 8))
        _bioopzo_frames_fail%ID%(path, "has a bad header");
    std::vector<char> index((size_t)(count * width));
    frames.values.resize((size_t)count);
    if (count > 0)
    {
        in.read(&index[0], index.size());
        in.read(reinterpret_cast<char*>(&frames.values[0]), count * sizeof(double));
    }
    if (!in)
        _bioopzo_frames_fail%ID%(path, "is short");
    int64_t previous = -1;
    for (int64_t k = 0; k < count; k++)
    {
        const int64_t at = width == 4 ? (int64_t)reinterpret_cast<const int32_t*>(&index[0])[k]
                                      : reinterpret_cast<const int64_t*>(&index[0])[k];
        if (at <= previous || at >= steps * n)
            _bioopzo_frames_fail%ID%(path, "has indices out of order or range");
        previous = at;
        frames.bits[(size_t)((at / n) * words + (at % n) / 64)] |= (uint64_t)1 << ((at % n) % 64);
    }
    int64_t running = 0;
    for (size_t w = 0; w < frames.bits.size(); w++)
    {
        frames.before[w] = running;
        running += __builtin_popcountll(frames.bits[w]);
    }
    return frames;
}
static const _BioopzoFrames%ID% _bioopzo_frames%ID% = _bioopzo_frames_load%ID%();
inline double %NAME%(const double t, const int i)
{
    const _BioopzoFrames%ID%& frames = _bioopzo_frames%ID%;
    if (i < 0 || i >= %INPUTS%)
        return NAN;
    int64_t step = (int64_t)(t / %DT% + 0.5);
    if (step < 0)
        step = 0;
    else if (step >= %STEPS%)
        step = %STEPS% - 1;
    const size_t w = (size_t)step * %WORDS% + (size_t)(i / 64);
    const uint64_t word = frames.bits[w], bit = (uint64_t)1 << (i % 64);
    if (!(word & bit))
        return 0.0;
    return frames.values[(size_t)(frames.before[w] + __builtin_popcountll(word & (bit - 1)))];
}
"""


class FrameInput:
    """``name(t, i)``: input ``i``'s value at the step of time ``t`` of a run of
    ``steps`` steps of ``dt`` over ``n_inputs`` inputs (module docstring). Its
    values travel per run as :class:`bioopzo.data.epochs.SparseValues` in
    ``run_args`` (the key is this object; run_files.py writes :attr:`file_name`)."""

    def __init__(self, name: str, n_inputs: int, steps: int, dt: float):
        self.name, self.n_inputs, self.steps, self.dt = name, int(n_inputs), int(steps), float(dt)
        self.function = Function(self._python, arg_units=[second, 1], return_unit=1,
                                 arg_types=["any", "integer"], return_type="float")
        words = (self.n_inputs + 63) // 64
        code = (_CPP.replace("%ID%", f"_{name}").replace("%NAME%", f"_bioopzo_frame_{name}")
                .replace("%STEPS%", str(self.steps)).replace("%INPUTS%", str(self.n_inputs))
                .replace("%WORDS%", str(words)).replace("%DT%", repr(self.dt))
                .replace("%FOLDER_VARIABLE%", FRAMES_FOLDER_VARIABLE)
                .replace("%FILE%", self.file_name))
        self.function.implementations.add_implementation(
            CPPStandaloneCodeObject, code=code, name=f"_bioopzo_frame_{name}")

    @property
    def file_name(self) -> str:
        """The name of the run's file of the sparse values."""
        return f"run_{self.name}.sparse"

    @property
    def size(self) -> int:
        """Values of a run: steps x inputs."""
        return self.steps * self.n_inputs

    def _python(self, t, i):
        raise NotImplementedError(f"{self.name}() is implemented for cpp_standalone only")

    def __repr__(self) -> str:
        return f"<FrameInput {self.name}: {self.steps} steps x {self.n_inputs} inputs>"


def frame_input(name: str, values: np.ndarray, dt: float) -> FrameInput:
    """The :class:`FrameInput` of a run whose dense frames are ``values`` (steps, inputs)."""
    values = np.asarray(values)
    return FrameInput(name, values.shape[1], values.shape[0], dt)
