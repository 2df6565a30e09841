"""simple_cnn, the batch-normalization chapter's network: counts by hand and what its options do."""

import keras
import numpy as np
import pytest

import cnnbook
from cnnbook.errors import ParameterError

WIDTHS = [(3, 32), (32, 32), (32, 64), (64, 64), (64, 128), (128, 128)]


def conv_weights(bias):
    return sum(9 * cin * cout + (cout if bias else 0) for cin, cout in WIDTHS)


def test_counts_by_hand_with_and_without_batch_norm():
    plain = cnnbook.models.build("simple_cnn", norm=None)
    assert plain.count_params() == conv_weights(bias=True) + 128 * 10 + 10 == 288_298
    bn = cnnbook.models.build("simple_cnn")
    # No biases before BN; each BN has gamma, beta and the two moving statistics.
    channels = sum(cout for _, cout in WIDTHS)
    assert bn.count_params() == conv_weights(bias=False) + 4 * channels + 128 * 10 + 10
    assert cnnbook.counting.totals(bn)["uncounted"] == []
    assert bn.get_layer("conv3_2_conv").output.shape[1:] == (8, 8, 128)


def test_normalization_goes_before_or_after_the_activation():
    before = cnnbook.models.build("simple_cnn", activation="sigmoid")
    after = cnnbook.models.build("simple_cnn", activation="sigmoid", norm_position="after")
    assert before.get_layer("conv1_1_sigmoid").input is before.get_layer("conv1_1_bn").output
    assert after.get_layer("conv1_1_bn").input is after.get_layer("conv1_1_sigmoid").output
    # After the activation, the convolution's bias is not cancelled by a mean subtraction: kept.
    assert not before.get_layer("conv1_1_conv").use_bias and after.get_layer("conv1_1_conv").use_bias
    assert cnnbook.models.build("simple_cnn", conv_bias=True).get_layer("conv2_1_conv").use_bias


def test_a_bias_before_batch_norm_changes_nothing():
    # Section 3.2 of the paper: BN's mean subtraction cancels the bias of the layer before it.
    keras.utils.set_random_seed(0)
    net = cnnbook.models.build("simple_cnn", conv_bias=True, width=4)
    images = np.random.default_rng(0).normal(size=(16, 32, 32, 3)).astype("float32")
    before = keras.ops.convert_to_numpy(net(images, training=True))
    conv = net.get_layer("conv1_1_conv")
    kernel, bias = conv.get_weights()
    conv.set_weights([kernel, bias + 5.0])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(net(images, training=True)), before, atol=1e-4)


@pytest.mark.parametrize(
    "kwargs, pattern",
    [({"norm": "layer"}, "norm='layer'"), ({"norm_position": "inside"}, "norm_position='inside'"),
     ({"width": 0}, "width=0"), ({"activation": "sigmoidal"}, "activation='sigmoidal'"),
     ({"conv_bias": "no"}, "conv_bias='no'"), ({"dropout": 1.0}, "dropout=1.0")],
)  # fmt: skip
def test_bad_options_are_named(kwargs, pattern):
    with pytest.raises(ParameterError, match=pattern):
        cnnbook.models.build("simple_cnn", **kwargs)


def test_dropout_sits_before_the_classifier_and_only_when_asked():
    net = cnnbook.models.build("simple_cnn", width=4, dropout=0.5)
    names = [layer.name for layer in net.layers]
    assert names[-3:] == ["pool_global_avg", "dropout", "predictions"]
    assert net.get_layer("dropout").rate == 0.5
    assert "dropout" not in [layer.name for layer in cnnbook.models.build("simple_cnn", width=4).layers]
    assert net.count_params() == cnnbook.models.build("simple_cnn", width=4).count_params()  # no weights
