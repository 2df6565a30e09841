"""LeNet-5: LeCun, Bottou, Bengio and Haffner (1998), "Gradient-based learning applied to
document recognition", Proceedings of the IEEE 86(11), Section II.B and Fig. 2.

Layers on a 32x32 input (the paper's own size, and CIFAR-10's):

    C1  conv 5x5, 6 maps      -> 28x28x6       S2  2x2 subsampling -> 14x14x6
    C3  conv 5x5, 16 maps     -> 10x10x16      S4  2x2 subsampling -> 5x5x16
    C5  conv 5x5, 120 maps    -> 1x1x120       F6  fully connected -> 84
    output: one unit per class

``lenet5_classic`` follows the paper: every layer up to F6 is squashed by the scaled tanh
1.7159 tanh(2a/3); S2 and S4 average each 2x2 window, multiply it by a trainable coefficient and
add a trainable bias per map; C3 connects its maps to subsets of S2's maps (Table I). On a
32x32x1 input, C1 to F6 have exactly the paper's 60,000 trainable parameters. One deliberate
change: the paper's output layer of Euclidean radial basis functions, whose centres were fixed
7x12 bitmaps of the ASCII characters, is replaced by ordinary logits trained with cross-entropy.

``lenet5`` is the modern reading found in most courses: ReLU, max pooling, full C3.
"""

import functools

from keras import layers

from cnnbook import blocks
from cnnbook.layers import ConnectionTableConv2D, lecun_tanh
from cnnbook.models import CIFAR10, Network, register

# Table I of the paper: the S2 maps (0-5) seen by each of the 16 C3 maps.
C3_TABLE = (
    (0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (4, 5, 0), (5, 0, 1),  # three neighbours
    (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (3, 4, 5, 0), (4, 5, 0, 1), (5, 0, 1, 2),  # four neighbours
    (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5),  # four, not all neighbours
    (0, 1, 2, 3, 4, 5),  # all six
)  # fmt: skip

_PAPER = "LeCun, Bottou, Bengio and Haffner (1998), Gradient-based learning applied to document recognition"

lenet = functools.partial(register, preset=CIFAR10, min_size=32, paper=_PAPER)
conv = functools.partial(blocks.conv_norm_act, padding="valid", norm=None)  # no normalization in 1998


def _subsampling(x, *, name):
    """S2/S4 of the paper: 2x2 average, times a trainable coefficient, plus a bias, per map."""
    x = layers.AveragePooling2D(2, name=f"{name}_avgpool")(x)
    return layers.DepthwiseConv2D(1, name=f"{name}_scale")(x)


@lenet("lenet5_classic", summary="LeNet-5 as published: scaled tanh, trainable subsampling, sparse C3 (softmax output)",
       fixed={"classic": True})  # fmt: skip
@lenet("lenet5", summary="LeNet-5, modern reading: ReLU, max pooling, full C3", fixed={"classic": False})
def lenet5(input_shape, num_classes, *, classic):
    """LeNet-5 (Section II.B, Fig. 2); ``classic``: as in the 1998 paper (output layer: logits
    instead of RBF units), else with ReLU and max pooling, the variant most courses teach."""
    act = lecun_tanh if classic else "relu"
    inputs = layers.Input(input_shape, name="image")
    x = conv(inputs, 6, 5, activation=act, name="c1")
    if classic:
        x = blocks.apply_activation(_subsampling(x, name="s2"), act, name="s2")
        x = ConnectionTableConv2D(C3_TABLE, 5, name="c3_conv")(x)
        x = blocks.apply_activation(x, act, name="c3")
        x = blocks.apply_activation(_subsampling(x, name="s4"), act, name="s4")
    else:
        x = blocks.pool(x, "max", 2, name="s2")
        x = conv(x, 16, 5, activation=act, name="c3")
        x = blocks.pool(x, "max", 2, name="s4")
    # C5 is a convolution: on a 32x32 input its maps are 1x1, so it acts as a fully connected layer.
    features = conv(x, 120, 5, activation=act, name="c5")
    return Network(inputs, features, blocks.dense_top(num_classes, {"f6": 84}, activation=act))
