"""Shared building blocks: small functions that add a few named layers to a functional graph.

Each block takes a tensor and returns a tensor; ``name`` prefixes the names of the layers it
adds (``conv_norm_act(x, 64, 3, name="conv1")`` adds ``conv1_conv``, ``conv1_bn`` and
``conv1_relu``), so ``model.summary()`` reads like the paper's table.

The normalization and the activation are arguments, not variants: ``norm`` is a layer factory
called as ``norm(name=...)`` (default: `cnnbook.layers.BatchNormalization`, Keras' layer through
the backend's fused kernel; ``functools.partial(BatchNormalization, epsilon=...)`` for other
settings; ``None`` for none) and ``activation`` anything ``keras.layers.Activation`` takes
(``None`` for none). A family binds its own once, as Flax's examples do::

    conv = functools.partial(blocks.conv_norm_act, norm=None, padding="valid")  # AlexNet: conv, ReLU

Heads (`pooled_top`, `dense_top`) return the function that turns a model's last feature map
into logits; the registry (`cnnbook.models`) adds it, or leaves it out for a feature extractor.
"""

import functools
import sys

import keras
from keras import layers

from cnnbook.errors import ParameterError, check_choice, check_float
from cnnbook.layers import BatchNormalization

# keras.applications' batch-norm epsilon for ResNet and DenseNet (Caffe and PyTorch use 1e-5);
# with it, weights move between those networks and ours by layer name.
KERAS_BN_EPSILON = 1.001e-5


def check_width(width, *, maximum=4):
    """A width multiplier: a number above 0 and at most ``maximum`` (a `ParameterError` otherwise)."""
    return check_float("width", width, minimum=0, exclusive_minimum=True, maximum=maximum)


def scaled(filters, width):
    """``filters`` (a count, or a tuple of counts nested as deep as a module's branches are) times
    the width multiplier ``width``, each rounded to the nearest whole number and at least 1: how
    the reduced networks of the book are narrowed (``scaled((64, (96, 128)), 0.5) == (32, (48, 64))``)."""
    if isinstance(filters, (tuple, list)):
        return tuple(scaled(f, width) for f in filters)
    return max(1, round(filters * width))


def _activation_name(activation):
    return activation if isinstance(activation, str) else getattr(activation, "__name__", "act")


def check_activation(activation, name="activation"):
    """Return ``activation`` if Keras knows it (a name such as ``"relu"``, or a function), else
    raise a `ParameterError` that names some that exist."""
    try:
        keras.activations.get(activation)
    except (ValueError, TypeError):
        raise ParameterError(
            name, activation, "give a Keras activation: a name such as 'relu', 'gelu', 'silu', 'tanh', or a function"
        ) from None
    return activation


def apply_activation(x, activation, *, name):
    """An activation layer named ``{name}_{activation}``; ``None`` adds nothing."""
    if activation is None:
        return x
    return layers.Activation(activation, name=f"{name}_{_activation_name(activation)}")(x)


def norm_act(x, *, norm=BatchNormalization, activation="relu", name):
    """Normalization ``{name}_bn`` (``norm=None``: none), then the activation ``{name}_{activation}``."""
    if norm is not None:
        x = norm(name=f"{name}_bn")(x)
    return apply_activation(x, activation, name=name)


def conv_norm_act(
    x, filters, kernel_size, *, strides=1, padding="same", groups=1, use_bias=None, norm=BatchNormalization,
    activation="relu", preact=False, kernel_initializer="glorot_uniform", name,
):  # fmt: skip
    """A convolution ``{name}_conv`` with its normalization ``{name}_bn`` and activation.

    Args:
        padding: ``"same"`` or ``"valid"`` as in Keras, or ``"symmetric"``: a strided convolution
            gets ``kernel_size // 2`` pixels of zeros on every side (a ``{name}_pad`` layer) and
            no more, as in Caffe and PyTorch (Keras' "same" pads one pixel more at the bottom and
            right when the stride is 2); other convolutions are "same" (1x1: "valid").
        groups: grouped convolution (AlexNet's two GPUs: 2).
        use_bias: default: a bias only where no normalization is in the block (batch
            normalization's shift makes a bias before it redundant).
        norm: the normalization layer factory; ``None``: none (a convolution with bias).
        activation: the activation; ``None``: none.
        preact: ``False``: conv, norm, activation (ResNet v1's order, Section 3.4 of its paper).
            ``True``: norm, activation, conv: the pre-activation form of ResNet v2 and DenseNet.
        kernel_initializer: the convolution's (Keras' default: Glorot uniform).
    """
    use_bias = norm is None if use_bias is None else use_bias
    if preact:
        x = norm_act(x, norm=norm, activation=activation, name=name)
    kernel = (kernel_size, kernel_size) if isinstance(kernel_size, int) else tuple(kernel_size)
    if padding == "symmetric":
        if max(kernel) > 1 and strides > 1:
            pad = kernel_size // 2 if isinstance(kernel_size, int) else tuple(k // 2 for k in kernel)
            x = layers.ZeroPadding2D(pad, name=f"{name}_pad")(x)
            padding = "valid"
        else:
            padding = "same" if max(kernel) > 1 else "valid"
    x = layers.Conv2D(
        filters, kernel_size, strides=strides, padding=padding, groups=groups, use_bias=use_bias,
        kernel_initializer=kernel_initializer, name=f"{name}_conv",
    )(x)
    return x if preact else norm_act(x, norm=norm, activation=activation, name=name)


