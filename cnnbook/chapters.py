"""A new chapter from the template: ``python3 dev.py new-chapter NN name`` (or
``python -m cnnbook.chapters new NN name``).

It writes ``notebooks/NN_name.ipynb`` with the cells every chapter has (``../shared/CHAPTERS.md``),
in their order: the Colab setup, the title and the problem of its time, the ``parameters`` cell,
the configuration, the idea in a picture, the architecture shown with its own source
(``literalinclude`` with ``:pyobject:``) and its counts, the paper's experiment, the data, the
training, the results (records and ``glue``), implementation notes and what the idea taught the
field with exercises. It adds the chapter to ``_toc.yml`` after the chapter before it. The
chapter's id, ``NN_name``, is written once in the notebook (``CHAPTER = ...``); the cells that
name the chapter's runs and records use ``CHAPTER``.

The model must be registered first (``cnnbook/models/<family>.py``): the template shows its
builder's source and counts it. The prose cells say what to write (``TODO``); the code cells run
as they are, in the smoke profile within a minute or two on a CPU.
"""

import argparse
import re
import sys
from pathlib import Path

from cnnbook import booktools
from cnnbook.errors import ParameterError

ROOT = booktools.ROOT


def _markdown(source):
    import nbformat

    return nbformat.v4.new_markdown_cell(source.strip("\n"))


def _code(source, *tags, figure=None):
    import nbformat

    metadata = {"tags": list(tags)} if tags else {}
    if figure:
        metadata["mystnb"] = {"figure": figure, "image": {"alt": booktools.alt_text(figure["caption"])}}
    return nbformat.v4.new_code_cell(source.strip("\n"), metadata=metadata)


