"""LeNet-5 against LeCun et al. (1998): the paper's parameters layer by layer, its map sizes, the
modern reading's count by hand. The checks every model passes are in tests/test_models.py."""

import keras
import numpy as np
import pytest

import cnnbook

LENETS = ("lenet5", "lenet5_classic")


def params_by_prefix(model, prefix):
    return sum(layer.count_params() for layer in model.layers if layer.name.startswith(prefix + "_"))


def test_the_lenets_are_registered_with_the_paper():
    spec = cnnbook.models.spec("lenet5")
    assert spec.input_shape == (32, 32, 3) and spec.num_classes == 10 and "1998" in spec.paper
    assert spec.options() == {"include_top": True, "pooling": None}
    assert cnnbook.models.spec("lenet5_classic").options() == {"include_top": True, "pooling": None}


@pytest.mark.parametrize("name", LENETS)
def test_lenets_output_logits_per_class(name):
    model = cnnbook.models.build(name, num_classes=7)
    assert isinstance(model, keras.Model) and model.name == name
    out = keras.ops.convert_to_numpy(model(np.zeros((3, 32, 32, 3), "float32")))
    assert out.shape == (3, 7)


def test_classic_lenet5_has_the_papers_parameters_layer_by_layer():
    # LeCun et al. (1998), Section II.B: C1 156, S2 12, C3 1,516, S4 32, C5 48,120, F6 10,164;
    # together the "60,000 trainable parameters" of the paper.
    model = cnnbook.models.build("lenet5_classic", input_shape=(32, 32, 1))
    counts = {p: params_by_prefix(model, p) for p in ("c1", "s2", "c3", "s4", "c5", "f6")}
    assert counts == {"c1": 156, "s2": 12, "c3": 1516, "s4": 32, "c5": 48120, "f6": 10164}
    assert sum(counts.values()) == 60000
    assert model.count_params() == 60000 + 84 * 10 + 10  # plus the logits layer


def test_modern_lenet5_parameter_count_by_hand():
    model = cnnbook.models.build("lenet5")  # 32x32x3
    by_hand = (5 * 5 * 3 + 1) * 6 + (5 * 5 * 6 + 1) * 16 + (5 * 5 * 16 + 1) * 120 + (120 + 1) * 84 + (84 + 1) * 10
    assert by_hand == 62006
    assert model.count_params() == by_hand


@pytest.mark.parametrize("name", LENETS)
def test_feature_maps_have_the_papers_sizes(name):
    model = cnnbook.models.build(name)
    sizes = {p: model.get_layer(f"{p}_conv").output.shape[1:] for p in ("c1", "c3", "c5")}
    assert sizes == {"c1": (28, 28, 6), "c3": (10, 10, 16), "c5": (1, 1, 120)}


@pytest.mark.parametrize("name", LENETS)
def test_without_top_the_features_are_c5s_120_maps(name):
    features = cnnbook.models.build(name, include_top=False)
    assert features.output.shape[1:] == (1, 1, 120)
    pooled = cnnbook.models.build(name, include_top=False, pooling="avg")
    assert pooled.output.shape[1:] == (120,)
    assert not any(layer.name in ("f6_dense", "predictions") for layer in pooled.layers)


def test_a_too_small_input_is_refused_with_the_minimum():
    with pytest.raises(cnnbook.errors.ParameterError, match="at least 32x32"):
        cnnbook.models.build("lenet5", input_shape=(28, 28, 1))
