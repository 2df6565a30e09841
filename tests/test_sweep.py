import json
import os
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from cnnbook import sweep
from cnnbook.errors import ParameterError

ROOT = Path(__file__).resolve().parent.parent


def test_values_are_read_as_papermill_reads_them():
    assert [sweep.parse_value(v) for v in ("5", "0.1", "1e-3", "True", "False", "None", "sgd")] == [
        5, 0.1, 0.001, True, False, None, "sgd"
    ]  # fmt: skip


def test_the_grid_is_every_combination_in_order():
    points = sweep.expand({"epochs": [5, 10], "batch_size": [128, 256, 512]})
    assert len(points) == 6
    assert points[0] == {"epochs": 5, "batch_size": 128} and points[-1] == {"epochs": 10, "batch_size": 512}
    assert sweep.expand({}) == [{}]
    names = [sweep.point_name(p) for p in points]
    assert len(set(names)) == 6 and names[0] == "epochs-5_batch_size-128"
    assert sweep.point_name({"model": "a/b c"}) == "model-a+b+c"


def write_notebook(path, parameters, *sources):
    """A notebook at ``path``: a ``parameters`` cell, then a code cell per source."""
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell(parameters, metadata={"tags": ["parameters"]}),
        *(nbformat.v4.new_code_cell(source) for source in sources),
    ])  # fmt: skip
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)
    return path


@pytest.fixture
def toy_notebook(tmp_path):
    """A notebook with parameters x and fail, which raises when asked to."""
    return write_notebook(tmp_path / "toy.ipynb", "x = 1\nfail = False",
                          "if fail:\n    raise ValueError(f'asked to fail with x={x}')\nprint(x * 2)")


def test_an_unknown_parameter_is_refused_before_anything_runs(toy_notebook, tmp_path):
    with pytest.raises(ParameterError) as error:
        sweep.sweep(toy_notebook, {"y": [1]}, out=tmp_path / "sweep")
    assert "toy.ipynb has no parameter 'y'; its parameters are x, fail" in str(error.value)
    assert not (tmp_path / "sweep").exists()
    with pytest.raises(ParameterError, match="did you mean 'fail'"):
        sweep.check_grid(toy_notebook, {"fial": [True]})


@pytest.mark.slow
def test_a_failing_point_does_not_stop_the_others_and_a_rerun_skips_what_is_done(toy_notebook, tmp_path):
    out = tmp_path / "sweep"
    said = []
    summary_path = sweep.sweep(toy_notebook, {"x": [1, 2], "fail": [False, True]}, out=out, jobs=2, echo=said.append)
    table = pd.read_csv(summary_path)
    assert len(table) == 4
    assert sorted(table.status) == ["done", "done", "failed", "failed"]
    failed = table[table.status == "failed"]
    assert failed.error.str.contains("ValueError: asked to fail with x=").all()
    done = json.loads((out / "x-2_fail-False" / "status.json").read_text())
    assert done["status"] == "done" and done["parameters"] == {"x": 2, "fail": False}
    executed = nbformat.read(out / "x-2_fail-False" / "toy.ipynb", as_version=4)
    assert executed.cells[-1].outputs[0].text == "4\n"
    assert any("FAILED" in line for line in said)

    said.clear()
    sweep.sweep(toy_notebook, {"x": [1, 2], "fail": [False, True]}, out=out, echo=said.append)
    assert sum("done before, skipped" in line for line in said) == 2  # the failed two ran again
    assert sum("FAILED" in line for line in said) == 2


def test_a_point_done_with_other_code_or_another_profile_runs_again(toy_notebook, tmp_path, monkeypatch):
    """A finished point stands for its notebook's code, parameters, profile and backend only: the
    same command after any of them changed must not hand back the old results."""
    monkeypatch.setenv("CNNBOOK_PROFILE", "smoke")
    key = sweep.point_key(toy_notebook, {"x": 1})
    assert sweep.point_key(toy_notebook, {"x": 1}) == key
    assert sweep.point_key(toy_notebook, {"x": 2}) != key
    assert sweep.point_key(toy_notebook, {"x": 1}, env={"CNNBOOK_PROFILE": "full"}) != key
    monkeypatch.setenv("KERAS_BACKEND", "jax" if os.environ.get("KERAS_BACKEND") != "jax" else "torch")
    assert sweep.point_key(toy_notebook, {"x": 1}) != key
    monkeypatch.undo()
    monkeypatch.setenv("CNNBOOK_PROFILE", "smoke")

    out, said = tmp_path / "sweep", []
    sweep.sweep(toy_notebook, {"x": [3]}, out=out, echo=said.append)
    sweep.sweep(toy_notebook, {"x": [3]}, out=out, echo=said.append)
    assert sum("done before, skipped" in line for line in said) == 1
    said.clear()
    monkeypatch.setenv("CNNBOOK_PROFILE", "full")  # the same command under another profile
    sweep.sweep(toy_notebook, {"x": [3]}, out=out, echo=said.append)
    assert any("done before with other notebook code, profile or backend" in line for line in said)
    said.clear()
    notebook = nbformat.read(toy_notebook, as_version=4)
    notebook.cells[-1].source = notebook.cells[-1].source.replace("x * 2", "x * 3")
    nbformat.write(notebook, toy_notebook)
    sweep.sweep(toy_notebook, {"x": [3]}, out=out, echo=said.append)
    assert not any("skipped" in line for line in said)
    executed = nbformat.read(out / "x-3" / "toy.ipynb", as_version=4)
    assert executed.cells[-1].outputs[0].text == "9\n"  # the new code's result, not the old one's
    notebook.cells.append(nbformat.v4.new_markdown_cell("Text changes nothing."))
    nbformat.write(notebook, toy_notebook)
    said.clear()
    sweep.sweep(toy_notebook, {"x": [3]}, out=out, echo=said.append)
    assert sum("done before, skipped" in line for line in said) == 1


