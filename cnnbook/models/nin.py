"""Network in Network: Lin, Chen and Yan (2014), "Network in network", ICLR, Section 3
(mlpconv layers, Section 3.1; global average pooling, Section 3.2; the network, Section 3.3 and
Figure 2) and Section 4 (the networks of the experiments, Section 4.1; CIFAR-10, Section 4.2).

Two ideas. An *mlpconv* layer replaces the linear filter of a convolution by a small multilayer
perceptron slid over the image: a convolution followed by 1x1 convolutions, each with a ReLU
(the 1x1 convolutions are the MLP's layers, shared across positions: "cross channel parametric
pooling"). And the classifier is no fully connected layer: the last mlpconv layer produces one
map per class, and *global average pooling* of each map gives that class's score, which has no
parameters to overfit and keeps a map per class that can be looked at.

The paper's CIFAR-10 network is "three stacked mlpconv layers", each followed by pooling that
halves the maps, with dropout on the outputs of all mlpconv layers but the last (Section 4.1).
The paper does not list the sizes of its layers; those used here are the authors' released Caffe
model's (the NIN CIFAR-10 model of the Caffe Model Zoo, gist mavenlin/e56253735ef32c3c296d,
reported there at 89.6% accuracy on its validation set), as ported layer for layer by several
independent reimplementations:

    mlpconv1  192 5x5, 160 1x1, 96 1x1   32x32   max pool 3x3/2 -> 16x16, dropout 0.5
    mlpconv2  192 5x5, 192 1x1, 192 1x1  16x16   avg pool 3x3/2 ->  8x8,  dropout 0.5
    mlpconv3  192 3x3, 192 1x1, 10 1x1    8x8    global average pooling -> 10 scores

Every convolution keeps its maps' size (padding 2 for 5x5, 1 for 3x3) and is followed by a ReLU,
the 10-map layer included: in the released model the class maps pass through a ReLU before the
averaging, so every score is >= 0 (the softmax that follows does not mind: it only sees
differences). The pooling windows of 3 with stride 2 take 32 to 16 and 16 to 8 because Caffe
rounds the number of windows up; Keras' "same" pooling gives the same windows (the last one runs
one pixel past the border, which max pooling ignores and average pooling leaves out of the mean,
as Caffe does). The released model pools the second time by averaging where the paper's text
says max pooling; the model's average is used here. 966,986 parameters for 10 classes.

``include_top=False`` returns the 8x8x192 maps of mlpconv3 without its last 1x1 layer, which is
the classifier (``predictions_conv``: one map per class, then ``predictions_relu`` and the global
average ``predictions_global_avg`` that gives the logits). A new head for another task is then a
1x1 convolution to its classes and a global average, as in the paper, or ``pooling="avg"`` and a
dense layer (the same thing, computed in the other order, without the ReLU).

Initialization is left to Keras' defaults (Glorot uniform weights, zero biases); the Caffe model
drew weights from Gaussians with hand-set standard deviations.

Implementation notes (mistakes often found in NIN copies in Keras):

- Fully connected layers after the global average (the point of the paper is to have none), or a
  flatten and a dense layer in place of the global average.
- 1x1 convolutions without a ReLU (then the MLP is linear and collapses into the convolution
  before it), or "mlpconv" blocks of 3x3 convolutions.
- "valid" pooling (15x15 and 7x7 maps instead of the released model's 16x16 and 8x8).
- Dropout after the last mlpconv layer, or before pooling instead of after it.
- A softmax applied to the class maps before averaging, or inside the model together with a
  loss that expects logits.
- In PyTorch ports, ``nn.AvgPool2d(3, 2, padding=1)`` counts the padding in the mean
  (``count_include_pad=True`` by default), unlike Caffe and Keras.
"""

import functools

from keras import layers

from cnnbook import blocks
from cnnbook.errors import check_bool, check_choice, check_dropout
from cnnbook.layers import BatchNormalization
from cnnbook.models import CIFAR10, Network, register

_PAPER = "Lin, Chen and Yan (2014), Network in network"

conv = functools.partial(blocks.conv_norm_act, padding="same", norm=None)  # every convolution: bias, ReLU
HEADS = ("gap", "dense")


def mlpconv_block(x, filters, kernel_size, mlp_filters, *, norm=None, name):
    """An mlpconv layer: a ``kernel_size`` convolution to ``filters`` maps, then one 1x1
    convolution per entry of ``mlp_filters``, each followed by ReLU; sizes are kept ("same").
    ``norm``: a normalization after every convolution, before its ReLU (None: none, as in the paper).

    Layers: ``{name}_conv``, ``{name}_relu``, then ``{name}_mlp1_conv``, ``{name}_mlp1_relu``...
    """
    x = conv(x, filters, kernel_size, norm=norm, name=name)
    for index, units in enumerate(mlp_filters, start=1):
        x = conv(x, units, 1, padding="valid", norm=norm, name=f"{name}_mlp{index}")
    return x


@register(
    "nin",
    preset=CIFAR10,
    min_size=1,
    paper=_PAPER,
    summary="Network in Network for CIFAR-10: 3 mlpconv layers, dropout, global average pooling, no FC layer",
)
def nin(input_shape, num_classes, *, dropout=0.5, batch_norm=False, width=1.0, head="gap"):
    """The CIFAR-10 Network in Network of Lin et al. (2014), widths of the released Caffe model.

    Args:
        dropout: dropout rate after the first two mlpconv layers' pooling (0: none). The paper
            shows that this dropout lowers the test error (Section 4.2).
        batch_norm: batch normalization after every convolution but the class maps' (a later
            addition, Ioffe and Szegedy, 2015), which lets the network train at a high learning rate.
        width: multiplies the numbers of maps of the mlpconv layers (192, 160, 96, ...; the class
            maps stay one per class).
        head: ``"gap"``: the paper's classifier, a 1x1 convolution to one map per class and the
            global average of each map. ``"dense"``: the classifier the paper argues against, a
            fully connected layer on the flattened maps of mlpconv3 (Section 4.6).
    """
    dropout = check_dropout(dropout)
    norm = BatchNormalization if check_bool("batch_norm", batch_norm) else None
    width = blocks.check_width(width, maximum=8)
    check_choice("head", head, HEADS)

    maps = functools.partial(blocks.scaled, width=width)

    inputs = layers.Input(input_shape, name="image")
    x = mlpconv_block(inputs, maps(192), 5, (maps(160), maps(96)), norm=norm, name="mlpconv1")
    x = blocks.pool(x, "max", 3, strides=2, padding="same", name="mlpconv1")
    if dropout:
        x = layers.Dropout(dropout, name="mlpconv1_dropout")(x)
    x = mlpconv_block(x, maps(192), 5, (maps(192), maps(192)), norm=norm, name="mlpconv2")
    x = blocks.pool(x, "avg", 3, strides=2, padding="same", name="mlpconv2")
    if dropout:
        x = layers.Dropout(dropout, name="mlpconv2_dropout")(x)
    features = mlpconv_block(x, maps(192), 3, (maps(192),), norm=norm, name="mlpconv3")

    def gap_top(x):
        # mlpconv3's last 1x1 layer: one map per class, then the global average of each map.
        x = conv(x, num_classes, 1, padding="valid", name="predictions")
        return blocks.global_pool(x, "avg", name="predictions")

    return Network(inputs, features, gap_top if head == "gap" else blocks.dense_top(num_classes))
