"""Training throughput with and without the book's augmentation (images per second).

    KERAS_BACKEND=jax python benchmarks/augmentation_throughput.py [--images 10000] [--epochs 4]

Trains a ResNet-20 (He et al., 2016, Section 4.2; 0.27M parameters, 41M multiply-accumulates per
image) through `cnnbook.train.fit` twice on the same uint8 CIFAR-10 images:

- *augmented*: random crop from 4-pixel padding and horizontal flip (`RandomCropFlip`, inside
  the compiled training step), then normalization;
- *plain*: the same wrapper without augmentation, so the images need nothing but normalization.

Throughput is the number of training images over the median epoch time, the first epoch (which
compiles) left out; each epoch also evaluates a 1,000-image validation split, counted in the
time of both variants alike. The cost of augmentation is ``1 - augmented / plain``. Results are
printed and written to ``results/benchmarks/augmentation-<backend>-<device>.json``.
"""

import argparse
import re
import statistics
import tempfile

import keras
from keras import layers

import cnnbook
from cnnbook import blocks
from cnnbook.results import write_json_atomic


def resnet20(num_classes=10):
    """ResNet-20 for CIFAR: 3 stages of 3 basic blocks (16, 32, 64 filters), 1x1 projection
    shortcuts where the shape changes, global average pooling."""
    inputs = keras.Input((32, 32, 3))
    x = blocks.conv_bn_act(inputs, 16, 3, name="stem")
    for stage, filters in enumerate((16, 32, 64)):
        for block in range(3):
            strides = 2 if stage > 0 and block == 0 else 1
            name = f"stage{stage + 1}_block{block + 1}"
            y = blocks.conv_bn_act(x, filters, 3, strides=strides, name=f"{name}_a")
            y = blocks.conv_bn_act(y, filters, 3, activation=None, name=f"{name}_b")
            if strides != 1:
                x = blocks.conv_bn_act(x, filters, 1, strides=strides, activation=None, name=f"{name}_shortcut")
            x = layers.ReLU(name=f"{name}_out")(layers.Add(name=f"{name}_add")([x, y]))
    x = blocks.global_pool(x, "avg")
    return keras.Model(inputs, blocks.classifier(x, num_classes), name="resnet20")


def throughput(data, augment, args):
    cnnbook.system.setup(seed=0, precision=args.precision)
    model = resnet20()
    recipe = cnnbook.train.Recipe(
        epochs=args.epochs, batch_size=args.batch_size, learning_rate=0.1, augment=augment,
        steps_per_execution=args.steps_per_execution,
    )  # fmt: skip
    with tempfile.TemporaryDirectory() as run_dir:
        result = cnnbook.train.fit(model, data, recipe, run_dir=run_dir, verbose=False)
    seconds = result.history["seconds"]
    steady = statistics.median(seconds[1:])
    return {
        "images_per_second": round(len(data.y_train) / steady, 1),
        "median_epoch_seconds": round(steady, 3),
        "first_epoch_seconds": round(seconds[0], 3),
        "params": model.count_params(),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=10000, help="training images (class-balanced)")
    parser.add_argument("--epochs", type=int, default=4, help="epochs per variant; the first is not timed")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--steps-per-execution", type=int, default=1)
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--out", default=None, help="where to write the JSON (default: results/benchmarks/)")
    args = parser.parse_args()

    data = cnnbook.data.cifar10(train_per_class=args.images // 10, val_per_class=100, test_per_class=10)
    env = cnnbook.system.describe()
    rows = {"augmented": throughput(data, True, args), "plain": throughput(data, False, args)}
    cost = 1 - rows["augmented"]["images_per_second"] / rows["plain"]["images_per_second"]
    report = {
        "benchmark": "augmentation_throughput",
        "model": "resnet20",
        **{k: getattr(args, k) for k in ("images", "epochs", "batch_size", "steps_per_execution")},
        "precision": keras.config.dtype_policy().name,
        **rows,
        "augmentation_cost": round(cost, 4),
        **{k: env[k] for k in ("device", "hardware", "backend", "backend_version", "keras_version", "git_commit", "date")},
    }
    device = re.sub(r"[^A-Za-z0-9]+", "-", env["device"]).strip("-").lower()
    root = cnnbook.system.project_root() or "."
    out = args.out or f"{root}/results/benchmarks/augmentation-{env['backend']}-{device}.json"
    write_json_atomic(out, report)
    print(f"{env['hardware']}, {env['backend']} {env['backend_version']}, Keras {env['keras_version']}, "
          f"{report['precision']}, batch {args.batch_size}")  # fmt: skip
    for name, row in rows.items():
        print(f"  {name:9s} {row['images_per_second']:>10,.0f} images/s  (first epoch {row['first_epoch_seconds']:.1f} s)")
    print(f"  augmentation costs {cost:.1%} of the throughput; written to {out}")


if __name__ == "__main__":
    main()
