"""`cnnbook.train.fit` on models with auxiliary classifiers (GoogLeNet's Section 5)."""

import keras
import numpy as np
import pytest
from keras import layers

import cnnbook
from cnnbook.errors import ParameterError
from cnnbook.train import Recipe, fit, run_key
from test_train import tiny_dataset


def two_headed(seed=0):
    """A small classifier with one auxiliary head on its middle layer: outputs [main, aux]."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((32, 32, 3))
    x = layers.Conv2D(4, 3, strides=2, activation="relu", name="conv")(inputs)
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    main = layers.Dense(10, name="predictions")(layers.Dense(8, activation="relu", name="hidden")(x))
    aux = layers.Dense(10, name="aux_predictions")(x)
    return keras.Model(inputs, [main, aux], name="two_headed")


RECIPE = Recipe(epochs=2, batch_size=8, learning_rate=0.01)


def test_the_history_keeps_the_main_classifier_under_the_usual_names(tmp_path):
    data = tiny_dataset()
    result = fit(two_headed(), data, RECIPE, run_dir=tmp_path / "run", verbose=False, aux_loss_weight=0.5)
    history = result.history
    for key in ("loss", "accuracy", "val_loss", "val_accuracy", "total_loss", "val_total_loss",
                "aux_predictions_loss", "val_aux_predictions_loss"):  # fmt: skip
        assert len(history[key]) == 2, key
    assert not any(key.startswith("predictions_") for key in history)
    # What was minimized is the main loss plus half the auxiliary one, epoch by epoch.
    for total, main, aux in zip(history["total_loss"], history["loss"], history["aux_predictions_loss"]):
        assert total == pytest.approx(main + 0.5 * aux, rel=1e-4)
    for total, main, aux in zip(history["val_total_loss"], history["val_loss"], history["val_aux_predictions_loss"]):
        assert total == pytest.approx(main + 0.5 * aux, rel=1e-4)
    # The result predicts with the main classifier alone, and validation accuracy is its.
    logits = result.predict(data.x_val)
    assert logits.shape == (10, 10)
    normalized = (data.x_val.astype("float32") / 255.0 - 0.5) / 0.29
    main_logits = keras.ops.convert_to_numpy(result.model(normalized, training=False)[0])
    np.testing.assert_allclose(logits, main_logits, rtol=1e-3, atol=1e-3)
    assert result.evaluate("val") == pytest.approx(history["val_accuracy"][-1])


def test_the_auxiliary_weight_is_part_of_the_run_and_a_finished_run_is_reused(tmp_path):
    data = tiny_dataset()
    first = fit(two_headed(), data, RECIPE, run_dir=tmp_path / "run", verbose=False)
    again = fit(two_headed(), data, RECIPE, run_dir=tmp_path / "run", verbose=False)
    assert again.reused and again.history == first.history
    other = fit(two_headed(), data, RECIPE, run_dir=tmp_path / "run", verbose=False, aux_loss_weight=0.0)
    assert not other.reused
    # Without auxiliary loss, the total is the main loss.
    np.testing.assert_allclose(other.history["total_loss"], other.history["loss"], rtol=1e-5)
    key = run_key(two_headed(), data, RECIPE, 0.3)
    assert key["aux_loss_weight"] == 0.3


def test_single_output_runs_keep_their_fingerprint():
    # Runs trained before auxiliary heads existed are still found: their key has no such entry.
    model = cnnbook.models.build("lenet5")
    assert "aux_loss_weight" not in run_key(model, tiny_dataset(), RECIPE)


def test_a_bad_auxiliary_weight_is_named(tmp_path):
    with pytest.raises(ParameterError, match="aux_loss_weight=-1"):
        fit(two_headed(), tiny_dataset(), RECIPE, run_dir=tmp_path / "run", verbose=False, aux_loss_weight=-1)


def test_reduced_googlenet_with_auxiliary_heads_trains(tmp_path):
    keras.utils.set_random_seed(0)
    model = cnnbook.models.build("googlenet_cifar", width=0.0625, stem_pool=True, aux_heads=True)
    result = fit(model, tiny_dataset(), Recipe(epochs=1, batch_size=20), run_dir=tmp_path / "run", verbose=False)
    assert {"aux1_predictions_loss", "aux2_predictions_loss"} <= set(result.history)
    assert result.history["total_loss"][0] > result.history["loss"][0]
    assert result.predict(tiny_dataset().x_test).shape == (10, 10)


def test_a_probe_measures_every_few_steps_and_saves_what_it_measured(tmp_path):
    data = tiny_dataset()  # 40 images, batches of 8: 5 steps an epoch
    model = cnnbook.models.build("simple_cnn", width=2)
    kernel = model.get_layer("conv1_1_conv").kernel
    probe = cnnbook.train.Probe(lambda: float(np.std(keras.ops.convert_to_numpy(kernel))), every=2,
                                path=tmp_path / "probe.json")
    fit(model, data, RECIPE, run_dir=tmp_path / "run", verbose=False, callbacks=[probe])
    assert probe.steps == [0, 2, 4, 6, 8, 10]  # before the first step, then every second one of 10
    assert len(set(probe.values)) == 6  # the kernel changed between measurements
    assert cnnbook.train.Probe.load(tmp_path / "probe.json") == (probe.steps, probe.values)
    assert cnnbook.train.Probe.load(tmp_path / "nothing.json") == ([], [])
