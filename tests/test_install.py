"""The Colab setup cell's install, done offline: what the cell names, installed from a wheel built
here into a fresh virtual environment, then imported and used.

Colab installs ``cnnbook @ git+<repository.url>@<repository.branch>``; the Colab button opens the
notebook at the same ``repository.branch``, so notebook and package come from one commit. Here
the same requirement is installed with the git source replaced by a wheel of this checkout
(pip checks that the name the requirement gives is the wheel's), without the network and
without dependencies: the new environment borrows the project environment's packages through a
``.pth`` file, and the test checks that ``cnnbook`` itself is imported from the new environment.
"""

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

import cnnbook
from cnnbook import booktools

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENT = re.compile(r'%pip install --quiet "(?P<name>[a-z]+) @ git\+(?P<url>\S+)@(?P<ref>[^"\s]+)"')


def test_the_colab_cell_installs_from_the_ref_the_colab_button_opens():
    source = booktools.colab_setup_source(booktools.repository_url(ROOT), booktools.repository_ref(ROOT))
    found = REQUIREMENT.search(source)
    assert found, source
    assert found["name"] == "cnnbook"
    assert found["url"] == booktools.repository_url(ROOT)
    assert found["ref"] == booktools.repository_ref(ROOT)  # launch_buttons open blob/<repository.branch>


@pytest.mark.slow
def test_the_package_installs_from_a_wheel_into_a_fresh_environment(tmp_path):
    # Build from a copy of what the package is made of, so that no build/ lands in the checkout.
    source_tree = tmp_path / "source"
    shutil.copytree(ROOT / "cnnbook", source_tree / "cnnbook", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (ROOT / name).exists():
            shutil.copy(ROOT / name, source_tree / name)
    wheels = tmp_path / "wheels"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
         "--wheel-dir", str(wheels), str(source_tree)],
        capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr[-2000:]
    (wheel,) = wheels.glob("cnnbook-*.whl")
    assert wheel.name.startswith(f"cnnbook-{cnnbook.__version__}-")
    with zipfile.ZipFile(wheel) as archive:  # the studies a chapter sweeps ship with the package (Colab)
        assert "cnnbook/studies/overfitting.ipynb" in archive.namelist()

    env_dir = tmp_path / "fresh"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    # The project environment's packages (Keras, TensorFlow, ...), after the fresh site-packages.
    (Path(site) / "borrowed.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    source = booktools.colab_setup_source(booktools.repository_url(ROOT), booktools.repository_ref(ROOT))
    requirement = REQUIREMENT.search(source)
    install = subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--no-index", "--no-deps", f"{requirement['name']} @ {wheel.as_uri()}"],
        capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr[-2000:]

    check = subprocess.run(
        [python, "-c", "import cnnbook; m = cnnbook.models.build('lenet5'); "
         "print(cnnbook.__file__); print(cnnbook.__version__); print(m.count_params())"],
        capture_output=True, text=True, cwd=tmp_path, env={**os.environ, "PYTHONPATH": ""},
    )  # fmt: skip
    assert check.returncode == 0, check.stderr[-2000:]
    where, version, params = check.stdout.split()[-3:]
    assert Path(where).is_relative_to(env_dir), f"cnnbook was imported from {where}, not from the wheel"
    assert version == cnnbook.__version__
    assert int(params) == cnnbook.models.build("lenet5").count_params()
