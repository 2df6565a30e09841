import json
import math
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

import cnnbook
from cnnbook.data import Dataset
from cnnbook.errors import ParameterError
from cnnbook.train import Recipe, fit, learning_rate_schedule, make_optimizer


def tiny_dataset(n=40, seed=0):
    """Random images with learnable labels (the label is the brightest channel's index, mod 10)."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, size=(n, 32, 32, 3), dtype=np.uint8)
    y = (rng.integers(0, 10, size=n)).astype(np.int32)
    return Dataset(x, y, x[:10], y[:10], x[:10], y[:10], mean=(0.5, 0.5, 0.5), std=(0.29, 0.29, 0.29))


# ---------------------------------------------------------------------------------------------
# Recipe


@pytest.mark.parametrize(
    "kwargs, message",
    [({"epochs": 0}, "epochs=0 is not allowed: epochs must be a whole number of at least 1"),
     ({"optimizer": "sgdd"}, "optimizer='sgdd' is not allowed: choose one of 'sgd', 'adamw' (did you mean 'sgd'?)"),
     ({"learning_rate": -0.1}, "learning_rate=-0.1 is not allowed"),
     ({"learning_rate": "fast"}, "learning_rate='fast' is not allowed"),
     ({"batch_size": 12.5}, "batch_size=12.5 is not allowed"),
     ({"schedule": "step"}, "schedule='step' is not allowed: choose one of 'cosine', 'onecycle', 'constant'"),
     ({"epochs": 2, "warmup_epochs": 2}, "warmup_epochs=2 is not allowed: the warm-up must be shorter than the 2 epochs"),
     ({"augment": "yes"}, "augment='yes' is not allowed: augment must be True or False")],
)  # fmt: skip
def test_a_bad_recipe_value_names_the_parameter_the_value_and_what_is_allowed(kwargs, message):
    with pytest.raises(ParameterError) as error:
        Recipe(**kwargs)
    assert str(error.value).startswith(message)


def test_default_warm_up_is_one_epoch_or_a_tenth_of_a_short_run():
    assert Recipe(epochs=30).warmup_epochs == 1.0
    assert Recipe(epochs=1).warmup_epochs == 0.1


def test_recipe_normalizes_whole_numbers():
    recipe = Recipe(epochs=5.0, batch_size=64.0, learning_rate=1)
    assert (recipe.epochs, recipe.batch_size, recipe.learning_rate) == (5, 64, 1.0)
    assert isinstance(recipe.epochs, int) and isinstance(recipe.learning_rate, float)


# ---------------------------------------------------------------------------------------------
# Schedules and optimizers


def lr_at(schedule, step):
    return float(keras.ops.convert_to_numpy(schedule(step)))


def test_cosine_schedule_warms_up_then_decays_to_zero():
    schedule = learning_rate_schedule(Recipe(epochs=10, learning_rate=0.4, warmup_epochs=1), steps_per_epoch=100)
    assert lr_at(schedule, 0) == 0.0
    assert lr_at(schedule, 50) == pytest.approx(0.2)
    assert lr_at(schedule, 100) == pytest.approx(0.4)
    assert lr_at(schedule, 550) == pytest.approx(0.2, abs=1e-6)  # half-way through the cosine
    assert lr_at(schedule, 1000) == pytest.approx(0.0, abs=1e-7)


def test_onecycle_schedule_follows_its_definition():
    schedule = learning_rate_schedule(Recipe(epochs=10, learning_rate=1.0, schedule="onecycle"), steps_per_epoch=100)
    assert lr_at(schedule, 0) == pytest.approx(1.0 / 25)
    assert lr_at(schedule, 299) == pytest.approx(1.0)
    assert lr_at(schedule, 999) == pytest.approx(1.0 / 25 / 1e4)
    values = [lr_at(schedule, s) for s in range(0, 1000, 50)]
    peak = int(np.argmax(values))
    assert all(np.diff(values[: peak + 1]) >= 0) and all(np.diff(values[peak:]) <= 0)


def test_constant_schedule_stays_at_the_peak_after_warm_up():
    recipe = Recipe(epochs=4, learning_rate=0.1, schedule="constant", warmup_epochs=1)
    schedule = learning_rate_schedule(recipe, steps_per_epoch=10)
    assert [round(lr_at(schedule, s), 6) for s in (0, 5, 10, 25, 39)] == [0.0, 0.05, 0.1, 0.1, 0.1]


@pytest.mark.parametrize("optimizer", ["sgd", "adamw"])
def test_weight_decay_shrinks_kernels_but_not_biases(optimizer):
    recipe = Recipe(epochs=2, optimizer=optimizer, learning_rate=0.5, weight_decay=0.1, momentum=0.0,
                    schedule="constant", warmup_epochs=0)  # fmt: skip
    dense = keras.layers.Dense(3, bias_initializer="ones")
    dense.build((None, 4))
    kernel, bias = dense.kernel.numpy().copy(), dense.bias.numpy().copy()
    opt = make_optimizer(recipe, steps_per_epoch=1)
    opt.apply_gradients([(keras.ops.zeros(v.shape), v) for v in dense.trainable_variables])
    np.testing.assert_allclose(dense.kernel.numpy(), kernel * (1 - 0.5 * 0.1), rtol=1e-6)
    np.testing.assert_allclose(dense.bias.numpy(), bias)


# ---------------------------------------------------------------------------------------------
# fit


@pytest.mark.slow
def test_a_small_model_learns_on_a_small_real_subset(small_real_dataset, tmp_path):
    cnnbook.system.setup(seed=0)
    model = cnnbook.models.build("lenet5")
    result = fit(model, small_real_dataset, Recipe(epochs=8, batch_size=64, learning_rate=0.05), run_dir=tmp_path)
    assert not result.diverged and result.epochs_done == 8
    # Chance is 10%; after a few epochs on 3,000 images LeNet-5 is far above it.
    assert result.history["val_accuracy"][-1] > 0.3
    assert result.evaluate("test") > 0.3
    assert result.history["loss"][-1] < result.history["loss"][0]


def test_fit_refuses_a_recipe_that_is_not_a_recipe():
    with pytest.raises(TypeError, match="cnnbook.train.Recipe"):
        fit(cnnbook.models.build("lenet5"), tiny_dataset(), {"epochs": 1})


RESUME_SCRIPT = """
import os, signal, sys, json, keras, numpy as np
sys.path.insert(0, {tests!r})
from test_train import tiny_dataset
import cnnbook

