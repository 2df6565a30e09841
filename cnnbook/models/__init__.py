"""The model registry: every architecture of the book, built by name.

    import cnnbook
    cnnbook.models.names()                       # ['alexnet', 'alexnet_cifar', ...]
    model = cnnbook.models.build("lenet5")       # CIFAR-10 size by default
    model = cnnbook.models.build("lenet5", input_shape=(32, 32, 1), num_classes=10)
    backbone = cnnbook.models.build("lenet5", include_top=False, pooling="avg")

Every model is a plain functional ``keras.Model`` with readable layer names that outputs logits
(no softmax), and can be built without its classifier head for transfer learning.

**Adding a family** is one file in this package: every module here is imported when the
registry is, and so registers its models. Its builder adds the layers and returns
a `Network`: the input, the last feature map and the function that adds the classifier head;
the registry does ``include_top`` and ``pooling`` for every model. Variants are data: one
``@register`` line each, with the builder's arguments that the variant fixes (``fixed``, not
options of the variant) or whose defaults it changes (``defaults``)::

    cifar = functools.partial(register, preset=CIFAR10, min_size=8, paper=_PAPER)

    @cifar("resnet20", summary="ResNet-20 for CIFAR (Section 4.2)", fixed={"depth": 20})
    @cifar("resnet_cifar", summary="ResNet for CIFAR of any depth 6n+2", defaults={"depth": 56})
    def resnet_cifar(input_shape, num_classes, *, depth, shortcut="A"):
        inputs = keras.layers.Input(input_shape, name="image")
        ...
        return Network(inputs, x, blocks.pooled_top(num_classes), name=f"resnet{depth}")

``spec("resnet20").options()`` is then ``{"include_top": True, "pooling": None, "shortcut": "A"}``.
The registry-wide tests (``tests/test_models.py``) check every registered model; a family's own
test file checks the paper's facts.
"""

import functools
import importlib
import inspect
import pkgutil
from dataclasses import dataclass, field
from typing import Callable, NamedTuple

from cnnbook.errors import ParameterError, check_choice, check_int


class Network(NamedTuple):
    """What a builder returns: the model's input, its last feature map (what ``include_top=False``
    gives), the function that adds the classifier head to it, and the model's name (default: the
    registered name)."""

    inputs: object
    features: object
    top: Callable
    name: str | None = None


@dataclass(frozen=True)
class Preset:
    """The images and classes a model is registered for (its default input shape and classes)."""

    input_shape: tuple
    num_classes: int

    def resized(self, size):
        """The same preset for ``size`` x ``size`` images (AlexNet: 227, Inception v3: 299)."""
        return Preset((size, size, self.input_shape[2]), self.num_classes)


CIFAR10 = Preset((32, 32, 3), 10)
IMAGENET = Preset((224, 224, 3), 1000)

# Options that the registry adds to every model.
HEAD_OPTIONS = {"include_top": True, "pooling": None}


@dataclass(frozen=True)
class ModelSpec:
    """What the registry knows about a model: its builder, defaults and source.

    ``builder(input_shape, num_classes, **options)`` builds the ``keras.Model``; ``function`` is
    the family's builder it calls, with ``fixed`` (the variant's own arguments, not options) and
    ``defaults`` (the variant's option defaults, where they differ from the function's).
    """

    name: str
    builder: Callable
    input_shape: tuple
    num_classes: int
    min_size: int
    paper: str
    summary: str
    function: Callable = field(repr=False, default=None)
    fixed: dict = field(default_factory=dict)
    defaults: dict = field(default_factory=dict)

    def options(self):
        """The model's keyword options beyond input_shape and num_classes, with defaults."""
        own = {
            p.name: self.defaults.get(p.name, p.default)
            for p in inspect.signature(self.function).parameters.values()
            if p.kind is p.KEYWORD_ONLY and p.name not in self.fixed and p.name not in HEAD_OPTIONS
        }
        return {**HEAD_OPTIONS, **own}


_REGISTRY = {}


def register(name, *, preset, min_size, paper, summary, fixed=None, defaults=None):
    """Decorator: register the variant ``name`` of ``function(input_shape, num_classes, *, ...)``,
    a builder that returns a `Network`; decorators stack, one line per variant.

    Args:
        name: the registered name (lowercase, as ``build`` takes it).
        preset: the default input shape and number of classes (`CIFAR10`, `IMAGENET`, ...).
        min_size: the smallest height and width the model accepts.
        paper: the paper (authors, year, title) the model comes from.
        summary: one line on what this variant is.
        fixed: the builder's keyword arguments this variant fixes; they are not its options.
        defaults: option defaults of this variant that differ from the builder's.
    """
    fixed, defaults = dict(fixed or {}), dict(defaults or {})

    def decorate(function):
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} is registered twice")
        keywords = {
            p.name: p for p in inspect.signature(function).parameters.values() if p.kind is p.KEYWORD_ONLY
        }
        unknown = sorted((set(fixed) | set(defaults)) - set(keywords))
        if unknown:
            raise TypeError(f"{name}: {function.__name__}() has no keyword argument {unknown[0]!r}")
        missing = [k for k, p in keywords.items() if p.default is p.empty and k not in fixed and k not in defaults]
        if missing:
            raise TypeError(f"{name}: {function.__name__}() needs {missing[0]!r}, which the variant must fix")
        spec = ModelSpec(name, None, tuple(preset.input_shape), preset.num_classes, min_size, paper, summary,
                         function, fixed, defaults)  # fmt: skip
        object.__setattr__(spec, "builder", _builder(spec, passes_top="include_top" in keywords))
        _REGISTRY[name] = spec
        return function

    return decorate


def _builder(spec, *, passes_top):
    """The complete builder of a variant: its function's `Network`, finished with or without the head."""
    from cnnbook import blocks

    @functools.wraps(spec.function)
    def builder(input_shape, num_classes, *, include_top=True, pooling=None, **options):
        allowed = spec.options()
        unknown = sorted(set(options) - set(allowed))
        if unknown:
            raise TypeError(f"{spec.name} has no option {unknown[0]!r}")
        arguments = {**spec.defaults, **options, **spec.fixed}
        if passes_top:  # a builder whose extra heads need the main one (auxiliary classifiers)
            arguments["include_top"] = include_top
        network = spec.function(input_shape, num_classes, **arguments)
        return blocks.head_or_features(network.inputs, network.features, include_top=include_top, pooling=pooling,
                                       top=network.top, name=network.name or spec.name)  # fmt: skip

    builder.__name__ = builder.__qualname__ = spec.name
    return builder


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


def families():
    """The modules of this package, one per family of models (``["alexnet", "densenet", ...]``)."""
    return sorted(module.name for module in pkgutil.iter_modules(__path__) if not module.name.startswith("_"))


# Importing a family's module registers its models: every module of this package is a family.
for _family in families():
    importlib.import_module(f"{__name__}.{_family}")
del _family
