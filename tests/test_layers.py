import keras
import numpy as np
import pytest

from cnnbook.layers import ConnectionTableConv2D, LocalResponseNormalization, RandomCropFlip, lecun_tanh
from cnnbook.models.lenet import C3_TABLE


def numpy(x):
    return keras.ops.convert_to_numpy(x)


def crops_and_flips(image, padding):
    """Every image RandomCropFlip may return for ``image``: offset -> array."""
    h, w = image.shape[:2]
    padded = np.pad(image, ((padding, padding), (padding, padding), (0, 0)))
    out = {}
    for dy in range(2 * padding + 1):
        for dx in range(2 * padding + 1):
            crop = padded[dy : dy + h, dx : dx + w]
            out[(dy, dx, False)] = crop
            out[(dy, dx, True)] = crop[:, ::-1]
    return out


@pytest.fixture
def images():
    return np.random.default_rng(0).integers(0, 256, size=(64, 12, 12, 3)).astype("uint8")


def test_identity_at_inference(images):
    out = numpy(RandomCropFlip(padding=4)(images, training=False))
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, images.astype("float32"))


def test_every_output_is_a_crop_of_the_padded_image_maybe_flipped(images):
    out = numpy(RandomCropFlip(padding=2, seed=1)(images, training=True))
    assert out.shape == images.shape
    offsets = []
    for source, result in zip(images.astype("float32"), out):
        matches = [k for k, v in crops_and_flips(source, 2).items() if np.array_equal(v, result)]
        assert matches, "an output is not a crop of its own padded input"
        offsets.append(matches[0])
    assert len(set(offsets)) > 10  # each image gets its own offset, not one per batch
    assert 0.2 < np.mean([flip for _, _, flip in offsets]) < 0.8


def test_all_offsets_and_both_flips_occur():
    image = np.arange(8 * 8 * 1, dtype="float32").reshape(1, 8, 8, 1)  # every pixel distinct
    batch = np.repeat(image, 2000, axis=0)
    out = numpy(RandomCropFlip(padding=1, seed=3)(batch, training=True))
    candidates = crops_and_flips(image[0], 1)
    seen = {next(k for k, v in candidates.items() if np.array_equal(v, o)) for o in out}
    assert seen == set(candidates)  # 3 x 3 offsets x 2 flips


def test_no_padding_and_no_flip_is_the_identity(images):
    out = numpy(RandomCropFlip(padding=0, flip=False)(images, training=True))
    np.testing.assert_array_equal(out, images.astype("float32"))


def test_draws_differ_between_calls(images):
    layer = RandomCropFlip(padding=4, seed=0)
    assert not np.array_equal(numpy(layer(images, training=True)), numpy(layer(images, training=True)))


@pytest.mark.parametrize("padding", [-1, 1.5, True])
def test_bad_padding_is_refused(padding):
    with pytest.raises(ValueError, match="padding"):
        RandomCropFlip(padding=padding)


def test_crop_flip_survives_serialization():
    layer = RandomCropFlip(padding=3, flip=False, seed=7)
    again = RandomCropFlip.from_config(layer.get_config())
    assert (again.padding, again.flip, again.seed) == (3, False, 7)


def test_connection_table_conv_computes_the_masked_convolution():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 14, 14, 6)).astype("float32")
    layer = ConnectionTableConv2D(C3_TABLE, 5)
    y = numpy(layer(x))
    assert y.shape == (2, 10, 10, 16)
    assert layer.count_params() == 60 * 25 + 16  # the paper's 1,516
    # The same computation by hand: each output map sums only over its own input maps.
    kernel, bias = layer.kernel.numpy(), layer.bias.numpy()
    expected = np.zeros_like(y)
    c = 0
    for j, inputs in enumerate(C3_TABLE):
        for i in inputs:
            for u in range(5):
                for v in range(5):
                    expected[..., j] += x[:, u : u + 10, v : v + 10, i] * kernel[u, v, c]
            c += 1
        expected[..., j] += bias[j]
    np.testing.assert_allclose(y, expected, atol=1e-4)
    assert layer.count_macs((None, 10, 10, 16)) == 10 * 10 * 25 * 60


def test_connection_table_conv_round_trips_through_its_config():
    layer = ConnectionTableConv2D([(0, 1), (1, 2)], 3, name="sparse")
    again = ConnectionTableConv2D.from_config(layer.get_config())
    assert again.table == [(0, 1), (1, 2)] and again.kernel_size == 3 and again.name == "sparse"


