"""The floors in pyproject.toml are the versions ``make test-floor`` tests, and they are installed.

``.ci/floor_requirements.py`` turns pyproject.toml's ``>=`` floors into the pins of the second
environment; ``make test-floor`` sets ``PP_TEST_FLOOR`` there, so these tests fail when that
environment quietly holds newer versions than the floors it claims to prove.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / ".ci" / "floor_requirements.py"
PINNED = ("pandas", "numpy", "pandera", "pyarrow", "requests")
IN_FLOOR_ENV = bool(os.environ.get("PP_TEST_FLOOR"))


def floors_script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=60, check=False
    )


def declared_floors() -> dict[str, Version]:
    """``{name: floor}`` from pyproject.toml's dependencies, read with packaging's own parser."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    floors = {}
    for line in project["dependencies"]:
        requirement = Requirement(line)
        lows = [spec.version for spec in requirement.specifier if spec.operator == ">="]
        if lows:
            floors[canonicalize_name(requirement.name)] = Version(lows[0])
    return floors


def test_the_script_pins_every_listed_package_to_its_declared_floor() -> None:
    result = floors_script()
    assert result.returncode == 0, result.stderr
    pins = [line.split("==") for line in result.stdout.split()]
    assert [name for name, _ in pins] == list(PINNED)
    declared = declared_floors()
    for name, pinned in pins:
        assert Version(pinned) == declared[name], name


def test_the_script_refuses_a_pyproject_without_a_floor(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        '[project]\nname = "x"\ndependencies = ["pandas", "numpy>=1.26", "pandera>=0.24",'
        ' "pyarrow>=15", "requests>=2.31"]\n',
        encoding="utf-8",
    )
    result = floors_script(str(pyproject))
    assert result.returncode == 2
    assert result.stdout == ""
    assert "'pandas' in" in result.stderr
    assert "has no single '>=' floor" in result.stderr


def test_the_script_refuses_a_pyproject_missing_a_pinned_package(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        '[project]\nname = "x"\ndependencies = ["pandas>=3.0", "numpy>=1.26", "pyarrow>=15"]\n',
        encoding="utf-8",
    )
    result = floors_script(str(pyproject))
    assert result.returncode == 2
    assert "no floor" in result.stderr
    assert "pandera, requests" in result.stderr


def test_installed_versions_are_at_least_the_floors() -> None:
    declared = declared_floors()
    for name in PINNED:
        assert Version(version(name)) >= declared[name], name


@pytest.mark.skipif(not IN_FLOOR_ENV, reason="only in the floor environment (make test-floor)")
def test_the_floor_environment_holds_exactly_the_floors() -> None:
    declared = declared_floors()
    installed = {name: Version(version(name)) for name in PINNED}
    assert installed == {name: declared[name] for name in PINNED}
