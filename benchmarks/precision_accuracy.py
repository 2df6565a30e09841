"""Does bfloat16 train as well as float32 on this CPU? Real runs, same recipe and seed.

    .venv/bin/python benchmarks/precision_accuracy.py            # LeNet-5 and ResNet-20

`cnnbook.system.setup(precision="auto")` picks ``mixed_bfloat16`` on CPUs with native
bfloat16 (`cnnbook.system.BF16_CPU_FLAGS`) because `cpu_training.py` measures it faster; this
script checks the other half of that choice: the accuracy. Each model trains through
`cnnbook.train.fit` on the full CIFAR-10 training split (45,000 images, 5,000 for validation)
in float32 and in mixed_bfloat16, with one recipe and one seed, and is evaluated once on the
test set:

- ``lenet5``: chapter 2's recipe (batch 128, SGD-Nesterov lr 0.05, cosine) shortened to 20 epochs;
- ``resnet20``: a short schedule (6 epochs, batch 128, lr 0.1, cosine) of the recipe of
  He et al. (2016), Section 4.2.

Short schedules keep the four runs within about half an hour on a 2-core CPU; ``--epochs``
lengthens them.

Runs live in ``runs/`` like every run of the book, so running the script again reuses them.
One seed each: differences of a few tenths of a percent are within the noise of a single run.
Written to ``results/benchmarks/precision-accuracy-<cpu>.json``.
"""

import argparse
import dataclasses

import keras

import cnnbook
from cnnbook.results import write_json_atomic
from cnnbook.train import Recipe, fit

RECIPES = {
    "lenet5": Recipe(epochs=20, batch_size=128, learning_rate=0.05),
    "resnet20": Recipe(epochs=6, batch_size=128, learning_rate=0.1),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=None, help="epochs of every run (default: the model's above)")
    args = parser.parse_args()
    recipes = {k: r if args.epochs is None else dataclasses.replace(r, epochs=args.epochs) for k, r in RECIPES.items()}

    data = cnnbook.data.cifar10(seed=args.seed)
    rows, env = [], None
    for name in args.models:
        for precision in ("float32", "mixed_bfloat16"):
            env = cnnbook.system.setup(seed=args.seed, precision=precision)
            model = cnnbook.models.build(name)
            result = fit(model, data, recipes[name], name=f"precision-{name}-{precision}-seed{args.seed}")
            rows.append({
                "model": name,
                "precision": precision,
                "epochs": result.epochs_done,
                "recipe": recipes[name].to_dict(),
                "val_accuracy": round(result.history["val_accuracy"][-1], 4),
                "test_accuracy": round(result.evaluate("test"), 4),
                "train_seconds": round(result.train_seconds, 1),
                "images_per_second_with_validation": round(result.epochs_done * len(data.y_train) / result.train_seconds, 1),
                "reused": result.reused,
                "diverged": result.diverged,
            })  # fmt: skip
            print(rows[-1], flush=True)
    keras.config.set_dtype_policy("float32")
    auto = cnnbook.system.precision_and_reason("auto", cnnbook.system.accelerator())
    report = {
        "benchmark": "precision_accuracy",
        "seed": args.seed,
        "data": data.sizes(),
        "auto_precision": auto[0],
        "auto_precision_reason": auto[1],
        "runs": rows,
        **{k: env[k] for k in ("device", "hardware", "backend", "backend_version", "keras_version", "git_commit", "date")},
    }
    cpu = cnnbook.system.cpu_slug(env["hardware"], cnnbook.system.cpu_flags())
    root = cnnbook.system.project_root() or "."
    out = f"{root}/results/benchmarks/precision-accuracy-{cpu}.json"
    write_json_atomic(out, report)
    print(f"written to {out}")


if __name__ == "__main__":
    main()