def test_connection_table_conv_rejects_bad_tables():
    with pytest.raises(ValueError, match="non-empty"):
        ConnectionTableConv2D([(0, 1), ()], 3)
    with pytest.raises(ValueError, match="beyond the 2"):
        ConnectionTableConv2D([(0, 5)], 3)(np.zeros((1, 8, 8, 2), "float32"))


def test_lecun_tanh_maps_plus_minus_one_to_themselves():
    np.testing.assert_allclose(numpy(lecun_tanh(np.array([-1.0, 0.0, 1.0]))), [-1.0, 0.0, 1.0], atol=2e-4)


def lrn_by_the_papers_formula(a, n=5, k=2.0, alpha=1e-4, beta=0.75):
    channels = a.shape[-1]
    out = np.empty_like(a, dtype="float64")
    for i in range(channels):
        low, high = max(0, i - n // 2), min(channels - 1, i + n // 2)
        out[..., i] = a[..., i] / (k + alpha * np.sum(a[..., low : high + 1] ** 2, axis=-1)) ** beta
    return out


@pytest.mark.parametrize(
    "options, formula",
    [({}, {}), ({"size": 3, "k": 1.0, "alpha": 0.5, "beta": 0.5}, {"n": 3, "k": 1.0, "alpha": 0.5, "beta": 0.5})],
)
def test_local_response_normalization_follows_the_papers_formula(options, formula):
    rng = np.random.default_rng(1)
    a = (rng.normal(size=(2, 3, 4, 9)) * 40).astype("float32")  # large enough for the sum to matter
    expected = lrn_by_the_papers_formula(a.astype("float64"), **formula)
    out = numpy(LocalResponseNormalization(**options)(a))
    np.testing.assert_allclose(out, expected, rtol=1e-5)
    assert np.abs(expected - a).max() > 1.0  # the test would notice a missing normalization


def test_local_response_normalization_is_tensorflows_with_depth_radius_n_over_2():
    if keras.backend.backend() != "tensorflow":
        pytest.skip("compares with tf.nn on the TensorFlow backend")
    import tensorflow as tf

    a = (np.random.default_rng(2).normal(size=(1, 5, 5, 16)) * 40).astype("float32")
    expected = tf.nn.local_response_normalization(a, depth_radius=2, bias=2.0, alpha=1e-4, beta=0.75)
    np.testing.assert_allclose(numpy(LocalResponseNormalization()(a)), expected.numpy(), rtol=1e-5)


def test_local_response_normalization_does_not_overflow_in_mixed_precision():
    a = np.full((1, 2, 2, 8), 300.0, dtype="float32")  # 5 * 300**2 is beyond float16's 65,504
    layer = LocalResponseNormalization(dtype="mixed_float16")
    out = numpy(layer(a))
    assert out.dtype == np.float16
    np.testing.assert_allclose(out.astype("float64"), lrn_by_the_papers_formula(a.astype("float64")), rtol=2e-3)


@pytest.mark.parametrize("size", [0, 4, 2.0, True])
def test_local_response_normalization_refuses_a_window_without_a_middle(size):
    with pytest.raises(ValueError, match="odd whole number"):
        LocalResponseNormalization(size=size)


# ---------------------------------------------------------------------------------------------
# BatchNormalization: the fused kernel gives Keras' results


def _keras_and_fused(policy, **options):
    from cnnbook.layers import BatchNormalization

    rng = np.random.default_rng(0)
    x = (rng.normal(size=(16, 6, 6, 5)) * 3 + 2).astype("float32")
    reference = keras.layers.BatchNormalization(dtype=policy, **options)
    fused = BatchNormalization(dtype=policy, **options)
    for layer in (reference, fused):
        layer.build(x.shape)
        if layer.scale:
            layer.gamma.assign(np.linspace(0.5, 2.0, 5).astype("float32"))
        if layer.center:
            layer.beta.assign(np.linspace(-1.0, 1.0, 5).astype("float32"))
    return x, reference, fused


def _gradients(layer, x):
    """d(sum(output * w)) / d(input, gamma), on the suite's backend."""
    weights = np.random.default_rng(1).normal(size=x.shape).astype("float32")
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        xt = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(xt)
            loss = tf.reduce_sum(tf.cast(layer(xt, training=True), "float32") * weights)
        return [numpy(g) for g in tape.gradient(loss, [xt, layer.gamma.value])]
    if backend == "torch":
        import torch

        xt = torch.tensor(x, requires_grad=True)
        loss = (layer(xt, training=True).float() * torch.tensor(weights)).sum()
        gamma = layer.gamma.value
        grads = torch.autograd.grad(loss, [xt, gamma])
        return [g.detach().numpy() for g in grads]
    import jax

    def f(xv, g):
        out, _ = layer.stateless_call([g, layer.beta.value], [layer.moving_mean.value, layer.moving_variance.value],
                                      xv, training=True)  # fmt: skip
        return (out.astype("float32") * weights).sum()

    return [np.asarray(g) for g in jax.grad(f, argnums=(0, 1))(x, layer.gamma.value)]


@pytest.mark.parametrize("policy, atol", [("float32", 1e-5), ("mixed_bfloat16", 0.05)])
def test_fused_batch_norm_matches_keras_in_training_and_inference(policy, atol):
    x, reference, fused = _keras_and_fused(policy, momentum=0.9, epsilon=1e-3)
    for training in (True, True, False):  # two updates of the moving statistics, then inference
        a = numpy(keras.ops.cast(reference(x, training=training), "float32"))
        b = numpy(keras.ops.cast(fused(x, training=training), "float32"))
        np.testing.assert_allclose(b, a, atol=atol)
        assert fused.compute_dtype == reference.compute_dtype
    # Two steps from mean 0 and variance 1 with momentum 0.9; the variance is the biased one, as in Keras.
    rtol = 1e-5 if policy == "float32" else 1e-3  # bfloat16 inputs: statistics of the rounded values
    for layer in (fused, reference):
        np.testing.assert_allclose(numpy(layer.moving_mean), 0.19 * x.mean(axis=(0, 1, 2)), rtol=rtol * 10)
        np.testing.assert_allclose(numpy(layer.moving_variance), 0.81 + 0.19 * x.var(axis=(0, 1, 2)), rtol=rtol)


def test_fused_batch_norm_gradients_match_keras():
    x, reference, fused = _keras_and_fused("float32")
    for a, b in zip(_gradients(reference, x), _gradients(fused, x)):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-4)


