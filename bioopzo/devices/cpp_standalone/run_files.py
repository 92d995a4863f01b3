"""The files through which a run hands its ``run_args`` to the compiled binary.

Brian2's ``run_args`` set a variable from a value or from a file of its dense
values. :func:`run_arguments` writes each array once, to a file of fixed name
(Brian2's own conversion hashes every array and keeps one file per distinct
content, so an epoch of new data per run would fill the disk).

The inputs' frames (frames.py, a :class:`FrameInput` key) always go to
``run_<name>.sparse`` in the sparse form below.

A TimedArray's values may come as :class:`bioopzo.data.epochs.SparseValues`
(the inputs: N-MNIST frames are about 95 % zeros). Where the sparse form is
smaller, it goes to ``run_<name>.sparse``: int64 count k and index width b (4
or 8 bytes), the k ascending flat indices (b bytes each), then the k values in
the compiled dtype. Code inserted into ``main`` after the command line is read
(:func:`sparse_values_code`) zeroes the values and sets those k: the same values
as the dense file, bit for bit, in a file about 1/7 of its size at 5 % density.
The binary looks for the file in the folder named by the environment variable
:data:`RUN_FILES_VARIABLE` (default ``static_arrays``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from brian2 import TimedArray
from brian2.units.fundamentalunits import fail_for_dimension_mismatch

from bioopzo.data.epochs import SparseValues
from bioopzo.devices.brian2_compat import timed_array_file
from bioopzo.devices.cpp_standalone.frames import FRAMES_FOLDER_VARIABLE, FrameInput

__all__ = ["run_arguments", "sparse_values_code", "write_sparse_values", "write_sparse_file",
           "sparse_file_name",
           "RUN_FILES_VARIABLE"]

#: environment variable naming the folder of a run's sparse files (default ``static_arrays``)
RUN_FILES_VARIABLE = FRAMES_FOLDER_VARIABLE


def sparse_file_name(timed: TimedArray) -> str:
    """The name of the file of ``timed``'s sparse values."""
    return f"run_{timed.name}.sparse"


def run_arguments(args: dict, folder: Path, files: list) -> list[str]:
    """Brian2's ``run_args`` (``{variable view or TimedArray: values}``) as
    command-line strings; arrays are written to files in ``folder`` (absolute
    or relative to the project), whose paths are appended to ``files``."""
    out = []
    for key, value in args.items():
        if isinstance(key, FrameInput):      # frames.py: always the sparse file
            path = folder / key.file_name
            path.unlink(missing_ok=True)
            sparse = value if isinstance(value, SparseValues) else SparseValues.of(value)
            write_sparse_file(path, sparse, key.size, np.dtype(np.float64), always=True)
            files.append(path)
            continue
        if isinstance(key, TimedArray):
            sparse = folder / sparse_file_name(key)
            sparse.unlink(missing_ok=True)
            if isinstance(value, SparseValues):
                if write_sparse_values(sparse, value, key.values):
                    files.append(sparse)
                    continue
                value = value.dense()
            name, dtype, shape = f"{key.name}.values", key.values.dtype, key.values.shape
        else:
            name, dtype = f"{key.group_name}.{key.name}", key.dtype
            shape = None if key.variable.dynamic else (key.shape[0],)
        fail_for_dimension_mismatch(key.dim, value)
        array = np.asarray(value, dtype=dtype)
        if array.size == 1:
            out.append(f"{name}={array.item()!r}")
            continue
        if shape is not None and array.size != int(np.prod(shape)):
            raise ValueError(f"run argument {name}: shape {array.shape}, the compiled "
                             f"model has {tuple(shape)}")
        path = folder / f"run_{name}.dat"
        files.append(path)
        array.ravel().tofile(path)
        out.append(f"{name}={path}")
    return out


def write_sparse_values(path: Path, values: SparseValues, compiled: np.ndarray) -> bool:
    """Write ``values`` (a run's values of a TimedArray whose compiled values are
    ``compiled``) to ``path`` in the sparse form of the module docstring, if that
    is smaller than the dense file; False (nothing written) otherwise."""
    return write_sparse_file(path, values, compiled.size, compiled.dtype)


def write_sparse_file(path: Path, values: SparseValues, size: int, dtype, always: bool = False) -> bool:
    """Write ``values`` to ``path`` in the sparse form of the module docstring, for
    ``size`` compiled values of ``dtype`` (:func:`write_sparse_values`);
    ``always``: write the sparse form even where the dense one is smaller."""
    if values.size != size:
        raise ValueError(f"run argument {path.name}: {values.size} values, the compiled "
                         f"model has {size}")
    itemsize = np.dtype(dtype).itemsize
    width = 4 if values.size < 2**31 else 8
    if not always and values.index.size * (width + itemsize) + 16 >= values.size * itemsize:
        return False
    with open(path, "wb") as f:
        np.array([values.index.size, width], dtype=np.int64).tofile(f)
        values.index.astype(np.int32 if width == 4 else np.int64).tofile(f)
        np.asarray(values.values, dtype=dtype).tofile(f)
    return True


def sparse_values_code(timed: TimedArray) -> str:
    """C++ for ``main`` after the command line is read: where the run wrote
    ``timed``'s sparse file (:func:`write_sparse_values`), set its values from
    it, every other value zero; a short or inconsistent file exits with an error."""
    array = timed_array_file(timed)
    ctype = "float" if timed.values.dtype == np.float32 else "double"
    name = sparse_file_name(timed)
    return f"""{{   // bioopzo run_files: the run's values of {timed.name}, where it passes them sparse
    const char* _folder = getenv("{RUN_FILES_VARIABLE}");
    const std::string _path = std::string(_folder ? _folder : "static_arrays") + "/{name}";
    std::ifstream _sparse(_path.c_str(), std::ios::in | std::ios::binary);
    if (_sparse.is_open())
    {{
        int64_t _header[2] = {{-1, 0}};
        _sparse.read(reinterpret_cast<char*>(_header), sizeof(_header));
        const int64_t _count = _header[0], _width = _header[1];
        const bool _valid = _sparse && _count >= 0 && _count <= _num_{array}
                            && (_width == 4 || _width == 8);
        std::vector<char> _index(_valid ? (size_t)(_count * _width) : 0);
        std::vector<{ctype}> _value(_valid ? (size_t)_count : 0);
        if (_valid && _count > 0)
        {{
            _sparse.read(&_index[0], _index.size());
            _sparse.read(reinterpret_cast<char*>(&_value[0]), _value.size() * sizeof({ctype}));
        }}
        if (!_valid || !_sparse)
        {{
            std::cerr << "bioopzo: the sparse values of {timed.name} in " << _path
                      << " are short or inconsistent" << std::endl;
            std::exit(1);
        }}
        for (int64_t _k = 0; _k < _num_{array}; _k++)
            {array}[_k] = 0;
        for (int64_t _k = 0; _k < _count; _k++)
        {{
            const int64_t _at = _width == 4 ? (int64_t)reinterpret_cast<const int32_t*>(&_index[0])[_k]
                                            : reinterpret_cast<const int64_t*>(&_index[0])[_k];
            if (_at < 0 || _at >= _num_{array})
            {{
                std::cerr << "bioopzo: index " << _at << " out of range in " << _path << std::endl;
                std::exit(1);
            }}
            {array}[_at] = _value[_k];
        }}
    }}
}}"""
