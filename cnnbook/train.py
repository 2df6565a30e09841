"""One way to train every model of the book: a known-good recipe, progress, resume, NaN guard.

    recipe = cnnbook.train.Recipe(epochs=30, batch_size=128, optimizer="sgd", learning_rate=0.05)
    result = cnnbook.train.fit(model, data, recipe, name="lenet5")
    result.history["val_accuracy"][-1], result.evaluate("test")

What `fit` does:

- feeds uint8 images (a quarter of the bytes of float32) to a training wrapper around the model:
  ``uint8 image -> RandomCropFlip (training only) -> per-channel normalization -> model``. The
  model itself stays a plain classifier of normalized images;
- compiles with SGD + Nesterov momentum or AdamW, decoupled weight decay (not on biases and
  batch-norm parameters unless asked), label smoothing, and a schedule: linear warm-up then
  cosine decay, one-cycle, or constant after warm-up;
- prints progress every few epochs (about ten lines a run, the first and the last epoch among
  them: loss, accuracy, validation, learning rate, seconds, time left);
- backs up weights and optimizer state after every epoch into ``runs/<name>-<fingerprint>/``;
  calling `fit` again with the same model, data and recipe after an interruption continues from
  the last completed epoch, and the history keeps every epoch;
- keeps the final weights of a finished run there: calling `fit` again with the same model (the
  same architecture and initial weights), data, recipe, backend and precision loads them and the
  history in seconds instead of training again (``result.reused``); ``reuse=False`` trains
  afresh. A run folder whose run differs in any of these is never reused or resumed: `fit` says
  what changed and trains from scratch;
- stops when the training loss stops being finite or exceeds a hundred times that of a uniform
  guess: the model gets back the weights of the last good epoch, ``result.diverged`` is True and
  ``result.message`` says what to try.
"""

import csv
import dataclasses
import datetime
import hashlib
import json
import logging
import math
import shutil
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
from keras import layers

from cnnbook import counting, system
from cnnbook.data import one_hot
from cnnbook.errors import ParameterError, check_bool, check_choice, check_float, check_int
from cnnbook.layers import RandomCropFlip
from cnnbook.results import Record

OPTIMIZERS = ("sgd", "adamw")


def _drop_retracing_warnings(record):
    # TensorFlow warns when predict() is traced for a fifth model in a row; the book evaluates
    # several models one after the other on purpose, so the warning is noise on the page.
    return "triggered tf.function retracing" not in record.getMessage()


if keras.backend.backend() == "tensorflow":
    logging.getLogger("tensorflow").addFilter(_drop_retracing_warnings)
SCHEDULES = ("cosine", "onecycle", "constant")


@dataclass(frozen=True)
class Recipe:
    """How to train: every field is checked, and a bad value raises `ParameterError`.

    Attributes:
        epochs: passes over the training split.
        batch_size: images per step.
        optimizer: ``"sgd"`` (momentum, Nesterov) or ``"adamw"``.
        learning_rate: the peak learning rate (reached after warm-up).
        momentum: SGD momentum (ignored by AdamW).
        weight_decay: decoupled weight decay, applied as ``w -= learning_rate * weight_decay * w``
            after each step.
        decay_all: also decay biases and batch-norm scales and shifts (False: kernels only).
        schedule: ``"cosine"`` (linear warm-up, then cosine to zero), ``"onecycle"`` (cosine up
            from ``learning_rate / 25`` over the first 30% of steps, cosine down to
            ``learning_rate / 1e4``) or ``"constant"`` (after warm-up).
        warmup_epochs: length of the linear warm-up (cosine and constant schedules); None: one
            epoch, or a tenth of the run when that is shorter.
        label_smoothing: weight of the uniform distribution mixed into the one-hot targets.
        augment: random crop from 4-pixel padding and horizontal flip.
        steps_per_execution: training steps per compiled call (more: less Python overhead).
    """

    epochs: int = 30
    batch_size: int = 128
    optimizer: str = "sgd"
    learning_rate: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-4
    decay_all: bool = False
    schedule: str = "cosine"
    warmup_epochs: float | None = None
    label_smoothing: float = 0.0
    augment: bool = True
    steps_per_execution: int = 1

    def __post_init__(self):
        check_int("epochs", self.epochs, minimum=1)
        check_int("batch_size", self.batch_size, minimum=1)
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_float("learning_rate", self.learning_rate, minimum=0, exclusive_minimum=True, maximum=100)
        check_float("momentum", self.momentum, minimum=0, maximum=0.999)
        check_float("weight_decay", self.weight_decay, minimum=0, maximum=1)
        check_bool("decay_all", self.decay_all)
        check_choice("schedule", self.schedule, SCHEDULES)
        if self.warmup_epochs is None:
            object.__setattr__(self, "warmup_epochs", min(1.0, self.epochs / 10))
        check_float("warmup_epochs", self.warmup_epochs, minimum=0)
        if self.warmup_epochs >= self.epochs and self.schedule != "onecycle":
            raise ParameterError(
                "warmup_epochs", self.warmup_epochs, f"the warm-up must be shorter than the {self.epochs} epochs"
            )
        check_float("label_smoothing", self.label_smoothing, minimum=0, maximum=0.99)
        check_bool("augment", self.augment)
        check_int("steps_per_execution", self.steps_per_execution, minimum=1)
        # Store the checked values as the types they stand for (papermill may pass 5.0 for 5).
        for name in ("epochs", "batch_size", "steps_per_execution"):
            object.__setattr__(self, name, int(getattr(self, name)))
        for name in ("learning_rate", "momentum", "weight_decay", "warmup_epochs", "label_smoothing"):
            object.__setattr__(self, name, float(getattr(self, name)))

    def to_dict(self):
        return dataclasses.asdict(self)


