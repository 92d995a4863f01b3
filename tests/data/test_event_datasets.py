"""Event data sets from local folders (issue 4): N-MNIST, SHD and DVS-Gesture files written
here in their published formats, read back through the loaders users call.

Check 1: decoded events equal the written ones, edge cases included (an empty
recording, the last pixel, the largest timestamp). Check 2: binning conserves
events. Missing and corrupt data give clear errors without any network access.
"""

from __future__ import annotations

import socket
import time

import numpy as np
import pytest

from bioopzo.config import ConfigError, DataConfig, ExperimentConfig
from bioopzo.data import load_dataset
from bioopzo.data.errors import CorruptEventFileError, DatasetFilesError
from bioopzo.data.frames import Binning
from bioopzo.data.tonic_datasets import SPECS, open_event_dataset
from bioopzo.data.event_writers import (
    NMNIST_T_MAX,
    class_pattern_nmnist,
    random_nmnist_events,
    write_dvsgesture,
    write_nmnist,
    write_shd,
)


def frames_config(dataset, data_dir, **extra):
    return DataConfig(dataset=dataset, encoding="frames", data_dir=str(data_dir), **extra)


def as_tuple(events, fields=("x", "y", "p", "t")):
    return tuple(np.asarray(events[f]).astype(np.int64) for f in fields if f in events.dtype.names)


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a connection or resolve a name fails the test."""
    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    for name in ("connect", "connect_ex", "sendto"):
        monkeypatch.setattr(socket.socket, name, refuse)
    for name in ("create_connection", "getaddrinfo", "gethostbyname"):
        monkeypatch.setattr(socket, name, refuse)
    import urllib.request

    monkeypatch.setattr(urllib.request, "urlopen", refuse)


# ------------------------------------------------------------------ N-MNIST
def nmnist_edge_recordings(rng):
    """Per (split, digit): the edge cases in train digit 0, random recordings elsewhere."""
    empty = (np.array([], int),) * 4
    last_pixel = (np.array([0, 33, 33]), np.array([0, 33, 33]), np.array([0, 1, 0]),
                  np.array([5, 17, 1000]))
    largest_t = (np.array([3, 4, 5]), np.array([1, 2, 33]), np.array([1, 0, 1]),
                 np.array([0, 2**16 + 3, NMNIST_T_MAX]))
    recordings = {("train", 0): [empty, last_pixel, largest_t]}
    for split in ("train", "test"):
        for d in range(10):
            recordings.setdefault((split, d), [])
            recordings[(split, d)].append(random_nmnist_events(rng, 50))
    return recordings


def test_nmnist_events_round_trip_with_edge_cases(tmp_path, rng):
    recordings = nmnist_edge_recordings(rng)
    write_nmnist(tmp_path, recordings)
    ds = load_dataset(frames_config("nmnist", tmp_path, steps_per_sample=5), seed=1)
    assert ds.n_inputs == 34 * 34 * 2 and ds.n_classes == 10
    assert len(ds.y_train) == 13 and len(ds.y_test) == 10
    # tonic lists files sorted by folder and name, which is the order they were written
    written = {split: [(d, ev) for (s, d), recs in sorted(recordings.items()) if s == split
                       for ev in recs] for split in ("train", "test")}
    for split, x, y in (("train", ds.x_train, ds.y_train), ("test", ds.x_test, ds.y_test)):
        for k, (digit, events) in enumerate(written[split]):
            decoded = x.events(k)
            assert y[k] == digit
            for got, want in zip(as_tuple(decoded), events):
                np.testing.assert_array_equal(got, want)
    assert len(ds.x_train.events(0)) == 0
    assert as_tuple(ds.x_train.events(1))[0][-2] == 33
    assert ds.x_train.events(2)["t"].max() == NMNIST_T_MAX
    # the empty recording gives T all-zero frames; the last pixel of polarity 1 is the last input
    frames = ds.x_train[np.array([0, 1])]
    assert frames.shape == (2, 5, 2312) and frames.dtype == np.float32
    assert frames[0].sum() == 0
    assert frames[1, :, 2311].sum() == 1 and frames[1, :, 33 * 34 + 33].sum() == 1


# ---------------------------------------------------------------------- SHD
def shd_recordings(rng, n=20):
    times_us = [np.sort(rng.integers(0, 1_000_000, 30)) for _ in range(n)]
    units = [rng.integers(0, 700, 30) for _ in range(n)]
    times_us[0], units[0] = np.array([], int), np.array([], int)           # empty
    times_us[1], units[1] = np.array([0, 7, 3_999_999]), np.array([699, 0, 699])   # edges
    return times_us, units, np.arange(n) % 20


def test_shd_events_round_trip_with_edge_cases(tmp_path, rng):
    times_us, units, labels = shd_recordings(rng)
    for split in ("train", "test"):
        write_shd(tmp_path, split, [t * 1e-6 for t in times_us], units, labels)
    ds = load_dataset(frames_config("shd", tmp_path, steps_per_sample=4, bin_width="1000 ms"), seed=1)
    assert ds.n_inputs == 700 and ds.n_classes == 20
    np.testing.assert_array_equal(ds.y_train, labels)
    for k in range(len(labels)):
        ev = ds.x_train.events(k)
        np.testing.assert_array_equal(ev["t"], times_us[k])      # to the microsecond
        np.testing.assert_array_equal(ev["x"], units[k])
    frames = ds.x_test[np.array([0, 1])]
    assert frames[0].sum() == 0
    # t = 0 and 7 us in bin 0, 3 999 999 us in bin 3 (1 s bins)
    assert frames[1, 0, 699] == 1 and frames[1, 0, 0] == 1 and frames[1, 3, 699] == 1
    assert frames[1].sum() == 3


# -------------------------------------------------------------- DVS-Gesture
def dvs_recordings(rng, users, dtype):
    recs = {}
    for user in users:
        for label in range(11):
            n = 40
            recs[(user, "fluorescent_led", label)] = (
                rng.integers(0, 128, n), rng.integers(0, 128, n), rng.integers(0, 2, n),
                np.sort(rng.integers(0, 6000, n)))
    u = users[0]
    recs[(u, "fluorescent_led", 0)] = (np.array([], int),) * 4
    recs[(u, "fluorescent_led", 1)] = (np.array([127, 0]), np.array([127, 0]), np.array([1, 0]),
                                       np.array([0, 2**40]))
    return recs


@pytest.mark.parametrize("dtype", [np.int64, np.float64])
def test_dvsgesture_events_round_trip_with_edge_cases(tmp_path, rng, dtype):
    train = dvs_recordings(rng, [1, 2], dtype)
    test = dvs_recordings(rng, [24], dtype)
    write_dvsgesture(tmp_path, "train", train, dtype)
    write_dvsgesture(tmp_path, "test", test, dtype)
    splits = open_event_dataset("dvsgesture", tmp_path)
    assert len(splits.y_train) == 22 and len(splits.y_test) == 11
    for split, written in (("train", train), ("test", test)):
        reader = splits.reader(split)
        for i, path in enumerate(reader.data):
            user = int(path.split("/user")[1][:2])
            label = int(path.rsplit("/", 1)[1][:-4])
            assert splits.labels(split)[i] == label
            x, y, p, t_ms = written[(user, "fluorescent_led", label)]
            got = as_tuple(reader.read(i))
            for g, w in zip(got, (x, y, p, np.asarray(t_ms, np.int64) * 1000)):
                np.testing.assert_array_equal(g, w)
    # empty recording -> zero frames; last pixel of polarity 1 -> last input after downsampling
    ds = load_dataset(frames_config("dvsgesture", tmp_path, steps_per_sample=3,
                                    downsample_to=[32, 32]), seed=1)
    assert ds.n_inputs == 2048
    k_empty = [k for k in range(len(ds.y_test)) if len(ds.x_test.events(k)) == 0]
    k_edge = [k for k in range(len(ds.y_test)) if len(ds.x_test.events(k)) == 2]
    frames = ds.x_test[np.array(k_empty + k_edge)]
    assert frames[0].sum() == 0
    assert frames[1, 0, 2047] == 1 and frames[1, 2, 0] == 1 and frames[1].sum() == 2


# ------------------------------------------------------------------ binning
def expected_counts(events, binning: Binning):
    """Independent count per (bin, input) from the definition in bioopzo.data.frames."""
    W, H, P = binning.sensor_size
    W2, H2, P2 = binning.output_sensor_size
    t = events["t"].astype(np.int64)
    T = binning.steps
    out = np.zeros((T, binning.n_inputs), np.int64)
    if t.size == 0:
        return out
    t0 = t.min()
    w = binning.bin_width_us or -(-(t.max() - t0 + 1) // T)
    k = (t - t0) // w
    x = events["x"].astype(np.int64) * W2 // W
    y = events["y"].astype(np.int64) * H2 // H if "y" in events.dtype.names else 0
    p = events["p"].astype(np.int64) if P2 == 2 else 0
    j = p * W2 * H2 + y * W2 + x
    keep = k < T
    np.add.at(out, (k[keep], j[keep]), 1)
    return out


@pytest.mark.parametrize("options", [
    {"steps_per_sample": 7},
    {"steps_per_sample": 5, "bin_width": "20 ms"},          # recordings longer than 5 x 20 ms
    {"steps_per_sample": 4, "downsample_to": [8, 8], "polarity": "merge"},
    {"steps_per_sample": 6, "downsample_to": [17, 9]},
])
def test_binning_conserves_events_per_pixel_and_polarity(tmp_path, rng, options):
    """Check 2: summed over the T bins, the counts equal each input's events (all of them
    without bin_width; those before t_0 + T w with it), and every event is in bin
    floor((t - t_0) / w)."""
    recordings = nmnist_edge_recordings(rng)
    recordings[("test", 3)].append(random_nmnist_events(rng, 2000, t_max=300_000))
    write_nmnist(tmp_path, recordings)
    ds = load_dataset(frames_config("nmnist", tmp_path, **options), seed=1)
    binning = ds.x_train.binning
    assert binning.n_inputs == ds.n_inputs
    n_checked = 0
    for x in (ds.x_train, ds.x_test):
        frames = x[np.arange(len(x))]
        for k in range(len(x)):
            events = x.events(k)
            want = expected_counts(events, binning)
            np.testing.assert_array_equal(x.counts(k), want)
            np.testing.assert_array_equal(frames[k], want)
            if binning.bin_width_us is None:
                # conservation: per input, the sum over bins is the number of its events
                per_input = expected_counts(events, Binning(binning.sensor_size, 1, None,
                                                            binning.downsample_to, binning.polarity))
                np.testing.assert_array_equal(frames[k].sum(axis=0), per_input[0])
                assert frames[k].sum() == len(events)
            n_checked += 1
    assert n_checked == len(ds.y_train) + len(ds.y_test)


def test_binary_values_clip_counts(tmp_path, rng):
    write_nmnist(tmp_path, {(s, d): [(np.full(5, 3), np.full(5, 4), np.ones(5, int), np.arange(5))]
                            for s in ("train", "test") for d in range(10)})
    ds = load_dataset(frames_config("nmnist", tmp_path, steps_per_sample=1, frame_values="binary"), 1)
    counts = load_dataset(frames_config("nmnist", tmp_path, steps_per_sample=1), 1)
    j = 34 * 34 + 4 * 34 + 3
    assert counts.x_train[np.array([0])][0, 0, j] == 5
    assert ds.x_train[np.array([0])][0, 0, j] == 1


# ------------------------------------------------------------------ subsets
def test_limit_takes_a_stratified_subset_without_reading_recordings(tmp_path, rng, monkeypatch):
    class_pattern_nmnist(tmp_path, {"train": 6, "test": 3}, rng, n_events=10)
    from bioopzo.data import tonic_readers

    def refuse(self, index):
        raise AssertionError("a recording was read")

    monkeypatch.setattr(tonic_readers.NMNIST, "read", refuse)
    ds = load_dataset(frames_config("nmnist", tmp_path, steps_per_sample=4, limit=30), seed=3)
    assert len(ds.y_train) == 20 and len(ds.y_test) == 10     # 60:30 kept
    np.testing.assert_array_equal(np.bincount(ds.y_train, minlength=10), 2)
    np.testing.assert_array_equal(np.bincount(ds.y_test, minlength=10), 1)
    assert ds.x_train.shape == (20, 4, 2312) and len(ds.x_train) == 20
    again = load_dataset(frames_config("nmnist", tmp_path, steps_per_sample=4, limit=30), seed=3)
    np.testing.assert_array_equal(ds.x_train.samples, again.x_train.samples)
    with pytest.raises(AssertionError, match="a recording was read"):
        ds.x_train[np.array([0])]


# ------------------------------------------------------------------- errors
def make_complete(dataset, root, rng):
    if dataset == "nmnist":
        class_pattern_nmnist(root, {"train": 1, "test": 1}, rng, n_events=5)
    elif dataset == "shd":
        times, units, labels = shd_recordings(rng, 4)
        for split in ("train", "test"):
            write_shd(root, split, [t * 1e-6 for t in times], units, labels)
    else:
        write_dvsgesture(root, "train", dvs_recordings(rng, [1], np.int64))
        write_dvsgesture(root, "test", dvs_recordings(rng, [24], np.int64))


@pytest.mark.parametrize("dataset", ["nmnist", "shd", "dvsgesture"])
def test_missing_folder_is_a_clear_error_without_network(tmp_path, dataset, no_network):
    spec = SPECS[dataset]
    start = time.perf_counter()
    with pytest.raises(DatasetFilesError) as info:
        load_dataset(frames_config(dataset, tmp_path), seed=1)
    assert time.perf_counter() - start < 1.0
    message = str(info.value)
    assert spec.title in message and "Expected layout" in message
    assert f"{tmp_path / spec.folder}/" in message                   # what is missing
    assert spec.published.split()[0] in message                      # where it is published
    assert "never downloads" in message
    assert not (tmp_path / spec.folder).exists()                    # nothing was created
    with pytest.raises(DatasetFilesError, match="pass --data-dir"):
        load_dataset(DataConfig(dataset=dataset, encoding="frames"), seed=1)


def test_incomplete_folders_name_the_missing_files(tmp_path, rng, no_network):
    import shutil

    make_complete("nmnist", tmp_path, rng)
    shutil.rmtree(tmp_path / "NMNIST" / "Train" / "3")
    shutil.rmtree(tmp_path / "NMNIST" / "Test")
    (tmp_path / "NMNIST" / "Test.zip").write_bytes(b"")
    with pytest.raises(DatasetFilesError) as info:
        load_dataset(frames_config("nmnist", tmp_path), seed=1)
    assert "Train/3/" in str(info.value) and "Test/" in str(info.value)
    assert "extract Test.zip here" in str(info.value)

    make_complete("shd", tmp_path, rng)
    (tmp_path / "SHD" / "shd_test.h5").rename(tmp_path / "SHD" / "shd_test.h5.gz")
    with pytest.raises(DatasetFilesError, match=r"shd_test.h5 \(decompress shd_test.h5.gz here\)"):
        load_dataset(frames_config("shd", tmp_path), seed=1)

    make_complete("dvsgesture", tmp_path, rng)
    (tmp_path / "DVSGesture" / "ibmGestureTest" / "user24_fluorescent_led" / "7.npy").unlink()
    missing_class = r"ibmGestureTest/user<NN>_<lighting>/7.npy  \(no recording of class 7, arm roll\)"
    with pytest.raises(DatasetFilesError, match=missing_class):
        load_dataset(frames_config("dvsgesture", tmp_path), seed=1)
    # pointing at the data set's own folder works as well
    (tmp_path / "DVSGesture" / "ibmGestureTest" / "user24_fluorescent_led" / "7.npy").write_bytes(
        (tmp_path / "DVSGesture" / "ibmGestureTest" / "user24_fluorescent_led" / "6.npy").read_bytes())
    assert len(load_dataset(frames_config("dvsgesture", tmp_path / "DVSGesture"), 1).y_test) == 11


def test_corrupt_files_are_named(tmp_path, rng, no_network):
    make_complete("nmnist", tmp_path, rng)
    ds = load_dataset(frames_config("nmnist", tmp_path, steps_per_sample=2), seed=1)
    bad = sorted((tmp_path / "NMNIST" / "Train" / "0").glob("*.bin"))[0]
    bad.write_bytes(bad.read_bytes()[:-2])                         # truncated
    with pytest.raises(CorruptEventFileError, match=f"{bad}.*not a whole number of 5-byte"):
        ds.x_train[np.array([0])]
    from bioopzo.data.event_writers import nmnist_bytes

    bad.write_bytes(nmnist_bytes([200], [3], [0], [10]))           # x beyond the 34-pixel sensor
    with pytest.raises(CorruptEventFileError, match=f"{bad}.*x outside 0..33"):
        load_dataset(frames_config("nmnist", tmp_path, steps_per_sample=2), 1).x_train[np.array([0])]

    make_complete("shd", tmp_path, rng)
    path = tmp_path / "SHD" / "shd_train.h5"
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(CorruptEventFileError, match=f"{path} is not a readable HDF5 file"):
        load_dataset(frames_config("shd", tmp_path), seed=1)

    make_complete("dvsgesture", tmp_path, rng)
    path = tmp_path / "DVSGesture" / "ibmGestureTrain" / "user01_fluorescent_led" / "5.npy"
    path.write_bytes(path.read_bytes()[:150])
    ds = load_dataset(frames_config("dvsgesture", tmp_path, steps_per_sample=2), seed=1)
    k = [i for i, p in enumerate(ds.x_train._read.__self__.data) if p == str(path)][0]
    with pytest.raises(CorruptEventFileError, match=f"{path} cannot be read as a DVS-Gesture"):
        ds.x_train[np.array([k])]


# ------------------------------------------------------------- config, CLI
def test_event_config_options_are_validated():
    with pytest.raises(ConfigError, match='event data set.*encoding = "frames"'):
        DataConfig(dataset="nmnist")
    with pytest.raises(ConfigError, match="data_dir applies only to the event data sets"):
        DataConfig(data_dir="/data")
    with pytest.raises(ConfigError, match="downsample_to"):
        DataConfig(dataset="dvsgesture", encoding="frames", downsample_to=[32])
    with pytest.raises(ConfigError, match="a time is needed"):
        DataConfig(dataset="shd", encoding="frames", bin_width="10 Hz")
    with pytest.raises(ConfigError, match="larger than the sensor"):
        Binning.from_config(DataConfig(dataset="nmnist", encoding="frames", downsample_to=[40, 40]),
                            SPECS["nmnist"].sensor_size)
    with pytest.raises(ConfigError, match="SHD has 700 channels"):
        Binning.from_config(DataConfig(dataset="shd", encoding="frames", downsample_to=[10, 1]),
                            SPECS["shd"].sensor_size)
    cfg = ExperimentConfig.from_dict({"data": {"dataset": "shd", "encoding": "frames",
                                               "bin_width": "10 ms", "data_dir": "/data"}})
    assert ExperimentConfig.from_dict(cfg.to_dict()) == cfg


def test_packaged_event_models_have_the_documented_sizes(capsys):
    from bioopzo.cli import main
    from bioopzo.config import load_config, resolve_config_path

    sizes = {"nmnist_fc": (2312, [800], 10), "shd_fc": (700, [256], 20),
             "dvsgesture_fc": (2048, [512], 11)}
    for name, (n_in, hidden, n_cls) in sizes.items():
        cfg = load_config(resolve_config_path(name))
        spec = SPECS[cfg.data.dataset]
        assert Binning.from_config(cfg.data, spec.sensor_size).n_inputs == n_in
        assert list(cfg.network.hidden) == hidden and spec.n_classes == n_cls
        assert cfg.data.encoding == "frames" and cfg.data.data_dir is None
    assert main(["models"]) == 0                         # lists configs whose data are absent
    listed = capsys.readouterr().out
    assert all(name in listed for name in sizes)


def test_data_info_prints_the_folder_statistics(tmp_path, rng, capsys, no_network):
    from bioopzo.cli import main

    class_pattern_nmnist(tmp_path, {"train": 3, "test": 1}, rng, n_events=40, t_max=60_000)
    assert main(["data", "info", "--dataset", "nmnist", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "train: 30 samples" in out and "test: 10 samples" in out
    assert "classes: 10" in out and "34 x 34 pixels x 2 polarities" in out
    assert "events per sample: mean 40.0, range 40.0..40.0" in out
    assert "events in the T bins: 1600 of 1600 (100.00 %)" in out
    # input per step: binary values of nmnist_fc (T = 30), recomputed here
    ds = load_dataset(frames_config("nmnist", tmp_path, steps_per_sample=30, frame_values="binary"), 1)
    total = sum(x[np.arange(len(x))].sum() for x in (ds.x_train, ds.x_test))
    assert f"input per step: {total / (40 * 30 * 2312):.5f} per input" in out
    assert main(["data", "info", "--dataset", "shd", "--data-dir", str(tmp_path)]) == 2
    assert "SHD" in capsys.readouterr().err


def test_train_data_dir_option_sets_the_config(tmp_path, monkeypatch):
    from bioopzo.cli import build_parser, config_overrides

    args = build_parser().parse_args(["train", "--config", "nmnist_fc", "--data-dir", str(tmp_path)])
    assert config_overrides(args)["data"]["data_dir"] == str(tmp_path)
    monkeypatch.chdir(tmp_path)
    args = build_parser().parse_args(["train", "--data-dir", "events"])
    assert config_overrides(args)["data"]["data_dir"] == str(tmp_path / "events")   # saved absolute


def test_data_info_reports_events_beyond_the_fixed_bins(tmp_path, capsys):
    """shd_fc bins 100 x 10 ms from the first spike: later spikes are counted as dropped."""
    from bioopzo.cli import main

    times_us = [np.array([0, 500_000, 999_999, 1_000_000, 1_300_000]), np.array([200, 300])]
    units = [np.array([1, 2, 3, 4, 5]), np.array([699, 699])]
    for split in ("train", "test"):
        write_shd(tmp_path, split, [t * 1e-6 for t in times_us], units, [0, 1])
    assert main(["data", "info", "--dataset", "shd", "--data-dir", str(tmp_path),
                 "--max-samples", "1"]) == 0
    out = capsys.readouterr().out
    assert "statistics over 2 recordings (stratified subset" in out
    assert main(["data", "info", "--dataset", "shd", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    # per split: 5 + 2 spikes, of which the ones at 1.0 s and 1.3 s lie beyond 100 x 10 ms
    assert "events in the T bins: 10 of 14 (71.43 %)" in out
    assert "T = 100 bins of 10 ms, values binary: 700 inputs" in out
    # binary input per step: channel 699 gets two spikes in one 10 ms bin -> one
    assert f"input per step: {(3 + 1) * 2 / (4 * 100 * 700):.5f} per input" in out
