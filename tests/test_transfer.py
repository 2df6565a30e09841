"""cnnbook.transfer: class subsets, nested few-label splits, new heads, the linear probe, option checks."""

import keras
import numpy as np
import pytest

import cnnbook
from cnnbook import transfer
from cnnbook.data import Dataset
from cnnbook.errors import ParameterError


def toy(per_class=12, classes=10):
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(classes, dtype=np.int32), per_class)
    x = rng.integers(0, 255, size=(len(y), 8, 8, 3), dtype=np.uint8)
    return Dataset(x, y, x[:classes * 2], y[:classes * 2], x, y, mean=(0.4, 0.5, 0.6), std=(0.2, 0.2, 0.2))


def test_classes_relabel_in_the_order_given_and_keep_the_statistics():
    data = toy()
    vehicles = transfer.classes(data, transfer.VEHICLES)
    assert vehicles.class_names == ("airplane", "automobile", "ship", "truck")
    assert sorted(set(vehicles.y_train)) == [0, 1, 2, 3]
    ships = vehicles.x_train[vehicles.y_train == 2]
    np.testing.assert_array_equal(ships, data.x_train[data.y_train == 8])
    assert (vehicles.mean, vehicles.std) == (data.mean, data.std)
    with pytest.raises(ParameterError, match="distinct classes"):
        transfer.classes(data, (1, 1))


def test_few_labels_are_balanced_and_nested():
    data = toy()
    small, large = transfer.few_labels(data, 3), transfer.few_labels(data, 7)
    assert np.bincount(small.y_train).tolist() == [3] * 10 and len(large.y_train) == 70
    as_rows = lambda d: {img.tobytes() for img in d.x_train}  # noqa: E731
    assert as_rows(small) <= as_rows(large)
    assert len(small.y_test) == len(data.y_test)  # validation and test untouched
    with pytest.raises(ParameterError, match="per_class"):
        transfer.few_labels(data, 13)


def test_repeat_tiles_whole_copies_only_when_needed():
    data = transfer.few_labels(toy(), 2)
    tiled = transfer.repeat(data, 45)
    assert len(tiled.y_train) == 60 and np.array_equal(tiled.x_train[20:40], data.x_train)
    assert transfer.repeat(data, 20) is data


def test_new_head_keeps_the_body_and_replaces_the_classifier():
    keras.utils.set_random_seed(0)
    net = cnnbook.models.build("simple_cnn", input_shape=(16, 16, 3), num_classes=6, width=4)
    moved = transfer.new_head(net, 4)
    assert moved.output.shape[-1] == 4 and moved.get_layer("predictions") is not net.get_layer("predictions")
    assert moved.get_layer("conv1_1_conv") is net.get_layer("conv1_1_conv")  # shared, pretrained weights
    assert moved.count_params() == net.count_params() - (6 - 4) * (16 + 1)


@pytest.mark.parametrize("chapter", sorted(transfer.REDUCED))
def test_new_head_fits_every_reduced_architecture(chapter):
    # NiN has no dense classifier: its class maps (a 1x1 convolution, ReLU, global average) are
    # rebuilt with four maps; the others' dense "predictions" is replaced.
    model, options = transfer.REDUCED[chapter]
    keras.utils.set_random_seed(0)
    net = cnnbook.models.build(model, input_shape=(32, 32, 3), num_classes=6, **options)
    moved = transfer.new_head(net, 4)
    assert moved.output.shape == (None, 4)
    features = next(layer for layer in reversed(net.layers) if layer.weights and not layer.name.startswith("predictions"))
    assert moved.get_layer(features.name) is features  # the body, with its pretrained weights, is shared
    head = net.get_layer("predictions" if "predictions" in [layer.name for layer in net.layers] else "predictions_conv")
    assert moved.count_params() == net.count_params() - (6 - 4) * (head.input.shape[-1] + 1)
    x = np.zeros((2, 32, 32, 3), "float32")
    assert moved.predict(x, verbose=0).shape == (2, 4)


def test_new_head_names_what_it_cannot_replace():
    inputs = keras.Input((8, 8, 3))
    net = keras.Model(inputs, keras.layers.Dense(3, name="logits")(keras.layers.Flatten()(inputs)))
    with pytest.raises(ParameterError, match="neither a dense classifier named 'predictions' nor class maps"):
        transfer.new_head(net, 2)


def test_the_linear_probe_separates_separable_features():
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(3, 20)) * 3
    y = np.repeat(np.arange(3), 50)
    x = centers[y] + rng.normal(size=(150, 20)) + 100.0  # an offset the folded weights must absorb
    weights, bias, logits = transfer.linear_probe(x, y, x, num_classes=3, l2=1e-2)
    assert np.mean(logits.argmax(1) == y) > 0.95
    np.testing.assert_allclose(x @ weights + bias, logits, rtol=1e-3, atol=1e-3)


