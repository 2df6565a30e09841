"""Residual networks: ResNet v1 for ImageNet and CIFAR-10, and the pre-activation ResNet v2.

Papers:

- He, Zhang, Ren and Sun (2016), "Deep residual learning for image recognition", CVPR.
  Table 1: the ImageNet networks of 18, 34, 50, 101 and 152 layers; Section 3.3: shortcut
  options A and B; Section 3.4: batch normalization right after each convolution and before
  the activation; Section 4.2, Table 6 and Figure 6: the CIFAR-10 networks of 6n+2 layers and
  their plain counterparts.
- He, Zhang, Ren and Sun (2016), "Identity mappings in deep residual networks", ECCV: the
  pre-activation residual unit (BN-ReLU-conv, nothing after the addition), ResNet-164 and
  ResNet-1001 with bottleneck units on CIFAR.

**ImageNet ResNet v1** (``resnet18`` ... ``resnet152``): a 7x7 stride-2 convolution and a 3x3
stride-2 max pooling, then four stages (``conv2`` ... ``conv5`` in the paper's Table 1) of
basic blocks (two 3x3 convolutions: ResNet-18 and -34) or bottleneck blocks (1x1 reduce, 3x3,
1x1 expand by 4: ResNet-50, -101, -152); stages 3 to 5 halve the maps with a stride of 2 in
their first block. The shortcut is the identity except where the shape changes, where it is a
1x1 convolution and batch normalization (option B). One builder makes all five: the kind of
block and the number of blocks per stage are data (`IMAGENET_STAGES`).

*Two parameter counts for one network.* ResNet-50 has 25,557,032 trainable parameters as the
paper defines it and as torchvision counts it; ``keras.applications.ResNet50(weights=None)``
reports ``count_params()`` = 25,636,712 for the same network. Two things make the 79,680
difference: (1) keras.applications keeps a bias in every convolution (26,560 numbers), but
every convolution of ResNet v1 is followed by batch normalization, which subtracts the mean of
each channel, so a per-channel bias is cancelled exactly and BN's own shift (beta) takes its
role: the paper's convolutions have no bias (the released Caffe definitions say
``bias_term: false``); (2) ``count_params()`` counts every weight, including the moving mean
and variance of each batch normalization (53,120 numbers), which are statistics, not trained
by gradient descent: keras.applications has 25,583,592 trainable parameters. Option
``conv_bias=True`` builds the keras.applications network; the default ``conv_bias=False``
builds the paper's. Batch-norm epsilon is 1.001e-5 as in keras.applications (close to Caffe's
and PyTorch's 1e-5), so weights can be moved between the two by layer name.

*Where the stride goes.* The paper says only that conv3_1, conv4_1 and conv5_1 subsample with
a stride of 2. In its released models, and in keras.applications, the stride sits on the first
1x1 convolution of the bottleneck ("ResNet v1"); torchvision and NVIDIA's recipes put it on the
3x3 convolution ("ResNet v1.5"), which NVIDIA reports to be about 0.5% more accurate (top-1)
and somewhat slower. A 1x1 convolution with stride 2 simply drops three pixels out of four
before any 3x3 convolution sees them; in v1.5 the first 1x1 runs on the full-size map and the
3x3 reads all of it, which costs ResNet-50 231M more multiply-adds (4.09G against 3.86G).
Parameters are the same either way. The default, ``stride_at="1x1"``, is the paper's released
models (and keras.applications); ``stride_at="3x3"`` is v1.5, which with ``conv_bias=False`` is
torchvision's network. By construction, ResNet-18 ... 152 cost 1.81, 3.66, 3.86, 7.57 and
11.28 billion multiply-adds per 224x224 image (v1); Table 1 prints 1.8, 3.6, 3.8, 7.6, 11.3.

**CIFAR ResNet** (``resnet20`` ... ``resnet1202``, ``resnet_cifar`` with ``depth=``): one 3x3
convolution with 16 filters, then three stages of n basic blocks with 16, 32 and 64 filters on
32x32, 16x16 and 8x8 maps, global average pooling and 10 logits: 6n+2 weighted layers. The
paper's CIFAR nets use option A: the shortcut is always the identity; where the shape changes
it takes every second pixel and pads the extra channels with zeros (`ZeroPadShortcut`), so the
residual nets have exactly as many parameters as the plain ones (``plain20`` ... ``plain56``,
``plain_cifar``). ``shortcut="B"`` uses 1x1 projections there instead (2,752 more parameters).

**Pre-activation ResNet v2.** In each unit, batch normalization and ReLU come before each
convolution, and nothing follows the addition, so the shortcut path is a pure identity from
block to block; one BN-ReLU ends the network. ``resnet50v2`` ... ``resnet152v2`` reproduce
``keras.applications.ResNet50V2`` etc. exactly, choices included: a biased stem convolution
without BN, a bias only on the convolutions that are not followed by BN (the projection and the
last 1x1 of each unit), the projection taking the pre-activated input, and the stride on the
3x3 convolution of the *last* unit of stages 2 to 4 (the TensorFlow-Slim convention), where the
identity shortcut subsamples with a 1x1 max pooling. ``resnet164v2`` and ``resnet1001v2``
(and ``resnet_cifar_v2`` with ``depth=`` 9n+2) are the paper's CIFAR networks, built as in the
authors' released Torch code (github.com/KaimingHe/resnet-1k-layers, ``resnet-pre-act.lua``):
a 3x3 convolution with 16 maps, three stages of n bottleneck units with outputs of 64, 128 and
256 maps (widths 16, 32, 64), a projection in the first unit of each stage, the stride of 2 on
the first 1x1 convolution (and the projection) of stages 2 and 3, no convolution biases (that
code deletes them), BN-ReLU, global average pooling, logits. ResNet-164 has 1,703,258
parameters (the paper: 1.7M). ResNet-1001 has 10,327,706, of which 10,178,480 are convolution
and classifier weights and 149,216 BN scales and shifts; the paper reports 10.2M, which matches
the weights without BN's parameters: which convention the paper used is not stated there.
``resnet20v2``, ``resnet56v2`` and ``resnet110v2`` (``resnet_cifar_v2`` with ``block="basic"``
and ``depth=`` 6n+2) are the pre-activation counterparts of ``resnet20`` ... with basic units
(BN-ReLU-3x3, BN-ReLU-3x3, nothing after the addition; the v2 paper's ResNet-110 of Table 3): the
same option-A shortcuts on the unit's input, the first unit's BN-ReLU after the stem convolution
and one BN-ReLU before the pooling, so each has exactly the parameters of its v1 network (as many
batch normalizations, moved), and v1 against v2 is the order of the layers alone.

Implementation notes. Mistakes often found in ResNet code copied from blogs and old
repositories:

- Batch normalization after the ReLU (conv-ReLU-BN). The paper puts BN right after each
  convolution and before the activation (Section 3.4); v2 moves BN *and* ReLU before the
  convolution, it never swaps them.
- No ReLU after the addition in a v1 block, or a ReLU on the residual branch before the
  addition (which makes the branch non-negative, so blocks can only add). v1 is
  conv-BN-ReLU-conv-BN, add, ReLU; v2 has nothing after the addition.
- A v2 network without the final BN-ReLU: the last units' outputs are then never normalized.
- Projection shortcuts in every block, or in every stage change, presented as the paper's
  CIFAR networks: those use option A, parameter-free; option B/C are ImageNet experiments.
- The option-A shortcut written as a strided 1x1 convolution, or the zero padding done by a
  ``Lambda`` layer, which a saved model cannot reload without ``safe_mode=False``.
- Wrong depth arithmetic. 6n+2 counts weighted layers: two per basic block, n blocks in each
  of three stages, plus the first convolution and the classifier; so ResNet-56 has 9 blocks
  per stage, not 18 (n taken as layers per stage) nor 27 (n taken as blocks in all). 9n+2 is
  the rule for bottleneck units (three layers each), not for basic blocks. And a "ResNet-50
  on CIFAR" is usually ImageNet's bottleneck ResNet-50 (23.5M parameters plus the classifier)
  fed 32x32 images, not a network of this family (ResNet-50 by 6n+2 has n = 8, 0.76M).
- The stride on the 3x3 of a stage's first block with the weights of a v1 model (or the
  reverse): counts agree, outputs do not.
- Convolution biases before BN reported as "the paper's" parameter count, and
  ``count_params()`` (which counts BN's moving statistics) compared with a paper's count of
  trainable parameters.
- Keras 1 APIs that no longer exist: ``merge([x, y], mode='sum')`` (now ``layers.Add()``),
  ``Convolution2D(64, 3, 3, subsample=(2, 2), border_mode='same')`` (now
  ``Conv2D(64, 3, strides=2, padding="same")``), ``BatchNormalization(mode=0, axis=1)``,
  ``init='he_normal'`` (now ``kernel_initializer``), and channels-first shapes.
- ``padding="same"`` for a 7x7 or 3x3 convolution with stride 2: TensorFlow then pads one
  pixel more at the bottom and right than at the top and left, unlike Caffe and PyTorch; the
  strided convolutions here pad explicitly and symmetrically.
"""

