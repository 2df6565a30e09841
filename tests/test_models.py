"""The registry-wide contract: what every registered model does, checked for each name in
``cnnbook.models.names()``, so that a new family is checked without a line here.

Every model: is registered with its paper and a summary, builds by name with readable and
unique layer names, outputs finite logits per class, can be built without its head (``pooling``
None, "avg" or "max", each on a third of the models) as its body's layers and parameters,
refuses a bad value of each option with an error that names it, has every layer counted by
`cnnbook.counting`, and gives the same outputs after a ``.keras`` save and reload (a variant
whose kinds of layers an earlier variant of its builder has reloaded is not reloaded again).

The models are built at their smallest input (at least 32x32) with 10 classes: the
architecture is the same at every size, only the maps and the classifier shrink. Each is built
twice, with and without its head. The families' own files (tests/test_models_*.py) check the
papers' facts.
"""

import re

import keras
import numpy as np
import pytest

import cnnbook
from cnnbook.counting import totals
from cnnbook.errors import ParameterError

NAMES = cnnbook.models.names()

# Names Keras makes up for a layer that was not named (``conv2d_3``, ``dense``...); "flatten" and
# "dropout" are ours (the heads of `cnnbook.blocks`).
KERAS_DEFAULT = (
    r"[a-z_0-9]*?_\d+|conv2d|dense|activation|add|concatenate|rescaling|batch_normalization"
    r"|max_pooling2d|average_pooling2d|zero_padding2d|depthwise_conv2d|input_layer"
)

# The two deepest variants (4,210 and 3,339 layers) take a minute each to build, save and reload on
# a CPU; their builders are checked at smaller depths (resnet56 and resnet164v2 are the same
# builders), and `test_the_deepest_variants_are_their_builders_at_a_fixed_depth` checks that.
DEEPEST = {"resnet1202", "resnet1001v2"}
CHECKED = [name for name in NAMES if name not in DEEPEST]


def small_shape(name):
    spec = cnnbook.models.spec(name)
    size = max(spec.min_size, 32)
    return (size, size, spec.input_shape[2])


def build(name, **options):
    return cnnbook.models.build(name, input_shape=small_shape(name), num_classes=10, **options)


def numpy(x):
    return keras.ops.convert_to_numpy(x)


def facts_of(name, folder, reloaded_types):
    """What the tests need from the model built with its head, so that the model can be freed.

    The model is saved and reloaded unless an earlier variant of its builder, reloaded, had all of
    its kinds of layers (``reloaded_types``: builder -> layer classes): resnet32 is resnet20 with
    more blocks of the same layers.
    """
    keras.backend.clear_session()
    model = build(name)
    x = np.random.default_rng(0).normal(size=(2, *small_shape(name))).astype("float32")
    out = numpy(model(x, training=False))
    facts = {
        "model_name": model.name,
        "layers": [layer.name for layer in model.layers],
        "layer_params": {layer.name: layer.count_params() for layer in model.layers},
        "totals": totals(model),
        "params": model.count_params(),
        "output": out,
        "logits": [layer.activation is keras.activations.linear for layer in model.layers if layer.name == "predictions"],
    }
    function, types = cnnbook.models.spec(name).function, {type(layer) for layer in model.layers}
    facts["reloaded"] = None
    if not types <= reloaded_types.setdefault(function, set()):
        path = folder / f"{name}.keras"
        model.save(path)
        again = keras.saving.load_model(path)
        same_types = [type(layer) for layer in again.layers] == [type(layer) for layer in model.layers]
        facts["reloaded"] = (same_types, numpy(again(x, training=False)))
        reloaded_types[function] |= types
        del again
    del model
    keras.backend.clear_session()
    return facts


@pytest.fixture(scope="module")
def facts(tmp_path_factory):
    """``facts(name)``: the `facts_of` a registered model, computed once per module."""
    cache, reloaded_types = {}, {}

    def get(name):
        if name not in cache:
            cache[name] = facts_of(name, tmp_path_factory.mktemp(name), reloaded_types)
        return cache[name]

    yield get
    cache.clear()


# ---------------------------------------------------------------------------- the registry


