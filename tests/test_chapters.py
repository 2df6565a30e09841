"""The chapter template (`cnnbook.chapters`, ``python3 dev.py new-chapter NN name``): the cells
every chapter has (../shared/CHAPTERS.md), its _toc.yml entry, the chapter's id written once,
and clear errors for a bad id or a chapter that exists."""

import ast
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

from cnnbook import booktools, chapters
from cnnbook.errors import ParameterError

ROOT = Path(__file__).resolve().parent.parent


KEPT = ("01_", "02_")  # the book as it stood at LeNet: the tests add chapters 03 onward to it


@pytest.fixture
def book(tmp_path):
    """A copy of the book's configuration and of its first two chapters, with the table of
    contents cut to match (the chapters that exist since then are left out)."""
    shutil.copy(ROOT / "_config.yml", tmp_path / "_config.yml")
    toc = (ROOT / "_toc.yml").read_text().splitlines(keepends=True)
    kept = [line for line in toc if "file: notebooks/" not in line or any(f"notebooks/{k}" in line for k in KEPT)]
    # parts left empty, numbered or not
    text = re.sub(r"^  - caption: .*\n(?:    numbered: .*\n)?    chapters:\n(?=  - |\Z)", "", "".join(kept), flags=re.M)
    (tmp_path / "_toc.yml").write_text(text)
    (tmp_path / "notebooks").mkdir()
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        if path.name.startswith(KEPT):
            shutil.copy(path, tmp_path / "notebooks" / path.name)
    return tmp_path


def sources(notebook):
    return [cell.source for cell in notebook.cells]


def tags(cell):
    return cell.metadata.get("tags", [])


def test_a_new_chapter_has_the_standard_cells(book):
    path = chapters.new_chapter("03", "alexnet", title="AlexNet", root=book)
    assert path == book / "notebooks" / "03_alexnet.ipynb"
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    markdown = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")
    # The Colab setup first, then the title, then the parameters cell (papermill): simple assignments.
    assert notebook.cells[0] is code[0] and booktools.SETUP_TAG in tags(code[0])
    assert code[0].source == booktools.colab_setup_source(booktools.repository_url(book), booktools.repository_ref(book))
    assert notebook.cells[1].source.startswith("# AlexNet\n")
    assert tags(code[1]) == ["parameters"]
    for statement in ast.parse(code[1].source).body:
        assert isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Constant)
    assert re.search(r'^model = "alexnet"', code[1].source, flags=re.M)
    # The configuration, the data, the training and the results depend on the profile.
    for marker in ("cnnbook.config.resolve(", "cnnbook.data.cifar10(", "cnnbook.train.fit(", "cnnbook.results.save("):
        (cell,) = [c for c in code if marker in c.source]
        assert "nbval-ignore-output" in tags(cell), marker
    # The architecture from the package, with its own source, then its counts (compared by nbval).
    assert "```{literalinclude} ../cnnbook/models/alexnet.py\n:language: python\n:pyobject: alexnet\n```" in markdown
    module = ast.parse((ROOT / "cnnbook" / "models" / "alexnet.py").read_text())
    assert "alexnet" in {node.name for node in module.body if isinstance(node, ast.FunctionDef)}
    (counts,) = [c for c in code if "cnnbook.counting.totals(" in c.source]
    assert not tags(counts)
    # Numbers reach the prose through glue; figures are numbered, named and captioned.
    assert "glue(" in "\n".join(sources(notebook)) and "{glue:text}`test_accuracy:.1%`" in markdown
    figures = [c.metadata["mystnb"]["figure"] for c in code if "mystnb" in c.metadata]
    assert len(figures) >= 3 and all(f["name"].startswith("fig-alexnet-") and f["caption"] for f in figures)
    assert len({f["name"] for f in figures}) == len(figures)
    for heading in ("## The idea", "## The architecture", "## The paper's experiment", "## The data",
                    "## Training", "## Results", "## Implementation notes", "## What AlexNet taught the field"):
        assert heading in markdown, heading  # fmt: skip


def test_the_chapter_id_is_written_once(book):
    path = chapters.new_chapter(3, "alexnet", root=book)
    text = "\n".join(sources(nbformat.read(path, as_version=4)))
    assert text.count("03_alexnet") == 1
    assert 'CHAPTER = "03_alexnet"' in text and "chapter=CHAPTER" in text and "{CHAPTER}-" in text


