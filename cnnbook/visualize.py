"""Looking inside a trained network: the experiments of Zeiler and Fergus (2014) and their kin.

    maps = occlusion(run.predict, images, labels, patch=8, stride=2, fill=gray)  # their Figure 7
    strongest = top_activations(run, "conv5_relu", images, channels=[0, 1], count=6)
    saliency = input_gradients(run, "conv5_relu", images, channel=3)             # gradient view
    calibration(run.predict(images), labels)  # confidence against accuracy (ECE)
    gradient_norms(model, x, labels)           # per-layer gradient norms, e.g. at initialization

``run`` is a `cnnbook.train.FitResult` (its model sees normalized images; these functions take
the uint8 images of `cnnbook.data` and normalize them as training did). Gradients are computed
with the backend's own automatic differentiation (TensorFlow, JAX or PyTorch), so the chapter runs
on all three.
"""

import keras
import numpy as np
from keras import layers

from cnnbook.errors import ParameterError, check_int


def normalized(run, images):
    """uint8 images as the model inside ``run`` sees them: per-channel standardized float32."""
    mean = 255.0 * np.asarray(run.data.mean, "float32")
    std = 255.0 * np.asarray(run.data.std, "float32")
    return (np.asarray(images, "float32") - mean) / std


def occlusion(predict, images, labels, *, patch=8, stride=2, fill=None, batch_size=512):
    """Probability of the true class while a ``patch`` x ``patch`` square covers each position.

    Zeiler and Fergus (2014), Section 4.2 and Figure 7: if the classifier relies on the object,
    covering the object lowers the probability of its class; covering the background does not.

    Args:
        predict: uint8 images (N, H, W, C) -> logits (N, classes), e.g. ``run.predict``.
        images, labels: uint8 images and their classes.
        fill: the grey square's value per channel (default: the images' mean colour).
    Returns:
        ``(maps, unoccluded)``: for each image the map of true-class probabilities over the
        square's positions (its top-left corners, every ``stride`` pixels), and the probability
        with nothing covered.
    """
    images = np.asarray(images)
    n, height, width, channels = images.shape
    patch = check_int("patch", patch, minimum=1, maximum=min(height, width))
    stride = check_int("stride", stride, minimum=1)
    fill = images.reshape(-1, channels).mean(axis=0) if fill is None else np.broadcast_to(fill, (channels,))
    rows, cols = range(0, height - patch + 1, stride), range(0, width - patch + 1, stride)
    maps = np.zeros((n, len(rows), len(cols)), "float32")
    unoccluded = _softmax(predict(images))[np.arange(n), labels]
    for index, (image, label) in enumerate(zip(images, labels)):
        covered = np.repeat(image[None], len(rows) * len(cols), axis=0)
        for k, (r, c) in enumerate((r, c) for r in rows for c in cols):
            covered[k, r : r + patch, c : c + patch] = np.round(fill).astype(images.dtype)
        probabilities = _softmax(_batched(predict, covered, batch_size))[:, label]
        maps[index] = probabilities.reshape(len(rows), len(cols))
    return maps, unoccluded


def feature_model(run, layer):
    """The part of ``run``'s model from its input to ``layer``'s output (a name), as a model."""
    try:
        output = run.model.get_layer(layer).output
    except ValueError:
        names = ", ".join(layer.name for layer in run.model.layers[-12:])
        raise ParameterError("layer", layer, f"name a layer of {run.model.name}, such as one of: {names}") from None
    return keras.Model(run.model.input, output, name=f"{run.model.name}_to_{layer}")


def top_activations(run, layer, images, *, channels, count=6, batch_size=256):
    """For each channel of ``layer``, the ``count`` images where it responds most strongly.

    Returns ``{channel: (indices, positions, values)}``: the images (indices into ``images``),
    the (row, column) of the strongest response in the layer's map, and its value.
    """
    features = feature_model(run, layer)
    maps = np.concatenate([
        keras.ops.convert_to_numpy(features(normalized(run, images[i : i + batch_size]), training=False)).astype("float32")
        for i in range(0, len(images), batch_size)
    ])  # fmt: skip
    strongest = {}
    for channel in channels:
        flat = maps[..., channel].reshape(len(maps), -1)
        best = np.argsort(-flat.max(axis=1))[:count]
        positions = [np.unravel_index(flat[i].argmax(), maps.shape[1:3]) for i in best]
        strongest[channel] = (best, positions, flat[best].max(axis=1))
    return strongest


def input_gradients(run, layer, images, *, channel):
    """The gradient of ``channel``'s strongest response in ``layer`` with respect to each input
    pixel: which pixels, changed a little, change that response most (Simonyan, Vedaldi and
    Zisserman, 2014, who showed that Zeiler and Fergus' deconvnet computes nearly this
    gradient). Returns an array of the images' shape (normalized-input units)."""
    features = feature_model(run, layer)
    x = normalized(run, images)

    def objective(inputs):
        response = keras.ops.cast(features(inputs, training=False)[..., channel], "float32")
        return keras.ops.sum(keras.ops.max(response, axis=(1, 2)))

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        inputs = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            value = objective(inputs)
        return tape.gradient(value, inputs).numpy()
    if backend == "jax":
        import jax

        return np.asarray(jax.grad(objective)(x))
    if backend == "torch":
        import torch

        inputs = torch.tensor(x, requires_grad=True)
        objective(inputs).backward()
        return inputs.grad.detach().cpu().numpy()
    raise NotImplementedError(f"input_gradients: no gradient for the {backend!r} backend")



