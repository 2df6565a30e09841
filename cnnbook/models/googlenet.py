"""GoogLeNet (Inception v1): Szegedy, Liu, Jia, Sermanet, Reed, Anguelov, Erhan, Vanhoucke and
Rabinovich (2015), "Going deeper with convolutions", CVPR 2015 (arXiv:1409.4842), Section 4
(the Inception module with dimension reductions, Figure 2b), Section 5 (GoogLeNet: Table 1, the
auxiliary classifiers) and Figure 3 (the whole network).

``googlenet`` follows Table 1 on a 224x224x3 input:

    conv1   7x7/2, 64                      -> 112x112x64
    pool1   max 3x3/2, then LRN            -> 56x56x64
    conv2   1x1 64 ("3x3 reduce"), 3x3 192, then LRN
    pool2   max 3x3/2                      -> 28x28x192
    inception 3a, 3b                       -> 28x28x256, 28x28x480
    pool3   max 3x3/2                      -> 14x14x480
    inception 4a, 4b, 4c, 4d, 4e           -> 14x14x512, 512, 512, 528, 832
    pool4   max 3x3/2                      -> 7x7x832
    inception 5a, 5b                       -> 7x7x832, 7x7x1024
    average pool 7x7 (global), dropout 40%, linear 1000

Each Inception module (`inception_module`) runs four branches on the same input and
concatenates them along the channels: a 1x1 convolution; a 1x1 "reduce" convolution followed by
a 3x3; a 1x1 reduce followed by a 5x5; and a 3x3 max pooling (stride 1) followed by a 1x1
"pool proj". Every convolution, reductions and projections included, is followed by a ReLU
("All the convolutions, including those inside the Inception modules, use rectified linear
activation", Section 5, below Table 1). The 1x1 reductions are the point of the design: they keep the
network, 22 layers deep counting only layers with parameters, within the "computational budget
of 1.5 billion multiply-adds at inference time" that Section 1 gives for most experiments
(1.59 billion here, LRN included, by `cnnbook.counting.totals`).

Local response normalization: Table 1 does not list it, but Figure 3 shows a "LocalRespNorm" after
the first max pooling and after the 3x3 convolution of conv2. The paper gives no constants; the
`LocalResponseNormalization` layers here use those of the Caffe reproduction, BVLC's
``bvlc_googlenet`` (size 5, alpha 1e-4, beta 0.75, k 1; Caffe divides alpha by the size, so
``CAFFE_LRN`` passes alpha = 2e-5 to the paper-form layer).
``lrn=False`` leaves both layers out, as most modern re-implementations do; LRN has no
parameters, so the count does not change.

Auxiliary classifiers (``aux_heads=True``): Section 5 puts two small networks on the outputs of
4a and 4d: 5x5/3 average pooling (4x4x512 and 4x4x528), 1x1 convolution with 128 filters and ReLU,
a fully connected layer of 1024 units with ReLU, dropout 70%, and a linear classifier. "During
training, their loss gets added to the total loss of the network with a discount weight (the
losses of the auxiliary classifiers were weighted by 0.3). At inference time, these auxiliary
networks are discarded." The model then has three outputs, ``[predictions, aux1_predictions,
aux2_predictions]``, to be compiled with ``loss_weights=[1.0, 0.3, 0.3]``. The default
(``aux_heads=False``) is the inference network, with one output.

Parameters. Table 1's "params" column counts weights only, in units of K = 1024: conv2 is
1*1*192*64 + 3*3*64*192 = 114,688 = 112K and the linear layer 1024*1000 = 1,024,000 = 1000K,
exactly. With those units, the modules 3a, 3b, 4a, 4b, 4d, 4e and 5b agree with the filter columns
to within 2%, but two entries do not follow from their own rows: 4c (the filter columns give
509,440 weights, 497.5K; the table says 463K) and 5a (1,042,432 weights, 1018K; the table says
1072K). The "ops" column (multiply-adds, M = 10^6) agrees with the filter columns within 2% for
every module but 5a (51.1M computed, 54M printed, consistent with its 1072K), and conv1's row
(2.7K, 34M) matches no 7x7x3x64 convolution (9,408 weights, 118M multiply-adds at 112x112).
The column sums to 6,797.7K, the "6.8M parameters" often quoted; the paper's own text only says
that GoogLeNet "uses 12x fewer parameters" than AlexNet. Built here, with biases, the inference
network (``num_classes=1000``) has 6,998,552 parameters (6,990,272 weights and 8,280 biases) and
the two auxiliary heads add 6,379,728 more.

``googlenet_cifar`` is the common CIFAR-10 adaptation of kuangliu/pytorch-cifar
(``models/googlenet.py``), itself a departure from the paper in several ways, kept here so its
results can be compared with published ones: the stem is a single 3x3 convolution with 192
filters on the 32x32 image (no 7x7/2, no pooling, no LRN), so modules 3a-3b see 32x32 maps,
4a-4e 16x16 and 5a-5b 8x8; every convolution is convolution, batch normalization, ReLU; there are
no auxiliary heads and no dropout. Its "5x5" branch is two stacked 3x3 convolutions
(reduce -> 3x3 -> 3x3, both with the 5x5 column's width), a factorization introduced with
BN-Inception (Ioffe and Szegedy, 2015) and analysed in Inception v3's Section 3.1, not GoogLeNet's;
``factorize_5x5=False`` builds the paper's single 5x5 instead. One departure is ours:
the convolutions have no bias (batch normalization's shift replaces it), which removes 7,904 of
kuangliu's 6,166,250 trainable parameters: 6,158,346 here with the default factorized branch
(``count_params()`` says 6,174,154 because Keras also counts batch normalization's moving mean
and variance, which PyTorch keeps as buffers, not parameters).
The book's target for it is 93% or better on CIFAR-10, trained on a GPU.

Implementation notes (mistakes often found in copied Keras GoogLeNet code):

- the stem is written as Table 1's depth column suggests, but LRN is silently omitted; say so, as
  ``lrn=False`` does here, or the network is not Figure 3's;
- the 1x1 reductions and the pool projection are left without ReLU ("All these
  reduction/projection layers use rectified linear activation as well", Section 5);
- the pool branch uses a 3x3 max pooling with stride 2 or "valid" padding, so the branches no
  longer have the same size, or the 5x5 branch is quietly replaced by two 3x3 convolutions (as in
  kuangliu's CIFAR code) while the layers are still called "5x5";
- the auxiliary classifiers are missing, or their outputs are added to the logits at inference;
  they are training-only, weighted 0.3, and take the 4a and 4d outputs, not 4b and 4e;
- the final average pooling is followed by a softmax layer inside the model, while the losses
  expect logits;
- batch normalization is added after every convolution and the result still called "GoogLeNet
  (2014)": batch normalization came later (Ioffe and Szegedy, 2015, whose BN-Inception is often
  called Inception v2); ``googlenet_cifar`` is labelled as an adaptation.
"""

