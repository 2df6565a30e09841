import json
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


@pytest.fixture
def toy_notebook(tmp_path):
    """A notebook with parameters x and fail, which raises when asked to."""
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("x = 1\nfail = False", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("if fail:\n    raise ValueError(f'asked to fail with x={x}')\nprint(x * 2)"),
    ])  # fmt: skip
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "toy.ipynb"
    nbformat.write(notebook, path)
    return path


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
