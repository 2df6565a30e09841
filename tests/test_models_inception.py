"""The Inception family: GoogLeNet against Table 1 of Szegedy et al. (2015), Inception v3 and
Inception-ResNet-v2 against keras.applications, Inception-v4 against timm's count, and the
derived counts of Inception-ResNet-v1 and the CIFAR variants.

The big networks are built once per module (module-scoped fixtures); nothing is trained.
"""

import collections
import math
import re

import keras
import numpy as np
import pytest

import cnnbook
from cnnbook.counting import count_layer, totals
from cnnbook.errors import ParameterError
from cnnbook.layers import LocalResponseNormalization
from cnnbook.models.googlenet import CAFFE_LRN, MODULES

NAMES = (
    "googlenet", "googlenet_cifar", "inception_v3", "inception_v4", "inception_resnet_v1", "inception_resnet_v2",
    "inception_cifar", "inception_resnet_cifar",
)  # fmt: skip

# Table 1 of "Going deeper with convolutions": output size, #1x1, #3x3 reduce, #3x3, #5x5 reduce,
# #5x5, pool proj, params (K), ops (M).
TABLE_1 = {
    "3a": ((28, 28, 256), (64, 96, 128, 16, 32, 32), 159, 128),
    "3b": ((28, 28, 480), (128, 128, 192, 32, 96, 64), 380, 304),
    "4a": ((14, 14, 512), (192, 96, 208, 16, 48, 64), 364, 73),
    "4b": ((14, 14, 512), (160, 112, 224, 24, 64, 64), 437, 88),
    "4c": ((14, 14, 512), (128, 128, 256, 24, 64, 64), 463, 100),
    "4d": ((14, 14, 528), (112, 144, 288, 32, 64, 64), 580, 119),
    "4e": ((14, 14, 832), (256, 160, 320, 32, 128, 128), 840, 170),
    "5a": ((7, 7, 832), (256, 160, 320, 32, 128, 128), 1072, 54),
    "5b": ((7, 7, 1024), (384, 192, 384, 48, 128, 128), 1388, 71),
}
TOLERANCE = 0.02  # relative; the columns are rounded to whole K and M, but some entries are further off


def layers_of(model, prefix):
    return [layer for layer in model.layers if layer.name.startswith(prefix + "_")]


def weights_of(model, prefix):
    """Kernel weights (no biases, no batch-norm statistics) of the layers named ``prefix_*``."""
    return sum(math.prod(w.shape) for layer in layers_of(model, prefix) for w in layer.weights if "kernel" in w.path)


def macs_of(model, prefix):
    return sum(count_layer(layer)[0] for layer in layers_of(model, prefix))


def weight_shapes(model):
    return collections.Counter(tuple(w.shape) for w in model.weights)


def bn_channels(model):
    norms = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    return sum(layer.moving_mean.shape[0] for layer in norms)


def conv(cin, cout, kh, kw=None, *, bias=True):
    """Parameters of a convolution by hand."""
    return kh * (kw or kh) * cin * cout + (cout if bias else 0)


def conv_bn(cin, cout, kh, kw=None):
    """Convolution without bias + batch normalization without gamma: beta, moving mean, variance."""
    return conv(cin, cout, kh, kw, bias=False) + 3 * cout


def to_numpy(x):
    return keras.ops.convert_to_numpy(x)


@pytest.fixture(scope="module")
def googlenet():
    return cnnbook.models.build("googlenet")


@pytest.fixture(scope="module")
def googlenet_aux():
    return cnnbook.models.build("googlenet", aux_heads=True)


@pytest.fixture(scope="module")
def inception_v3():
    return cnnbook.models.build("inception_v3")


@pytest.fixture(scope="module")
def inception_v4():
    return cnnbook.models.build("inception_v4")


@pytest.fixture(scope="module")
def inception_resnet_v1():
    return cnnbook.models.build("inception_resnet_v1")


