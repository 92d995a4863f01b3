"""N-MNIST, SHD and DVS-Gesture read from a folder on the user's disk through tonic.

bioopzo never downloads data. ``data_dir`` is the folder that holds the data
set's own folder (tonic's ``save_to``); naming the data set's folder itself
also works. Expected layouts (the published archives, extracted):

    N-MNIST      <data_dir>/NMNIST/Train/<digit>/<id>.bin      digit 0..9, 40-bit events
                 <data_dir>/NMNIST/Test/<digit>/<id>.bin
    SHD          <data_dir>/SHD/shd_train.h5                   HDF5: spikes/times (s),
                 <data_dir>/SHD/shd_test.h5                    spikes/units, labels, extra/
    DVS-Gesture  <data_dir>/DVSGesture/ibmGestureTrain/user<NN>_<lighting>/<label>.npy
                 <data_dir>/DVSGesture/ibmGestureTest/user<NN>_<lighting>/<label>.npy

The folder is checked before tonic sees it: a missing or incomplete folder
raises :class:`~bioopzo.data.errors.DatasetFilesError` naming the data set,
the expected layout, the missing files and where the data set is published
(no network access is attempted). Each data set keeps its official train/test
split; ``limit`` keeps a stratified subset (class proportions kept, chosen from
the labels without reading any recording), split between train and test in
the proportion of the full splits. Inputs are lazy frame sources
(:class:`~bioopzo.data.frames.EventFrames`): recordings are read and binned
when a sample is requested.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from bioopzo.data.errors import CorruptEventFileError, DatasetFilesError
from bioopzo.data.names import EVENT_DATASETS
from bioopzo.data.samples import Dataset, check_labels, stratified_subset, validation_split

if TYPE_CHECKING:
    from bioopzo.config import DataConfig

__all__ = ["EventDatasetSpec", "SPECS", "EventSplits", "open_event_dataset", "load_event_dataset",
           "find_dataset_folder"]

log = logging.getLogger("bioopzo.data")


@dataclass(frozen=True)
class EventDatasetSpec:
    """What bioopzo knows about one event data set (no file access)."""

    name: str                       # config name: nmnist, shd, dvsgesture
    title: str
    folder: str                     # tonic's class and folder name
    sensor_size: tuple[int, int, int]   # (W, H, P)
    classes: tuple[str, ...]
    official_sizes: dict = field(default_factory=dict)   # split -> number of recordings
    layout: str = ""
    published: str = ""

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    def help_text(self) -> str:
        return (f"Expected layout:\n{self.layout}\n{self.title} is published at {self.published}; "
                "bioopzo never downloads it.")


SPECS: dict[str, EventDatasetSpec] = {
    "nmnist": EventDatasetSpec(
        "nmnist", "N-MNIST", "NMNIST", (34, 34, 2),
        tuple(f"{d} - {w}" for d, w in enumerate(
            "zero one two three four five six seven eight nine".split())),
        {"train": 60000, "test": 10000},
        "  <data_dir>/NMNIST/Train/<digit>/<id>.bin   (digit = 0..9; 60000 recordings)\n"
        "  <data_dir>/NMNIST/Test/<digit>/<id>.bin    (10000 recordings)",
        "https://www.garrickorchard.com/datasets/n-mnist (Orchard et al. 2015, Front. Neurosci. "
        "9:437; Train.zip and Test.zip, also Mendeley Data doi:10.17632/468j46mzdv.1): "
        "unzip both into <data_dir>/NMNIST",
    ),
    "shd": EventDatasetSpec(
        "shd", "SHD (Spiking Heidelberg Digits)", "SHD", (700, 1, 1),
        tuple([f"{w} (English)" for w in
               "zero one two three four five six seven eight nine".split()]
              + [f"{w} (German)" for w in
                 "null eins zwei drei vier fuenf sechs sieben acht neun".split()]),
        {"train": 8156, "test": 2264},
        "  <data_dir>/SHD/shd_train.h5   (HDF5: spikes/times in s, spikes/units, labels,\n"
        "  <data_dir>/SHD/shd_test.h5     extra/keys, extra/speaker)",
        "https://zenkelab.org/resources/spiking-heidelberg-datasets-shd/ (Cramer et al. 2020, "
        "IEEE TNNLS; shd_train.h5.gz and shd_test.h5.gz): gunzip both into <data_dir>/SHD",
    ),
    "dvsgesture": EventDatasetSpec(
        "dvsgesture", "DVS-Gesture", "DVSGesture", (128, 128, 2),
        ("hand clapping", "right hand wave", "left hand wave", "right arm clockwise",
         "right arm counter-clockwise", "left arm clockwise", "left arm counter-clockwise",
         "arm roll", "air drums", "air guitar", "other gestures"),
        {"train": 1077, "test": 264},
        "  <data_dir>/DVSGesture/ibmGestureTrain/user<NN>_<lighting>/<label>.npy\n"
        "  <data_dir>/DVSGesture/ibmGestureTest/user<NN>_<lighting>/<label>.npy\n"
        "  (label = 0..10; each .npy an (n, 4) array of x, y, p, t in ms, one gesture)",
        "https://research.ibm.com/interactive/dvsgesture/ (Amir et al. 2017, CVPR; the original "
        "AEDAT recordings). bioopzo reads tonic's per-gesture release of them, "
        "ibmGestureTrain.tar.gz and ibmGestureTest.tar.gz (figshare files 38022171 and 38020584, "
        "https://figshare.com/ndownloader/files/<number>): extract both into <data_dir>/DVSGesture",
    ),
}
assert tuple(SPECS) == EVENT_DATASETS


# ------------------------------------------------------------------ folder checks
def _files_error(spec: EventDatasetSpec, where: str, missing: list[str]) -> DatasetFilesError:
    listed = "\n".join(f"  {m}" for m in missing)
    return DatasetFilesError(
        f"{spec.title}: {where}; missing:\n{listed}\n{spec.help_text()}"
    )


def find_dataset_folder(spec: EventDatasetSpec, data_dir: str | Path | None) -> Path:
    """``<data_dir>/<folder>`` (or ``data_dir`` itself when it is that folder)."""
    if data_dir is None:
        raise DatasetFilesError(
            f"{spec.title} is read from a folder on your disk: pass --data-dir DIR (or set "
            f"[data] data_dir = \"DIR\" in the config), where DIR holds the {spec.folder}/ "
            f"folder.\n{spec.help_text()}"
        )
    base = Path(data_dir).expanduser()
    if not base.is_dir():
        raise _files_error(spec, f"the data folder {str(base)!r} does not exist",
                           [f"{base}/{spec.folder}/"])
    if (base / spec.folder).is_dir():
        return base / spec.folder
    if base.name == spec.folder:
        return base
    raise _files_error(spec, f"{str(base)!r} has no {spec.folder}/ folder",
                       [f"{base / spec.folder}/"])


def _missing_nmnist(root: Path) -> list[str]:
    missing = []
    for split, folder, archive in (("train", "Train", "Train.zip"), ("test", "Test", "Test.zip")):
        if not (root / folder).is_dir():
            zips = [z for z in (archive, archive.lower()) if (root / z).is_file()]
            hint = f" (extract {zips[0]} here)" if zips else ""
            missing.append(f"{folder}/  (the {split} split{hint})")
            continue
        for digit in range(10):
            sub = root / folder / str(digit)
            if not sub.is_dir():
                missing.append(f"{folder}/{digit}/")
            elif not any(p.name.endswith(".bin") for p in sub.iterdir()):
                missing.append(f"{folder}/{digit}/*.bin  (the folder holds no recordings)")
    return missing


_SHD_KEYS = ("spikes/times", "spikes/units", "labels", "extra/keys", "extra/speaker")


def _missing_shd(root: Path) -> list[str]:
    import h5py

    missing = []
    for split in ("train", "test"):
        path = root / f"shd_{split}.h5"
        if not path.is_file():
            packed = [p.name for p in (root / f"shd_{split}.h5.gz", root / f"shd_{split}.h5.zip")
                      if p.is_file()]
            hint = f" (decompress {packed[0]} here)" if packed else ""
            missing.append(f"shd_{split}.h5{hint}")
            continue
        try:
            with h5py.File(path, "r") as f:
                absent = [k for k in _SHD_KEYS if k not in f]
                lengths = {k: len(f[k]) for k in ("spikes/times", "spikes/units", "labels")
                           if k in f}
        except OSError as exc:
            raise CorruptEventFileError(
                f"{path} is not a readable HDF5 file ({exc}); it is truncated or corrupt: "
                f"replace it from the published copy ({SPECS['shd'].published})"
            ) from None
        if absent:
            raise CorruptEventFileError(
                f"{path} lacks the HDF5 dataset(s) {', '.join(absent)}; an SHD file holds "
                f"{', '.join(_SHD_KEYS)}"
            )
        if len(set(lengths.values())) > 1:
            raise CorruptEventFileError(
                f"{path}: spikes/times, spikes/units and labels have different lengths "
                f"{lengths}; the file is corrupt"
            )
    return missing


_USER_FOLDER = re.compile(r"^user(\d+)_(.+)$")
_LABEL_FILE = re.compile(r"^(\d+)\.npy$")


def _missing_dvsgesture(root: Path) -> list[str]:
    missing = []
    n_classes = SPECS["dvsgesture"].n_classes
    for split, folder in (("train", "ibmGestureTrain"), ("test", "ibmGestureTest")):
        split_dir = root / folder
        if not split_dir.is_dir():
            archive = root / f"{folder}.tar.gz"
            hint = f" (extract {archive.name} here)" if archive.is_file() else ""
            missing.append(f"{folder}/  (the {split} split{hint})")
            continue
        seen = set()
        for sub in sorted(split_dir.iterdir()):
            if not sub.is_dir():
                continue
            if not _USER_FOLDER.match(sub.name):
                raise DatasetFilesError(
                    f"DVS-Gesture: {sub} is not a recording folder; {folder}/ holds only "
                    f"user<NN>_<lighting>/ folders (move or remove it).\n{SPECS['dvsgesture'].help_text()}"
                )
            for file in sub.iterdir():
                if not file.name.endswith(".npy"):
                    continue
                match = _LABEL_FILE.match(file.name)
                if not match or int(match.group(1)) >= n_classes:
                    raise DatasetFilesError(
                        f"DVS-Gesture: {file} is not named <label>.npy with a label 0..{n_classes - 1} "
                        f"(move or remove it).\n{SPECS['dvsgesture'].help_text()}"
                    )
                seen.add(int(match.group(1)))
        if not seen:
            missing.append(f"{folder}/user<NN>_<lighting>/<label>.npy  (no recordings)")
        else:
            missing += [f"{folder}/user<NN>_<lighting>/{c}.npy  (no recording of class {c}, "
                        f"{SPECS['dvsgesture'].classes[c]})" for c in range(n_classes) if c not in seen]
    return missing


_MISSING = {"nmnist": _missing_nmnist, "shd": _missing_shd, "dvsgesture": _missing_dvsgesture}


# -------------------------------------------------------------------- readers
@dataclass
class EventSplits:
    """The train and test readers of one data set (tonic classes on a checked folder)."""

    spec: EventDatasetSpec
    root: Path
    train: object
    test: object
    y_train: np.ndarray
    y_test: np.ndarray

    def reader(self, split: str):
        return {"train": self.train, "test": self.test}[split]

    def labels(self, split: str) -> np.ndarray:
        return {"train": self.y_train, "test": self.y_test}[split]


def open_event_dataset(name: str, data_dir: str | Path | None) -> EventSplits:
    """Check the folder, then open both splits with tonic (no recording is read)."""
    if name not in SPECS:
        raise DatasetFilesError(f"unknown event data set {name!r}; choose one of {', '.join(SPECS)}")
    spec = SPECS[name]
    root = find_dataset_folder(spec, data_dir)
    missing = _MISSING[name](root)
    if missing:
        raise _files_error(spec, f"the folder {root} is incomplete", missing)

    from bioopzo.data import tonic_readers

    reader_cls = getattr(tonic_readers, spec.folder)
    readers, labels = [], []
    for train in (True, False):
        reader = reader_cls(str(root.parent), train=train)
        if spec.name == "shd":
            import h5py

            path = root / reader.data_filename
            with h5py.File(path, "r") as f:
                y = np.asarray(f["labels"][()])
        else:
            y = np.asarray(reader.targets)
        split = "train" if train else "test"
        readers.append(reader)
        labels.append(check_labels(y, spec.n_classes, f"{spec.title} {split} labels"))
        official = spec.official_sizes.get(split)
        if official and len(y) != official:
            log.warning("%s: %d %s recordings found in %s (the published split has %d)",
                        spec.title, len(y), split, root, official)
    return EventSplits(spec, root, readers[0], readers[1], labels[0], labels[1])


def _limit_indices(splits: EventSplits, limit: int | None, rng) -> tuple[np.ndarray, np.ndarray]:
    n_train, n_test = len(splits.y_train), len(splits.y_test)
    train, test = np.arange(n_train), np.arange(n_test)
    if limit is not None and limit < n_train + n_test:
        n_tr = min(n_train, max(1, int(round(limit * n_train / (n_train + n_test)))))
        n_te = min(n_test, max(1, limit - n_tr))
        train = stratified_subset(splits.y_train, n_tr, rng)
        test = stratified_subset(splits.y_test, n_te, rng)
    return train, test


def load_event_dataset(config: DataConfig, seed: int, *, cache_megabytes: float = 256.0):
    """A :class:`~bioopzo.data.samples.Dataset` whose inputs are lazy frame sources
    of shape (N, T, n_inputs), with the official split (or a stratified ``limit``)."""
    from bioopzo.data.frames import Binning, EventFrames

    splits = open_event_dataset(config.dataset, config.data_dir)
    spec = splits.spec
    binning = Binning.from_config(config, spec.sensor_size)
    rng = np.random.default_rng([seed, 7])
    train, test = _limit_indices(splits, config.limit, rng)
    if config.validation_fraction > 0:
        # evaluate on a share of the official training split; the test split is not read
        train, val = validation_split(np.asarray(train), splits.y_train, config.validation_fraction, seed)
        x_train = EventFrames(splits.train.read, train, binning, cache_megabytes=cache_megabytes / 2,
                              name=f"{config.dataset} train")
        x_val = EventFrames(splits.train.read, val, binning, cache_megabytes=cache_megabytes / 2,
                            name=f"{config.dataset} validation")
        return Dataset(config.dataset, x_train, splits.y_train[train], x_val, splits.y_train[val],
                       spec.n_classes, "validation")
    x_train = EventFrames(splits.train.read, train, binning, cache_megabytes=cache_megabytes / 2,
                          name=f"{config.dataset} train")
    x_test = EventFrames(splits.test.read, test, binning, cache_megabytes=cache_megabytes / 2,
                         name=f"{config.dataset} test")
    return Dataset(config.dataset, x_train, splits.y_train[train], x_test, splits.y_test[test],
                   spec.n_classes)