def test_every_family_module_registers_models_with_papers_and_summaries():
    families = cnnbook.models.families()
    assert {"lenet", "alexnet", "vgg", "nin", "googlenet", "inception", "resnet", "densenet"} <= set(families)
    registered = {cnnbook.models.spec(name).builder.__module__.rsplit(".", 1)[1] for name in NAMES}
    assert registered == set(families), "a module of cnnbook/models registers no model"
    assert NAMES == sorted(NAMES) and len(NAMES) == len(set(NAMES))
    for name in NAMES:
        spec = cnnbook.models.spec(name)
        assert re.fullmatch(r"[a-z][a-z0-9_]*", name), name
        assert re.search(r"\((19|20)\d\d\)", spec.paper), (name, spec.paper)
        assert spec.summary and spec.builder.__doc__, name
        assert len(spec.input_shape) == 3 and spec.input_shape[2] == 3 and spec.num_classes in (10, 1000), name
        assert 1 <= spec.min_size <= min(spec.input_shape[:2]), name
        options = spec.options()
        assert list(options)[:2] == ["include_top", "pooling"] and options["include_top"] is True, name
        assert options["pooling"] is None, name
        assert not set(spec.fixed) & set(options), f"{name}: a fixed argument is also an option"


def test_an_unknown_model_name_says_what_exists():
    with pytest.raises(ParameterError) as error:
        cnnbook.models.build("lenet6")
    message = str(error.value)
    assert message.startswith("model='lenet6' is not allowed")
    assert "'lenet5'" in message and "did you mean" in message


@pytest.mark.parametrize(
    "kwargs, pattern",
    [({"dropout": 0.5}, "lenet5 has no option 'dropout'"), ({"num_classes": 0}, "num_classes=0"),
     ({"input_shape": (32, 32)}, "input_shape="), ({"pooling": "mean", "include_top": False}, "pooling='mean'")],
)  # fmt: skip
def test_bad_build_arguments_are_named(kwargs, pattern):
    with pytest.raises(ParameterError, match=re.escape(pattern)):
        cnnbook.models.build("lenet5", **kwargs)


def test_variants_are_data_and_fixed_arguments_are_not_options():
    resnet20 = cnnbook.models.spec("resnet20")
    assert resnet20.fixed == {"plain": False, "depth": 20} and resnet20.function.__name__ == "resnet_cifar"
    assert resnet20.options() == {"include_top": True, "pooling": None, "shortcut": "A"}
    assert cnnbook.models.spec("resnet_cifar").options()["depth"] == 56  # a variant's own default
    assert cnnbook.models.spec("plain_cifar").options() == {"include_top": True, "pooling": None, "depth": 20}
    with pytest.raises(ParameterError, match=re.escape("resnet20 has no option 'depth'")):
        cnnbook.models.build("resnet20", depth=32)
    with pytest.raises(TypeError, match="has no option 'depth'"):
        resnet20.builder((32, 32, 3), 10, depth=32)


def test_registering_checks_the_variant_against_its_builder():
    def builder(input_shape, num_classes, *, depth, width=4):
        raise AssertionError("not built")

    register = cnnbook.models.register
    preset = cnnbook.models.CIFAR10
    with pytest.raises(TypeError, match="needs 'depth', which the variant must fix"):
        register("x_unfixed", preset=preset, min_size=1, paper="P (2000)", summary="s")(builder)
    with pytest.raises(TypeError, match="has no keyword argument 'height'"):
        register("x_unknown", preset=preset, min_size=1, paper="P (2000)", summary="s", fixed={"height": 1})(builder)
    with pytest.raises(ValueError, match="'lenet5' is registered twice"):
        register("lenet5", preset=preset, min_size=1, paper="P (2000)", summary="s", fixed={"depth": 1})(builder)
    assert not {"x_unfixed", "x_unknown"} & set(cnnbook.models.names())


# ---------------------------------------------------------------------------- every model


@pytest.mark.parametrize("name", CHECKED)
def test_layer_names_are_readable_and_unique(facts, name):
    names = facts(name)["layers"]
    assert len(names) == len(set(names)) and names[0] == "image"
    # The model is named after the variant (a builder with a depth option: after its depth, "resnet56").
    assert facts(name)["model_name"] == name or "depth" in cnnbook.models.spec(name).options(), facts(name)["model_name"]
    for layer_name in names:
        assert not re.fullmatch(KERAS_DEFAULT, layer_name), layer_name


@pytest.mark.parametrize("name", CHECKED)
def test_every_layer_is_counted(facts, name):
    counted = facts(name)["totals"]
    assert counted["uncounted"] == []
    assert counted["macs"] > 0 and counted["params"] == facts(name)["params"]


