from pathlib import Path

import h5py
import keras
import numpy as np
import pytest

from cnnbook import pretrained
from cnnbook.errors import DataNotFoundError, ParameterError

SHARED_WEIGHTS = Path(__file__).resolve().parent.parent.parent / "shared" / "weights"


@pytest.mark.skipif(not SHARED_WEIGHTS.is_dir(), reason="the offline ImageNet weights of ../shared/weights are not here")
def test_mobilenet_v2_loads_the_real_imagenet_weights_offline(monkeypatch):
    monkeypatch.setenv("CNNBOOK_WEIGHTS", str(SHARED_WEIGHTS))
    path = pretrained.weights_file("MobileNetV2", alpha=0.35)
    assert path.name == "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top.h5"
    assert pretrained.weights_source("MobileNetV2", alpha=0.35).startswith("local file")
    model = pretrained.backbone("MobileNetV2", input_shape=(96, 96, 3), alpha=0.35)  # any size: no top
    assert model.output.shape[1:] == (3, 3, 1280)
    with h5py.File(path, "r") as f:  # the kernel of the first convolution, as stored in the file
        stored = np.asarray(f["Conv1"]["Conv1"]["kernel:0"])
    np.testing.assert_array_equal(model.get_layer("Conv1").kernel.numpy(), stored)


def test_a_weights_file_of_our_own_is_found_and_loaded(tmp_path, monkeypatch):
    source = keras.applications.VGG16(weights=None, include_top=False, input_shape=(32, 32, 3))
    source.save_weights(tmp_path / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.weights.h5")
    monkeypatch.setenv("CNNBOOK_WEIGHTS", str(tmp_path))
    model = pretrained.backbone("VGG16", input_shape=(32, 32, 3))
    for ours, theirs in zip(model.get_weights(), source.get_weights()):
        np.testing.assert_array_equal(ours, theirs)


def test_offline_without_a_file_the_error_says_what_to_do(tmp_path, monkeypatch):
    from keras.src.utils import file_utils

    def offline(*args, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(file_utils, "get_file", offline)
    monkeypatch.setenv("CNNBOOK_WEIGHTS", str(tmp_path))
    with pytest.raises(DataNotFoundError) as error:
        pretrained.backbone("MobileNetV2", input_shape=(96, 96, 3), alpha=0.5)
    message = str(error.value)
    assert "network is unreachable" in message and f"{tmp_path} holds no" in message
    assert "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.5_224_no_top.h5" in message


def test_random_weights_need_no_file(monkeypatch):
    monkeypatch.delenv("CNNBOOK_WEIGHTS", raising=False)
    model = pretrained.backbone("MobileNetV2", input_shape=(32, 32, 3), alpha=0.35, weights=None)
    assert model.output.shape[1:] == (1, 1, 1280)


def test_unknown_backbones_and_misplaced_options_are_named():
    with pytest.raises(ParameterError, match="backbone='MobileNetV3' is not allowed: choose one of 'MobileNetV2'"):
        pretrained.weights_file("MobileNetV3", directory="/nowhere")
    with pytest.raises(TypeError, match="alpha applies to MobileNetV2 only"):
        pretrained.weights_file("VGG16", alpha=0.5, directory="/nowhere")


def test_frozen_features_preprocess_like_keras_applications_and_pool(tmp_path, monkeypatch):
    # The VGG chapter's Colab path, offline: a weights file of our own under the name Keras downloads.
    keras.utils.set_random_seed(0)
    source = keras.applications.VGG16(weights=None, include_top=False, input_shape=(32, 32, 3))
    source.save_weights(tmp_path / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.weights.h5")
    monkeypatch.setenv("CNNBOOK_WEIGHTS", str(tmp_path))
    images = np.random.default_rng(0).integers(0, 256, size=(5, 32, 32, 3), dtype=np.uint8)
    features = pretrained.frozen_features("VGG16", images, batch_size=2)
    expected = source.predict(keras.applications.vgg16.preprocess_input(images.astype("float32")), verbose=0).mean(axis=(1, 2))
    assert features.shape == (5, 512) and features.dtype == np.float32
    np.testing.assert_allclose(features, expected, rtol=1e-4, atol=1e-5)


def test_without_cnnbook_weights_the_projects_own_folder_is_used(tmp_path, monkeypatch):
    (tmp_path / "cnnbook").mkdir()
    (tmp_path / "_config.yml").write_text("title: x\n")
    monkeypatch.delenv("CNNBOOK_WEIGHTS", raising=False)
    monkeypatch.chdir(tmp_path)
    assert pretrained.weights_dir() is None  # no .weights/: keras.applications downloads
    (tmp_path / ".weights").mkdir()
    stem = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top"
    (tmp_path / ".weights" / f"{stem}.h5").write_bytes(b"")
    assert pretrained.weights_dir() == tmp_path / ".weights"
    assert pretrained.weights_file("MobileNetV2", alpha=0.35) == tmp_path / ".weights" / f"{stem}.h5"
    monkeypatch.setenv("CNNBOOK_WEIGHTS", str(tmp_path / "elsewhere"))  # the variable wins
    assert pretrained.weights_file("MobileNetV2", alpha=0.35) is None