import functools

from keras import layers

from cnnbook import blocks
from cnnbook.errors import ParameterError, check_bool, check_float
from cnnbook.layers import BatchNormalization, LocalResponseNormalization
from cnnbook.models import CIFAR10, IMAGENET, Network, register

_PAPER = "Szegedy et al. (2015), Going deeper with convolutions, CVPR (arXiv:1409.4842)"

# Table 1: #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj of each Inception module.
MODULES = {
    "3a": (64, 96, 128, 16, 32, 32),
    "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64),
    "4b": (160, 112, 224, 24, 64, 64),
    "4c": (128, 128, 256, 24, 64, 64),
    "4d": (112, 144, 288, 32, 64, 64),
    "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128),
    "5b": (384, 192, 384, 48, 128, 128),
}
STAGES = (("3a", "3b"), ("4a", "4b", "4c", "4d", "4e"), ("5a", "5b"))

# Table 1's "params" (K = 1024 weights) and "ops" (M = 10^6 multiply-adds) columns, as printed, for
# comparison with what the filter columns give (see the module docstring: 4c and 5a disagree).
PRINTED = {
    "3a": (159, 128), "3b": (380, 304), "4a": (364, 73), "4b": (437, 88), "4c": (463, 100),
    "4d": (580, 119), "4e": (840, 170), "5a": (1072, 54), "5b": (1388, 71),
}  # fmt: skip


# BVLC's Caffe GoogLeNet: size 5, alpha 1e-4, beta 0.75, k 1, in Caffe's convention, which divides
# alpha by the size; in the paper's formula that `LocalResponseNormalization` computes, alpha is 2e-5.
CAFFE_LRN = {"size": 5, "alpha": 1e-4 / 5, "beta": 0.75, "k": 1.0}


