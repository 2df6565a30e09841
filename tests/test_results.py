import json

import pandas as pd
import pytest

from cnnbook import booktools, results
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


def test_load_all_reads_the_chapters_folders_only(tmp_path):
    record = make_record()
    results.save(record, tmp_path)
    (tmp_path / "benchmarks").mkdir()
    (tmp_path / "benchmarks" / "cpu-training.json").write_text('{"images_per_second": 1000}')
    # other measurements beside a chapter's records (chapter 11's features) have no schema: skipped
    (tmp_path / record.chapter / "imagenet-features.json").write_text('{"chapter": "x", "probes": []}')
    assert results.load_all(tmp_path) == [record]
    (tmp_path / record.chapter / "newer.json").write_text('{"schema": 9, "chapter": "x", "colour": 1}')
    with pytest.raises(ValueError, match="unknown fields"):  # a record it cannot read is still an error
        results.load_all(tmp_path)


@pytest.mark.parametrize(
    "hardware, expected",
    [("Intel(R) Xeon(R) Processor (2 cores)", "Intel Xeon, 2 cores; jax, float32"),
     ("Intel(R) Xeon(R) CPU @ 2.20GHz (1 core)", "Intel Xeon, 1 core; jax, float32"),
     ("AMD EPYC (2 cores)", "AMD EPYC, 2 cores; jax, float32"),
     ("NVIDIA H200", "NVIDIA H200; jax, float32")],
)  # fmt: skip
def test_machine_names_the_hardware_in_a_few_words(hardware, expected):
    assert results.machine(make_record(hardware=hardware)) == expected


def test_overview_has_a_row_per_record_with_readable_numbers():
    study = make_record(name="study", test_accuracy=None, params=1316252, macs=462422016)
    frame = results.overview([make_record(), study])
    assert list(frame.index) == [("02_lenet", "lenet5"), ("02_lenet", "study")]
    assert frame.loc[("02_lenet", "lenet5"), "test acc"] == "69.00%"
    assert frame.loc[("02_lenet", "study"), "test acc"] == ""  # judged on validation only
    assert frame.loc[("02_lenet", "study"), "parameters"] == "1,316,252"
    assert frame.loc[("02_lenet", "study"), "multiply-adds"] == "462.4M"
    assert frame.loc[("02_lenet", "lenet5"), "trained on"] == "45,000 x 2"
    assert len(frame.columns) <= 8, "the table must fit the page"


def test_chapter_times_add_up_the_cpu_runs_of_each_chapter():
    records = [make_record(train_seconds=600.0), make_record(name="b", train_seconds=300.0),
               make_record(chapter="09_resnet", name="gpu", device="GPU:0", hardware="NVIDIA H200",
                           date="2026-12-01T00:00:00+00:00")]  # fmt: skip
    frame = results.chapter_times(records)
    assert frame.loc["02_lenet", "runs"] == 2 and frame.loc["02_lenet", "minutes on a CPU"] == "15.0"
    assert frame.loc["02_lenet", "budget"] == "45 min" and frame.loc["09_resnet", "budget"] == "90 min"
    assert frame.loc["09_resnet", "minutes on a CPU"] == ""  # no CPU run: nothing to add up
    assert frame.loc["09_resnet", "last run"] == "2026-12-01"


def test_cpu_speeds_has_a_row_per_speed_benchmark_with_its_cpu_and_precision(tmp_path):
    folder = tmp_path / "benchmarks"
    folder.mkdir()
    common = {"benchmark": "cpu_training", "backend": "tensorflow", "date": "2026-12-07T00:00:00+00:00"}
    (folder / "cpu-training-amd-epyc-no-bf16.json").write_text(json.dumps({
        **common, "hardware": "AMD EPYC (2 cores)", "precision": "float32", "cpu_bf16_flags": [],
        "networks": {"resnet20": {"keras_images_per_second": 201.4, "reference_images_per_second": 1234.4}}}))
    xeon_record = {
        **common, "hardware": "Intel(R) Xeon(R) Processor (2 cores)", "precision": "mixed_bfloat16",
        "cpu_bf16_flags": ["amx_bf16", "avx512_bf16"],
        "networks": {"resnet20": {"keras_images_per_second": 944.3}, "speednet": {"keras_images_per_second": 744.3}}}
    (folder / "cpu-training-intel-xeon-processor-amx.json").write_text(json.dumps(xeon_record))
    (folder / "cpu-training-intel-xeon-processor-amx-levers.json").write_text(json.dumps(xeon_record))  # a study: not a row
    (folder / "augmentation-tensorflow-cpu.json").write_text("{}")  # another benchmark: not a row
    frame = results.cpu_speeds(tmp_path)
    assert list(frame.index) == ["amd-epyc-no-bf16", "intel-xeon-processor-amx"]
    epyc, xeon = frame.loc["amd-epyc-no-bf16"], frame.loc["intel-xeon-processor-amx"]
    assert epyc["native bfloat16"] == "none" and epyc["book's path"] == "tensorflow, float32"
    assert epyc["ResNet-20 img/s"] == 201 and epyc["(PyTorch reference)"] == 1234 and pd.isna(epyc["wide net img/s"])
    assert xeon["CPU"] == "Intel Xeon, 2 cores" and xeon["native bfloat16"] == "amx_bf16, avx512_bf16"
    assert xeon["wide net img/s"] == 744 and len(frame.columns) <= 7, "the table must fit the page"
    # numbers, shown with separators and a blank where nothing was measured
    html = booktools.table_html(frame)
    assert "<td>1,234</td>" in html and "<td></td>" in html and "NA" not in html


def test_cpu_speeds_show_every_committed_speed_benchmark():
    committed = sorted(p.stem.removeprefix("cpu-training-") for p in (ROOT_RESULTS / "benchmarks").glob("cpu-training-*.json")
                       if not p.stem.endswith("-levers"))
    assert committed and list(results.cpu_speeds().index) == committed
