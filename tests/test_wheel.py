"""The package as a user installs it: a wheel, in a fresh virtual environment outside the checkout.

The checkout's sources are copied to a temp folder and built into a wheel with the running
interpreter's setuptools (``--no-build-isolation``: no download); the wheel is installed with
``--no-deps`` into a new venv under ``tmp_path``, which sees the running environment's
site-packages through a ``.pth`` file, so its dependencies are there without a download. There
``productiv-pandas demo`` and the README's tour must run from a folder that is not the checkout:
the demo once needed ``data/make_sample.py`` beside the package (issue 11).
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from productiv_pandas.cli._demo import CHARTS

pytestmark = pytest.mark.slow

CHECKOUT = Path(__file__).resolve().parents[1]
README = CHECKOUT / "README.md"
TOUR_HEADING = "## A tour, with real output"


def _tools_are_there() -> None:
    """setuptools>=77 (for ``license = "MIT"``) and wheel, from the dev extra, in this venv."""
    found = {}
    for name in ("setuptools", "wheel"):
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = None
    major = int(found["setuptools"].split(".")[0]) if found["setuptools"] else 0
    if major < 77 or not found["wheel"]:
        pytest.fail(
            f"building the wheel offline needs setuptools>=77 and wheel in this environment, found "
            f"{found}: reinstall it (make test does, from the dev extra of pyproject.toml)"
        )


def _env(**extra: str) -> dict[str, str]:
    """This environment without what would import the checkout or reach an index."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PRODUCTIV_", "PYTHON", "VIRTUAL_ENV"))}
    env.update(PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1", MPLBACKEND="Agg", **extra)
    return env


def _run(args: list[str | Path], cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _tour() -> tuple[str, object]:
    """The README tour as a script, and the README test's check of its output if it has one."""
    try:
        from tests.test_readme import check_tour_output, tour_script  # type: ignore[attr-defined]
    except ImportError:  # the README test does not offer them (yet): the tour's python blocks
        section = README.read_text(encoding="utf-8").split(TOUR_HEADING, 1)[1].split("\n## ", 1)[0]
        blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
        assert len(blocks) >= 3, "the README tour lost its examples"
        return "\n".join(blocks), None
    return tour_script(), check_tour_output


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv (its root) with the wheel built from the checkout installed in it."""
    _tools_are_there()
    root = tmp_path_factory.mktemp("wheel")
    source = root / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(CHECKOUT / name, source / name)
    shutil.copytree(
        CHECKOUT / "productiv_pandas", source / "productiv_pandas",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )  # fmt: skip
    built = _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--wheel-dir",
         root / "dist", source],
        cwd=root,
    )  # fmt: skip
    assert built.returncode == 0, built.stdout + built.stderr
    [wheel] = (root / "dist").glob("productiv_pandas-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "productiv_pandas/py.typed" in names
    assert "productiv_pandas/_sample.py" in names
    assert "productiv_pandas/schemas/run-summary.v1.json" in names  # SUMMARY_SCHEMA reads it
    assert {name.split("/")[0] for name in names} == {
        "productiv_pandas",
        wheel.name.split("-py")[0] + ".dist-info",
    }

    venv = root / "venv"
    made = _run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=root)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    site = _run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=root)
    # The running environment's packages (pandas, matplotlib, ...), after the venv's own.
    ours = [p for p in sys.path if Path(p).name in ("site-packages", "dist-packages") and Path(p).is_dir()]
    Path(site.stdout.strip(), "running-environment.pth").write_text("\n".join(ours) + "\n", encoding="utf-8")
    done = _run(
        [sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", wheel],
        cwd=root,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return venv


def test_the_package_is_imported_from_the_wheel(installed: Path, tmp_path: Path):
    code = (
        "import importlib.metadata as m, productiv_pandas as pp\n"
        "print(pp.__file__)\n"
        "print(m.version('productiv-pandas'))\n"
        "print(len(pp.sample_events(100, now='2025-06-10T15:00Z')))\n"
    )
    done = _run([installed / "bin" / "python", "-c", code], cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    where, version, rows = done.stdout.split()
    assert Path(where).is_relative_to(installed)
    assert not Path(where).is_relative_to(CHECKOUT)
    assert version == "0.1.0"
    assert rows == "100"


def test_the_demo_runs_and_writes_to_productiv_demo_in_the_current_folder(installed: Path, tmp_path: Path):
    done = _run([installed / "bin" / "productiv-pandas", "demo"], cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    folder = (tmp_path / "productiv-demo").resolve()
    assert f"charts of the status frame, written to {folder}:\n" in done.stdout
    assert sorted(p.name for p in folder.iterdir()) == sorted(CHARTS)
    assert all((folder / name).stat().st_size > 10_000 for name in CHARTS)
    assert "the sandbox stored " in done.stdout
    assert "Traceback" not in done.stderr


def test_the_readme_tour_runs_there(installed: Path, tmp_path: Path):
    script, check = _tour()
    (tmp_path / "tour.py").write_text(script, encoding="utf-8")

    done = _run([installed / "bin" / "python", "tour.py"], cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    if callable(check):
        check(done.stdout, done.stderr)
    else:
        assert "StaleEventWarning: 1 event(s) are older than 12 hours" in done.stderr
