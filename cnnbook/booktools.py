"""Helpers for the book itself: values for the prose, and notebooks in step with _config.yml.

`glue` hands a value computed in a chapter to its prose: ``{glue:text}`name``` (MyST-NB), so no
number in the text is typed by hand.

The repository URL is set in exactly one place, ``repository.url`` in ``_config.yml``: Jupyter
Book's "Open in Colab" buttons read it there, and each chapter's first cell, which installs the
pinned cnnbook in Colab, is generated from it:

    python3 dev.py sync        # after changing the URL or cnnbook.__version__

The tests fail when a notebook's setup cell is out of step.
"""

import base64
import numbers
import re
import struct
import sys
from pathlib import Path

import cnnbook

ROOT = Path(__file__).resolve().parent.parent
SETUP_TAG = "colab-setup"
# The site's text column is 784 px wide at a 1400 px desktop window; a figure wider than this
# would be shrunk into it, and its labels with it. Such a figure's cell gets the theme's
# full-width tag (136% of the column, into the margin, from 992 px windows up): `sync` sets it.
WIDE_FIGURE_PX = 800
WIDE_TAG = "full-width"


GLUE_PREFIX = "application/papermill.record/"


def table_html(frame, **options):
    """``frame.to_html(**options)`` with thousands separators in its integer columns (462,422,016
    rather than 462422016), a missing whole number (pandas' nullable ``Int64``) left blank rather
    than <NA>; the frame itself keeps its numbers, so it still sorts and computes."""
    import pandas as pd

    integers = [column for column, dtype in frame.dtypes.items() if pd.api.types.is_integer_dtype(dtype)]
    if integers:  # as text (pandas' formatters skip <NA> and na_rep does not reach it)
        frame = frame.copy()
        for column in integers:
            frame[column] = ["" if pd.isna(v) else f"{v:,}" for v in frame[column]]
    return frame.to_html(**options)


