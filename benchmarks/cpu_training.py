"""CPU training speed of the book's path against a hand-written PyTorch reference.

    .venv/bin/python benchmarks/cpu_training.py                  # the book's default path
    .venv/bin/python benchmarks/cpu_training.py --levers         # and every lever, one at a time
    KERAS_BACKEND=torch .venv/bin/python benchmarks/cpu_training.py

For each network (the registered ``resnet20`` and the wide ``speednet``) it trains:

- *keras*: the registered model through `cnnbook.train.compiled_wrapper`, the wrapper and
  compilation of `cnnbook.train.fit` (uint8 images, the random crop and flip, normalization,
  SGD with Nesterov momentum, decoupled weight decay, cross-entropy), at the precision
  `cnnbook.system.setup(precision="auto")` chooses for this machine;
- *reference*: the same architecture written directly in PyTorch (`torch_reference.py`:
  channels-last, oneDNN's fused batch normalization, the same augmentation and optimizer), in
  float32 and under ``torch.autocast`` in bfloat16 (on CPUs with native bfloat16 only);
- with ``--levers``, the Keras path with one setting changed at a time: Keras' own batch
  normalization instead of `cnnbook.layers.BatchNormalization`, float32 or bfloat16, XLA
  (``jit_compile=True``), no augmentation, ``steps_per_execution=4``, batch 256.

Every variant trains one untimed epoch first (tracing and compilation); then timed epochs
alternate between all variants for ``--rounds`` rounds, so a machine whose speed drifts slows
them alike. A timed Keras epoch is the second epoch of a two-epoch ``fit`` (what Keras does once
per ``fit`` call stays out, as in a long run); with ``--levers``, Keras' own input pipeline for
numpy arrays is measured too (it builds a new iterator every epoch). Throughput is images over the median epoch time. The ratio compares the Keras path
with the reference at its best precision. Written to
``results/benchmarks/cpu-training-<cpu>.json`` (``-<backend>`` appended off TensorFlow).
"""

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

import keras
import numpy as np

import cnnbook
from cnnbook.data import one_hot
from cnnbook.results import write_json_atomic
from cnnbook.train import Recipe, compiled_wrapper, fit_inputs

sys.path.insert(0, str(Path(__file__).resolve().parent))
import torch_reference  # noqa: E402

NETWORKS = ("resnet20", "speednet")
BATCH = {"resnet20": 128, "speednet": 256}


def keras_bn(model):
    """``model`` with Keras' own BatchNormalization in place of the book's fused one."""

    def clone(layer):
        if isinstance(layer, cnnbook.layers.BatchNormalization):
            return keras.layers.BatchNormalization.from_config(layer.get_config())
        return layer.__class__.from_config(layer.get_config())

    return keras.models.clone_model(model, clone_function=clone)


