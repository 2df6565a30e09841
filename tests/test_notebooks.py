"""The chapters as files: structure, stored outputs, and papermill parameters.

nbval (run by `python3 dev.py test`) re-executes each notebook and compares its outputs; these
tests check what nbval cannot: that the stored notebooks are complete full-profile runs, that the
Colab cell is in step with _config.yml, and that bad parameters stop a chapter early.
"""

import ast
import json
import re
from pathlib import Path

import nbformat
import papermill
import pytest
import yaml

from cnnbook import booktools

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = booktools.notebooks(ROOT)


def read(path):
    return nbformat.read(path, as_version=4)


def code_cells(notebook):
    return [c for c in notebook.cells if c.cell_type == "code"]


def test_there_are_chapters_and_each_is_in_the_table_of_contents():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    listed = {chapter["file"] for part in toc["parts"] for chapter in part["chapters"]}
    assert NOTEBOOKS
    for path in NOTEBOOKS:
        assert f"notebooks/{path.stem}" in listed, f"{path.name} is missing from _toc.yml"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_template_placeholder_is_left_in_the_text(path):
    # Chapters are written from templates with @NAME@ placeholders; one left over reaches readers.
    for cell in read(path).cells:
        if cell.cell_type == "markdown":
            left = re.findall(r"@[A-Z][A-Z_]*@", cell.source)
            assert not left, f"{path.name} shows the placeholders {left} to its readers"


