"""Learning from few labels: class subsets, nested few-label splits, new heads, ImageNet backbones.

The pieces of the overfitting and transfer-learning chapter (``notebooks/11_transfer_learning.ipynb``):

    base = cnnbook.data.cifar10(val_per_class=100)
    animals = transfer.classes(base, transfer.ANIMALS)             # the source task: 6 classes
    vehicles = transfer.few_labels(transfer.classes(base, transfer.VEHICLES), 25)  # target: 4 x 25
    net = transfer.new_head(pretrained_net, vehicles.num_classes)  # same body, new classifier
    mobile = transfer.imagenet_classifier(10, alpha=0.5, size=128)  # MobileNetV2 behind a resize

Every subset keeps the parent's ``mean`` and ``std``, so a network trained on one task sees the
other task's images normalized as it learned them. ``few_labels`` is nested: the 25 images per class
are the first 25 of the 250, so the points of a curve over the number of labels differ in the labels
only. `repeat` tiles a small training split so that an epoch holds enough steps for the learning-rate
schedule (an epoch of 100 images at batch 128 would be a single step).
"""

import dataclasses

import numpy as np

from cnnbook.data import class_balanced_indices
from cnnbook.errors import ParameterError, check_choice, check_int

# CIFAR-10's labels: 0 airplane, 1 automobile, 2 bird, 3 cat, 4 deer, 5 dog, 6 frog, 7 horse, 8 ship, 9 truck.
ANIMALS = (2, 3, 4, 5, 6, 7)
VEHICLES = (0, 1, 8, 9)

# The reduced network each architecture chapter trained: (registered model, its options).
REDUCED = {
    "02_lenet": ("lenet5", {}),
    "03_alexnet": ("alexnet_cifar", {"width": 0.5}),
    "04_vgg": ("vgg16_cifar", {"width": 0.5}),
    "05_nin": ("nin", {"width": 0.5, "batch_norm": True}),
    "06_googlenet": ("googlenet_cifar", {"width": 0.5, "stem_pool": True}),
    "07_batchnorm": ("simple_cnn", {"width": 32}),
    "08_inception": ("inception_cifar", {"width": 0.5}),
    "09_resnet": ("resnet20", {}),
    "10_densenet": ("densenet_bc_cifar", {"depth": 40, "growth_rate": 12}),
}

# Where MobileNetV2's top blocks start: fine-tuning from here trains the last four inverted
# residual blocks (block_13 to block_16) and the final 1x1 convolution.
MOBILENET_TOP = "block_13_expand"


def classes(data, keep):
    """The images of the classes ``keep`` (CIFAR-10 labels), relabelled 0..len(keep)-1 in that order,
    in every split; ``mean``, ``std`` and the order within each class are the parent's."""
    keep = tuple(int(k) for k in keep)
    if not keep or len(set(keep)) != len(keep) or not all(0 <= k < data.num_classes for k in keep):
        raise ParameterError("keep", keep, f"keep must name distinct classes between 0 and {data.num_classes - 1}")
    lookup = np.full(data.num_classes, -1, dtype=np.int32)
    lookup[list(keep)] = np.arange(len(keep), dtype=np.int32)
    splits = {}
    for split in ("train", "val", "test"):
        x, y = getattr(data, f"x_{split}"), getattr(data, f"y_{split}")
        chosen = np.flatnonzero(lookup[y] >= 0)
        splits[f"x_{split}"], splits[f"y_{split}"] = x[chosen], lookup[y[chosen]]
    return dataclasses.replace(data, **splits, class_names=tuple(data.class_names[k] for k in keep))


def few_labels(data, per_class, *, seed=0):
    """``data`` with ``per_class`` training images of each class (validation and test unchanged).

    The choice is nested: for one seed, the images of a smaller ``per_class`` are among those of a
    larger one, so curves over the number of labels compare the same images, fewer of them.
    """
    available = int(np.bincount(data.y_train, minlength=data.num_classes).min())
    per_class = check_int("per_class", per_class, minimum=1, maximum=available)
    chosen = np.sort(class_balanced_indices(data.y_train, per_class, seed=seed))
    return dataclasses.replace(data, x_train=data.x_train[chosen], y_train=data.y_train[chosen])


