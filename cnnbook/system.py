"""The machine a chapter runs on: backend, accelerator, seeds, precision, and a description of it
all for result records.

    env = cnnbook.system.setup(seed=0, precision="auto")   # before building models
    env["device"], env["backend"], env["precision"]
"""

import datetime
import os
import platform
import re
import subprocess
from pathlib import Path

from cnnbook.errors import check_choice, check_int

PRECISIONS = ("auto", "float32", "mixed_bfloat16", "mixed_float16")


def backend():
    """The Keras backend in use: ``"tensorflow"``, ``"jax"`` or ``"torch"``."""
    import keras

    return keras.backend.backend()


def accelerator():
    """The first GPU the Keras backend sees, as ``{"name": ..., "compute_capability": (major, minor)}``,
    or None when it computes on the CPU."""
    name = backend()
    try:
        if name == "jax":
            import jax

            gpus = [d for d in jax.devices() if d.platform == "gpu"]
            if not gpus:
                return None
            major, minor = (int(v) for v in str(getattr(gpus[0], "compute_capability", "0.0")).split(".")[:2])
            return {"name": gpus[0].device_kind, "compute_capability": (major, minor)}
        if name == "tensorflow":
            import tensorflow as tf

            gpus = tf.config.list_physical_devices("GPU")
            if not gpus:
                return None
            details = tf.config.experimental.get_device_details(gpus[0])
            return {
                "name": details.get("device_name", "GPU"),
                "compute_capability": tuple(details.get("compute_capability", (0, 0))),
            }
        if name == "torch":
            import torch

            if not torch.cuda.is_available():
                return None
            return {"name": torch.cuda.get_device_name(0), "compute_capability": torch.cuda.get_device_capability(0)}
    except Exception:  # a broken driver must not stop a chapter that can run on the CPU
        return None
    return None


def cpu_name():
    """The processor's model name and the number of cores this process may use."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{model} ({cores} cores)"


# CPU feature flags (Linux /proc/cpuinfo names) with native bfloat16 arithmetic: AVX512-BF16
# (dot products, Cooper Lake and later Xeons, Zen 4) and AMX-BF16 (tile matrix multiplies,
# Sapphire Rapids and later). Without them oneDNN emulates bfloat16 and is slower than float32.
BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")
# The flags with which bfloat16 training is also faster than float32, so that "auto" picks it.
# benchmarks/cpu_training.py, ResNet-20 on 2-core Xeons: with AMX, mixed_bfloat16 trained about
# 1.6x faster than float32 on TensorFlow and on PyTorch; on a Xeon with AVX512-BF16 but no AMX,
# float32 was faster on both (TensorFlow 473 against 411 images/s, the PyTorch reference 536
# against 446; results/benchmarks/cpu-training-intel-xeon-processor-avx512-bf16-levers.json).
# AMD's Zen 4 (AVX512-BF16 only) is not measured yet; precision="mixed_bfloat16" forces it.
FAST_BF16_CPU_FLAGS = ("amx_bf16",)
# Backends whose CPU training gets faster in mixed_bfloat16 where the CPU has those flags
# (benchmarks/precision_accuracy.py: the same accuracy). XLA on the CPU (JAX) does not use
# oneDNN's kernels.
BF16_CPU_BACKENDS = ("tensorflow", "torch")


def cpu_slug(hardware, flags=None):
    """The machine's name as benchmark records are named by it:
    ``"Intel(R) Xeon(R) Processor (2 cores)"`` -> ``"intel-xeon-processor"``. With the CPU's
    ``flags``, also its native bfloat16 (``-amx``, ``-avx512-bf16`` or ``-no-bf16``): one name
    covers Xeons with and without AMX, and EPYCs with and without AVX-512, whose speeds differ
    several times (results/benchmarks/cpu-training-*.json)."""
    name = re.sub(r"[^a-z0-9]+", "-", re.sub(r"\((r|tm)\)", "", hardware.split(" (")[0].lower())).strip("-")
    if flags is None:
        return name
    kind = "amx" if "amx_bf16" in flags else "avx512-bf16" if "avx512_bf16" in flags else "no-bf16"
    return f"{name}-{kind}"


def cpu_flags():
    """The processor's feature flags, as a set of names (empty where /proc/cpuinfo is absent)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def choose_precision(precision, device, *, backend_name=None, flags=None):
    """Resolve ``"auto"`` to the fastest precision that trains as well as float32.

    On a GPU: bfloat16 mixed precision from compute capability 8.0 (Ampere) on, float16 with
    loss scaling on 7.x, float32 before. On a CPU: ``mixed_bfloat16`` where the processor's
    bfloat16 arithmetic is measured faster than float32 (AMX, ``FAST_BF16_CPU_FLAGS``; not
    AVX512-BF16 alone) and the backend uses it (``BF16_CPU_BACKENDS``), else float32. Other
    values are returned as given.

    Args:
        precision: ``"auto"`` or one of the Keras dtype policies in `PRECISIONS`.
        device: `accelerator`'s dict, or None for the CPU.
        backend_name: the Keras backend (default: the one in use).
        flags: the CPU's feature flags (default: `cpu_flags`).
    """
    return precision_and_reason(precision, device, backend_name=backend_name, flags=flags)[0]


