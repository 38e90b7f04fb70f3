"""``make lab`` and ``make demo``, read from the commands make would run (``make -n``), not run.

``make lab`` as root (the usual user in a container) needs jupyter's ``--allow-root``; as any
other user it must not be passed. The notebooks extra is installed once, and again only when
pyproject.toml changes. Make is run on a copy of Makefile and pyproject.toml in a temp folder,
where the stamp files are created or aged at will, so the checkout's .venv is never touched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).resolve().parents[1]
INSTALL_NOTEBOOKS = ".venv/bin/python -m pip install --quiet -e '.[dev,notebooks]'"
CREATE_VENV = "python3 -m venv .venv"

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def _copy(folder: Path) -> Path:
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy2(CHECKOUT / name, folder / name)
    return folder


def _stamp(path: Path, mtime: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    os.utime(path, (mtime, mtime))


def _commands(folder: Path, *args: str) -> list[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "UID"))}
    done = subprocess.run(
        ["make", "-n", *args], cwd=folder, capture_output=True, text=True, env=env, timeout=60, check=True
    )
    return done.stdout.splitlines()


@pytest.fixture
def installed(tmp_path: Path) -> Path:
    """A copy whose .venv is installed, notebooks extra included, after pyproject.toml changed."""
    folder = _copy(tmp_path)
    changed = (folder / "pyproject.toml").stat().st_mtime
    _stamp(folder / ".venv" / ".installed", changed + 10)
    _stamp(folder / ".venv" / ".notebooks", changed + 20)
    return folder


@pytest.mark.parametrize(
    ("uid", "command"),
    [
        ("0", ".venv/bin/jupyter lab --allow-root notebooks/"),
        ("1000", ".venv/bin/jupyter lab notebooks/"),
        ("501", ".venv/bin/jupyter lab notebooks/"),
    ],
)
def test_lab_passes_allow_root_only_to_root(installed: Path, uid: str, command: str):
    assert _commands(installed, "lab", f"UID={uid}") == [command]


def test_lab_asks_the_running_user_by_default(installed: Path):
    root = os.getuid() == 0
    expected = ".venv/bin/jupyter lab --allow-root notebooks/" if root else ".venv/bin/jupyter lab notebooks/"
    assert _commands(installed, "lab") == [expected]


def test_lab_installs_the_notebooks_extra_on_a_fresh_checkout(tmp_path: Path):
    commands = _commands(_copy(tmp_path), "lab", "UID=0")
    assert commands[0] == CREATE_VENV
    assert commands[-3:] == [
        INSTALL_NOTEBOOKS,
        "touch .venv/.notebooks",
        ".venv/bin/jupyter lab --allow-root notebooks/",
    ]
    assert commands.count(INSTALL_NOTEBOOKS) == 1


def test_lab_installs_the_notebooks_extra_once_the_venv_exists(tmp_path: Path):
    folder = _copy(tmp_path)
    _stamp(folder / ".venv" / ".installed", (folder / "pyproject.toml").stat().st_mtime + 10)
    assert _commands(folder, "lab", "UID=1000") == [
        INSTALL_NOTEBOOKS,
        "touch .venv/.notebooks",
        ".venv/bin/jupyter lab notebooks/",
    ]


def test_lab_installs_again_when_pyproject_changed(installed: Path):
    newer = (installed / ".venv" / ".notebooks").stat().st_mtime + 10
    os.utime(installed / "pyproject.toml", (newer, newer))
    commands = _commands(installed, "lab", "UID=1000")
    assert CREATE_VENV in commands  # the dev install follows pyproject.toml too, as before
    assert commands[-3:] == [INSTALL_NOTEBOOKS, "touch .venv/.notebooks", ".venv/bin/jupyter lab notebooks/"]


def test_make_demo_writes_its_charts_to_out(installed: Path):
    assert _commands(installed, "demo") == [".venv/bin/productiv-pandas demo --out out"]
