"""VGG: Simonyan and Zisserman (2015), "Very deep convolutional networks for large-scale image
recognition", ICLR, Section 2 (architecture, Tables 1 and 2), Section 3.1 (training) and
Section 4.1 (results of the configurations, Table 3).

The idea is one rule applied again and again: stacks of 3x3 convolutions with stride 1 and
1 pixel of padding (so a stack keeps the size of its maps), each followed by ReLU; a 2x2 max
pooling with stride 2 after each of five stacks halves the maps; the widths start at 64 and
double after each pooling until they reach 512; then fc6 and fc7 of 4096 units (ReLU, dropout 0.5 on their
outputs, Section 3.1) and the logits. Two stacked 3x3 layers see a 5x5 window, three see 7x7,
with fewer weights (27C^2 against 49C^2 for one 7x7 layer of C maps) and more ReLUs between
them (Section 2.3).

Table 1 of the paper lists six configurations, reproduced in `CONFIGS` in its own notation
("conv3-64": a 3x3 convolution with 64 maps; "conv1-256": a 1x1 convolution; "LRN": local
response normalization with AlexNet's constants, Section 2.1):

    name        configuration   weight layers   parameters    paper (Table 2, millions)
    vgg11       A               11              132,863,336   133
    vgg11_lrn   A-LRN           11              132,863,336   133
    vgg13       B               13              133,047,848   133
    vgg16_c     C               16              133,638,952   134
    vgg16       D               16              138,357,544   138
    vgg19       E               19              143,667,240   144

C and D both have 16 weight layers: C puts a 1x1 convolution as the third layer of stacks 3, 4
and 5 ("to increase the non-linearity of the decision function without affecting the receptive
fields", Section 2.3), D a 3x3 one; D, the network called VGG-16, was better (Table 3). A-LRN
adds one LRN layer after the first convolution's ReLU; it did not help (Section 4.1). Every model
is built by one function (`vgg_block`, one call per stack) from `CONFIGS`, at 224x224x3 with
1000 classes, where pool5 gives 7x7x512 maps and fc6 has 25,088 inputs. The paper's
"dense" evaluation, which turns fc6 into a 7x7 convolution and fc7/fc8 into 1x1 convolutions
to slide the network over larger images (Section 3.2), is not built here.

``vgg16_cifar`` is the usual CIFAR-10 adaptation (as in kuangliu/pytorch-cifar's ``VGG('VGG16')``),
not a network of the paper: configuration D's 13 convolutions, each followed by batch
normalization and ReLU, the same five max poolings (32x32 -> 1x1x512), then one linear layer from
the 512 features to the logits, without fc6 and fc7. Batch normalization came later (Ioffe and
Szegedy, 2015) and is not in the VGG paper; it makes the 13 stacked convolutions easy to train
from scratch at a high learning rate (the paper initialized its deeper networks with layers of
a trained configuration A, and notes that Glorot and Bengio's random initialization, found after
submission, also works, Section 3.1). The convolutions have no bias (batch
normalization's shift replaces it): 14,724,042 trainable parameters, which are kuangliu's
14,728,266 less the 4,224 redundant convolution biases. ``vgg11_cifar``, ``vgg13_cifar`` and
``vgg19_cifar`` are configurations A, B and E in the same form. Options of all four: ``width``
multiplies every number of maps; ``batch_norm=False`` gives plain convolutions with bias;
``init="paper"`` draws every weight from the paper's N(0, 0.01^2) instead of Keras' Glorot
uniform.

Implementation notes (mistakes often found in VGG copies in Keras):

- Typos in kernel shapes, such as ``Conv2D(256, (3, 2))``: the model still builds and trains;
  only a layer-by-layer comparison of the weight shapes (or the parameter count) shows it.
- Configuration C built with 3x3 layers (then it is D) or without its 1x1 layers (then it is B).
- "valid" padding: the maps shrink by 2 pixels at every layer and pool5 is no longer 7x7.
- A missing fifth pooling (fc6 then has 100,352 inputs and 411 million weights) or an extra one.
- LRN in every configuration, or after each stack: only A-LRN has one, after its first layer.
- Dropout missing (``keras.applications.VGG16`` has none: it is meant for the released weights,
  not for training), or after fc8; a softmax inside the model with a loss that expects logits.
- Calling a network with batch normalization "VGG-16" without saying so: it is a later variant.
- Counting layers: VGG-16 has 13 convolutional and 3 fully connected weight layers; poolings
  are not counted.
"""