@pytest.fixture(scope="module")
def inception_resnet_v2():
    return cnnbook.models.build("inception_resnet_v2")


@pytest.fixture(scope="module")
def inception_resnet_v2_paper():
    return cnnbook.models.build("inception_resnet_v2", layout="paper")


@pytest.fixture(scope="module")
def cifar_models():
    return {name: cnnbook.models.build(name) for name in ("googlenet_cifar", "inception_cifar")}


@pytest.fixture(scope="module")
def keras_reference():
    """Counts and weight shapes of keras.applications' models (weights=None), built once, kept small."""
    found = {}
    for key, factory in (("inception_v3", keras.applications.InceptionV3),
                         ("inception_resnet_v2", keras.applications.InceptionResNetV2)):  # fmt: skip
        for include_top in (True, False):
            model = factory(weights=None, include_top=include_top, input_shape=(299, 299, 3))
            found[key, include_top] = {
                "params": model.count_params(),
                "trainable": sum(math.prod(w.shape) for w in model.trainable_weights),
                "shapes": weight_shapes(model),
                "output": tuple(model.output.shape[1:]),
            }
            del model
    return found


# --- GoogLeNet against Table 1 --------------------------------------------------------------


def test_googlenet_modules_have_table_1_filters_and_output_sizes(googlenet):
    assert {name: row[1] for name, row in TABLE_1.items()} == MODULES
    sizes = {name: tuple(googlenet.get_layer(f"inception_{name}_concat").output.shape[1:]) for name in TABLE_1}
    assert sizes == {name: row[0] for name, row in TABLE_1.items()}
    for name, (size, (n1x1, _, n3x3, _, n5x5, proj), *_) in TABLE_1.items():
        assert size[2] == n1x1 + n3x3 + n5x5 + proj  # the output is the concatenation of the branches


def test_googlenet_module_weights_match_table_1_params_column(googlenet):
    # Table 1 counts weights only (no biases) in K = 1024: conv2 (1x1 64 + 3x3 192) is
    # 114,688 = 112K and the classifier 1,024,000 = 1000K exactly.
    assert weights_of(googlenet, "conv2") == 114_688 == 112 * 1024
    assert math.prod(googlenet.get_layer("predictions").kernel.shape) == 1000 * 1024
    misprints = {"4c": 497.5, "5a": 1018.0}  # what the filter columns give; the table says 463K and 1072K
    for name, (_, _, params_k, _) in TABLE_1.items():
        computed = weights_of(googlenet, f"inception_{name}") / 1024
        if name in misprints:
            assert computed == misprints[name]
            assert abs(computed / params_k - 1) > 0.04, name
        else:
            assert abs(computed / params_k - 1) <= TOLERANCE, (name, computed, params_k)


def test_googlenet_module_macs_match_table_1_ops_column(googlenet):
    # ops are multiply-adds in M = 10**6; they follow the filter columns, except 5a whose 54M
    # follows its misprinted 1072K (1072 * 1024 * 7 * 7 = 53.8M).
    for name, (_, _, _, ops_m) in TABLE_1.items():
        computed = macs_of(googlenet, f"inception_{name}") / 1e6
        if name == "5a":
            assert computed == pytest.approx(51.08, abs=0.01) and round(1072 * 1024 * 49 / 1e6) == ops_m
        else:
            assert abs(computed / ops_m - 1) <= TOLERANCE, (name, computed, ops_m)
    assert macs_of(googlenet, "conv2") / 1e6 == pytest.approx(360, rel=TOLERANCE)
    # conv1's row (2.7K, 34M) matches no 7x7x3x64 convolution; what the layer really costs:
    assert weights_of(googlenet, "conv1") == 9_408 and macs_of(googlenet, "conv1") == 112 * 112 * 64 * 147


