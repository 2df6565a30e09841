"""AlexNet, ZFNet, VGG and Network in Network: parameter counts by hand and against
keras.applications, map sizes against the papers, the heads, the options and their errors.
What every model does (names, headless builds, saving) is checked in tests/test_models.py.

ImageNet-size models are big (VGG-19: 144 million parameters, 550 MB): each is built once per
module by the `facts` fixture, which keeps what the tests need and lets the model go.
"""

import gc
import math
import re
from dataclasses import dataclass

import keras
import numpy as np
import pytest

import cnnbook
from cnnbook.errors import ParameterError
from cnnbook.layers import LocalResponseNormalization

MODELS = (
    "alexnet", "zfnet", "alexnet_cifar", "vgg11", "vgg11_lrn", "vgg13", "vgg16_c", "vgg16", "vgg19",
    "vgg16_cifar", "nin",
)  # fmt: skip
VGGS = ("vgg11", "vgg11_lrn", "vgg13", "vgg16_c", "vgg16", "vgg19")


@dataclass
class Facts:
    """What the tests need from a built model, so that the model itself can be freed."""

    name: str
    params: int
    trainable: int
    layers: list  # layer names in order
    types: dict  # layer name -> class name
    shapes: dict  # layer name -> output shape without the batch axis
    layer_params: dict  # layer name -> parameters
    kernels: dict  # layer name -> kernel shape (convolutions and dense layers)
    inbound: dict  # layer name -> name of the layer whose output it takes
    weight_shapes: list
    macs: int
    uncounted: list

    def params_of(self, prefix):
        return sum(p for name, p in self.layer_params.items() if name.startswith(prefix + "_"))


def facts_of(model):
    producer = {id(layer.output): layer.name for layer in model.layers}
    inbound = {}
    for layer in model.layers[1:]:
        inputs = layer.input if isinstance(layer.input, list) else [layer.input]
        inbound[layer.name] = producer.get(id(inputs[0]))
    totals = cnnbook.counting.totals(model)
    return Facts(
        name=model.name,
        params=model.count_params(),
        trainable=sum(math.prod(w.shape) for w in model.trainable_weights),
        layers=[layer.name for layer in model.layers],
        types={layer.name: type(layer).__name__ for layer in model.layers},
        shapes={layer.name: tuple(layer.output.shape[1:]) for layer in model.layers},
        layer_params={layer.name: layer.count_params() for layer in model.layers},
        kernels={layer.name: tuple(layer.kernel.shape) for layer in model.layers if hasattr(layer, "kernel")},
        inbound=inbound,
        weight_shapes=[tuple(w.shape) for w in model.weights],
        macs=totals["macs"],
        uncounted=totals["uncounted"],
    )


@pytest.fixture(scope="module")
def facts():
    """``facts(name, **options)``: the `Facts` of a registered model, built once per module.
    ``facts("keras:VGG16", include_top=False)`` builds ``keras.applications.VGG16(weights=None)``."""
    cache = {}

    def get(name, **options):
        key = (name, tuple(sorted(options.items())))
        if key not in cache:
            if name.startswith("keras:"):
                model = getattr(keras.applications, name.removeprefix("keras:"))(weights=None, **options)
            else:
                model = cnnbook.models.build(name, **options)
            cache[key] = facts_of(model)
            del model
            gc.collect()
        return cache[key]

    yield get
    cache.clear()
    keras.backend.clear_session()
    gc.collect()


def numpy(x):
    return keras.ops.convert_to_numpy(x)


# --- AlexNet -------------------------------------------------------------------------------------


def test_alexnet_has_the_well_known_60965224_parameters_layer_by_layer(facts):
    alexnet = facts("alexnet")
    by_hand = {
        "conv1": (11 * 11 * 3 + 1) * 96,  # 96 kernels 11x11x3
        "conv2": (5 * 5 * 48 + 1) * 256,  # 256 kernels 5x5x48: each GPU sees its own 48 maps
        "conv3": (3 * 3 * 256 + 1) * 384,  # sees all 256 maps of conv2
        "conv4": (3 * 3 * 192 + 1) * 384,
        "conv5": (3 * 3 * 192 + 1) * 256,
        "fc6": (6 * 6 * 256 + 1) * 4096,
        "fc7": (4096 + 1) * 4096,
    }
    assert by_hand == {
        "conv1": 34_944, "conv2": 307_456, "conv3": 885_120, "conv4": 663_936, "conv5": 442_624,
        "fc6": 37_752_832, "fc7": 16_781_312,
    }  # fmt: skip
    assert {prefix: alexnet.params_of(prefix) for prefix in by_hand} == by_hand
    assert alexnet.layer_params["predictions"] == (4096 + 1) * 1000 == 4_097_000
    assert alexnet.params == sum(by_hand.values()) + 4_097_000 == 60_965_224
    assert round(alexnet.params / 1e6) == 61 and abs(alexnet.params - 60e6) / 60e6 < 0.02  # "60 million"


