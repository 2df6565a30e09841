"""Sweeps: run one chapter over a grid of parameter values with papermill.

    python -m cnnbook sweep notebooks/02_lenet.ipynb -p epochs 5 10 -p batch_size 128 256 [--jobs 2]

Every combination of the values is a *point*. Each point runs in its own papermill process and
gets a folder under ``--out`` (default ``runs/sweeps/<notebook>/``): the executed notebook, its
log, its result records (``CNNBOOK_RESULTS`` points there, so points never overwrite each
other's records) and ``status.json``. A point that fails is reported with its error and the
others go on; running the same command again skips the points that are done and retries the
others. A point done with other code in the notebook, or under another ``CNNBOOK_PROFILE`` or
``KERAS_BACKEND``, is not done for this command: it runs again (``status.json`` keeps the
point's `point_key`). At the end ``summary.csv`` holds one row per point and result record.

Parameter names are checked against the notebook's ``parameters`` cell before anything runs;
values are read as papermill's ``-p`` reads them (``True``, ``False``, ``None``, numbers, else
text), and the chapter itself checks them in its first cells.
"""

import argparse
import itertools
import json
import os
import re
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from cnnbook.errors import ParameterError


def parse_value(text):
    """A command-line value as papermill's ``-p`` reads it."""
    if text in ("True", "False", "None"):
        return {"True": True, "False": False, "None": None}[text]
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def expand(grid):
    """All combinations of ``{name: [values]}``, in order, as a list of dicts."""
    names = list(grid)
    return [dict(zip(names, values)) for values in itertools.product(*(grid[n] for n in names))]


def point_name(parameters):
    """A folder name for a point: ``epochs-5_batch_size-256`` (``defaults`` without parameters)."""
    if not parameters:
        return "defaults"
    parts = (f"{name}-{value}" for name, value in parameters.items())
    return re.sub(r"[^A-Za-z0-9._=-]+", "+", "_".join(parts))


def notebook_parameters(notebook):
    """The names in the notebook's ``parameters`` cell."""
    import papermill

    return list(papermill.inspect_notebook(str(notebook)))


def check_grid(notebook, grid):
    """Raise `ParameterError` for a name the notebook does not have, or an empty value list."""
    known = notebook_parameters(notebook)
    for name, values in grid.items():
        if name not in known:
            raise ParameterError(
                "parameter", name, f"{Path(notebook).name} has no parameter {name!r}; its parameters are "
                f"{', '.join(known)}", choices=known,
            )  # fmt: skip
        if not values:
            raise ParameterError(name, values, f"give at least one value for {name}")


# The environment variables that change what a chapter computes, so part of a point's key.
KEY_ENVIRONMENT = ("CNNBOOK_PROFILE", "KERAS_BACKEND")


def point_key(notebook, parameters, env=None):
    """What a point's result depends on, as a short hash: the notebook's code cells (not its
    text or outputs), the point's parameters, and `KEY_ENVIRONMENT` as the point will see it."""
    import hashlib

    import nbformat

    code = [cell.source for cell in nbformat.read(str(notebook), as_version=4).cells if cell.cell_type == "code"]
    environment = {**os.environ, **(env or {})}
    seen = {name: environment.get(name) for name in KEY_ENVIRONMENT}
    text = json.dumps({"code": code, "parameters": parameters, "environment": seen}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def run_point(notebook, parameters, folder, *, kernel=None, env=None, cwd=None):
    """Execute the notebook for one point in ``folder``; return its status dict. The notebook runs
    in ``cwd`` (default: its own folder), which decides where its runs are kept."""
    folder.mkdir(parents=True, exist_ok=True)
    executed = folder / Path(notebook).name
    command = [sys.executable, "-m", "papermill", str(notebook), str(executed), "--cwd", str(cwd or Path(notebook).parent)]
    command += ["--no-progress-bar", "--log-output"]
    if kernel:
        command += ["--kernel", kernel]
    for name, value in parameters.items():
        command += ["-p", name, str(value)]
    environment = {**os.environ, **(env or {}), "CNNBOOK_RESULTS": str(folder / "results")}
    start = time.perf_counter()
    with open(folder / "log.txt", "w") as log:
        done = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, env=environment)
    status = {
        "parameters": parameters,
        "key": point_key(notebook, parameters, env),
        "status": "done" if done.returncode == 0 else "failed",
        "seconds": round(time.perf_counter() - start, 1),
        "notebook": executed.name,
        "error": None if done.returncode == 0 else _error_of(executed, folder / "log.txt"),
    }
    (folder / "status.json").write_text(json.dumps(status, indent=1) + "\n")
    return status


def _error_of(executed, log):
    """The error a failed point stopped with: from the executed notebook, else the log's last line."""
    try:
        import nbformat

        for cell in nbformat.read(executed, as_version=4).cells:
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    return f"{output['ename']}: {output['evalue']}"
    except Exception:  # no notebook written: the failure came before execution
        pass
    lines = [line for line in Path(log).read_text().splitlines() if line.strip()]
    return lines[-1] if lines else "unknown error (no output)"