import functools

import keras
from keras import layers, ops

from cnnbook import blocks
from cnnbook.errors import check_bool, check_choice, check_depth
from cnnbook.models import CIFAR10, IMAGENET, Network, register

_PAPER_V1 = "He, Zhang, Ren and Sun (2016), Deep residual learning for image recognition"
_PAPER_V2 = "He, Zhang, Ren and Sun (2016), Identity mappings in deep residual networks"

# Table 1 of the paper: block kind and blocks per stage (conv2_x .. conv5_x).
IMAGENET_STAGES = {
    18: ("basic", (2, 2, 2, 2)),
    34: ("basic", (3, 4, 6, 3)),
    50: ("bottleneck", (3, 4, 6, 3)),
    101: ("bottleneck", (3, 4, 23, 3)),
    152: ("bottleneck", (3, 8, 36, 3)),
}
IMAGENET_FILTERS = (64, 128, 256, 512)  # width of the 3x3 convolutions of each stage
CIFAR_FILTERS = (16, 32, 64)
EXPANSION = 4  # a bottleneck block outputs 4x the width of its 3x3 convolution


@keras.saving.register_keras_serializable(package="cnnbook")
class ZeroPadShortcut(keras.layers.Layer):
    """The option-A shortcut: the identity, subsampled and padded with zero channels.

    He et al. (2016), Section 3.3: "the shortcut still performs identity mapping, with extra
    zero entries padded for increasing dimensions", and with a stride of 2 across maps of two
    sizes. Output channel ``c`` is input channel ``c`` for ``c`` below the input's channels and
    zero beyond; the spatial stride keeps pixels 0, s, 2s, ... as a strided 1x1 convolution
    would. No parameters.

    Args:
        filters: number of output channels (at least the input's).
        strides: spatial subsampling factor.
    """

    def __init__(self, filters, strides=2, **kwargs):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.strides = int(strides)
        if self.strides < 1:
            raise ValueError(f"ZeroPadShortcut: strides must be at least 1, got {strides!r}")

    def build(self, input_shape):
        if input_shape[-1] > self.filters:
            raise ValueError(
                f"ZeroPadShortcut {self.name}: cannot pad {input_shape[-1]} channels down to {self.filters}"
            )

    def call(self, inputs):
        s = self.strides
        x = inputs[:, ::s, ::s, :] if s > 1 else inputs
        extra = self.filters - inputs.shape[-1]
        return ops.pad(x, [[0, 0], [0, 0], [0, 0], [0, extra]]) if extra else x

    def compute_output_shape(self, input_shape):
        size = lambda n: None if n is None else -(-n // self.strides)  # noqa: E731
        return (input_shape[0], size(input_shape[1]), size(input_shape[2]), self.filters)

    def count_macs(self, output_shape):
        """No multiply-accumulates: the shortcut only moves values (see cnnbook.counting)."""
        return 0

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "strides": self.strides}