def test_alexnet_kernels_are_the_papers_and_conv2_4_5_are_grouped(facts):
    # Section 3.5: 96 kernels 11x11x3; 256 of 5x5x48; 384 of 3x3x256; 384 of 3x3x192; 256 of 3x3x192.
    kernels = facts("alexnet").kernels
    assert {name: kernels[f"{name}_conv"] for name in ("conv1", "conv2", "conv3", "conv4", "conv5")} == {
        "conv1": (11, 11, 3, 96), "conv2": (5, 5, 48, 256), "conv3": (3, 3, 256, 384),
        "conv4": (3, 3, 192, 384), "conv5": (3, 3, 192, 256),
    }  # fmt: skip
    # Grouped: each kernel is half as deep as the maps it is applied to.
    shapes = facts("alexnet").shapes
    assert kernels["conv2_conv"][2] * 2 == shapes["conv1_maxpool"][-1] == 96
    assert kernels["conv4_conv"][2] * 2 == shapes["conv3_conv"][-1] == 384
    assert kernels["conv5_conv"][2] * 2 == shapes["conv4_conv"][-1] == 384
    assert kernels["conv3_conv"][2] == shapes["conv2_maxpool"][-1] == 256


def test_the_single_device_alexnet_lets_every_kernel_see_every_map(facts):
    single = facts("alexnet", grouped=False)
    assert single.params_of("conv2") == (5 * 5 * 96 + 1) * 256 == 614_656
    assert single.params_of("conv4") == (3 * 3 * 384 + 1) * 384 == 1_327_488
    assert single.params_of("conv5") == (3 * 3 * 384 + 1) * 256 == 884_992
    assert single.params == 60_965_224 + 307_200 + 663_552 + 442_368 == 62_378_344


@pytest.fixture(scope="module")
def small_alexnet():
    """AlexNet's convolutions on its smallest input: cheap, with the grouped layers and LRN."""
    return cnnbook.models.build("alexnet", input_shape=(67, 67, 3), include_top=False)


def test_grouped_convolutions_keep_the_two_gpus_apart(small_alexnet):
    rng = np.random.default_rng(0)
    conv2, conv3 = small_alexnet.get_layer("conv2_conv"), small_alexnet.get_layer("conv3_conv")
    assert conv2.groups == 2 and conv3.groups == 1
    x = rng.normal(size=(1, 7, 7, 96)).astype("float32")
    changed = x.copy()
    changed[..., 48:] += rng.normal(size=(1, 7, 7, 48)).astype("float32")  # the second GPU's maps
    before, after = numpy(conv2(x)), numpy(conv2(changed))
    np.testing.assert_allclose(after[..., :128], before[..., :128], atol=1e-6)  # first GPU: untouched
    assert np.abs(after[..., 128:] - before[..., 128:]).max() > 1e-2
    # conv3 sees the maps of both GPUs: changing the second half changes all of its outputs.
    y = rng.normal(size=(1, 3, 3, 256)).astype("float32")
    y_changed = y.copy()
    y_changed[..., 128:] += 1.0
    difference = np.abs(numpy(conv3(y_changed)) - numpy(conv3(y)))
    assert difference[..., :192].max() > 1e-2 and difference[..., 192:].max() > 1e-2


def test_alexnet_maps_have_the_papers_sizes(facts):
    shapes = facts("alexnet").shapes
    assert shapes["image"] == (227, 227, 3)
    assert shapes["conv1_conv"] == (55, 55, 96) and shapes["conv1_maxpool"] == (27, 27, 96)
    assert shapes["conv2_conv"] == (27, 27, 256) and shapes["conv2_maxpool"] == (13, 13, 256)
    assert shapes["conv3_conv"] == shapes["conv4_conv"] == (13, 13, 384)
    assert shapes["conv5_conv"] == (13, 13, 256) and shapes["conv5_maxpool"] == (6, 6, 256)
    assert shapes["flatten"] == (9216,) and shapes["fc6_dense"] == shapes["fc7_dense"] == (4096,)
    # Section 3.5's neuron counts of conv2 to conv5.
    neurons = [math.prod(shapes[f"conv{i}_conv"]) for i in (2, 3, 4, 5)]
    assert neurons == [186_624, 64_896, 64_896, 43_264]