def inception_module(
    x, filters_1x1, reduce_3x3, filters_3x3, reduce_5x5, filters_5x5, pool_proj, name, *, norm=None,
    factorize_5x5=False,
):  # fmt: skip
    """The Inception module with dimension reductions (Figure 2b): four branches, concatenated.

    Output channels: ``filters_1x1 + filters_3x3 + filters_5x5 + pool_proj``. Layers are named
    ``{name}_1x1``, ``{name}_3x3_reduce``, ``{name}_3x3``, ``{name}_5x5_reduce``, ``{name}_5x5``,
    ``{name}_pool`` and ``{name}_pool_proj`` (plus ``_conv``, ``_relu``, ``_bn``), and
    ``{name}_concat`` for the output.

    Args:
        norm: ``None``: convolution with bias, ReLU (the paper); a normalization (batch
            normalization in the CIFAR adaptation): convolution, normalization, ReLU.
        factorize_5x5: replace the 5x5 convolution by two 3x3 convolutions of the same width,
            named ``{name}_3x3dbl_reduce``, ``{name}_3x3dbl_a`` and ``{name}_3x3dbl_b``.
    """
    conv = functools.partial(blocks.conv_norm_act, norm=norm)  # "same" padding: the branches keep the size
    branch_1x1 = conv(x, filters_1x1, 1, name=f"{name}_1x1")
    branch_3x3 = conv(x, reduce_3x3, 1, name=f"{name}_3x3_reduce")
    branch_3x3 = conv(branch_3x3, filters_3x3, 3, name=f"{name}_3x3")
    if factorize_5x5:
        branch_5x5 = conv(x, reduce_5x5, 1, name=f"{name}_3x3dbl_reduce")
        branch_5x5 = conv(branch_5x5, filters_5x5, 3, name=f"{name}_3x3dbl_a")
        branch_5x5 = conv(branch_5x5, filters_5x5, 3, name=f"{name}_3x3dbl_b")
    else:
        branch_5x5 = conv(x, reduce_5x5, 1, name=f"{name}_5x5_reduce")
        branch_5x5 = conv(branch_5x5, filters_5x5, 5, name=f"{name}_5x5")
    branch_pool = blocks.pool(x, "max", 3, strides=1, padding="same", name=f"{name}_pool")
    branch_pool = conv(branch_pool, pool_proj, 1, name=f"{name}_pool_proj")
    return layers.Concatenate(name=f"{name}_concat")([branch_1x1, branch_3x3, branch_5x5, branch_pool])


def inception_stages(x, *, width=1.0, **options):
    """The nine modules of Table 1 (3a-3b, 4a-4e, 5a-5b) with a 3x3/2 max pooling before stages
    4 and 5 (``pool3``, ``pool4``); returns the output and each module's output by name.
    ``width`` multiplies every module's filter counts (rounded)."""
    taps = {}
    for stage, modules in enumerate(STAGES):
        if stage:
            x = blocks.pool(x, "max", 3, strides=2, padding="same", name=f"pool{stage + 2}")
        for module in modules:
            filters = blocks.scaled(MODULES[module], width)
            x = taps[module] = inception_module(x, *filters, name=f"inception_{module}", **options)
    return x, taps


def auxiliary_classifier(x, num_classes, *, name, width=1.0, norm=None):
    """Section 5's side network: 5x5/3 average pool, 1x1 conv 128, fc 1024, dropout 70%, linear
    (``width`` scales the 128 and the 1024; ``norm`` follows the 1x1 convolution, as in the body)."""
    x = blocks.pool(x, "avg", 5, strides=3, name=name)
    x = blocks.conv_norm_act(x, blocks.scaled(128, width), 1, padding="valid", norm=norm, name=name)
    x = layers.Flatten(name=f"{name}_flatten")(x)
    x = blocks.dense_act(x, blocks.scaled(1024, width), dropout=0.7, name=f"{name}_fc")
    return blocks.classifier(x, num_classes, name=f"{name}_predictions")


def _with_auxiliary_heads(main_top, taps, num_classes, **options):
    """A top that returns ``[main, aux1, aux2]``, the side networks on the outputs of 4a and 4d."""

    def top(x):
        return [main_top(x)] + [
            auxiliary_classifier(taps[module], num_classes, name=name, **options)
            for module, name in (("4a", "aux1"), ("4d", "aux2"))
        ]

    return top


