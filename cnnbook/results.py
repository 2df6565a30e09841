"""Result records: one JSON file per training run, written atomically and read back for tables
and plots.

A record holds what a reader needs to trust a number: the model and its size, the recipe, the
data sizes, how long training took (with and without the first epoch's compilation), validation
and test accuracy, the per-epoch history, and where it ran (hardware, backend, versions, git
commit, seed, date).

Full-profile records live in ``results/`` of the project and are committed; records of other
profiles go to ``runs/results/`` (ignored by git), so a quick run never overwrites a real one.
``CNNBOOK_RESULTS`` overrides both.
"""

import dataclasses
import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from cnnbook.system import project_root

SCHEMA = 1


@dataclass
class Record:
    """The record of one training run. Build it with `cnnbook.train.FitResult.record`."""

    chapter: str
    name: str
    model: str
    profile: str
    seed: int
    params: int
    trainable_params: int
    flops: int
    macs: int
    epochs: int
    epochs_planned: int
    batch_size: int
    recipe: dict
    data: dict
    train_seconds: float
    compile_seconds: float
    train_seconds_excluding_compile: float
    val_accuracy: float
    test_accuracy: float | None
    diverged: bool
    history: dict
    hardware: str
    device: str
    backend: str
    backend_version: str
    keras_version: str
    python: str
    precision: str
    git_commit: str | None
    git_dirty: bool | None
    date: str
    notes: str = ""
    precision_reason: str = ""  # why this precision (cnnbook.system.precision_and_reason)
    reused: bool = False  # loaded from a finished run (cnnbook.train.fit); train_seconds are the original run's
    extra: dict = field(default_factory=dict)
    schema: int = SCHEMA

    def to_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data):
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"result record has unknown fields {unknown}; is it from a newer cnnbook?")
        return cls(**data)

    @property
    def filename(self):
        return f"{self.chapter}/{self.name}.json"


def results_dir(profile="full"):
    """Where records of ``profile`` are written (see the module docstring)."""
    if os.environ.get("CNNBOOK_RESULTS"):
        return Path(os.environ["CNNBOOK_RESULTS"])
    root = project_root() or Path.cwd()
    return root / "results" if profile == "full" else root / "runs" / "results"


def save(record, directory=None):
    """Write ``record`` as JSON under ``directory`` (default: `results_dir`), atomically: a reader
    sees the old file or the new one, never half of one. Returns the path."""
    path = Path(directory or results_dir(record.profile)) / record.filename
    write_json_atomic(path, record.to_dict())
    return path