def precision_and_reason(precision, device, *, backend_name=None, flags=None):
    """`choose_precision`'s answer and why, e.g. ``("mixed_bfloat16", "auto: the CPU has amx_bf16")``."""
    check_choice("precision", precision, PRECISIONS)
    if precision != "auto":
        return precision, "set by the precision parameter"
    if device is not None:
        major, minor = device["compute_capability"][:2]
        chosen = "mixed_bfloat16" if major >= 8 else "mixed_float16" if major >= 7 else "float32"
        return chosen, f"auto: GPU of compute capability {major}.{minor}"
    backend_name = backend_name or backend()
    flags = cpu_flags() if flags is None else set(flags)
    native = [flag for flag in BF16_CPU_FLAGS if flag in flags]
    if not native:
        return "float32", "auto: the CPU has no native bfloat16 (amx_bf16 or avx512_bf16)"
    if not any(flag in flags for flag in FAST_BF16_CPU_FLAGS):
        return "float32", f"auto: the CPU has {native[0]} but no amx_bf16, and trains faster in float32"
    if backend_name not in BF16_CPU_BACKENDS:
        return "float32", f"auto: the CPU has {native[0]}, but {backend_name} trains faster in float32 on a CPU"
    return "mixed_bfloat16", f"auto: the CPU has {native[0]}"


def setup(seed=0, precision="auto"):
    """Seed every random generator, set the global precision policy, and describe the machine.

    Call it before building models: the precision policy applies to layers created afterwards.
    In a notebook it also shows figures at twice their pixels (`cnnbook.plots.sharp_figures`) and
    big integers in tables with thousands separators (`cnnbook.booktools.readable_tables`).
    Returns `describe`'s dict, with the seed, the precision chosen and why
    (``precision_reason``; see `choose_precision`).
    """
    import keras

    seed = check_int("seed", seed, minimum=0)
    device = accelerator()
    chosen, reason = precision_and_reason(precision, device)
    keras.utils.set_random_seed(seed)
    keras.config.set_dtype_policy(chosen)
    from cnnbook import booktools, plots

    plots.sharp_figures()
    booktools.readable_tables()
    return {**describe(device), "seed": seed, "precision": chosen, "precision_reason": reason}


def describe(device=None):
    """Backend, versions, hardware, git commit and date, as a flat dict for result records."""
    import keras

    name = backend()
    device = device if device is not None else accelerator()
    module = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}[name]
    backend_version = getattr(__import__(module), "__version__", "unknown")
    commit, dirty = git_commit()
    return {
        "backend": name,
        "backend_version": backend_version,
        "keras_version": keras.__version__,
        "python": platform.python_version(),
        "device": device["name"] if device else "CPU",
        "hardware": f"{device['name']}; host {cpu_name()}" if device else cpu_name(),
        "git_commit": commit,
        "git_dirty": dirty,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def project_root(start=None):
    """The nearest folder at or above ``start`` (default: the working directory) that holds the
    book's ``_config.yml``; None outside the project (in Colab, for instance)."""
    here = Path(start or os.getcwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "_config.yml").is_file() and (folder / "cnnbook").is_dir():
            return folder
    return None


def git_commit():
    """``(commit, dirty)`` of the project's git checkout, or ``(None, None)`` outside one.

    ``dirty`` is True when tracked files other than notebooks and results differ from the commit,
    or when the package holds files that are not committed (a new module a run may have used).
    """
    root = project_root() or Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        status = subprocess.run(
            # The code's state: notebooks and results change while a chapter runs, so they are left out.
            ["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)notebooks", ":(exclude)results"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
        status += subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=all", "--", "cnnbook"],
            cwd=root, capture_output=True, text=True, timeout=10, check=True,
        ).stdout  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None, None
    return commit, bool(status.strip())
