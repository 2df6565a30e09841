"""The machine a chapter runs on: backend, accelerator, seeds, precision, and a description of it
all for result records.

    env = cnnbook.system.setup(seed=0, precision="auto")   # before building models
    env["device"], env["backend"], env["precision"]
"""

import datetime
import os
import platform
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


def choose_precision(precision, device):
    """Resolve ``"auto"``: bfloat16 mixed precision on GPUs that have it (compute capability 8.0,
    Ampere, and later), float16 with loss scaling on older GPUs (7.x), float32 on CPUs."""
    check_choice("precision", precision, PRECISIONS)
    if precision != "auto":
        return precision
    if device is None:
        return "float32"
    major = device["compute_capability"][0]
    return "mixed_bfloat16" if major >= 8 else "mixed_float16" if major >= 7 else "float32"


def setup(seed=0, precision="auto"):
    """Seed every random generator, set the global precision policy, and describe the machine.

    Call it before building models: the precision policy applies to layers created afterwards.
    Returns `describe`'s dict, with the seed and the precision chosen.
    """
    import keras

    seed = check_int("seed", seed, minimum=0)
    device = accelerator()
    chosen = choose_precision(precision, device)
    keras.utils.set_random_seed(seed)
    keras.config.set_dtype_policy(chosen)
    return {**describe(device), "seed": seed, "precision": chosen}


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

    ``dirty`` is True when tracked files other than notebooks and results differ from the commit.
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
    except (OSError, subprocess.SubprocessError):
        return None, None
    return commit, bool(status.strip())