def repeat(data, min_images):
    """``data`` with its training split repeated whole until it holds at least ``min_images``
    (unchanged if it already does); augmentation makes each copy different."""
    min_images = check_int("min_images", min_images, minimum=1)
    copies = -(-min_images // len(data.y_train))
    if copies <= 1:
        return data
    return dataclasses.replace(data, x_train=np.concatenate([data.x_train] * copies),
                               y_train=np.concatenate([data.y_train] * copies))  # fmt: skip


def overfit_name(images, *, batch_size=None, augment=None, dropout=None, weight_decay=None):
    """The record name of a run of chapter 11's overfitting study (``cnnbook/studies/overfitting.ipynb``):
    ``overfit-2500`` for the plain run, with one suffix per remedy added (``overfit-2500-batch32``,
    ``-augment``, ``-dropout``, ``-decay5e-4``); None and False add nothing.

    >>> overfit_name(2500, batch_size=32), overfit_name(2500, weight_decay=5e-4, augment=True)
    ('overfit-2500-batch32', 'overfit-2500-augment-decay5e-4')
    """
    parts = [f"overfit-{check_int('images', images, minimum=1)}"]
    if batch_size is not None:
        parts.append(f"batch{check_int('batch_size', batch_size, minimum=1)}")
    if augment:
        parts.append("augment")
    if dropout:
        parts.append("dropout" if dropout == 0.5 else f"dropout{dropout:g}")
    if weight_decay:
        mantissa, exponent = f"{weight_decay:e}".split("e")  # 5e-4, not 0.0005
        parts.append(f"decay{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}")
    return "-".join(parts)


def new_head(net, num_classes, *, name=None):
    """``net``'s body (its layers and weights, shared) with a new classifier of ``num_classes``,
    initialized afresh, in the form of the old one.

    Two forms are known: a dense layer named ``predictions`` (every book model but NiN), replaced
    by another on the same input; and NiN's class maps (Lin et al., 2014, Section 3.2): a 1x1
    convolution ``predictions_conv`` with one map per class, followed by weightless layers (its
    ReLU, the global average) up to the output, rebuilt with a new convolution of
    ``num_classes`` maps. Auxiliary classifiers (GoogLeNet's) are left out: the result has the
    main output only.
    """
    import keras

    num_classes = check_int("num_classes", num_classes, minimum=2)
    names = [layer.name for layer in net.layers]
    if "predictions" in names:
        old = net.get_layer("predictions")
        outputs = keras.layers.Dense(num_classes, name="predictions")(old.input)
    elif "predictions_conv" in names:
        old = net.get_layer("predictions_conv")
        outputs = type(old).from_config({**old.get_config(), "filters": num_classes})(old.input)
        previous = old
        for layer in net.layers[names.index("predictions_conv") + 1:]:
            if layer.input is not previous.output or layer.weights:
                raise ParameterError("net", net.name, f"the layers after the class maps must be a chain without "
                                     f"weights up to the output; {layer.name!r} is not")  # fmt: skip
            outputs = type(layer).from_config(layer.get_config())(outputs)
            previous = layer
        if previous.output is not net.outputs[0]:
            raise ParameterError("net", net.name, "the class maps do not lead to the network's main output")
    else:
        raise ParameterError("net", net.name, "the network has neither a dense classifier named 'predictions' "
                             "nor class maps named 'predictions_conv' to replace")  # fmt: skip
    return keras.Model(net.input, outputs, name=name or net.name)


def imagenet_classifier(num_classes, *, alpha=0.5, size=128, input_shape=(32, 32, 3), weights="imagenet",
                        dropout=0.2, trainable_from=None, name=None):  # fmt: skip
    """MobileNetV2 with ImageNet weights behind a resizing layer, and a new classifier.

    ``image (normalized to [-1, 1], as MobileNetV2 was trained) -> Resizing(size) -> MobileNetV2 ->
    global average pooling -> dropout -> predictions``. Every batch normalization layer of the
    backbone is frozen, and a frozen one always runs in inference mode, so it keeps ImageNet's
    statistics even while the other weights are fine-tuned (Keras' transfer-learning guide:
    updating them on a small dataset would wreck what the network learned). ``trainable_from``: None freezes the whole backbone
    (feature extraction); a layer name (`MOBILENET_TOP`) trains that layer and every one after it;
    ``"all"`` trains every layer. Compile after building (`cnnbook.train.fit` does): Keras reads
    ``trainable`` when a model is compiled.
    """
    import keras

    from cnnbook.pretrained import backbone

    num_classes = check_int("num_classes", num_classes, minimum=2)
    size = check_int("size", size, minimum=32)
    body = backbone("MobileNetV2", input_shape=(size, size, 3), alpha=alpha, weights=weights)
    names = [layer.name for layer in body.layers]
    if trainable_from is not None and trainable_from != "all":
        check_choice("trainable_from", trainable_from, names)
    body.trainable = trainable_from is not None
    if trainable_from not in (None, "all"):
        start = names.index(trainable_from)
        for layer in body.layers[:start]:
            layer.trainable = False
    # ``body(x, training=False)`` alone does not hold: when the outer model is called with
    # training=True, Keras 3 passes it on, and trainable batch norm layers use the batch's
    # statistics. A frozen BatchNormalization always runs in inference mode (its scale and
    # offset stay ImageNet's too, as in Keras' transfer-learning guide).
    for layer in body.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False
    inputs = keras.Input(input_shape, name="image")
    x = keras.layers.Resizing(size, size, interpolation="bilinear", name="resize")(inputs)
    x = body(x, training=False)  # not enough alone: the frozen batch norm layers above keep inference mode
    x = keras.layers.GlobalAveragePooling2D(name="pool_global_avg")(x)
    if dropout:
        x = keras.layers.Dropout(dropout, name="dropout")(x)
    outputs = keras.layers.Dense(num_classes, name="predictions")(x)
    return keras.Model(inputs, outputs, name=name or f"mobilenetv2_{alpha:g}_{size}")


def features(model, images, *, batch_size=256):
    """The pooled features (the classifier's input) of ``model`` (`imagenet_classifier`) for images
    already normalized to [-1, 1], in inference mode, as a float32 array (N, channels)."""
    import keras

    pooled = keras.Model(model.input, model.get_layer("pool_global_avg").output)
    out = [keras.ops.convert_to_numpy(keras.ops.cast(pooled(images[i : i + batch_size], training=False), "float32"))
           for i in range(0, len(images), batch_size)]  # fmt: skip
    return np.concatenate(out)


def to_unit_range(images):
    """uint8 images as MobileNetV2 expects them: x / 127.5 - 1, float32."""
    return np.asarray(images, dtype=np.float32) / 127.5 - 1.0


# The normalization `cnnbook.train` applies ((x / 255 - mean) / std) that equals `to_unit_range`.
UNIT_RANGE = {"mean": (0.5, 0.5, 0.5), "std": (0.5, 0.5, 0.5)}


def linear_probe(train_features, train_labels, eval_features, *, num_classes, l2=1e-3):
    """A softmax classifier on frozen features (feature extraction): cross-entropy plus
    ``l2 / 2 * |w|^2`` on standardized features, minimized full-batch by scipy's L-BFGS (a convex
    problem: one answer, no learning rate or epochs to choose). Returns ``(weights, bias,
    eval_logits)``, the weights folded back to raw features: ``features @ weights + bias`` are logits.
    """
    x = np.asarray(train_features, np.float64)
    y = np.asarray(train_labels).reshape(-1)
    mean, std = x.mean(0), x.std(0)
    # A floor under the scale: a feature nearly constant on the training images (common after ReLU6
    # and pooling) would otherwise get a weight of w / 1e-6 that explodes once fine-tuning moves it.
    std = np.maximum(std, 0.1 * std.mean() + 1e-12)
    z = (x - mean) / std
    onehot = np.eye(num_classes)[y]
    n, d = z.shape

    def loss_and_grad(theta):
        w, b = theta[: d * num_classes].reshape(d, num_classes), theta[d * num_classes :]
        logits = z @ w + b
        logits -= logits.max(1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(1, keepdims=True)
        loss = -np.sum(onehot * np.log(p + 1e-12)) / n + 0.5 * l2 * np.sum(w * w)
        g = (p - onehot) / n
        return loss, np.concatenate([(z.T @ g + l2 * w).ravel(), g.sum(0)])

    from scipy.optimize import minimize

    theta0 = np.zeros(d * num_classes + num_classes)
    theta = minimize(loss_and_grad, theta0, jac=True, method="L-BFGS-B", options={"maxiter": 500}).x
    w, b = theta[: d * num_classes].reshape(d, num_classes), theta[d * num_classes :]
    weights = w / std[:, None]
    bias = b - mean @ weights
    eval_logits = np.asarray(eval_features, np.float64) @ weights + bias
    return weights.astype(np.float32), bias.astype(np.float32), eval_logits


MOBILENET_ALPHAS = (0.35, 0.5, 0.75, 1.0, 1.3, 1.4)
_LABEL_LISTS = ("overfit_sizes", "imagenet_labels", "target_labels", "probe_sizes")


def _as_tuple(value):
    """A list given as a tuple, a list, one value, or text (papermill's ``-p``: ``"25,250"``)."""
    if isinstance(value, str):
        return tuple(part.strip() for part in value.replace(";", ",").split(",") if part.strip())
    if isinstance(value, (list, tuple)):
        return tuple(value)
    return (value,)


def check_options(options, *, alpha=None, size=None):
    """The transfer chapter's options, checked: ``architectures`` are chapters of `REDUCED`, the
    lists of sizes and labels are whole numbers in increasing order, ``alpha`` and ``size`` are None
    (chosen by the chapter's linear probe) or MobileNetV2's. Returns a new dict with ``alpha``
    and ``size`` added; a bad value raises `ParameterError` naming it."""
    checked = dict(options)
    architectures = _as_tuple(options["architectures"])
    for chapter in architectures:
        check_choice("architectures", chapter, tuple(REDUCED))
    if not architectures:
        raise ParameterError("architectures", options["architectures"], "name at least one chapter")
    checked["architectures"] = architectures
    for name in _LABEL_LISTS:
        if name not in options:
            continue
        values = tuple(check_int(name, int(v) if isinstance(v, str) and v.isdigit() else v, minimum=1)
                       for v in _as_tuple(options[name]))  # fmt: skip
        if not values or list(values) != sorted(set(values)):
            raise ParameterError(name, options[name], f"{name} must be whole numbers in increasing order")
        checked[name] = values
    if alpha is not None:
        check_choice("alpha", alpha, MOBILENET_ALPHAS)
    checked["alpha"] = None if alpha is None else float(alpha)
    checked["size"] = check_int("size", size, minimum=32, maximum=512, allow_none=True)
    return checked
