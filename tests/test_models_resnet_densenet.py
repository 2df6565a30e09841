"""ResNet v1/v2 (ImageNet and CIFAR) and DenseNet: parameter counts against the papers,
torchvision and keras.applications, architecture and outputs against keras.applications,
shapes, options, errors and layer names. What every model does (readable names, headless
builds, saving and reloading) is checked in tests/test_models.py.

Big models are built once per module (see `summaries`); only their summaries are kept, so
memory stays low.
"""

import math
import re
import sys

import keras
import numpy as np
import pytest

import cnnbook
from cnnbook.counting import totals
from cnnbook.errors import ParameterError
from cnnbook.models.resnet import ZeroPadShortcut

build = cnnbook.models.build

RESNET_V1 = ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152")
RESNET_V2 = ("resnet50v2", "resnet101v2", "resnet152v2")
RESNET_CIFAR = ("resnet20", "resnet32", "resnet44", "resnet56", "resnet110", "resnet1202")
PLAIN_CIFAR = ("plain20", "plain32", "plain44", "plain56")
DENSENETS = ("densenet121", "densenet169", "densenet201")
GENERIC = ("resnet_cifar", "plain_cifar", "resnet_cifar_v2", "densenet_bc_cifar")
CIFAR_V2 = ("resnet164v2", "resnet1001v2", "resnet20v2", "resnet56v2", "resnet110v2")
ALL = RESNET_V1 + RESNET_V2 + RESNET_CIFAR + PLAIN_CIFAR + DENSENETS + GENERIC + CIFAR_V2 + ("densenet_bc_100",)

PAPERS = ("He, Zhang, Ren and Sun (2016)", "Huang, Liu, van der Maaten and Weinberger (2017)")
KERAS_APPS = {
    "resnet50": "ResNet50", "resnet101": "ResNet101", "resnet152": "ResNet152",
    "resnet50v2": "ResNet50V2", "resnet101v2": "ResNet101V2", "resnet152v2": "ResNet152V2",
    "densenet121": "DenseNet121", "densenet169": "DenseNet169", "densenet201": "DenseNet201",
}  # fmt: skip

# Trainable parameters of torchvision's resnet18 ... resnet152 (weights=None, 1000 classes):
# bias-free convolutions, BN scale and shift, classifier. Equal to the paper's networks.
TORCHVISION_TRAINABLE = {
    "resnet18": 11_689_512,
    "resnet34": 21_797_672,
    "resnet50": 25_557_032,
    "resnet101": 44_549_160,
    "resnet152": 60_192_808,
}


def trainable(model):
    return sum(math.prod(w.shape) for w in model.trainable_weights)


def architecture(model):
    """What defines a network up to parameter-free layers: for each layer with weights, its
    type, weight shapes, kernel size, strides, bias and BN epsilon, by layer name."""
    return {
        layer.name: (
            type(layer).__name__,
            tuple(tuple(w.shape) for w in layer.weights),
            getattr(layer, "kernel_size", None),
            getattr(layer, "strides", None),
            getattr(layer, "use_bias", None),
            getattr(layer, "epsilon", None),
        )
        for layer in model.layers
        if layer.weights
    }


def summarize(model):
    return {
        "name": model.name,
        "count": model.count_params(),
        "trainable": trainable(model),
        "architecture": architecture(model),
        "layer_names": [layer.name for layer in model.layers],
        "macs": totals(model)["macs"],
        "output_shape": tuple(model.output.shape[1:]),
        "features_shape": tuple(model.get_layer("pool_global_avg").input.shape[1:])
        if "pool_global_avg" in [layer.name for layer in model.layers]
        else None,
    }


@pytest.fixture(scope="module")
def summaries():
    """``get(source, name, **options)``: the summary of a model, built once for the module.

    ``source`` is ``"ours"`` (the registry) or ``"keras"`` (keras.applications, weights=None).
    """
    cache = {}

    def get(source, name, **options):
        key = (source, name, tuple(sorted(options.items())))
        if key not in cache:
            if source == "ours":
                model = build(name, **options)
            else:
                model = getattr(keras.applications, KERAS_APPS[name])(weights=None, **options)
            cache[key] = summarize(model)
        return cache[key]

    return get


