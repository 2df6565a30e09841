"""dev.py, the developer commands: what a fresh clone needs before its tests can run."""

import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import ROOT


@pytest.fixture
def dev(monkeypatch, tmp_path):
    spec = importlib.util.spec_from_file_location("dev_under_test", ROOT / "dev.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "ROOT", tmp_path / "clone")
    monkeypatch.setattr(module, "SHARED_CIFAR", tmp_path / "shared")
    monkeypatch.delenv("CNNBOOK_DATA", raising=False)
    (tmp_path / "clone").mkdir()
    calls = []
    monkeypatch.setattr(module, "cmd_data", lambda args: calls.append(args) or
                        (tmp_path / "clone" / ".data" / "cifar-10-batches-py").mkdir(parents=True))  # fmt: skip
    module.calls = calls
    return module


def test_a_fresh_clone_beside_shared_prepares_the_data(dev, tmp_path):
    (tmp_path / "shared" / "tools").mkdir(parents=True)
    (tmp_path / "shared" / "tools" / "cifar10_unpack.py").write_text("")
    assert dev.ensure_data() == str(tmp_path / "clone" / ".data")
    assert dev.calls == [[]]
    assert dev.ensure_data() == str(tmp_path / "clone" / ".data") and dev.calls == [[]]  # only once


def test_data_at_hand_is_used_as_it_is(dev, tmp_path, monkeypatch):
    (tmp_path / "shared" / "tools").mkdir(parents=True)
    (tmp_path / "shared" / "tools" / "cifar10_unpack.py").write_text("")
    monkeypatch.setenv("CNNBOOK_DATA", str(tmp_path / "elsewhere"))
    assert dev.ensure_data() == str(tmp_path / "elsewhere") and dev.calls == []


def test_without_shared_nothing_is_prepared(dev):
    assert dev.ensure_data() is None and dev.calls == []  # the tests then let Keras download


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_lab_serves_the_chapters_with_the_backend_chosen(tmp_path):
    """`python3 dev.py lab`, headless on loopback: JupyterLab serves a chapter, its kernel is the
    project's environment, and the server runs with the backend asked for."""
    port, token = _free_port(), "cnnbook-test-token"
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"), JUPYTER_CONFIG_DIR=str(tmp_path / "config"))
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "dev.py"), "lab", "--backend", "jax", "--no-browser", "--ServerApp.ip=127.0.0.1",
         f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=tmp_path, text=True,
    )  # fmt: skip
    base, headers = f"http://127.0.0.1:{port}", {"Authorization": f"token {token}"}

    def get(path):
        with urllib.request.urlopen(urllib.request.Request(base + path, headers=headers), timeout=10) as response:
            return response.status, response.read().decode()

    try:
        deadline = time.monotonic() + 180
        while True:
            assert server.poll() is None, f"dev.py lab exited ({server.returncode}): {server.stdout.read()[-3000:]}"
            try:
                status, body = get("/api/contents/notebooks/02_lenet.ipynb?content=0")
                break
            except (urllib.error.URLError, ConnectionError):
                assert time.monotonic() < deadline, "JupyterLab did not answer within 3 minutes"
                time.sleep(1)
        assert status == 200 and json.loads(body)["type"] == "notebook"
        status, page = get("/lab/tree/notebooks/02_lenet.ipynb")
        assert status == 200 and "JupyterLab" in page
        # The kernel is the native one, which Jupyter starts with the server's own interpreter ...
        kernel = json.loads(get("/api/kernelspecs")[1])["kernelspecs"]["python3"]["spec"]["argv"]
        assert kernel[:3] == ["python", "-m", "ipykernel_launcher"], kernel
        # ... and the server is .venv's (dev.py execs it: the pid is the server's), with the backend.
        interpreter = Path(f"/proc/{server.pid}/cmdline").read_bytes().split(b"\0")[0].decode()
        assert Path(interpreter).parent.resolve() == (ROOT / ".venv" / "bin").resolve(), interpreter
        environ = Path(f"/proc/{server.pid}/environ").read_bytes().split(b"\0")
        assert b"KERAS_BACKEND=jax" in environ
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_lab_refuses_a_backend_the_book_does_not_run_on():
    done = subprocess.run([sys.executable, str(ROOT / "dev.py"), "lab", "--backend", "mxnet"],
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode != 0 and "tensorflow, jax, torch" in done.stderr


@pytest.mark.parametrize("root, expected", [(True, [["apt-get", "install", "-y", "--no-install-recommends", "chromium"]]),
                                            (False, [])])  # fmt: skip
def test_the_tests_install_chromium_only_as_root_on_debian(dev, monkeypatch, root, expected):
    installs = []
    monkeypatch.setattr(dev.shutil, "which", lambda name: "/usr/bin/apt-get" if name == "apt-get" else None)
    monkeypatch.setattr(dev.os, "geteuid", lambda: 0 if root else 1000)
    monkeypatch.setattr(dev.subprocess, "run", lambda command, **kw: installs.append(command) or subprocess.CompletedProcess(command, 0))
    dev.ensure_chromium()
    assert installs == expected


def test_the_constraints_name_versions_that_any_machine_can_install():
    """A `name @ file:///tmp/...` line (what `pip freeze` writes for a wheel installed from a file) breaks
    every install on a machine without that file, a fresh CI machine included."""
    lines = [line for line in (ROOT / "constraints.txt").read_text().splitlines() if line and not line.startswith("#")]
    assert lines and all(line.count("==") == 1 and " @ " not in line for line in lines), \
        [line for line in lines if "==" not in line or " @ " in line]  # fmt: skip


def test_lock_writes_a_version_for_a_package_installed_from_a_local_file(dev, monkeypatch, tmp_path):
    listed = "Keras==3.15.1\nplaywright==1.65.3\ntorch==2.13.0+cpu\n"
    asked = []

    def pip(command, **kw):
        asked.append(command)
        return subprocess.CompletedProcess(command, 0, stdout=listed)

    monkeypatch.setattr(dev.subprocess, "run", pip)
    monkeypatch.setattr(dev, "CONSTRAINTS", tmp_path / "constraints.txt")
    dev.cmd_lock([])
    assert asked[0][asked[0].index("pip") + 1:] == ["list", "--format=freeze", "--exclude-editable"]  # not `pip freeze`
    written = (tmp_path / "constraints.txt").read_text().splitlines()[1:]
    assert written == ["Keras==3.15.1", "playwright==1.65.3", "torch==2.13.0"]
