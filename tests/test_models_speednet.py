"""The wide VGG-style net of fast CIFAR-10 training (cnnbook.models.speednet)."""

import pytest

import cnnbook
from cnnbook.errors import ParameterError


def test_speednet_counts_and_shapes():
    model = cnnbook.models.build("speednet")
    # stem 3x3x3x32; blocks 32->64->64, 64->256->256, 256->256->256 (3x3, no bias);
    # 4 BN values per map (gamma, beta, moving mean and variance); classifier 256x10 + 10.
    convs = 27 * 32 + 9 * (32 * 64 + 64 * 64 + 64 * 256 + 256 * 256 + 256 * 256 + 256 * 256)
    norms = 4 * (32 + 2 * 64 + 4 * 256)
    assert model.count_params() == convs + norms + 2570 == 1_980_394
    assert model.output.shape == (None, 10)
    names = [layer.name for layer in model.layers]
    # Pooling comes before the block's first normalization (the speedrun order).
    assert names.index("block1_1_maxpool") < names.index("block1_1_bn")
    assert cnnbook.counting.totals(model)["macs"] > 3.5 * cnnbook.counting.totals(cnnbook.models.build("resnet20"))["macs"]


def test_speednet_widths_are_checked():
    assert cnnbook.models.build("speednet", widths=(8, 16), stem=4).count_params() < 10_000
    with pytest.raises(ParameterError, match="widths"):
        cnnbook.models.build("speednet", widths=())
    with pytest.raises(ParameterError, match="stem"):
        cnnbook.models.build("speednet", stem=0)
