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
    assert system.choose_precision("auto", device, flags=set()) == expected
    assert system.choose_precision("float32", device) == "float32"


@pytest.mark.parametrize(
    "flags, backend_name, expected",
    [({"avx2", "avx512f", "amx_bf16", "avx512_bf16"}, "tensorflow", "mixed_bfloat16"),  # Sapphire Rapids
     ({"avx2", "avx512f", "amx_bf16", "avx512_bf16"}, "torch", "mixed_bfloat16"),
     ({"avx2", "avx512f", "avx512_bf16"}, "tensorflow", "float32"),  # a Xeon without AMX: bf16 measured slower
     ({"avx2", "avx512f", "avx512_bf16"}, "torch", "float32"),
     ({"avx2", "avx512f", "avx512_vnni"}, "tensorflow", "float32"),  # Cascade Lake: emulated bf16 is slower
     ({"avx2", "fma"}, "torch", "float32"),  # AMD EPYC before Zen 4
     ({"amx_bf16", "avx512_bf16"}, "jax", "float32")],  # XLA on the CPU does not use oneDNN
)  # fmt: skip
def test_auto_precision_on_a_cpu_follows_its_flags_and_the_backend(flags, backend_name, expected):
    chosen, reason = system.precision_and_reason("auto", None, backend_name=backend_name, flags=flags)
    assert chosen == expected
    assert reason.startswith("auto: ")
    if expected == "mixed_bfloat16":
        assert "amx_bf16" in reason
    if "avx512_bf16" in flags and "amx_bf16" not in flags:
        assert "avx512_bf16" in reason, "the reason says why a CPU with bfloat16 trains in float32"
    assert system.choose_precision("float32", None, backend_name=backend_name, flags=flags) == "float32"


def test_cpu_flags_are_read_from_this_machine():
    flags = system.cpu_flags()
    if sys.platform.startswith("linux"):
        assert "fpu" in flags or "fp" in flags or "sse2" in flags  # x86 'fpu'/'sse2', arm 'fp'


def test_setup_records_the_precision_and_why():
    env = system.setup(seed=0, precision="float32")
    assert env["precision"] == "float32" and env["precision_reason"] == "set by the precision parameter"
    env = system.setup(seed=0)
    expected = system.choose_precision("auto", system.accelerator())
    assert env["precision"] == expected and env["precision_reason"].startswith("auto: ")
    import keras

    assert keras.config.dtype_policy().name == expected
    keras.config.set_dtype_policy("float32")


def test_unknown_precision_is_refused():
    with pytest.raises(ParameterError, match="precision='fp8'"):
        system.choose_precision("fp8", None)


def test_describe_names_the_machine_and_the_code():
    info = system.describe()
    assert info["backend"] in ("tensorflow", "jax", "torch")
    assert info["device"] == "CPU" and "cores" in info["hardware"]
    assert info["git_commit"] is None or len(info["git_commit"]) == 40


def test_an_uncommitted_module_of_the_package_makes_the_tree_dirty():
    from cnnbook import system

    root = system.project_root()
    if root is None or not (root / ".git").exists():
        pytest.skip("not a git checkout")
    commit, dirty = system.git_commit()
    module = root / "cnnbook" / "_uncommitted_probe.py"
    module.write_text("# a module a run could import before it is committed\n")
    try:
        assert system.git_commit() == (commit, True)
    finally:
        module.unlink()
    assert system.git_commit() == (commit, dirty)


def test_cpu_slug_names_benchmark_records_by_the_processor():
    from cnnbook import system

    assert system.cpu_slug("Intel(R) Xeon(R) Processor (2 cores)") == "intel-xeon-processor"
    assert system.cpu_slug("AMD EPYC 7B13 (2 cores)") == "amd-epyc-7b13"
    # the same name, three speeds: the record says which bfloat16 the CPU has
    xeon = "Intel(R) Xeon(R) Processor (2 cores)"
    assert system.cpu_slug(xeon, {"avx512f", "amx_bf16", "avx512_bf16"}) == "intel-xeon-processor-amx"
    assert system.cpu_slug(xeon, {"avx512f", "avx512_bf16"}) == "intel-xeon-processor-avx512-bf16"
    assert system.cpu_slug("AMD EPYC 7B13 (2 cores)", {"avx2"}) == "amd-epyc-7b13-no-bf16"
