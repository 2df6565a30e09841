"""AlexNet and ZFNet, the two ImageNet winners built from five convolutions and three fully
connected layers, and a reduced AlexNet for CIFAR-10.

AlexNet: Krizhevsky, Sutskever and Hinton (2012), "ImageNet classification with deep
convolutional neural networks", NIPS 25, Section 3 (ReLU 3.1, two GPUs 3.2, local response
normalization 3.3, overlapping pooling 3.4, the architecture 3.5 and Figure 2) and Section 4.2
(dropout). Layers on a 227x227x3 input (see below for 224 against 227):

    conv1  96 kernels 11x11x3, stride 4       -> 55x55x96   ReLU, LRN, max pool 3x3/2 -> 27x27x96
    conv2  256 kernels 5x5x48  (2 groups)     -> 27x27x256  ReLU, LRN, max pool 3x3/2 -> 13x13x256
    conv3  384 kernels 3x3x256 (sees all)     -> 13x13x384  ReLU
    conv4  384 kernels 3x3x192 (2 groups)     -> 13x13x384  ReLU
    conv5  256 kernels 3x3x192 (2 groups)     -> 13x13x256  ReLU, max pool 3x3/2 -> 6x6x256
    fc6    4096, ReLU, dropout 0.5      fc7  4096, ReLU, dropout 0.5      fc8  1000 logits

The network was split over two GPUs of 3 GB: each GPU held half of the kernels of every layer,
and "the kernels of the second, fourth, and fifth convolutional layers are connected only to
those kernel maps in the previous layer which reside on the same GPU" while conv3 and the fully
connected layers see both halves (Section 3.5). On one device this is exactly a grouped
convolution with ``groups=2``: the first half of the output maps sees the first half of the input
maps, the second half the second (the kernel depths 48 and 192 of the paper are 96/2 and 384/2).
With the grouping, the parameters are 60,965,224, the "60 million parameters" of the abstract;
``grouped=False`` gives the single-device network in which every kernel sees every map:
62,378,344 parameters.

224 or 227? The paper (Section 3.5 and Figure 2) feeds 224x224x3 images to conv1 (11x11,
stride 4) and draws 55x55 maps after it, but (224 - 11)/4 + 1 = 54.25: without padding a 224
input gives 54x54 maps (and 5x5x256 after pool5, so fc6 would have 6,400 inputs, not 9,216);
with 2 pixels of padding on each side it gives 55. A 227x227 input gives exactly 55 with no
padding, and every later size of the paper (27, 13, 6) follows; Caffe's reference AlexNet also
crops 227x227 images. ``alexnet`` is registered at 227x227x3 and uses no padding in conv1;
conv2 to conv5 keep their maps' size ("same" padding: 2 pixels for 5x5, 1 for 3x3), as the
paper's sizes require. Section 3.5 also counts the neurons of the layers: 186,624 = 27x27x256 for
conv2, 64,896 = 13x13x384 for conv3 and conv4, 43,264 = 13x13x256 for conv5; its first number,
253,440, matches neither 55x55x96 = 290,400 nor 54x54x96.

Local response normalization (Section 3.3): after the ReLU of conv1 and conv2, each activity is
divided by ``(k + alpha * sum of the squares of the n neighbouring maps' activities at the same
position) ** beta`` with k = 2, n = 5, alpha = 1e-4, beta = 0.75, then max pooling follows
("max-pooling layers ... follow both response-normalization layers", Section 3.5). The paper does
not say whether a window could reach from one GPU's maps into the other's; here it runs over all
the maps of the layer, which changes only the four maps next to the middle and adds no parameters.

Initialization is left to Keras' defaults (Glorot uniform weights, zero biases); the paper drew
weights from N(0, 0.01^2) and set the biases of conv2, conv4, conv5 and the hidden fully connected
layers to 1 (Section 5), a choice tied to its learning-rate schedule.

ZFNet: Zeiler and Fergus (2014), "Visualizing and understanding convolutional networks", ECCV:
Figure 3 (the network), the architecture selection of their visualization section, and Table 2
(ImageNet 2012 results). Their visualizations of AlexNet's first layers showed dead and high-frequency filters and aliasing
from the stride of 4, so they made conv1's filters 7x7 instead of 11x11 and its stride 2 instead
of 4; Figure 3 also gives conv2 a stride of 2. The sparse connections of AlexNet's two-GPU split
are replaced by dense ones (no grouping).
Layers on a 224x224x3 input, with the map sizes of Figure 3:

    conv1  96 kernels 7x7, stride 2      -> 110x110x96    ReLU, max pool 3x3/2 -> 55x55, LRN
    conv2  256 kernels 5x5, stride 2     -> 26x26x256     ReLU, max pool 3x3/2 -> 13x13, LRN
    conv3, conv4, conv5  3x3             -> 13x13         ReLU; max pool 3x3/2 after conv5 -> 6x6
    fc6 4096, fc7 4096 (ReLU, dropout 0.5), then the logits

Figure 3 draws 384, 384 and 256 maps in conv3-conv5 (``wide=False``). ``zfnet`` (``wide=True``,
the default) is the best single network of their Table 2, "1 convnet as per Fig. 3 but with
layers 3,4,5: 512, 1024, 512 maps" (row (b)), the configuration usually called ZFNet in courses.
Figure 3's sizes fix the padding, which the paper does not state: 110 = (224 + 2 - 7)//2 + 1
needs one pixel of zero padding around the input of conv1; 55 from 110 and 13 from 26 need
pooling windows that may run over the border (Keras "same" pooling, Caffe's rounding up); 26 from
55 needs no padding in conv2 ((55 - 5)//2 + 1); 6 from 13 needs none in the last pooling. Note
the order: ZFNet pools and then normalizes ("(ii) pooled ... and (iii) contrast normalized across
feature maps", Figure 3 caption), AlexNet normalizes and then pools. The paper gives no constants
for its normalization; AlexNet's are used. Its training also renormalized every convolutional
filter whose RMS exceeded 0.1 back to 0.1 (training details): a training rule, not part of the
model.

``alexnet_cifar`` (not from a paper) keeps AlexNet's plan, five convolutions with AlexNet's
widths (96, 256, 384, 384, 256), three overlapping 3x3/2 max poolings after conv1, conv2 and
conv5, two dropout-regularized hidden fully connected layers, and scales it to 32x32 images:
conv1 is 5x5 with stride 1 (11x11 with stride 4 would leave 6x6 maps after one layer), conv2 5x5,
conv3-conv5 3x3, all with "same" padding; poolings keep halving (32, 16, 8, 4); the hidden layers
have 512 units instead of 4096 (a 4x4x256 input, not 6x6x256); there is no grouping; and batch
normalization (Ioffe and Szegedy, 2015, three years after AlexNet) follows every convolution in
place of local response normalization, which lets SGD train the network at a high learning rate
without the paper's careful initialization. About 6.1 million parameters.

Implementation notes (mistakes often found in AlexNet copies in Keras):

- 224x224 inputs with an unpadded 11x11/4 conv1: maps of 54, 26, 12 and 5 instead of 55, 27, 13
  and 6, and fc6 with 6,400 inputs; or "same" padding everywhere, which gives 56x56 after conv1
  and 28/14/7 after the poolings. Pick 227 (or 224 with 2 pixels of padding) and check the sizes.
- LRN before the ReLU, or after the pooling (Caffe's reference "CaffeNet" pools before it
  normalizes, a documented departure from the paper), or LRN after every convolution.
- LRN constants moved between conventions: Caffe divides alpha by n (``alpha/n * sum``) and calls
  the window ``local_size=5``; ``tf.nn.local_response_normalization`` multiplies by alpha and
  takes the half-width ``depth_radius=2`` and ``bias=k=2``. ``depth_radius=5`` or Caffe's
  ``alpha`` in TensorFlow's formula changes the normalization.
- No grouping (62,378,344 parameters, not 60,965,224), or grouping in conv3 too (conv3 sees both
  GPUs' maps).
- 64, 192, 384, 256, 256 kernels: the later one-GPU variant of Krizhevsky (2014), "One weird
  trick for parallelizing convolutional neural networks", which torchvision's ``alexnet`` follows,
  not the 2012 network.
- Dropout after the convolutions or before fc6 instead of on fc6's and fc7's outputs; a softmax
  inside the model together with a loss that expects logits.
"""