def test_alexnet_normalizes_after_the_relu_and_then_pools(facts):
    alexnet = facts("alexnet")
    for layer in ("conv1", "conv2"):
        assert alexnet.inbound[f"{layer}_relu"] == f"{layer}_conv"
        assert alexnet.inbound[f"{layer}_lrn"] == f"{layer}_relu"
        assert alexnet.inbound[f"{layer}_maxpool"] == f"{layer}_lrn"
    assert [name for name, kind in alexnet.types.items() if kind == "LocalResponseNormalization"] == [
        "conv1_lrn", "conv2_lrn",
    ]  # fmt: skip
    assert [name for name, kind in alexnet.types.items() if kind == "Dropout"] == ["fc6_dropout", "fc7_dropout"]
    assert alexnet.inbound["fc6_dropout"] == "fc6_relu" and alexnet.inbound["fc7_dropout"] == "fc7_relu"


def test_alexnet_multiply_accumulates_count_the_groups(facts):
    alexnet = facts("alexnet")
    by_hand = (
        55 * 55 * 96 * 11 * 11 * 3 + 27 * 27 * 256 * 5 * 5 * 48 + 13 * 13 * 384 * 3 * 3 * 256
        + 13 * 13 * 384 * 3 * 3 * 192 + 13 * 13 * 256 * 3 * 3 * 192 + 9216 * 4096 + 4096 * 4096 + 4096 * 1000
    )  # fmt: skip
    lrn = 5 * (55 * 55 * 96 + 27 * 27 * 256)  # LRN's windowed sums of squares, five per value
    assert by_hand == 724_406_816
    assert alexnet.macs == by_hand + lrn
    assert alexnet.uncounted == []


def test_a_224_input_does_not_give_alexnets_55x55_maps():
    # The paper's 224 and its 55x55 maps do not fit together: (224 - 11) / 4 + 1 = 54.25.
    model = cnnbook.models.build("alexnet", input_shape=(224, 224, 3), include_top=False)
    assert model.get_layer("conv1_conv").output.shape[1:] == (54, 54, 96)
    assert model.output.shape[1:] == (5, 5, 256)


def test_alexnet_with_lrn_and_groups_survives_saving_and_loading(small_alexnet, tmp_path):
    x = np.random.default_rng(3).normal(size=(2, 67, 67, 3)).astype("float32") * 50
    path = tmp_path / "alexnet.keras"
    small_alexnet.save(path)
    again = keras.saving.load_model(path)
    assert type(again.get_layer("conv1_lrn")) is LocalResponseNormalization
    assert again.get_layer("conv1_lrn").get_config()["size"] == 5
    np.testing.assert_allclose(numpy(again(x)), numpy(small_alexnet(x)), rtol=1e-4, atol=1e-5)


# --- ZFNet ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("wide, widths", [(False, (384, 384, 256)), (True, (512, 1024, 512))])
def test_zfnet_maps_have_the_sizes_of_figure_3(facts, wide, widths):
    shapes = facts("zfnet", wide=wide).shapes
    assert shapes["image"] == (224, 224, 3)
    assert shapes["conv1_conv"] == (110, 110, 96) and shapes["conv1_maxpool"] == (55, 55, 96)
    assert shapes["conv2_conv"] == (26, 26, 256) and shapes["conv2_maxpool"] == (13, 13, 256)
    assert [shapes[f"conv{i}_conv"] for i in (3, 4, 5)] == [(13, 13, w) for w in widths]
    assert shapes["conv5_maxpool"] == (6, 6, widths[-1])
    if not wide:
        assert shapes["flatten"] == (6 * 6 * 256,) == (9216,)  # Figure 3's caption


def test_zfnet_parameters_by_hand(facts):
    figure3, wide = facts("zfnet", wide=False), facts("zfnet")
    assert figure3.kernels["conv1_conv"] == (7, 7, 3, 96) and figure3.kernels["conv2_conv"] == (5, 5, 96, 256)
    common = (7 * 7 * 3 + 1) * 96 + (5 * 5 * 96 + 1) * 256 + (4096 + 1) * 4096 + (4096 + 1) * 1000
    narrow = (3 * 3 * 256 + 1) * 384 + (3 * 3 * 384 + 1) * 384 + (3 * 3 * 384 + 1) * 256 + (6 * 6 * 256 + 1) * 4096
    wider = (3 * 3 * 256 + 1) * 512 + (3 * 3 * 512 + 1) * 1024 + (3 * 3 * 1024 + 1) * 512 + (6 * 6 * 512 + 1) * 4096
    assert figure3.params == common + narrow == 62_357_608
    assert wide.params == common + wider == 107_627_624


def test_zfnet_pools_then_normalizes_and_has_no_groups(facts):
    zfnet = facts("zfnet", wide=False)
    for layer in ("conv1", "conv2"):
        assert zfnet.inbound[f"{layer}_maxpool"] == f"{layer}_relu"
        assert zfnet.inbound[f"{layer}_lrn"] == f"{layer}_maxpool"
    # No grouping: every kernel is as deep as the maps below it.
    assert zfnet.kernels["conv4_conv"][2] == zfnet.shapes["conv3_conv"][-1]
    assert zfnet.kernels["conv5_conv"][2] == zfnet.shapes["conv4_conv"][-1]