import functools

from keras import layers

from cnnbook import blocks
from cnnbook.errors import check_bool, check_choice, check_float
from cnnbook.layers import BatchNormalization, LocalResponseNormalization
from cnnbook.models import CIFAR10, IMAGENET, Network, register

_PAPER = "Simonyan and Zisserman (2015), Very deep convolutional networks for large-scale image recognition"

# Table 1 of the paper: for each configuration, its five stacks (each ends with a 2x2 max pool).
CONFIGS = {
    "A": (("conv3-64",), ("conv3-128",), ("conv3-256",) * 2, ("conv3-512",) * 2, ("conv3-512",) * 2),
    "A-LRN": (("conv3-64", "LRN"), ("conv3-128",), ("conv3-256",) * 2, ("conv3-512",) * 2, ("conv3-512",) * 2),
    "B": (("conv3-64",) * 2, ("conv3-128",) * 2, ("conv3-256",) * 2, ("conv3-512",) * 2, ("conv3-512",) * 2),
    "C": (
        ("conv3-64",) * 2,
        ("conv3-128",) * 2,
        ("conv3-256", "conv3-256", "conv1-256"),
        ("conv3-512", "conv3-512", "conv1-512"),
        ("conv3-512", "conv3-512", "conv1-512"),
    ),
    "D": (("conv3-64",) * 2, ("conv3-128",) * 2, ("conv3-256",) * 3, ("conv3-512",) * 3, ("conv3-512",) * 3),
    "E": (("conv3-64",) * 2, ("conv3-128",) * 2, ("conv3-256",) * 4, ("conv3-512",) * 4, ("conv3-512",) * 4),
}

def _parse(layer):
    """``"conv3-64"`` -> ``(3, 64)``: kernel size and number of maps, in Table 1's notation."""
    kind, filters = layer.split("-")
    return int(kind.removeprefix("conv")), int(filters)


# The paper's initialization of its configuration A (Section 3.1): weights from N(0, 0.01^2),
# zero biases. Deeper networks started from A's trained layers instead.
PAPER_INIT = {"class_name": "RandomNormal", "config": {"mean": 0.0, "stddev": 0.01}}
INITS = ("glorot", "paper")


def vgg_block(x, layers_spec, *, batch_norm=False, width=1.0, kernel_initializer="glorot_uniform", name):
    """One VGG stack: the layers of ``layers_spec`` (Table 1 notation), then 2x2 max pooling.

    Convolutions keep the maps' size ("same" padding: 1 pixel for 3x3) and are named
    ``{name}_{i}`` (``conv3_1``, ``conv3_2``...; block ``conv3`` ends with ``pool3``); an ``"LRN"``
    entry normalizes the output of the convolution before it (``conv1_1_lrn``). With
    ``batch_norm``, every convolution is followed by batch normalization (no bias), then ReLU.
    ``width`` multiplies the numbers of maps.
    """
    norm = BatchNormalization if batch_norm else None
    index = 0
    for layer in layers_spec:
        if layer == "LRN":
            x = LocalResponseNormalization(name=f"{name}_{index}_lrn")(x)
            continue
        index += 1
        kernel_size, filters = _parse(layer)
        x = blocks.conv_norm_act(x, max(1, round(filters * width)), kernel_size, norm=norm,
                                 kernel_initializer=kernel_initializer, name=f"{name}_{index}")  # fmt: skip
    return blocks.pool(x, "max", 2, strides=2, name=name.replace("conv", "pool"))