# Batch normalization with keras.applications' epsilon, so that weights move between the two.
BN = blocks.batch_norm(epsilon=blocks.KERAS_BN_EPSILON)

# Convolution, batch normalization, activation (v1's order, Section 3.4 of the paper); the bias is
# an option (keras.applications keeps it) and strided convolutions pad symmetrically, as the
# reference implementations do.
conv_bn = functools.partial(blocks.conv_norm_act, padding="symmetric", norm=BN, use_bias=False)


def shortcut(x, filters, *, strides=1, kind="B", use_bias=False, name):
    """The shortcut of a v1 block: the identity where the shape is kept, else option A or B.

    ``kind="A"``: subsample and pad channels with zeros (`ZeroPadShortcut`, no parameters);
    ``kind="B"``: 1x1 convolution with the block's stride, then batch normalization.
    """
    if strides == 1 and x.shape[-1] == filters:
        return x
    if kind == "A":
        return ZeroPadShortcut(filters, strides, name=f"{name}_0_pad")(x)
    return conv_bn(x, filters, 1, strides=strides, use_bias=use_bias, activation=None, name=f"{name}_0")


def _merge(x, residual, *, strides, kind, use_bias, name):
    """Add the shortcut of ``x`` to the residual branch (``kind=None``: plain net), then ReLU."""
    if kind is not None:
        identity = shortcut(x, residual.shape[-1], strides=strides, kind=kind, use_bias=use_bias, name=name)
        residual = layers.Add(name=f"{name}_add")([identity, residual])
    return layers.Activation("relu", name=f"{name}_out")(residual)


