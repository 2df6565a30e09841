"""The speedrun recipe: a short, wide network and the tricks that train it to 94% in ten epochs.

The ideas come from David Page's "How to train your ResNet" (2018) and Keller Jordan's airbench94
(2024: 94.01% CIFAR-10 test accuracy in 3.83 s on an A100, about 10 epochs); this module is the
book's own Keras 3 version of them, on every backend:

- `Whitening`: a 2x2 convolution whose filters are frozen at the whitened principal components
  of image patches (computed from 5,000 training images), with a trainable bias that is frozen
  after a few epochs;
- `network`: the whitening layer, then one block per width (``conv 3x3 -> 2x2 max pool -> BN ->
  GELU -> conv 3x3 -> BN -> GELU``), global max pooling, a linear classifier without bias and a
  fixed 1/9 scale on the logits. Batch normalization has no scale (gamma fixed at 1) and fast
  moving statistics (momentum 0.6); every convolution starts as an identity on its first input
  channels (a "dirac" initialization, an implicit residual connection);
- `ScaledSGD`: Nesterov SGD in PyTorch's form, with the batch-norm biases learning 64 times faster,
  weight decay coupled to the gradient, and a gate that freezes the whitening bias;
- `Lookahead`: every 5 steps the weights are pulled to an exponential average of themselves, more
  strongly towards the end;
- alternating flips (each image is mirrored in every other epoch, from a random start), 2-pixel
  translations, label smoothing 0.2, a triangular learning-rate schedule, and test-time
  augmentation over 6 views (mirror times three translations).

`train` runs the recipe and times everything a run does: preparing the data, the whitening
statistics, training and test-time augmentation.
"""

import dataclasses
import math
import time
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
from keras import layers, ops

from cnnbook.errors import ParameterError, check_bool, check_choice, check_float, check_int
from cnnbook.layers import BatchNormalization

FLIPS = ("alternate", "random", "none")


@dataclass(frozen=True)
class SpeedRecipe:
    """The speedrun's hyperparameters, in airbench's decoupled units.

    ``learning_rate`` and ``weight_decay`` are per 1,024 examples and independent of the momentum
    (Page's parametrization): the step a gradient makes does not change when the momentum or the
    batch size does. `ScaledSGD` receives them converted.
    """

    epochs: float = 10.0
    batch_size: int = 1024
    learning_rate: float = 11.5
    momentum: float = 0.85
    weight_decay: float = 0.0153
    bias_scaler: float = 64.0
    label_smoothing: float = 0.2
    whiten_bias_epochs: int = 3
    lookahead: bool = True
    flip: str = "alternate"
    translate: int = 2
    tta: int = 2
    whiten: bool = True
    dirac: bool = True
    widths: tuple = (64, 256, 256)
    bn_momentum: float = 0.6

    def __post_init__(self):
        check_float("epochs", self.epochs, minimum=0, exclusive_minimum=True, maximum=200)
        check_int("batch_size", self.batch_size, minimum=1)
        check_float("learning_rate", self.learning_rate, minimum=0, exclusive_minimum=True)
        check_float("momentum", self.momentum, minimum=0, maximum=0.99)
        check_float("weight_decay", self.weight_decay, minimum=0, maximum=1)
        check_float("bias_scaler", self.bias_scaler, minimum=0, exclusive_minimum=True)
        check_float("label_smoothing", self.label_smoothing, minimum=0, maximum=0.99)
        check_int("whiten_bias_epochs", self.whiten_bias_epochs, minimum=0)
        check_bool("lookahead", self.lookahead)
        check_choice("flip", self.flip, FLIPS)
        check_int("translate", self.translate, minimum=0, maximum=8)
        check_int("tta", self.tta, minimum=0, maximum=2)
        check_bool("whiten", self.whiten)
        check_bool("dirac", self.dirac)
        if not isinstance(self.widths, (tuple, list)) or not self.widths:
            raise ParameterError("widths", self.widths, "give the width of each block, e.g. (64, 256, 256)")
        object.__setattr__(self, "widths", tuple(check_int("widths", w, minimum=1) for w in self.widths))
        check_float("bn_momentum", self.bn_momentum, minimum=0, maximum=0.999)

    def to_dict(self):
        return dataclasses.asdict(self)

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)

    @property
    def step_scale(self):
        """How much larger a Nesterov step is than the gradient, for constant gradients,
        per 1,024 examples: ``1024 * (1 + 1 / (1 - momentum))``."""
        return 1024 * (1 + 1 / (1 - self.momentum))

    @property
    def sgd_learning_rate(self):
        """The peak learning rate of `ScaledSGD` on the batch's mean loss."""
        return self.learning_rate * self.batch_size / self.step_scale

    @property
    def decay_per_step(self):
        """The fraction of each weight that weight decay removes per step at the peak rate."""
        return self.weight_decay * self.batch_size / self.step_scale


