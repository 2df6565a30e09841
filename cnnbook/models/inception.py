"""Inception v3, Inception-v4, Inception-ResNet v1 and v2, and a CIFAR-scale Inception.

Papers:

- Inception v3: Szegedy, Vanhoucke, Ioffe, Shlens and Wojna (2016), "Rethinking the Inception
  architecture for computer vision", CVPR 2016 (arXiv:1512.00567). Section 3.1 factorizes a 5x5
  convolution into two 3x3 (Figure 5: 18 instead of 25 multiply-adds per output, 28% less);
  Section 3.2 factorizes an nxn convolution into 1xn followed by nx1 (Figure 6), which "gives very
  good results on medium grid-sizes" (12 to 20) with n = 7; Figure 7 widens the 8x8 modules
  ("expanded filter bank outputs"); Section 4 finds that the auxiliary classifier acts as a
  regularizer, helped by batch normalization in its fully connected layer; Section 5 reduces the
  grid with a stride-2 convolution and a stride-2 pooling in parallel (Figure 10), avoiding both
  a representational bottleneck and the cost of convolving before pooling.
- Inception-v4 and Inception-ResNet: Szegedy, Ioffe, Vanhoucke and Alemi (2017), "Inception-v4,
  Inception-ResNet and the impact of residual connections on learning", AAAI 2017
  (arXiv:1602.07261). Inception-v4 (Figure 9) is stem (Figure 3), 4 Inception-A (Figure 4),
  Reduction-A (Figure 7 with k=192, l=224, m=256, n=384, Table 1), 7 Inception-B (Figure 5),
  Reduction-B (Figure 8), 3 Inception-C (Figure 6), average pooling, dropout (keep 0.8),
  softmax. The Inception-ResNet networks (Figure 15) replace the modules by residual blocks: the
  branches are concatenated, a linear 1x1 convolution (no activation, no batch normalization)
  restores the input width, and the result is scaled down before it is added to the input
  (Section 3.3: "scaling factors between 0.1 and 0.3"), because with more than about 1000
  filters the residual variants "started to exhibit instabilities" and died early in training.
  Batch normalization is used "only on top of the traditional layers, but not on top of the
  summations".

Every convolution here is convolution (no bias), batch normalization, ReLU (`conv_bn`), the
order of the TF-slim code Google released with these papers; the up-projection of the residual
blocks is the exception, a plain convolution with bias. Batch normalization has no scale
(gamma), only a shift (beta), exactly as in TF-slim (``slim.batch_norm`` has ``scale=False`` by
default) and in ``keras.applications``: a positive per-channel scale commutes with the ReLU and is
absorbed by the next convolution, so little is lost. This choice is what makes the parameter
counts equal: with a gamma the counts would grow by one parameter per channel. Keras counts the
moving mean and variance too (non-trainable), so ``count_params()`` is three per channel of
batch normalization, where PyTorch's count (``timm``) is two (weight and bias, the running
statistics being buffers).

Registered models and what their counts are checked against (``tests/test_models_inception.py``):

- ``inception_v3`` (299x299x3): the network of ``keras.applications.InceptionV3`` (TF-slim's
  release): 23,851,784 parameters with the classifier and 21,802,784 without, equal to Keras'
  and with the same weight shapes. The released network is not the paper's figures layer for
  layer: its 35x35 modules (`inception_a` with ``kernel_size=5``) have a 1x1 -> 5x5 branch where
  Figure 5 draws 1x1 -> 3x3, next to the factorized double 3x3 branch. ``aux_head=True`` adds the auxiliary classifier of the release on
  the last 17x17 module (5x5/3 average pooling, 1x1 conv 128, 5x5 conv 768 with batch
  normalization, that is, the "BN-auxiliary" fully connected layer, linear classifier); the model
  then has two outputs, ``[predictions, aux_predictions]`` (TF-slim trains with the auxiliary loss
  weighted 0.4).
- ``inception_v4`` (299x299x3): Figure 9 with the widths of Figures 3-8 and Table 1, as in
  TF-slim's ``inception_v4.py``: 42,711,400 parameters here (42,648,232 trainable). ``timm``
  (ported from the same release) has 42,679,816 for ``inception_v4``; its batch normalization
  has a trainable gamma, one per channel, 31,584 of them: 42,648,232 + 31,584 = 42,679,816, which
  the tests check. We found no parameter count in the paper for any of its networks, so the
  release (and timm) is the reference.
- ``inception_resnet_v2`` (299x299x3): ``layout="released"`` (default) is the network of TF-slim
  and ``keras.applications.InceptionResNetV2``, 55,873,736 parameters, checked for equality. It is
  not Figure 15: its stem is Inception v3's followed by an Inception-A-like module of 320 channels
  (not Figure 3's, 384), it repeats the blocks 10, 20 and 10 times (not 5, 10, 5), its
  up-projections have 320, 1088 and 2080 channels, the last block has no scale and no ReLU, and a
  1x1 convolution to 1536 channels precedes the pooling. TF-slim's maintainers answered that "the
  implementation was done under the advise of the authors of the paper" (tensorflow/models
  issue 1553). ``layout="paper"`` builds Figure 15 with Figure 3's stem, 5, 10 and 5 blocks of
  Figures 16, 17 and 19, Reduction-A (k=256, l=256, m=384, n=384) and Reduction-B (Figure 18). The
  figures cannot be built as printed: the up-projections of Figures 17 and 19 are drawn with 1154
  and 2048 channels, but the blocks' inputs have 384 + 384 + 384 = 1152 channels after
  Reduction-A and 1152 + 384 + 288 + 320 = 2144 after Reduction-B, and a residual sum needs equal
  widths; the up-projections here take the input width (1152, 2144). 32,450,360 parameters
  (32,417,496 trainable; our derivation, there is no published count to compare with).
- ``inception_resnet_v1`` (299x299x3): Figure 15 with the stem of Figure 14 and the blocks of
  Figures 10-13, Reduction-A with k=192, l=192, m=256, n=384. Its widths are consistent (256
  channels at 35x35, 896 at 17x17, 1792 at 8x8, as the up-projections of Figures 10, 11 and 13
  say). 22,769,848 parameters here (22,742,808 trainable), derived from the figures; neither the
  paper nor keras.applications gives a count to compare with.
- ``inception_cifar`` (32x32x3): a small network for CIFAR-10 made of the same ideas, for
  comparing costs with ``googlenet_cifar``: a 3x3 stem of 64; two 32x32 modules of Figure 5 (5x5
  factorized into two 3x3); a grid reduction of Figure 10 (stride-2 3x3 convolutions next to a
  stride-2 max pooling) to 16x16; two 16x16 modules of Figure 6 with n = 7 (16 is a "medium grid"
  in Section 3.2's sense); a second reduction to 8x8; two 8x8 modules of Figure 7 (expanded filter
  bank); global average pooling, dropout 0.2, linear. The reductions use "same" padding, so that
  32 -> 16 -> 8 exactly (the ImageNet networks use "valid": 35 -> 17 -> 8). 2,214,650 parameters
  (2,205,274 trainable) and 482 million multiply-adds per image, against 6,174,154 parameters
  (6,158,346 trainable) and 1,522 million multiply-adds for ``googlenet_cifar``
  (`cnnbook.counting.totals`): a third of the cost. These are design numbers; accuracy has to be
  measured.

The scale of the residuals: the paper only gives the range 0.1-0.3; both layouts here use
TF-slim's values, 0.17 (35x35 blocks), 0.1 (17x17) and 0.2 (8x8), applied with a ``Rescaling``
layer before the ``Add``.

Implementation notes (mistakes often found in copied Keras Inception code):

- branch kernels copied wrongly: a 1x7 where the code has 7x1 changes nothing in the count but
  changes the network; the 35x35 modules of the released Inception v3 are said to have "two 3x3
  instead of 5x5" while they have both a 5x5 branch and a double 3x3 branch;
- batch normalization placed after the ReLU and presented as the original: TF-slim, Keras and
  timm all use convolution, BN, ReLU;
- a BN gamma added (Keras' default ``scale=True``), so the count no longer matches the release;
- the residual up-projection given batch normalization and a ReLU, or its bias dropped: it is a
  linear convolution with bias, added after scaling; or the scaling forgotten, which is what the
  paper says makes wide residual Inception networks die;
- Inception-ResNet-v2 built with the released code but described with Figure 15 (or the reverse),
  or with Figures 17 and 19's 1154 and 2048 channels, which do not add up;
- Inception-v4's Reduction-A given Inception-ResNet-v2's k, l, m, n (Table 1 has one row per
  network);
- the auxiliary classifier missing (or left in at inference), or attached to the wrong module:
  Inception v3's sits on the last 17x17 module;
- "valid" and "same" padding mixed up in the stems and reductions, so that the 35x35, 17x17 and
  8x8 grids come out a pixel off (a "same" stride-2 3x3 convolution turns 299 into 150, not 149);
- a softmax left inside the model, while the losses expect logits.
"""