def basic_block(x, filters, *, strides=1, shortcut_kind="B", use_bias=False, name):
    """Two 3x3 conv-BN, ReLU between them; add the shortcut; ReLU (ResNet-18/34, CIFAR)."""
    y = conv_bn(x, filters, 3, strides=strides, use_bias=use_bias, name=f"{name}_1")
    y = conv_bn(y, filters, 3, use_bias=use_bias, activation=None, name=f"{name}_2")
    return _merge(x, y, strides=strides, kind=shortcut_kind, use_bias=use_bias, name=name)


def bottleneck_block(x, filters, *, strides=1, stride_at="1x1", shortcut_kind="B", use_bias=False, name):
    """1x1 conv to ``filters``, 3x3 conv, 1x1 conv to 4 x ``filters`` (each with BN; ReLU
    after the first two); add the shortcut; ReLU (ResNet-50/101/152).

    ``stride_at`` says which convolution subsamples: ``"1x1"`` (v1) or ``"3x3"`` (v1.5).
    """
    y = conv_bn(x, filters, 1, strides=strides if stride_at == "1x1" else 1, use_bias=use_bias, name=f"{name}_1")
    y = conv_bn(y, filters, 3, strides=strides if stride_at == "3x3" else 1, use_bias=use_bias, name=f"{name}_2")
    y = conv_bn(y, EXPANSION * filters, 1, use_bias=use_bias, activation=None, name=f"{name}_3")
    return _merge(x, y, strides=strides, kind=shortcut_kind, use_bias=use_bias, name=name)


def preact_bottleneck_block(x, filters, *, strides=1, projection=False, stride_at="3x3", use_bias=True, name):
    """The pre-activation unit of ResNet v2: BN-ReLU, then 1x1, BN-ReLU-3x3, BN-ReLU-1x1 to
    4 x ``filters``; the sum with the shortcut is the output, with no activation after it.

    The shortcut is a 1x1 convolution of the pre-activated input where ``projection`` is set,
    the input subsampled by a 1x1 max pooling where only the size changes, else the input.
    ``stride_at`` says which convolution subsamples (``"3x3"``: keras.applications; ``"1x1"``:
    the authors' CIFAR code). ``use_bias`` gives a bias to the two convolutions that BN does not
    follow, the projection and the last 1x1 (keras.applications); the others never have one.
    keras.applications names each BN-ReLU after the convolution before it (``{name}_1_bn``
    normalizes ``{name}_1_conv``), so the unit is written in those names: conv-BN-ReLU twice.
    """
    linear = functools.partial(conv_bn, norm=None, activation=None, use_bias=use_bias)  # no BN follows
    preact = blocks.norm_act(x, norm=BN, name=f"{name}_preact")
    if projection:
        identity = linear(preact, EXPANSION * filters, 1, strides=strides, name=f"{name}_0")
    elif strides > 1:
        identity = blocks.pool(x, "max", 1, strides=strides, name=f"{name}_0")
    else:
        identity = x
    y = conv_bn(preact, filters, 1, strides=strides if stride_at == "1x1" else 1, name=f"{name}_1")
    y = conv_bn(y, filters, 3, strides=strides if stride_at == "3x3" else 1, name=f"{name}_2")
    y = linear(y, EXPANSION * filters, 1, name=f"{name}_3")
    return layers.Add(name=f"{name}_out")([identity, y])


