"""Shared building blocks: small functions that add a few named layers to a functional graph.

Each block takes a tensor and returns a tensor; ``name`` prefixes the names of the layers it
adds (``conv_bn_act(x, 64, 3, name="conv1")`` adds ``conv1_conv``, ``conv1_bn`` and
``conv1_relu``), so ``model.summary()`` reads like the paper's table. Later chapters add their
blocks here.
"""

import keras
from keras import layers

from cnnbook.errors import check_choice
from cnnbook.layers import BatchNormalization


def _activation_name(activation):
    return activation if isinstance(activation, str) else getattr(activation, "__name__", "act")


def apply_activation(x, activation, *, name):
    """An activation layer named ``{name}_{activation}``; ``None`` adds nothing."""
    if activation is None:
        return x
    return layers.Activation(activation, name=f"{name}_{_activation_name(activation)}")(x)


def conv_act(x, filters, kernel_size, *, strides=1, padding="valid", activation="relu", name):
    """Convolution with bias, then an activation: the pre-batch-norm convolutional layer."""
    x = layers.Conv2D(filters, kernel_size, strides=strides, padding=padding, name=f"{name}_conv")(x)
    return apply_activation(x, activation, name=name)


def conv_bn_act(x, filters, kernel_size, *, strides=1, padding="same", activation="relu", name):
    """Convolution without bias, batch normalization, then an activation (``None``: no activation).

    The bias is left out because batch normalization's shift makes it redundant.
    """
    x = layers.Conv2D(filters, kernel_size, strides=strides, padding=padding, use_bias=False, name=f"{name}_conv")(x)
    x = BatchNormalization(name=f"{name}_bn")(x)
    return apply_activation(x, activation, name=name)


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