def pool(x, kind, pool_size=2, *, strides=None, padding="valid", name):
    """Max or average pooling (``kind``: ``"max"`` or ``"avg"``) named ``{name}_{kind}pool``."""
    check_choice("kind", kind, ("max", "avg"))
    layer = layers.MaxPooling2D if kind == "max" else layers.AveragePooling2D
    return layer(pool_size, strides=strides, padding=padding, name=f"{name}_{kind}pool")(x)


def dense_act(x, units, *, activation="relu", dropout=None, name):
    """Fully connected layer and activation, with dropout on its output if ``dropout`` is given."""
    x = layers.Dense(units, name=f"{name}_dense")(x)
    x = apply_activation(x, activation, name=name)
    if dropout:
        x = layers.Dropout(dropout, name=f"{name}_dropout")(x)
    return x


def global_pool(x, kind, *, name="pool"):
    """Global average or max pooling over height and width (``kind``: ``"avg"``, ``"max"``)."""
    check_choice("pooling", kind, ("avg", "max"))
    layer = layers.GlobalAveragePooling2D if kind == "avg" else layers.GlobalMaxPooling2D
    return layer(name=f"{name}_global_{kind}")(x)


def classifier(x, num_classes, *, name="predictions"):
    """The output layer: ``num_classes`` logits (no softmax; the losses take logits)."""
    return layers.Dense(num_classes, name=name)(x)


# ---------------------------------------------------------------------------- heads


def pooled_top(num_classes, *, pooling="avg", dropout=0.0):
    """The head of the networks without fully connected layers (NiN's idea, GoogLeNet onwards):
    global pooling ``pool_global_{pooling}``, dropout ``dropout`` if any, the logits."""

    def top(x):
        x = global_pool(x, pooling)
        if dropout:
            x = layers.Dropout(dropout, name="dropout")(x)
        return classifier(x, num_classes)

    return top


def dense_top(num_classes, hidden=None, *, activation="relu", dropout=None):
    """The head of LeNet, AlexNet and VGG: ``flatten``, then one fully connected layer per entry
    of ``hidden`` (``{"fc6": 4096, "fc7": 4096}``: name and units), each with ``activation`` and
    dropout on its output, then the logits."""

    def top(x):
        x = layers.Flatten(name="flatten")(x)
        for name, units in (hidden or {}).items():
            x = dense_act(x, units, activation=activation, dropout=dropout, name=name)
        return classifier(x, num_classes)

    return top


def head_or_features(inputs, features, *, include_top, pooling, top, name):
    """Finish a model: with its classifier head (``top(features)``) or as a feature extractor.

    Every registered model can be built without its head for transfer learning, the way
    ``keras.applications`` does: ``include_top=False`` returns the last feature map, optionally
    pooled (``pooling="avg"`` or ``"max"``).
    """
    if include_top:
        return keras.Model(inputs, top(features), name=name)
    if pooling is not None:
        features = global_pool(features, pooling)
    return keras.Model(inputs, features, name=name)


# ---------------------------------------------------------------------------- deep graphs


def allow_deep_graph(depth):
    """Raise Python's recursion limit, if needed, for a network of ``depth`` weighted layers.

    Keras walks a functional graph recursively, about one Python frame per layer on its longest
    path, when it builds, clones or loads a model: ResNet-1202 has 4,210 Keras layers, far beyond
    Python's default limit of 1,000 frames. About 3.5 Keras layers come with each weighted layer
    (convolution, BN, ReLU, addition or concatenation); where ``4 * depth`` frames come within
    500 of the limit, the limit becomes ``8 * depth + 1000``. It is only ever raised, and stays
    raised so that the model can later be cloned or loaded in the same process; to load such a
    model in a fresh process, call ``sys.setrecursionlimit`` first.
    """
    frames = 4 * int(depth)
    if frames + 500 > sys.getrecursionlimit():
        sys.setrecursionlimit(2 * frames + 1000)


def batch_norm(**config):
    """A `BatchNormalization` factory with ``config`` set (``batch_norm(scale=False)``)."""
    return functools.partial(BatchNormalization, **config)