# ---------------------------------------------------------------------------- registry


def test_every_model_is_registered_with_its_paper_and_options():
    ours = {n for n in cnnbook.models.names() if cnnbook.models.spec(n).builder.__module__.startswith(
        ("cnnbook.models.resnet", "cnnbook.models.densenet"))}  # fmt: skip
    assert ours == set(ALL)
    for name in ALL:
        spec = cnnbook.models.spec(name)
        assert spec.paper.startswith(PAPERS), name
    assert cnnbook.models.spec("resnet50").options() == {
        "conv_bias": False, "stride_at": "1x1", "include_top": True, "pooling": None
    }  # fmt: skip
    assert cnnbook.models.spec("resnet20").options()["shortcut"] == "A"
    assert cnnbook.models.spec("resnet_cifar").options()["depth"] == 56
    assert cnnbook.models.spec("resnet_cifar_v2").options()["depth"] == 164
    assert cnnbook.models.spec("densenet_bc_cifar").options() == {
        "depth": 100, "growth_rate": 12, "compression": 0.5, "include_top": True, "pooling": None
    }  # fmt: skip
    assert cnnbook.models.spec("resnet50").input_shape == (224, 224, 3)
    assert cnnbook.models.spec("resnet56").input_shape == (32, 32, 3)


# ---------------------------------------------------------------------------- ImageNet ResNet v1


@pytest.mark.parametrize("name", RESNET_V1)
def test_bias_free_imagenet_resnets_have_torchvisions_trainable_parameters(summaries, name):
    s = summaries("ours", name)
    assert s["name"] == name and s["output_shape"] == (1000,)
    assert s["trainable"] == TORCHVISION_TRAINABLE[name]
    convs = [a for a in s["architecture"].values() if a[0] == "Conv2D"]
    assert convs and not any(a[4] for a in convs), "the paper's convolutions have no bias"


@pytest.mark.parametrize("name, table1", list(zip(RESNET_V1, (1.8, 3.6, 3.8, 7.6, 11.3))))
def test_imagenet_resnets_cost_the_multiply_adds_of_table_1(summaries, name, table1):
    # Table 1 gives "FLOPs" (multiply-adds) to one decimal: 1.8, 3.6, 3.8, 7.6 and 11.3 x 10^9;
    # by construction 1.81, 3.66, 3.86, 7.57 and 11.28, so the paper's rounding is loose.
    assert abs(summaries("ours", name)["macs"] / 1e9 - table1) < 0.07


@pytest.mark.parametrize("name", ("resnet50", "resnet101", "resnet152"))
def test_with_conv_bias_the_resnets_are_keras_applications(summaries, name):
    ours, theirs = summaries("ours", name, conv_bias=True), summaries("keras", name)
    assert ours["count"] == theirs["count"] and ours["trainable"] == theirs["trainable"]
    assert ours["architecture"] == theirs["architecture"]  # names, shapes, strides, biases


def test_the_two_resnet50_counts_differ_by_conv_biases_and_bn_statistics(summaries):
    paper, keras_like = summaries("ours", "resnet50"), summaries("ours", "resnet50", conv_bias=True)
    assert paper["trainable"] == 25_557_032
    assert keras_like["count"] == 25_636_712 and keras_like["trainable"] == 25_583_592
    biases = sum(a[1][1][0] for a in keras_like["architecture"].values() if a[0] == "Conv2D")
    bn_statistics = sum(2 * a[1][0][0] for a in keras_like["architecture"].values() if a[0] == "BatchNormalization")
    assert (biases, bn_statistics) == (26_560, 53_120)
    assert keras_like["trainable"] - paper["trainable"] == biases
    assert keras_like["count"] - keras_like["trainable"] == bn_statistics
    assert paper["count"] - paper["trainable"] == bn_statistics