import functools

from keras import layers

from cnnbook import blocks
from cnnbook.errors import ParameterError, check_bool, check_choice, check_float
from cnnbook.models import CIFAR10, IMAGENET, Network, register

_V3_PAPER = (
    "Szegedy, Vanhoucke, Ioffe, Shlens and Wojna (2016), Rethinking the Inception architecture for "
    "computer vision, CVPR (arXiv:1512.00567)"
)
_V4_PAPER = (
    "Szegedy, Ioffe, Vanhoucke and Alemi (2017), Inception-v4, Inception-ResNet and the impact of "
    "residual connections on learning, AAAI (arXiv:1602.07261)"
)

# Residual scales of TF-slim (and keras.applications) for the 35x35, 17x17 and 8x8 blocks.
RESIDUAL_SCALES = (0.17, 0.1, 0.2)


# Convolution without bias, batch normalization without scale (gamma), then an activation: the
# layers ``{name}_conv``, ``{name}_bn`` and ``{name}_relu``, TF-slim's and keras.applications'
# convolutional layer, whose parameter counts this reproduces.
conv_bn = functools.partial(blocks.conv_norm_act, norm=blocks.batch_norm(scale=False))


def _concat(branches, *, name):
    return layers.Concatenate(name=f"{name}_concat")(branches)


