"""One code base, three backends: the same script on TensorFlow, JAX and PyTorch must agree.

The families' own tests (tests/test_models_*.py) check every model's counts on the backend the
suite runs on; this file checks that each kind of construction also builds, runs, trains, saves
and loads on the other two.
"""

import json
import os
import subprocess
import sys

import pytest

# One model for each construction that could behave differently on a backend: custom layers
# (connection table, LRN, option-A shortcuts, scaled residuals), grouped convolutions, several
# outputs, concatenation-heavy graphs. Small inputs keep the classifiers small.
CONSTRUCTIONS = {
    "lenet5_classic": {},
    "alexnet": {"input_shape": (67, 67, 3)},
    "vgg11_lrn": {"input_shape": (32, 32, 3), "num_classes": 10},
    "nin": {},
    "googlenet": {"input_shape": (96, 96, 3), "aux_heads": True},
    "inception_resnet_v1": {"input_shape": (75, 75, 3), "num_classes": 10},
    "resnet20": {},
    "resnet50v2": {"input_shape": (32, 32, 3), "num_classes": 10},
    "densenet_bc_cifar": {"depth": 40},
}


def probes():
    """`CONSTRUCTIONS`, and one model of each family they leave out (its first CIFAR model, else
    its first one, at its smallest input): a new family runs on every backend without a line here."""
    import cnnbook

    chosen = dict(CONSTRUCTIONS)
    covered = {cnnbook.models.spec(name).builder.__module__ for name in chosen}
    names = sorted(cnnbook.models.names(), key=lambda n: cnnbook.models.spec(n).num_classes != 10)
    for name in names:
        spec = cnnbook.models.spec(name)
        if spec.builder.__module__ not in covered:
            size = max(spec.min_size, 32)
            chosen[name] = {"input_shape": (size, size, 3), "num_classes": 10}
            covered.add(spec.builder.__module__)
    return chosen


PROBES = probes()

SCRIPT = r"""
import json, sys, tempfile
import keras, numpy as np
import cnnbook
from cnnbook.data import Dataset

probes = json.loads(sys.argv[1])
cnnbook.system.setup(seed=0)
built = {}
for name, options in probes.items():
    options = {k: tuple(v) if isinstance(v, list) else v for k, v in options.items()}
    model = cnnbook.models.build(name, **options)
    x = np.zeros((2, *model.inputs[0].shape[1:]), "float32")
    outputs = model(x)
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    built[name] = {"params": model.count_params(), "outputs": [list(o.shape) for o in outputs]}
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
    # A model with auxiliary classifiers: the main loss plus 0.3 times each auxiliary one.
    aux_model = cnnbook.models.build("googlenet_cifar", width=0.0625, stem_pool=True, aux_heads=True)
    aux = cnnbook.train.fit(aux_model, data, cnnbook.train.Recipe(epochs=1, batch_size=20), run_dir=f"{tmp}/aux",
                            verbose=False).history
    aux_sum = aux["loss"][0] + 0.3 * (aux["aux1_predictions_loss"][0] + aux["aux2_predictions_loss"][0])
print(json.dumps({"backend": keras.backend.backend(), "built": built, "epochs": result.history["epoch"],
                  "finite": bool(np.isfinite(result.history["loss"]).all()), "reloaded": same,
                  "accuracy": result.evaluate("test"),
                  "aux_total_is_weighted_sum": bool(np.isclose(aux["total_loss"][0], aux_sum, rtol=1e-3))}))
"""


BACKENDS = ("tensorflow", "jax", "torch")


@pytest.fixture(scope="module")
def reports():
    """Run the script on the three backends at once; ``{backend: (returncode, stdout, stderr)}``."""
    running = {
        backend: subprocess.Popen(
            [sys.executable, "-c", SCRIPT, json.dumps(PROBES)],
            env={**os.environ, "KERAS_BACKEND": backend},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for backend in BACKENDS
    }
    out = {}
    for backend, process in running.items():
        stdout, stderr = process.communicate(timeout=900)
        out[backend] = (process.returncode, stdout, stderr)
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
    assert report["aux_total_is_weighted_sum"]


@pytest.mark.slow
def test_each_kind_of_construction_builds_alike_on_every_backend(reports):
    built = {b: json.loads(out.strip().splitlines()[-1])["built"] for b, (rc, out, _) in reports.items() if rc == 0}
    assert len(built) == len(BACKENDS)
    assert built["tensorflow"] == built["jax"] == built["torch"]
    assert set(built["jax"]) == set(PROBES) >= set(CONSTRUCTIONS) | {"speednet"}
    assert built["jax"]["lenet5_classic"]["params"] == 61150
    assert len(built["jax"]["googlenet"]["outputs"]) == 3  # main and two auxiliary classifiers