# --- AlexNet for CIFAR-10 --------------------------------------------------------------------------


def test_alexnet_cifar_parameters_by_hand_and_sizes(facts):
    model = facts("alexnet_cifar")
    widths, kernels = (96, 256, 384, 384, 256), (5, 5, 3, 3, 3)
    inputs = (3,) + widths[:-1]
    convs = sum(k * k * c_in * c_out for k, c_in, c_out in zip(kernels, inputs, widths))  # no bias (BN)
    batch_norm = 4 * sum(widths)  # gamma, beta, moving mean, moving variance
    top = (4 * 4 * 256 + 1) * 512 + (512 + 1) * 512 + (512 + 1) * 10
    assert model.params == convs + batch_norm + top == 6_089_130
    assert model.trainable == model.params - 2 * sum(widths)
    assert [model.shapes[f"conv{i}_maxpool"][:2] for i in (1, 2, 5)] == [(16, 16), (8, 8), (4, 4)]
    for i in range(1, 6):  # batch normalization after each convolution, then ReLU; no LRN
        assert model.inbound[f"conv{i}_bn"] == f"conv{i}_conv" and model.inbound[f"conv{i}_relu"] == f"conv{i}_bn"
    assert "LocalResponseNormalization" not in model.types.values()


# --- VGG -----------------------------------------------------------------------------------------

# Table 1 written out in the test, independently of the model's table: (kernel, maps) per stack.
TABLE_1 = {
    "vgg11": [[(3, 64)], [(3, 128)], [(3, 256)] * 2, [(3, 512)] * 2, [(3, 512)] * 2],
    "vgg13": [[(3, 64)] * 2, [(3, 128)] * 2, [(3, 256)] * 2, [(3, 512)] * 2, [(3, 512)] * 2],
    "vgg16_c": [[(3, 64)] * 2, [(3, 128)] * 2, [(3, 256), (3, 256), (1, 256)], [(3, 512), (3, 512), (1, 512)],
                [(3, 512), (3, 512), (1, 512)]],
    "vgg16": [[(3, 64)] * 2, [(3, 128)] * 2, [(3, 256)] * 3, [(3, 512)] * 3, [(3, 512)] * 3],
    "vgg19": [[(3, 64)] * 2, [(3, 128)] * 2, [(3, 256)] * 4, [(3, 512)] * 4, [(3, 512)] * 4],
}  # fmt: skip
TABLE_1["vgg11_lrn"] = TABLE_1["vgg11"]


def vgg_params_by_hand(stacks, num_classes=1000):
    total, maps = 0, 3
    for stack in stacks:
        for kernel, filters in stack:
            total += (kernel * kernel * maps + 1) * filters
            maps = filters
    return total + (7 * 7 * 512 + 1) * 4096 + (4096 + 1) * 4096 + (4096 + 1) * num_classes


@pytest.mark.parametrize(
    "name, millions, weight_layers",
    [("vgg11", 133, 11), ("vgg11_lrn", 133, 11), ("vgg13", 133, 13), ("vgg16_c", 134, 16), ("vgg16", 138, 16),
     ("vgg19", 144, 19)],
)  # fmt: skip
def test_vgg_configurations_have_table_2s_parameters(facts, name, millions, weight_layers):
    model = facts(name)
    assert model.params == vgg_params_by_hand(TABLE_1[name])
    assert round(model.params / 1e6) == millions  # Table 2, in millions
    convs = [layer for layer, kind in model.types.items() if kind == "Conv2D"]
    denses = [layer for layer, kind in model.types.items() if kind == "Dense"]
    assert len(convs) + len(denses) == weight_layers and len(denses) == 3
    expected = [(k, k, f) for stack in TABLE_1[name] for k, f in stack]
    assert [(model.kernels[c][0], model.kernels[c][1], model.kernels[c][3]) for c in convs] == expected


def test_vgg_counts_are_exact():
    # The sums of Table 1 by hand, for the record (Table 2 rounds them to millions).
    assert [vgg_params_by_hand(TABLE_1[n]) for n in ("vgg11", "vgg13", "vgg16_c", "vgg16", "vgg19")] == [
        132_863_336, 133_047_848, 133_638_952, 138_357_544, 143_667_240,
    ]  # fmt: skip


def test_configuration_c_has_1x1_layers_only_at_the_end_of_stacks_3_4_5(facts):
    c, d = facts("vgg16_c"), facts("vgg16")
    assert sorted(name for name, shape in c.kernels.items() if shape[:2] == (1, 1)) == [
        "conv3_3_conv", "conv4_3_conv", "conv5_3_conv",
    ]  # fmt: skip
    assert not [name for name, shape in d.kernels.items() if len(shape) == 4 and shape[:2] != (3, 3)]