class KillAfterSecondEpoch(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 1 and sys.argv[1] == "kill":
            os.kill(os.getpid(), signal.SIGKILL)  # no clean-up: as if the machine went away

cnnbook.system.setup(seed=0)
model = cnnbook.models.build("lenet5")
result = cnnbook.train.fit(model, tiny_dataset(), cnnbook.train.Recipe(epochs=4, batch_size=20),
                           run_dir={run_dir!r}, callbacks=[KillAfterSecondEpoch()])
print(json.dumps({{"epochs": result.history["epoch"], "first": result.history["first_in_session"]}}))
"""


@pytest.mark.slow
def test_a_killed_run_resumes_from_its_last_completed_epoch(tmp_path):
    script = tmp_path / "resume.py"
    run_dir = tmp_path / "run"
    script.write_text(RESUME_SCRIPT.format(tests=os.path.dirname(__file__), run_dir=str(run_dir)))
    killed = subprocess.run([sys.executable, script, "kill"], capture_output=True, text=True, timeout=300)
    assert killed.returncode == -9, killed.stderr
    assert json.loads((run_dir / "backup" / "training_metadata.json").read_text())["epoch"] == 2
    resumed = subprocess.run([sys.executable, script, "go"], capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming after epoch 2" in resumed.stdout
    result = json.loads(resumed.stdout.strip().splitlines()[-1])
    assert result["epochs"] == [1, 2, 3, 4]  # the history keeps the epochs of the killed session
    assert result["first"] == [1, 0, 1, 0]  # two sessions
    assert not (run_dir / "backup").exists()  # a finished run leaves no backup behind


def _lenet_run(run_dir, data=None, recipe=None, seed=0, **kwargs):
    cnnbook.system.setup(seed=seed, precision="float32")
    recipe = recipe or Recipe(epochs=2, batch_size=20)
    return fit(cnnbook.models.build("lenet5"), data or tiny_dataset(), recipe, run_dir=run_dir, verbose=False, **kwargs)


def test_a_finished_run_is_reused_not_trained_again(tmp_path):
    first = _lenet_run(tmp_path)
    assert not first.reused and (tmp_path / "final.weights.h5").exists()
    again = _lenet_run(tmp_path)
    assert again.reused and again.history == first.history  # the history of the original run
    assert again.train_seconds == first.train_seconds
    for a, b in zip(again.wrapper.get_weights(), first.wrapper.get_weights()):
        np.testing.assert_array_equal(a, b)
    record = again.record(chapter="99_test", profile="smoke", env=cnnbook.system.setup(seed=0, precision="float32"))
    assert record.reused and record.train_seconds == round(first.train_seconds, 2)
    assert not first.record(chapter="99_test", profile="smoke", env=cnnbook.system.setup(seed=0)).reused


def test_reuse_false_trains_again(tmp_path):
    first = _lenet_run(tmp_path)
    again = _lenet_run(tmp_path, reuse=False)
    assert not again.reused and again.history["epoch"] == [1, 2]
    assert again.history["seconds"] != first.history["seconds"]


@pytest.mark.parametrize(
    "change, words",
    [({"recipe": Recipe(epochs=2, batch_size=20, learning_rate=0.01)}, "recipe.learning_rate 0.05 -> 0.01"),
     ({"recipe": Recipe(epochs=3, batch_size=20)}, "recipe.epochs 2 -> 3"),
     ({"seed": 1}, "initial_weights"),
     ({"data": tiny_dataset(seed=1)}, "data_content")],
)  # fmt: skip
def test_a_run_that_differs_is_never_reused_and_says_what_changed(tmp_path, capsys, change, words):
    _lenet_run(tmp_path)
    cnnbook.system.setup(seed=change.get("seed", 0), precision="float32")
    model = cnnbook.models.build("lenet5")
    result = fit(model, change.get("data", tiny_dataset()), change.get("recipe", Recipe(epochs=2, batch_size=20)),
                 run_dir=tmp_path)  # fmt: skip
    assert not result.reused
    out = capsys.readouterr().out
    assert "holds a different run" in out and words in out and "training from scratch" in out


def test_the_default_run_folder_follows_the_fingerprint(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # outside the project: runs/ under the working directory
    monkeypatch.setattr(cnnbook.system, "project_root", lambda start=None: None)
    data = tiny_dataset()
    cnnbook.system.setup(seed=0, precision="float32")
    first = fit(cnnbook.models.build("lenet5"), data, Recipe(epochs=1, batch_size=20), name="net", verbose=False)
    cnnbook.system.setup(seed=0, precision="float32")
    same = fit(cnnbook.models.build("lenet5"), data, Recipe(epochs=1, batch_size=20), name="net", verbose=False)
    cnnbook.system.setup(seed=0, precision="mixed_bfloat16")
    other = fit(cnnbook.models.build("lenet5"), data, Recipe(epochs=1, batch_size=20), name="net", verbose=False)
    cnnbook.system.setup(seed=0, precision="float32")
    assert same.reused and same.run_dir == first.run_dir
    assert not other.reused and other.run_dir != first.run_dir  # the precision is part of the run
    assert sorted(p.name.split("-")[0] for p in (tmp_path / "runs").iterdir()) == ["net", "net"]


def test_a_damaged_final_weights_file_means_training_again(tmp_path, capsys):
    _lenet_run(tmp_path)
    (tmp_path / "final.weights.h5").write_bytes(b"not an HDF5 file")
    again = _lenet_run(tmp_path)
    assert not again.reused and again.epochs_done == 2


def test_progress_prints_about_ten_lines_with_the_first_and_the_last_epoch(tmp_path, capsys):
    cnnbook.system.setup(seed=0, precision="float32")
    fit(cnnbook.models.build("lenet5"), tiny_dataset(), Recipe(epochs=25, batch_size=40), run_dir=tmp_path)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("epoch ")]
    epochs = [int(line.split()[1].split("/")[0]) for line in lines]
    assert epochs == [1, 3, 6, 9, 12, 15, 18, 21, 24, 25]
    assert all("left" in line and "val_acc" in line for line in lines)
    assert cnnbook.train.log_interval(60) == 6 and cnnbook.train.log_interval(4) == 1


def test_a_diverging_run_stops_and_keeps_the_initial_weights(tmp_path, capsys):
    model = cnnbook.models.build("lenet5")
    before = [w.copy() for w in model.get_weights()]
    recipe = Recipe(epochs=5, batch_size=20, learning_rate=100, warmup_epochs=0)
    result = fit(model, tiny_dataset(), recipe, run_dir=tmp_path)
    assert result.diverged and result.epochs_done == 1  # stopped at once, not after 5 epochs
    assert "diverged in epoch 1" in result.message and "learning_rate (it was 100)" in result.message
    assert "initial weights" in result.message and result.message in capsys.readouterr().out
    for w, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(w, b)


class PoisonThirdEpoch(keras.callbacks.Callback):
    """Keeps the weights after epoch 2, then sets every weight to NaN before epoch 3."""

    def on_epoch_end(self, epoch, logs=None):
        if epoch == 1:
            self.good = [w.copy() for w in self.model.get_weights()]

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 2:
            for v in self.model.trainable_variables:
                v.assign(np.full(v.shape, np.nan, dtype="float32"))


def test_a_run_that_diverges_later_gets_its_last_finite_weights_back(tmp_path):
    poison = PoisonThirdEpoch()
    result = fit(cnnbook.models.build("lenet5"), tiny_dataset(), Recipe(epochs=6, batch_size=20), run_dir=tmp_path,
                 callbacks=[poison], verbose=False)  # fmt: skip
    assert result.diverged and result.history["epoch"] == [1, 2, 3]
    assert math.isnan(result.history["loss"][-1])
    assert "diverged in epoch 3" in result.message and "weights of epoch 2" in result.message
    for w, good in zip(result.wrapper.get_weights(), poison.good):
        np.testing.assert_array_equal(w, good)
    record = result.record(chapter="test", profile="smoke", env={**cnnbook.system.describe(), "seed": 0, "precision": "float32"})
    assert record.diverged and record.history["loss"][-1] is None  # JSON has no NaN


def test_the_record_describes_the_run(tmp_path):
    result = fit(cnnbook.models.build("lenet5"), tiny_dataset(), Recipe(epochs=2, batch_size=20), run_dir=tmp_path,
                 verbose=False)  # fmt: skip
    env = cnnbook.system.setup(seed=0)
    record = result.record(chapter="99_test", profile="smoke", env=env, test_accuracy=result.evaluate("test"))
    assert (record.model, record.params, record.macs, record.flops) == ("lenet5", 62006, 651720, 1316252)
    assert record.epochs == record.epochs_planned == 2 and record.batch_size == 20
    assert record.data["train"] == 40 and record.recipe["optimizer"] == "sgd"
    assert record.backend == keras.backend.backend() and record.keras_version == keras.__version__
    assert 0 <= record.test_accuracy <= 1 and record.train_seconds > 0
    assert record.train_seconds_excluding_compile <= record.train_seconds
    assert len(record.history["val_accuracy"]) == 2


def test_fit_inputs_give_each_image_once_an_epoch_in_a_new_order():
    data = tiny_dataset(n=40)
    inputs = cnnbook.train.fit_inputs(data, Recipe(epochs=2, batch_size=16))
    if keras.backend.backend() != "tensorflow":
        assert inputs["x"] is data.x_train and inputs["shuffle"] is True and inputs["batch_size"] == 16
        return
    assert inputs["steps_per_epoch"] == 3  # 16 + 16 + 8
    batches = iter(inputs["x"])
    orders = []
    for _ in range(2):
        epoch = [next(batches) for _ in range(inputs["steps_per_epoch"])]
        assert [len(x) for x, _ in epoch] == [16, 16, 8]
        images = np.concatenate([x.numpy() for x, _ in epoch])
        labels = np.concatenate([y.numpy() for _, y in epoch]).argmax(axis=1)
        index = [int(np.flatnonzero((data.x_train == image).all(axis=(1, 2, 3)))[0]) for image in images]
        assert sorted(index) == list(range(40))  # every image once
        np.testing.assert_array_equal(labels, data.y_train[index])  # with its own label
        orders.append(index)
    assert orders[0] != orders[1] and orders[0] != list(range(40))
    x_val, y_val = next(iter(inputs["validation_data"]))
    np.testing.assert_array_equal(x_val.numpy(), data.x_val)  # validation in order, unshuffled


def test_a_reused_run_shows_the_progress_it_printed_when_it_trained(tmp_path, capsys):
    def epoch_lines():
        return [line for line in capsys.readouterr().out.splitlines() if line.startswith("epoch ")]

    cnnbook.system.setup(seed=0, precision="float32")
    fit(cnnbook.models.build("lenet5"), tiny_dataset(), Recipe(epochs=12, batch_size=40), run_dir=tmp_path)
    trained = epoch_lines()
    cnnbook.system.setup(seed=0, precision="float32")
    again = fit(cnnbook.models.build("lenet5"), tiny_dataset(), Recipe(epochs=12, batch_size=40), run_dir=tmp_path)
    assert again.reused and epoch_lines() == trained and len(trained) == 7  # 1, 2, 4, ..., 12
