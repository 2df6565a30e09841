"""Custom Keras layers, written with ``keras.ops`` so they run on TensorFlow, JAX and PyTorch.

- `RandomCropFlip`: the standard CIFAR augmentation, vectorized so it runs inside the compiled
  training step on the accelerator.
- `ConnectionTableConv2D`: a convolution whose output maps each see only some input maps, as in
  LeNet-5's layer C3.
- `lecun_tanh`: the scaled hyperbolic tangent of LeCun et al. (1998).
- `LocalResponseNormalization`: AlexNet's normalization across neighbouring maps (2012), also in
  VGG's configuration A-LRN and GoogLeNet.
- `BatchNormalization`: Keras' batch normalization, computed by the backend's fused kernel where
  it has one (several times faster to train on a CPU); the same weights, results and config.
"""

import keras
import numpy as np
from keras import ops


@keras.saving.register_keras_serializable(package="cnnbook")
def lecun_tanh(x):
    """``1.7159 * tanh(2x/3)``: LeNet-5's squashing function (LeCun et al., 1998, Appendix A).

    The constants make f(1) = 1 and f(-1) = -1, with the largest second derivative at 1, so that
    targets of +-1 sit where the curve still bends.
    """
    return 1.7159 * ops.tanh(x * (2.0 / 3.0))


@keras.saving.register_keras_serializable(package="cnnbook")
class RandomCropFlip(keras.layers.Layer):
    """Random crop from zero padding, then random horizontal flip; the identity at inference.

    Each image gets its own offsets (0 .. 2 * padding in each direction) and its own coin for the
    flip, as in the standard CIFAR recipe (He et al., 2016, Section 4.2). The crop and the flip
    are one gather with per-image indices, computed by the backend inside the compiled training
    step, so augmentation stays cheap on every backend; Keras' ``RandomCrop`` and ``RandomFlip``
    layers ran ResNet-20 training on an H200 at about 1,000 images/s with JAX.

    Input: images of shape (batch, height, width, channels), any numeric dtype (uint8 is
    cheapest to feed). Output: the same shape, in the layer's dtype (float32 by default), with
    the same values as the input, moved around (padding adds zeros).

    Args:
        padding: pixels of zero padding on each side before cropping back to the input size.
        flip: whether to flip half of the images horizontally.
        seed: seed of the layer's random stream (None: drawn from Keras' global seed).
    """

    def __init__(self, padding=4, flip=True, seed=None, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        if isinstance(padding, bool) or not isinstance(padding, (int, np.integer)) or padding < 0:
            raise ValueError(f"RandomCropFlip: padding must be a whole number >= 0, got {padding!r}")
        self.padding = int(padding)
        self.flip = bool(flip)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.built = True

    def call(self, images, training=None):
        images = ops.cast(images, self.compute_dtype)
        if not training or (self.padding == 0 and not self.flip):
            return images
        batch = ops.shape(images)[0]
        height, width, channels = images.shape[1], images.shape[2], images.shape[3]
        p = self.padding
        padded = ops.pad(images, [[0, 0], [p, p], [p, p], [0, 0]])
        padded_h, padded_w = height + 2 * p, width + 2 * p
        dy = keras.random.randint((batch,), 0, 2 * p + 1, seed=self.seed_generator, dtype="int32")
        dx = keras.random.randint((batch,), 0, 2 * p + 1, seed=self.seed_generator, dtype="int32")
        rows = dy[:, None] + ops.arange(height, dtype="int32")[None, :]
        cols = ops.arange(width, dtype="int32")[None, :]
        if self.flip:
            flipped = keras.random.randint((batch, 1), 0, 2, seed=self.seed_generator, dtype="int32")
            cols = ops.where(flipped == 1, (width - 1) - cols, cols)
        cols = dx[:, None] + cols
        first = ops.arange(batch, dtype="int32")[:, None, None] * (padded_h * padded_w)
        index = first + rows[:, :, None] * padded_w + cols[:, None, :]
        pixels = ops.take(ops.reshape(padded, (-1, channels)), ops.reshape(index, (-1,)), axis=0)
        return ops.reshape(pixels, (batch, height, width, channels))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "padding": self.padding, "flip": self.flip, "seed": self.seed}