def preact_basic_block(x, filters, *, strides=1, name):
    """The pre-activation basic unit (Identity mappings, Fig. 4(e) with two 3x3 convolutions):
    BN-ReLU-3x3, BN-ReLU-3x3; the sum with the option-A shortcut of the unit's *input* (not its
    pre-activated copy, so the identity path from unit to unit is untouched) is the output."""
    preact = blocks.norm_act(x, norm=BN, name=f"{name}_preact")
    y = conv_bn(preact, filters, 3, strides=strides, name=f"{name}_1")  # its BN-ReLU pre-activates the next conv
    y = conv_bn(y, filters, 3, norm=None, activation=None, name=f"{name}_2")
    identity = shortcut(x, filters, strides=strides, kind="A", name=name)
    return layers.Add(name=f"{name}_out")([identity, y])


def _stages(x, block, widths, stage_sizes, *, stride_in_last=False, projection_first=False, **options):
    """Stages ``conv2``, ``conv3``... of ``block`` units (``conv2_block1``...); every stage but
    the first halves the maps in its first unit (``stride_in_last``: in the last unit of every
    stage but the last, keras.applications' v2); ``projection_first``: the first unit of each
    stage has a projection shortcut (the v2 units)."""
    for stage, (filters, count) in enumerate(zip(widths, stage_sizes)):
        for index in range(count):
            if stride_in_last:
                strides = 2 if index == count - 1 and stage < len(stage_sizes) - 1 else 1
            else:
                strides = 2 if stage > 0 and index == 0 else 1
            if projection_first:
                options["projection"] = index == 0
            x = block(x, filters, strides=strides, name=f"conv{stage + 2}_block{index + 1}", **options)
    return x


# ---------------------------------------------------------------------------- ImageNet, v1

imagenet = functools.partial(register, preset=IMAGENET, min_size=32, paper=_PAPER_V1)


def _summary(depth):
    return f"ResNet-{depth} for ImageNet (Table 1), {IMAGENET_STAGES[depth][0]} blocks, projection shortcuts (option B)"


@imagenet("resnet18", summary=_summary(18), fixed={"depth": 18, "stride_at": "1x1"})
@imagenet("resnet34", summary=_summary(34), fixed={"depth": 34, "stride_at": "1x1"})
@imagenet("resnet50", summary=_summary(50), fixed={"depth": 50})
@imagenet("resnet101", summary=_summary(101), fixed={"depth": 101})
@imagenet("resnet152", summary=_summary(152), fixed={"depth": 152})
def resnet_imagenet(input_shape, num_classes, *, depth, conv_bias=False, stride_at="1x1"):
    """ResNet v1 of Table 1: stem, four stages of ``IMAGENET_STAGES[depth]``, logits.

    Trainable parameters (torchvision's counts): ResNet-18 11,689,512; -34 21,797,672; -50
    25,557,032; -101 44,549,160; -152 60,192,808. ``conv_bias=True`` is keras.applications'
    network (ResNet-50: 25,583,592 trainable, 25,636,712 with BN statistics); ``stride_at="3x3"``
    is v1.5 (bottleneck networks only).
    """
    check_bool("conv_bias", conv_bias)
    check_choice("stride_at", stride_at, ("1x1", "3x3"))
    kind, stage_sizes = IMAGENET_STAGES[depth]
    inputs = layers.Input(input_shape, name="image")
    x = conv_bn(inputs, 64, 7, strides=2, use_bias=conv_bias, name="conv1")
    x = layers.ZeroPadding2D(1, name="pool1_pad")(x)
    x = blocks.pool(x, "max", 3, strides=2, name="pool1")
    if kind == "basic":
        x = _stages(x, basic_block, IMAGENET_FILTERS, stage_sizes, use_bias=conv_bias)
    else:
        x = _stages(x, bottleneck_block, IMAGENET_FILTERS, stage_sizes, stride_at=stride_at, use_bias=conv_bias)
    return Network(inputs, x, blocks.pooled_top(num_classes))