def test_only_a_lrn_has_a_normalization_after_its_first_layer(facts):
    lrn = facts("vgg11_lrn")
    assert [name for name, kind in lrn.types.items() if kind == "LocalResponseNormalization"] == ["conv1_1_lrn"]
    assert lrn.inbound["conv1_1_lrn"] == "conv1_1_relu" and lrn.inbound["pool1_maxpool"] == "conv1_1_lrn"
    for name in VGGS:
        if name != "vgg11_lrn":
            assert "LocalResponseNormalization" not in facts(name).types.values()


@pytest.mark.parametrize("name, application", [("vgg16", "VGG16"), ("vgg19", "VGG19")])
def test_vgg_equals_keras_applications_weight_by_weight(facts, name, application):
    ours, theirs = facts(name), facts(f"keras:{application}")
    assert ours.params == theirs.params == {"vgg16": 138_357_544, "vgg19": 143_667_240}[name]
    assert ours.weight_shapes == theirs.weight_shapes  # every kernel and bias, in order


def test_vgg_maps_halve_five_times(facts):
    shapes = facts("vgg16").shapes
    assert [shapes[f"pool{i}_maxpool"] for i in range(1, 6)] == [
        (112, 112, 64), (56, 56, 128), (28, 28, 256), (14, 14, 512), (7, 7, 512),
    ]  # fmt: skip
    assert shapes["flatten"] == (25088,)
    assert [name for name, kind in facts("vgg16").types.items() if kind == "Dropout"] == ["fc6_dropout", "fc7_dropout"]


def test_vgg16_without_top_equals_keras_applications_without_top(facts):
    size = (224, 224, 3)
    ours, theirs = facts("vgg16", include_top=False), facts("keras:VGG16", include_top=False, input_shape=size)
    assert ours.params == theirs.params == 14_714_688
    assert ours.shapes[ours.layers[-1]] == theirs.shapes[theirs.layers[-1]] == (7, 7, 512)
    assert ours.weight_shapes == theirs.weight_shapes
    pooled = facts("vgg16", include_top=False, pooling="avg")
    their_pooled = facts("keras:VGG16", include_top=False, pooling="avg", input_shape=size)
    assert pooled.shapes[pooled.layers[-1]] == their_pooled.shapes[their_pooled.layers[-1]] == (512,)


def test_vgg16_multiply_accumulates(facts):
    sizes = [224] * 2 + [112] * 2 + [56] * 3 + [28] * 3 + [14] * 3
    maps = [3, 64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512]
    convs = sum(s * s * 9 * c_in * c_out for s, c_in, c_out in zip(sizes, maps[:-1], maps[1:]))
    assert facts("vgg16").macs == convs + 25088 * 4096 + 4096 * 4096 + 4096 * 1000 == 15_470_264_320


def test_vgg16_cifar_is_vgg16s_convolutions_with_batch_norm(facts):
    model = facts("vgg16_cifar")
    maps = [3, 64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512]
    convs = sum(9 * c_in * c_out for c_in, c_out in zip(maps[:-1], maps[1:]))  # no bias
    bn_trainable = 2 * sum(maps[1:])
    assert model.trainable == convs + bn_trainable + 512 * 10 + 10 == 14_724_042
    assert model.trainable + sum(maps[1:]) == 14_728_266  # kuangliu/pytorch-cifar's VGG16, with conv biases
    assert model.params == model.trainable + 2 * sum(maps[1:]) == 14_732_490
    convs_in_order = [name for name, kind in model.types.items() if kind == "Conv2D"]
    assert len(convs_in_order) == 13 and all(model.kernels[c][:2] == (3, 3) for c in convs_in_order)
    for conv in convs_in_order:
        prefix = conv.removesuffix("_conv")
        assert model.inbound[f"{prefix}_bn"] == conv and model.inbound[f"{prefix}_relu"] == f"{prefix}_bn"
    assert model.shapes["pool5_maxpool"] == (1, 1, 512) and model.shapes["flatten"] == (512,)
    assert [name for name, kind in model.types.items() if kind == "Dense"] == ["predictions"]


def test_vgg16_cifar_without_batch_norm_is_the_plain_stack(facts):
    plain = facts("vgg16_cifar", batch_norm=False)
    assert "BatchNormalization" not in plain.types.values()
    assert plain.params == 14_714_688 + 512 * 10 + 10  # keras.applications' VGG16 convolutions + 1 layer


# --- Network in Network --------------------------------------------------------------------------


def test_nin_parameters_by_hand_mlpconv_by_mlpconv(facts):
    model = facts("nin")
    by_hand = {
        "mlpconv1": (5 * 5 * 3 + 1) * 192 + (192 + 1) * 160 + (160 + 1) * 96,
        "mlpconv2": (5 * 5 * 96 + 1) * 192 + (192 + 1) * 192 * 2,
        "mlpconv3": (3 * 3 * 192 + 1) * 192 + (192 + 1) * 192,
        "predictions": (192 + 1) * 10,  # mlpconv3's last 1x1 layer: one map per class
    }
    assert {prefix: model.params_of(prefix) for prefix in by_hand} == by_hand
    assert model.params == sum(by_hand.values()) == 966_986