# --- the modules of Inception v3 and v4 -----------------------------------------------------


def inception_a(x, filters_1x1, branch, branch_dbl, pool_proj, *, kernel_size=3, name):
    """35x35 module with the 5x5 factorized (v3 Figure 5, v4 Figure 4): four branches.

    ``filters_1x1``: the 1x1 branch; ``branch = (reduce, filters)``: 1x1 then a
    ``kernel_size`` convolution (3 in the figures; 5 in the released Inception v3);
    ``branch_dbl = (reduce, filters_a, filters_b)``: 1x1 then two 3x3; ``pool_proj``: 3x3 average
    pooling then 1x1.
    """
    k = f"{kernel_size}x{kernel_size}"
    b0 = conv_bn(x, filters_1x1, 1, name=f"{name}_1x1")
    b1 = conv_bn(x, branch[0], 1, name=f"{name}_{k}_reduce")
    b1 = conv_bn(b1, branch[1], kernel_size, name=f"{name}_{k}")
    b2 = conv_bn(x, branch_dbl[0], 1, name=f"{name}_3x3dbl_reduce")
    b2 = conv_bn(b2, branch_dbl[1], 3, name=f"{name}_3x3dbl_a")
    b2 = conv_bn(b2, branch_dbl[2], 3, name=f"{name}_3x3dbl_b")
    b3 = blocks.pool(x, "avg", 3, strides=1, padding="same", name=f"{name}_pool")
    b3 = conv_bn(b3, pool_proj, 1, name=f"{name}_pool_proj")
    return _concat([b0, b1, b2, b3], name=name)


def inception_b(x, filters_1x1, branch, branch_dbl, pool_proj, *, n=7, name):
    """17x17 module with nxn factorized into 1xn and nx1 (v3 Figure 6, v4 Figure 5).

    ``branch = (reduce, a, b)``: 1x1, 1xn, nx1; ``branch_dbl = (reduce, a, b, c, d)``: 1x1, nx1,
    1xn, nx1, 1xn (the order of TF-slim's code); ``pool_proj``: 3x3 average pooling then 1x1.
    """
    row, col = (1, n), (n, 1)
    b0 = conv_bn(x, filters_1x1, 1, name=f"{name}_1x1")
    b1 = conv_bn(x, branch[0], 1, name=f"{name}_{n}x{n}_reduce")
    b1 = conv_bn(b1, branch[1], row, name=f"{name}_{n}x{n}_1x{n}")
    b1 = conv_bn(b1, branch[2], col, name=f"{name}_{n}x{n}_{n}x1")
    b2 = conv_bn(x, branch_dbl[0], 1, name=f"{name}_{n}x{n}dbl_reduce")
    for i, (filters, kernel) in enumerate(zip(branch_dbl[1:], (col, row, col, row))):
        b2 = conv_bn(b2, filters, kernel, name=f"{name}_{n}x{n}dbl_{'abcd'[i]}_{kernel[0]}x{kernel[1]}")
    b3 = blocks.pool(x, "avg", 3, strides=1, padding="same", name=f"{name}_pool")
    b3 = conv_bn(b3, pool_proj, 1, name=f"{name}_pool_proj")
    return _concat([b0, b1, b2, b3], name=name)


def _split_1x3_3x1(x, filters, *, name):
    a = conv_bn(x, filters, (1, 3), name=f"{name}_1x3")
    b = conv_bn(x, filters, (3, 1), name=f"{name}_3x1")
    return layers.Concatenate(name=f"{name}_concat")([a, b])