# ---------------------------------------------------------------------------------------------
# The network


def whitening_filters(images, kernel_size=2, eps=5e-4):
    """Filters that whiten the ``kernel_size`` x ``kernel_size`` patches of ``images`` (N, H, W, C,
    normalized floats): the eigenvectors of the patches' second-moment matrix, largest first, each
    divided by the square root of its eigenvalue, then the same filters negated (so that a ReLU-like
    activation keeps both signs). Shape ``(k, k, C, 2 k k C)``, as Keras' Conv2D kernel."""
    images = np.asarray(images, np.float32)
    c = images.shape[-1]
    windows = np.lib.stride_tricks.sliding_window_view(images, (kernel_size, kernel_size), axis=(1, 2))
    patches = windows.transpose(0, 1, 2, 4, 5, 3).reshape(-1, kernel_size * kernel_size * c).astype(np.float64)
    moment = patches.T @ patches / len(patches)
    eigenvalues, eigenvectors = np.linalg.eigh(moment)
    eigenvalues, eigenvectors = eigenvalues[::-1], eigenvectors[:, ::-1]
    filters = (eigenvectors / np.sqrt(eigenvalues + eps)).reshape(kernel_size, kernel_size, c, -1)
    return np.concatenate([filters, -filters], axis=-1).astype(np.float32)


@keras.saving.register_keras_serializable(package="cnnbook")
class Whitening(layers.Layer):
    """A ``kernel_size`` x ``kernel_size`` "valid" convolution with a frozen kernel (set it with
    `set_filters`, e.g. to `whitening_filters`) and a trainable bias; ``2 k k C`` output maps."""

    def __init__(self, kernel_size=2, **kwargs):
        super().__init__(**kwargs)
        self.kernel_size = check_int("kernel_size", kernel_size, minimum=1)

    def build(self, input_shape):
        k, c = self.kernel_size, int(input_shape[-1])
        self.kernel = self.add_weight(name="kernel", shape=(k, k, c, 2 * k * k * c), initializer="zeros", trainable=False)
        self.bias = self.add_weight(name="bias", shape=(2 * k * k * c,), initializer="zeros")

    def set_filters(self, filters):
        self.kernel.assign(filters)

    def call(self, inputs):
        x = ops.conv(inputs, ops.cast(self.kernel, inputs.dtype), padding="valid")
        return x + ops.cast(self.bias, inputs.dtype)

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        k = self.kernel_size
        shrink = lambda size: None if size is None else size - k + 1  # noqa: E731
        return (n, shrink(h), shrink(w), 2 * k * k * c)

    def get_config(self):
        return {**super().get_config(), "kernel_size": self.kernel_size}