def test_nin_layers_follow_the_released_model(facts):
    model = facts("nin")
    assert [model.kernels[name][:2] + model.kernels[name][3:] for name in model.kernels] == [
        (5, 5, 192), (1, 1, 160), (1, 1, 96), (5, 5, 192), (1, 1, 192), (1, 1, 192), (3, 3, 192), (1, 1, 192),
        (1, 1, 10),
    ]  # fmt: skip
    assert model.shapes["mlpconv1_maxpool"] == (16, 16, 96) and model.types["mlpconv1_maxpool"] == "MaxPooling2D"
    assert model.shapes["mlpconv2_avgpool"] == (8, 8, 192) and model.types["mlpconv2_avgpool"] == "AveragePooling2D"
    assert model.inbound["mlpconv1_dropout"] == "mlpconv1_maxpool"
    assert model.inbound["mlpconv2_dropout"] == "mlpconv2_avgpool"
    assert [name for name, kind in model.types.items() if kind == "Dropout"] == ["mlpconv1_dropout", "mlpconv2_dropout"]
    # Every convolution is followed by a ReLU, the class maps included; no fully connected layer.
    for conv in model.kernels:
        assert model.inbound[conv.removesuffix("_conv") + "_relu"] == conv
    assert "Dense" not in model.types.values()
    assert model.layers[-3:] == ["predictions_conv", "predictions_relu", "predictions_global_avg"]
    assert model.shapes["predictions_conv"] == (8, 8, 10) and model.shapes["predictions_global_avg"] == (10,)


def test_nin_options(facts):
    assert "Dropout" not in facts("nin", dropout=0).types.values()
    hundred = facts("nin", num_classes=100)
    assert hundred.shapes["predictions_conv"] == (8, 8, 100) and hundred.shapes["predictions_global_avg"] == (100,)
    features = facts("nin", include_top=False)
    assert features.shapes[features.layers[-1]] == (8, 8, 192) and features.layers[-1] == "mlpconv3_mlp1_relu"
    assert features.params == 966_986 - 1_930


def test_nin_scores_are_class_maps_averaged():
    model = cnnbook.models.build("nin", dropout=0)
    x = np.random.default_rng(4).normal(size=(2, 32, 32, 3)).astype("float32")
    maps = keras.Model(model.input, model.get_layer("predictions_relu").output)
    scores = numpy(model(x))
    assert scores.shape == (2, 10) and (scores >= 0).all()
    np.testing.assert_allclose(scores, numpy(maps(x)).mean(axis=(1, 2)), rtol=1e-5, atol=1e-6)


# --- The registry's facts about this module's models -----------------------------------------


@pytest.mark.parametrize("name, minimum", [("alexnet", 67), ("zfnet", 53), ("vgg16", 32), ("vgg16_cifar", 32)])
def test_the_minimum_input_size_is_exact(name, minimum):
    smallest = cnnbook.models.build(name, input_shape=(minimum, minimum, 3), include_top=False)
    assert smallest.output.shape[1:3] == (1, 1)
    with pytest.raises(ParameterError, match=f"at least {minimum}x{minimum}"):
        cnnbook.models.build(name, input_shape=(minimum - 1, minimum - 1, 3), include_top=False)
    with pytest.raises(ValueError):  # below the minimum, a pooling window no longer fits
        cnnbook.models.spec(name).builder((minimum - 1, minimum - 1, 3), 10, include_top=False)


def test_the_registry_describes_the_models():
    assert set(MODELS) <= set(cnnbook.models.names())
    expected = {
        "alexnet": ((227, 227, 3), 1000, "2012"), "zfnet": ((224, 224, 3), 1000, "2014"),
        "alexnet_cifar": ((32, 32, 3), 10, "2012"), "vgg16": ((224, 224, 3), 1000, "2015"),
        "vgg16_cifar": ((32, 32, 3), 10, "2015"), "nin": ((32, 32, 3), 10, "2014"),
    }  # fmt: skip
    for name, (shape, classes, year) in expected.items():
        spec = cnnbook.models.spec(name)
        assert (spec.input_shape, spec.num_classes) == (shape, classes) and year in spec.paper
    assert cnnbook.models.spec("alexnet").options() == {"include_top": True, "pooling": None, "grouped": True}
    assert cnnbook.models.spec("zfnet").options()["wide"] is True
    assert cnnbook.models.spec("vgg19").options() == {"include_top": True, "pooling": None}
    assert cnnbook.models.spec("vgg16_c").summary.startswith("VGG configuration C")


