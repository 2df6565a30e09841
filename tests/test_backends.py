"""One code base, three backends: the same script on TensorFlow, JAX and PyTorch must agree."""

import json
import os
import subprocess
import sys

import pytest

SCRIPT = r"""
import json, sys, tempfile
import keras, numpy as np
import cnnbook
from cnnbook.data import Dataset

cnnbook.system.setup(seed=0)
params = {name: cnnbook.models.build(name).count_params() for name in cnnbook.models.names()}
rng = np.random.default_rng(0)
x = rng.integers(0, 256, size=(40, 32, 32, 3), dtype=np.uint8)
y = rng.integers(0, 10, size=40).astype(np.int32)
data = Dataset(x, y, x[:10], y[:10], x[:10], y[:10], mean=(0.5,) * 3, std=(0.25,) * 3)
with tempfile.TemporaryDirectory() as tmp:
    model = cnnbook.models.build("lenet5_classic")
    result = cnnbook.train.fit(model, data, cnnbook.train.Recipe(epochs=2, batch_size=20), run_dir=tmp, verbose=False)
    model.save(f"{tmp}/model.keras")
    again = keras.saving.load_model(f"{tmp}/model.keras")
    probe = cnnbook.data.normalize(x[:4], data.mean, data.std)
    same = bool(np.allclose(keras.ops.convert_to_numpy(again(probe)), keras.ops.convert_to_numpy(model(probe)), atol=1e-5))
print(json.dumps({"backend": keras.backend.backend(), "params": params, "epochs": result.history["epoch"],
                  "finite": bool(np.isfinite(result.history["loss"]).all()), "reloaded": same,
                  "accuracy": result.evaluate("test")}))
"""


BACKENDS = ("tensorflow", "jax", "torch")


@pytest.fixture(scope="module")
def reports():
    out = {}
    for backend in BACKENDS:
        env = {**os.environ, "KERAS_BACKEND": backend}
        done = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=600)
        out[backend] = (done.returncode, done.stdout, done.stderr)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_build_train_augment_save_and_load(reports, backend):
    returncode, stdout, stderr = reports[backend]
    assert returncode == 0, stderr[-3000:]
    report = json.loads(stdout.strip().splitlines()[-1])
    assert report["backend"] == backend
    assert report["epochs"] == [1, 2] and report["finite"] and report["reloaded"]
    assert 0.0 <= report["accuracy"] <= 1.0


@pytest.mark.slow
def test_every_model_has_the_same_size_on_every_backend(reports):
    params = {b: json.loads(out.strip().splitlines()[-1])["params"] for b, (rc, out, _) in reports.items() if rc == 0}
    assert len(params) == len(BACKENDS)
    assert params["tensorflow"] == params["jax"] == params["torch"]
    assert params["jax"]["lenet5"] == 62006 and params["jax"]["lenet5_classic"] == 61150