def test_googlenet_total_parameters_by_hand(googlenet):
    total, channels = conv(3, 64, 7) + conv(64, 64, 1) + conv(64, 192, 3), 192
    for n1x1, r3, n3x3, r5, n5x5, proj in MODULES.values():
        total += conv(channels, n1x1, 1) + conv(channels, r3, 1) + conv(r3, n3x3, 3)
        total += conv(channels, r5, 1) + conv(r5, n5x5, 5) + conv(channels, proj, 1)
        channels = n1x1 + n3x3 + n5x5 + proj
    total += channels * 1000 + 1000
    assert channels == 1024
    assert googlenet.count_params() == total == 6_998_552
    assert sum(row[2] for row in TABLE_1.values()) + 2.7 + 112 + 1000 == pytest.approx(6797.7)  # the "6.8M"
    assert totals(googlenet)["uncounted"] == []


def test_googlenet_has_both_lrn_layers_and_can_drop_them(googlenet):
    lrn = [layer.name for layer in googlenet.layers if isinstance(layer, LocalResponseNormalization)]
    assert lrn == ["norm1_lrn", "norm2_lrn"]
    assert googlenet.get_layer("norm1_lrn").input.shape[1:] == (56, 56, 64)  # after pool1 (Figure 3)
    assert googlenet.get_layer("norm2_lrn").input.shape[1:] == (56, 56, 192)  # after conv2, before pool2
    plain = cnnbook.models.build("googlenet", lrn=False, input_shape=(64, 64, 3))
    assert not any(isinstance(layer, LocalResponseNormalization) for layer in plain.layers)
    assert plain.count_params() == googlenet.count_params()


def test_googlenet_lrn_is_caffes_with_alpha_divided_by_the_size(googlenet):
    assert {k: googlenet.get_layer("norm1_lrn").get_config()[k] for k in CAFFE_LRN} == CAFFE_LRN
    # Caffe's formula with alpha = 1e-2 is the paper-form layer with alpha = 1e-2 / size.
    x = np.random.default_rng(0).normal(scale=20.0, size=(2, 3, 4, 7)).astype("float32")
    layer = LocalResponseNormalization(size=5, alpha=1e-2 / 5, beta=0.75, k=2.0)
    expected = np.empty_like(x)
    for c in range(7):
        window = x[..., max(0, c - 2) : c + 3] ** 2  # the edges see fewer channels
        expected[..., c] = x[..., c] / (2.0 + 1e-2 / 5 * window.sum(axis=-1)) ** 0.75
    np.testing.assert_allclose(to_numpy(layer(x)), expected, rtol=1e-5)


def test_googlenet_auxiliary_heads_are_three_outputs_for_training(googlenet, googlenet_aux):
    assert googlenet_aux.output_names == ["predictions", "aux1_predictions", "aux2_predictions"]
    assert [tuple(o.shape) for o in googlenet_aux.outputs] == [(None, 1000)] * 3
    assert googlenet_aux.get_layer("aux1_avgpool").input.shape[1:] == (14, 14, 512)  # 4a
    assert googlenet_aux.get_layer("aux2_avgpool").input.shape[1:] == (14, 14, 528)  # 4d
    assert googlenet_aux.get_layer("aux1_avgpool").output.shape[1:] == (4, 4, 512)  # 5x5/3 pooling
    head = lambda channels: conv(channels, 128, 1) + (4 * 4 * 128 * 1024 + 1024) + (1024 * 1000 + 1000)  # noqa: E731
    assert googlenet_aux.count_params() - googlenet.count_params() == head(512) + head(528) == 6_379_728
    assert googlenet_aux.get_layer("aux1_fc_dropout").rate == 0.7
    googlenet_aux.compile(
        optimizer="sgd", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), loss_weights=[1, 0.3, 0.3]
    )
    outputs = googlenet_aux(np.zeros((1, 224, 224, 3), "float32"))
    assert [to_numpy(o).shape for o in outputs] == [(1, 1000)] * 3


# --- GoogLeNet and Inception on CIFAR --------------------------------------------------------