# ---------------------------------------------------------------------------------------------
# Learning-rate schedules


@keras.saving.register_keras_serializable(package="cnnbook")
class OneCycle(keras.optimizers.schedules.LearningRateSchedule):
    """One-cycle schedule (Smith and Topin, 2019), with the defaults of PyTorch's ``OneCycleLR``:
    cosine from ``peak / div_factor`` up to ``peak`` over ``pct_start`` of the steps, then cosine
    down to ``peak / div_factor / final_div_factor``."""

    def __init__(self, peak, total_steps, pct_start=0.3, div_factor=25.0, final_div_factor=1e4):
        self.peak, self.total_steps, self.pct_start = float(peak), int(total_steps), float(pct_start)
        self.div_factor, self.final_div_factor = float(div_factor), float(final_div_factor)

    def __call__(self, step):
        ops = keras.ops
        step = ops.cast(step, "float32")
        up = max(self.pct_start * self.total_steps - 1.0, 1.0)
        down = max(self.total_steps - 1.0 - up, 1.0)
        start, end = self.peak / self.div_factor, self.peak / self.div_factor / self.final_div_factor

        def cosine(first, last, fraction):
            return last + (first - last) * 0.5 * (1.0 + ops.cos(math.pi * ops.clip(fraction, 0.0, 1.0)))

        return ops.where(step <= up, cosine(start, self.peak, step / up), cosine(self.peak, end, (step - up) / down))

    def get_config(self):
        return {
            "peak": self.peak,
            "total_steps": self.total_steps,
            "pct_start": self.pct_start,
            "div_factor": self.div_factor,
            "final_div_factor": self.final_div_factor,
        }


def learning_rate_schedule(recipe, steps_per_epoch):
    """The recipe's schedule as a Keras ``LearningRateSchedule`` over all training steps."""
    total = recipe.epochs * steps_per_epoch
    if recipe.schedule == "onecycle":
        return OneCycle(recipe.learning_rate, total)
    warmup = int(round(recipe.warmup_epochs * steps_per_epoch))
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0 if warmup else recipe.learning_rate,
        decay_steps=max(total - warmup, 1),
        alpha=1.0 if recipe.schedule == "constant" else 0.0,
        warmup_target=recipe.learning_rate if warmup else None,
        warmup_steps=warmup,
    )


def make_optimizer(recipe, steps_per_epoch):
    """The recipe's optimizer, with its schedule and weight decay."""
    schedule = learning_rate_schedule(recipe, steps_per_epoch)
    if recipe.optimizer == "sgd":
        optimizer = keras.optimizers.SGD(
            schedule, momentum=recipe.momentum, nesterov=True, weight_decay=recipe.weight_decay or None
        )
    else:
        optimizer = keras.optimizers.AdamW(schedule, weight_decay=recipe.weight_decay)
    if recipe.weight_decay and not recipe.decay_all:
        optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
    return optimizer


# ---------------------------------------------------------------------------------------------
# The training wrapper


# The weight of each auxiliary classifier's loss (GoogLeNet, Section 5: "weighted by 0.3").
AUX_LOSS_WEIGHT = 0.3


