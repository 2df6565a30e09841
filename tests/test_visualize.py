"""cnnbook.visualize: occlusion maps, strongest responses and input gradients, on tiny models
whose answers are known."""

from types import SimpleNamespace

import keras
import numpy as np
import pytest

from cnnbook import visualize
from cnnbook.errors import ParameterError


def fake_run(model, mean=(0.0, 0.0, 0.0), std=(1 / 255, 1 / 255, 1 / 255)):
    """What the functions need of a FitResult: the model and the data's normalization.
    With these defaults, normalized(x) == x."""
    return SimpleNamespace(model=model, data=SimpleNamespace(mean=mean, std=std))


def test_occlusion_finds_the_region_the_classifier_looks_at():
    # Class 0's logit is the brightness of the top-left 8x8 corner: covering it, and only it, hurts.
    def predict(images):
        corner = images[:, :8, :8].astype("float64").mean(axis=(1, 2, 3)) / 255
        return np.stack([8 * corner, np.zeros(len(images))], axis=1)

    images = np.full((2, 32, 32, 3), 255, np.uint8)
    maps, clear = visualize.occlusion(predict, images, np.array([0, 0]), patch=8, stride=4, fill=0)
    assert maps.shape == (2, 7, 7)
    assert np.allclose(clear, 1 / (1 + np.exp(-8)))
    assert maps[0, 0, 0] == pytest.approx(0.5)  # the corner covered: no evidence left
    assert np.allclose(maps[:, 2:, 2:], clear[0])  # covering elsewhere changes nothing
    with pytest.raises(ParameterError, match="patch=40"):
        visualize.occlusion(predict, images, np.array([0, 0]), patch=40)


def tiny_linear_model():
    inputs = keras.Input((4, 4, 3))
    x = keras.layers.Conv2D(2, 1, use_bias=False, name="mix")(inputs)
    model = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(x))
    model.get_layer("mix").set_weights([np.array([[[[1.0, 0.0], [2.0, 0.0], [-1.0, 1.0]]]], "float32")])
    return model


def test_input_gradients_are_the_gradient_of_the_strongest_response():
    # Channel 0 of "mix" is r + 2g - b per pixel; its maximum sits at the brightest pixel, so the
    # gradient is (1, 2, -1) there and zero elsewhere.
    images = np.zeros((1, 4, 4, 3), np.uint8)
    images[0, 2, 1] = (10, 10, 0)
    gradients = visualize.input_gradients(fake_run(tiny_linear_model()), "mix", images, channel=0)
    expected = np.zeros((1, 4, 4, 3))
    expected[0, 2, 1] = (1, 2, -1)
    np.testing.assert_allclose(gradients, expected, atol=1e-6)



def test_gradient_norms_are_those_of_the_cross_entropy():
    # The second layer's weights are zero: the softmax is uniform, so dL/dlogits = p - onehot =
    # (-1/2, 1/2) for label 0, and dL/dW = h^T (p - y) = [[-3/4, 3/4], [-3/4, 3/4]] for the hidden
    # h = (3/2, 3/2): norm 3/2. The first layer's gradient passes through the zero weights: zero.
    inputs = keras.Input((2,))
    hidden = keras.layers.Dense(2, use_bias=False, kernel_initializer="ones", name="first")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(2, use_bias=False, kernel_initializer="zeros", name="second")(hidden))
    norms = visualize.gradient_norms(model, np.array([[0.5, 1.0]]), [0])  # hidden = (1.5, 1.5)
    assert list(norms) == ["first", "second"]
    assert norms["first"] == 0.0
    np.testing.assert_allclose(norms["second"], 1.5, rtol=1e-6)
    with pytest.raises(ParameterError, match="no convolution or dense layer"):
        visualize.gradient_norms(keras.Sequential([keras.Input((2,)), keras.layers.ReLU()]), np.ones((1, 2)), [0])


def test_top_activations_rank_images_and_find_the_position():
    images = np.zeros((3, 4, 4, 3), np.uint8)
    images[1, 3, 0, 1] = 50  # channel 0 responds 100 at (3, 0)
    images[2, 1, 1, 0] = 30  # and 30 at (1, 1)
    run = fake_run(tiny_linear_model())
    (indices, positions, values), = visualize.top_activations(run, "mix", images, channels=[0], count=2).values()
    assert list(indices) == [1, 2] and [tuple(map(int, p)) for p in positions] == [(3, 0), (1, 1)]
    np.testing.assert_allclose(values, [100, 30])
    with pytest.raises(ParameterError, match="name a layer of"):
        visualize.top_activations(run, "conv9", images, channels=[0])