@pytest.mark.parametrize(
    "name, options, pattern",
    [("alexnet", {"grouped": "yes"}, "grouped='yes' is not allowed: grouped must be True or False"),
     ("zfnet", {"wide": 1}, "wide=1 is not allowed"),
     ("nin", {"dropout": 1.0}, "dropout=1.0 is not allowed"),
     ("nin", {"dropout": -0.1}, "dropout=-0.1 is not allowed"),
     ("alexnet_cifar", {"dropout": "half"}, "dropout='half' is not allowed"),
     ("vgg16_cifar", {"batch_norm": None}, "batch_norm=None is not allowed"),
     ("vgg16", {"batch_norm": True}, "vgg16 has no option 'batch_norm'; its options are: include_top=True"),
     ("alexnet", {"groups": 2}, "alexnet has no option 'groups'"),
     ("vgg19", {"include_top": False, "pooling": "mean"}, "pooling='mean'"),
     ("alexnet", {"input_shape": (66, 66, 3)}, "alexnet needs images of at least 67x67 pixels")],
)  # fmt: skip
def test_bad_options_are_named(name, options, pattern):
    with pytest.raises(ParameterError, match=re.escape(pattern)):
        cnnbook.models.build(name, **options)


# --- alexnet_cifar's options: each of AlexNet's choices, taken back -------------------------------


def _layer_types(model):
    return {layer.name: type(layer).__name__ for layer in model.layers}


def test_alexnet_cifar_options_change_what_they_name():
    build = cnnbook.models.build
    half = build("alexnet_cifar", width=0.5)
    assert [half.get_layer(f"conv{i}_conv").filters for i in range(1, 6)] == [48, 128, 192, 192, 128]
    assert half.get_layer("fc6_dense").units == half.get_layer("fc7_dense").units == 256

    lrn = _layer_types(build("alexnet_cifar", norm="lrn"))
    assert [n for n, t in lrn.items() if t == "LocalResponseNormalization"] == ["conv1_lrn", "conv2_lrn"]
    assert "BatchNormalization" not in lrn.values()
    plain = build("alexnet_cifar", norm=None)
    assert not any(t in ("BatchNormalization", "LocalResponseNormalization") for t in _layer_types(plain).values())
    assert plain.get_layer("conv3_conv").use_bias and not half.get_layer("conv3_conv").use_bias

    tanh = build("alexnet_cifar", activation="tanh")
    assert {n for n, t in _layer_types(tanh).items() if t == "Activation"} == (
        {f"conv{i}_tanh" for i in range(1, 6)} | {"fc6_tanh", "fc7_tanh"}
    )
    pools = build("alexnet_cifar", overlap=False)
    assert pools.get_layer("conv1_maxpool").pool_size == (2, 2) and half.get_layer("conv1_maxpool").pool_size == (3, 3)
    assert pools.get_layer("conv5_maxpool").output.shape[1:3] == (4, 4)
    assert "fc6_dropout" not in _layer_types(build("alexnet_cifar", dropout=0.0))

    coarse = build("alexnet_cifar", conv1=(9, 3))
    assert coarse.get_layer("conv1_conv").kernel_size == (9, 9) and coarse.get_layer("conv1_conv").strides == (3, 3)
    assert coarse.get_layer("conv1_conv").output.shape[1:3] == (11, 11)


def test_alexnet_cifar_two_towers_are_a_grouped_convolution():
    """The towers (two convolutions on the two halves of the maps) compute what Keras' Conv2D with
    groups=2 computes, with its parameter count; conv1 and conv3 see every map."""
    model = cnnbook.models.build("alexnet_cifar", grouped=True, norm=None)
    ungrouped = cnnbook.models.build("alexnet_cifar", norm=None)
    conv2 = [model.get_layer(f"conv2_gpu{g}_conv") for g in (1, 2)]
    assert sum(c.count_params() for c in conv2) == (5 * 5 * 48 + 1) * 256 == 307_456
    assert model.count_params() < ungrouped.count_params()
    assert "conv3_conv" in _layer_types(model) and "conv1_conv" in _layer_types(model)

    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 16, 16, 96)).astype("float32")
    grouped = keras.layers.Conv2D(256, 5, padding="same", groups=2)
    grouped.build((None, 16, 16, 96))
    kernel, bias = grouped.get_weights()  # kernel (5, 5, 48, 256): first 128 maps see maps 0-47
    for g, conv in enumerate(conv2):
        conv.set_weights([kernel[..., 128 * g : 128 * (g + 1)], bias[128 * g : 128 * (g + 1)]])
    towers = keras.Model(model.get_layer("conv2_gpu1_slice").input, model.get_layer("conv2_concat").output)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(towers(x)), keras.ops.convert_to_numpy(grouped(x)),
                               rtol=1e-4, atol=1e-4)  # fmt: skip