# ---------------------------------------------------------------------------- ImageNet, v2

imagenet_v2 = functools.partial(register, preset=IMAGENET, min_size=32, paper=_PAPER_V2)


def _v2_summary(depth):
    return f"ResNet-{depth} v2 for ImageNet: pre-activation bottleneck units, as keras.applications"


@imagenet_v2("resnet50v2", summary=_v2_summary(50), fixed={"depth": 50})
@imagenet_v2("resnet101v2", summary=_v2_summary(101), fixed={"depth": 101})
@imagenet_v2("resnet152v2", summary=_v2_summary(152), fixed={"depth": 152})
def resnet_v2_imagenet(input_shape, num_classes, *, depth):
    """Pre-activation ResNet as keras.applications builds it (``ResNet50V2`` ...; see the
    module docstring)."""
    _, stage_sizes = IMAGENET_STAGES[depth]
    inputs = layers.Input(input_shape, name="image")
    x = conv_bn(inputs, 64, 7, strides=2, use_bias=True, norm=None, activation=None, name="conv1")
    x = layers.ZeroPadding2D(1, name="pool1_pad")(x)  # zeros, not -inf: as keras.applications
    x = blocks.pool(x, "max", 3, strides=2, name="pool1")
    x = _stages(x, preact_bottleneck_block, IMAGENET_FILTERS, stage_sizes, stride_in_last=True,
                projection_first=True)  # fmt: skip
    x = blocks.norm_act(x, norm=BN, name="post")
    return Network(inputs, x, blocks.pooled_top(num_classes))


# ---------------------------------------------------------------------------- CIFAR

# The paper's Table 6 (parameters on CIFAR-10, option A).
CIFAR_TABLE6_PARAMS = {20: "0.27M", 32: "0.46M", 44: "0.66M", 56: "0.85M", 110: "1.7M", 1202: "19.4M"}

cifar = functools.partial(register, preset=CIFAR10, min_size=8, paper=_PAPER_V1)


def _cifar_summary(depth):
    return f"ResNet-{depth} for CIFAR (Section 4.2), option A shortcuts: {CIFAR_TABLE6_PARAMS[depth]} parameters"


def _plain_summary(depth):
    return f"Plain-{depth} for CIFAR: ResNet-{depth} without shortcuts (Fig. 6)"


RESIDUAL, PLAIN = {"plain": False}, {"plain": True, "shortcut": None}  # what a variant fixes


@cifar("resnet_cifar", summary="ResNet for CIFAR of any depth 6n+2 (Section 4.2)", fixed=RESIDUAL,
       defaults={"depth": 56})  # fmt: skip
@cifar("resnet20", summary=_cifar_summary(20), fixed={**RESIDUAL, "depth": 20})
@cifar("resnet32", summary=_cifar_summary(32), fixed={**RESIDUAL, "depth": 32})
@cifar("resnet44", summary=_cifar_summary(44), fixed={**RESIDUAL, "depth": 44})
@cifar("resnet56", summary=_cifar_summary(56), fixed={**RESIDUAL, "depth": 56})
@cifar("resnet110", summary=_cifar_summary(110), fixed={**RESIDUAL, "depth": 110})
@cifar("resnet1202", summary=_cifar_summary(1202), fixed={**RESIDUAL, "depth": 1202})
@cifar("plain_cifar", summary="Plain CIFAR network of depth 6n+2: a ResNet without shortcuts (Fig. 6)", fixed=PLAIN,
       defaults={"depth": 20})  # fmt: skip
