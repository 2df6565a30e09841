"""cnnbook.memory: the activations a training step stores, counted on graphs whose answer is
known, and XLA's measurement of a compiled step."""

import keras
import pytest

import cnnbook
from cnnbook import memory
from cnnbook.errors import CnnbookError, ParameterError


def test_counts_every_output_and_the_concatenations_a_memory_efficient_densenet_recomputes():
    inputs = keras.Input((8, 8, 3))
    a = keras.layers.Conv2D(4, 3, padding="same")(inputs)  # 256 values per image
    b = keras.layers.Conv2D(2, 3, padding="same")(a)  # 128
    c = keras.layers.Concatenate()([a, b])  # 384: recomputed
    d = keras.layers.BatchNormalization()(c)  # 384: recomputed (normalizes a concatenation)
    e = keras.layers.ReLU()(d)  # 384: recomputed
    f = keras.layers.Conv2D(2, 1)(e)  # 128: a convolution is stored
    g = keras.layers.BatchNormalization()(f)  # 128: its input is stored, so is it
    counts = memory.stored_activations(keras.Model(inputs, g))
    assert counts == {"all": 1792, "concatenations": 1152, "efficient": 640}


def test_a_network_without_concatenation_is_already_efficient():
    counts = memory.stored_activations(cnnbook.models.build("resnet_cifar", depth=8))
    assert counts["concatenations"] == 0
    assert counts["efficient"] == counts["all"] > 0


def test_densenet_recomputes_its_concatenations_and_their_batch_norm_and_relu():
    net = cnnbook.models.build("densenet_bc_cifar", depth=16)  # two layers per block
    layers = [layer for layer in net.layers if not isinstance(layer, keras.Model)]
    layers += [layer for inner in net.layers if isinstance(inner, keras.Model) for layer in inner.layers]
    # Every concatenation, and the BN-ReLU after it: in the layers (but the first of a block, which
    # normalizes the block's input), in the transitions and at the end.
    recomputed = [l for l in layers if l.name.endswith("_concat")
                  or (l.name.endswith(("_0_bn", "_0_relu")) and "_block1_" not in l.name)
                  or (l.name.startswith("pool") and l.name.endswith(("_bn", "_relu")))
                  or l.name in ("bn", "relu")]  # fmt: skip
    counts = memory.stored_activations(net)
    assert len(recomputed) == 3 * (2 + 2) + 2 * 2 + 2
    assert counts["concatenations"] == sum(int(l.output.shape[1] * l.output.shape[2] * l.output.shape[3])
                                           for l in recomputed)  # fmt: skip
    deeper = memory.stored_activations(cnnbook.models.build("densenet_bc_cifar", depth=28))  # four per block
    # A block's concatenations grow with the square of its layers, the rest linearly.
    assert deeper["concatenations"] / counts["concatenations"] > deeper["efficient"] / counts["efficient"] + 0.5


@pytest.mark.slow
def test_step_memory_measures_a_compiled_step_that_grows_with_the_batch():
    small = memory.step_memory("densenet_bc_cifar", batch_size=4, depth=10, input_shape=(16, 16, 3))
    large = memory.step_memory("densenet_bc_cifar", batch_size=16, depth=10, input_shape=(16, 16, 3))
    assert small["batch_size"] == 4 and small["options"] == {"depth": 10, "input_shape": [16, 16, 3]}
    # Activations scale with the batch; the weights do not.
    assert 3 < large["temp_bytes"] / small["temp_bytes"] < 5
    assert large["argument_bytes"] - small["argument_bytes"] == 12 * 16 * 16 * 3 * 4 + 12 * 4


def test_step_memory_says_what_failed():
    with pytest.raises(ParameterError, match="precision"):
        memory.step_memory("resnet20", precision="float16")
    with pytest.raises(CnnbookError, match="measuring the memory of no_such_net under JAX failed: .*no_such_net"):
        memory.step_memory("no_such_net")