def test_googlenet_cifar_is_kuangliu_without_the_conv_biases(cifar_models):
    model = cifar_models["googlenet_cifar"]
    counted = totals(model)
    conv_channels = sum(layer.filters for layer in model.layers if isinstance(layer, keras.layers.Conv2D))
    assert counted["trainable_params"] + conv_channels == 6_166_250  # kuangliu's GoogLeNet, biases before BN
    assert model.get_layer("inception_3a_3x3dbl_b_conv").kernel_size == (3, 3)  # kuangliu's "5x5" branch
    assert [model.get_layer(f"inception_{m}_concat").output.shape[1] for m in ("3b", "4e", "5b")] == [32, 16, 8]
    paper = cnnbook.models.build("googlenet_cifar", factorize_5x5=False)
    assert paper.get_layer("inception_3a_5x5_conv").kernel_size == (5, 5)
    assert not any("3x3dbl" in layer.name for layer in paper.layers)


def test_reduced_googlenet_cifar_scales_widths_and_pools_after_the_stem():
    full = cnnbook.models.build("googlenet_cifar")
    reduced = cnnbook.models.build("googlenet_cifar", width=0.5, stem_pool=True)
    assert [reduced.get_layer(f"inception_{m}_concat").output.shape[1] for m in ("3b", "4e", "5b")] == [16, 8, 4]
    assert reduced.get_layer("inception_3a_concat").output.shape[-1] == (64 + 128 + 32 + 32) // 2  # 256 at width 1
    assert reduced.get_layer("inception_4c_3x3_reduce_conv").filters == 64  # 128 in Table 1
    assert reduced.get_layer("stem_conv").filters == 96
    assert reduced.get_layer("pool_global_avg").output.shape[-1] == 512  # 1024 at width 1
    # Half the widths: about a quarter of the weights; the pooling: a quarter of the work again.
    small, big = totals(reduced), totals(full)
    assert 0.2 < small["params"] / big["params"] < 0.3
    assert 0.05 < small["macs"] / big["macs"] < 0.075
    with_dropout = cnnbook.models.build("googlenet_cifar", width=0.5, stem_pool=True, dropout=0.4)
    assert with_dropout.get_layer("dropout").rate == 0.4
    assert with_dropout.count_params() == reduced.count_params()


def test_googlenet_cifar_auxiliary_heads_sit_on_4a_and_4d_and_are_training_only_outputs():
    model = cnnbook.models.build("googlenet_cifar", width=0.5, stem_pool=True, aux_heads=True)
    assert model.output_names == ["predictions", "aux1_predictions", "aux2_predictions"]
    assert [tuple(o.shape) for o in model.outputs] == [(None, 10)] * 3
    assert model.get_layer("aux1_avgpool").input is model.get_layer("inception_4a_concat").output
    assert model.get_layer("aux2_avgpool").input is model.get_layer("inception_4d_concat").output
    assert model.get_layer("aux1_avgpool").output.shape[1:3] == (2, 2)  # 5x5/3 average of 8x8 maps
    assert model.get_layer("aux1_conv").filters == 64 and model.get_layer("aux1_fc_dense").units == 512  # 128, 1024 halved
    assert model.get_layer("aux1_fc_dropout").rate == 0.7
    plain = cnnbook.models.build("googlenet_cifar", width=0.5, stem_pool=True)
    heads = model.count_params() - plain.count_params()
    # Each head: 1x1 conv (no bias) + BN, fc 256 -> 512, linear 512 -> 10.
    per_head = {"4a": 256, "4d": 264}  # the widths of 4a's and 4d's outputs at half width
    expected = sum(c * 64 + 4 * 64 + (2 * 2 * 64) * 512 + 512 + 512 * 10 + 10 for c in per_head.values())
    assert heads == expected


