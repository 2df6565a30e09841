"""ImageNet-pretrained backbones from ``keras.applications``, offline when a weights file is at hand.

    backbone = cnnbook.pretrained.backbone("MobileNetV2", input_shape=(96, 96, 3), alpha=0.5)
    cnnbook.pretrained.weights_source("MobileNetV2", alpha=0.5)   # where the weights come from

The weights come from a local file when the folder named by ``CNNBOOK_WEIGHTS`` (default: the
project's ``.weights/``, which ``python3 dev.py data`` fills from ``../shared/weights``) holds one for the
architecture, under the name Keras itself downloads (e.g.
``mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.5_224_no_top.h5``) or the same name ending in
``.weights.h5`` (Keras 3's format); otherwise ``weights="imagenet"`` lets Keras download them once
into ``~/.keras/models``, as in Colab. The same chapter therefore runs online and offline. Every
backbone is built without its classifier (``include_top=False``); the weights of a headless
network do not depend on the input size, so any size the architecture accepts works.
"""

import os
from pathlib import Path

from cnnbook.errors import DataNotFoundError, check_choice

# keras.applications' file names for the headless ImageNet weights; {alpha} and {rows} for MobileNetV2.
FILES = {
    "MobileNetV2": "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{alpha}_{rows}_no_top",
    "VGG16": "vgg16_weights_tf_dim_ordering_tf_kernels_notop",
    "VGG19": "vgg19_weights_tf_dim_ordering_tf_kernels_notop",
    "ResNet50": "resnet50_weights_tf_dim_ordering_tf_kernels_notop",
    "ResNet101": "resnet101_weights_tf_dim_ordering_tf_kernels_notop",
    "ResNet152": "resnet152_weights_tf_dim_ordering_tf_kernels_notop",
    "ResNet50V2": "resnet50v2_weights_tf_dim_ordering_tf_kernels_notop",
    "InceptionV3": "inception_v3_weights_tf_dim_ordering_tf_kernels_notop",
    "InceptionResNetV2": "inception_resnet_v2_weights_tf_dim_ordering_tf_kernels_notop",
    "DenseNet121": "densenet121_weights_tf_dim_ordering_tf_kernels_notop",
    "DenseNet169": "densenet169_weights_tf_dim_ordering_tf_kernels_notop",
    "DenseNet201": "densenet201_weights_tf_dim_ordering_tf_kernels_notop",
}


# keras.applications' module of each backbone, for its preprocess_input.
PREPROCESS = {
    "MobileNetV2": "mobilenet_v2", "VGG16": "vgg16", "VGG19": "vgg19", "ResNet50": "resnet", "ResNet101": "resnet",
    "ResNet152": "resnet", "ResNet50V2": "resnet_v2", "InceptionV3": "inception_v3",
    "InceptionResNetV2": "inception_resnet_v2", "DenseNet121": "densenet", "DenseNet169": "densenet",
    "DenseNet201": "densenet",
}  # fmt: skip


def _stem(name, alpha):
    check_choice("backbone", name, tuple(FILES))
    if name == "MobileNetV2":
        return FILES[name].format(alpha=float(1.0 if alpha is None else alpha), rows="*")
    if alpha is not None:
        raise TypeError(f"alpha applies to MobileNetV2 only, not to {name}")
    return FILES[name]


def weights_dir():
    """``$CNNBOOK_WEIGHTS``, else the project's ``.weights/`` where it exists, else None."""
    if os.environ.get("CNNBOOK_WEIGHTS"):
        return Path(os.environ["CNNBOOK_WEIGHTS"])
    from cnnbook.system import project_root

    root = project_root()
    return root / ".weights" if root is not None and (root / ".weights").is_dir() else None


def weights_file(name, alpha=None, directory=None):
    """The local weights file for ``name`` in ``directory`` (default: `weights_dir`), or None."""
    directory = directory or weights_dir()
    if not directory:
        return None
    stem = _stem(name, alpha)
    folder = Path(directory).expanduser()
    matches = sorted(folder.glob(f"{stem}.h5")) + sorted(folder.glob(f"{stem}.weights.h5"))
    return matches[0] if matches else None


def weights_source(name, alpha=None):
    """Where `backbone` takes the weights of ``name`` from, in words."""
    local = weights_file(name, alpha)
    return f"local file {local}" if local else "keras.applications download (weights='imagenet')"


def backbone(name, *, input_shape, alpha=None, weights="imagenet"):
    """``keras.applications.<name>`` without its classifier, with ImageNet weights (see above).

    Args:
        name: one of `FILES` (e.g. ``"MobileNetV2"``, ``"VGG16"``, ``"ResNet50"``).
        input_shape: (height, width, 3).
        alpha: MobileNetV2's width multiplier (0.35, 0.5, 0.75, 1.0, 1.3, 1.4).
        weights: ``"imagenet"`` (local file, else download) or None (random initialization).
    """
    import keras

    stem = _stem(name, alpha)
    check_choice("weights", weights, ("imagenet", None))
    options = {"include_top": False, "input_shape": tuple(input_shape)}
    if alpha is not None:
        options["alpha"] = alpha
    build = getattr(keras.applications, name)
    local = weights_file(name, alpha) if weights == "imagenet" else None
    if local is not None:
        model = build(weights=None, **options)
        model.load_weights(str(local))
        return model
    try:
        return build(weights=weights, **options)
    except Exception as error:  # offline, bad hash, server gone
        if weights is None:
            raise
        folder = weights_dir()
        where = f"{folder} holds no {stem}.h5" if folder else "CNNBOOK_WEIGHTS is not set"
        raise DataNotFoundError(
            f"ImageNet weights for {name}{'' if alpha is None else f' (alpha {alpha})'} could not be loaded: "
            f"{where}, and the download by keras.applications failed ({type(error).__name__}: {error}). "
            f"Put the file keras.applications downloads ({stem.replace('*', '224')}.h5) in a folder and set "
            "CNNBOOK_WEIGHTS to that folder, or pass weights=None to start from random weights."
        ) from error


def frozen_features(name, images, *, alpha=None, batch_size=256, model=None):
    """Global-average-pooled features of a frozen ImageNet backbone for uint8 images (N, H, W, 3).

    The images go through the backbone's own ``preprocess_input`` (VGG: BGR, ImageNet mean
    subtracted; MobileNetV2: scaled to [-1, 1]), then the headless network in inference mode;
    returns a float32 array (N, channels). A linear classifier on these features is "feature
    extraction", the first kind of transfer learning. ``model``: a backbone already built by
    `backbone` (default: build one for the images' size).
    """
    import importlib

    import keras
    import numpy as np

    check_choice("backbone", name, tuple(FILES))
    images = np.asarray(images)
    model = model or backbone(name, input_shape=images.shape[1:], alpha=alpha)
    model.trainable = False
    preprocess = importlib.import_module(f"keras.applications.{PREPROCESS[name]}").preprocess_input
    out = []
    for start in range(0, len(images), batch_size):
        maps = model(preprocess(images[start : start + batch_size].astype("float32")), training=False)
        out.append(keras.ops.convert_to_numpy(keras.ops.mean(keras.ops.cast(maps, "float32"), axis=(1, 2))))
    return np.concatenate(out)