def training_wrapper(model, data, *, augment, main_only=False):
    """``uint8 images -> [RandomCropFlip] -> normalization -> model``, as a functional model.

    The wrapper shares its layers with ``model``: training one trains the other. A model with
    auxiliary classifiers (several outputs, the main classifier first, as GoogLeNet's) gives a
    wrapper whose output is a dict keyed by the output names, or the main output alone with
    ``main_only=True`` (for prediction).
    """
    inputs = keras.Input(data.input_shape, dtype="uint8", name="uint8_image")
    x = RandomCropFlip(padding=4, flip=True, name="augment")(inputs) if augment else inputs
    mean = [255.0 * m for m in data.mean]
    variance = [(255.0 * s) ** 2 for s in data.std]
    x = layers.Normalization(mean=mean, variance=variance, dtype="float32", name="normalize")(x)
    outputs = model(x)
    if isinstance(outputs, (list, tuple)):
        outputs = outputs[0] if main_only else dict(zip(model.output_names, outputs))
    return keras.Model(inputs, outputs, name=f"{model.name}_training")


def output_names(model):
    """The names of ``model``'s outputs, the main classifier first (one for most models)."""
    return list(getattr(model, "output_names", None) or [model.name])


def auxiliary_outputs(model):
    """The names of ``model``'s auxiliary classifiers: every output but the first."""
    return output_names(model)[1:]


def compiled_wrapper(model, data, recipe, *, jit_compile="auto", aux_loss_weight=AUX_LOSS_WEIGHT):
    """The `training_wrapper` of ``model``, compiled as `fit` compiles it: the recipe's optimizer
    and schedule, cross-entropy on logits with its label smoothing, accuracy. A model with
    auxiliary classifiers is trained on the main loss plus ``aux_loss_weight`` times each
    auxiliary loss (all with the same targets); accuracy is the main classifier's.

    ``jit_compile="auto"`` is Keras' choice. On TensorFlow it means XLA on a GPU and not on a
    CPU, where XLA bypasses oneDNN's kernels and trained ResNet-20 at well under half the speed
    (``benchmarks/cpu_training.py --levers``); JAX always compiles with XLA; PyTorch runs eagerly.
    """
    steps_per_epoch = math.ceil(len(data.y_train) / recipe.batch_size)
    wrapper = training_wrapper(model, data, augment=recipe.augment)

    def loss():
        return keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=recipe.label_smoothing)

    accuracy = keras.metrics.CategoricalAccuracy(name="accuracy")
    options = dict(loss=loss(), metrics=[accuracy])
    if auxiliary_outputs(model):
        main, *aux = output_names(model)
        options = dict(
            loss={name: loss() for name in output_names(model)},
            loss_weights={main: 1.0, **{name: float(aux_loss_weight) for name in aux}},
            metrics={main: [accuracy]},
        )
    wrapper.compile(
        optimizer=make_optimizer(recipe, steps_per_epoch),
        **options,
        steps_per_execution=recipe.steps_per_execution,
        jit_compile=jit_compile,
    )
    return wrapper


def fit_inputs(data, recipe, outputs=None):
    """The training and validation inputs of ``Model.fit`` for ``data``, as keyword arguments
    (with the same targets for each of the names in ``outputs``, for a model with auxiliary
    classifiers).

    On TensorFlow, one ``tf.data`` pipeline that shuffles every epoch and repeats, read for
    ``steps_per_epoch`` steps an epoch: Keras' own pipeline for numpy arrays builds a new
    iterator every epoch, which cost 4-5 s an epoch on a 2-core CPU (half of a 5,000-image
    ResNet-20 epoch; ``benchmarks/cpu_training.py``). The epochs are the same: each one is a
    pass over a fresh permutation of the training split, the last batch smaller. On JAX and
    PyTorch, the numpy arrays as they are.
    """
    y_train, y_val = one_hot(data.y_train, data.num_classes), one_hot(data.y_val, data.num_classes)
    if outputs and len(outputs) > 1:
        y_train, y_val = ({name: y for name in outputs} for y in (y_train, y_val))
    if keras.backend.backend() != "tensorflow":
        return dict(x=data.x_train, y=y_train, batch_size=recipe.batch_size, shuffle=True,
                    validation_data=(data.x_val, y_val))  # fmt: skip
    import tensorflow as tf

    count = len(data.y_train)
    train = (
        tf.data.Dataset.from_tensor_slices((np.asarray(data.x_train), y_train))
        .shuffle(count, reshuffle_each_iteration=True)
        .batch(recipe.batch_size)
        .repeat()
        .prefetch(tf.data.AUTOTUNE)
    )
    val = tf.data.Dataset.from_tensor_slices((np.asarray(data.x_val), y_val)).batch(max(recipe.batch_size, 256))
    # shuffle=False: the pipeline shuffles itself (Keras would warn that it cannot).
    return dict(x=train, steps_per_epoch=math.ceil(count / recipe.batch_size), validation_data=val.cache(), shuffle=False)