def test_the_chapter_goes_into_the_table_of_contents_after_the_one_before_it(book):
    before = (book / "_toc.yml").read_text()
    chapters.new_chapter("03", "alexnet", root=book)
    after = (book / "_toc.yml").read_text()
    files = [c["file"] for part in yaml.safe_load(after)["parts"] for c in part["chapters"]]
    assert files.index("notebooks/03_alexnet") == files.index("notebooks/02_lenet") + 1
    assert after.replace("      - file: notebooks/03_alexnet\n", "", 1) == before  # nothing else changes
    chapters.new_chapter("05", "vgg", model="vgg16", root=book)
    chapters.new_chapter("04", "zfnet", root=book)
    files = [c["file"] for part in yaml.safe_load((book / "_toc.yml").read_text())["parts"] for c in part["chapters"]]
    assert [f for f in files if f.startswith("notebooks/")][2:] == ["notebooks/03_alexnet", "notebooks/04_zfnet",
                                                                    "notebooks/05_vgg"]  # fmt: skip


def test_a_second_run_or_a_taken_number_is_refused(book):
    chapters.new_chapter("03", "alexnet", root=book)
    with pytest.raises(FileExistsError, match=re.escape("chapter 03 exists already: notebooks/03_alexnet.ipynb")):
        chapters.new_chapter("03", "alexnet", root=book)
    with pytest.raises(FileExistsError, match="chapter 02 exists already: notebooks/02_lenet.ipynb"):
        chapters.new_chapter("02", "nin", root=book)
    (book / "notebooks" / "03_alexnet.ipynb").unlink()  # listed in _toc.yml, without its notebook
    with pytest.raises(FileExistsError, match="_toc.yml lists notebooks/03_alexnet already"):
        chapters.new_chapter("03", "alexnet", root=book)


@pytest.mark.parametrize(
    "number, name, model, pattern",
    [("3a", "alexnet", None, "number='3a' is not allowed: give the chapter's number, from 01 to 99"),
     ("00", "alexnet", None, "number='00' is not allowed"), ("100", "alexnet", None, "number='100' is not allowed"),
     ("03", "AlexNet", None, "name='AlexNet' is not allowed: give lowercase words joined by '_'"),
     ("03", "alex-net", None, "name='alex-net' is not allowed"),
     ("03", "mobilenet", None, "model='mobilenet' is not allowed: register it first (cnnbook/models/<family>.py)"),
     ("03", "alexnet", "alexnet2", "(did you mean 'alexnet'?)")],
)  # fmt: skip
def test_a_bad_id_or_model_is_refused_with_what_is_allowed(book, number, name, model, pattern):
    toc = (book / "_toc.yml").read_text()
    with pytest.raises(ParameterError, match=re.escape(pattern)):
        chapters.new_chapter(number, name, model=model, root=book)
    assert (book / "_toc.yml").read_text() == toc and len(list((book / "notebooks").iterdir())) == 2


def test_the_command_line_says_what_is_wrong(book):
    command = [sys.executable, "-m", "cnnbook.chapters", "new", "3a", "alexnet", "--root", str(book)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 1
    assert done.stderr.strip().endswith("new-chapter: number='3a' is not allowed: give the chapter's number, from 01 to 99 (e.g. 03)")
    ok = subprocess.run(command[:4] + ["03", "alexnet", "--root", str(book)], capture_output=True, text=True, cwd=ROOT)
    assert ok.returncode == 0 and (book / "notebooks" / "03_alexnet.ipynb").exists()


@pytest.mark.slow
def test_a_new_chapter_runs_in_the_smoke_profile(book, tmp_path, monkeypatch):
    import papermill

    path = chapters.new_chapter("03", "lenet", model="lenet5", title="LeNet again", root=book)
    monkeypatch.setenv("CNNBOOK_RESULTS", str(tmp_path / "results"))
    out = papermill.execute_notebook(
        str(path), str(tmp_path / "out.ipynb"), cwd=str(book / "notebooks"), kernel_name="python3",
        progress_bar=False, parameters={"profile": "smoke"},
    )  # fmt: skip
    errors = [o for c in out.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    record = json.loads((tmp_path / "results" / "03_lenet" / "lenet5.json").read_text())
    assert record["chapter"] == "03_lenet" and record["profile"] == "smoke"
