"""The speedrun recipe (cnnbook.speedrun): whitening, identity initialization, the optimizer, the
schedule, the data of each epoch, test-time augmentation, and a tiny run that learns."""

import numpy as np
import pytest

from cnnbook import speedrun
from cnnbook.errors import ParameterError


def correlated_images(n=64, seed=0):
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(n, 12, 12, 1))
    return np.concatenate([base, 0.5 * base + 0.1 * rng.normal(size=base.shape), rng.normal(size=base.shape)], -1)


def test_whitening_filters_whiten_the_patches():
    images = correlated_images().astype(np.float32)
    filters = speedrun.whitening_filters(images, kernel_size=2, eps=0.0)
    assert filters.shape == (2, 2, 3, 24)
    windows = np.lib.stride_tricks.sliding_window_view(images, (2, 2), axis=(1, 2))
    patches = windows.transpose(0, 1, 2, 4, 5, 3).reshape(-1, 12)
    responses = patches @ filters.reshape(12, 24)
    moment = responses[:, :12].T @ responses[:, :12] / len(responses)
    np.testing.assert_allclose(moment, np.eye(12), atol=1e-3)
    np.testing.assert_allclose(filters[..., 12:], -filters[..., :12])


def test_whitening_layer_trains_its_bias_only():
    import keras

    layer = speedrun.Whitening(2)
    out = layer(keras.ops.ones((1, 8, 8, 3)))
    assert tuple(out.shape) == (1, 7, 7, 24)
    assert [w.path for w in layer.trainable_weights] == [layer.bias.path]
    assert layer.kernel in layer.non_trainable_weights


def test_partial_dirac_passes_the_first_channels_through():
    import keras

    conv = keras.layers.Conv2D(6, 3, padding="same", use_bias=False, kernel_initializer=speedrun.PartialDirac())
    x = np.random.default_rng(0).normal(size=(2, 5, 5, 4)).astype(np.float32)
    y = keras.ops.convert_to_numpy(conv(x))
    np.testing.assert_allclose(y[..., :4], x, atol=1e-6)
    assert np.abs(y[..., 4:]).sum() > 0  # the other filters are random
    random = keras.layers.Conv2D(6, 3, padding="same", kernel_initializer=speedrun.PartialDirac(False))
    assert not np.allclose(keras.ops.convert_to_numpy(random(x))[..., :4], x, atol=1e-3)


def test_network_counts_match_airbench94():
    model = speedrun.network(mean=(0.5,) * 3, std=(0.25,) * 3)
    convs = 3 * 3 * (24 * 64 + 64 * 64 + 64 * 256 + 256 * 256 + 256 * 256 + 256 * 256)
    bn_biases = 2 * (64 + 256 + 256)
    trainable = convs + bn_biases + 24 + 256 * 10  # convolutions, BN biases, whitening bias, classifier
    assert sum(int(np.prod(w.shape)) for w in model.trainable_weights) == trainable == 1_971_352
    assert model.output_shape == (None, 10)
    plain = speedrun.network(speedrun.SpeedRecipe(whiten=False), mean=(0.5,) * 3, std=(0.25,) * 3)
    assert "whiten" not in [layer.name for layer in plain.layers]


def test_scaled_sgd_is_pytorch_nesterov_with_factors_decay_and_gate():
    import keras

    w = keras.Variable(np.array([1.0, -2.0], np.float32), name="w")
    b = keras.Variable(np.array([0.5], np.float32), name="b")
    opt = speedrun.ScaledSGD(0.1, base_learning_rate=0.1, momentum=0.5, decay=0.01, multipliers={b.path: 4.0}, gated={b.path})
    opt.build([w, b])
    g = np.array([0.2, 0.4], np.float32)
    opt.apply_gradients([(keras.ops.convert_to_tensor(g), w), (keras.ops.convert_to_tensor(np.ones(1, np.float32)), b)])
    grad = g + 0.01 / 0.1 * np.array([1.0, -2.0])  # coupled decay
    buffer = grad
    expected_w = np.array([1.0, -2.0]) - 0.1 * (grad + 0.5 * buffer)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(w), expected_w, rtol=1e-5)
    grad_b = 1.0 + 0.01 / (0.1 * 4.0) * 0.5
    np.testing.assert_allclose(keras.ops.convert_to_numpy(b), [0.5 - 0.4 * 1.5 * grad_b], rtol=1e-5)
    opt.gate.assign(0.0)
    before = keras.ops.convert_to_numpy(b).copy()
    opt.apply_gradients([(keras.ops.convert_to_tensor(g), w), (keras.ops.convert_to_tensor(np.ones(1, np.float32)), b)])
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(b), before)