@pytest.mark.parametrize(
    "options, pattern",
    [({"norm": "layer"}, "norm='layer' is not allowed: choose one of 'batch', 'lrn', None"),
     ({"width": 0}, "width=0 is not allowed"),
     ({"width": 0.3, "grouped": True}, "with grouped=True every layer needs an even number of maps"),
     ({"conv1": 5}, "conv1 must be (kernel size, stride)"),
     ({"activation": "squash"}, "give a Keras activation"),
     ({"overlap": "yes"}, "overlap must be True or False")],
)  # fmt: skip
def test_alexnet_cifar_bad_options_are_named(options, pattern):
    with pytest.raises(ParameterError, match=re.escape(pattern)):
        cnnbook.models.build("alexnet_cifar", **options)


# --- The CIFAR-10 VGG family: configurations, width, the paper's initialization -------------------


@pytest.mark.parametrize("name, config", [("vgg11_cifar", "A"), ("vgg13_cifar", "B"), ("vgg16_cifar", "D"),
                                          ("vgg19_cifar", "E")])  # fmt: skip
def test_vgg_cifar_configurations_follow_table_1(name, config):
    model = cnnbook.models.build(name)
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    expected = [_parse_spec(layer) for stack in cnnbook.models.vgg.CONFIGS[config] for layer in stack if layer != "LRN"]
    assert [(c.kernel_size[0], c.filters) for c in convs] == expected
    assert {"A": 8, "B": 10, "D": 13, "E": 16}[config] == len(convs)
    assert model.output.shape[1:] == (10,)


def _parse_spec(layer):
    kind, filters = layer.split("-")
    return int(kind.removeprefix("conv")), int(filters)


def test_vgg_cifar_width_scales_every_layer():
    half = cnnbook.models.build("vgg16_cifar", width=0.5)
    convs = [layer.filters for layer in half.layers if isinstance(layer, keras.layers.Conv2D)]
    assert convs == [32, 32, 64, 64, 128, 128, 128, 256, 256, 256, 256, 256, 256]
    maps = [3] + convs
    trainable = sum(9 * a * b for a, b in zip(maps[:-1], maps[1:])) + 2 * sum(convs) + 256 * 10 + 10
    assert sum(int(np.prod(w.shape)) for w in half.trainable_weights) == trainable == 3_684_842


def test_vgg_cifar_paper_initialization_is_n_0_001():
    keras.utils.set_random_seed(0)
    paper = cnnbook.models.build("vgg16_cifar", batch_norm=False, init="paper", width=0.5)
    kernel, bias = paper.get_layer("conv3_1_conv").get_weights()
    assert abs(kernel.std() - 0.01) < 0.0005 and abs(kernel.mean()) < 0.0005 and not bias.any()
    glorot = cnnbook.models.build("vgg16_cifar", batch_norm=False, width=0.5).get_layer("conv3_1_conv").get_weights()[0]
    limit = np.sqrt(6 / (9 * 64 + 9 * 128))  # Glorot uniform: fan in and fan out of a 3x3 64 -> 128 layer
    assert glorot.std() == pytest.approx(limit / np.sqrt(3), rel=0.05)
    with pytest.raises(ParameterError, match=re.escape("init='he' is not allowed: choose one of 'glorot', 'paper'")):
        cnnbook.models.build("vgg16_cifar", init="he")


# --- NiN's options: batch normalization, width, the head the paper argues against ------------------


def test_nin_options_batch_norm_width_and_heads():
    plain, normed = cnnbook.models.build("nin"), cnnbook.models.build("nin", batch_norm=True)
    convs = [layer.name for layer in normed.layers if isinstance(layer, keras.layers.Conv2D)]
    bns = {layer.name for layer in normed.layers if isinstance(layer, keras.layers.BatchNormalization)}
    assert bns == {name.replace("_conv", "_bn") for name in convs if name != "predictions_conv"}
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in plain.layers)
    assert not normed.get_layer("mlpconv1_conv").use_bias and plain.get_layer("mlpconv1_conv").use_bias

    half = cnnbook.models.build("nin", width=0.5)
    assert [layer.filters for layer in half.layers if isinstance(layer, keras.layers.Conv2D)] == [
        96, 80, 48, 96, 96, 96, 96, 96, 10]

    dense = cnnbook.models.build("nin", head="dense")
    body = cnnbook.models.build("nin", include_top=False).count_params()
    assert dense.count_params() - body == 8 * 8 * 192 * 10 + 10  # one weight per map, position and class
    assert plain.count_params() - body == (192 + 1) * 10  # the class maps' 1x1 layer; the average has none
    assert "predictions_global_avg" in {layer.name for layer in plain.layers}
    with pytest.raises(ParameterError, match=re.escape("head='fc' is not allowed: choose one of 'gap', 'dense'")):
        cnnbook.models.build("nin", head="fc")
