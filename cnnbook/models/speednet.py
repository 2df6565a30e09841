"""The wide VGG-style network of fast CIFAR-10 training.

David Page's "How to train your ResNet" (2018) and Keller Jordan's airbench (2024) reached 94%
CIFAR-10 test accuracy in seconds on one GPU with a short, wide network: a stem convolution,
then one block per width, each ``conv 3x3 -> 2x2 max pooling -> BN -> activation -> conv 3x3
-> BN -> activation``, global max pooling and a linear classifier. With widths 64/256/256 it has
about 2.0M parameters and 152M multiply-accumulates per image: nearly four times ResNet-20's work,
spent in few, wide layers that a CPU's matrix units run well. The book uses it as the wide net
of its CPU-training benchmark and as the base of the speedrun chapter.

Pooling before batch normalization is the speedrun order (it normalizes four times fewer
values); the convolutions have no bias, as batch normalization follows each.
"""

from keras import layers

from cnnbook import blocks
from cnnbook.errors import ParameterError, check_int
from cnnbook.models import CIFAR10, Network, register

_PAPER = "Page (2018), How to train your ResNet; Jordan (2024), airbench: 94% on CIFAR-10 in 3.29 seconds"


@register(
    "speednet",
    preset=CIFAR10,
    min_size=8,
    paper=_PAPER,
    summary="Wide VGG-style net of fast CIFAR-10 training: stem, three conv-pool blocks of widths 64/256/256",
)
def speednet(input_shape, num_classes, *, widths=(64, 256, 256), stem=32, activation="relu"):
    """Stem conv-BN-activation of ``stem`` maps, then per width ``conv -> max pool -> BN ->
    activation -> conv -> BN -> activation``; global max pooling and the classifier."""
    if not isinstance(widths, (tuple, list)) or not widths:
        raise ParameterError("widths", widths, "give the width of each block as a tuple of whole numbers, e.g. (64, 256, 256)")
    widths = tuple(check_int("widths", w, minimum=1) for w in widths)
    stem = check_int("stem", stem, minimum=1)
    activation = blocks.check_activation(activation)
    inputs = layers.Input(input_shape, name="image")
    x = blocks.conv_norm_act(inputs, stem, 3, activation=activation, name="stem")
    for index, width in enumerate(widths, start=1):
        name = f"block{index}"
        x = blocks.conv_norm_act(x, width, 3, norm=None, activation=None, use_bias=False, name=f"{name}_1")
        x = blocks.pool(x, "max", 2, name=f"{name}_1")  # before the normalization: the speedrun order
        x = blocks.norm_act(x, activation=activation, name=f"{name}_1")
        x = blocks.conv_norm_act(x, width, 3, activation=activation, name=f"{name}_2")
    return Network(inputs, x, blocks.pooled_top(num_classes, pooling="max"))