@cifar("plain20", summary=_plain_summary(20), fixed={**PLAIN, "depth": 20})
@cifar("plain32", summary=_plain_summary(32), fixed={**PLAIN, "depth": 32})
@cifar("plain44", summary=_plain_summary(44), fixed={**PLAIN, "depth": 44})
@cifar("plain56", summary=_plain_summary(56), fixed={**PLAIN, "depth": 56})
def resnet_cifar(input_shape, num_classes, *, depth, plain, shortcut="A"):
    """ResNet for CIFAR with ``depth`` = 6n+2 layers, Section 4.2: n basic blocks per stage;
    ``shortcut``: ``"A"`` (zero padding, the paper's) or ``"B"`` (1x1 projection where the
    shape changes). ``plain``: the same layers without shortcuts (the degradation experiment)."""
    family = "The plain CIFAR network" if plain else "ResNet for CIFAR"
    n = check_depth(depth, step=6, offset=2, family=family, examples=(20, 32, 44, 56, 110, 1202))
    shortcut_kind = None if plain else check_choice("shortcut", shortcut, ("A", "B"))
    blocks.allow_deep_graph(depth)
    inputs = layers.Input(input_shape, name="image")
    x = conv_bn(inputs, CIFAR_FILTERS[0], 3, name="conv1")
    x = _stages(x, basic_block, CIFAR_FILTERS, (n, n, n), shortcut_kind=shortcut_kind)
    return Network(inputs, x, blocks.pooled_top(num_classes), name=f"{'plain' if plain else 'resnet'}{depth}")


cifar_v2 = functools.partial(register, preset=CIFAR10, min_size=8, paper=_PAPER_V2)


def _v2_basic_summary(depth):
    return f"ResNet-{depth} v2 for CIFAR: pre-activation basic units, the parameters of resnet{depth}"


@cifar_v2("resnet_cifar_v2", summary="Pre-activation ResNet for CIFAR of any depth 9n+2", defaults={"depth": 164})
@cifar_v2("resnet164v2", summary="ResNet-164 v2 for CIFAR: pre-activation bottleneck units, 1.7M",
          fixed={"depth": 164})  # fmt: skip
@cifar_v2("resnet1001v2", summary="ResNet-1001 v2 for CIFAR: pre-activation bottleneck units, 10.3M",
          fixed={"depth": 1001})  # fmt: skip
@cifar_v2("resnet20v2", summary=_v2_basic_summary(20), fixed={"depth": 20, "block": "basic"})
@cifar_v2("resnet56v2", summary=_v2_basic_summary(56), fixed={"depth": 56, "block": "basic"})
@cifar_v2("resnet110v2", summary=_v2_basic_summary(110), fixed={"depth": 110, "block": "basic"})
def resnet_cifar_v2(input_shape, num_classes, *, depth, block="bottleneck"):
    """Pre-activation ResNet for CIFAR (Identity mappings). ``block="bottleneck"``: 9n+2 layers
    of bottleneck units; ResNet-164 (n = 18) has 1.7M parameters in the paper; ResNet-1001
    (n = 111) 10.3M (the paper's 10.2M leaves out BN's scales and shifts; see the module
    docstring). ``block="basic"``: 6n+2 layers of basic units with option-A shortcuts, exactly
    as many parameters as ``resnet_cifar`` of the same depth."""
    check_choice("block", block, ("bottleneck", "basic"))
    if block == "basic":
        n = check_depth(depth, step=6, offset=2, family="Pre-activation ResNet for CIFAR (basic units)",
                        examples=(20, 56, 110))  # fmt: skip
    else:
        n = check_depth(depth, step=9, offset=2, family="Pre-activation ResNet for CIFAR (bottleneck units)",
                        examples=(164, 1001))  # fmt: skip
    blocks.allow_deep_graph(depth)
    inputs = layers.Input(input_shape, name="image")
    x = conv_bn(inputs, CIFAR_FILTERS[0], 3, norm=None, activation=None, name="conv1")  # the first unit's BN-ReLU follows
    if block == "basic":
        x = _stages(x, preact_basic_block, CIFAR_FILTERS, (n, n, n))
    else:
        x = _stages(x, preact_bottleneck_block, CIFAR_FILTERS, (n, n, n), projection_first=True, stride_at="1x1",
                    use_bias=False)  # fmt: skip
    x = blocks.norm_act(x, norm=BN, name="post")
    return Network(inputs, x, blocks.pooled_top(num_classes), name=f"resnet{depth}v2")
