import json

import pytest

from cnnbook import results
from cnnbook.results import Record


def make_record(**changes):
    fields = dict(
        chapter="02_lenet", name="lenet5", model="lenet5", profile="full", seed=0, params=62006,
        trainable_params=62006, flops=1316252, macs=651720, epochs=2, epochs_planned=2, batch_size=128,
        recipe={"optimizer": "sgd"}, data={"train": 45000, "val": 5000, "test": 10000}, train_seconds=12.5,
        compile_seconds=1.5, train_seconds_excluding_compile=11.0, val_accuracy=0.7, test_accuracy=0.69,
        diverged=False, history={"loss": [2.0, 1.5], "val_accuracy": [0.6, 0.7]}, hardware="CPU", device="CPU",
        backend="jax", backend_version="0.10.2", keras_version="3.15.1", python="3.11.7", precision="float32",
        git_commit="abc", git_dirty=False, date="2026-11-23T00:00:00+00:00",
    )  # fmt: skip
    fields.update(changes)
    return Record(**fields)


def test_round_trip(tmp_path):
    record = make_record()
    path = results.save(record, tmp_path)
    assert path == tmp_path / "02_lenet" / "lenet5.json"
    assert results.load(path) == record
    assert results.load_all(tmp_path) == [record]
    assert results.load_all(tmp_path, chapter="03_alexnet") == []


def test_write_is_atomic_when_it_fails_half_way(tmp_path, monkeypatch):
    path = results.save(make_record(), tmp_path)
    before = path.read_text()

    def broken_dump(data, out, **kwargs):
        out.write('{"half": ')
        raise OSError("disk full")

    monkeypatch.setattr(json, "dump", broken_dump)
    with pytest.raises(OSError, match="disk full"):
        results.save(make_record(test_accuracy=0.99), tmp_path)
    assert path.read_text() == before  # the old record is intact
    assert [p.name for p in path.parent.iterdir()] == ["lenet5.json"]  # no temporary file left


def test_non_finite_numbers_are_refused(tmp_path):
    with pytest.raises(ValueError):
        results.save(make_record(val_accuracy=float("nan")), tmp_path)


def test_full_runs_go_to_results_and_others_to_runs(monkeypatch, tmp_path):
    monkeypatch.delenv("CNNBOOK_RESULTS", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "_config.yml").write_text("title: x\n")
    (tmp_path / "cnnbook").mkdir()
    assert results.results_dir("full") == tmp_path / "results"
    assert results.results_dir("smoke") == tmp_path / "runs" / "results"
    monkeypatch.setenv("CNNBOOK_RESULTS", str(tmp_path / "elsewhere"))
    assert results.results_dir("full") == tmp_path / "elsewhere"


def test_table_has_one_row_per_run():
    frame = results.table([make_record(), make_record(name="lenet5_classic", model="lenet5_classic")])
    assert list(frame.index) == ["lenet5", "lenet5_classic"]
    assert frame.loc["lenet5", "test acc"] == 0.69 and frame.loc["lenet5", "params"] == 62006


def test_a_record_with_unknown_fields_is_refused():
    data = make_record().to_dict() | {"mystery": 1}
    with pytest.raises(ValueError, match="unknown fields"):
        Record.from_dict(data)


def test_profile_time_sums_a_chapters_full_runs_per_kind_of_machine(tmp_path):
    for name, seconds in (("a", 600.0), ("b", 300.0)):
        results.save(make_record(name=name, train_seconds=seconds, hardware="Xeon (2 cores)", device="CPU",
                                 precision="mixed_bfloat16"), tmp_path)  # fmt: skip
    results.save(make_record(name="c", train_seconds=30.0, hardware="H200; host EPYC", device="H200"), tmp_path)
    results.save(make_record(name="d", profile="smoke", train_seconds=5.0), tmp_path)  # not counted
    frame = results.profile_time("02_lenet", tmp_path)
    assert frame.loc["CPU", "minutes"] == 15.0 and frame.loc["CPU", "runs"] == 2
    assert frame.loc["CPU", "precision"] == "mixed_bfloat16" and frame.loc["GPU", "minutes"] == 0.5
    assert (frame["budget (2-core CPU)"] == "45 min").all()


def test_profile_time_says_what_was_not_measured(tmp_path):
    results.save(make_record(device="CPU"), tmp_path)
    frame = results.profile_time("02_lenet", tmp_path)
    assert frame.loc["GPU", "runs"] == 0 and "not measured" in frame.loc["GPU", "hardware"]


ROOT_RESULTS = results.results_dir("full")
CHAPTERS = sorted(p.name for p in ROOT_RESULTS.iterdir() if p.is_dir() and p.name[:2].isdigit())


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_committed_records_fit_the_budget_and_say_where_they_come_from(chapter):
    """The book's claim, checked on what is committed: every chapter's full runs on a 2-core CPU
    took at most its budget together, and every record names its machine, backend, precision,
    seed and a clean commit; at least one run of the chapter was evaluated on the test set."""
    from cnnbook.config import budget_minutes

    records = results.load_all(chapter=chapter)
    assert records and all(r.profile == "full" for r in records)
    on_cpu = [r for r in records if r.device == "CPU"]
    assert sum(r.train_seconds for r in on_cpu) <= 60 * budget_minutes(chapter)
    for r in records:
        assert r.hardware and r.backend and r.precision and r.seed is not None and r.git_commit, r.name
        assert r.git_dirty is False, f"{chapter}/{r.name} was recorded from a tree with uncommitted changes"
    assert any(r.test_accuracy is not None for r in records)
