"""The model registry: every architecture of the book, built by name.

    import cnnbook
    cnnbook.models.names()                       # ['lenet5', 'lenet5_classic', ...]
    model = cnnbook.models.build("lenet5")       # CIFAR-10 size by default
    model = cnnbook.models.build("lenet5", input_shape=(32, 32, 1), num_classes=10)
    backbone = cnnbook.models.build("lenet5", include_top=False, pooling="avg")

Every model is a plain functional ``keras.Model`` with readable layer names that outputs logits
(no softmax), and can be built without its classifier head for transfer learning.
"""

import inspect
from dataclasses import dataclass
from typing import Callable

from cnnbook.errors import ParameterError, check_choice, check_int


@dataclass(frozen=True)
class ModelSpec:
    """What the registry knows about a model: its builder, defaults and source."""

    name: str
    builder: Callable
    input_shape: tuple
    num_classes: int
    min_size: int
    paper: str
    summary: str

    def options(self):
        """The builder's keyword options beyond input_shape and num_classes, with defaults."""
        parameters = inspect.signature(self.builder).parameters.values()
        return {p.name: p.default for p in parameters if p.kind is p.KEYWORD_ONLY}


_REGISTRY = {}


def register(name, *, input_shape, num_classes, min_size, paper, summary):
    """Decorator: register ``builder(input_shape, num_classes, *, options...)`` under ``name``."""

    def decorate(builder):
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} is registered twice")
        _REGISTRY[name] = ModelSpec(name, builder, tuple(input_shape), num_classes, min_size, paper, summary)
        return builder

    return decorate


def names():
    """Names of all registered models, sorted."""
    return sorted(_REGISTRY)


def spec(name):
    """The `ModelSpec` of ``name``; raises `ParameterError` (``model=...``) for unknown names."""
    check_choice("model", name, names())
    return _REGISTRY[name]


def build(name, input_shape=None, num_classes=None, **options):
    """Build the registered model ``name`` as a functional ``keras.Model``.

    Args:
        name: a name from `names`.
        input_shape: (height, width, channels); default: the model's own (CIFAR-10 size for
            CIFAR models, 224x224x3 for ImageNet models).
        num_classes: number of logits of the classifier head; default: the model's own.
        **options: the model's own options (see ``spec(name).options()``), e.g.
            ``include_top=False, pooling="avg"`` for a feature extractor.
    """
    model_spec = spec(name)
    input_shape = model_spec.input_shape if input_shape is None else input_shape
    if (
        not isinstance(input_shape, (tuple, list))
        or len(input_shape) != 3
        or any(isinstance(d, bool) or not isinstance(d, int) or d < 1 for d in input_shape)
    ):
        raise ParameterError("input_shape", input_shape, "give (height, width, channels) as three whole numbers >= 1")
    if min(input_shape[:2]) < model_spec.min_size:
        raise ParameterError(
            "input_shape",
            tuple(input_shape),
            f"{name} needs images of at least {model_spec.min_size}x{model_spec.min_size} pixels",
        )
    num_classes = model_spec.num_classes if num_classes is None else num_classes
    check_int("num_classes", num_classes, minimum=1)
    allowed = model_spec.options()
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        listed = ", ".join(f"{k}={v!r}" for k, v in allowed.items()) or "none"
        raise ParameterError(
            unknown[0], options[unknown[0]], f"{name} has no option {unknown[0]!r}; its options are: {listed}"
        )
    if "pooling" in options and options["pooling"] is not None:
        check_choice("pooling", options["pooling"], (None, "avg", "max"))
    return model_spec.builder(tuple(input_shape), num_classes, **options)


# Importing the model modules registers their models.
from cnnbook.models import alexnet, densenet, googlenet, inception, lenet, nin, resnet, speednet, vgg  # noqa: E402,F401