# ---------------------------------------------------------------------------------------------
# Callbacks


class _MainOutputLogs(keras.callbacks.Callback):
    """With auxiliary classifiers, Keras logs ``loss`` as the weighted total and each output's loss
    and accuracy under the output's name. This puts the main classifier's under the usual names
    (``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``, so that runs with and without
    auxiliary heads compare) and the total under ``total_loss`` and ``val_total_loss``."""

    def __init__(self, main):
        super().__init__()
        self.main = main

    def on_epoch_end(self, epoch, logs=None):
        for prefix in ("", "val_"):
            if f"{prefix}{self.main}_loss" in logs:
                logs[f"{prefix}total_loss"] = logs[f"{prefix}loss"]
                logs[f"{prefix}loss"] = logs.pop(f"{prefix}{self.main}_loss")
            if f"{prefix}{self.main}_accuracy" in logs:
                logs[f"{prefix}accuracy"] = logs.pop(f"{prefix}{self.main}_accuracy")


class Probe(keras.callbacks.Callback):
    """Measures something during training: ``measure()`` is called before the first step and after
    every ``every`` training steps, and what it returns (a number or a list of numbers) is kept
    with the step in `steps` and `values`.

    With ``path`` (a JSON file, typically in the run's folder), the measurements are saved after
    every epoch and read back by `load`: a finished run that `fit` reuses instead of training keeps
    its measurements, and a resumed run continues them.

        probe = Probe(lambda: float(model.get_layer("conv").kernel.numpy().std()), every=50, path=...)
        fit(model, data, recipe, callbacks=[probe])
    """

    def __init__(self, measure, *, every, path=None):
        super().__init__()
        self.measure, self.every = measure, check_int("every", every, minimum=1)
        self.path = Path(path) if path else None
        self.steps, self.values = [], []

    @staticmethod
    def load(path):
        """``(steps, values)`` saved at ``path``, or two empty lists when there is nothing."""
        saved = _read_json(path) if path else None
        return (saved["steps"], saved["values"]) if saved else ([], [])

    def _record(self):
        value = self.measure()
        self.steps.append(self.step)
        self.values.append(value.tolist() if isinstance(value, np.ndarray) else value)

    def on_train_begin(self, logs=None):
        self.step = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
        steps, values = self.load(self.path)
        kept = [i for i, s in enumerate(steps) if s <= self.step]
        self.steps, self.values = [steps[i] for i in kept], [values[i] for i in kept]
        if not self.steps or self.steps[-1] < self.step:
            self._record()

    def on_train_batch_end(self, batch, logs=None):
        self.step = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
        if self.step % self.every == 0 and self.steps[-1] < self.step:
            self._record()

    def on_epoch_end(self, epoch, logs=None):
        if self.path:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(json.dumps({"steps": self.steps, "values": self.values}))