def test_inception_cifar_costs_a_third_of_googlenet_cifar(cifar_models):
    small, big = totals(cifar_models["inception_cifar"]), totals(cifar_models["googlenet_cifar"])
    assert 1_000_000 <= small["params"] <= 3_000_000
    assert small["macs"] < big["macs"] / 3 and small["params"] < big["params"] / 2
    assert small["uncounted"] == big["uncounted"] == []
    model = cifar_models["inception_cifar"]
    grids = [model.get_layer(f"inception_{m}2_concat").output.shape[1] for m in "abc"]
    assert grids == [32, 16, 8]
    assert model.get_layer("inception_b1_7x7_1x7_conv").kernel_size == (1, 7)


def test_reduced_inception_cifar_scales_every_filter_count():
    half = cnnbook.models.build("inception_cifar", width=0.5)
    full = cnnbook.models.build("inception_cifar")
    for layer in full.layers:
        if isinstance(layer, keras.layers.Conv2D):
            assert half.get_layer(layer.name).filters == max(1, round(layer.filters / 2)), layer.name
    assert half.get_layer("inception_c2_concat").output.shape[-1] == 544 // 2
    # Half the widths: about a quarter of the multiply-adds (the stem's 3 input channels stay).
    assert 0.22 < totals(half)["macs"] / totals(full)["macs"] < 0.28


def test_inception_resnet_cifar_is_inception_resnet_v2_at_a_quarter_width():
    model = cnnbook.models.build("inception_resnet_cifar", blocks_per_stage=(2, 3, 1))
    streams = [model.get_layer(f"inception_resnet_{s}1_add").output.shape[1:] for s in "abc"]
    assert streams == [(32, 32, 80), (16, 16, 272), (8, 8, 520)]  # 320, 1088, 2080 divided by four
    assert [len([l for l in model.layers if l.name.startswith(f"inception_resnet_{s}") and l.name.endswith("_add")])
            for s in "abc"] == [2, 3, 1]  # fmt: skip
    # Block a1 by hand: 1x1 of 8; 1x1 8 -> 3x3 8; 1x1 8 -> 3x3 12 -> 3x3 16; every convolution
    # without bias and with a scale-free BN (beta, moving mean and variance: 3 per channel); then
    # the linear up-projection 32 -> 80 with bias.
    convs = [(80, 8, 1), (80, 8, 1), (8, 8, 3), (80, 8, 1), (8, 12, 3), (12, 16, 3)]
    expected = sum(k * k * cin * cout + 3 * cout for cin, cout, k in convs) + (8 + 8 + 16) * 80 + 80
    block = sum(l.count_params() for l in model.layers if l.name.startswith("inception_resnet_a1_"))
    assert block == expected
    up = model.get_layer("inception_resnet_a1_up_conv")
    assert up.use_bias and up.activation is keras.activations.linear
    assert totals(model)["uncounted"] == []


@pytest.mark.parametrize("scale, expected", [(None, [0.17, 0.1, 0.2]), (0.3, [0.3, 0.3, 0.3]), (1.0, [])])
def test_inception_resnet_cifar_scales_its_residuals_as_asked(scale, expected):
    model = cnnbook.models.build("inception_resnet_cifar", blocks_per_stage=(1, 1, 1), width=0.25, scale=scale)
    scales = [layer.scale for layer in model.layers if isinstance(layer, keras.layers.Rescaling)]
    assert scales == pytest.approx(expected)


def test_unscaled_residuals_grow_the_stream_and_scaled_ones_keep_it_small():
    # At initialization each unscaled block adds a residual of about the stream's own size; scaled
    # by 0.1 the stream of 12 blocks stays within a few times its input.
    x = np.random.default_rng(0).normal(size=(8, 32, 32, 3)).astype("float32")

    def spread(scale):
        keras.utils.set_random_seed(0)
        net = cnnbook.models.build("inception_resnet_cifar", blocks_per_stage=(0, 12, 0), width=0.25, scale=scale,
                                   include_top=False)  # fmt: skip
        first = keras.Model(net.input, net.get_layer("reduction_a_concat").output)
        return float(np.std(net.predict(x, verbose=0))) / float(np.std(first.predict(x, verbose=0)))

    assert spread(1.0) > 2 * spread(0.1)