class _SecondEpoch(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds = time.perf_counter() - self.start


class KerasVariant:
    """One Keras training setup of a network. Each timed epoch is the second of a two-epoch
    ``fit``, as the epochs of a long run are: what Keras does once per ``fit`` call stays out."""

    def __init__(self, network, data, *, precision, batch_size, augment=True, jit_compile="auto",
                 steps_per_execution=1, fused_bn=True, book_input=True):  # fmt: skip
        keras.config.set_dtype_policy(precision)
        model = cnnbook.models.build(network)
        if not fused_bn:
            model = keras_bn(model)
        recipe = Recipe(epochs=100, batch_size=batch_size, learning_rate=0.05, augment=augment,
                        steps_per_execution=steps_per_execution)  # fmt: skip
        self.wrapper = compiled_wrapper(model, data, recipe, jit_compile=jit_compile)
        if book_input:
            self.inputs = fit_inputs(data, recipe)
            self.inputs.pop("validation_data")
        else:  # Keras' own pipeline for numpy arrays
            self.inputs = dict(x=data.x_train, y=one_hot(data.y_train), batch_size=batch_size, shuffle=True)
        self.settings = dict(precision=precision, batch_size=batch_size, augment=augment, jit_compile=jit_compile,
                             steps_per_execution=steps_per_execution, fused_batch_norm=fused_bn,
                             input="cnnbook.train.fit_inputs" if book_input else "numpy arrays")  # fmt: skip
        keras.config.set_dtype_policy("float32")

    def epoch(self):
        clock = _SecondEpoch()
        self.wrapper.fit(**self.inputs, epochs=2, verbose=0, callbacks=[clock])
        return clock.seconds


class ReferenceVariant:
    def __init__(self, network, data, *, bf16, batch_size):
        self.trainer = torch_reference.Trainer(network, bf16=bf16, mean=data.mean, std=data.std)
        self.x, self.y, self.batch_size = data.x_train, data.y_train.astype("int64"), batch_size
        self.settings = dict(precision="autocast bfloat16" if bf16 else "float32", batch_size=batch_size,
                             channels_last=True)  # fmt: skip

    def epoch(self):
        start = time.perf_counter()
        self.trainer.epoch(self.x, self.y, self.batch_size)
        return time.perf_counter() - start


def variants(network, data, precision, bf16_cpu, levers):
    batch = BATCH[network]
    out = {"keras": KerasVariant(network, data, precision=precision, batch_size=batch),
           "reference_float32": ReferenceVariant(network, data, bf16=False, batch_size=batch)}  # fmt: skip
    if bf16_cpu:
        out["reference_bfloat16"] = ReferenceVariant(network, data, bf16=True, batch_size=batch)
    if levers:
        other = "float32" if precision != "float32" else "mixed_bfloat16"
        out[f"keras_{other}"] = KerasVariant(network, data, precision=other, batch_size=batch)
        out["keras_keras_batchnorm"] = KerasVariant(network, data, precision=precision, batch_size=batch, fused_bn=False)
        out["keras_numpy_input"] = KerasVariant(network, data, precision=precision, batch_size=batch, book_input=False)
        out["keras_no_augmentation"] = KerasVariant(network, data, precision=precision, batch_size=batch, augment=False)
        out["keras_steps_per_execution_4"] = KerasVariant(network, data, precision=precision, batch_size=batch,
                                                          steps_per_execution=4)  # fmt: skip
        out[f"keras_batch_{2 * batch}"] = KerasVariant(network, data, precision=precision, batch_size=2 * batch)
        if keras.backend.backend() != "torch":  # Keras on torch has no XLA; its jit_compile is torch.compile
            out["keras_xla"] = KerasVariant(network, data, precision=precision, batch_size=batch, jit_compile=True)
    return out


def measure(runs, images, rounds):
    first = {name: run.epoch() for name, run in runs.items()}
    times = {name: [] for name in runs}
    for round_ in range(rounds):
        order = list(runs) if round_ % 2 == 0 else list(reversed(runs))
        for name in order:
            times[name].append(runs[name].epoch())
    return {
        name: {
            "images_per_second": round(images / statistics.median(seconds), 1),
            "images_per_second_range": [round(images / max(seconds), 1), round(images / min(seconds), 1)],
            "epoch_seconds": [round(s, 3) for s in seconds],
            "first_epoch_seconds": round(first[name], 3),
            **runs[name].settings,
        }
        for name, seconds in times.items()
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=5120, help="training images per epoch (class-balanced)")
    parser.add_argument("--rounds", type=int, default=3, help="timed epochs per variant, alternating")
    parser.add_argument("--networks", nargs="+", default=list(NETWORKS), choices=NETWORKS)
    parser.add_argument("--levers", action="store_true", help="also measure each lever of the Keras path")
    parser.add_argument("--out", default=None, help="where to write the JSON (default: results/benchmarks/)")
    args = parser.parse_args()

    import torch

    env = cnnbook.system.setup(seed=0, precision="auto")
    precision = env["precision"]
    keras.config.set_dtype_policy("float32")
    flags = cnnbook.system.cpu_flags()
    bf16_cpu = any(f in flags for f in cnnbook.system.BF16_CPU_FLAGS)
    data = cnnbook.data.cifar10(train_per_class=args.images // 10, val_per_class=10, test_per_class=10)
    images = len(data.y_train)
    report = {
        "benchmark": "cpu_training",
        "images_per_epoch": images,
        "rounds": args.rounds,
        "precision": precision,
        "precision_reason": env["precision_reason"],
        "cpu_bf16_flags": [f for f in cnnbook.system.BF16_CPU_FLAGS if f in flags],
        "torch_version": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        **{k: env[k] for k in ("device", "hardware", "backend", "backend_version", "keras_version", "python",
                               "git_commit", "git_dirty", "date")},  # fmt: skip
        "networks": {},
    }
    print(f"{env['hardware']}; {env['backend']} {env['backend_version']}, Keras {env['keras_version']}, "
          f"torch {torch.__version__}; the book's precision here: {precision} ({env['precision_reason']})")  # fmt: skip
    for network in args.networks:
        rows = measure(variants(network, data, precision, bf16_cpu, args.levers), images, args.rounds)
        references = [v["images_per_second"] for k, v in rows.items() if k.startswith("reference")]
        best = max(references)
        keras_speed = rows["keras"]["images_per_second"]
        report["networks"][network] = {
            "keras_images_per_second": keras_speed,
            "reference_images_per_second": best,
            "ratio_to_reference": round(keras_speed / best, 3),
            "params": int(cnnbook.models.build(network).count_params()),
            "variants": rows,
        }
        print(f"\n{network} (batch {BATCH[network]}): Keras {keras_speed:,.0f} images/s, reference {best:,.0f}, "
              f"ratio {keras_speed / best:.2f}")  # fmt: skip
        for name, row in rows.items():
            low, high = row["images_per_second_range"]
            print(f"  {name:30s} {row['images_per_second']:>8,.0f} images/s  (range {low:,.0f}-{high:,.0f}; "
                  f"first epoch {row['first_epoch_seconds']:.1f} s)")  # fmt: skip
    cpu = cnnbook.system.cpu_slug(env["hardware"], flags) if env["hardware"] else platform.machine()
    suffix = ("" if env["backend"] == "tensorflow" else f"-{env['backend']}") + ("-levers" if args.levers else "")
    root = cnnbook.system.project_root() or Path(".")
    out = args.out or f"{root}/results/benchmarks/cpu-training-{cpu}{suffix}.json"
    write_json_atomic(out, report)
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    np.random.seed(0)
    main()