def chapter_cells(chapter, *, model, title, url, ref="main"):
    """The cells of a new chapter ``chapter`` (``"03_alexnet"``) about the registered ``model``."""
    from cnnbook import models

    spec = models.spec(model)
    family = spec.function.__module__.rsplit(".", 1)[1]
    short = chapter.split("_", 1)[1].replace("_", "-")  # figure names: fig-alexnet-...
    setup = _code(booktools.colab_setup_source(url, ref), booktools.SETUP_TAG, "remove-cell")
    return [
        setup,
        _markdown(f"""
# {title}

TODO: the problem of its time: what the field could not do before this network, with the ILSVRC
or CIFAR numbers of the day, and the paper that answered it (``{{cite:p}}`key` `` into
`book/references.bib`).
"""),
        _code(f"""
profile = "auto"      # "smoke" (CPU, a minute), "full" (the real recipe) or "auto"
model = "{model}"{" " * max(1, 14 - len(model))}# the network this chapter trains
epochs = None         # None: the profile's value
batch_size = None
optimizer = None      # "sgd" (Nesterov momentum) or "adamw"
learning_rate = None
seed = 0
""", "parameters"),
        _code(f"""
import cnnbook

CHAPTER = "{chapter}"  # names the runs and the records (results/<CHAPTER>/)
cfg = cnnbook.config.resolve(
    profile,
    smoke=dict(epochs=2, batch_size=64, learning_rate=0.05, train_per_class=100, val_per_class=20, test_per_class=50),
    full=dict(epochs=60, batch_size=128, learning_rate=0.05),
    model=model, models=({model!r},),
    epochs=epochs, batch_size=batch_size, optimizer=optimizer, learning_rate=learning_rate, seed=seed,
)
cfg
""", "nbval-ignore-output"),
        _markdown("""
TODO: how long the full profile takes on a 2-core CPU and on a GPU, from measured runs (glue
them from the records: {glue:text}`train_minutes:.1f` minutes for this run).
"""),
        _code("""
import keras
import matplotlib.pyplot as plt
import numpy as np

from cnnbook.booktools import glue

env = cnnbook.system.setup(seed=cfg.seed)
print(f"{env['hardware']}; Keras {env['keras_version']} on {env['backend']} {env['backend_version']}; precision {env['precision']}")
""", "nbval-ignore-output"),
        _markdown(f"""
## The idea

TODO: the idea in a picture ({{numref}}`fig-{short}-idea`): an architecture diagram drawn by code
(no text under about 9 pt at page width) or a figure in `book/figures/`.
"""),
        _code("""
net = cnnbook.models.build(cfg.model)
table = cnnbook.counting.layer_table(net)
weighted = table[(table["params"] > 0) & (table["layer"] != "total")]
fig, ax = plt.subplots(figsize=(8, 2.8))
ax.bar(range(len(weighted)), weighted["params"], color="#4c72b0")
ax.set_yscale("log")
ax.set_xlabel("layer with weights, input to output")
ax.set_ylabel("parameters")
fig.tight_layout()
""", "hide-input", figure={"name": f"fig-{short}-idea", "caption": f"TODO: the idea of {title} in a picture."}),
        _markdown(f"""
## The architecture

The network as the package builds it (`cnnbook/models/{family}.py`), its own code:

```{{literalinclude}} ../cnnbook/models/{family}.py
:language: python
:pyobject: {spec.function.__name__}
```

TODO: its parameters and multiply-accumulates against the paper's table and `keras.applications`
(the tests in `tests/test_models_{family}.py` assert them):
"""),
        _code("""
counts = cnnbook.counting.totals(net)
print(f"{cfg.model}: {counts['params']:,} parameters ({counts['trainable_params']:,} trainable), "
      f"{counts['macs'] / 1e6:,.1f} million multiply-accumulates per image")
table
"""),
        _markdown("""
## The paper's experiment

TODO: the figure or table the paper is remembered for, reproduced at CIFAR-10 scale and within
the budget, with our curve beside the paper's claim.

## The data

CIFAR-10 {cite:p}`krizhevsky2009learning`: 50,000 training images of 32x32 pixels in ten classes,
a validation split carved out of them for every decision, and 10,000 test images looked at once
per final run.
"""),
        _code("""
data = cnnbook.data.cifar10(**cfg.data, seed=cfg.seed)
data.table()
""", "nbval-ignore-output"),
        _markdown("""
## Training

TODO: the recipe (`cfg` above) and why; how many seeds (with one, say so).
"""),
        _code("""
keras.utils.set_random_seed(cfg.seed)
net = cnnbook.models.build(cfg.model, input_shape=data.input_shape, num_classes=data.num_classes)
run = cnnbook.train.fit(net, data, cfg.recipe, name=f"{CHAPTER}-{cfg.model}-{cfg.profile}-seed{cfg.seed}")
""", "nbval-ignore-output"),
        _code("""
fig = cnnbook.plots.curves({cfg.model: run})
""", "hide-input", figure={"name": f"fig-{short}-curves", "caption": "Loss and accuracy per epoch on the training split (solid) and the validation split (dashed)."}),  # noqa: E501
        _markdown("""
## Results

The run is evaluated once on the test set and written as a result record (`results/` for full
runs), with the time it took and where it ran:
"""),
        _code("""
record = run.record(chapter=CHAPTER, name=cfg.model, profile=cfg.profile, env=env, test_accuracy=run.evaluate("test"))
cnnbook.results.save(record)
glue("test_accuracy", record.test_accuracy)
glue("train_minutes", record.train_seconds / 60)
glue("hardware", f"{env['hardware']}, Keras {env['keras_version']} on {env['backend']}")
cnnbook.results.table([record])
""", "nbval-ignore-output"),
        _markdown("""
The network classifies {glue:text}`test_accuracy:.1%` of the test images correctly after
{glue:text}`train_minutes:.1f` minutes of training ({glue:text}`hardware`).

TODO: what it gets wrong, where that teaches something:
"""),
        _code("""
logits = run.predict(data.x_test)
fig = cnnbook.plots.confusion_matrix(data.y_test, logits.argmax(axis=1), data.class_names)
""", "hide-input", figure={"name": f"fig-{short}-confusion", "caption": "Confusion matrix on the test set: each row shows how the images of one true class were classified."}),  # noqa: E501
        _markdown(f"""
## Implementation notes

TODO: mistakes that circulate in copied code for this network (check every layer against the
paper, not against blog code), and what the paper leaves open.

## What {title} taught the field

TODO: a short summary.

Exercises, each a papermill run of this chapter ({{glue:text}}`papermill`, then its parameters):

1. TODO (`-p epochs 30`)
"""),
        _code("""
glue("papermill", f"papermill notebooks/{CHAPTER}.ipynb out.ipynb")
""", "remove-cell"),
        _markdown("""
## References

TODO: ``{cite:p}`key` `` for each paper, with its DOI or arXiv link in `book/references.bib`.
"""),
    ]