@keras.saving.register_keras_serializable(package="cnnbook")
class ConnectionTableConv2D(keras.layers.Layer):
    """A 'valid' convolution in which output map ``j`` sees only the input maps ``table[j]``.

    LeNet-5's layer C3 (LeCun et al., 1998, Table I) connects each of its 16 maps to a subset of
    the 6 maps of S2, to break symmetry and to save connections. Only the connected kernels are
    weights, so the parameter count is the paper's (1,516 for C3, against 2,416 for a full
    5x5 convolution); the forward pass places them in a full kernel, with zeros elsewhere, and
    runs one ordinary convolution.

    Args:
        table: for each output map, the indices of the input maps it sees.
        kernel_size: size of the square kernel.
    """

    def __init__(self, table, kernel_size, kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        table = [tuple(int(i) for i in inputs) for inputs in table]
        if not table or any(not inputs or len(set(inputs)) != len(inputs) for inputs in table):
            raise ValueError("ConnectionTableConv2D: every output map needs a non-empty list of distinct inputs")
        self.table = table
        self.kernel_size = int(kernel_size)
        self.filters = len(table)
        self.connections = sum(len(inputs) for inputs in table)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def build(self, input_shape):
        channels = input_shape[-1]
        if max(max(inputs) for inputs in self.table) >= channels or min(min(i) for i in self.table) < 0:
            raise ValueError(
                f"ConnectionTableConv2D {self.name}: the table refers to input maps beyond the {channels} given"
            )
        k = self.kernel_size
        # Weights of connection c live in kernel[..., c]; slot `connections` is a constant zero.
        self.kernel = self.add_weight(
            name="kernel", shape=(k, k, self.connections), initializer=self.kernel_initializer
        )
        self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")
        placement = np.full((channels, self.filters), self.connections, dtype="int32")
        c = 0
        for j, inputs in enumerate(self.table):
            for i in inputs:
                placement[i, j] = c
                c += 1
        self._placement = placement.reshape(-1)
        self._channels = channels

    def call(self, inputs):
        k, dtype = self.kernel_size, self.compute_dtype
        compact = ops.concatenate([ops.cast(self.kernel, dtype), ops.zeros((k, k, 1), dtype=dtype)], axis=-1)
        full = ops.reshape(ops.take(compact, self._placement, axis=-1), (k, k, self._channels, self.filters))
        outputs = ops.conv(ops.cast(inputs, dtype), full, strides=1, padding="valid")
        return outputs + ops.cast(self.bias, dtype)

    def compute_output_shape(self, input_shape):
        k = self.kernel_size
        size = lambda n: None if n is None else n - k + 1  # noqa: E731
        return (input_shape[0], size(input_shape[1]), size(input_shape[2]), self.filters)

    def count_macs(self, output_shape):
        """Multiply-accumulates per example: only the connected kernels count."""
        return int(output_shape[1] * output_shape[2] * self.kernel_size**2 * self.connections)

    def get_config(self):
        return {
            **super().get_config(),
            "table": [list(inputs) for inputs in self.table],
            "kernel_size": self.kernel_size,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
        }


@keras.saving.register_keras_serializable(package="cnnbook")
class LocalResponseNormalization(keras.layers.Layer):
    """Local response normalization across maps (Krizhevsky et al., 2012, Section 3.3).

    ``b[..., i] = a[..., i] / (k + alpha * sum(a[..., j] ** 2 for j in i - n//2 .. i + n//2)) ** beta``,
    the sum running over the maps that exist (zeros beyond the first and the last map). The
    defaults are the paper's: k = 2, n = 5, alpha = 1e-4, beta = 0.75. No weights.

    This is the paper's formula, which is also TensorFlow's
    ``tf.nn.local_response_normalization(depth_radius=n // 2, bias=k, alpha=alpha, beta=beta)``.
    Caffe's LRN layer (and so BVLC's GoogLeNet) divides its ``alpha`` by ``n``: pass
    ``alpha=caffe_alpha / n`` to reproduce it. The sums are computed in float32 whatever the
    layer's dtype policy.

    Args:
        size: n, the number of neighbouring maps in the window (odd, the map itself in the middle).
        k, alpha, beta: the constants of the formula.
    """

    def __init__(self, size=5, k=2.0, alpha=1e-4, beta=0.75, **kwargs):
        super().__init__(**kwargs)
        if isinstance(size, bool) or not isinstance(size, int) or size < 1 or size % 2 == 0:
            raise ValueError(f"LocalResponseNormalization: size must be an odd whole number >= 1, got {size!r}")
        self.size, self.k, self.alpha, self.beta = size, float(k), float(alpha), float(beta)

    def call(self, inputs):
        # In float32 even under mixed precision: the sum of five squares overflows float16
        # (largest value 65,504) when the activations are around 115 or more.
        x = ops.cast(inputs, "float32")
        channels = x.shape[-1]
        # The window sums as one matrix product with a band of ones: oneDNN runs it many times
        # faster than adding shifted slices (4x the training speed of a reduced AlexNet).
        radius = self.size // 2
        index = np.arange(channels)
        band = (np.abs(index[:, None] - index[None, :]) <= radius).astype("float32")
        window_sum = ops.matmul(ops.square(x), ops.convert_to_tensor(band))
        return ops.cast(x / ops.power(self.k + self.alpha * window_sum, self.beta), self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "size": self.size, "k": self.k, "alpha": self.alpha, "beta": self.beta}

    def count_macs(self, output_shape):
        """Multiply-accumulates per example: the windowed sum of squares, ``size`` per value."""
        count = self.size
        for d in output_shape[1:]:
            count *= d
        return int(count)


@keras.saving.register_keras_serializable(package="cnnbook")
class BatchNormalization(keras.layers.BatchNormalization):
    """``keras.layers.BatchNormalization`` (Ioffe and Szegedy, 2015), through a fused kernel.

    Keras 3 computes batch normalization from generic operations (cast to float32, moments,
    scale and shift, cast back: about ten passes over the activations, forward and backward).
    TensorFlow and PyTorch each have one fused kernel for it, which oneDNN runs on a CPU in
    bfloat16 as well. On a 2-core Xeon, training ResNet-20 in ``mixed_bfloat16`` on TensorFlow
    went from 550 to 1,060 images/s with this layer (``benchmarks/cpu_training.py``).

    Everything else is Keras' layer: the same weights (gamma, beta, moving mean and variance),
    the same ``momentum`` and ``epsilon`` semantics (the moving variance is updated with the
    biased batch variance, as Keras does), the same config, so parameter counts and saved
    models are unchanged and `keras.applications` weights load. The fused path is taken for 4-D
    channels-last float32 or bfloat16 inputs without a mask, renormalization or synchronized
    statistics, on TensorFlow and PyTorch; everything else (JAX, whose XLA fuses the generic
    operations itself) goes through Keras' own ``call``.
    """

    def _fusable(self, inputs, mask):
        return (
            mask is None
            and not self.renorm
            and not self.synchronized
            and len(inputs.shape) == 4
            and self.axis in (-1, 3)
            and keras.backend.standardize_dtype(inputs.dtype) in ("float32", "bfloat16")
            and keras.backend.backend() in ("tensorflow", "torch")
        )

    def call(self, inputs, training=None, mask=None):
        if not self._fusable(inputs, mask):
            return super().call(inputs, training=training, mask=mask)
        fused = _fused_batch_norm_tf if keras.backend.backend() == "tensorflow" else _fused_batch_norm_torch
        outputs = fused(self, inputs, training=bool(training and self.trainable))
        return ops.cast(outputs, self.compute_dtype)

    def _update_moving_statistics(self, mean, variance):
        momentum = self.momentum
        self.moving_mean.assign(self.moving_mean * momentum + ops.cast(mean, "float32") * (1.0 - momentum))
        self.moving_variance.assign(
            self.moving_variance * momentum + ops.cast(variance, "float32") * (1.0 - momentum)
        )


def _fused_batch_norm_tf(layer, inputs, *, training):
    import tensorflow as tf

    ones = tf.ones(layer.moving_mean.shape, "float32")
    scale = tf.cast(layer.gamma, "float32") if layer.scale else ones
    offset = tf.cast(layer.beta, "float32") if layer.center else tf.zeros_like(ones)
    if not training:
        outputs, _, _ = tf.compat.v1.nn.fused_batch_norm(
            inputs, scale, offset, mean=tf.cast(layer.moving_mean, "float32"),
            variance=tf.cast(layer.moving_variance, "float32"), epsilon=layer.epsilon,
            data_format="NHWC", is_training=False,
        )  # fmt: skip
        return outputs
    outputs, mean, variance = tf.compat.v1.nn.fused_batch_norm(
        inputs, scale, offset, epsilon=layer.epsilon, data_format="NHWC", is_training=True
    )
    # The kernel returns the unbiased batch variance; Keras' moving variance uses the biased one.
    count = tf.cast(tf.reduce_prod(tf.shape(inputs)[:3]), "float32")
    layer._update_moving_statistics(mean, variance * (count - 1.0) / tf.maximum(count, 1.0))
    return outputs


def _fused_batch_norm_torch(layer, inputs, *, training):
    import torch

    x = inputs.permute(0, 3, 1, 2)  # a channels-last view: no copy
    weight = layer.gamma.value if layer.scale else None
    bias = layer.beta.value if layer.center else None
    if not training:
        outputs = torch.nn.functional.batch_norm(
            x, layer.moving_mean.value, layer.moving_variance.value, weight, bias, False, 0.0, layer.epsilon
        )
    else:
        outputs, mean, inverse_std = torch.native_batch_norm(x, weight, bias, None, None, True, 0.0, layer.epsilon)
        with torch.no_grad():
            layer._update_moving_statistics(mean, inverse_std.pow(-2) - layer.epsilon)
    return outputs.permute(0, 2, 3, 1)


@keras.saving.register_keras_serializable(package="cnnbook")
class ChannelSlice(keras.layers.Layer):
    """The maps ``start`` to ``stop`` (exclusive) of the input: one tower of a network split over
    devices, as AlexNet's two GPUs each held half of a layer's maps."""

    def __init__(self, start, stop, **kwargs):
        super().__init__(**kwargs)
        self.start, self.stop = int(start), int(stop)

    def call(self, inputs):
        return inputs[..., self.start : self.stop]

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.stop - self.start)

    def get_config(self):
        return {**super().get_config(), "start": self.start, "stop": self.stop}