# --- Inception v3 and Inception-ResNet-v2 against keras.applications ------------------------


@pytest.mark.parametrize("include_top", (True, False))
def test_inception_v3_equals_keras_applications(inception_v3, keras_reference, include_top):
    ours = inception_v3 if include_top else cnnbook.models.build("inception_v3", include_top=False)
    reference = keras_reference["inception_v3", include_top]
    assert ours.count_params() == reference["params"] == (23_851_784 if include_top else 21_802_784)
    assert totals(ours)["trainable_params"] == reference["trainable"]
    assert weight_shapes(ours) == reference["shapes"]  # the same layers, not only the same total
    assert tuple(ours.output.shape[1:]) == reference["output"]


def test_inception_v3_batch_norm_has_no_scale_like_the_release(inception_v3):
    norms = [layer for layer in inception_v3.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(norms) == 94 and not any(layer.scale for layer in norms)


def test_inception_v3_auxiliary_head(inception_v3):
    model = cnnbook.models.build("inception_v3", aux_head=True)
    assert model.output_names == ["predictions", "aux_predictions"]
    assert [tuple(o.shape) for o in model.outputs] == [(None, 1000)] * 2
    assert model.get_layer("aux_avgpool").input.shape[1:] == (17, 17, 768)  # the last 17x17 module
    assert model.get_layer("aux_fc_conv").kernel_size == (5, 5)
    assert isinstance(model.get_layer("aux_fc_bn"), keras.layers.BatchNormalization)  # "BN-auxiliary"
    by_hand = conv_bn(768, 128, 1) + conv_bn(128, 768, 5) + 768 * 1000 + 1000
    assert model.count_params() - inception_v3.count_params() == by_hand == 3_327_592


@pytest.mark.parametrize("include_top", (True, False))
def test_inception_resnet_v2_equals_keras_applications(inception_resnet_v2, keras_reference, include_top):
    ours = inception_resnet_v2 if include_top else cnnbook.models.build("inception_resnet_v2", include_top=False)
    reference = keras_reference["inception_resnet_v2", include_top]
    assert ours.count_params() == reference["params"] == (55_873_736 if include_top else 54_336_736)
    assert totals(ours)["trainable_params"] == reference["trainable"]
    assert weight_shapes(ours) == reference["shapes"]
    assert tuple(ours.output.shape[1:]) == reference["output"]


def test_inception_resnet_v2_scales_its_residuals(inception_resnet_v2):
    scales = {block: inception_resnet_v2.get_layer(f"inception_resnet_{block}1_scale").scale for block in "abc"}
    assert scales == {"a": 0.17, "b": 0.1, "c": 0.2}
    up = inception_resnet_v2.get_layer("inception_resnet_b1_up_conv")
    assert up.use_bias and up.filters == 1088 and up.activation is keras.activations.linear
    names = {layer.name for layer in inception_resnet_v2.layers}
    assert "inception_resnet_c10_scale" not in names and "inception_resnet_c10_relu" not in names  # as released
    assert "inception_resnet_c9_relu" in names


def test_inception_resnet_v2_paper_layout_follows_figure_15(inception_resnet_v2_paper):
    model = inception_resnet_v2_paper
    names = ("stem_mixed3_concat", "reduction_a_concat", "reduction_b_concat")
    widths = {n: model.get_layer(n).output.shape[1:] for n in names}
    assert widths == {"stem_mixed3_concat": (35, 35, 384), "reduction_a_concat": (17, 17, 1152),
                      "reduction_b_concat": (8, 8, 2144)}  # fmt: skip
    blocks = collections.Counter(
        m.group(1) for layer in model.layers if (m := re.fullmatch(r"inception_resnet_([abc])\d+_add", layer.name))
    )
    assert blocks == {"a": 5, "b": 10, "c": 5}
    # Figures 17 and 19 print 1154 and 2048; a residual sum needs the input width.
    assert model.get_layer("inception_resnet_b1_up_conv").filters == 1152
    assert model.get_layer("inception_resnet_c1_up_conv").filters == 2144
    assert model.count_params() == 32_450_360


# --- Inception-v4 and Inception-ResNet-v1 ----------------------------------------------------


def test_inception_v4_follows_figure_9_and_matches_timms_count(inception_v4):
    sizes = {n: inception_v4.get_layer(n).output.shape[1:] for n in
             ("stem_mixed1_concat", "stem_mixed2_concat", "stem_mixed3_concat", "reduction_a_concat",
              "reduction_b_concat", "inception_c3_concat")}  # fmt: skip
    assert sizes == {"stem_mixed1_concat": (73, 73, 160), "stem_mixed2_concat": (71, 71, 192),
                     "stem_mixed3_concat": (35, 35, 384), "reduction_a_concat": (17, 17, 1024),
                     "reduction_b_concat": (8, 8, 1536), "inception_c3_concat": (8, 8, 1536)}  # fmt: skip
    modules = collections.Counter(
        m.group(1) for layer in inception_v4.layers if (m := re.fullmatch(r"inception_([abc])\d+_concat", layer.name))
    )
    assert modules == {"a": 4, "b": 7, "c": 3}
    # Reduction-A with Table 1's k=192, l=224, m=256, n=384.
    names = ("3x3dbl_reduce", "3x3dbl_a", "3x3dbl_b", "3x3")
    filters = [inception_v4.get_layer(f"reduction_a_{n}_conv").filters for n in names]
    assert filters == [192, 224, 256, 384]
    assert inception_v4.get_layer("dropout").rate == pytest.approx(0.2)  # keep 0.8
    # timm's inception_v4 has 42,679,816 parameters: the same network with a BN gamma per channel.
    assert totals(inception_v4)["trainable_params"] + bn_channels(inception_v4) == 42_679_816
    assert inception_v4.count_params() == 42_711_400


def test_inception_resnet_v1_count_by_hand_from_the_figures(inception_resnet_v1):
    stem = conv_bn(3, 32, 3) + conv_bn(32, 32, 3) + conv_bn(32, 64, 3) + conv_bn(64, 80, 1) + conv_bn(80, 192, 3)
    stem += conv_bn(192, 256, 3)  # Figure 14: 35x35x256
    block_a = 3 * conv_bn(256, 32, 1) + 3 * conv_bn(32, 32, 3) + conv(96, 256, 1)  # Figure 10
    reduction_a = conv_bn(256, 384, 3) + conv_bn(256, 192, 1) + conv_bn(192, 192, 3) + conv_bn(192, 256, 3)
    block_b = 2 * conv_bn(896, 128, 1) + conv_bn(128, 128, 1, 7) + conv_bn(128, 128, 7, 1) + conv(256, 896, 1)
    reduction_b = 3 * conv_bn(896, 256, 1) + conv_bn(256, 384, 3) + 3 * conv_bn(256, 256, 3)  # Figure 12
    block_c = 2 * conv_bn(1792, 192, 1) + conv_bn(192, 192, 1, 3) + conv_bn(192, 192, 3, 1) + conv(384, 1792, 1)
    by_hand = stem + 5 * block_a + reduction_a + 10 * block_b + reduction_b + 5 * block_c + 1792 * 1000 + 1000
    assert inception_resnet_v1.count_params() == by_hand == 22_769_848
    names = ("stem_conv6_relu", "reduction_a_concat", "reduction_b_concat")
    sizes = [inception_resnet_v1.get_layer(n).output.shape[1:] for n in names]
    assert sizes == [(35, 35, 256), (17, 17, 896), (8, 8, 1792)]


# --- what every model of the family must do --------------------------------------------------


def test_the_family_is_registered_with_its_papers():
    assert set(NAMES) <= set(cnnbook.models.names())
    years = {name: re.search(r"\((\d{4})\)", cnnbook.models.spec(name).paper).group(1) for name in NAMES}
    assert years == {"googlenet": "2015", "googlenet_cifar": "2015", "inception_v3": "2016",
                     "inception_v4": "2017", "inception_resnet_v1": "2017", "inception_resnet_v2": "2017",
                     "inception_cifar": "2016", "inception_resnet_cifar": "2017"}  # fmt: skip
    assert cnnbook.models.spec("googlenet").options() == {
        "include_top": True, "pooling": None, "aux_heads": False, "lrn": True
    }  # fmt: skip
    assert cnnbook.models.spec("inception_resnet_v2").options()["layout"] == "released"
    assert cnnbook.models.spec("inception_v3").options()["aux_head"] is False


@pytest.mark.parametrize("fixture", ("googlenet_aux", "inception_resnet_v2_paper"))
def test_the_non_default_variants_have_readable_names_and_are_counted(request, fixture):
    # The default variants are checked with every model in tests/test_models.py.
    model = request.getfixturevalue(fixture)
    keras_default = r"[a-z_0-9]*?_\d+|conv2d|dense|activation|concatenate|add|rescaling|batch_normalization"
    for layer in model.layers:
        assert not re.fullmatch(keras_default, layer.name), layer.name
    assert totals(model)["uncounted"] == []


@pytest.mark.parametrize("name", NAMES)
def test_the_features_have_the_papers_widths(name):
    size = max(cnnbook.models.spec(name).min_size, 32)
    pooled = cnnbook.models.build(name, input_shape=(size, size, 3), include_top=False, pooling="avg")
    channels = {"googlenet": 1024, "googlenet_cifar": 1024, "inception_v3": 2048, "inception_v4": 1536,
                "inception_resnet_v1": 1792, "inception_resnet_v2": 1536, "inception_cifar": 544,
                "inception_resnet_cifar": 520}  # fmt: skip
    assert tuple(pooled.output.shape) == (None, channels[name])


@pytest.mark.parametrize(
    "name, kwargs, pattern",
    [("googlenet", {"aux_heads": "yes"}, "aux_heads='yes'"), ("googlenet", {"lrn": 1}, "lrn=1"),
     ("googlenet", {"aux_heads": True, "include_top": False}, "need include_top=True"),
     ("googlenet", {"aux_heads": True, "input_shape": (64, 64, 3)}, "at least 65x65"),
     ("googlenet_cifar", {"factorize_5x5": "no"}, "factorize_5x5='no'"),
     ("googlenet_cifar", {"aux_heads": True, "include_top": False}, "need include_top=True"),
     ("googlenet_cifar", {"width": 0}, "width=0"), ("googlenet_cifar", {"stem_pool": "yes"}, "stem_pool='yes'"),
     ("googlenet_cifar", {"lrn": True}, "googlenet_cifar has no option 'lrn'"),
     ("inception_v3", {"aux_head": True, "include_top": False}, "needs include_top=True"),
     ("inception_v3", {"aux_head": True, "input_shape": (106, 106, 3)}, "at least 107x107"),
     ("inception_v3", {"input_shape": (74, 74, 3)}, "at least 75x75"),
     ("inception_resnet_v2", {"layout": "slim"}, "layout='slim'"),
     ("inception_v4", {"dropout": 0.5}, "inception_v4 has no option 'dropout'"),
     ("inception_cifar", {"pooling": "mean", "include_top": False}, "pooling='mean'"),
     ("inception_cifar", {"width": -1}, "width=-1"),
     ("inception_resnet_cifar", {"blocks_per_stage": (5, 10)}, "three whole numbers"),
     ("inception_resnet_cifar", {"blocks_per_stage": (1, 2.5, 1)}, "three whole numbers"),
     ("inception_resnet_cifar", {"scale": 0}, "scale=0"), ("inception_resnet_cifar", {"scale": 2}, "scale=2")],
)  # fmt: skip
def test_bad_options_are_named(name, kwargs, pattern):
    with pytest.raises(ParameterError, match=re.escape(pattern)):
        cnnbook.models.build(name, **kwargs)