@register(
    "googlenet",
    preset=IMAGENET,
    min_size=32,
    paper=_PAPER,
    summary="GoogLeNet (Inception v1) as in Table 1: LRN stem, nine Inception modules, optional auxiliary heads",
)
def googlenet(input_shape, num_classes, *, include_top=True, aux_heads=False, lrn=True):
    """GoogLeNet of Table 1 and Figure 3; ``aux_heads=True`` adds the two training-time classifiers
    (outputs ``[main, aux1, aux2]``); ``lrn=False`` drops the two local response normalizations."""
    check_bool("aux_heads", aux_heads)
    check_bool("lrn", lrn)
    if aux_heads and not include_top:
        raise ParameterError("aux_heads", aux_heads, "the auxiliary classifiers need include_top=True")
    conv = functools.partial(blocks.conv_norm_act, norm=None)
    inputs = layers.Input(input_shape, name="image")
    x = conv(inputs, 64, 7, strides=2, name="conv1")
    x = blocks.pool(x, "max", 3, strides=2, padding="same", name="pool1")
    if lrn:
        x = LocalResponseNormalization(**CAFFE_LRN, name="norm1_lrn")(x)
    x = conv(x, 64, 1, padding="valid", name="conv2_reduce")
    x = conv(x, 192, 3, name="conv2")
    if lrn:
        x = LocalResponseNormalization(**CAFFE_LRN, name="norm2_lrn")(x)
    x = blocks.pool(x, "max", 3, strides=2, padding="same", name="pool2")
    x, taps = inception_stages(x)
    if aux_heads and min(taps["4a"].shape[1:3]) < 5:
        raise ParameterError(
            "input_shape", tuple(input_shape), "the auxiliary classifiers need images of at least 65x65 pixels"
        )
    top = blocks.pooled_top(num_classes, dropout=0.4)
    return Network(inputs, x, _with_auxiliary_heads(top, taps, num_classes) if aux_heads else top)


@register(
    "googlenet_cifar",
    preset=CIFAR10,
    min_size=32,
    paper=_PAPER + "; CIFAR adaptation of kuangliu/pytorch-cifar",
    summary="GoogLeNet for CIFAR (kuangliu): 3x3 stem of 192, the nine modules with conv-BN-ReLU",
)
def googlenet_cifar(input_shape, num_classes, *, include_top=True, factorize_5x5=True, width=1.0, stem_pool=False,
                    aux_heads=False, dropout=0.0):  # fmt: skip
    """kuangliu/pytorch-cifar's GoogLeNet, and the reduced versions the book trains on a CPU.

    Args:
        factorize_5x5: two 3x3 convolutions in the "5x5" branch (kuangliu); False: the paper's 5x5.
        width: multiplies the stem's and every module's filter counts (and the auxiliary heads').
        stem_pool: a 3x3/2 max pooling after the stem, as the paper's stem ends in pooling: the
            modules then see 16x16, 8x8 and 4x4 maps, and the network costs a quarter.
        aux_heads: Section 5's two auxiliary classifiers on the outputs of 4a and 4d (with batch
            normalization, like the body); the model then has the outputs ``[predictions,
            aux1_predictions, aux2_predictions]`` (`cnnbook.train.fit` weights the extra losses 0.3).
        dropout: before the classifier (the paper: 0.4; kuangliu: none).
    """
    check_bool("factorize_5x5", factorize_5x5)
    check_bool("stem_pool", stem_pool)
    check_bool("aux_heads", aux_heads)
    if aux_heads and not include_top:
        raise ParameterError("aux_heads", aux_heads, "the auxiliary classifiers need include_top=True")
    width = blocks.check_width(width)
    dropout = check_float("dropout", dropout, minimum=0, maximum=0.95)
    inputs = layers.Input(input_shape, name="image")
    x = blocks.conv_norm_act(inputs, blocks.scaled(192, width), 3, name="stem")
    if stem_pool:
        x = blocks.pool(x, "max", 3, strides=2, padding="same", name="stem_pool")
    x, taps = inception_stages(x, width=width, norm=BatchNormalization, factorize_5x5=factorize_5x5)
    if aux_heads and min(taps["4a"].shape[1:3]) < 5:
        raise ParameterError(
            "input_shape", tuple(input_shape), "the auxiliary classifiers need 4a's maps to be at least 5x5"
        )
    top = blocks.pooled_top(num_classes, dropout=dropout)
    if aux_heads:
        top = _with_auxiliary_heads(top, taps, num_classes, width=width, norm=BatchNormalization)
    return Network(inputs, x, top)
