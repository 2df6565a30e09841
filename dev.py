#!/usr/bin/env python3
"""Developer commands for cnnbook. Needs only Python 3.10+; installs the rest into .venv/.

    python3 dev.py book      build the book into _build/html (warnings are errors)
    python3 dev.py test      run every test: unit tests, then each notebook under nbval (smoke profile);
                             prepares .data/ from ../shared first when no CIFAR-10 is at hand
    python3 dev.py data      write .data/cifar-10-batches-py/ from ../shared/datasets/cifar10
    python3 dev.py lab [--backend B] [jupyter lab options]
                             open the chapters in JupyterLab, in .venv/, on Keras backend B
                             (tensorflow, jax or torch; default $KERAS_BACKEND, else tensorflow)
    python3 dev.py sync      rewrite the notebooks' Colab setup cells from _config.yml
    python3 dev.py lock      rewrite constraints.txt from what .venv/ holds
    python3 dev.py new-chapter NN name [--model M] [--title T]
                             write notebooks/NN_name.ipynb from the chapter template, list it in _toc.yml

Arguments after `test` go to pytest: `python3 dev.py test tests/test_data.py -x`.
Environment: KERAS_BACKEND chooses the backend of the tests (default tensorflow); CNNBOOK_DATA
points at CIFAR-10 (default .data/ when it holds the data). `test` also installs Debian's Chromium
for the browser test of the built site (tests/test_site.py) when it runs as root on Debian.
"""

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
CONSTRAINTS = ROOT / "constraints.txt"
SHARED_CIFAR = ROOT.parent / "shared"

# What each command installs into .venv/ (extras of pyproject.toml).
GROUPS = {
    "book": ["jupyter-book>=1.0.4,<2"],
    "test": ["-e", ".[test,tensorflow,jax,torch]"],
}

# Native libraries (TensorFlow's oneDNN notice, XLA, CUDA) write to the process's stderr file
# descriptor; ipykernel would copy those lines into the executed cell, where they are noise in
# the book and break nbval. This keeps them in the kernel's terminal; Python-level warnings and
# errors still reach the cell. IPython reads this file from {sys.prefix}/etc/ipython/.
KERNEL_CONFIG = """\
# Written by dev.py: native libraries' start-up logs stay out of executed notebooks.
c.IPKernelApp.capture_fd_output = False
"""


def run(*command, **kwargs):
    print("+", " ".join(str(c) for c in command), flush=True)
    return subprocess.run([str(c) for c in command], check=True, **kwargs)