@keras.saving.register_keras_serializable(package="cnnbook")
class PartialDirac(keras.initializers.Initializer):
    """PyTorch's default convolution initialization (uniform within ``1/sqrt(fan_in)``), with the
    first ``min(in, out)`` filters replaced by identities: the layer starts by passing its input
    channels through, an implicit residual connection."""

    def __init__(self, dirac=True):
        self.dirac = dirac

    def __call__(self, shape, dtype=None):
        kh, kw, cin, cout = shape
        limit = 1.0 / math.sqrt(kh * kw * cin)
        kernel = keras.random.uniform(shape, -limit, limit, dtype=dtype)
        if not self.dirac:
            return kernel
        n = min(cin, cout)
        identity = np.zeros(shape, np.float32)
        identity[kh // 2, kw // 2, np.arange(n), np.arange(n)] = 1.0
        mask = np.ones(shape, np.float32)
        mask[..., :n] = 0.0
        return kernel * ops.convert_to_tensor(mask, dtype) + ops.convert_to_tensor(identity, dtype)

    def get_config(self):
        return {"dirac": self.dirac}


def network(recipe=SpeedRecipe(), *, mean, std, input_shape=(32, 32, 3), num_classes=10, scale=1 / 9):
    """The speedrun network on uint8 images (normalized inside by ``mean`` and ``std`` on the 0..1
    scale). ``recipe.whiten=False`` replaces the whitening layer by an ordinary trainable 2x2
    convolution with batch normalization; ``recipe.dirac=False`` initializes convolutions randomly."""
    norm = lambda name: BatchNormalization(  # noqa: E731
        momentum=recipe.bn_momentum, epsilon=1e-5, scale=False, name=f"{name}_bn"
    )
    inputs = keras.Input(input_shape, dtype="uint8", name="uint8_image")
    x = layers.Normalization(
        mean=[255.0 * m for m in mean], variance=[(255.0 * s) ** 2 for s in std], dtype="float32", name="normalize"
    )(inputs)
    if recipe.whiten:
        x = Whitening(2, name="whiten")(x)
    else:
        x = layers.Conv2D(24, 2, padding="valid", use_bias=False, name="stem_conv")(x)
        x = norm("stem")(x)
    x = layers.Activation("gelu", name="stem_gelu")(x)
    for index, width in enumerate(recipe.widths, start=1):
        for part in (1, 2):
            name = f"block{index}_{part}"
            x = layers.Conv2D(
                width, 3, padding="same", use_bias=False, kernel_initializer=PartialDirac(recipe.dirac), name=f"{name}_conv"
            )(x)
            if part == 1:
                x = layers.MaxPooling2D(2, name=f"{name}_pool")(x)
            x = norm(name)(x)
            x = layers.Activation("gelu", name=f"{name}_gelu")(x)
    x = layers.GlobalMaxPooling2D(name="pool")(x)
    limit = keras.initializers.VarianceScaling(1 / 3, "fan_in", "uniform")
    x = layers.Dense(num_classes, use_bias=False, kernel_initializer=limit, name="predictions")(x)
    outputs = layers.Rescaling(scale, dtype="float32", name="logit_scale")(x)
    return keras.Model(inputs, outputs, name="speedrun")


# ---------------------------------------------------------------------------------------------
# Optimization


class ScaledSGD(keras.optimizers.Optimizer):
    """Nesterov SGD as PyTorch writes it (``b = m b + g``, ``w -= lr (g + m b)``), with

    - ``multipliers``: {variable path: factor} for the learning rate (the batch-norm biases: 64);
    - coupled weight decay: ``g += decay / (lr * factor) * w``, so that every weight loses the same
      fraction ``decay`` per step at the peak rate, whatever its factor;
    - ``gated``: variable paths whose updates are multiplied by `gate` (set it to 0 to freeze them).
    """

    def __init__(self, learning_rate, *, base_learning_rate, momentum, decay, multipliers=None, gated=(), name="scaled_sgd", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.base_learning_rate = float(base_learning_rate)
        self.momentum = float(momentum)
        self.decay = float(decay)
        self.multipliers = dict(multipliers or {})
        self.gated = set(gated)

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self.buffers = [self.add_variable_from_reference(v, "buffer") for v in variables]
        self.factors = [self.multipliers.get(v.path, 1.0) for v in variables]
        self.is_gated = [v.path in self.gated for v in variables]
        self.gate = self.add_variable((), initializer="ones", name="gate")

    def update_step(self, gradient, variable, learning_rate):
        index = self._get_variable_index(variable)
        factor = self.factors[index]
        lr = ops.cast(learning_rate, variable.dtype) * factor
        if self.is_gated[index]:
            lr = lr * self.gate
        gradient = gradient + (self.decay / (self.base_learning_rate * factor)) * variable
        buffer = self.buffers[index]
        self.assign(buffer, self.momentum * buffer + gradient)
        self.assign_sub(variable, lr * (gradient + self.momentum * buffer))

    def get_config(self):
        raise NotImplementedError("ScaledSGD holds variable paths of one model; it is not saved with it")


def triangle(total_steps, peak, start=0.2, end=0.07, peak_at=0.23):
    """The learning rate of each step: linear from ``start * peak`` to ``peak`` over the first
    ``peak_at`` of the run, then linear down to ``end * peak``."""
    steps = np.arange(total_steps + 1)
    return peak * np.interp(steps, [0, int(peak_at * total_steps), total_steps], [start, 1.0, end])


class TriangleSchedule(keras.optimizers.schedules.LearningRateSchedule):
    def __init__(self, values):
        self.values = np.asarray(values, np.float32)

    def __call__(self, step):
        table = ops.convert_to_tensor(self.values)
        index = ops.minimum(ops.cast(step, "int32"), len(self.values) - 1)
        return ops.take(table, index)

    def get_config(self):
        return {"values": self.values.tolist()}


class Lookahead:
    """An exponential average of the weights that the weights are reset to at each `update`."""

    def __init__(self, variables):
        self.variables = [v for v in variables if "float" in keras.backend.standardize_dtype(v.dtype)]
        self.average = [ops.convert_to_tensor(v.value) for v in self.variables]

    def update(self, decay):
        for i, variable in enumerate(self.variables):
            self.average[i] = self.average[i] + (1.0 - decay) * (ops.convert_to_tensor(variable.value) - self.average[i])
            variable.assign(self.average[i])


# ---------------------------------------------------------------------------------------------
# Data


def translated(padded, size, rng):
    """A random ``size`` x ``size`` crop of each image of ``padded`` (N, H, W, C)."""
    n, h, w = padded.shape[:3]
    out = np.empty((n, size, size, padded.shape[-1]), padded.dtype)
    dy, dx = rng.integers(0, h - size + 1, n), rng.integers(0, w - size + 1, n)
    for y in range(h - size + 1):
        for x in range(w - size + 1):
            chosen = np.flatnonzero((dy == y) & (dx == x))
            out[chosen] = padded[chosen, y : y + size, x : x + size]
    return out


class Epochs:
    """The training images of each epoch: flipped (alternating or at random) and translated."""

    def __init__(self, images, recipe, rng):
        self.recipe, self.rng = recipe, rng
        self.size = images.shape[1]
        if recipe.flip == "alternate":
            flip = rng.random(len(images)) < 0.5
            images = np.where(flip[:, None, None, None], images[:, :, ::-1], images)
        pad = recipe.translate
        self.images = np.pad(images, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode="reflect") if pad else images

    def __call__(self, epoch):
        images = translated(self.images, self.size, self.rng) if self.recipe.translate else self.images
        if self.recipe.flip == "alternate" and epoch % 2 == 1:
            images = images[:, :, ::-1]
        elif self.recipe.flip == "random":
            flip = self.rng.random(len(images)) < 0.5
            images = np.where(flip[:, None, None, None], images[:, :, ::-1], images)
        return np.ascontiguousarray(images)


def tta_logits(model, images, level=2, batch_size=2000):
    """Logits averaged over views: 0 the image; 1 and its mirror; 2 both, translated by one
    pixel up-left and down-right as well (6 views: the untranslated pair weighs half)."""
    predict = lambda x: model.predict(np.ascontiguousarray(x), batch_size=batch_size, verbose=0)  # noqa: E731
    mirror = lambda x: 0.5 * predict(x) + 0.5 * predict(x[:, :, ::-1])  # noqa: E731
    if level == 0:
        return predict(images)
    if level == 1:
        return mirror(images)
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="reflect")
    n = images.shape[1]
    shifted = 0.5 * mirror(padded[:, :n, :n]) + 0.5 * mirror(padded[:, 2:, 2:])
    return 0.5 * mirror(images) + 0.5 * shifted


# ---------------------------------------------------------------------------------------------
# Training


def train(recipe, x_train, y_train, x_eval, y_eval, *, seed=0, log=print, eval_every_epoch=False):
    """Train the speedrun network with ``recipe`` and measure it on ``(x_eval, y_eval)`` with
    test-time augmentation. Images are uint8 (N, 32, 32, 3); labels integers.

    Returns a dict: ``accuracy`` (with the recipe's test-time augmentation), ``accuracy_plain``
    (one view), ``seconds`` (everything: data preparation, whitening statistics, training,
    test-time augmentation), ``train_seconds``, ``history`` (per epoch: loss, accuracy, seconds,
    and with ``eval_every_epoch`` the one-view evaluation accuracy, computed off the clock), and
    the ``model``.
    """
    steps_per_epoch = len(x_train) // recipe.batch_size
    if steps_per_epoch < 1:
        raise ParameterError("batch_size", recipe.batch_size, f"use at most the {len(x_train)} training images")
    rng = np.random.default_rng(seed)
    keras.utils.set_random_seed(seed)
    clock = time.perf_counter()
    mean = tuple(float(m) for m in x_train.reshape(-1, 3).mean(0) / 255.0)
    std = tuple(float(s) for s in x_train.reshape(-1, 3).std(0) / 255.0)
    model = network(recipe, mean=mean, std=std, input_shape=x_train.shape[1:], num_classes=int(y_train.max()) + 1)
    if recipe.whiten:
        sample = (x_train[:5000].astype(np.float32) / 255.0 - np.array(mean, np.float32)) / np.array(std, np.float32)
        model.get_layer("whiten").set_filters(whitening_filters(sample))
    total_steps = math.ceil(steps_per_epoch * recipe.epochs)
    rates = triangle(total_steps, recipe.sgd_learning_rate)
    biases = {v.path: recipe.bias_scaler for v in model.trainable_variables if v.path.endswith("_bn/beta")}
    gated = {model.get_layer("whiten").bias.path} if recipe.whiten else set()
    optimizer = ScaledSGD(
        TriangleSchedule(rates), base_learning_rate=recipe.sgd_learning_rate, momentum=recipe.momentum,
        decay=recipe.decay_per_step, multipliers=biases, gated=gated,
    )  # fmt: skip
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=recipe.label_smoothing),
        metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")],
    )
    epochs = Epochs(x_train, recipe, rng)
    targets = np.eye(model.output_shape[-1], dtype=np.float32)[y_train]
    history = {"epoch": [], "loss": [], "accuracy": [], "seconds": [], "eval_accuracy": []}
    lookahead, step, off_clock = None, 0, 0.0
    ema_decay = 0.95**5
    for epoch in range(math.ceil(recipe.epochs)):
        if recipe.whiten:
            optimizer.build(model.trainable_variables)
            optimizer.gate.assign(1.0 if epoch < recipe.whiten_bias_epochs else 0.0)
        images, order = epochs(epoch), rng.permutation(len(x_train))
        losses, accuracies = [], []
        for batch in range(steps_per_epoch):
            chosen = order[batch * recipe.batch_size : (batch + 1) * recipe.batch_size]
            logs = model.train_on_batch(images[chosen], targets[chosen], return_dict=True)
            losses.append(logs["loss"])
            accuracies.append(logs["accuracy"])
            step += 1
            if recipe.lookahead and epoch >= 3 and step % 5 == 0:
                if lookahead is None:
                    lookahead = Lookahead(model.weights)
                else:
                    lookahead.update(ema_decay * (step / total_steps) ** 3)
            if step >= total_steps:
                break
        if lookahead is not None:
            lookahead.update(1.0)
        loss = float(np.mean(losses))
        if not math.isfinite(loss):
            raise FloatingPointError(
                f"training diverged in epoch {epoch + 1} (loss {loss}); lower learning_rate (now {recipe.learning_rate})"
            )
        history["epoch"].append(epoch + 1)
        history["loss"].append(loss)
        history["accuracy"].append(float(np.mean(accuracies)))
        history["seconds"].append(round(time.perf_counter() - clock - off_clock, 2))
        if eval_every_epoch:
            paused = time.perf_counter()
            plain = tta_logits(model, x_eval, level=0).argmax(-1)
            history["eval_accuracy"].append(float((plain == y_eval).mean()))
            off_clock += time.perf_counter() - paused
        log(
            f"epoch {epoch + 1:>2}: loss {loss:.4f}, accuracy {history['accuracy'][-1]:.4f}"
            + (f", eval {history['eval_accuracy'][-1]:.4f}" if eval_every_epoch else "")
            + f", {history['seconds'][-1]:.0f} s"
        )
    train_seconds = time.perf_counter() - clock - off_clock
    logits = tta_logits(model, x_eval, level=recipe.tta)
    seconds = time.perf_counter() - clock - off_clock
    accuracy = float((logits.argmax(-1) == y_eval).mean())
    plain = float((tta_logits(model, x_eval, level=0).argmax(-1) == y_eval).mean())
    log(f"accuracy {accuracy:.4f} with test-time augmentation ({plain:.4f} without), {seconds / 60:.1f} min")
    if not eval_every_epoch:
        history.pop("eval_accuracy")
    return dict(
        accuracy=accuracy, accuracy_plain=plain, seconds=round(seconds, 2), train_seconds=round(train_seconds, 2),
        steps=step, history=history, model=model,
    )  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Records

