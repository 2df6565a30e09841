import tarfile

import numpy as np
import pytest

from cnnbook import data
from cnnbook.errors import DataNotFoundError, ParameterError


@pytest.fixture(autouse=True)
def fresh_cache():
    data._load_from_directory.cache_clear()
    data._load_with_keras.cache_clear()
    yield
    data._load_from_directory.cache_clear()
    data._load_with_keras.cache_clear()


def test_loads_the_official_folder_like_keras(fake_cifar):
    directory, ((x_train, y_train), (x_test, y_test)) = fake_cifar
    (xa, ya), (xb, yb) = data.load_cifar10(directory)
    assert xa.dtype == np.uint8 and ya.dtype == np.uint8
    assert xa.shape == (60, 32, 32, 3) and ya.shape == (60, 1)
    assert xb.shape == (30, 32, 32, 3) and yb.shape == (30, 1)
    np.testing.assert_array_equal(xa, x_train)  # batch order, NHWC layout and pixel values kept
    np.testing.assert_array_equal(ya.ravel(), y_train)
    np.testing.assert_array_equal(xb, x_test)
    np.testing.assert_array_equal(yb.ravel(), y_test)


def test_reads_the_official_archive_without_unpacking_it(fake_cifar, tmp_path):
    directory, ((x_train, _), _) = fake_cifar
    archive_dir = tmp_path / "archive"
    archive_dir.mkdir()
    with tarfile.open(archive_dir / data.ARCHIVE, "w:gz") as archive:
        archive.add(directory / data.FOLDER, arcname=data.FOLDER)
    (xa, _), _ = data.load_cifar10(archive_dir)
    np.testing.assert_array_equal(xa, x_train)
    assert sorted(p.name for p in archive_dir.iterdir()) == [data.ARCHIVE]


def test_reads_cnnbook_data_from_the_environment(fake_cifar, monkeypatch):
    directory, ((x_train, _), _) = fake_cifar
    monkeypatch.setenv("CNNBOOK_DATA", str(directory))
    (xa, _), _ = data.load_cifar10()
    np.testing.assert_array_equal(xa, x_train)


def test_arrays_are_read_only(fake_cifar):
    directory, _ = fake_cifar
    (xa, _), _ = data.load_cifar10(directory)
    with pytest.raises(ValueError):
        xa[0, 0, 0, 0] = 1


def test_a_data_directory_without_the_data_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNBOOK_DATA", str(tmp_path))
    with pytest.raises(DataNotFoundError) as error:
        data.load_cifar10()
    message = str(error.value)
    assert str(tmp_path) in message and "CNNBOOK_DATA" in message
    assert data.FOLDER in message and data.DOWNLOAD_URL in message


def test_a_missing_data_directory_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNBOOK_DATA", str(tmp_path / "nowhere"))
    with pytest.raises(DataNotFoundError, match="does not exist"):
        data.load_cifar10()


def test_when_nothing_works_the_error_says_what_was_tried(monkeypatch):
    import keras

    def offline():
        raise OSError("network is unreachable")

    monkeypatch.delenv("CNNBOOK_DATA", raising=False)
    monkeypatch.setattr(keras.datasets.cifar10, "load_data", offline)
    with pytest.raises(DataNotFoundError) as error:
        data.load_cifar10()
    message = str(error.value)
    assert "CNNBOOK_DATA" in message and "network is unreachable" in message
    assert "keras.datasets.cifar10.load_data()" in message and data.DOWNLOAD_URL in message


def test_a_truncated_batch_is_reported(fake_cifar):
    directory, _ = fake_cifar
    batch = directory / data.FOLDER / "data_batch_3"
    batch.write_bytes(batch.read_bytes()[:500])
    with pytest.raises(DataNotFoundError, match="data_batch|truncated"):
        data.load_cifar10(directory)


def test_class_balanced_indices_are_balanced_deterministic_and_nested():
    labels = np.repeat(np.arange(10), 50)
    a = data.class_balanced_indices(labels, 20, seed=3)
    assert np.bincount(labels[a]).tolist() == [20] * 10
    np.testing.assert_array_equal(a, data.class_balanced_indices(labels, 20, seed=3))
    assert not np.array_equal(a, data.class_balanced_indices(labels, 20, seed=4))
    smaller = data.class_balanced_indices(labels, 5, seed=3)
    assert set(smaller) <= set(a)
    after = data.class_balanced_indices(labels, 20, seed=3, skip=20)
    assert not set(after) & set(a)
    with pytest.raises(ValueError, match="cannot take"):
        data.class_balanced_indices(labels, 40, seed=3, skip=20)


def test_dataset_splits_are_disjoint_balanced_and_carved_from_training(fake_cifar):
    directory, ((x_train, _), (x_test, _)) = fake_cifar
    ds = data.cifar10(train_per_class=3, val_per_class=2, test_per_class=2, data_dir=directory)
    assert ds.sizes() == {"train": 30, "val": 20, "test": 20}
    for y in (ds.y_train, ds.y_val, ds.y_test):
        assert len(set(np.bincount(y, minlength=10))) == 1
    as_keys = lambda images: {img.tobytes() for img in images}  # noqa: E731
    assert not as_keys(ds.x_train) & as_keys(ds.x_val)
    assert as_keys(ds.x_val) <= as_keys(x_train)  # the validation split comes from the training set
    assert as_keys(ds.x_test) <= as_keys(x_test)
    assert ds.mean == data.channel_stats(ds.x_train)[0]  # statistics of the training split only
    assert ds.table().loc["total"].tolist() == [30, 20, 20]


def test_all_remaining_training_images_by_default(fake_cifar):
    directory, _ = fake_cifar
    ds = data.cifar10(val_per_class=2, data_dir=directory)
    assert ds.sizes() == {"train": 40, "val": 20, "test": 30}


@pytest.mark.parametrize(
    "kwargs, name",
    [({"train_per_class": 0, "val_per_class": 2}, "train_per_class"), ({"val_per_class": 6}, "val_per_class"),
     ({"test_per_class": 4, "val_per_class": 2}, "test_per_class"),
     ({"train_per_class": "all", "val_per_class": 2}, "train_per_class")],
)  # fmt: skip
def test_impossible_split_sizes_name_the_parameter(fake_cifar, kwargs, name):
    directory, _ = fake_cifar
    with pytest.raises(ParameterError, match=f"^{name}="):
        data.cifar10(data_dir=directory, **kwargs)


def test_normalize_standardizes_each_channel():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(50, 8, 8, 3), dtype=np.uint8)
    mean, std = data.channel_stats(images)
    x = data.normalize(images, mean, std)
    assert x.dtype == np.float32
    np.testing.assert_allclose(x.reshape(-1, 3).mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(x.reshape(-1, 3).std(axis=0), 1, atol=1e-4)


def test_channel_stats_of_cifar10_are_the_published_ones(real_cifar):
    (x_train, y_train), (x_test, y_test) = real_cifar
    assert x_train.shape == (50000, 32, 32, 3) and x_test.shape == (10000, 32, 32, 3)
    assert np.bincount(y_train.ravel()).tolist() == [5000] * 10
    mean, std = data.channel_stats(x_train)
    np.testing.assert_allclose(mean, (0.4914, 0.4822, 0.4465), atol=1e-4)
    np.testing.assert_allclose(std, (0.2470, 0.2435, 0.2616), atol=1e-4)


def test_one_hot():
    np.testing.assert_array_equal(data.one_hot(np.array([[2], [0]]), 3), [[0, 0, 1], [1, 0, 0]])