def readable_tables():
    """Show the running notebook's pandas tables through `table_html`, with the options of pandas'
    own notebook view (``display.max_rows`` and the rest). Returns whether it applied (outside
    IPython nothing changes). `cnnbook.system.setup` calls it, as it calls
    `cnnbook.plots.sharp_figures`."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None:
        return False
    import pandas as pd

    def html(frame):
        if not pd.get_option("display.notebook_repr_html") or pd.get_option("display.large_repr") == "info":
            return frame._repr_html_()  # pandas' own view where it would not draw this table
        return table_html(frame, notebook=True, max_rows=pd.get_option("display.max_rows"),
                          max_cols=pd.get_option("display.max_columns"),
                          show_dimensions=pd.get_option("display.show_dimensions"),
                          float_format=pd.get_option("display.float_format"))  # fmt: skip

    shell.display_formatter.formatters["text/html"].for_type(pd.DataFrame, html)
    return True


def glue(name, value):
    """Store ``value`` under ``name`` for the chapter's text, as MyST-NB's ``glue`` does (without
    importing MyST-NB, which Colab does not have). In the text: ``{glue:text}`name``` or, for a
    number, with a format: ``{glue:text}`name:.1%```. A pandas table is stored as HTML as well,
    for the ``{glue}`` directive, which can paste it into another page (``:doc:``). Nothing is
    shown in the notebook."""
    from IPython.display import display

    if hasattr(value, "to_html"):  # a pandas DataFrame
        bundle = {"text/html": table_html(value), "text/plain": value.to_string()}
    else:
        text = repr(float(value)) if isinstance(value, numbers.Real) and not isinstance(value, bool) else str(value)
        bundle = {"text/plain": text}
    display({GLUE_PREFIX + mime: data for mime, data in bundle.items()}, raw=True,
            metadata={"scrapbook": {"name": name, "mime_prefix": GLUE_PREFIX}})  # fmt: skip


def repository_url(root=ROOT):
    """``repository.url`` from ``_config.yml``."""
    import yaml

    config = yaml.safe_load((Path(root) / "_config.yml").read_text())
    return config["repository"]["url"].rstrip("/")


def repository_ref(root=ROOT):
    """``repository.branch`` from ``_config.yml``: the branch or tag the site's Colab buttons open,
    and so the one the setup cell installs from (``main``; a release sets its tag, ``v0.2.0``)."""
    import yaml

    config = yaml.safe_load((Path(root) / "_config.yml").read_text())
    return str(config["repository"].get("branch") or "main")


def colab_setup_source(url, ref):
    """The source of every chapter's first cell: in Colab, install cnnbook from the same ``ref``
    of the repository at ``url`` as the notebook the Colab button opened."""
    return (
        "# In Colab: install the cnnbook of the same commit as this notebook (elsewhere: nothing to do).\n"
        "import sys\n"
        "\n"
        'if "google.colab" in sys.modules:\n'
        f'    %pip install --quiet "cnnbook @ git+{url}@{ref}"'
    )


def notebooks(root=ROOT):
    return sorted((Path(root) / "notebooks").glob("*.ipynb"))


def alt_text(caption):
    """A figure's alternative text for readers who cannot see it: the first sentence of its
    caption, without MyST markup (roles, math dollars, emphasis)."""
    text = re.sub(r"\{[a-z:]+\}`([^`]*)`", r"\1", caption)  # {cite:p}`key` -> key, {doc}`x` -> x
    text = re.sub(r"[$*`]", "", text)
    first = re.split(r"(?<!vs)(?<!e\.g)(?<!i\.e)(?<=[a-z0-9)%])\. ", " ".join(text.split()), maxsplit=1)[0]
    return first.rstrip(".") + "."


def figure_width(cell):
    """The widest PNG figure among a code cell's outputs, in CSS pixels (the output's ``width``
    metadata where IPython gave one, as for 2x "retina" images, else the image's own pixels);
    None for a cell without one."""
    widths = []
    for output in cell.get("outputs", []):
        data = output.get("data", {}).get("image/png")
        if not data:
            continue
        shown = output.get("metadata", {}).get("image/png", {}).get("width")
        if shown is None:
            head = base64.b64decode("".join(data.split())[:44])  # the signature and the IHDR chunk
            shown = struct.unpack(">I", head[16:20])[0]
        widths.append(int(shown))
    return max(widths) if widths else None


def tag_wide_figures(notebook):
    """Tag every cell whose figure is wider than `WIDE_FIGURE_PX` `WIDE_TAG`, and untag cells whose
    figures now fit; return whether anything changed."""
    changed = False
    for cell in notebook.cells:
        width = figure_width(cell)
        if width is None:
            continue
        tags = cell.metadata.get("tags", [])
        if width > WIDE_FIGURE_PX and WIDE_TAG not in tags:
            cell.metadata["tags"] = [*tags, WIDE_TAG]
            changed = True
        elif width <= WIDE_FIGURE_PX and WIDE_TAG in tags:
            tags.remove(WIDE_TAG)
            changed = True
    return changed


def size_figures(notebook):
    """Give each figure's image its size in CSS pixels (`figure_width`) as MyST-NB's image width,
    for figures drawn at 1x as for 2x ones; return whether anything changed. Sphinx links an image
    of a given width to its file (``html_scaled_image_link``): on a phone, where a wide figure is
    shrunk to the screen, a tap opens it at full size."""
    changed = False
    for cell in notebook.cells:
        images = [o for o in cell.get("outputs", []) if "image/png" in o.get("data", {})]
        if len(images) != 1:  # one width would size several images alike: leave such cells alone
            continue
        image = cell.metadata.setdefault("mystnb", {}).setdefault("image", {})
        width = f"{figure_width(cell)}px"
        if image.get("width") != width:
            image["width"] = width
            changed = True
    return changed


def sync(root=ROOT):
    """Rewrite the setup cell of every notebook from ``_config.yml``, give every figure without
    alternative text the first sentence of its caption (`alt_text`), its size (`size_figures`) and,
    when it is too wide for the text column, the page's width (`tag_wide_figures`); return the
    notebooks that changed."""
    import nbformat

    source = colab_setup_source(repository_url(root), repository_ref(root))
    changed = []
    for path in notebooks(root):
        notebook = nbformat.read(path, as_version=4)
        cell = notebook.cells[0]
        if SETUP_TAG not in cell.metadata.get("tags", []):
            raise ValueError(f"{path}: the first cell is not tagged {SETUP_TAG!r}")
        dirty = cell.source != source
        cell.source = source
        for cell in notebook.cells:
            options = cell.metadata.get("mystnb", {})
            if options.get("figure") and not options.get("image", {}).get("alt"):
                options.setdefault("image", {})["alt"] = alt_text(options["figure"]["caption"])
                dirty = True
        dirty = size_figures(notebook) or dirty
        dirty = tag_wide_figures(notebook) or dirty
        if dirty:
            nbformat.write(notebook, path)
            changed.append(path)
    return changed


if __name__ == "__main__":
    if sys.argv[1:] != ["sync"]:
        sys.exit("usage: python -m cnnbook.booktools sync")
    for path in sync():
        print(f"updated {path}")