def test_chapter_numbers_in_the_text_are_the_numbers_the_book_shows():
    """The site numbers the chapters by their place in _toc.yml, so "chapter 7" in the text is right
    only while the seventh numbered chapter is the file 07_...: a chapter not written yet, or one
    after a gap, is named or linked ({doc}), not numbered."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    numbered = [c["file"] for part in toc["parts"] if part.get("numbered") for c in part["chapters"]]
    shown = {place for place, file in enumerate(numbered, start=1) if Path(file).name.startswith(f"{place:02d}_")}
    for path in NOTEBOOKS:
        for cell in read(path).cells:
            if cell.cell_type == "markdown":
                for numbers in re.findall(r"\b[Cc]hapters? (\d+(?:(?:, | and | or | to )\d+)*)", cell.source):
                    for number in re.findall(r"\d+", numbers):
                        assert int(number) in shown, f"{path.name} says chapter {number}, which is not chapter {number} on the site"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_the_first_cell_installs_the_pinned_package_in_colab(path):
    first = read(path).cells[0]
    assert booktools.SETUP_TAG in first.metadata.get("tags", [])
    assert first.source == booktools.colab_setup_source(booktools.repository_url(ROOT), booktools.repository_ref(ROOT)), (
        "the Colab setup cell is out of step with _config.yml: run `python3 dev.py sync`"
    )


def test_sync_rewrites_every_setup_cell_from_the_one_url(tmp_path):
    config = (ROOT / "_config.yml").read_text()
    url = booktools.repository_url(ROOT)
    config = config.replace(url, "https://example.org/someone/cnnbook-fork").replace("branch: main", "branch: v9.9.9")
    (tmp_path / "_config.yml").write_text(config)
    (tmp_path / "notebooks").mkdir()
    for path in NOTEBOOKS:
        (tmp_path / "notebooks" / path.name).write_bytes(path.read_bytes())
    assert len(booktools.sync(tmp_path)) == len(NOTEBOOKS)
    for path in booktools.notebooks(tmp_path):
        assert '"cnnbook @ git+https://example.org/someone/cnnbook-fork@v9.9.9"' in read(path).cells[0].source
    assert booktools.sync(tmp_path) == []  # nothing left to change


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_parameters_cell_holds_only_simple_assignments(path):
    cells = code_cells(read(path))
    tagged = [c for c in cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and cells.index(tagged[0]) == 1, "one parameters cell, right after the setup cell"
    for statement in ast.parse(tagged[0].source).body:
        assert isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Constant), ast.unparse(statement)
    assert not any("injected-parameters" in c.metadata.get("tags", []) for c in cells), (
        "a papermill injected-parameters cell is stored: CI would run with its values"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_stored_outputs_are_a_clean_complete_run(path):
    cells = code_cells(read(path))
    for index, cell in enumerate(cells[1:], start=1):  # the Colab cell runs nothing outside Colab
        assert cell.execution_count is not None, f"code cell {index} was not executed"
        for output in cell.outputs:
            assert output.output_type != "error", f"code cell {index} stores an error"
            assert output.get("name") != "stderr", f"code cell {index} stores stderr: {output.text[:200]}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_stored_outputs_come_from_the_full_profile(path):
    for cell in code_cells(read(path)):
        if "cnnbook.config.resolve(" in cell.source:
            text = json.dumps([o.get("data", {}).get("text/plain", "") for o in cell.outputs])
            assert re.search(r"profile\s+'full'", text), "the stored outputs are not those of a full run"


def test_figures_have_unique_names_and_captions():
    names = []
    for path in NOTEBOOKS:
        for cell in code_cells(read(path)):
            figure = cell.metadata.get("mystnb", {}).get("figure")
            if figure:
                assert figure.get("name", "").startswith("fig-") and figure.get("caption"), cell.source[:80]
                names.append(figure["name"])
    assert len(names) == len(set(names)) >= 4


def test_figures_have_alternative_text():
    """Without it the site's alt text is the image's file path (run `python3 dev.py sync`)."""
    for path in NOTEBOOKS:
        for cell in code_cells(read(path)):
            options = cell.metadata.get("mystnb", {})
            if options.get("figure"):
                alt = options.get("image", {}).get("alt", "")
                assert len(alt) > 20 and "/" not in alt and "{" not in alt, f"{path.name}: {cell.source[:60]!r}"


def test_figures_wider_than_the_text_column_span_the_page():
    """Shrunk into the 784 px column, a 1,190 px figure's labels shrink to two thirds; the theme's
    full-width tag gives it the margin too (run `python3 dev.py sync`)."""
    for path in NOTEBOOKS:
        for index, cell in enumerate(read(path).cells):
            width = booktools.figure_width(cell)
            if width and width > booktools.WIDE_FIGURE_PX:
                assert booktools.WIDE_TAG in cell.metadata.get("tags", []), f"{path.name} cell {index}: {width} px"


def _png(width_inches, dpi=100):
    import base64
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(width_inches, 2), dpi=dpi)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode() + "\n"  # as notebooks store it, line end and all


def test_sync_tags_wide_figures_and_untags_those_that_fit():
    notebook = nbformat.v4.new_notebook()
    wide, narrow, retina, text = (nbformat.v4.new_code_cell("fig") for _ in range(4))
    wide.outputs = [nbformat.v4.new_output("display_data", data={"image/png": _png(12)})]
    narrow.outputs = [nbformat.v4.new_output("display_data", data={"image/png": _png(6)})]
    narrow.metadata["tags"] = ["hide-input", booktools.WIDE_TAG]  # drawn wide once, narrower now
    # 2x pixels shown at half size: 1,200 pixels are 600 CSS pixels and fit.
    retina.outputs = [nbformat.v4.new_output("display_data", data={"image/png": _png(6, dpi=200)},
                                             metadata={"image/png": {"width": 600, "height": 200}})]  # fmt: skip
    text.outputs = [nbformat.v4.new_output("stream", name="stdout", text="no figure")]
    notebook.cells = [wide, narrow, retina, text]
    assert [booktools.figure_width(c) for c in notebook.cells] == [1200, 600, 600, None]
    assert booktools.tag_wide_figures(notebook)
    assert wide.metadata["tags"] == [booktools.WIDE_TAG] and narrow.metadata["tags"] == ["hide-input"]
    assert "tags" not in text.metadata and "tags" not in retina.metadata  # nothing added where nothing is due
    assert not booktools.tag_wide_figures(notebook)  # nothing left to change


def test_sync_gives_each_figure_its_size_so_that_the_site_links_it_to_its_file():
    notebook = nbformat.v4.new_notebook()
    plain, retina, two, text = (nbformat.v4.new_code_cell("fig") for _ in range(4))
    plain.outputs = [nbformat.v4.new_output("display_data", data={"image/png": _png(12)})]
    retina.outputs = [nbformat.v4.new_output("display_data", data={"image/png": _png(6, dpi=200)},
                                             metadata={"image/png": {"width": 600, "height": 200}})]  # fmt: skip
    two.outputs = plain.outputs + retina.outputs
    text.outputs = [nbformat.v4.new_output("stream", name="stdout", text="no figure")]
    notebook.cells = [plain, retina, two, text]
    assert booktools.size_figures(notebook)
    assert plain.metadata["mystnb"]["image"]["width"] == "1200px"
    assert retina.metadata["mystnb"]["image"]["width"] == "600px"  # its CSS size, not its pixels
    assert "mystnb" not in two.metadata and "mystnb" not in text.metadata
    assert not booktools.size_figures(notebook)  # nothing left to change


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_figures_carry_their_size(path):
    """So the site links each figure to its file (a tap on a phone opens it full size):
    `python -m cnnbook.booktools sync` after executing a chapter."""
    notebook = read(path)
    assert not booktools.size_figures(notebook), f"{path.name}: run `python -m cnnbook.booktools sync`"


@pytest.mark.parametrize(
    "caption, alt",
    [("Inception module 3a, drawn from the model's table. The 1x1 convolutions (orange) shrink it.",
      "Inception module 3a, drawn from the model's table."),
     ("Test accuracy against $n$ labels, as in {cite:t}`he2016deep`, Figure 6", "Test accuracy against n labels, as in he2016deep, Figure 6."),
     ("Loss per epoch: ResNet-20 vs. plain-20 at 0.1. Dashed: validation.", "Loss per epoch: ResNet-20 vs. plain-20 at 0.1.")],
)  # fmt: skip
def test_alt_text_is_the_first_sentence_of_the_caption_without_markup(caption, alt):
    assert booktools.alt_text(caption) == alt


def test_native_startup_logs_stay_out_of_executed_notebooks(monkeypatch):
    """TensorFlow writes start-up lines (its oneDNN notice among them) to the stderr file
    descriptor whatever TF_CPP_MIN_LOG_LEVEL says; the project's kernel config keeps them out of
    the cells (book/running.md). A Python warning must still reach the cell."""
    import nbclient

    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")
    # ipykernel stops copying file-descriptor output when it sees pytest's variable; a notebook
    # executed by papermill or Jupyter, like the stored ones, has no such variable.
    monkeypatch.delenv("PYTEST_CURRENT_TEST", raising=False)
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import keras, tensorflow\nprint(keras.backend.backend())"),
        nbformat.v4.new_code_cell("import warnings\nwarnings.warn('for people')"),
    ])  # fmt: skip
    nbclient.NotebookClient(notebook, kernel_name="python3", timeout=300).execute()
    first, second = (cell.outputs for cell in notebook.cells)
    assert [(o.name, o.text) for o in first] == [("stdout", "tensorflow\n")], (
        "native stderr reached the notebook: is .venv/etc/ipython/ipython_kernel_config.py there (dev.py writes it)?"
    )
    assert any(o.get("name") == "stderr" and "for people" in o.text for o in second)


def run_papermill(tmp_path, notebook, **parameters):
    return papermill.execute_notebook(
        str(ROOT / "notebooks" / notebook), str(tmp_path / "out.ipynb"), parameters=parameters,
        cwd=str(ROOT / "notebooks"), kernel_name="python3", progress_bar=False,
    )  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize(
    "parameters, message",
    [({"optimizer": "sgdd"}, "optimizer='sgdd' is not allowed: choose one of 'sgd', 'adamw' (did you mean 'sgd'?)"),
     ({"epochs": 0}, "epochs=0 is not allowed: epochs must be a whole number of at least 1"),
     ({"model": "lenet6"}, "model='lenet6' is not allowed: choose one of 'lenet5', 'lenet5_classic'"),
     ({"profile": "huge"}, "profile='huge' is not allowed: choose one of 'auto', 'smoke', 'full'")],
)  # fmt: skip
def test_a_wrong_parameter_stops_the_chapter_in_its_first_cells(tmp_path, parameters, message):
    with pytest.raises(papermill.PapermillExecutionError) as error:
        run_papermill(tmp_path, "02_lenet.ipynb", **parameters)
    assert error.value.ename == "ParameterError"
    assert message in error.value.evalue
    assert error.value.exec_count <= 4  # setup, parameters, injected parameters, resolve


@pytest.mark.slow
def test_a_wrong_seed_stops_the_arithmetic_chapter(tmp_path):
    with pytest.raises(papermill.PapermillExecutionError) as error:
        run_papermill(tmp_path, "01_convolutions.ipynb", seed=-1)
    assert "seed=-1 is not allowed" in error.value.evalue


@pytest.mark.slow
def test_papermill_reruns_a_chapter_with_other_parameters(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNBOOK_RESULTS", str(tmp_path / "results"))
    out = run_papermill(tmp_path, "02_lenet.ipynb", epochs=1, batch_size=256)
    config = next(c for c in code_cells(out) if "cnnbook.config.resolve(" in c.source)
    text = config.outputs[0].data["text/plain"]
    assert re.search(r"epochs\s+1\s+parameter", text) and re.search(r"batch_size\s+256\s+parameter", text)
    record = json.loads((tmp_path / "results" / "02_lenet" / "lenet5.json").read_text())
    assert record["epochs"] == 1 and record["batch_size"] == 256 and record["profile"] == "smoke"


def test_the_comparison_shows_every_committed_record():
    """12_comparison reads results/ when it runs: executed before a chapter's records landed, its
    stored table would leave them out. Execute it again after committing records."""
    from cnnbook import results

    cells = code_cells(read(ROOT / "notebooks" / "12_comparison.ipynb"))
    table = next(c for c in cells if c.source.strip() == "cnnbook.results.overview(records)")
    shown = table.outputs[0].data["text/html"]
    records = results.load_all()
    assert records
    for record in records:
        assert f"<th>{record.name}</th>" in shown, f"{record.chapter}/{record.name} is missing: execute 12_comparison again"
    rows = shown.split("<tbody>")[1].count("<tr")
    assert rows == len(records), "the table shows runs that are no longer in results/"


def test_every_architecture_chapter_links_to_its_row_of_the_transfer_table():
    from cnnbook.transfer import REDUCED

    transfer = "\n".join(c.source for c in read(ROOT / "notebooks" / "11_transfer_learning.ipynb").cells)
    assert "(transfer-every-architecture)=" in transfer  # the target of the links
    for chapter in REDUCED:
        text = "\n".join(c.source for c in read(ROOT / "notebooks" / f"{chapter}.ipynb").cells if c.cell_type == "markdown")
        assert "<transfer-every-architecture>`" in text and f"`{chapter}`" in text, f"{chapter} does not link to its row"


def test_tables_group_the_digits_of_their_integer_columns_and_leave_the_rest_as_pandas_draws_it():
    import pandas as pd

    frame = pd.DataFrame({"layer": ["conv1", "fc6"], "params": [34944, 37752832], "share": [0.5, 0.25]})
    html = booktools.table_html(frame, notebook=True)
    assert "<td>37,752,832</td>" in html and "<td>34,944</td>" in html
    small = pd.DataFrame({"name": ["a", "b"], "count": [3, 999], "ratio": [0.125, 2.0]})
    assert booktools.table_html(small, notebook=True) == small._repr_html_()  # only digits change


def test_a_notebook_shows_tables_with_thousands_separators_once_readable_tables_applies():
    import pandas as pd
    from IPython.core.interactiveshell import InteractiveShell

    assert not booktools.readable_tables()  # no IPython running: nothing changes
    shell = InteractiveShell.instance()
    try:
        assert booktools.readable_tables()
        data, _ = shell.display_formatter.format(pd.DataFrame({"macs": [462422016]}))
        assert "462,422,016" in data["text/html"] and "462422016" in data["text/plain"]
    finally:
        InteractiveShell.clear_instance()


# Chapters whose stored full run predates thousands separators in tables (issue 15, item 8): each
# picks them up at its next full execution, and then leaves this list (the test below says when).
# nbval compares them through tests/nbval-sanitize.cfg, which reads 462,422,016 as 462422016.
WITHOUT_SEPARATORS = {"02_lenet", "03_alexnet", "04_vgg", "05_nin", "06_googlenet", "07_batchnorm", "08_inception",
                      "09_resnet", "10_densenet", "11_transfer_learning"}  # fmt: skip
BARE_BIG_INTEGER = re.compile(r"<td>-?\d{5,}</td>")


def _bare_integers_in_tables(path):
    found = []
    for index, cell in enumerate(code_cells(read(path))):
        for output in cell.get("outputs", []):
            html = output.get("data", {}).get("text/html", "")
            found += [(index, m) for m in BARE_BIG_INTEGER.findall("".join(html) if isinstance(html, list) else html)]
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_big_integers_in_tables_have_thousands_separators(path):
    found = _bare_integers_in_tables(path)
    if path.stem in WITHOUT_SEPARATORS:
        assert found, f"{path.stem} shows separators now: remove it from WITHOUT_SEPARATORS"
    else:
        assert not found, f"{path.stem} shows integers without separators: {found[:5]}"