def test_stride_on_the_3x3_is_resnet_v1_5_with_the_same_parameters(summaries):
    v1, v15 = summaries("ours", "resnet50"), summaries("ours", "resnet50", stride_at="3x3")
    assert v15["trainable"] == v1["trainable"]
    for stage in (3, 4, 5):
        first, middle = f"conv{stage}_block1_1_conv", f"conv{stage}_block1_2_conv"
        assert (v1["architecture"][first][3], v1["architecture"][middle][3]) == ((2, 2), (1, 1))
        assert (v15["architecture"][first][3], v15["architecture"][middle][3]) == ((1, 1), (2, 2))
        assert v1["architecture"][f"conv{stage}_block1_0_conv"][3] == (2, 2)  # projection shortcut
    assert v15["features_shape"] == v1["features_shape"] == (7, 7, 2048)
    # v1.5 runs the first 1x1 of stages 3-5 at the full size: 3 x 77,070,336 more multiply-adds.
    assert v15["macs"] - v1["macs"] == 256 * 128 * (56**2 - 28**2) * 3 == 231_211_008


def test_basic_block_resnets_have_the_papers_stages(summaries):
    s = summaries("ours", "resnet34")
    assert s["features_shape"] == (7, 7, 512)
    for stage, count in zip((2, 3, 4, 5), (3, 4, 6, 3)):
        assert f"conv{stage}_block{count}_2_conv" in s["architecture"]
        assert f"conv{stage}_block{count + 1}_1_conv" not in s["architecture"]
    # Projections only where the shape changes: the first block of stages 3 to 5.
    assert sorted(n for n in s["architecture"] if n.endswith("_0_conv")) == [
        "conv3_block1_0_conv", "conv4_block1_0_conv", "conv5_block1_0_conv"
    ]  # fmt: skip


# ---------------------------------------------------------------------------- ImageNet ResNet v2


@pytest.mark.parametrize("name", RESNET_V2)
def test_preactivation_resnets_are_keras_applications(summaries, name):
    ours, theirs = summaries("ours", name), summaries("keras", name)
    assert ours["count"] == theirs["count"] and ours["trainable"] == theirs["trainable"]
    assert ours["architecture"] == theirs["architecture"]
    assert ours["features_shape"] == (7, 7, 2048)
    assert {"post_bn", "post_relu"} <= set(ours["layer_names"])  # the final BN-ReLU


# ---------------------------------------------------------------------------- DenseNet, ImageNet


@pytest.mark.parametrize("name", DENSENETS)
def test_densenets_are_keras_applications(summaries, name):
    ours, theirs = summaries("ours", name), summaries("keras", name)
    assert ours["count"] == theirs["count"] and ours["trainable"] == theirs["trainable"]
    assert ours["architecture"] == theirs["architecture"]
    convs = [a for a in ours["architecture"].values() if a[0] == "Conv2D"]
    assert not any(a[4] for a in convs)


def test_densenet121_counts(summaries):
    s = summaries("ours", "densenet121")
    assert (s["trainable"], s["count"]) == (7_978_856, 8_062_504)
    assert s["features_shape"] == (7, 7, 1024)
    # Compression 0.5 and growth 32: 64 + 6*32 = 256 -> 128; + 12*32 = 512 -> 256; + 24*32 = 1024 -> 512.
    assert [s["architecture"][f"pool{i}_conv"][1][0][-2:] for i in (2, 3, 4)] == [(256, 128), (512, 256), (1024, 512)]
    assert s["architecture"]["conv2_block1_1_conv"][1][0] == (1, 1, 64, 128)  # bottleneck: 4k maps
    assert s["architecture"]["conv2_block1_2_conv"][1][0] == (3, 3, 128, 32)  # then k maps


# ---------------------------------------------------------------------------- same outputs as keras.applications


def _randomize_normalization(model, rng):
    """Give every BN layer (and conv bias) non-trivial values, so that a misplaced layer shows."""
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            shape = layer.gamma.shape
            values = [rng.uniform(0.5, 1.0, shape), rng.normal(0, 0.2, shape), rng.normal(0, 0.2, shape),
                      rng.uniform(1.0, 2.0, shape)]  # fmt: skip
            layer.set_weights([v.astype("float32") for v in values])
        elif isinstance(layer, keras.layers.Conv2D) and layer.use_bias:
            bias = rng.normal(0, 0.1, layer.bias.shape).astype("float32")
            layer.set_weights([keras.ops.convert_to_numpy(layer.kernel), bias])


