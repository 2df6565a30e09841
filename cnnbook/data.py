"""CIFAR-10: loading, deterministic class-balanced subsets, a validation split, normalization.

`load_cifar10` returns the arrays the way ``keras.datasets.cifar10.load_data()`` does. `cifar10`
returns a `Dataset`: train, validation and test splits of chosen sizes with the per-channel
statistics of its training split. The validation split is carved from the official training set,
so model selection never looks at the test set.

Augmentation (random crop from 4-pixel padding, horizontal flip) is a Keras layer,
`cnnbook.layers.RandomCropFlip`, that runs on the accelerator inside the compiled training step.

Only numpy is imported here; Keras is imported when a download is attempted.
"""

import functools
import os
import pickle
import tarfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cnnbook.errors import DataNotFoundError, check_int

CLASS_NAMES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)
NUM_CLASSES = len(CLASS_NAMES)

FOLDER = "cifar-10-batches-py"
ARCHIVE = "cifar-10-python.tar.gz"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
DOWNLOAD_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"


def load_cifar10(data_dir=None):
    """Load CIFAR-10 as ``(x_train, y_train), (x_test, y_test)``, like Keras does.

    ``x`` arrays are uint8 of shape (N, 32, 32, 3), ``y`` arrays uint8 of shape (N, 1), in the
    official order (50,000 training images from ``data_batch_1..5``, then 10,000 test images).
    The arrays are cached and read-only: copy one before changing it.

    Where the data comes from, in this order:

    1. ``data_dir``, or else the directory in the environment variable ``CNNBOOK_DATA``: its
       ``cifar-10-batches-py/`` folder, or the official ``cifar-10-python.tar.gz`` in it.
    2. ``keras.datasets.cifar10.load_data()``, which downloads the archive once into
       ``~/.keras/datasets``.

    Raises `DataNotFoundError` (saying what was tried and how to fix it) when neither works.
    """
    if data_dir is not None:
        return _load_from_directory(str(Path(data_dir).expanduser().resolve()), "the data_dir argument")
    if os.environ.get("CNNBOOK_DATA"):
        return _load_from_directory(str(Path(os.environ["CNNBOOK_DATA"]).expanduser().resolve()), "CNNBOOK_DATA")
    return _load_with_keras()


@functools.lru_cache(maxsize=2)
def _load_from_directory(directory, origin):
    root = Path(directory)
    if not root.is_dir():
        raise DataNotFoundError(
            f"CIFAR-10: the data directory {root} (from {origin}) does not exist. "
            f"Create it and put {FOLDER}/ or {ARCHIVE} in it (from {DOWNLOAD_URL}), "
            "or unset CNNBOOK_DATA to let Keras download the data."
        )
    folder = root / FOLDER if (root / FOLDER).is_dir() else root
    if all((folder / name).is_file() for name in (*TRAIN_BATCHES, TEST_BATCH)):
        read = lambda name: (folder / name).read_bytes()  # noqa: E731
        source = folder
    elif (root / ARCHIVE).is_file():
        archive = tarfile.open(root / ARCHIVE, "r:gz")
        members = {Path(m.name).name: m for m in archive.getmembers() if m.isfile()}
        read = lambda name: archive.extractfile(members[name]).read()  # noqa: E731
        source = root / ARCHIVE
        missing = [n for n in (*TRAIN_BATCHES, TEST_BATCH) if n not in members]
        if missing:
            raise DataNotFoundError(f"CIFAR-10: {source} is incomplete: it lacks {', '.join(missing)}.")
    else:
        present = sorted(p.name for p in folder.iterdir())[:8] if folder.is_dir() else []
        raise DataNotFoundError(
            f"CIFAR-10: {root} holds neither a complete {FOLDER}/ folder "
            f"({', '.join((*TRAIN_BATCHES, TEST_BATCH))}) nor {ARCHIVE}; it holds "
            f"{present or 'nothing'} (the directory comes from {origin}). Put the official archive from {DOWNLOAD_URL} (or its unpacked "
            f"{FOLDER}/ folder) there, or unset CNNBOOK_DATA to let Keras download it."
        )
    try:
        train = [_decode_batch(read(name), name) for name in TRAIN_BATCHES]
        test = _decode_batch(read(TEST_BATCH), TEST_BATCH)
    except (pickle.UnpicklingError, KeyError, ValueError, EOFError, OSError) as error:
        raise DataNotFoundError(
            f"CIFAR-10: could not read {source} ({type(error).__name__}: {error}). The files may be "
            f"truncated or not the python version of CIFAR-10; download {DOWNLOAD_URL} again."
        ) from error
    x_train = np.concatenate([x for x, _ in train])
    y_train = np.concatenate([y for _, y in train])
    return _read_only((x_train, y_train)), _read_only(test)