def test_fused_batch_norm_without_scale_and_center():
    x, reference, fused = _keras_and_fused("float32", scale=False, center=False)
    np.testing.assert_allclose(numpy(fused(x, training=True)), numpy(reference(x, training=True)), atol=1e-5)
    assert len(fused.weights) == len(reference.weights) == 2


def test_fused_batch_norm_falls_back_to_keras_where_it_has_no_kernel():
    from cnnbook.layers import BatchNormalization

    x = np.random.default_rng(0).normal(size=(8, 4, 3)).astype("float32")  # 3-D: Keras' own path
    layer, reference = BatchNormalization(axis=1), keras.layers.BatchNormalization(axis=1)
    np.testing.assert_allclose(numpy(layer(x, training=True)), numpy(reference(x, training=True)), atol=1e-5)


def test_fused_batch_norm_keeps_the_keras_config_and_reloads(tmp_path):
    from cnnbook.layers import BatchNormalization

    inputs = keras.Input((4, 4, 3))
    model = keras.Model(inputs, BatchNormalization(momentum=0.8, epsilon=1e-4, name="bn")(inputs))
    model.layers[-1].moving_mean.assign(np.array([1.0, 2.0, 3.0], "float32"))
    model.save(tmp_path / "bn.keras")
    again = keras.saving.load_model(tmp_path / "bn.keras")
    assert type(again.get_layer("bn")) is BatchNormalization
    assert again.get_layer("bn").get_config() == model.get_layer("bn").get_config()
    x = np.random.default_rng(0).normal(size=(2, 4, 4, 3)).astype("float32")
    np.testing.assert_allclose(numpy(again(x)), numpy(model(x)), atol=1e-6)


def test_fused_batch_norm_takes_the_fused_kernel_on_tensorflow_and_torch(monkeypatch):
    from cnnbook.layers import BatchNormalization

    if keras.backend.backend() == "jax":
        pytest.skip("JAX has no fused kernel: XLA fuses Keras' own operations")

    def refuse(*args, **kwargs):
        raise AssertionError("Keras' generic batch normalization ran")

    monkeypatch.setattr(keras.layers.BatchNormalization, "call", refuse)
    x = np.ones((2, 3, 3, 4), "float32")
    for policy in ("float32", "mixed_bfloat16"):
        layer = BatchNormalization(dtype=policy)
        layer(x, training=True), layer(x, training=False)