def test_colourfulness_separates_grey_from_colour_filters():
    rng = np.random.default_rng(0)
    pattern = rng.normal(size=(5, 5, 1, 1))
    grey = np.repeat(pattern, 3, axis=2)
    opponent = np.concatenate([pattern, np.zeros_like(pattern), -pattern], axis=2)
    scores = visualize.colourfulness(np.concatenate([grey, opponent], axis=3))
    np.testing.assert_allclose(scores, [0.0, 1.0], atol=1e-12)


def _logits_with_confidence(confidence, n, classes=10):
    """Logits whose softmax gives class 0 probability ``confidence`` and the rest the remainder."""
    rest = (1 - confidence) / (classes - 1)
    row = np.log(np.array([confidence] + [rest] * (classes - 1)))
    return np.tile(row, (n, 1))


def test_calibration_is_zero_for_a_calibrated_classifier_and_the_gap_for_an_overconfident_one():
    logits = _logits_with_confidence(0.75, 100)
    labels = np.zeros(100, int)
    labels[:25] = 1  # 75 of 100 predictions of class 0 are right: calibrated at 0.75
    calibrated = visualize.calibration(logits, labels)
    assert calibrated["ece"] == pytest.approx(0.0, abs=1e-9)
    assert calibrated["accuracy_total"] == pytest.approx(0.75)
    labels[:50] = 1  # half right at 75% confidence: 25 points overconfident
    over = visualize.calibration(logits, labels)
    assert over["ece"] == pytest.approx(0.25)
    assert over["count"].sum() == 100 and over["count"][7] == 100  # 0.75 falls in the bin (0.7, 0.8]
    assert over["confidence_correct"] == pytest.approx(0.75) == over["confidence_wrong"]


def test_calibration_weights_bins_by_their_size_and_separates_right_from_wrong():
    logits = np.concatenate([_logits_with_confidence(0.95, 90), _logits_with_confidence(0.35, 10)])
    labels = np.zeros(100, int)
    labels[90:] = 3  # the confident ones right, the unsure ones wrong
    c = visualize.calibration(logits, labels, bins=10)
    assert c["ece"] == pytest.approx(0.9 * 0.05 + 0.1 * 0.35)
    assert c["confidence_correct"] == pytest.approx(0.95) and c["confidence_wrong"] == pytest.approx(0.35)
    assert np.isnan(c["accuracy"][0]) and c["count"][0] == 0


def test_calibration_says_when_labels_and_logits_disagree():
    with pytest.raises(ParameterError, match="one label per row of logits"):
        visualize.calibration(np.zeros((5, 10)), np.zeros(4, int))
    with pytest.raises(ParameterError, match="bins=0"):
        visualize.calibration(np.zeros((5, 10)), np.zeros(5, int), bins=0)


def test_reliability_draws_one_panel_per_classifier_with_its_ece():
    from cnnbook import plots

    labels = np.zeros(100, int)
    labels[:50] = 1
    c = visualize.calibration(_logits_with_confidence(0.8, 100), labels)
    fig = plots.reliability({"a": c, "b": c})
    assert len(fig.axes) == 2
    assert "ECE 30.0%" in fig.axes[0].get_title()


def test_notebook_figures_are_drawn_at_twice_their_pixels_and_shown_at_their_size():
    """`plots.sharp_figures` (which `system.setup` calls) makes IPython send 2x PNGs with their
    display size, which the site's image tag keeps (MyST-NB reads the output's width)."""
    import base64
    import struct

    import matplotlib.pyplot as plt
    from IPython.core.interactiveshell import InteractiveShell

    from cnnbook import plots

    assert not plots.sharp_figures()  # no IPython running: nothing changes
    shell = InteractiveShell.instance()
    try:
        assert plots.sharp_figures()
        fig, axes = plt.subplots(figsize=(4, 2), dpi=100)
        axes.plot([0, 1], [1, 0])
        data, metadata = shell.display_formatter.format(fig)
        plt.close(fig)
        png = data["image/png"]
        png = png if isinstance(png, bytes) else base64.b64decode(png)
        pixels = struct.unpack(">I", png[16:20])[0]
        shown = metadata["image/png"]["width"]
        assert 300 < shown <= 400 and pixels == 2 * shown, (pixels, shown)  # 4 inches at 100 dpi, trimmed
    finally:
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("png")
        InteractiveShell.clear_instance()