def test_triangle_schedule():
    rates = speedrun.triangle(100, 2.0)
    assert len(rates) == 101
    assert rates[0] == pytest.approx(0.4) and rates[23] == pytest.approx(2.0) and rates[-1] == pytest.approx(0.14)
    assert np.argmax(rates) == 23


def test_airbench_units():
    recipe = speedrun.SpeedRecipe()
    assert recipe.step_scale == pytest.approx(1024 * (1 + 1 / 0.15))
    assert recipe.sgd_learning_rate == pytest.approx(11.5 * 1024 / recipe.step_scale)
    assert recipe.decay_per_step == pytest.approx(0.0153 * 1024 / recipe.step_scale)


def test_alternating_flips_and_translations():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, size=(50, 8, 8, 3), dtype=np.uint8)
    still = speedrun.Epochs(images, speedrun.SpeedRecipe(translate=0), np.random.default_rng(1))
    first, second = still(0), still(1)
    np.testing.assert_array_equal(second, first[:, :, ::-1])  # every image mirrored in turn
    mirrored = [(first[i] == images[i, :, ::-1]).all() and not (first[i] == images[i]).all() for i in range(50)]
    assert 10 < sum(mirrored) < 40  # the starting flips are random
    moving = speedrun.Epochs(images, speedrun.SpeedRecipe(flip="none", translate=2), np.random.default_rng(1))
    crops = moving(0)
    padded = np.pad(images, ((0, 0), (2, 2), (2, 2), (0, 0)), mode="reflect")
    for i in range(50):
        assert any((padded[i, y : y + 8, x : x + 8] == crops[i]).all() for y in range(5) for x in range(5))
    assert sum((crops[i] == images[i]).all() for i in range(50)) < 10  # most images moved


class _Pixel:
    """A stand-in model whose logit is the image's top-left pixel."""

    def predict(self, x, batch_size=None, verbose=0):
        return x[:, 0, 0, :1].astype(np.float64)


def test_tta_views_and_weights():
    image = np.arange(16, dtype=np.float64).reshape(1, 4, 4, 1)
    assert speedrun.tta_logits(_Pixel(), image, level=0)[0, 0] == 0
    assert speedrun.tta_logits(_Pixel(), image, level=1)[0, 0] == pytest.approx(0.5 * 0 + 0.5 * 3)
    # Level 2 adds the image moved one pixel down-right (reflected: top-left becomes pixel (1, 1) = 5)
    # and up-left (pixel (1, 1) of the image: 5; its mirror's top-left: 6).
    level2 = speedrun.tta_logits(_Pixel(), image, level=2)[0, 0]
    padded = np.pad(image, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="reflect")
    mirror = lambda x: 0.5 * x[0, 0, 0, 0] + 0.5 * x[0, 0, -1, 0]  # noqa: E731
    expected = 0.5 * mirror(image) + 0.25 * mirror(padded[:, :4, :4]) + 0.25 * mirror(padded[:, 2:, 2:])
    assert level2 == pytest.approx(expected)


def test_recipe_errors_say_what_to_do():
    with pytest.raises(ParameterError, match="did you mean 'alternate'"):
        speedrun.SpeedRecipe(flip="alternating")
    with pytest.raises(ParameterError, match="tta=3"):
        speedrun.SpeedRecipe(tta=3)
    images = np.zeros((100, 32, 32, 3), np.uint8)
    with pytest.raises(ParameterError, match="at most the 100 training images"):
        speedrun.train(speedrun.SpeedRecipe(batch_size=512), images, np.zeros(100, int), images, np.zeros(100, int))


