"""A small plain convolutional network with its normalization, activation and their order as
options: the network of the batch-normalization chapter.

Ioffe and Szegedy (2015), "Batch normalization: accelerating deep network training by reducing
internal covariate shift", ICML 2015 (arXiv:1502.03167), measured their claims on an MNIST
multilayer perceptron (Figure 1) and on Inception (Figures 2 and 3). At CIFAR-10 scale and on a
2-core CPU, the book measures them on ``simple_cnn``: three stages of two 3x3 convolutions
(``width``, ``2 * width`` and ``4 * width`` maps; 32, 64 and 128 by default) with 2x2 max pooling
between the stages, then global average pooling and a linear classifier. About 0.29M parameters
and 38M multiply-accumulates per image at the default width, so that a dozen short runs fit the
chapter's budget.

Options:

- ``norm="batch"`` adds batch normalization after each convolution; ``None`` leaves it out.
- ``norm_position="before"`` is the paper's ``z = g(BN(Wu))`` (Section 3.2): normalization before
  the activation; ``"after"`` puts it after, ``g(Wu + b)`` then BN, a common variant.
- ``conv_bias=None`` gives a convolution a bias only where batch normalization does not follow it
  directly ("the bias b can be ignored since its effect will be canceled by the subsequent mean
  subtraction", Section 3.2); ``True`` or ``False`` forces it.
- ``activation`` is any Keras activation (the chapter trains ``"sigmoid"`` as well as ``"relu"``).
- ``dropout`` (0 to below 1) drops that fraction of the pooled features before the classifier
  (the overfitting chapter's regularizer); 0, the default, adds no layer.

Layers are named ``conv{stage}_{i}_conv``, ``conv{stage}_{i}_bn`` and ``conv{stage}_{i}_{activation}``,
``pool{stage}`` between stages, then ``pool_global_avg``, ``dropout`` (if any) and ``predictions``.
"""

from keras import layers

from cnnbook import blocks
from cnnbook.errors import check_bool, check_choice, check_float, check_int
from cnnbook.layers import BatchNormalization
from cnnbook.models import CIFAR10, Network, register

_PAPER = "Ioffe and Szegedy (2015), Batch normalization, ICML (arXiv:1502.03167)"
NORMS = ("batch", None)
POSITIONS = ("before", "after")


@register(
    "simple_cnn",
    preset=CIFAR10,
    min_size=8,
    paper=_PAPER,
    summary="Small plain CNN (3 stages of two 3x3 convs) with the normalization and its position as options",
)
def simple_cnn(input_shape, num_classes, *, width=32, norm="batch", norm_position="before", activation="relu",
               conv_bias=None, dropout=0.0):  # fmt: skip
    """Six 3x3 convolutions in three stages (``width``, 2x, 4x maps), max pooling between them,
    global average pooling, a linear classifier; see the module docstring for the options."""
    width = check_int("width", width, minimum=1)
    check_choice("norm", norm, NORMS)
    check_choice("norm_position", norm_position, POSITIONS)
    activation = blocks.check_activation(activation)
    if conv_bias is not None:
        check_bool("conv_bias", conv_bias)
    dropout = check_float("dropout", dropout, minimum=0.0, maximum=0.999)
    use_bias = (norm is None or norm_position == "after") if conv_bias is None else conv_bias
    inputs = layers.Input(input_shape, name="image")
    x = inputs
    for stage in (1, 2, 3):
        if stage > 1:
            x = layers.MaxPooling2D(2, name=f"pool{stage - 1}")(x)
        for i in (1, 2):
            name = f"conv{stage}_{i}"
            x = layers.Conv2D(width * 2 ** (stage - 1), 3, padding="same", use_bias=use_bias, name=f"{name}_conv")(x)
            if norm is not None and norm_position == "before":
                x = BatchNormalization(name=f"{name}_bn")(x)
            x = blocks.apply_activation(x, activation, name=name)
            if norm is not None and norm_position == "after":
                x = BatchNormalization(name=f"{name}_bn")(x)
    return Network(inputs, x, blocks.pooled_top(num_classes, dropout=dropout))
