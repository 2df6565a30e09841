"""Training throughput with and without the book's augmentation (images per second).

    KERAS_BACKEND=jax python benchmarks/augmentation_throughput.py [--images 10000] [--rounds 5]

Trains the registered ResNet-20 (He et al., 2016, Section 4.2: option-A shortcuts, 0.27M
parameters, 41M multiply-accumulates per image) on uint8 CIFAR-10 images through the training wrapper, optimizer and loss of
`cnnbook.train`, in two variants:

- *augmented*: random crop from 4-pixel padding and horizontal flip (`RandomCropFlip`, inside
  the compiled training step), then normalization;
- *plain*: the same without augmentation, so the images need nothing but normalization.

Both variants are compiled first (one untimed epoch each, whose time is reported as the first
epoch); then timed epochs alternate between them for ``--rounds`` rounds, so that a machine whose
speed drifts slows both alike. Throughput is training images over the median epoch time; the
spread is the range over the rounds. The cost of augmentation is ``1 - augmented / plain``.
Results are printed and written to ``results/benchmarks/augmentation-<backend>-<device>.json``.
"""

import argparse
import math
import re
import statistics
import time

import keras

import cnnbook
from cnnbook.data import one_hot
from cnnbook.results import write_json_atomic
from cnnbook.train import Recipe, make_optimizer, training_wrapper


def compiled(data, recipe):
    """The training wrapper of `cnnbook.train.fit`, compiled the same way."""
    wrapper = training_wrapper(cnnbook.models.build("resnet20"), data, augment=recipe.augment)
    steps = math.ceil(len(data.y_train) / recipe.batch_size)
    wrapper.compile(
        optimizer=make_optimizer(recipe, steps),
        loss=keras.losses.CategoricalCrossentropy(from_logits=True),
        steps_per_execution=recipe.steps_per_execution,
    )
    return wrapper


def epoch_seconds(wrapper, x, y, batch_size):
    start = time.perf_counter()
    wrapper.fit(x, y, batch_size=batch_size, epochs=1, shuffle=True, verbose=0)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=10000, help="training images (class-balanced)")
    parser.add_argument("--rounds", type=int, default=5, help="timed epochs per variant, alternating")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--steps-per-execution", type=int, default=1)
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--out", default=None, help="where to write the JSON (default: results/benchmarks/)")
    args = parser.parse_args()

    env = cnnbook.system.setup(seed=0, precision=args.precision)
    data = cnnbook.data.cifar10(train_per_class=args.images // 10, val_per_class=10, test_per_class=10)
    x, y = data.x_train, one_hot(data.y_train)
    recipe = dict(epochs=args.rounds + 1, batch_size=args.batch_size, learning_rate=0.1,
                  steps_per_execution=args.steps_per_execution)  # fmt: skip
    wrappers = {name: compiled(data, Recipe(augment=name == "augmented", **recipe)) for name in ("augmented", "plain")}
    first = {name: epoch_seconds(w, x, y, args.batch_size) for name, w in wrappers.items()}
    times = {name: [] for name in wrappers}
    for round_ in range(args.rounds):
        order = list(wrappers) if round_ % 2 == 0 else list(reversed(wrappers))
        for name in order:
            times[name].append(epoch_seconds(wrappers[name], x, y, args.batch_size))
    rows = {
        name: {
            "images_per_second": round(len(x) / statistics.median(seconds), 1),
            "images_per_second_range": [round(len(x) / max(seconds), 1), round(len(x) / min(seconds), 1)],
            "epoch_seconds": [round(s, 3) for s in seconds],
            "first_epoch_seconds": round(first[name], 3),
        }
        for name, seconds in times.items()
    }
    cost = 1 - rows["augmented"]["images_per_second"] / rows["plain"]["images_per_second"]
    report = {
        "benchmark": "augmentation_throughput",
        "model": "resnet20",
        "params": wrappers["plain"].count_params(),
        **{k: getattr(args, k) for k in ("images", "rounds", "batch_size", "steps_per_execution")},
        "precision": env["precision"],
        **rows,
        "augmentation_cost": round(cost, 4),
        **{k: env[k] for k in ("device", "hardware", "backend", "backend_version", "keras_version", "git_commit", "date")},
    }
    device = re.sub(r"[^A-Za-z0-9]+", "-", env["device"]).strip("-").lower()
    root = cnnbook.system.project_root() or "."
    out = args.out or f"{root}/results/benchmarks/augmentation-{env['backend']}-{device}.json"
    write_json_atomic(out, report)
    print(f"{env['hardware']}, {env['backend']} {env['backend_version']}, Keras {env['keras_version']}, "
          f"{env['precision']}, batch {args.batch_size}, {args.rounds} alternating rounds")  # fmt: skip
    for name, row in rows.items():
        low, high = row["images_per_second_range"]
        print(f"  {name:9s} {row['images_per_second']:>10,.0f} images/s (range {low:,.0f}-{high:,.0f}; "
              f"first epoch {row['first_epoch_seconds']:.1f} s)")  # fmt: skip
    print(f"  augmentation costs {cost:.1%} of the median throughput; written to {out}")


if __name__ == "__main__":
    main()