def test_a_tiny_speedrun_learns(small_real_dataset):
    data = small_real_dataset
    recipe = speedrun.SpeedRecipe(epochs=4, batch_size=128, widths=(16, 32, 32))
    out = speedrun.train(recipe, data.x_train, data.y_train, data.x_val, data.y_val, log=lambda line: None)
    assert out["accuracy"] > 0.2  # chance: 0.1
    assert out["steps"] == 4 * (len(data.y_train) // 128)
    assert len(out["history"]["loss"]) == 4 and out["history"]["loss"][-1] < out["history"]["loss"][0]
    assert out["seconds"] >= out["train_seconds"] > 0


def test_a_run_is_recorded_and_reused_until_its_recipe_changes(small_real_dataset, tmp_path, monkeypatch):
    from cnnbook import results, system

    data = small_real_dataset
    env = {**system.describe(), "seed": 3, "precision": "float32"}
    recipe = speedrun.SpeedRecipe(epochs=1, batch_size=128, widths=(8, 16, 16))
    train_split, val_split = (data.x_train, data.y_train), (data.x_val, data.y_val)
    kwargs = dict(evaluated_on="val", env=env, profile="full", directory=tmp_path, log=lambda line: None)
    first = speedrun.run("tiny", recipe, train_split, val_split, **kwargs)
    saved = results.load(tmp_path / "13_speedrun" / "tiny.json")
    assert saved == first and saved.seed == 3 and saved.test_accuracy is None
    assert saved.val_accuracy == pytest.approx(first.extra["accuracy_one_view"], abs=0.2)
    assert saved.data == {"train": len(data.y_train), "val": len(data.y_val)}
    assert saved.history["val_accuracy"] and saved.recipe["widths"] == [8, 16, 16]
    assert saved.train_seconds >= saved.extra["training_seconds"] > 0
    # whitening bias; per block two 3x3 convolutions and their BN biases; the classifier
    convs = 9 * (24 * 8 + 8 * 8 + 8 * 16 + 16 * 16 + 16 * 16 + 16 * 16)
    assert saved.trainable_params == 24 + convs + 2 * (8 + 16 + 16) + 16 * 10

    def no_training(*args, **kwargs):
        raise AssertionError("a saved run was trained again")

    monkeypatch.setattr(speedrun, "train", no_training)
    assert speedrun.run("tiny", recipe, train_split, val_split, **kwargs) == first
    with pytest.raises(AssertionError, match="trained again"):  # another recipe, or retrain, trains
        speedrun.run("tiny", recipe.replace(label_smoothing=0.0), train_split, val_split, **kwargs)
    with pytest.raises(AssertionError, match="trained again"):
        speedrun.run("tiny", recipe, train_split, val_split, retrain=True, **kwargs)


def test_the_chapter_removes_one_ingredient_per_ablation_and_trains_the_finals_on_all_images(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from cnnbook import system

    seen = []

    def fake_train(recipe, x_train, y_train, x_eval, y_eval, *, seed, log, eval_every_epoch):
        seen.append((recipe, len(x_train), len(x_eval), seed, eval_every_epoch))
        model = speedrun.network(recipe, mean=(0.5,) * 3, std=(0.25,) * 3)
        history = {"epoch": [1], "loss": [2.0], "accuracy": [0.3], "seconds": [1.0], "eval_accuracy": [0.4] if eval_every_epoch else []}
        return dict(accuracy=0.5, accuracy_plain=0.4, seconds=2.0, train_seconds=1.5, steps=1, history=history, model=model)

    monkeypatch.setattr(speedrun, "train", fake_train)
    rng = np.random.default_rng(0)
    images = lambda n: rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)  # noqa: E731
    split = SimpleNamespace(x_train=images(40), y_train=np.arange(40) % 10, x_val=images(20), y_val=np.arange(20) % 10,
                            x_test=images(30), y_test=np.arange(30) % 10)  # fmt: skip
    env = {**system.describe(), "seed": 0, "precision": "float32"}
    recipe = speedrun.SpeedRecipe(epochs=3, widths=(8, 16, 16))
    out = speedrun.chapter_runs(split, recipe, ablation_epochs=2, seeds=(5, 6), env=env, profile="full",
                                log=lambda line: None, directory=tmp_path)  # fmt: skip
    ablations, finals = seen[: len(speedrun.ABLATIONS)], seen[len(speedrun.ABLATIONS) :]
    baseline = recipe.replace(epochs=2)
    for (key, change), (used, n_train, n_eval, seed, per_epoch) in zip(speedrun.ABLATIONS.items(), ablations):
        assert used == baseline.replace(**change) and (n_train, n_eval, seed, per_epoch) == (40, 20, 5, True), key
        assert out["ablations"][key].val_accuracy == 0.5 and out["ablations"][key].test_accuracy is None
    assert [(r, n, m, s, e) for r, n, m, s, e in finals] == [(recipe, 60, 30, 5, False), (recipe, 60, 30, 6, False)]
    assert out["final"][6].test_accuracy == 0.5 and out["final"][6].seed == 6 and out["final"][6].val_accuracy is None
    assert sorted(p.name for p in (tmp_path / "13_speedrun").iterdir()) == sorted(
        [f"ablation-{key}.json" for key in speedrun.ABLATIONS] + ["final-seed5.json", "final-seed6.json"]
    )