CHAPTER = "13_speedrun"


def _as_json(value):
    """``value`` as it reads back from a JSON record (tuples become lists)."""
    import json

    return json.loads(json.dumps(value))


def record(out, recipe, *, name, profile, env, sizes, evaluated_on, chapter=CHAPTER, notes=""):
    """The run ``out`` of `train` as a `cnnbook.results.Record`.

    ``evaluated_on`` is ``"val"`` (a tuning run: its accuracy is the validation accuracy) or
    ``"test"`` (a final run, evaluated once). ``train_seconds`` is everything the run did, as the
    speedrun counts it (data preparation, whitening statistics, training, test-time augmentation);
    ``extra`` splits it and keeps the one-view accuracy.
    """
    import datetime

    from cnnbook import counting
    from cnnbook.results import Record

    check_choice("evaluated_on", evaluated_on, ("val", "test"))
    size = counting.totals(out["model"])
    history = {key: out["history"][key] for key in ("epoch", "loss", "accuracy", "seconds")}
    if out["history"].get("eval_accuracy"):
        history[f"{evaluated_on}_accuracy"] = out["history"]["eval_accuracy"]
    return Record(
        chapter=chapter, name=name, model="speedrun", profile=profile, seed=env["seed"],
        params=size["params"], trainable_params=size["trainable_params"], flops=size["flops"], macs=size["macs"],
        epochs=math.ceil(recipe.epochs), epochs_planned=math.ceil(recipe.epochs), batch_size=recipe.batch_size,
        recipe=_as_json(recipe.to_dict()), data=dict(sizes),
        train_seconds=out["seconds"], compile_seconds=None, train_seconds_excluding_compile=out["seconds"],
        val_accuracy=out["accuracy"] if evaluated_on == "val" else None,
        test_accuracy=out["accuracy"] if evaluated_on == "test" else None,
        diverged=False, history=history,
        hardware=env["hardware"], device=env["device"], backend=env["backend"], backend_version=env["backend_version"],
        keras_version=env["keras_version"], python=env["python"], precision=env["precision"],
        precision_reason=env.get("precision_reason", ""), git_commit=env["git_commit"], git_dirty=env["git_dirty"],
        date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"), notes=notes,
        extra={"evaluated_on": evaluated_on, "accuracy_one_view": out["accuracy_plain"],
               "training_seconds": out["train_seconds"], "steps": out["steps"]},
    )  # fmt: skip