@pytest.mark.parametrize(
    "name, options",
    [("resnet50", {"conv_bias": True}), ("resnet50v2", {}), ("densenet121", {})],
)
def test_with_keras_weights_the_outputs_are_keras_applications(name, options):
    rng = np.random.default_rng(0)
    shape = (64, 64, 3)
    theirs = getattr(keras.applications, KERAS_APPS[name])(weights=None, include_top=False, input_shape=shape)
    ours = build(name, input_shape=shape, include_top=False, **options)
    assert ours.count_params() == theirs.count_params()
    _randomize_normalization(theirs, rng)
    for layer in theirs.layers:
        if layer.weights:
            ours.get_layer(layer.name).set_weights(layer.get_weights())
    x = rng.normal(size=(2, *shape)).astype("float32")
    expected = keras.ops.convert_to_numpy(theirs(x, training=False))
    got = keras.ops.convert_to_numpy(ours(x, training=False))
    assert got.shape == expected.shape == (2, 2, 2, 2048 if name.startswith("resnet") else 1024)
    scale = np.abs(expected).max()
    assert scale > 0
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4 * scale)


# ---------------------------------------------------------------------------- CIFAR ResNet


def cifar_params_by_hand(n, *, shortcut="A"):
    """Trainable parameters of ResNet-(6n+2) for CIFAR-10, counted by hand: bias-free 3x3
    convolutions, BN scale and shift per channel, 64 x 10 logits with biases."""

    def conv_bn(k, c_in, c_out):
        return k * k * c_in * c_out + 2 * c_out

    total = conv_bn(3, 3, 16) + 64 * 10 + 10
    for c_in, c in ((16, 16), (16, 32), (32, 64)):
        total += conv_bn(3, c_in, c) + conv_bn(3, c, c) + (n - 1) * 2 * conv_bn(3, c, c)
        if shortcut == "B" and c_in != c:
            total += conv_bn(1, c_in, c)
    return total


@pytest.mark.parametrize(
    "name, n, table6",
    [("resnet20", 3, 0.27), ("resnet32", 5, 0.46), ("resnet44", 7, 0.66), ("resnet56", 9, 0.85),
     ("resnet110", 18, 1.7)],
)  # fmt: skip
def test_cifar_resnets_have_the_parameters_of_table_6(summaries, name, n, table6):
    s = summaries("ours", name)
    assert s["trainable"] == cifar_params_by_hand(n)
    digits = 1 if table6 >= 1 else 2
    assert round(s["trainable"] / 1e6, digits) == table6
    assert s["features_shape"] == (8, 8, 64) and s["output_shape"] == (10,)
    assert 6 * n + 2 == int(name[len("resnet"):])
    weighted = [a for a in s["architecture"].values() if a[0] in ("Conv2D", "Dense")]
    assert len(weighted) == 6 * n + 2  # option A adds no layer with weights


def test_resnet20_exact_count(summaries):
    assert summaries("ours", "resnet20")["trainable"] == 269_722


def test_option_a_is_parameter_free_and_option_b_projects(summaries):
    a, b = summaries("ours", "resnet20"), summaries("ours", "resnet20", shortcut="B")
    assert b["trainable"] - a["trainable"] == (16 * 32 + 2 * 32) + (32 * 64 + 2 * 64) == 2752
    assert b["trainable"] == cifar_params_by_hand(3, shortcut="B")
    assert not any(n.endswith("_0_conv") for n in a["architecture"])
    projections = sorted(n for n in b["architecture"] if n.endswith("_0_conv"))
    assert projections == ["conv3_block1_0_conv", "conv4_block1_0_conv"]
    assert [n for n in a["layer_names"] if n.endswith("_0_pad")] == ["conv3_block1_0_pad", "conv4_block1_0_pad"]
    assert sum(n.endswith("_add") for n in a["layer_names"]) == 9  # 3n shortcuts