def inception_c(x, filters_1x1, branch, branch_dbl, pool_proj, *, name):
    """8x8 module with expanded filter bank outputs (v3 Figure 7, v4 Figure 6).

    ``branch = (reduce, split)``: 1x1, then 1x3 and 3x1 side by side (``2 * split`` channels);
    ``branch_dbl = (reduce, middle, split)``: 1x1, then a 3x3 (``middle`` an int, Inception v3) or
    a 3x1 and a 1x3 (``middle`` a pair, Inception-v4), then 1x3 and 3x1 side by side;
    ``pool_proj``: 3x3 average pooling then 1x1.
    """
    b0 = conv_bn(x, filters_1x1, 1, name=f"{name}_1x1")
    b1 = conv_bn(x, branch[0], 1, name=f"{name}_3x3_reduce")
    b1 = _split_1x3_3x1(b1, branch[1], name=f"{name}_3x3")
    b2 = conv_bn(x, branch_dbl[0], 1, name=f"{name}_3x3dbl_reduce")
    middle = branch_dbl[1]
    if isinstance(middle, int):
        b2 = conv_bn(b2, middle, 3, name=f"{name}_3x3dbl_a")
    else:
        b2 = conv_bn(b2, middle[0], (3, 1), name=f"{name}_3x3dbl_a_3x1")
        b2 = conv_bn(b2, middle[1], (1, 3), name=f"{name}_3x3dbl_b_1x3")
    b2 = _split_1x3_3x1(b2, branch_dbl[2], name=f"{name}_3x3dbl")
    b3 = blocks.pool(x, "avg", 3, strides=1, padding="same", name=f"{name}_pool")
    b3 = conv_bn(b3, pool_proj, 1, name=f"{name}_pool_proj")
    return _concat([b0, b1, b2, b3], name=name)


def reduction_a(x, k, l, m, n, *, padding="valid", name):  # noqa: E741 (the paper's letters)
    """Grid reduction of v4 Figure 7 (v3 Figure 10): a stride-2 3x3 convolution of ``n`` filters,
    1x1 ``k`` -> 3x3 ``l`` -> stride-2 3x3 ``m``, and a stride-2 3x3 max pooling, concatenated.
    Inception v3's first reduction is the same with k=64, l=96, m=96, n=384."""
    b0 = conv_bn(x, n, 3, strides=2, padding=padding, name=f"{name}_3x3")
    b1 = conv_bn(x, k, 1, name=f"{name}_3x3dbl_reduce")
    b1 = conv_bn(b1, l, 3, name=f"{name}_3x3dbl_a")
    b1 = conv_bn(b1, m, 3, strides=2, padding=padding, name=f"{name}_3x3dbl_b")
    b2 = blocks.pool(x, "max", 3, strides=2, padding=padding, name=f"{name}_pool")
    return _concat([b0, b1, b2], name=name)


def reduction_b(x, branch_3x3, branch_7x7, *, padding="valid", name):
    """Grid reduction of v4 Figure 8 (and Inception v3's second one): 1x1 -> stride-2 3x3
    (``branch_3x3 = (reduce, filters)``); 1x1 -> 1x7 -> 7x1 -> stride-2 3x3
    (``branch_7x7 = (reduce, a, b, filters)``); stride-2 3x3 max pooling."""
    b0 = conv_bn(x, branch_3x3[0], 1, name=f"{name}_3x3_reduce")
    b0 = conv_bn(b0, branch_3x3[1], 3, strides=2, padding=padding, name=f"{name}_3x3")
    b1 = conv_bn(x, branch_7x7[0], 1, name=f"{name}_7x7x3_reduce")
    b1 = conv_bn(b1, branch_7x7[1], (1, 7), name=f"{name}_7x7x3_1x7")
    b1 = conv_bn(b1, branch_7x7[2], (7, 1), name=f"{name}_7x7x3_7x1")
    b1 = conv_bn(b1, branch_7x7[3], 3, strides=2, padding=padding, name=f"{name}_7x7x3_3x3")
    b2 = blocks.pool(x, "max", 3, strides=2, padding=padding, name=f"{name}_pool")
    return _concat([b0, b1, b2], name=name)


# --- stems --------------------------------------------------------------------------------------


def v3_stem(x):
    """Inception v3's stem as released (keras.applications, TF-slim): 299 -> 35x35x192."""
    x = conv_bn(x, 32, 3, strides=2, padding="valid", name="stem_conv1")  # 149x149x32
    x = conv_bn(x, 32, 3, padding="valid", name="stem_conv2")  # 147x147x32
    x = conv_bn(x, 64, 3, name="stem_conv3")  # 147x147x64
    x = blocks.pool(x, "max", 3, strides=2, name="stem_pool1")  # 73x73x64
    x = conv_bn(x, 80, 1, padding="valid", name="stem_conv4")  # 73x73x80
    x = conv_bn(x, 192, 3, padding="valid", name="stem_conv5")  # 71x71x192
    return blocks.pool(x, "max", 3, strides=2, name="stem_pool2")  # 35x35x192