import functools

from keras import layers

from cnnbook import blocks
from cnnbook.errors import ParameterError, check_bool, check_choice, check_dropout
from cnnbook.layers import BatchNormalization, ChannelSlice, LocalResponseNormalization
from cnnbook.models import CIFAR10, IMAGENET, Network, register

_ALEXNET_PAPER = (
    "Krizhevsky, Sutskever and Hinton (2012), ImageNet classification with deep convolutional neural networks"
)
_ZFNET_PAPER = "Zeiler and Fergus (2014), Visualizing and understanding convolutional networks"

conv = functools.partial(blocks.conv_norm_act, padding="valid", norm=None)  # convolution with bias, ReLU


def lrn(x, *, name):
    """AlexNet's local response normalization (k=2, n=5, alpha=1e-4, beta=0.75), ``{name}_lrn``."""
    return LocalResponseNormalization(name=f"{name}_lrn")(x)


def _fc_top(num_classes, units=4096, dropout=0.5):
    """fc6 and fc7 (ReLU, dropout on their outputs, Section 4.2) and the logits, after flattening."""
    return blocks.dense_top(num_classes, {"fc6": units, "fc7": units}, dropout=dropout)


@register(
    "alexnet",
    preset=IMAGENET.resized(227),
    min_size=67,
    paper=_ALEXNET_PAPER,
    summary="AlexNet as published: 5 conv + 3 FC, ReLU, LRN, overlapping pooling, dropout, 2-GPU grouping",
)
def alexnet(input_shape, num_classes, *, grouped=True):
    """AlexNet (Krizhevsky et al., 2012, Section 3.5 and Figure 2) on 227x227 images.

    Args:
        grouped: True: conv2, conv4 and conv5 are grouped convolutions (``groups=2``), the
            paper's two-GPU network (60,965,224 parameters). False: one tower in which every
            kernel sees all maps of the layer below (62,378,344 parameters).
    """
    groups = 2 if check_bool("grouped", grouped) else 1
    inputs = layers.Input(input_shape, name="image")
    x = conv(inputs, 96, 11, strides=4, name="conv1")
    x = lrn(x, name="conv1")
    x = blocks.pool(x, "max", 3, strides=2, name="conv1")
    x = conv(x, 256, 5, padding="same", groups=groups, name="conv2")
    x = lrn(x, name="conv2")
    x = blocks.pool(x, "max", 3, strides=2, name="conv2")
    x = conv(x, 384, 3, padding="same", name="conv3")
    x = conv(x, 384, 3, padding="same", groups=groups, name="conv4")
    x = conv(x, 256, 3, padding="same", groups=groups, name="conv5")
    features = blocks.pool(x, "max", 3, strides=2, name="conv5")
    return Network(inputs, features, _fc_top(num_classes))


