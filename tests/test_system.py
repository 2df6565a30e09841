import subprocess
import sys

import pytest

from cnnbook import system
from cnnbook.errors import ParameterError


def test_importing_cnnbook_is_cheap():
    code = (
        "import sys, cnnbook, cnnbook.data, cnnbook.errors, cnnbook.config, cnnbook.results\n"
        "heavy = [m for m in ('keras', 'tensorflow', 'jax', 'torch', 'matplotlib', 'pandas') if m in sys.modules]\n"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize(
    "device, expected",
    [(None, "float32"), ({"name": "H200", "compute_capability": (9, 0)}, "mixed_bfloat16"),
     ({"name": "T4", "compute_capability": (7, 5)}, "mixed_float16"),
     ({"name": "K80", "compute_capability": (3, 7)}, "float32")],
)  # fmt: skip
def test_auto_precision_follows_the_hardware(device, expected):
    assert system.choose_precision("auto", device) == expected
    assert system.choose_precision("float32", device) == "float32"


def test_unknown_precision_is_refused():
    with pytest.raises(ParameterError, match="precision='fp8'"):
        system.choose_precision("fp8", None)


def test_describe_names_the_machine_and_the_code():
    info = system.describe()
    assert info["backend"] in ("tensorflow", "jax", "torch")
    assert info["device"] == "CPU" and "cores" in info["hardware"]
    assert info["git_commit"] is None or len(info["git_commit"]) == 40
