"""Print ``name==version`` for the floor of each pinned package, read from pyproject.toml.

``make test-floor`` installs the project with these pins into ``.venv-floor`` and runs the suite
there, so the lowest versions pyproject.toml declares are the ones tested (the floors cannot
drift from what CI proves). Only the packages whose behaviour the code depends on are pinned;
the rest resolve to whatever is compatible. Every listed package must have a ``>=`` floor.

Usage: ``python .ci/floor_requirements.py [pyproject.toml]``
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

#: The packages pinned to their floors: the ones the issue of untested floors was about.
PINNED = ("pandas", "numpy", "pandera", "pyarrow", "requests")

_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?\s*(.*)$")


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def floors(pyproject: Path) -> dict[str, str]:
    """``{name: floor}`` of the pinned packages in ``[project] dependencies``.

    Raises ValueError when a pinned package is missing or has no single ``>=`` floor.
    """
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    found: dict[str, str] = {}
    for requirement in project["dependencies"]:
        match = _REQUIREMENT.match(requirement.split(";")[0])
        if match is None:
            continue
        name, spec = _normalize(match.group(1)), match.group(2)
        if name not in PINNED:
            continue
        lows = re.findall(r">=\s*([0-9][0-9A-Za-z.]*)", spec)
        if len(lows) != 1:
            raise ValueError(f"{requirement!r} in {pyproject} has no single '>=' floor")
        found[name] = lows[0]
    missing = [name for name in PINNED if name not in found]
    if missing:
        raise ValueError(f"no floor in {pyproject} for {', '.join(missing)}")
    return {name: found[name] for name in PINNED}


def main(argv: list[str]) -> int:
    path = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent.parent / "pyproject.toml"
    try:
        pins = floors(path)
    except (OSError, ValueError, KeyError) as error:
        print(f"floor_requirements: {error}", file=sys.stderr)
        return 2
    for name, version in pins.items():
        print(f"{name}=={version}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
