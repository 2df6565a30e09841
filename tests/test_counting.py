import itertools

import keras
import numpy as np
import pytest
from keras import layers

import cnnbook
from cnnbook.counting import conv_output_size, count_layer, layer_table, receptive_field, totals


def test_modern_lenet5_macs_by_hand():
    # C1 28*28*6 outputs x 5*5*3 taps, C3 10*10*16 x 5*5*6, C5 120 x 400, F6 84 x 120, output 10 x 84.
    by_hand = 28 * 28 * 6 * 75 + 10 * 10 * 16 * 150 + 120 * 400 + 84 * 120 + 10 * 84
    assert by_hand == 651_720
    counted = totals(cnnbook.models.build("lenet5"))
    assert counted["macs"] == by_hand
    assert counted["params"] == counted["trainable_params"] == 62_006
    assert counted["uncounted"] == []


def test_classic_lenet5_counts_only_the_connected_c3_kernels():
    model = cnnbook.models.build("lenet5_classic", input_shape=(32, 32, 1))
    macs = {layer.name: count_layer(layer)[0] for layer in model.layers}
    assert macs["c3_conv"] == 10 * 10 * 25 * 60  # 60 of the 96 map-to-map connections
    assert macs["s2_scale"] == 14 * 14 * 6  # one multiply-add per subsampled value
    assert totals(model)["macs"] == 117_600 + 1_176 + 150_000 + 400 + 48_000 + 10_080 + 840


def test_flops_are_twice_the_macs_plus_elementwise_work():
    inputs = keras.Input((8, 8, 3))
    x = layers.Conv2D(4, 3, activation="relu", name="conv")(inputs)  # 6*6*4 outputs, 27 taps each
    x = layers.MaxPooling2D(2, name="pool")(x)  # 3*3*4 outputs, 4 comparisons each
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(5, name="dense")(x)  # 36 inputs x 5
    model = keras.Model(inputs, x)
    table = layer_table(model).set_index("layer")
    assert table.loc["conv", "MACs"] == 6 * 6 * 4 * 27
    assert table.loc["conv", "FLOPs"] == 2 * 6 * 6 * 4 * 27 + 6 * 6 * 4  # the fused ReLU counts per element
    assert table.loc["pool", "FLOPs"] == 3 * 3 * 4 * 4
    assert table.loc["dense", "FLOPs"] == 2 * 36 * 5
    assert table.loc["total", "params"] == model.count_params()
    assert table.loc["total", "FLOPs"] == table.drop("total")["FLOPs"].sum()


def test_grouped_depthwise_and_separable_convolutions():
    inputs = keras.Input((10, 10, 8))
    grouped = layers.Conv2D(16, 3, groups=4)(inputs)
    depthwise = layers.DepthwiseConv2D(3)(inputs)
    separable = layers.SeparableConv2D(16, 3)(inputs)
    keras.Model(inputs, [grouped, depthwise, separable])
    assert count_layer(grouped._keras_history.operation)[0] == 8 * 8 * 16 * 9 * 2
    assert count_layer(depthwise._keras_history.operation)[0] == 8 * 8 * 8 * 9
    assert count_layer(separable._keras_history.operation)[0] == 8 * 8 * 8 * 9 + 8 * 8 * 8 * 16


def test_nested_models_are_expanded():
    inner = cnnbook.models.build("lenet5")
    inputs = keras.Input((32, 32, 3))
    outer = keras.Model(inputs, inner(layers.Rescaling(1.0, name="scale")(inputs)))
    table = layer_table(outer)
    assert "lenet5/c1_conv" in set(table.layer)
    assert totals(outer)["macs"] == totals(inner)["macs"]


def test_unknown_layers_are_reported_not_guessed():
    class Mystery(layers.Layer):
        def call(self, x):
            return x * 2

    inputs = keras.Input((4,))
    model = keras.Model(inputs, Mystery(name="mystery")(inputs))
    assert totals(model)["uncounted"] == ["mystery"]


SIZES = [c for c in itertools.product((9, 16), (1, 3, 4), (1, 2), (0, 1), (1, 2)) if c[2] == 1 or c[4] == 1]


@pytest.mark.parametrize("n, k, s, p, d", SIZES)  # Keras refuses strides > 1 with dilation > 1
def test_output_size_formula_matches_keras(n, k, s, p, d):
    x = np.zeros((1, n, n, 1), "float32")
    y = layers.Conv2D(1, k, strides=s, dilation_rate=d)(layers.ZeroPadding2D(p)(x))
    assert y.shape[1] == conv_output_size(n, k, stride=s, padding=p, dilation=d)


def test_receptive_field_formula():
    assert [r for r, _ in receptive_field([(3, 1)] * 3)] == [3, 5, 7]  # three 3x3 = one 7x7
    assert receptive_field([(3, 1), (2, 2), (3, 1)])[-1] == (8, 2)
    assert [r for r, _ in receptive_field([(3, 1, d) for d in (1, 2, 4)])] == [3, 7, 15]