def test_the_probe_keeps_weights_of_nearly_constant_features_bounded():
    # After ReLU6 and pooling some features are almost constant on a few images; folding the
    # standardization back must not give them weights that explode when fine-tuning moves them.
    rng = np.random.default_rng(1)
    y = np.repeat(np.arange(2), 40)
    x = rng.normal(size=(80, 5)) + 2.0 * y[:, None]
    x = np.concatenate([x, rng.normal(scale=1e-7, size=(80, 1))], axis=1)  # a dead feature
    weights, _, logits = transfer.linear_probe(x, y, x, num_classes=2, l2=1e-2)
    assert np.mean(logits.argmax(1) == y) > 0.9
    assert np.abs(weights).max() < 100, weights


def test_bad_options_are_named():
    options = {"architectures": "09_resnet,10_densenet", "target_labels": "25,250"}
    checked = transfer.check_options(options)
    assert checked["architectures"] == ("09_resnet", "10_densenet") and checked["target_labels"] == (25, 250)
    with pytest.raises(ParameterError, match="architectures='11_resnet'"):
        transfer.check_options({"architectures": "11_resnet"})
    with pytest.raises(ParameterError, match="increasing order"):
        transfer.check_options({"architectures": "09_resnet", "target_labels": (250, 25)})
    with pytest.raises(ParameterError, match="alpha=0.4"):
        transfer.check_options({"architectures": "09_resnet"}, alpha=0.4)


def test_every_reduced_network_builds_with_its_chapters_parameter_count():
    checked = 0
    for chapter, (model, options) in transfer.REDUCED.items():
        net = cnnbook.models.build(model, input_shape=(32, 32, 3), num_classes=10, **options)
        main = [r for r in cnnbook.results.load_all(chapter=chapter) if r.name == net.name]  # the chapter's main run
        if main and chapter != "02_lenet":  # LeNet's main record is of grey images
            assert cnnbook.counting.totals(net)["params"] == main[0].params, chapter
            checked += 1
    assert checked == len(transfer.REDUCED) - 1


def test_fine_tuned_mobilenet_keeps_batch_norm_in_inference_mode_when_training():
    # Keras 3 passes training=True on through `body(x, training=False)` to trainable layers; the
    # fine-tuned top blocks' batch norm must still use ImageNet's statistics, or a head trained on
    # frozen features meets different features in the first training step (the loss explodes).
    net = transfer.imagenet_classifier(3, alpha=0.35, size=32, weights=None, dropout=0.0,
                                       trainable_from=transfer.MOBILENET_TOP)
    x = np.random.default_rng(0).uniform(-1, 1, (4, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(np.asarray(net(x, training=True)), np.asarray(net(x, training=False)), atol=1e-5)
    top = net.get_layer("mobilenetv2_0.35_32").get_layer(transfer.MOBILENET_TOP)
    assert top.trainable and any(w.trainable for w in net.trainable_weights)
    assert not net.get_layer("mobilenetv2_0.35_32").get_layer("Conv1").trainable


def test_overfitting_runs_are_named_by_what_they_add_to_the_plain_run():
    assert transfer.overfit_name(2500) == "overfit-2500"
    assert transfer.overfit_name(2500, batch_size=32) == "overfit-2500-batch32"
    assert transfer.overfit_name(2500, augment=True, dropout=0.5) == "overfit-2500-augment-dropout"
    assert transfer.overfit_name(2500, weight_decay=5e-4) == "overfit-2500-decay5e-4"
    assert transfer.overfit_name(2500, weight_decay=1.5e-2, dropout=0.3) == "overfit-2500-dropout0.3-decay1.5e-2"
    assert transfer.overfit_name(2500, augment=False, dropout=0.0, weight_decay=0.0) == "overfit-2500"
    with pytest.raises(ParameterError, match="images"):
        transfer.overfit_name(0)


def test_the_overfitting_study_takes_every_remedy_its_run_names_tell_apart():
    import inspect

    import papermill

    from cnnbook import studies

    parameters = papermill.inspect_notebook(str(studies.path("overfitting")))
    named = [p for p in inspect.signature(transfer.overfit_name).parameters]
    assert set(named) <= set(parameters), set(named) - set(parameters)
    assert {"profile", "seed", "retrain", "width", "budget", "epoch_images"} <= set(parameters)
    with pytest.raises(FileNotFoundError, match="the studies are: overfitting"):
        studies.path("overfiting")