def ensure_venv(group):
    """Create .venv/ and install ``group``'s packages, unless its stamp says they are current."""
    if not PYTHON.exists():
        print(f"creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
        run(PYTHON, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    digest = hashlib.sha256(
        (ROOT / "pyproject.toml").read_bytes() + CONSTRAINTS.read_bytes() + json.dumps(GROUPS[group]).encode()
    ).hexdigest()[:16]
    stamp = VENV / f".installed-{group}"
    if not stamp.exists() or stamp.read_text() != digest:
        run(PYTHON, "-m", "pip", "install", "--quiet", "-c", CONSTRAINTS, *GROUPS[group], cwd=ROOT)
        stamp.write_text(digest)
    config = VENV / "etc" / "ipython" / "ipython_kernel_config.py"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(KERNEL_CONFIG)


def default_data():
    """CNNBOOK_DATA as given, else .data/ when it holds CIFAR-10."""
    if os.environ.get("CNNBOOK_DATA"):
        return os.environ["CNNBOOK_DATA"]
    local = ROOT / ".data"
    return str(local) if (local / "cifar-10-batches-py").is_dir() else None


def ensure_data():
    """`default_data`, after writing .data/ from ../shared when neither it nor CNNBOOK_DATA has
    CIFAR-10 and ../shared does (a fresh clone beside the project's shared folder)."""
    data = default_data()
    if data is None and (SHARED_CIFAR / "tools" / "cifar10_unpack.py").exists():
        print("CIFAR-10 is neither in CNNBOOK_DATA nor in .data/: preparing it from ../shared", flush=True)
        cmd_data([])
        data = default_data()
    return data


def cmd_book(args):
    ensure_venv("book")
    shutil.rmtree(ROOT / "_build" / ".doctrees", ignore_errors=True)  # a stale cache hides warnings
    run(BIN / "jupyter-book", "build", ROOT, "--warningiserror", "--keep-going", *args)
    print(f"the book is in {ROOT / '_build' / 'html' / 'index.html'}")


BACKENDS = ("tensorflow", "jax", "torch")


def ensure_chromium():
    """Debian's Chromium for tests/test_site.py (Playwright drives it; it cannot download a
    browser of its own here). Installed as root where apt-get exists; elsewhere the test says how."""
    if shutil.which("chromium") or shutil.which("chromium-browser"):
        return
    if not shutil.which("apt-get") or not hasattr(os, "geteuid") or os.geteuid() != 0:
        print("no Chromium, and not root on Debian: the browser test of the site skips "
              "(install the chromium package to run it)", flush=True)  # fmt: skip
        return
    install = ["apt-get", "install", "-y", "--no-install-recommends", "chromium"]
    if subprocess.run(install).returncode != 0:  # the package lists may be missing or stale
        run("apt-get", "update")
        run(*install)


def cmd_test(args):
    ensure_venv("test")
    ensure_chromium()
    env = notebook_env(os.environ.get("KERAS_BACKEND", "tensorflow"))
    env["CNNBOOK_PROFILE"] = "smoke"  # CI never trains a full recipe
    # Without a path among the arguments (`test -k lenet`), test everything the suite holds.
    names_a_path = any(not a.startswith("-") and (ROOT / a.split("::")[0]).exists() for a in args)
    targets = [] if names_a_path else ["tests", "notebooks"]
    nbval = ["--nbval", "--nbval-current-env", "--nbval-cell-timeout", "900",
             "--nbval-sanitize-with", str(ROOT / "tests" / "nbval-sanitize.cfg")]  # fmt: skip
    run(PYTHON, "-m", "pytest", *targets, *args, *nbval, cwd=ROOT, env=env)


def notebook_env(backend):
    """The environment notebooks run in: the Keras backend, CIFAR-10 found, no MPLBACKEND."""
    env = dict(os.environ, KERAS_BACKEND=backend)
    env.pop("MPLBACKEND", None)  # MPLBACKEND=Agg would make the notebooks' figures vanish
    data = ensure_data()
    if data:
        env["CNNBOOK_DATA"] = data
    return env


def cmd_lab(args):
    """JupyterLab on the chapters, from .venv/, with the backend chosen and the data found."""
    parser = argparse.ArgumentParser(prog="dev.py lab")
    parser.add_argument("--backend", default=os.environ.get("KERAS_BACKEND", "tensorflow"))
    options, args = parser.parse_known_args(args)  # the rest goes to `jupyter lab`
    if options.backend not in BACKENDS:
        sys.exit(f"--backend {options.backend!r}: the book runs on {', '.join(BACKENDS)}")
    ensure_venv("test")
    env = notebook_env(options.backend)
    print(f"JupyterLab on {ROOT / 'notebooks'}, Keras backend {options.backend}, CIFAR-10 from "
          f"{env.get('CNNBOOK_DATA', 'a Keras download')}", flush=True)  # fmt: skip
    # The server's root is the project, so the chapters' links to book/ and results/ open too.
    command = [str(BIN / "jupyter"), "lab", f"--ServerApp.root_dir={ROOT}",
               "--LabApp.default_url=/lab/tree/notebooks", *args]  # fmt: skip
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # containers and cloud machines often run as root; Jupyter refuses without it
    if os.name == "nt":
        sys.exit(subprocess.run(command, env=env).returncode)
    os.execve(command[0], command, env)  # the server is this process: Ctrl-C stops it


def cmd_data(args):
    target = ROOT / ".data"
    unpack = SHARED_CIFAR / "tools" / "cifar10_unpack.py"
    if not unpack.exists():
        sys.exit(
            f"{unpack} is not here. Put CIFAR-10 (cifar-10-python.tar.gz or its cifar-10-batches-py/ folder) "
            "in a directory and set CNNBOOK_DATA to it, or let the tests download it through Keras."
        )
    ensure_venv("test")  # the unpacker needs numpy and Pillow
    run(PYTHON, unpack, target)
    copy_weights()


def copy_weights():
    """The verified ImageNet weights of ../shared/weights into .weights/ (cnnbook.pretrained reads
    them from there when CNNBOOK_WEIGHTS is not set), each checked against SHA256SUMS."""
    source, target = SHARED_CIFAR / "weights", ROOT / ".weights"
    sums = source / "SHA256SUMS"
    if not sums.exists():
        return
    target.mkdir(exist_ok=True)
    for line in sums.read_text().split("\n"):
        if not line.strip():
            continue
        digest, name = line.split()
        have = target / name
        if have.exists() and hashlib.sha256(have.read_bytes()).hexdigest() == digest:
            continue
        data = (source / name).read_bytes()
        if hashlib.sha256(data).hexdigest() != digest:
            sys.exit(f"{source / name} does not match its SHA-256 in {sums}: the copy is damaged; fetch it again")
        (target / (name + ".part")).write_bytes(data)
        (target / (name + ".part")).replace(have)
        print(f"ImageNet weights: {have}", flush=True)


def cmd_sync(args):
    ensure_venv("test")
    run(PYTHON, "-m", "cnnbook.booktools", "sync", cwd=ROOT)


def cmd_lock(args):
    # `pip list --format=freeze` writes name==version even for a package installed from a local file,
    # where `pip freeze` writes "name @ file:///..." that no other machine can install.
    frozen = subprocess.run([PYTHON, "-m", "pip", "list", "--format=freeze", "--exclude-editable"], check=True,
                            capture_output=True, text=True).stdout  # fmt: skip
    lines = [line.split("+")[0] if line.startswith("torch==") else line for line in frozen.splitlines()]
    header = "# Versions the tests and the book are known to pass with (python3 dev.py lock).\n"
    CONSTRAINTS.write_text(header + "\n".join(sorted(lines, key=str.lower)) + "\n")
    print(f"wrote {CONSTRAINTS} ({len(lines)} packages)")


def cmd_new_chapter(args):
    ensure_venv("test")
    run(PYTHON, "-m", "cnnbook.chapters", "new", *args, cwd=ROOT)


COMMANDS = {"book": cmd_book, "test": cmd_test, "data": cmd_data, "lab": cmd_lab, "sync": cmd_sync, "lock": cmd_lock}
COMMANDS["new-chapter"] = cmd_new_chapter

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    try:
        COMMANDS[sys.argv[1]](sys.argv[2:])
    except subprocess.CalledProcessError as error:
        sys.exit(error.returncode)
