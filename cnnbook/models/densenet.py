"""DenseNet: Huang, Liu, van der Maaten and Weinberger (2017), "Densely connected convolutional
networks", CVPR.

Inside a dense block, every layer sees the concatenation of the block's input and of all the
maps produced by the layers before it, and adds ``k`` maps of its own (the growth rate k).
Section 3 of the paper:

- a layer (`conv_block`) is BN-ReLU-conv 1x1 producing 4k maps (the bottleneck, "DenseNet-B"),
  then BN-ReLU-conv 3x3 producing k maps, concatenated to its input;
- a transition (`transition`) between two blocks is BN-ReLU-conv 1x1, then 2x2 average
  pooling; its convolution keeps a fraction theta = 0.5 of the maps (compression,
  "DenseNet-C"); with both ideas the network is a DenseNet-BC.

``densenet121``, ``densenet169`` and ``densenet201`` are the ImageNet networks of Table 1
(k = 32; blocks of 6, 12, 24, 16 / 6, 12, 32, 32 / 6, 12, 48, 32 layers; a 7x7 stride-2
convolution with 2k = 64 maps and a 3x3 stride-2 max pooling first), built exactly as
``keras.applications.DenseNet121/169/201``: no convolution has a bias (BN follows or precedes
each), batch-norm epsilon 1.001e-5, ``int(channels * 0.5)`` maps out of each transition, and a
final BN-ReLU before the global average pooling. Layer names are those of keras.applications,
so weights move between the two by name. ``count_params()`` counts BN's moving mean and
variance too: DenseNet-121 has 7,978,856 trainable parameters of 8,062,504.

``densenet_bc_100`` is the paper's CIFAR network DenseNet-BC (L=100, k=12), 0.8M parameters
in Table 2: a 3x3 convolution with 2k = 24 maps, three dense blocks of 16 bottleneck layers on
32x32, 16x16 and 8x8 maps, two transitions, BN-ReLU, global average pooling and the logits.
L counts the weighted layers: 3 x 16 x 2 convolutions, the first convolution, two transitions
and the classifier make 100. ``densenet_bc_cifar`` builds any depth L = 6n+4 and growth rate k
(Table 2 also lists L=250, k=24 and L=190, k=40, with 15.3M and 25.6M parameters; built here
they have 15,324,406 and 25,624,430 trainable parameters).

Implementation notes. Mistakes often found in DenseNet code copied from blogs and old
repositories:

- A network without the 1x1 bottleneck or without compression (theta = 1) called
  DenseNet-BC: B is the bottleneck, C the compression, BC both.
- The bottleneck producing k maps instead of 4k, or the growth rate applied to the transition.
- Conv-BN-ReLU order in the layers (ResNet v1's order): DenseNet's layers are pre-activation,
  BN-ReLU-conv, so each layer normalizes the concatenation it receives; and, for the same
  reason, a network that ends without the final BN-ReLU.
- Addition instead of concatenation, or concatenating only the previous layer's output
  instead of the growing stack (the number of maps must grow by k per layer).
- Depth arithmetic: for DenseNet-BC on CIFAR, L = 6n+4 (two convolutions per layer), so L=100
  means 16 layers per block, not 32; for DenseNet without bottleneck, L = 3n+4.
- Keras 1 APIs that no longer exist: ``merge(..., mode='concat', concat_axis=-1)`` (now
  ``layers.Concatenate()``), ``Convolution2D(k, 3, 3, border_mode='same', bias=False)`` (now
  ``Conv2D(k, 3, padding="same", use_bias=False)``), ``W_regularizer``, and channels-first
  concatenation axes.
"""

import functools

from keras import layers

from cnnbook import blocks
from cnnbook.errors import check_depth, check_float, check_int
from cnnbook.models import CIFAR10, IMAGENET, Network, register

_PAPER = "Huang, Liu, van der Maaten and Weinberger (2017), Densely connected convolutional networks"

# Table 1 of the paper: layers per dense block.
IMAGENET_BLOCKS = {121: (6, 12, 24, 16), 169: (6, 12, 32, 32), 201: (6, 12, 48, 32)}
BOTTLENECK_WIDTH = 4  # the 1x1 convolution of a layer produces 4k maps
COMPRESSION = 0.5  # theta: a transition keeps half of the maps

# Batch normalization with keras.applications' epsilon; no convolution has a bias (BN follows or
# precedes each).
BN = blocks.batch_norm(epsilon=blocks.KERAS_BN_EPSILON)
preact_conv = functools.partial(blocks.conv_norm_act, norm=BN, use_bias=False, preact=True)