def write_json_atomic(path, data):
    """Write ``data`` as indented JSON to ``path`` through a temporary file and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w") as out:
            json.dump(data, out, indent=1, sort_keys=False, allow_nan=False)
            out.write("\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def load(path):
    """Read one record."""
    with open(path) as f:
        return Record.from_dict(json.load(f))


def load_all(directory=None, chapter=None):
    """All records under ``directory`` (default: the full-profile results), optionally of one
    chapter, sorted by chapter and name."""
    root = Path(directory or results_dir("full"))
    # Chapters' folders are named NN_name; results/benchmarks/ holds another kind of record.
    pattern = f"{chapter}/*.json" if chapter else "[0-9][0-9]_*/*.json"
    records = []
    for path in root.glob(pattern):
        with open(path) as f:
            data = json.load(f)
        # A chapter may keep other measurements beside its runs' records (chapter 11's ImageNet
        # features and probes): every run record has a schema field, and they have none.
        if isinstance(data, dict) and "schema" in data:
            records.append(Record.from_dict(data))
    return sorted(records, key=lambda r: (r.chapter, r.name))


COLUMNS = {
    "model": "model",
    "params": "params",
    "flops": "FLOPs",
    "epochs": "epochs",
    "batch_size": "batch",
    "val_accuracy": "val acc",
    "test_accuracy": "test acc",
    "train_seconds": "train s",
    "train_seconds_excluding_compile": "train s (no compile)",
    "device": "device",
    "backend": "backend",
    "seed": "seed",
}


def table(records, columns=COLUMNS):
    """Records as a pandas DataFrame, one row per run, indexed by record name."""
    import pandas as pd

    rows = [{label: getattr(r, key) for key, label in columns.items()} for r in records]
    return pd.DataFrame(rows, index=pd.Index([r.name for r in records], name="run"))


def profile_time(chapter, directory=None):
    """How long the chapter's full profile took, from its records: one row per kind of machine
    (a 2-core CPU, a GPU), with the hardware, backend, precision, number of runs and minutes of
    training (validation included) of all the chapter's runs together, and the chapter's budget.

    A kind of machine without records says so instead of guessing. Reused runs count with the
    time they took when they were trained.
    """
    import pandas as pd

    from cnnbook.config import budget_minutes

    records = [r for r in load_all(directory, chapter=chapter) if r.profile == "full"]
    rows = {}
    for kind, mine in (("CPU", [r for r in records if r.device == "CPU"]), ("GPU", [r for r in records if r.device != "CPU"])):
        if not mine:
            rows[kind] = {"hardware": "not measured yet (no full-profile record)", "backend": "", "precision": "",
                          "runs": 0, "minutes": None}  # fmt: skip
            continue
        rows[kind] = {
            "hardware": ", ".join(sorted({r.hardware for r in mine})),
            "backend": ", ".join(sorted({r.backend for r in mine})),
            "precision": ", ".join(sorted({r.precision for r in mine})),
            "runs": len(mine),
            "minutes": round(sum(r.train_seconds for r in mine) / 60, 1),
        }
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "full profile on"
    frame["budget (2-core CPU)"] = f"{budget_minutes(chapter)} min"
    return frame


def hardware_name(hardware):
    """A record's hardware in a few words: ``"Intel(R) Xeon(R) Processor (2 cores)"`` ->
    ``"Intel Xeon, 2 cores"``."""
    for noise in ("(R)", "(TM)", " Processor", " CPU"):
        hardware = hardware.replace(noise, "")
    hardware = re.sub(r"\s*@.*?(?=\(|$)", " ", hardware)  # the clock of "CPU @ 2.10GHz"
    return re.sub(r"\s*\((\d+) cores?\)", lambda m: f", {m[1]} core{'' if m[1] == '1' else 's'}",
                  " ".join(hardware.split()))  # fmt: skip


def machine(record):
    """Where a run ran, in a few words: ``"AMD EPYC, 2 cores; tensorflow, mixed_bfloat16"``."""
    return f"{hardware_name(record.hardware)}; {record.backend}, {record.precision}"


def overview(records):
    """Every record as one row of a table that fits a page: chapter and run, then the model, its
    validation and test accuracy (test only for the final runs that were evaluated on it), its
    size and cost, what it was trained on, how long it took, and where (`machine`)."""
    import pandas as pd

    def percent(value):
        return "" if value is None else f"{100 * value:.2f}%"

    rows = [{"model": r.model, "val acc": percent(r.val_accuracy), "test acc": percent(r.test_accuracy),
             "parameters": f"{r.params:,}", "multiply-adds": f"{r.macs / 1e6:,.1f}M",
             "trained on": f"{r.data.get('train', 0):,} x {r.epochs}", "minutes": f"{r.train_seconds / 60:.1f}",
             "machine": machine(r)} for r in records]  # fmt: skip
    index = pd.MultiIndex.from_tuples([(r.chapter, r.name) for r in records], names=["chapter", "run"])
    return pd.DataFrame(rows, index=index, columns=list(rows[0]) if rows else None)


def cpu_speeds(directory=None):
    """The training speed of the book's path on each CPU measured so far: one row per record of
    ``benchmarks/cpu_training.py`` in ``<directory>/benchmarks/`` (default: the full-profile
    results), with the CPU, its native bfloat16 instructions (none: the book trains in float32
    there), the backend and precision of the book's path, and the training images per second of
    the registered ResNet-20 and of the wide speedrun network, the Keras path's and the
    hand-written PyTorch reference's (whole numbers, blank where not measured). A ``--levers``
    record (``*-levers.json``) is a study of the settings and stays out: its default row repeats
    the plain record of its CPU."""
    import pandas as pd

    root = Path(directory or results_dir("full")) / "benchmarks"
    rows = {}
    for path in sorted(root.glob("cpu-training-*.json"), key=lambda p: p.stem):
        if path.stem.endswith("-levers"):
            continue
        bench = json.loads(path.read_text())
        networks = bench["networks"]

        def speed(network, key):
            value = networks.get(network, {}).get(key)
            return round(value) if value is not None else None

        rows[path.stem.removeprefix("cpu-training-")] = {
            "CPU": hardware_name(bench["hardware"]),
            "native bfloat16": ", ".join(bench.get("cpu_bf16_flags") or []) or "none",
            "book's path": f"{bench['backend']}, {bench['precision']}",
            "ResNet-20 img/s": speed("resnet20", "keras_images_per_second"),
            "(PyTorch reference)": speed("resnet20", "reference_images_per_second"),
            "wide net img/s": speed("speednet", "keras_images_per_second"),
            "(reference)": speed("speednet", "reference_images_per_second"),
        }  # fmt: skip
    frame = pd.DataFrame.from_dict(rows, orient="index")
    speeds = [c for c in frame.columns if "img/s" in c or "reference" in c]
    frame[speeds] = frame[speeds].astype("Int64")
    frame.index.name = "benchmark"
    return frame


def chapter_times(records):
    """One row per chapter: how many full runs, the minutes of training they took together on a
    CPU (validation included; what the budget counts), the budget, the machine and the date of
    the chapter's last run."""
    import pandas as pd

    from cnnbook.config import budget_minutes

    rows = {}
    for chapter in sorted({r.chapter for r in records}):
        mine = [r for r in records if r.chapter == chapter]
        on_cpu = [r for r in mine if r.device == "CPU"]
        rows[chapter] = {
            "runs": len(mine),
            "minutes on a CPU": f"{sum(r.train_seconds for r in on_cpu) / 60:.1f}" if on_cpu else "",
            "budget": f"{budget_minutes(chapter)} min",
            "machine": "; ".join(sorted({machine(r) for r in mine})),
            "last run": max(r.date for r in mine)[:10],
        }
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "chapter"
    return frame