@pytest.mark.slow
def test_a_tiny_real_sweep_of_a_chapter(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNBOOK_PROFILE", "smoke")
    out = tmp_path / "lenet"
    summary_path = sweep.sweep(ROOT / "notebooks" / "02_lenet.ipynb", {"epochs": [1], "seed": [0, 1]}, out=out,
                               jobs=2, echo=lambda line: None)  # fmt: skip
    table = pd.read_csv(summary_path)
    assert set(table.status) == {"done"} and sorted(set(table.point)) == ["epochs-1_seed-0", "epochs-1_seed-1"]
    assert len(table) == 6  # three runs (records) per point
    for point in ("epochs-1_seed-0", "epochs-1_seed-1"):
        record = json.loads((out / point / "results" / "02_lenet" / "lenet5.json").read_text())
        assert record["epochs"] == 1 and record["profile"] == "smoke"
    seeds = {json.loads((out / p / "results" / "02_lenet" / "lenet5.json").read_text())["seed"] for p in table.point}
    assert seeds == {0, 1}


def _point(out, name, *, status="done", record=None, error=None):
    """A point folder as `sweep.run_point` leaves it, with ``record`` (a dict) as its one record."""
    folder = out / name
    (folder / "results" / "11_transfer_learning").mkdir(parents=True)
    (folder / "status.json").write_text(json.dumps({"parameters": {}, "status": status, "seconds": 1.0,
                                                    "notebook": "overfitting.ipynb", "error": error}))  # fmt: skip
    if record is not None:
        (folder / "results" / "11_transfer_learning" / f"{record['name']}.json").write_text(json.dumps(record))


def test_records_come_from_the_grids_points_only_and_a_point_not_done_says_where_its_log_is(tmp_path):
    template = json.loads(next((ROOT / "results" / "11_transfer_learning").glob("overfit-*.json")).read_text())
    out = tmp_path / "sweep"
    for images in (500, 2500, 10000):  # 10000: a point of another grid, in the same folder
        _point(out, f"images-{images}_profile-full", record={**template, "name": f"overfit-{images}"})
    found = sweep.records(out, {"images": [2500, 500], "profile": ["full"]})
    assert [r.name for r in found] == ["overfit-2500", "overfit-500"]  # the grid's order, nothing else

    _point(out, "images-45000_profile-full", status="failed", error="DataNotFoundError: no CIFAR-10")
    with pytest.raises(RuntimeError) as error:
        sweep.records(out, {"images": [500, 45000], "profile": ["full"]})
    said = str(error.value)
    assert "images-45000_profile-full failed with DataNotFoundError: no CIFAR-10" in said
    assert str(out / "images-45000_profile-full" / "log.txt") in said and "Run the sweep again" in said
    with pytest.raises(RuntimeError, match="images-1_profile-full has not run"):
        sweep.records(out, {"images": [1], "profile": ["full"]})


def test_the_command_line_of_a_grid_runs_that_grid(monkeypatch):
    grid = {"images": [2500], "batch_size": [32, 512], "weight_decay": [0.0005], "augment": [True], "profile": ["full"]}
    line = sweep.command_line("cnnbook/studies/overfitting.ipynb", grid)
    assert line.startswith("python -m cnnbook sweep cnnbook/studies/overfitting.ipynb -p images 2500 -p batch_size 32 512")
    asked = {}
    monkeypatch.setattr(sweep, "sweep", lambda notebook, grid, **kw: asked.update(notebook=notebook, grid=grid))
    sweep.main(line.split()[4:])  # what follows "python -m cnnbook sweep"
    assert asked == {"notebook": "cnnbook/studies/overfitting.ipynb", "grid": grid}


@pytest.mark.slow
def test_points_run_in_the_folder_given(tmp_path):
    write_notebook(tmp_path / "studies" / "where.ipynb", "x = 1", "import os\nprint(os.getcwd())")
    (tmp_path / "chapter").mkdir()
    for cwd, expected in ((None, tmp_path / "studies"), (tmp_path / "chapter", tmp_path / "chapter")):
        out = tmp_path / f"sweep-{expected.name}"
        sweep.sweep(tmp_path / "studies" / "where.ipynb", {"x": [1]}, out=out, cwd=cwd, echo=lambda line: None)
        executed = nbformat.read(out / "x-1" / "where.ipynb", as_version=4)
        assert Path(executed.cells[-1].outputs[0].text.strip()).resolve() == expected.resolve()


@pytest.mark.slow
def test_the_overfitting_study_swept_writes_one_named_record_per_point(tmp_path):
    from cnnbook import studies

    out = tmp_path / "overfitting"
    grid = {"images": [100], "batch_size": [32], "profile": ["smoke"]}
    sweep.sweep(studies.path("overfitting"), grid, out=out, cwd=tmp_path, echo=lambda line: None)
    (record,) = sweep.records(out, grid)
    assert record.name == "overfit-100-batch32" and record.chapter == "11_transfer_learning"
    assert record.profile == "smoke" and record.batch_size == 32 and record.extra["images"] == 100
    assert record.recipe["augment"] is False and record.recipe["weight_decay"] == 0.0  # nothing against overfitting
    assert 0.0 <= record.extra["train_accuracy"] <= 1.0 and record.history["val_accuracy"]
    assert list((tmp_path / "runs").glob("11_transfer_learning-overfit-100-batch32-smoke-seed0-*"))  # ran in cwd