def conv_block(x, growth_rate, *, name):
    """One layer of a dense block: BN-ReLU-conv 1x1 (4k maps), BN-ReLU-conv 3x3 (k maps), and
    the k new maps concatenated to the input.

    keras.applications numbers each BN-ReLU with the convolution before it (``{name}_0_bn``,
    ``{name}_0_relu``, ``{name}_1_conv``, ``{name}_1_bn``, ...): its names are kept.
    """
    y = blocks.norm_act(x, norm=BN, name=f"{name}_0")
    y = blocks.conv_norm_act(y, BOTTLENECK_WIDTH * growth_rate, 1, padding="valid", norm=BN, name=f"{name}_1")
    y = blocks.conv_norm_act(y, growth_rate, 3, norm=None, activation=None, use_bias=False, name=f"{name}_2")
    return layers.Concatenate(name=f"{name}_concat")([x, y])


def dense_block(x, num_layers, growth_rate, *, name):
    """``num_layers`` `conv_block` layers: the maps grow by ``growth_rate`` per layer."""
    for index in range(num_layers):
        x = conv_block(x, growth_rate, name=f"{name}_block{index + 1}")
    return x


def transition(x, compression=COMPRESSION, *, name):
    """BN-ReLU-conv 1x1 to ``int(channels * compression)`` maps, then 2x2 average pooling."""
    x = preact_conv(x, int(x.shape[-1] * compression), 1, padding="valid", name=name)
    return layers.AveragePooling2D(2, strides=2, name=f"{name}_pool")(x)


def _densenet(inputs, x, block_sizes, growth_rate, compression, *, num_classes, name=None):
    """Dense blocks named conv2, conv3, ... with transitions pool2, pool3, ... between them, a
    final BN-ReLU, then the head."""
    for index, num_layers in enumerate(block_sizes):
        x = dense_block(x, num_layers, growth_rate, name=f"conv{index + 2}")
        if index < len(block_sizes) - 1:
            x = transition(x, compression, name=f"pool{index + 2}")
    x = BN(name="bn")(x)
    x = layers.Activation("relu", name="relu")(x)
    return Network(inputs, x, blocks.pooled_top(num_classes), name=name)


imagenet = functools.partial(register, preset=IMAGENET, min_size=32, paper=_PAPER)


def _summary(depth):
    sizes = ", ".join(map(str, IMAGENET_BLOCKS[depth]))
    return f"DenseNet-{depth} (DenseNet-BC, k=32, blocks {sizes}) for ImageNet, as keras.applications"


@imagenet("densenet121", summary=_summary(121), fixed={"depth": 121})
@imagenet("densenet169", summary=_summary(169), fixed={"depth": 169})
@imagenet("densenet201", summary=_summary(201), fixed={"depth": 201})
def densenet_imagenet(input_shape, num_classes, *, depth):
    """DenseNet-121/169/201 of Table 1 (k = 32), equal to ``keras.applications.DenseNet121`` ...
    (DenseNet-121: 7,978,856 parameters)."""
    growth_rate = 32
    inputs = layers.Input(input_shape, name="image")
    x = layers.ZeroPadding2D(3, name="conv1_pad")(inputs)
    x = blocks.conv_norm_act(x, 2 * growth_rate, 7, strides=2, padding="valid", norm=BN, name="conv1")
    x = layers.ZeroPadding2D(1, name="pool1_pad")(x)
    x = blocks.pool(x, "max", 3, strides=2, name="pool1")
    return _densenet(inputs, x, IMAGENET_BLOCKS[depth], growth_rate, COMPRESSION, num_classes=num_classes)


cifar = functools.partial(register, preset=CIFAR10, min_size=8, paper=_PAPER)


@cifar("densenet_bc_cifar", summary="DenseNet-BC for CIFAR of any depth 6n+4 and growth rate k")
@cifar("densenet_bc_100", summary="DenseNet-BC (L=100, k=12) for CIFAR: 0.8M parameters (Table 2)",
       fixed={"depth": 100, "growth_rate": 12, "compression": COMPRESSION})  # fmt: skip
def densenet_bc_cifar(input_shape, num_classes, *, depth=100, growth_rate=12, compression=COMPRESSION):
    """DenseNet-BC for CIFAR with ``depth`` = 6n+4, growth rate ``growth_rate`` and transitions
    keeping a fraction ``compression`` of the maps (1: no compression, a DenseNet-B); L=100,
    k=12 has three blocks of 16 bottleneck layers."""
    n = check_depth(depth, step=6, offset=4, family="DenseNet-BC for CIFAR", examples=(40, 100, 190, 250))
    growth_rate = check_int("growth_rate", growth_rate, minimum=1)
    compression = check_float("compression", compression, minimum=0, maximum=1, exclusive_minimum=True)
    blocks.allow_deep_graph(depth)
    inputs = layers.Input(input_shape, name="image")
    x = blocks.conv_norm_act(inputs, 2 * growth_rate, 3, norm=None, activation=None, use_bias=False, name="conv1")
    suffix = "" if growth_rate == 12 else f"_k{growth_rate}"
    return _densenet(inputs, x, (n, n, n), growth_rate, compression, num_classes=num_classes,
                     name=f"densenet_bc_{depth}{suffix}")  # fmt: skip