@pytest.mark.parametrize("depth", (20, 56))
def test_plain_nets_are_the_resnets_without_shortcuts(summaries, depth):
    plain, residual = summaries("ours", f"plain{depth}"), summaries("ours", f"resnet{depth}")
    assert plain["trainable"] == residual["trainable"]  # "exactly the same ... number of parameters"
    assert plain["architecture"] == residual["architecture"]
    assert not any(n.endswith(("_add", "_0_pad")) for n in plain["layer_names"])
    assert plain["features_shape"] == (8, 8, 64)


def test_generic_cifar_builders_take_a_depth(summaries):
    assert summaries("ours", "resnet_cifar", depth=20)["architecture"] == summaries("ours", "resnet20")["architecture"]
    assert summaries("ours", "resnet_cifar", depth=20)["name"] == "resnet20"
    assert summaries("ours", "resnet_cifar", depth=8)["trainable"] == cifar_params_by_hand(1)
    assert summaries("ours", "plain_cifar", depth=20)["architecture"] == summaries("ours", "plain20")["architecture"]


def test_the_zero_padding_shortcut_subsamples_and_pads():
    x = np.random.default_rng(0).normal(size=(2, 8, 8, 16)).astype("float32")
    layer = ZeroPadShortcut(32, strides=2)
    y = keras.ops.convert_to_numpy(layer(x))
    assert y.shape == (2, 4, 4, 32) and layer.count_params() == 0
    np.testing.assert_array_equal(y[..., :16], x[:, ::2, ::2, :])
    np.testing.assert_array_equal(y[..., 16:], 0)
    assert layer.compute_output_shape((None, 7, 7, 16)) == (None, 4, 4, 32)
    assert ZeroPadShortcut.from_config(layer.get_config()).get_config() == layer.get_config()


# ---------------------------------------------------------------------------- CIFAR ResNet v2


def test_resnet164v2_has_the_papers_parameters(summaries):
    s = summaries("ours", "resnet164v2")
    assert s["trainable"] == 1_703_258 and round(s["trainable"] / 1e6, 1) == 1.7
    assert s["features_shape"] == (8, 8, 256)
    assert {"post_bn", "post_relu"} <= set(s["layer_names"])
    weighted = [n for n, a in s["architecture"].items() if a[0] in ("Conv2D", "Dense") and not n.endswith("_0_conv")]
    assert len(weighted) == 164  # 9n+2 with n=18, projections not counted
    # The authors' code: no conv biases, stride on the first 1x1 of stages 2 and 3.
    assert not any(a[4] for a in s["architecture"].values() if a[0] == "Conv2D")
    assert s["architecture"]["conv3_block1_1_conv"][3] == (2, 2)
    assert s["architecture"]["conv3_block1_2_conv"][3] == (1, 1)
    assert s["architecture"]["conv2_block1_0_conv"][1][0] == (1, 1, 16, 64)


# ---------------------------------------------------------------------------- CIFAR DenseNet-BC