class _EpochClock(keras.callbacks.Callback):
    """Adds ``seconds``, ``lr`` and ``first_in_session`` to each epoch's logs."""

    def on_train_begin(self, logs=None):
        self._first = True

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        logs["seconds"] = time.perf_counter() - self._start
        logs["lr"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        logs["first_in_session"] = int(self._first)
        self._first = False


class _GuardedBackup(keras.callbacks.BackupAndRestore):
    """BackupAndRestore that never saves a diverged epoch: it stops training instead.

    An epoch has diverged when its training loss is not finite or exceeds ``loss_limit``.
    """

    diverged_epoch = None

    def __init__(self, backup_dir, loss_limit):
        super().__init__(backup_dir)
        self.loss_limit = loss_limit

    def on_epoch_end(self, epoch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None or not math.isfinite(loss) or loss > self.loss_limit:
            self.diverged_epoch = epoch
            self.model.stop_training = True
            return
        super().on_epoch_end(epoch, logs)

    def on_train_end(self, logs=None):
        if self.diverged_epoch is None:
            super().on_train_end(logs)


class _Progress(keras.callbacks.Callback):
    """A line every ``every`` epochs, and for the first and the last, with the time left."""

    def __init__(self, epochs, every):
        super().__init__()
        self.epochs, self.every = epochs, every
        self.times = []

    def on_epoch_end(self, epoch, logs=None):
        self.times.append(logs["seconds"])
        if self.shows(epoch + 1, first_in_session=len(self.times) == 1):
            print(self.line(epoch + 1, logs, left=(self.epochs - epoch - 1) * statistics.median(self.times[-5:])),
                  flush=True)  # fmt: skip

    def shows(self, done, *, first_in_session):
        return first_in_session or done % self.every == 0 or done == self.epochs

    def line(self, done, logs, *, left):
        return (
            f"epoch {done:>3}/{self.epochs}  loss {logs['loss']:.4f}  acc {logs.get('accuracy', float('nan')):.4f}"
            f"  val_loss {logs.get('val_loss', float('nan')):.4f}  val_acc {logs.get('val_accuracy', float('nan')):.4f}"
            f"  lr {logs['lr']:.2e}  {logs['seconds']:.1f}s  left {_duration(left)}"
        )

    def replay(self, history):
        """The lines training printed, from a finished run's history (time left as it was then)."""
        seconds = history.get("seconds", [])
        for index, done in enumerate(history.get("epoch", [])):
            if self.shows(done, first_in_session=index == 0):
                logs = {k: v[index] for k, v in history.items()}
                print(self.line(done, logs, left=(self.epochs - done) * statistics.median(seconds[max(0, index - 4):index + 1])))


def log_interval(epochs, lines=10):
    """Epochs between two progress lines, so that a run prints about ``lines`` of them."""
    return max(1, math.ceil(epochs / lines))


def _duration(seconds):
    return f"{seconds:.0f}s" if seconds < 120 else f"{seconds / 60:.0f}min" if seconds < 7200 else f"{seconds / 3600:.1f}h"


# ---------------------------------------------------------------------------------------------
# fit


@dataclass
class FitResult:
    """What `fit` returns: the trained model, its training wrapper and the full history."""

    model: keras.Model
    wrapper: keras.Model  # uint8 images -> the main classifier's logits
    recipe: Recipe
    data: object
    history: dict
    diverged: bool
    message: str
    run_dir: Path
    name: str
    reused: bool = False  # loaded from a finished run in run_dir instead of trained

    @property
    def epochs_done(self):
        return len(self.history.get("epoch", []))

    @property
    def train_seconds(self):
        """Wall-clock seconds of all epochs, validation included, over every session of the run."""
        return float(sum(self.history.get("seconds", [])))

    @property
    def compile_seconds(self):
        """Seconds the first epoch of each session took beyond a typical epoch: tracing and
        compilation, mostly. None when the run has a single epoch to compare with."""
        seconds, first = self.history.get("seconds", []), self.history.get("first_in_session", [])
        steady = [s for s, f in zip(seconds, first) if not f]
        if not steady:
            return None
        typical = statistics.median(steady)
        return float(sum(max(s - typical, 0.0) for s, f in zip(seconds, first) if f))

    def evaluate(self, split="test", batch_size=None):
        """Accuracy of the model on ``"train"``, ``"val"`` or ``"test"`` (no augmentation)."""
        check_choice("split", split, ("train", "val", "test"))
        x, y = getattr(self.data, f"x_{split}"), getattr(self.data, f"y_{split}")
        return evaluate(self.wrapper, x, y, batch_size=batch_size or max(self.recipe.batch_size, 256))

    def predict(self, images, batch_size=None):
        """Logits for uint8 images (N, H, W, C), as a numpy array."""
        return predict(self.wrapper, images, batch_size=batch_size or max(self.recipe.batch_size, 256))

    def record(self, *, chapter, profile, env, name=None, test_accuracy=None, notes="", extra=None):
        """The run as a `cnnbook.results.Record` (``env``: the dict of `cnnbook.system.setup`)."""
        sizes = counting.totals(self.model)
        compile_seconds = self.compile_seconds
        val = self.history.get("val_accuracy") or [float("nan")]
        keep = ("epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr", "seconds")
        return Record(
            chapter=chapter,
            name=name or self.name,
            model=self.model.name,
            profile=profile,
            seed=env["seed"],
            params=sizes["params"],
            trainable_params=sizes["trainable_params"],
            flops=sizes["flops"],
            macs=sizes["macs"],
            epochs=self.epochs_done,
            epochs_planned=self.recipe.epochs,
            batch_size=self.recipe.batch_size,
            recipe=self.recipe.to_dict(),
            data={**self.data.sizes(), "mean": list(self.data.mean), "std": list(self.data.std)},
            train_seconds=round(self.train_seconds, 2),
            compile_seconds=None if compile_seconds is None else round(compile_seconds, 2),
            train_seconds_excluding_compile=round(self.train_seconds - (compile_seconds or 0.0), 2),
            val_accuracy=float(val[-1]),
            test_accuracy=None if test_accuracy is None else float(test_accuracy),
            diverged=self.diverged,
            reused=self.reused,
            history={k: [_finite_or_none(v) for v in self.history[k]] for k in keep if k in self.history},
            hardware=env["hardware"],
            device=env["device"],
            backend=env["backend"],
            backend_version=env["backend_version"],
            keras_version=env["keras_version"],
            python=env["python"],
            precision=env["precision"],
            precision_reason=env.get("precision_reason", ""),
            git_commit=env["git_commit"],
            git_dirty=env["git_dirty"],
            date=env["date"],
            notes=notes,
            extra=extra or {},
        )


def _finite_or_none(value):
    value = float(value)
    return value if math.isfinite(value) else None


def evaluate(wrapper, images, labels, batch_size=256):
    """Accuracy of a uint8-input model (such as `FitResult.wrapper`) on images and labels."""
    logits = predict(wrapper, images, batch_size=batch_size)
    return float(np.mean(np.argmax(logits, axis=-1) == np.asarray(labels).reshape(-1)))


def predict(wrapper, images, batch_size=256):
    """Logits of a uint8-input model for ``images``, as float32 numpy."""
    return np.asarray(wrapper.predict(np.asarray(images), batch_size=batch_size, verbose=0), dtype=np.float32)


def run_key(model, data, recipe, aux_loss_weight=AUX_LOSS_WEIGHT):
    """What makes a run, as a dict: the model (its layers' configs and a hash of its initial
    weights, so the seed counts), the data (split sizes, statistics and a hash of the labels and
    of a sample of pixels), the recipe, the backend and the precision policy; for a model with
    auxiliary classifiers, the weight of their losses too."""
    layers_ = []
    for layer in model.layers:
        config = {k: v for k, v in layer.get_config().items() if k != "name"}
        layers_.append([type(layer).__name__, config])
    weights = hashlib.sha1()
    for w in model.get_weights():
        weights.update(np.ascontiguousarray(w).tobytes())
    content = hashlib.sha1(np.asarray(data.y_train).tobytes() + np.asarray(data.y_val).tobytes())
    content.update(np.ascontiguousarray(np.asarray(data.x_train)[::97]).tobytes())
    key = {
        "model": model.name,
        "params": int(model.count_params()),
        "architecture": hashlib.sha1(json.dumps(layers_, sort_keys=True, default=str).encode()).hexdigest()[:12],
        "initial_weights": weights.hexdigest()[:12],
        "data": data.sizes(),
        "mean": [round(float(m), 6) for m in data.mean],
        "data_content": content.hexdigest()[:12],
        "recipe": recipe.to_dict(),
        "backend": keras.backend.backend(),
        "precision": keras.config.dtype_policy().name,
    }
    if auxiliary_outputs(model):
        key["aux_loss_weight"] = float(aux_loss_weight)
    return key


def fingerprint(model, data, recipe, key=None):
    """A short hash of `run_key`."""
    key = key if key is not None else run_key(model, data, recipe)
    return hashlib.sha1(json.dumps(key, sort_keys=True).encode()).hexdigest()[:10]


def _changes(before, now):
    """Which parts of a run key differ, in words."""
    changed = []
    for part in sorted(set(before) | set(now)):
        if part == "recipe" and isinstance(before.get(part), dict) and isinstance(now.get(part), dict):
            changed += [f"recipe.{k} {before[part].get(k)!r} -> {now[part].get(k)!r}"
                        for k in sorted(set(before[part]) | set(now[part])) if before[part].get(k) != now[part].get(k)]  # fmt: skip
        elif before.get(part) != now.get(part):
            changed.append(f"{part} {before.get(part)!r} -> {now.get(part)!r}")
    return ", ".join(changed) or "a different fingerprint"


def default_run_dir(name, model, data, recipe, key=None):
    root = system.project_root() or Path.cwd()
    return root / "runs" / f"{name}-{fingerprint(model, data, recipe, key)}"


def fit(model, data, recipe, *, name=None, run_dir=None, callbacks=(), verbose=True, reuse=True, log_every=None,
        aux_loss_weight=AUX_LOSS_WEIGHT):  # fmt: skip
    """Train ``model`` on ``data`` (a `cnnbook.data.Dataset`) with ``recipe``; see the module doc.

    Args:
        model: a Keras model of normalized images (any registered model).
        data: the `Dataset`; validation accuracy is measured on its ``val`` split every epoch.
        recipe: a `Recipe`.
        name: the run's name (default: the model's). With the fingerprint of the run (`run_key`:
            model and initial weights, data, recipe, backend, precision) it names the run folder.
        run_dir: where backups, the history and the final weights live (default:
            ``runs/<name>-<fingerprint>``).
        callbacks: more Keras callbacks, called after the book's own.
        verbose: print progress.
        reuse: load a finished run of the same fingerprint from ``run_dir`` instead of training
            again (False: train from scratch, discarding what the folder holds).
        log_every: epochs between progress lines (default: about ten lines a run).
        aux_loss_weight: for a model with auxiliary classifiers (outputs after the first), the
            weight of each one's loss in the total; the history's ``loss`` and ``accuracy`` are
            the main classifier's, ``total_loss`` what was minimized, and the result's wrapper
            predicts with the main classifier.

    Returns:
        a `FitResult` (``reused`` says whether it was loaded).
    """
    if not isinstance(recipe, Recipe):
        raise TypeError(f"recipe must be a cnnbook.train.Recipe, got {type(recipe).__name__}")
    check_bool("reuse", reuse)
    aux_loss_weight = check_float("aux_loss_weight", aux_loss_weight, minimum=0, maximum=10)
    name = name or model.name
    key = run_key(model, data, recipe, aux_loss_weight)
    print_ = print if verbose else (lambda *args, **kwargs: None)
    run_dir = Path(run_dir) if run_dir else default_run_dir(name, model, data, recipe, key)
    backup_dir, log_path = run_dir / "backup", run_dir / "history.csv"
    final_path, done_path = run_dir / "final.weights.h5", run_dir / "done.json"
    run_dir.mkdir(parents=True, exist_ok=True)

    previous = _read_json(run_dir / "run.json")
    if previous is not None and previous.get("key") != key:
        print_(f"{name}: {run_dir} holds a different run ({_changes(previous.get('key') or {}, key)}); "
               "training from scratch.", flush=True)  # fmt: skip
        _clear(run_dir)
    elif not reuse:
        _clear(run_dir)
    (run_dir / "run.json").write_text(json.dumps({"name": name, "fingerprint": fingerprint(model, data, recipe, key),
                                                  "key": key}, indent=1))  # fmt: skip

    trainer = compiled_wrapper(model, data, recipe, aux_loss_weight=aux_loss_weight)
    aux = auxiliary_outputs(model)
    # What the result predicts with: the trainer itself, or its main classifier alone.
    wrapper = training_wrapper(model, data, augment=False, main_only=True) if aux else trainer
    done = _read_json(done_path)
    if done is not None and final_path.exists():
        try:
            model.load_weights(str(final_path))
        except Exception as error:  # a damaged file: train again rather than stop
            print_(f"{name}: could not load {final_path} ({type(error).__name__}: {error}); training again.")
            _clear(run_dir)
        else:
            history = _read_log(log_path)
            result = FitResult(model, wrapper, recipe, data, history, done["diverged"], done.get("message", ""),
                               run_dir, name, reused=True)  # fmt: skip
            if verbose:
                print(
                    f"{name}: reusing the finished run in {_shown(run_dir)} ({result.epochs_done} epochs, trained "
                    f"in {_duration(result.train_seconds)} on {done.get('date', '?')[:10]}); its progress then:",
                    flush=True,
                )
                every = log_interval(recipe.epochs) if log_every is None else check_int("log_every", log_every, minimum=1)
                _Progress(recipe.epochs, every).replay(history)
            return result

    resume_epoch = _completed_epochs(backup_dir)
    if resume_epoch is None:
        shutil.rmtree(backup_dir, ignore_errors=True)
        log_path.unlink(missing_ok=True)
    else:
        _truncate_log(log_path, resume_epoch)
    initial_weights = trainer.get_weights()
    # Cross-entropy of a uniform guess is ln(classes); a hundred times that means the logits blew up.
    loss_limit = 100 * math.log(data.num_classes)
    backup = _GuardedBackup(str(backup_dir), loss_limit)
    own = [_MainOutputLogs(output_names(model)[0])] if aux else []
    own += [_EpochClock(), backup, keras.callbacks.CSVLogger(str(log_path), append=True)]
    if verbose:
        every = log_interval(recipe.epochs) if log_every is None else check_int("log_every", log_every, minimum=1)
        own.append(_Progress(recipe.epochs, every))
        start = f"resuming after epoch {resume_epoch}" if resume_epoch else "starting"
        print(
            f"{name}: {start}; {recipe.epochs} epochs of {len(data.y_train):,} images, batch {recipe.batch_size}, "
            f"{recipe.optimizer} lr {recipe.learning_rate:g} ({recipe.schedule}), "
            f"{keras.config.dtype_policy().name}; backups in {_shown(run_dir)}",
            flush=True,
        )
    try:
        trainer.fit(**fit_inputs(data, recipe, output_names(model)), epochs=recipe.epochs,
                    callbacks=own + list(callbacks), verbose=0)  # fmt: skip
    except KeyboardInterrupt:
        done = _completed_epochs(backup_dir)
        print(
            f"{name}: interrupted. {done or 0} epochs are backed up in {backup_dir}; running the same "
            "fit again continues from there.",
            flush=True,
        )
        raise

    history = _read_log(log_path)
    diverged, message = backup.diverged_epoch is not None, ""
    if diverged:
        good = _completed_epochs(backup_dir)
        if good:
            trainer.load_weights(str(backup_dir / "latest.weights.h5"))
            kept = f"the model holds the weights of epoch {good}, the last good one"
        else:
            trainer.set_weights(initial_weights)
            kept = "no epoch ended well, so the model holds its initial weights"
        loss = history["loss"][-1] if history.get("loss") else float("nan")
        why = "not finite" if not math.isfinite(loss) else f"{loss:.3g}, over {loss_limit:.0f}, a hundred times a uniform guess's"
        message = (
            f"{name}: training diverged in epoch {backup.diverged_epoch + 1} (the training loss is "
            f"{why}); {kept}. Try a lower "
            f"learning_rate (it was {recipe.learning_rate:g}) or a longer warm-up (warmup_epochs="
            f"{recipe.warmup_epochs:g}). The history of the finished epochs is in {log_path}."
        )
        print(message, flush=True)
    # The run is finished (or stopped for good): keep what it computed for the next call.
    model.save_weights(str(final_path))  # the classifier alone: no optimizer state to load back
    stamp = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    done_path.write_text(json.dumps({"diverged": diverged, "message": message, "date": stamp}, indent=1))
    return FitResult(model, wrapper, recipe, data, history, diverged, message, run_dir, name)


def _shown(path):
    """``path`` relative to the project (``runs/...``) where it lies inside it."""
    root = system.project_root()
    try:
        return str(Path(path).resolve().relative_to(root)) if root else str(path)
    except ValueError:
        return str(path)


def _read_json(path):
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


def _clear(run_dir):
    """Forget the run in ``run_dir``: backups, history, final weights."""
    shutil.rmtree(run_dir / "backup", ignore_errors=True)
    for leftover in ("history.csv", "final.weights.h5", "done.json", "run.json"):
        (run_dir / leftover).unlink(missing_ok=True)


def _completed_epochs(backup_dir):
    try:
        return int(json.loads((backup_dir / "training_metadata.json").read_text())["epoch"])
    except (OSError, ValueError, KeyError):
        return None


def _read_log(path):
    """The CSV history as lists per column, one entry per epoch (a repeated epoch keeps its last row)."""
    if not path.exists():
        return {}
    rows = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            rows[int(row["epoch"])] = row
    history = {}
    for epoch in sorted(rows):
        for key, value in rows[epoch].items():
            history.setdefault(key, []).append(int(value) if key in ("epoch", "first_in_session") else float(value))
    if "epoch" in history:
        history["epoch"] = [e + 1 for e in history["epoch"]]  # 1-based, as printed
    return history


def _truncate_log(path, epochs):
    """Keep the header and the rows of the first ``epochs`` epochs of a CSV history."""
    if not path.exists():
        return
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        return
    keep = [rows[0]] + [r for r in rows[1:] if r and int(r[0]) < epochs]
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows(keep)