def v4_stem(x):
    """Figure 3, the stem of Inception-v4 and Inception-ResNet-v2: 299 -> 35x35x384, with two
    parallel stride-2 reductions (pool and convolution) and a factorized 7x7 branch."""
    x = conv_bn(x, 32, 3, strides=2, padding="valid", name="stem_conv1")  # 149x149x32
    x = conv_bn(x, 32, 3, padding="valid", name="stem_conv2")  # 147x147x32
    x = conv_bn(x, 64, 3, name="stem_conv3")  # 147x147x64
    a = blocks.pool(x, "max", 3, strides=2, name="stem_mixed1_pool")
    b = conv_bn(x, 96, 3, strides=2, padding="valid", name="stem_mixed1_3x3")
    x = _concat([a, b], name="stem_mixed1")  # 73x73x160
    a = conv_bn(x, 64, 1, name="stem_mixed2_3x3_reduce")
    a = conv_bn(a, 96, 3, padding="valid", name="stem_mixed2_3x3")
    b = conv_bn(x, 64, 1, name="stem_mixed2_7x7_reduce")
    b = conv_bn(b, 64, (1, 7), name="stem_mixed2_7x7_1x7")
    b = conv_bn(b, 64, (7, 1), name="stem_mixed2_7x7_7x1")
    b = conv_bn(b, 96, 3, padding="valid", name="stem_mixed2_7x7_3x3")
    x = _concat([a, b], name="stem_mixed2")  # 71x71x192
    a = conv_bn(x, 192, 3, strides=2, padding="valid", name="stem_mixed3_3x3")
    b = blocks.pool(x, "max", 3, strides=2, name="stem_mixed3_pool")
    return _concat([a, b], name="stem_mixed3")  # 35x35x384


def inception_resnet_v1_stem(x):
    """Figure 14, the stem of Inception-ResNet-v1: plain convolutions, 299 -> 35x35x256."""
    x = conv_bn(x, 32, 3, strides=2, padding="valid", name="stem_conv1")  # 149x149x32
    x = conv_bn(x, 32, 3, padding="valid", name="stem_conv2")  # 147x147x32
    x = conv_bn(x, 64, 3, name="stem_conv3")  # 147x147x64
    x = blocks.pool(x, "max", 3, strides=2, name="stem_pool1")  # 73x73x64
    x = conv_bn(x, 80, 1, name="stem_conv4")  # 73x73x80
    x = conv_bn(x, 192, 3, padding="valid", name="stem_conv5")  # 71x71x192
    return conv_bn(x, 256, 3, strides=2, padding="valid", name="stem_conv6")  # 35x35x256


# --- residual blocks -------------------------------------------------------------------------


def _residual(x, branches, *, scale, activation, name):
    """Concatenate, project linearly back to the input width, scale, add, activate."""
    mixed = layers.Concatenate(name=f"{name}_concat")(branches)
    up = layers.Conv2D(x.shape[-1], 1, name=f"{name}_up_conv")(mixed)  # linear, with bias, no BN
    if scale != 1.0:
        up = layers.Rescaling(scale, name=f"{name}_scale")(up)
    x = layers.Add(name=f"{name}_add")([x, up])
    return blocks.apply_activation(x, activation, name=name)


def inception_resnet_a(x, filters_1x1, branch, branch_dbl, *, scale, activation="relu", name):
    """35x35 residual block (Figures 10 and 16): 1x1; 1x1 -> 3x3 (``branch``);
    1x1 -> 3x3 -> 3x3 (``branch_dbl``); concatenated, 1x1 linear to the input width, scaled, added."""
    b0 = conv_bn(x, filters_1x1, 1, name=f"{name}_1x1")
    b1 = conv_bn(x, branch[0], 1, name=f"{name}_3x3_reduce")
    b1 = conv_bn(b1, branch[1], 3, name=f"{name}_3x3")
    b2 = conv_bn(x, branch_dbl[0], 1, name=f"{name}_3x3dbl_reduce")
    b2 = conv_bn(b2, branch_dbl[1], 3, name=f"{name}_3x3dbl_a")
    b2 = conv_bn(b2, branch_dbl[2], 3, name=f"{name}_3x3dbl_b")
    return _residual(x, [b0, b1, b2], scale=scale, activation=activation, name=name)


def inception_resnet_b(x, filters_1x1, branch, *, scale, activation="relu", name):
    """17x17 residual block (Figures 11 and 17): 1x1; 1x1 -> 1x7 -> 7x1 (``branch``)."""
    b0 = conv_bn(x, filters_1x1, 1, name=f"{name}_1x1")
    b1 = conv_bn(x, branch[0], 1, name=f"{name}_7x7_reduce")
    b1 = conv_bn(b1, branch[1], (1, 7), name=f"{name}_7x7_1x7")
    b1 = conv_bn(b1, branch[2], (7, 1), name=f"{name}_7x7_7x1")
    return _residual(x, [b0, b1], scale=scale, activation=activation, name=name)