@pytest.mark.parametrize("depth", (20, 56, 110))
def test_basic_preactivation_resnets_are_v1_with_the_layers_reordered(summaries, depth):
    v2, v1 = summaries("ours", f"resnet{depth}v2"), summaries("ours", f"resnet{depth}")
    assert v2["trainable"] == v1["trainable"] == cifar_params_by_hand((depth - 2) // 6)  # ResNet-110: 1.7M (Table 3)
    assert v2["name"] == f"resnet{depth}v2" and v2["features_shape"] == (8, 8, 64)
    convs = {n: a for n, a in v2["architecture"].items() if a[0] == "Conv2D"}
    assert {n: a[1:] for n, a in convs.items()} == {n: a[1:] for n, a in v1["architecture"].items() if a[0] == "Conv2D"}
    assert not any(n.endswith("_0_conv") for n in convs)  # option A: no projection
    # BN-ReLU before each convolution: the stem has none of its own, one BN-ReLU ends the network.
    assert "conv1_bn" not in v2["layer_names"] and {"conv2_block1_preact_bn", "post_bn", "post_relu"} <= set(v2["layer_names"])
    assert not any(n.endswith("_out") and "relu" in n for n in v2["layer_names"])


def test_a_basic_preactivation_unit_adds_its_input_untouched():
    from cnnbook.models.resnet import preact_basic_block

    inputs = keras.Input((8, 8, 16))
    unit = keras.Model(inputs, preact_basic_block(inputs, 16, name="u"))
    for layer in unit.layers:  # a zero residual branch: the unit is then the identity
        if isinstance(layer, keras.layers.Conv2D):
            layer.set_weights([np.zeros_like(w) for w in layer.get_weights()])
    x = np.random.default_rng(0).normal(size=(2, 8, 8, 16)).astype("float32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(unit(x)), x)  # negative values survive: no ReLU after the sum


def test_densenet_bc_100_has_the_papers_parameters(summaries):
    s = summaries("ours", "densenet_bc_100")
    assert s["trainable"] == 769_162 and round(s["trainable"] / 1e6, 1) == 0.8
    assert s["features_shape"] == (8, 8, 342)  # 150 + 16 * 12
    arch = s["architecture"]
    assert arch["conv1_conv"][1][0] == (3, 3, 3, 24)  # 2k maps
    assert [arch[f"pool{i}_conv"][1][0][-2:] for i in (2, 3)] == [(216, 108), (300, 150)]  # compression 0.5
    assert "conv2_block16_2_conv" in arch and "conv2_block17_1_conv" not in arch  # 16 layers per block
    assert arch["conv4_block16_1_conv"][1][0] == (1, 1, 150 + 15 * 12, 48)  # bottleneck: 4k maps
    weighted = [a for a in arch.values() if a[0] in ("Conv2D", "Dense")]
    assert len(weighted) == 100
    assert s["architecture"] == summaries("ours", "densenet_bc_cifar")["architecture"]


def test_densenet_bc_options_change_the_network(summaries):
    s = summaries("ours", "densenet_bc_cifar", depth=16, growth_rate=24, compression=1.0)  # n = 2
    assert s["name"] == "densenet_bc_16_k24"
    assert s["architecture"]["conv1_conv"][1][0] == (3, 3, 3, 48)
    assert s["architecture"]["conv2_block1_1_conv"][1][0] == (1, 1, 48, 96)  # 4k maps
    assert s["architecture"]["pool2_conv"][1][0] == (1, 1, 48 + 2 * 24, 48 + 2 * 24)  # no compression


# ---------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "name, depth, pattern",
    [("resnet_cifar", 54, r"depth=54 is not allowed: ResNet for CIFAR needs depth = 6n\+2 with n >= 1 "
                          r"\(20, 32, 44, 56, 110, 1202, \.\.\.\); nearest allowed: 50 and 56$"),
     ("resnet_cifar", 2, r"depth=2 is not allowed: .*6n\+2 with n >= 1.*nearest allowed: 8$"),
     ("plain_cifar", 21, r"depth=21 is not allowed: The plain CIFAR network needs depth = 6n\+2.*20 and 26$"),
     ("resnet_cifar", 20.5, r"depth=20.5 is not allowed: depth must be a whole number"),
     ("resnet_cifar_v2", 100, r"depth=100 is not allowed: .*9n\+2 .*\(164, 1001, .*nearest allowed: 92 and 101$"),
     ("densenet_bc_cifar", 101, r"depth=101 is not allowed: DenseNet-BC for CIFAR needs depth = 6n\+4 .*100 and 106$")],
)  # fmt: skip
def test_depths_that_do_not_fit_are_refused_with_the_rule(name, depth, pattern):
    with pytest.raises(ParameterError, match=pattern):
        build(name, depth=depth)


def test_any_depth_that_fits_builds(summaries):
    s = summaries("ours", "resnet_cifar_v2", depth=29)  # n = 3
    assert s["name"] == "resnet29v2"
    assert sum(n.endswith("_out") for n in s["layer_names"]) == 9
    small = summaries("ours", "densenet_bc_cifar", depth=16)["architecture"]  # n = 2
    assert small["conv4_block2_2_conv"][1][0] == (3, 3, 48, 12) and "conv4_block3_1_conv" not in small


@pytest.mark.parametrize(
    "name, options, pattern",
    [("resnet50", {"stride_at": "2x2"}, "stride_at='2x2' is not allowed: choose one of '1x1', '3x3'"),
     ("resnet50", {"conv_bias": "yes"}, "conv_bias='yes' is not allowed"),
     ("resnet18", {"stride_at": "3x3"}, "resnet18 has no option 'stride_at'"),
     ("resnet20", {"shortcut": "C"}, "shortcut='C' is not allowed: choose one of 'A', 'B'"),
     ("resnet_cifar", {"shortcut": None}, "shortcut=None is not allowed"),
     ("plain20", {"shortcut": "A"}, "plain20 has no option 'shortcut'"),
     ("resnet_cifar_v2", {"block": "wide"}, "block='wide' is not allowed: choose one of 'bottleneck', 'basic'"),
     ("resnet_cifar_v2", {"block": "basic", "depth": 29}, "depth=29 is not allowed: Pre-activation ResNet for CIFAR (basic units) needs depth = 6n+2"),
     ("resnet56v2", {"block": "bottleneck"}, "resnet56v2 has no option 'block'"),
     ("densenet_bc_cifar", {"growth_rate": 0}, "growth_rate=0 is not allowed"),
     ("densenet_bc_cifar", {"compression": 0}, "compression=0 is not allowed"),
     ("densenet121", {"growth_rate": 12}, "densenet121 has no option 'growth_rate'"),
     ("resnet56", {"pooling": "mean", "include_top": False}, "pooling='mean' is not allowed")],
)  # fmt: skip
def test_bad_options_are_named(name, options, pattern):
    with pytest.raises(ParameterError, match=re.escape(pattern)):
        build(name, **options)


def test_a_too_small_imagenet_input_is_refused():
    with pytest.raises(ParameterError, match="at least 32x32"):
        build("resnet50", input_shape=(16, 16, 3))


# ---------------------------------------------------------------------------- heads and names


@pytest.mark.parametrize(
    "name, input_shape, pooling, features",
    [("resnet20", None, None, (8, 8, 64)), ("resnet20", None, "avg", (64,)), ("resnet20", None, "max", (64,)),
     ("resnet164v2", None, "avg", (256,)), ("densenet_bc_100", None, "max", (342,)),
     ("resnet18", (64, 64, 3), None, (2, 2, 512)), ("resnet50v2", (64, 64, 3), "max", (2048,)),
     ("densenet121", (64, 64, 3), "avg", (1024,))],
)  # fmt: skip
def test_without_top_the_models_are_feature_extractors(name, input_shape, pooling, features):
    model = build(name, input_shape=input_shape, include_top=False, pooling=pooling)
    assert tuple(model.output.shape[1:]) == features
    assert "predictions" not in [layer.name for layer in model.layers]
    if pooling:
        assert model.layers[-1].name == f"pool_global_{pooling}"


NAMED = [(n, {}) for n in ("resnet18", "resnet50", "resnet50v2", "densenet121", "resnet20", "plain20", "resnet164v2",
                           "densenet_bc_100")] + [("resnet20", {"shortcut": "B"})]  # fmt: skip


@pytest.mark.parametrize("name, options", NAMED)
def test_layer_names_are_those_of_keras_applications(summaries, name, options):
    # conv2_block1_1_conv ...: the names of keras.applications, for every family member.
    names = summaries("ours", name, **options)["layer_names"]
    assert len(names) == len(set(names))
    for layer_name in names:
        assert re.fullmatch(r"image|(conv\d+|pool\d+|post)(_block\d+)?(_\w+)?|bn|relu|predictions|pool_global_\w+",
                            layer_name), layer_name  # fmt: skip


def test_very_deep_networks_build_beyond_pythons_default_recursion_limit():
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    try:
        model = build("resnet_cifar", depth=302, include_top=False)  # n = 50: more layers than frames
        assert len(model.layers) > 1000
        assert sys.getrecursionlimit() >= 4 * 302 + 500
    finally:
        sys.setrecursionlimit(max(old, sys.getrecursionlimit()))
