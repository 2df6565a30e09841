"""cnnbook: the package behind the executable book on classic convolutional networks.

Importing ``cnnbook`` is cheap: it loads no data, builds no model and does not import Keras or a
backend. The submodules load on first use::

    import cnnbook
    (x_train, y_train), (x_test, y_test) = cnnbook.data.load_cifar10()
    model = cnnbook.models.build("lenet5")

Submodules: ``config`` (chapter parameters and profiles), ``data`` (CIFAR-10, subsets, splits,
normalization), ``layers`` (custom Keras layers, augmentation among them), ``blocks`` (shared
building blocks), ``models`` (the model registry), ``train`` (the training recipe), ``results``
(result records), ``counting`` (parameters and FLOPs per layer), ``plots`` and ``system``
(hardware, backend, seeds and precision), ``pretrained`` (ImageNet backbones, offline when a
weights file is at hand), ``sweep`` (``python -m cnnbook sweep``) and ``studies`` (the notebooks
that chapters sweep).
"""

import importlib

__version__ = "0.1.0"

_SUBMODULES = (
    "blocks",
    "config",
    "counting",
    "data",
    "errors",
    "layers",
    "memory",
    "models",
    "plots",
    "pretrained",
    "results",
    "studies",
    "sweep",
    "system",
    "train",
)

__all__ = ["__version__", *_SUBMODULES]


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'cnnbook' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
