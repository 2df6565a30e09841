"""Shared fixtures. The tests run on the backend in KERAS_BACKEND (dev.py: tensorflow by default)."""

import os
import pickle
import sys
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ["CNNBOOK_PROFILE"] = "smoke"  # a test never trains a full recipe

import matplotlib  # noqa: E402

matplotlib.use("Agg")  # this process only: MPLBACKEND would also reach the notebook kernels

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def write_fake_cifar(directory, per_class_train=2, per_class_test=1, seed=0):
    """Write a tiny CIFAR-10 in the official python pickle format; return the arrays written.

    Pixel values encode the image's position so tests can check order and layout.
    """
    rng = np.random.default_rng(seed)
    folder = Path(directory) / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)

    def make(count):
        labels = np.tile(np.arange(10), count)
        rng.shuffle(labels)
        images = rng.integers(0, 256, size=(len(labels), 32, 32, 3), dtype=np.uint8)
        return images, labels

    x_train, y_train = make(per_class_train)  # spread over five batches
    x_test, y_test = make(per_class_test)
    for index, chunk in enumerate(np.array_split(np.arange(len(y_train)), 5), start=1):
        batch = {
            b"batch_label": f"training batch {index} of 5".encode(),
            b"labels": [int(v) for v in y_train[chunk]],
            b"data": x_train[chunk].transpose(0, 3, 1, 2).reshape(len(chunk), -1),
            b"filenames": [f"train_{i:05d}.png".encode() for i in chunk],
        }
        (folder / f"data_batch_{index}").write_bytes(pickle.dumps(batch, protocol=4))
    test = {
        b"batch_label": b"testing batch 1 of 1",
        b"labels": [int(v) for v in y_test],
        b"data": x_test.transpose(0, 3, 1, 2).reshape(len(y_test), -1),
        b"filenames": [f"test_{i:05d}.png".encode() for i in range(len(y_test))],
    }
    (folder / "test_batch").write_bytes(pickle.dumps(test, protocol=4))
    return (x_train, y_train), (x_test, y_test)


@pytest.fixture
def fake_cifar(tmp_path):
    """A small CIFAR-10 in the official format: ``(directory, arrays)``."""
    arrays = write_fake_cifar(tmp_path / "data", per_class_train=6, per_class_test=3)
    return tmp_path / "data", arrays


@pytest.fixture(scope="session")
def real_cifar():
    """The real CIFAR-10 (from CNNBOOK_DATA or a Keras download); fails with the loader's message."""
    import cnnbook

    return cnnbook.data.load_cifar10()


@pytest.fixture(scope="session")
def small_real_dataset():
    """A small, class-balanced real CIFAR-10 Dataset: 300 training images per class."""
    import cnnbook

    return cnnbook.data.cifar10(train_per_class=300, val_per_class=50, test_per_class=100, seed=0)


@pytest.fixture(autouse=True)
def _float32_policy_after_each_test():
    """`cnnbook.system.setup()` sets a global dtype policy (mixed_bfloat16 on CPUs with native
    bfloat16); no test may leave it to the next one."""
    yield
    if "keras" in sys.modules:
        sys.modules["keras"].config.set_dtype_policy("float32")