@register(
    "zfnet",
    preset=IMAGENET,
    min_size=53,
    paper=_ZFNET_PAPER,
    summary="ZFNet: AlexNet with a 7x7/2 conv1, a stride-2 conv2, no grouping; wide conv3-5 (512, 1024, 512)",
)
def zfnet(input_shape, num_classes, *, wide=True):
    """ZFNet (Zeiler and Fergus, 2014, Figure 3 and Table 2) on 224x224 images.

    Args:
        wide: True: conv3, conv4 and conv5 have 512, 1024 and 512 maps, the paper's best single
            network (Table 2, row (b)). False: 384, 384 and 256 maps, the network of Figure 3.
    """
    widths = (512, 1024, 512) if check_bool("wide", wide) else (384, 384, 256)
    inputs = layers.Input(input_shape, name="image")
    x = layers.ZeroPadding2D(1, name="conv1_pad")(inputs)
    x = conv(x, 96, 7, strides=2, name="conv1")
    x = blocks.pool(x, "max", 3, strides=2, padding="same", name="conv1")
    x = lrn(x, name="conv1")
    x = conv(x, 256, 5, strides=2, name="conv2")
    x = blocks.pool(x, "max", 3, strides=2, padding="same", name="conv2")
    x = lrn(x, name="conv2")
    for index, filters in enumerate(widths, start=3):
        x = conv(x, filters, 3, padding="same", name=f"conv{index}")
    features = blocks.pool(x, "max", 3, strides=2, name="conv5")
    return Network(inputs, features, _fc_top(num_classes))


NORMS = ("batch", "lrn", None)  # alexnet_cifar's choices of normalization