def run(name, recipe, train_split, eval_split, *, evaluated_on, env, profile, retrain=False, log=print,
        directory=None, notes=""):  # fmt: skip
    """Train ``recipe`` on ``train_split`` (images, labels), measure it on ``eval_split``, save the
    record and return it; or, unless ``retrain``, return the saved record of the same run (same
    recipe, seed, data sizes and profile) without training.

    ``evaluated_on`` names ``eval_split``: ``"val"`` for tuning runs (accuracy per epoch measured
    off the clock), ``"test"`` for final runs (the test set is evaluated once, after training).
    """
    from cnnbook import results

    check_bool("retrain", retrain)
    sizes = {"train": int(len(train_split[1])), evaluated_on: int(len(eval_split[1]))}
    path = Path(directory or results.results_dir(profile)) / CHAPTER / f"{name}.json"
    if path.exists() and not retrain:
        saved = results.load(path)
        same = (saved.recipe == _as_json(recipe.to_dict()) and saved.seed == env["seed"] and saved.data == sizes
                and saved.profile == profile)  # fmt: skip
        if same:
            log(f"{name}: the saved run of this recipe is reused ({path.name}); retrain=True trains it again")
            return saved
    out = train(recipe, *train_split, *eval_split, seed=env["seed"], log=log, eval_every_epoch=evaluated_on == "val")
    saved = record(out, recipe, name=name, profile=profile, env=env, sizes=sizes, evaluated_on=evaluated_on,
                   notes=notes)  # fmt: skip
    results.save(saved, path.parent.parent)
    return saved


