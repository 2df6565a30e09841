"""dev.py, the developer commands: what a fresh clone needs before its tests can run."""

import importlib.util
import sys

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