def inception_resnet_c(x, filters_1x1, branch, *, scale, activation="relu", name):
    """8x8 residual block (Figures 13 and 19): 1x1; 1x1 -> 1x3 -> 3x1 (``branch``)."""
    b0 = conv_bn(x, filters_1x1, 1, name=f"{name}_1x1")
    b1 = conv_bn(x, branch[0], 1, name=f"{name}_3x3_reduce")
    b1 = conv_bn(b1, branch[1], (1, 3), name=f"{name}_3x3_1x3")
    b1 = conv_bn(b1, branch[2], (3, 1), name=f"{name}_3x3_3x1")
    return _residual(x, [b0, b1], scale=scale, activation=activation, name=name)


def inception_resnet_reduction_b(x, branch_a, branch_b, branch_c, *, padding="valid", name):
    """Reduction-B of the Inception-ResNets (Figures 12 and 18): 1x1 -> stride-2 3x3 twice
    (``branch_a``, ``branch_b`` = (reduce, filters)), 1x1 -> 3x3 -> stride-2 3x3
    (``branch_c`` = (reduce, a, filters)), and a stride-2 3x3 max pooling."""
    b0 = conv_bn(x, branch_a[0], 1, name=f"{name}_a_reduce")
    b0 = conv_bn(b0, branch_a[1], 3, strides=2, padding=padding, name=f"{name}_a_3x3")
    b1 = conv_bn(x, branch_b[0], 1, name=f"{name}_b_reduce")
    b1 = conv_bn(b1, branch_b[1], 3, strides=2, padding=padding, name=f"{name}_b_3x3")
    b2 = conv_bn(x, branch_c[0], 1, name=f"{name}_c_reduce")
    b2 = conv_bn(b2, branch_c[1], 3, name=f"{name}_c_3x3a")
    b2 = conv_bn(b2, branch_c[2], 3, strides=2, padding=padding, name=f"{name}_c_3x3b")
    b3 = blocks.pool(x, "max", 3, strides=2, padding=padding, name=f"{name}_pool")
    return _concat([b0, b1, b2, b3], name=name)


# --- heads ---------------------------------------------------------------------------------------


# Global average pooling, dropout (keep 0.8 in the papers' figures and TF-slim), logits.
_classifier_top = functools.partial(blocks.pooled_top, dropout=0.2)


def v3_auxiliary_classifier(x, num_classes, *, name="aux"):
    """Inception v3's auxiliary head (TF-slim's): 5x5/3 average pooling, 1x1 conv 128, a 5x5
    "fully connected" convolution of 768 with batch normalization, linear logits."""
    x = blocks.pool(x, "avg", 5, strides=3, name=name)
    x = conv_bn(x, 128, 1, name=f"{name}_1x1")
    kernel = (min(5, x.shape[1]), min(5, x.shape[2]))  # TF-slim shrinks it for small inputs
    x = conv_bn(x, 768, kernel, padding="valid", name=f"{name}_fc")
    x = layers.Flatten(name=f"{name}_flatten")(x)
    return blocks.classifier(x, num_classes, name=f"{name}_predictions")


# --- the registered networks ----------------------------------------------------------------


@register(
    "inception_v3",
    preset=IMAGENET.resized(299),
    min_size=75,
    paper=_V3_PAPER,
    summary="Inception v3 as released (= keras.applications.InceptionV3): factorized modules, conv-BN-ReLU",
)
def inception_v3(input_shape, num_classes, *, include_top=True, aux_head=False):
    """Inception v3 with the widths of the released network; ``aux_head=True`` adds the
    batch-normalized auxiliary classifier (outputs ``[main, aux]``)."""
    check_bool("aux_head", aux_head)
    if aux_head and not include_top:
        raise ParameterError("aux_head", aux_head, "the auxiliary classifier needs include_top=True")
    inputs = layers.Input(input_shape, name="image")
    x = v3_stem(inputs)
    for i, pool_proj in enumerate((32, 64, 64), start=1):  # keras mixed0-2, slim Mixed_5b-5d
        x = inception_a(x, 64, (48, 64), (64, 96, 96), pool_proj, kernel_size=5, name=f"inception_a{i}")
    x = reduction_a(x, 64, 96, 96, 384, name="reduction_a")  # mixed3: 17x17x768
    for i, c in enumerate((128, 160, 160, 192), start=1):  # mixed4-7
        x = inception_b(x, 192, (c, c, 192), (c, c, c, c, 192), 192, name=f"inception_b{i}")
    tap = x
    if aux_head and min(tap.shape[1:3]) < 5:
        raise ParameterError(
            "input_shape", tuple(input_shape), "the auxiliary classifier needs images of at least 107x107 pixels"
        )
    x = reduction_b(x, (192, 320), (192, 192, 192, 192), name="reduction_b")  # mixed8: 8x8x1280
    for i in (1, 2):  # mixed9-10: 8x8x2048
        x = inception_c(x, 320, (384, 384), (448, 384, 384), 192, name=f"inception_c{i}")
    main_top = _classifier_top(num_classes)

    def top(x):
        main = main_top(x)
        return [main, v3_auxiliary_classifier(tap, num_classes)] if aux_head else main

    return Network(inputs, x, top)