# The ingredients the chapter removes one at a time (validation accuracy, same budget).
ABLATIONS = {
    "baseline": {},
    "no-whitening": {"whiten": False},
    "no-dirac": {"dirac": False},
    "no-label-smoothing": {"label_smoothing": 0.0},
}


def chapter_runs(split, recipe, *, ablation_epochs, seeds, env, profile, retrain=False, log=print,
                 only=("ablations", "final"), directory=None):  # fmt: skip
    """The chapter's runs, each reused when its record exists: the `ABLATIONS` of ``recipe`` at
    ``ablation_epochs`` on the training split, judged on validation (seed ``seeds[0]``), and one final
    run of ``recipe`` per seed on the training and validation images together (all 50,000),
    evaluated once on test. Records go under ``directory`` (default: the profile's results folder).
    Returns ``{"ablations": {key: Record}, "final": {seed: Record}}``."""
    out = {"ablations": {}, "final": {}}
    if "ablations" in only:
        for key, change in ABLATIONS.items():
            changed = recipe.replace(epochs=ablation_epochs, **change)
            log(f"-- ablation {key}")
            out["ablations"][key] = run(f"ablation-{key}", changed, (split.x_train, split.y_train), (split.x_val, split.y_val),
                                        evaluated_on="val", env={**env, "seed": seeds[0]}, profile=profile,
                                        retrain=retrain, log=log, directory=directory)  # fmt: skip
    if "final" in only:
        everything = (np.concatenate([split.x_train, split.x_val]), np.concatenate([split.y_train, split.y_val]))
        for seed in seeds:
            log(f"-- final run, seed {seed}")
            out["final"][seed] = run(f"final-seed{seed}", recipe, everything, (split.x_test, split.y_test),
                                     evaluated_on="test", env={**env, "seed": seed}, profile=profile,
                                     retrain=retrain, log=log, directory=directory)  # fmt: skip
    return out


def main(argv=None):
    """The chapter's full-profile runs from the command line (records in results/13_speedrun/)."""
    import argparse

    from cnnbook import data, system

    parser = argparse.ArgumentParser(prog="python -m cnnbook.speedrun", description=main.__doc__)
    parser.add_argument("--epochs", type=float, default=13.0, help="epochs of the final runs")
    parser.add_argument("--ablation-epochs", type=float, default=10.0)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--only", choices=("ablations", "final"), nargs="+", default=("final", "ablations"))
    parser.add_argument("--retrain", action="store_true")
    args = parser.parse_args(argv)
    env = system.setup(args.seeds[0])
    split = data.cifar10()
    for part in args.only:  # in the order given
        chapter_runs(split, SpeedRecipe(epochs=args.epochs), ablation_epochs=args.ablation_epochs, seeds=args.seeds,
                     env=env, profile="full", retrain=args.retrain, log=lambda line: print(line, flush=True),
                     only=(part,))  # fmt: skip


if __name__ == "__main__":
    main()