def _decode_batch(raw, name):
    batch = pickle.loads(raw, encoding="bytes")
    data = np.asarray(batch[b"data"], dtype=np.uint8)
    labels = np.asarray(batch[b"labels"], dtype=np.uint8)
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(labels) != len(data):
        raise ValueError(f"{name}: expected N rows of 3072 pixels and N labels, got {data.shape}, {labels.shape}")
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels.reshape(-1, 1)


@functools.lru_cache(maxsize=1)
def _load_with_keras():
    try:
        import keras

        (x_train, y_train), (x_test, y_test) = keras.datasets.cifar10.load_data()
    except Exception as error:  # any failure: no network, bad hash, missing backend
        raise DataNotFoundError(
            "CIFAR-10 could not be loaded. Tried: (1) the environment variable CNNBOOK_DATA, which is "
            f"not set; (2) keras.datasets.cifar10.load_data(), which failed with {type(error).__name__}: "
            f"{error}. To fix it, download {DOWNLOAD_URL} (or copy it from a machine that has it), put "
            f"it or its unpacked {FOLDER}/ folder in a directory and set CNNBOOK_DATA to that "
            "directory, e.g. `export CNNBOOK_DATA=~/data`."
        ) from error
    return _read_only((x_train, y_train.reshape(-1, 1).astype(np.uint8))), _read_only(
        (x_test, y_test.reshape(-1, 1).astype(np.uint8))
    )


def _read_only(arrays):
    for array in arrays:
        array.flags.writeable = False
    return arrays


# ---------------------------------------------------------------------------------------------
# Subsets and splits


def class_balanced_indices(labels, per_class, *, seed=0, skip=0):
    """Indices of ``per_class`` examples of every class, chosen at random but reproducibly.

    Each class's examples are shuffled once with ``seed``; the subset takes positions
    ``skip .. skip + per_class`` of that order. So subsets grow by nesting (the 100-per-class
    subset is part of the 500-per-class one) and ``skip`` carves disjoint pieces (a validation
    split first, the training subset after it). The result is sorted.
    """
    labels = np.asarray(labels).reshape(-1)
    per_class = check_int("per_class", per_class, minimum=1)
    out = []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        order = np.random.default_rng([seed, int(c)]).permutation(members)
        if skip + per_class > len(order):
            raise ValueError(
                f"class {int(c)} has {len(order)} examples: cannot take {per_class} after skipping {skip}"
            )
        out.append(order[skip : skip + per_class])
    return np.sort(np.concatenate(out))