def vgg_features(inputs, config, *, batch_norm=False, width=1.0, kernel_initializer="glorot_uniform"):
    """The five stacks of configuration ``config`` (a key of `CONFIGS`): conv1_1 ... pool5."""
    x = inputs
    for number, layers_spec in enumerate(CONFIGS[config], start=1):
        x = vgg_block(x, layers_spec, batch_norm=batch_norm, width=width, kernel_initializer=kernel_initializer,
                      name=f"conv{number}")  # fmt: skip
    return x


imagenet = functools.partial(register, preset=IMAGENET, min_size=32, paper=_PAPER)


@imagenet("vgg11", summary="VGG configuration A of Table 1: 11 weight layers", fixed={"config": "A"})
@imagenet("vgg11_lrn", summary="VGG configuration A-LRN of Table 1: 11 weight layers", fixed={"config": "A-LRN"})
@imagenet("vgg13", summary="VGG configuration B of Table 1: 13 weight layers", fixed={"config": "B"})
@imagenet("vgg16_c", summary="VGG configuration C of Table 1: 16 weight layers", fixed={"config": "C"})
@imagenet("vgg16", summary="VGG configuration D of Table 1: 16 weight layers", fixed={"config": "D"})
@imagenet("vgg19", summary="VGG configuration E of Table 1: 19 weight layers", fixed={"config": "E"})
def vgg(input_shape, num_classes, *, config):
    """VGG, configuration ``config`` of Simonyan and Zisserman (2015), Table 1: the five stacks,
    then fc6 and fc7 of 4096 units (ReLU, dropout 0.5 on their outputs, Section 3.1), logits."""
    inputs = layers.Input(input_shape, name="image")
    features = vgg_features(inputs, config)
    return Network(inputs, features, blocks.dense_top(num_classes, {"fc6": 4096, "fc7": 4096}, dropout=0.5))


cifar = functools.partial(
    register, preset=CIFAR10, min_size=32, paper=_PAPER + " (the configuration with batch normalization, for CIFAR-10)"
)


@cifar("vgg11_cifar", summary="VGG configuration A (8 convolutions) with batch normalization, one linear layer (CIFAR-10)",
       fixed={"config": "A"})
@cifar("vgg13_cifar", summary="VGG configuration B (10 convolutions) with batch normalization, one linear layer (CIFAR-10)",
       fixed={"config": "B"})
@cifar("vgg16_cifar", summary="VGG-16's 13 convolutions with batch normalization, 5 max pools, one linear layer (CIFAR-10)",
       fixed={"config": "D"})
@cifar("vgg19_cifar", summary="VGG configuration E (16 convolutions) with batch normalization, one linear layer (CIFAR-10)",
       fixed={"config": "E"})
def vgg_cifar(input_shape, num_classes, *, config, batch_norm=True, width=1.0, init="glorot"):  # fmt: skip
    """A VGG configuration's convolutions with batch normalization, then a linear classifier.

    Args:
        batch_norm: True: batch normalization after every convolution (the usual adaptation).
            False: plain convolutions with bias and ReLU, as in the paper, for comparison (the
            paper did not train its deeper networks from scratch: it initialized them from the
            layers of the trained configuration A, Section 3.1).
        width: multiplies the numbers of maps (64 ... 512).
        init: ``"glorot"``: Keras' default (Glorot and Bengio's uniform initialization, which the
            paper notes after submission also trains deep nets without pre-training). ``"paper"``:
            the paper's N(0, 0.01^2) for every weight, biases 0.
    """
    batch_norm = check_bool("batch_norm", batch_norm)
    width = check_float("width", width, minimum=0, exclusive_minimum=True, maximum=8)
    check_choice("init", init, INITS)
    initializer = PAPER_INIT if init == "paper" else "glorot_uniform"
    inputs = layers.Input(input_shape, name="image")
    features = vgg_features(inputs, config, batch_norm=batch_norm, width=width, kernel_initializer=initializer)

    def top(x):
        x = layers.Flatten(name="flatten")(x)
        return layers.Dense(num_classes, kernel_initializer=initializer, name="predictions")(x)

    return Network(inputs, features, top)