def new_chapter(number, name, *, model=None, title=None, root=ROOT):
    """Write ``notebooks/{number}_{name}.ipynb`` and add it to ``_toc.yml``; return its path.

    Args:
        number: the chapter's number, ``"03"`` or 3 (1 to 99).
        name: lowercase words joined by ``_`` (``"alexnet"``).
        model: the registered model the chapter trains (default: ``name``).
        title: the page's title (default: ``name`` in title case).
        root: the book's folder (with ``_config.yml``, ``_toc.yml`` and ``notebooks/``).
    """
    text = str(number)
    if not re.fullmatch(r"\d{1,2}", text) or not 1 <= int(text) <= 99:
        raise ParameterError("number", number, "give the chapter's number, from 01 to 99 (e.g. 03)")
    if not isinstance(name, str) or not re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", name):
        raise ParameterError("name", name, "give lowercase words joined by '_' (e.g. alexnet, batch_norm)")
    import nbformat

    from cnnbook import models  # imports Keras: after the cheap checks

    model = name if model is None else model
    if model not in models.names():
        raise ParameterError(
            "model", model, f"register it first (cnnbook/models/<family>.py), or pass --model with one of: "
            + ", ".join(models.names()), choices=models.names(),
        )  # fmt: skip
    chapter = f"{int(text):02d}_{name}"
    root = Path(root)
    path = root / "notebooks" / f"{chapter}.ipynb"
    taken = sorted(p.name for p in (root / "notebooks").glob(f"{int(text):02d}_*.ipynb"))
    if taken:
        raise FileExistsError(f"chapter {int(text):02d} exists already: notebooks/{taken[0]}; pick another number")
    toc_path = root / "_toc.yml"
    toc = toc_path.read_text()
    entry = f"notebooks/{chapter}"
    if re.search(rf"file:\s*{re.escape(entry)}\s*$", toc, flags=re.M):
        raise FileExistsError(f"_toc.yml lists {entry} already, without its notebook; remove the entry first")
    cells = chapter_cells(chapter, model=model, title=title or name.replace("_", " ").title(),
                          url=booktools.repository_url(root), ref=booktools.repository_ref(root))  # fmt: skip
    notebook = nbformat.v4.new_notebook(cells=cells, metadata={
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    })  # fmt: skip
    toc_text = _toc_with(toc, chapter)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)
    toc_path.write_text(toc_text)
    return path


def _toc_with(toc, chapter):
    """``toc`` (the text of _toc.yml) with ``notebooks/{chapter}`` after the chapter before it (or
    before the first chapter), in the same indentation; the rest of the file is kept as it is."""
    number = int(chapter[:2])
    entries = list(re.finditer(r"^([ \t]*)- file:[ \t]*notebooks/(\d\d)_\S+[ \t]*$\n?", toc, flags=re.M))
    if not entries:
        raise ValueError("_toc.yml lists no chapter (notebooks/NN_name) to put the new one next to")
    before = [m for m in entries if int(m.group(2)) < number]
    anchor, at = (before[-1], before[-1].end()) if before else (entries[0], entries[0].start())
    line = f"{anchor.group(1)}- file: notebooks/{chapter}\n"
    if at == len(toc) and not toc.endswith("\n"):
        line = "\n" + line
    return toc[:at] + line + toc[at:]


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m cnnbook.chapters", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    new = commands.add_parser("new", help="write notebooks/NN_name.ipynb from the template and list it in _toc.yml")
    new.add_argument("number", help="the chapter's number: 03")
    new.add_argument("name", help="lowercase words joined by _: alexnet")
    new.add_argument("--model", help="the registered model the chapter trains (default: the name)")
    new.add_argument("--title", help="the page's title (default: the name in title case)")
    new.add_argument("--root", default=str(ROOT), help="the book's folder (default: this repository)")
    args = parser.parse_args(argv)
    try:
        path = new_chapter(args.number, args.name, model=args.model, title=args.title, root=args.root)
    except (ParameterError, FileExistsError) as error:
        sys.exit(f"new-chapter: {error}")
    print(f"wrote {path} and its _toc.yml entry; next: write its TODOs, then run it in the full profile")


if __name__ == "__main__":
    main()