@dataclass(frozen=True)
class Dataset:
    """Train, validation and test splits: uint8 images (N, H, W, C) and integer labels (N,).

    ``mean`` and ``std`` are the per-channel statistics of the training split on the 0..1 scale;
    `normalize` and `cnnbook.train` use them.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    mean: tuple
    std: tuple
    class_names: tuple = CLASS_NAMES

    @property
    def num_classes(self):
        return len(self.class_names)

    @property
    def input_shape(self):
        return tuple(self.x_train.shape[1:])

    def sizes(self):
        """Number of examples in each split, as a dict."""
        return {"train": len(self.y_train), "val": len(self.y_val), "test": len(self.y_test)}

    def table(self):
        """Examples per class and split, as a pandas DataFrame."""
        import pandas as pd

        counts = {
            split: np.bincount(y, minlength=self.num_classes)
            for split, y in (("train", self.y_train), ("val", self.y_val), ("test", self.y_test))
        }
        frame = pd.DataFrame(counts, index=pd.Index(self.class_names, name="class"))
        frame.loc["total"] = frame.sum()
        return frame


def cifar10(train_per_class=None, val_per_class=500, test_per_class=None, *, seed=0, data_dir=None):
    """CIFAR-10 as a `Dataset` with a validation split carved from the training set.

    ``val_per_class`` images of each class (500 gives the usual 5,000) are taken out of the 50,000
    training images first; ``train_per_class`` more per class (None: all the rest, 4,500 per class
    with the default validation split) form the training split. ``test_per_class`` (None: all
    10,000) subsets the test set, only to keep quick runs quick. All choices are class-balanced and
    depend only on ``seed``.
    """
    (x_train, y_train), (x_test, y_test) = load_cifar10(data_dir)
    y_train, y_test = y_train.reshape(-1), y_test.reshape(-1)
    per_class_available = int(np.bincount(y_train).min())
    val_per_class = check_int("val_per_class", val_per_class, minimum=1, maximum=per_class_available - 1)
    rest = per_class_available - val_per_class
    train_per_class = check_int("train_per_class", train_per_class, minimum=1, maximum=rest, allow_none=True)
    test_per_class = check_int(
        "test_per_class", test_per_class, minimum=1, maximum=int(np.bincount(y_test).min()), allow_none=True
    )
    val = class_balanced_indices(y_train, val_per_class, seed=seed)
    train = class_balanced_indices(y_train, train_per_class or rest, seed=seed, skip=val_per_class)
    test = np.arange(len(y_test)) if test_per_class is None else class_balanced_indices(y_test, test_per_class, seed=seed)
    mean, std = channel_stats(x_train[train])
    as_labels = lambda y: y.astype(np.int32)  # noqa: E731
    return Dataset(
        x_train=x_train[train],
        y_train=as_labels(y_train[train]),
        x_val=x_train[val],
        y_val=as_labels(y_train[val]),
        x_test=x_test[test],
        y_test=as_labels(y_test[test]),
        mean=mean,
        std=std,
    )


# ---------------------------------------------------------------------------------------------
# Normalization


def channel_stats(images):
    """Per-channel mean and standard deviation of uint8 images, on the 0..1 scale, as tuples.

    On the full CIFAR-10 training set they are (0.4914, 0.4822, 0.4465) and
    (0.2470, 0.2435, 0.2616).
    """
    images = np.asarray(images)
    flat = images.reshape(-1, images.shape[-1])
    total = np.zeros(flat.shape[1])
    squares = np.zeros(flat.shape[1])
    for start in range(0, len(flat), 1 << 20):  # chunks keep float64 copies small
        chunk = flat[start : start + (1 << 20)].astype(np.float64) / 255.0
        total += chunk.sum(axis=0)
        squares += (chunk**2).sum(axis=0)
    mean = total / len(flat)
    std = np.sqrt(np.maximum(squares / len(flat) - mean**2, 0.0))
    return tuple(float(m) for m in mean), tuple(float(s) for s in std)


def normalize(images, mean, std):
    """Scale uint8 images to 0..1, then standardize each channel: float32 ``(x/255 - mean) / std``."""
    x = np.asarray(images, dtype=np.float32) / np.float32(255.0)
    return (x - np.asarray(mean, dtype=np.float32)) / np.asarray(std, dtype=np.float32)


def one_hot(labels, num_classes=NUM_CLASSES):
    """Integer labels (N,) or (N, 1) as float32 one-hot rows (N, num_classes)."""
    labels = np.asarray(labels).reshape(-1)
    return np.eye(num_classes, dtype=np.float32)[labels]
