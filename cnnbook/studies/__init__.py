"""Studies: notebooks that train one point of a chapter's experiment, for ``python -m cnnbook sweep``.

A chapter that draws a figure from many small runs keeps the code of one run here, as a notebook
with a ``parameters`` cell, and runs it over grids with `cnnbook.sweep.sweep`; its figures are drawn
from the records the points write. The notebooks ship with the package, so a chapter opened in
Colab finds them too:

    python -m cnnbook sweep cnnbook/studies/overfitting.ipynb -p profile full -p images 500 2500 10000 45000

- ``overfitting.ipynb``: chapter 11's overfitting study (a small CNN on few images, with or
  without one remedy).
"""

from pathlib import Path

HERE = Path(__file__).resolve().parent


def path(name):
    """The study notebook ``name`` (``"overfitting"``), as a path; a name that is not a study says
    which ones are."""
    found = HERE / f"{name}.ipynb"
    if not found.is_file():
        known = ", ".join(sorted(p.stem for p in HERE.glob("*.ipynb")))
        raise FileNotFoundError(f"no study named {name!r} in {HERE}; the studies are: {known}")
    return found