@register(
    "alexnet_cifar",
    preset=CIFAR10,
    min_size=1,
    paper=_ALEXNET_PAPER + " (reduced for 32x32 images, with batch normalization)",
    summary="AlexNet scaled to CIFAR-10: 5 conv (BN) with AlexNet's widths, 3 overlapping max pools, 2 FC of 512",
)
def alexnet_cifar(
    input_shape, num_classes, *, width=1.0, activation="relu", norm="batch", overlap=True, dropout=0.5,
    grouped=False, conv1=(5, 1),
):  # fmt: skip
    """A reduced AlexNet for 32x32 images, with batch normalization (see the module docstring).

    Its options are the choices AlexNet's paper argues for, so that each can be taken back:

    Args:
        width: multiplies the numbers of maps (96, 256, 384, 384, 256) and of hidden units (512).
        activation: of every layer (the paper: ReLU, against tanh in its Figure 1).
        norm: ``"batch"``: batch normalization after every convolution, before the activation.
            ``"lrn"``: the paper's local response normalization after the activation of conv1 and
            conv2 (Section 3.3), convolutions with bias. ``None``: convolutions with bias only.
        overlap: True: 3x3 max pooling with stride 2, the paper's overlapping pooling
            (Section 3.4). False: 2x2 with stride 2, the pooling of earlier networks.
        dropout: dropout rate on the outputs of fc6 and fc7 (0: none).
        grouped: conv2, conv4 and conv5 as grouped convolutions (``groups=2``), the two-GPU split.
        conv1: ``(kernel size, stride)`` of conv1; ``(9, 3)`` is coarse in the way AlexNet's 11x11
            stride-4 conv1 is at ImageNet size, which ZFNet replaced by 7x7 stride 2.
    """
    width = blocks.check_width(width, maximum=8)
    check_choice("norm", norm, NORMS)
    overlap, grouped = check_bool("overlap", overlap), check_bool("grouped", grouped)
    dropout, activation = check_dropout(dropout), blocks.check_activation(activation)
    if not (isinstance(conv1, (tuple, list)) and len(conv1) == 2 and all(isinstance(v, int) and v >= 1 for v in conv1)):
        raise ParameterError("conv1", conv1, "conv1 must be (kernel size, stride), two whole numbers >= 1")
    groups = 2 if grouped else 1
    widths = list(blocks.scaled((96, 256, 384, 384, 256), width))
    if grouped and any(w % 2 for w in widths[:2] + widths[3:]):
        raise ParameterError("width", width, f"with grouped=True every layer needs an even number of maps; width {width} gives {widths}")

    def conv(x, index, kernel, strides=1, groups=1):
        name, filters = f"conv{index}", widths[index - 1]
        if groups == 1:
            x = layers.Conv2D(filters, kernel, strides=strides, padding="same", use_bias=norm != "batch",
                              name=f"{name}_conv")(x)  # fmt: skip
        else:  # two towers, as on the two GPUs (TensorFlow's grouped Conv2D is ~10x slower on a CPU)
            half = x.shape[-1] // 2
            towers = [
                layers.Conv2D(filters // 2, kernel, padding="same", use_bias=norm != "batch", name=f"{name}_gpu{g + 1}_conv")(
                    ChannelSlice(g * half, (g + 1) * half, name=f"{name}_gpu{g + 1}_slice")(x)
                )
                for g in range(2)
            ]
            x = layers.Concatenate(name=f"{name}_concat")(towers)
        x = blocks.norm_act(x, norm=BatchNormalization if norm == "batch" else None, activation=activation, name=name)
        return lrn(x, name=name) if norm == "lrn" and index <= 2 else x

    def pool(x, name):
        return blocks.pool(x, "max", 3 if overlap else 2, strides=2, padding="same", name=name)

    inputs = layers.Input(input_shape, name="image")
    x = pool(conv(inputs, 1, conv1[0], strides=conv1[1]), "conv1")
    x = pool(conv(x, 2, 5, groups=groups), "conv2")
    x = conv(x, 3, 3)
    x = conv(x, 4, 3, groups=groups)
    features = pool(conv(x, 5, 3, groups=groups), "conv5")
    units = blocks.scaled(512, width)
    top = blocks.dense_top(num_classes, {"fc6": units, "fc7": units}, activation=activation, dropout=dropout)
    return Network(inputs, features, top)