@pytest.mark.parametrize("name", CHECKED)
def test_the_model_outputs_finite_logits_per_class(facts, name):
    out = facts(name)["output"]
    assert out.shape == (2, 10) and np.isfinite(out).all()
    assert all(facts(name)["logits"])  # no softmax in the model: the losses take logits


@pytest.mark.parametrize("name", CHECKED)
def test_without_top_the_model_is_a_feature_extractor(facts, name):
    # Each pooling (None, "avg", "max") in turn, a third of the models each: one more build per model.
    pooling = (None, "avg", "max")[CHECKED.index(name) % 3]
    keras.backend.clear_session()
    model = build(name, include_top=False, pooling=pooling)
    body = [layer.name for layer in model.layers if not layer.name.startswith("pool_global_")]
    assert not {"predictions", "predictions_conv", "fc6_dense", "f6_dense", "dropout"} & set(body)
    assert set(body) < set(facts(name)["layers"])  # the same network, less its head
    assert model.count_params() == sum(facts(name)["layer_params"][n] for n in body)
    features = model.layers[-1].input if pooling else model.output
    assert len(features.shape) == 4  # a feature map: batch, height, width, channels
    if pooling:
        kind = {"avg": keras.layers.GlobalAveragePooling2D, "max": keras.layers.GlobalMaxPooling2D}[pooling]
        assert isinstance(model.layers[-1], kind) and model.layers[-1].name == f"pool_global_{pooling}"
        assert tuple(model.output.shape[1:]) == (features.shape[-1],)


def _bad_values(default):
    """A value of the option's kind that no model accepts, or None where there is none to try."""
    if isinstance(default, bool):
        return "maybe"
    if isinstance(default, str):
        return "nonsense"
    if isinstance(default, (int, float)):
        return -1
    if isinstance(default, tuple):
        return ()
    return None


@pytest.mark.parametrize("name", CHECKED)
def test_a_bad_option_is_refused_with_its_name(name):
    options = cnnbook.models.spec(name).options()
    with pytest.raises(ParameterError, match=re.escape(f"{name} has no option 'no_such_option'; its options are: "
                                                       "include_top=True, pooling=None")):  # fmt: skip
        cnnbook.models.build(name, no_such_option=1)
    with pytest.raises(ParameterError, match=re.escape("pooling='mean' is not allowed")):
        cnnbook.models.build(name, include_top=False, pooling="mean")
    for option, default in options.items():
        bad = _bad_values(default)
        if option in ("include_top", "pooling") or bad is None:
            continue
        with pytest.raises(ParameterError, match=re.escape(f"{option}={bad!r} is not allowed")):
            build(name, **{option: bad})


@pytest.mark.parametrize("name", CHECKED)
def test_saving_and_reloading_gives_the_same_outputs(facts, name):
    if facts(name)["reloaded"] is None:
        return  # all its kinds of layers were saved and reloaded with an earlier variant of its builder
    same_types, reloaded = facts(name)["reloaded"]
    expected = facts(name)["output"]
    assert same_types  # custom layers come back as themselves
    np.testing.assert_allclose(reloaded, expected, rtol=1e-4, atol=1e-4 * max(1.0, np.abs(expected).max()))


def test_the_deepest_variants_are_their_builders_at_a_fixed_depth():
    # What DEEPEST leaves out is checked through the builder they share with the others.
    for name, generic, checked in (("resnet1202", "resnet_cifar", "resnet56"),
                                   ("resnet1001v2", "resnet_cifar_v2", "resnet164v2")):  # fmt: skip
        spec, other, same = (cnnbook.models.spec(n) for n in (name, generic, checked))
        assert spec.function is other.function is same.function
        assert set(spec.fixed) == set(same.fixed) == {"depth"} | set(other.fixed)
        assert spec.input_shape == other.input_shape and spec.options() == same.options()


def test_width_multipliers_round_every_count_and_keep_at_least_one():
    from cnnbook import blocks

    assert blocks.scaled(64, 0.5) == 32 and blocks.scaled(3, 0.25) == 1  # 0.75 rounds to 1, and never to 0
    assert blocks.scaled(1, 0.1) == 1
    assert blocks.scaled((64, (96, 128), [16, 32]), 0.5) == (32, (48, 64), (8, 16))  # nested as a module's branches
    assert blocks.check_width(0.5) == 0.5
    for bad in (0, -1, 5, "half"):
        with pytest.raises(ParameterError, match="width"):
            blocks.check_width(bad)
    assert blocks.check_width(8, maximum=8) == 8
