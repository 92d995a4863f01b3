"""What a standalone run passes to and takes from its binary (issue 18 item 4):
inputs as their non-zero entries, the folder in memory for a run's files, and
the write-back restricted to the arrays Python reads."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from bioopzo.data.epochs import SparseValues
from bioopzo.devices.brian2_compat import skip_written_arrays
from bioopzo.devices.cpp_standalone.exchange import PREFIX, exchange_folder, remove_folder
from bioopzo.devices.cpp_standalone.run_files import write_sparse_values


def test_sparse_values_give_back_the_dense_values_bit_for_bit():
    x = np.zeros((3, 4, 5), dtype=np.float32)
    x[0, 1, 2], x[1, 0, 0], x[2, 3, 4] = 1.0, -0.0, 0.3
    sparse = SparseValues.of(x, size=x.size + 20)
    assert sparse.values.dtype == np.float64 and sparse.size == 80
    assert list(sparse.index) == [7, 20, 59]          # -0.0 is kept: it is not 0.0's bits
    expected = np.concatenate([x.astype(float).ravel(), np.zeros(20)])
    assert sparse.dense().tobytes() == expected.tobytes()
    with pytest.raises(ValueError, match="do not fit"):
        SparseValues.of(x, size=10)
    assert list(SparseValues.of(np.array([[0, 2], [3, 0]])).index) == [1, 2]


def test_write_sparse_values_layout_and_choice(tmp_path):
    compiled = np.zeros(1000)
    values = np.zeros(1000)
    values[[3, 500, 999]] = [1.0, 2.5, -1.0]
    path = tmp_path / "run_x.sparse"
    assert write_sparse_values(path, SparseValues.of(values), compiled)
    raw = path.read_bytes()
    count, width = np.frombuffer(raw[:16], dtype=np.int64)
    assert (count, width) == (3, 4)
    assert list(np.frombuffer(raw[16:28], dtype=np.int32)) == [3, 500, 999]
    assert list(np.frombuffer(raw[28:], dtype=np.float64)) == [1.0, 2.5, -1.0]
    # mostly non-zero: the dense file is smaller, nothing is written
    dense = tmp_path / "run_y.sparse"
    assert not write_sparse_values(dense, SparseValues.of(np.arange(1.0, 1001.0)), compiled)
    assert not dense.exists()
    with pytest.raises(ValueError, match="compiled model has 1000"):
        write_sparse_values(path, SparseValues.of(np.ones(10)), compiled)


_OBJECTS = """void _write_arrays()
{
    using namespace brian;

%s
    // Write last run info to disk
    ofstream outfile_last_run_info;
}
"""

_BLOCK = """    ofstream outfile_%(n)s;
    outfile_%(n)s.open(results_dir + "%(n)s_1", ios::binary | ios::out);
    if(outfile_%(n)s.is_open())
    {
        outfile_%(n)s.write(reinterpret_cast<char*>(%(n)s), 4*sizeof(%(n)s[0]));
        outfile_%(n)s.close();
    } else
    {
        std::cout << "Error writing output file for %(n)s." << endl;
    }
"""


def test_skip_written_arrays_removes_only_the_named_blocks(tmp_path):
    names = ["_array_a", "_dynamic_array_syn_w", "_dynamic_array_syn__synaptic_pre"]
    (tmp_path / "objects.cpp").write_text(_OBJECTS % "".join(_BLOCK % {"n": n} for n in names))
    removed = skip_written_arrays(tmp_path, ["_dynamic_array_syn__synaptic_pre", "_array_zzz"])
    assert removed == {"_dynamic_array_syn__synaptic_pre"}
    text = (tmp_path / "objects.cpp").read_text()
    assert "outfile__dynamic_array_syn__synaptic_pre" not in text
    assert "outfile__array_a;" in text and "outfile__dynamic_array_syn_w;" in text
    assert "outfile_last_run_info" in text
    # another layout of the function: nothing is removed
    (tmp_path / "objects.cpp").write_text("void other() {}\n")
    assert skip_written_arrays(tmp_path, names) == set()


def test_exchange_folder_in_memory_and_stale_folders_removed(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f"{PREFIX}{dead.pid}-abc"
    (stale / "results_1").mkdir(parents=True)
    mine = exchange_folder(1000, root=tmp_path)
    assert mine is not None and mine.parent == tmp_path
    assert mine.name.startswith(f"{PREFIX}{os.getpid()}-")
    assert not stale.exists()
    # a link to a folder: the link and its target go
    (mine / "results_2").mkdir()
    link = tmp_path / "results_2"
    link.symlink_to(mine / "results_2", target_is_directory=True)
    remove_folder(link)
    assert not link.is_symlink() and not (mine / "results_2").exists()
    remove_folder(mine)
    assert not mine.exists()
    assert exchange_folder(1000, root=tmp_path / "missing") is None
    assert exchange_folder(2**62, root=tmp_path) is None      # no room