def gradient_norms(model, x, labels, *, training=True):
    """The norm of the gradient of the mean cross-entropy with respect to each convolution and
    dense kernel of ``model`` (a classifier of normalized images ``x``, logits out), for integer
    ``labels``: ``{layer name: norm}``, from the input to the output. ``training=True`` runs batch
    normalization on the batch's statistics, as a training step does: the check of He et al.
    (2016, Section 4.1) that plain networks with batch normalization do not suffer from vanishing
    gradients."""
    kernels = [layer for layer in model.layers if isinstance(layer, (layers.Conv2D, layers.Dense))]
    if not kernels:
        raise ParameterError("model", model.name, "the model has no convolution or dense layer to measure")
    labels = np.asarray(labels).reshape(-1).astype("int32")
    x = np.asarray(x, dtype="float32")

    def loss_of(logits):
        logits = keras.ops.cast(logits, "float32")
        return keras.ops.mean(keras.ops.sparse_categorical_crossentropy(labels, logits, from_logits=True))

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            loss = loss_of(model(x, training=training))
        grads = tape.gradient(loss, [layer.kernel.value for layer in kernels])
        grads = [g.numpy() for g in grads]
    elif backend == "jax":
        import jax

        trainable = [v.value for v in model.trainable_variables]
        frozen = [v.value for v in model.non_trainable_variables]

        def objective(values):
            logits, _ = model.stateless_call(values, frozen, x, training=training)
            return loss_of(logits)

        everything = jax.grad(objective)(trainable)
        where = {id(v): i for i, v in enumerate(model.trainable_variables)}
        grads = [np.asarray(everything[where[id(layer.kernel)]]) for layer in kernels]
    elif backend == "torch":
        for layer in kernels:
            layer.kernel.value.grad = None
        loss_of(model(x, training=training)).backward()
        grads = [layer.kernel.value.grad.detach().cpu().numpy() for layer in kernels]
    else:
        raise NotImplementedError(f"gradient_norms: no gradient for the {backend!r} backend")
    return {layer.name: float(np.linalg.norm(g)) for layer, g in zip(kernels, grads)}


def colourfulness(kernel):
    """How colour-specific each filter of a first layer is, for kernels (h, w, 3, filters): the
    share of the filter's energy not in its grey part (the mean over the three colour channels).
    0: the same pattern in R, G and B (colour-agnostic); near 1: colours against each other."""
    kernel = np.asarray(kernel, "float64")
    grey = kernel.mean(axis=2, keepdims=True)
    total = np.square(kernel).sum(axis=(0, 1, 2))
    return np.square(kernel - grey).sum(axis=(0, 1, 2)) / np.maximum(total, 1e-12)


def calibration(logits, labels, *, bins=10):
    """How far a classifier's confidence is from its accuracy (Guo et al., 2017).

    The confidence of a prediction is its top softmax probability. Predictions are grouped into
    ``bins`` equal-width confidence intervals; in a calibrated classifier each group's accuracy
    equals its mean confidence. The expected calibration error (ECE) is the gap between the two,
    averaged over the groups weighted by their sizes.

    Returns:
        a dict: ``ece``; ``confidence``, ``accuracy`` and ``count`` per bin (NaN where a bin is
        empty); ``edges``; ``confidence_correct`` and ``confidence_wrong``, the mean confidence of
        the right and of the wrong predictions; ``accuracy_total``.
    """
    bins = check_int("bins", bins, minimum=1)
    probabilities = _softmax(logits)
    labels = np.asarray(labels).reshape(-1)
    if len(labels) != len(probabilities):
        raise ParameterError("labels", f"{len(labels)} labels", f"give one label per row of logits ({len(probabilities)})")
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == labels
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    count = np.bincount(which, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_confidence = np.bincount(which, weights=confidence, minlength=bins) / count
        accuracy = np.bincount(which, weights=correct, minlength=bins) / count
    filled = count > 0
    ece = float(np.sum(count[filled] * np.abs(accuracy[filled] - mean_confidence[filled])) / len(labels))
    return {"ece": ece, "confidence": mean_confidence, "accuracy": accuracy, "count": count, "edges": edges,
            "confidence_correct": float(confidence[correct].mean()) if correct.any() else float("nan"),
            "confidence_wrong": float(confidence[~correct].mean()) if (~correct).any() else float("nan"),
            "accuracy_total": float(correct.mean())}


def _softmax(logits):
    logits = np.asarray(logits, "float64")
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def _batched(predict, images, batch_size):
    return np.concatenate([predict(images[i : i + batch_size]) for i in range(0, len(images), batch_size)])
