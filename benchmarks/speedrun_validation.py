"""One speedrun (`cnnbook.speedrun`) on the validation split: 45,000 training images, 5,000
validation images, the test set untouched. The issue "Chapter 13" tunes on this split only.

    .venv/bin/python benchmarks/speedrun_validation.py [--epochs 10] [--seed 0]

Writes ``results/benchmarks/speedrun-validation-<cpu>-<epochs>-seed<seed>.json``: the recipe, the accuracy
with and without test-time augmentation, the time of everything the run does, the per-epoch
history (the one-view validation accuracy of each epoch is measured off the clock), and the
machine. Run it alone: two cores leave no room for a second job.
"""

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from cnnbook import data, speedrun, system

    env = system.setup(args.seed)
    split = data.cifar10()
    recipe = speedrun.SpeedRecipe(epochs=args.epochs)
    out = speedrun.train(recipe, split.x_train, split.y_train, split.x_val, split.y_val, seed=args.seed,
                         eval_every_epoch=True, log=lambda line: print(line, flush=True))  # fmt: skip
    out.pop("model")
    cpu = system.cpu_slug(env["hardware"], system.cpu_flags())
    path = ROOT / "results" / "benchmarks" / f"speedrun-validation-{cpu}-{args.epochs:g}-seed{args.seed}.json"
    record = {**out, "recipe": recipe.to_dict(), "env": env, "split": split.sizes()}
    path.write_text(json.dumps(record, indent=1) + "\n")
    print(path)


if __name__ == "__main__":
    main()