@register(
    "inception_v4",
    preset=IMAGENET.resized(299),
    min_size=75,
    paper=_V4_PAPER,
    summary="Inception-v4 (Figure 9): stem, 4 A, Reduction-A, 7 B, Reduction-B, 3 C",
)
def inception_v4(input_shape, num_classes):
    """Inception-v4 as in Figures 3-9 (widths as in the TF-slim release)."""
    inputs = layers.Input(input_shape, name="image")
    x = v4_stem(inputs)
    for i in range(1, 5):
        x = inception_a(x, 96, (64, 96), (64, 96, 96), 96, name=f"inception_a{i}")  # 35x35x384
    x = reduction_a(x, 192, 224, 256, 384, name="reduction_a")  # 17x17x1024
    for i in range(1, 8):
        x = inception_b(x, 384, (192, 224, 256), (192, 192, 224, 224, 256), 128, name=f"inception_b{i}")
    x = reduction_b(x, (192, 192), (256, 256, 320, 320), name="reduction_b")  # 8x8x1536
    for i in range(1, 4):
        x = inception_c(x, 256, (384, 256), (384, (448, 512), 256), 256, name=f"inception_c{i}")
    return Network(inputs, x, _classifier_top(num_classes))


@register(
    "inception_resnet_v1",
    preset=IMAGENET.resized(299),
    min_size=75,
    paper=_V4_PAPER,
    summary="Inception-ResNet-v1 (Figures 10-15): scaled residual Inception blocks, 5/10/5",
)
def inception_resnet_v1(input_shape, num_classes):
    """Inception-ResNet-v1 as in Figures 10-15."""
    scale_a, scale_b, scale_c = RESIDUAL_SCALES
    inputs = layers.Input(input_shape, name="image")
    x = inception_resnet_v1_stem(inputs)  # 35x35x256
    for i in range(1, 6):
        x = inception_resnet_a(x, 32, (32, 32), (32, 32, 32), scale=scale_a, name=f"inception_resnet_a{i}")
    x = reduction_a(x, 192, 192, 256, 384, name="reduction_a")  # 17x17x896
    for i in range(1, 11):
        x = inception_resnet_b(x, 128, (128, 128, 128), scale=scale_b, name=f"inception_resnet_b{i}")
    x = inception_resnet_reduction_b(x, (256, 384), (256, 256), (256, 256, 256), name="reduction_b")  # 8x8x1792
    for i in range(1, 6):
        x = inception_resnet_c(x, 192, (192, 192, 192), scale=scale_c, name=f"inception_resnet_c{i}")
    return Network(inputs, x, _classifier_top(num_classes))


@register(
    "inception_resnet_v2",
    preset=IMAGENET.resized(299),
    min_size=75,
    paper=_V4_PAPER,
    summary="Inception-ResNet-v2, as released (= keras.applications) or as in Figure 15 (layout='paper')",
)
def inception_resnet_v2(input_shape, num_classes, *, layout="released"):
    """Inception-ResNet-v2: ``layout="released"`` is TF-slim's and keras.applications' network,
    ``layout="paper"`` Figure 15 with Figure 3's stem (see the module docstring)."""
    check_choice("layout", layout, ("released", "paper"))
    scale_a, scale_b, scale_c = RESIDUAL_SCALES
    released = layout == "released"
    repeats = (10, 20, 10) if released else (5, 10, 5)
    inputs = layers.Input(input_shape, name="image")
    if released:
        x = v3_stem(inputs)
        x = inception_a(x, 96, (48, 64), (64, 96, 96), 64, kernel_size=5, name="stem_mixed")  # 35x35x320
    else:
        x = v4_stem(inputs)  # 35x35x384
    for i in range(1, repeats[0] + 1):
        x = inception_resnet_a(x, 32, (32, 32), (32, 48, 64), scale=scale_a, name=f"inception_resnet_a{i}")
    x = reduction_a(x, 256, 256, 384, 384, name="reduction_a")  # 17x17x1088 (released) or 1152
    for i in range(1, repeats[1] + 1):
        x = inception_resnet_b(x, 192, (128, 160, 192), scale=scale_b, name=f"inception_resnet_b{i}")
    x = inception_resnet_reduction_b(x, (256, 384), (256, 288), (256, 288, 320), name="reduction_b")  # 2080 or 2144
    for i in range(1, repeats[2] + 1):
        last = released and i == repeats[2]  # the release ends with an unscaled block without ReLU
        x = inception_resnet_c(
            x, 192, (192, 224, 256), scale=1.0 if last else scale_c, activation=None if last else "relu",
            name=f"inception_resnet_c{i}",
        )  # fmt: skip
    if released:
        x = conv_bn(x, 1536, 1, name="top_1x1")  # 8x8x1536
    return Network(inputs, x, _classifier_top(num_classes))