def sweep(notebook, grid, *, out=None, jobs=1, kernel=None, env=None, cwd=None, echo=print):
    """Run ``notebook`` over ``grid`` (``{name: [values]}``); see the module docstring. ``cwd``: the
    folder the points run in (default: the notebook's own).

    Returns the path of ``summary.csv``.
    """
    notebook = Path(notebook).resolve()
    if not notebook.is_file():
        raise FileNotFoundError(f"no notebook at {notebook}")
    check_grid(notebook, grid)
    out = Path(out) if out else (_project_root() / "runs" / "sweeps" / notebook.stem)
    points = expand(grid)
    names = [point_name(p) for p in points]
    lock = threading.Lock()
    counter = itertools.count(1)

    def one(parameters, name):
        folder = out / name
        previous = _read_status(folder)
        if previous and previous["status"] == "done":
            if previous.get("key") == point_key(notebook, parameters, env):
                with lock:
                    echo(f"[{next(counter)}/{len(points)}] {name}: done before, skipped")
                return
            with lock:
                echo(f"{name}: done before with other notebook code, profile or backend ({', '.join(KEY_ENVIRONMENT)}): "
                     f"running it again")  # fmt: skip
        status = run_point(notebook, parameters, folder, kernel=kernel, env=env, cwd=cwd)
        with lock:
            said = f"done in {status['seconds']:.0f} s" if status["status"] == "done" else f"FAILED: {status['error']}"
            echo(f"[{next(counter)}/{len(points)}] {name}: {said}")

    echo(f"{notebook.name}: {len(points)} point(s), {jobs} at a time, in {out}")
    with ThreadPoolExecutor(max_workers=max(1, int(jobs))) as pool:
        for future in [pool.submit(one, p, n) for p, n in zip(points, names)]:
            future.result()
    table = summary(out, names)
    path = out / "summary.csv"
    table.to_csv(path, index=False)
    failed = int((table.drop_duplicates("point")["status"] != "done").sum()) if len(table) else 0
    echo(table.to_string(index=False))
    echo(f"summary: {path}" + (f"; {failed} point(s) failed: rerun the same command to retry them" if failed else ""))
    return path


def summary(out, names):
    """One row per point and result record: the point's parameters, status and time, and the
    record's model, accuracy and training time."""
    import pandas as pd

    from cnnbook import results

    rows = []
    for name in names:
        status = _read_status(Path(out) / name)
        if status is None:
            continue
        base = {"point": name, **status["parameters"], "status": status["status"], "seconds": status["seconds"]}
        records = results.load_all(Path(out) / name / "results") if status["status"] == "done" else []
        for record in records:
            rows.append({**base, "run": record.name, "val_accuracy": record.val_accuracy,
                         "test_accuracy": record.test_accuracy, "train_seconds": record.train_seconds})  # fmt: skip
        if not records:
            rows.append({**base, "error": status["error"]})
    return pd.DataFrame(rows)


def records(out, grid):
    """The result records (`cnnbook.results.Record`) of the points of ``grid`` in the sweep folder
    ``out``, point by point; a point of the grid that is not done raises `RuntimeError` with its
    error and log, so that a figure is never drawn from part of a grid."""
    from cnnbook import results

    found = []
    for name in (point_name(p) for p in expand(grid)):
        folder = Path(out) / name
        status = _read_status(folder)
        if not status or status["status"] != "done":
            said = f"failed with {status['error']}" if status else "has not run"
            raise RuntimeError(f"sweep point {name} {said}; its log: {folder / 'log.txt'}. Run the sweep again "
                               f"to retry it (finished points are not run again).")  # fmt: skip
        found += results.load_all(folder / "results")
    return found


def command_line(notebook, grid):
    """The ``python -m cnnbook sweep`` command that runs ``notebook`` over ``grid``, as text."""
    parameters = "".join(f" -p {name} {' '.join(str(v) for v in values)}" for name, values in grid.items())
    return f"python -m cnnbook sweep {notebook}{parameters}"


def _read_status(folder):
    try:
        return json.loads((Path(folder) / "status.json").read_text())
    except (OSError, ValueError):
        return None


def _project_root():
    from cnnbook.system import project_root

    return project_root() or Path.cwd()


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m cnnbook sweep", description="Run a chapter over a grid of parameter values (papermill)."
    )
    parser.add_argument("notebook", help="the chapter, e.g. notebooks/02_lenet.ipynb")
    parser.add_argument("-p", "--parameter", nargs="+", action="append", default=[], metavar=("NAME", "VALUE"),
                        help="a parameter and its values; repeat for a grid")  # fmt: skip
    parser.add_argument("--out", help="folder of the sweep (default: runs/sweeps/<notebook>)")
    parser.add_argument("--jobs", type=int, default=1, help="points run at the same time (default 1)")
    parser.add_argument("--kernel", help="Jupyter kernel (default: the notebook's)")
    args = parser.parse_args(argv)
    grid = {}
    for name, *values in args.parameter:
        if name in grid:
            parser.error(f"-p {name} is given twice; list all its values after one -p")
        grid[name] = [parse_value(v) for v in values]
    try:
        sweep(args.notebook, grid, out=args.out, jobs=args.jobs, kernel=args.kernel)
    except (ParameterError, FileNotFoundError) as error:
        parser.exit(2, f"python -m cnnbook sweep: {error}\n")