@register(
    "inception_cifar",
    preset=CIFAR10,
    min_size=32,
    paper=_V3_PAPER + "; " + _V4_PAPER,
    summary="Small Inception for CIFAR: factorized modules (Figures 5-7), grid reductions, conv-BN-ReLU",
)
def inception_cifar(input_shape, num_classes, *, width=1.0):
    """A CIFAR-scale Inception v3/v4: 32x32 -> 16x16 -> 8x8 with factorized modules.

    Args:
        width: multiplies every filter count (the reduced networks the book trains on a CPU).
    """
    w = functools.partial(blocks.scaled, width=blocks.check_width(width))
    inputs = layers.Input(input_shape, name="image")
    x = conv_bn(inputs, w(64), 3, name="stem")  # 32x32x64
    for i in (1, 2):  # 32x32x160
        x = inception_a(x, *w((32, (32, 48), (32, 48, 48), 32)), name=f"inception_a{i}")
    x = reduction_a(x, *w((48, 64, 64, 96)), padding="same", name="reduction_a")  # 16x16x320
    for i in (1, 2):  # 16x16x352
        x = inception_b(x, *w((96, (64, 64, 96), (64, 64, 64, 64, 96), 64)), name=f"inception_b{i}")
    x = reduction_b(x, *w(((96, 128), (96, 96, 96, 96))), padding="same", name="reduction_b")  # 8x8x576
    for i in (1, 2):  # 8x8x544
        x = inception_c(x, *w((96, (96, 96), (128, 96, 96), 64)), name=f"inception_c{i}")
    return Network(inputs, x, _classifier_top(num_classes))


@register(
    "inception_resnet_cifar",
    preset=CIFAR10,
    min_size=32,
    paper=_V4_PAPER,
    summary="Small Inception-ResNet for CIFAR: Inception-ResNet-v2's blocks at a quarter width, scaled residuals",
)
def inception_resnet_cifar(input_shape, num_classes, *, blocks_per_stage=(5, 10, 5), width=1.0, scale=None):
    """Inception-ResNet-v2's blocks (Figures 16, 17 and 19, widths as released) at a quarter of
    their width, on 32x32, 16x16 and 8x8 grids: a 3x3 stem of 80, then per stage scaled residual
    blocks, with Reduction-A and the Inception-ResNet Reduction-B ("same" padding) between them.

    Args:
        blocks_per_stage: residual blocks at 32x32, 16x16 and 8x8 (Figure 15: 5, 10, 5).
        width: multiplies every filter count (1.0: a quarter of Inception-ResNet-v2's).
        scale: what each residual is multiplied by before the addition: None, the release's
            (0.17, 0.1, 0.2) per stage; a number, the same in every block (1.0: not scaled).
    """
    if (not isinstance(blocks_per_stage, (tuple, list)) or len(blocks_per_stage) != 3
            or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in blocks_per_stage)):  # fmt: skip
        raise ParameterError("blocks_per_stage", blocks_per_stage, "give three whole numbers >= 0, e.g. (5, 10, 5)")
    if scale is None:
        scales = RESIDUAL_SCALES
    else:
        scales = (check_float("scale", scale, minimum=0, exclusive_minimum=True, maximum=1),) * 3
    w = functools.partial(blocks.scaled, width=blocks.check_width(width) / 4)
    inputs = layers.Input(input_shape, name="image")
    x = conv_bn(inputs, w(320), 3, name="stem")  # 32x32x80
    for i in range(1, blocks_per_stage[0] + 1):
        x = inception_resnet_a(x, *w((32, (32, 32), (32, 48, 64))), scale=scales[0], name=f"inception_resnet_a{i}")
    x = reduction_a(x, *w((256, 256, 384, 384)), padding="same", name="reduction_a")  # 16x16x272
    for i in range(1, blocks_per_stage[1] + 1):
        x = inception_resnet_b(x, *w((192, (128, 160, 192))), scale=scales[1], name=f"inception_resnet_b{i}")
    x = inception_resnet_reduction_b(x, *w(((256, 384), (256, 288), (256, 288, 320))), padding="same",
                                     name="reduction_b")  # 8x8x520 (fmt: skip)
    for i in range(1, blocks_per_stage[2] + 1):
        x = inception_resnet_c(x, *w((192, (192, 224, 256))), scale=scales[2], name=f"inception_resnet_c{i}")
    return Network(inputs, x, _classifier_top(num_classes))
