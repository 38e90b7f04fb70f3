"""The rules of docs/architecture.md, checked on the package's source: what imports what, and that
the page names every module where it lives.

Read statically (``ast``), so a rule holds for every module whether a test imports it or not;
tests/client/test_client.py also runs the client where pandas cannot be imported.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

import productiv_pandas

PACKAGE = Path(productiv_pandas.__file__).resolve().parent
ARCHITECTURE = PACKAGE.parent / "docs" / "architecture.md"
MODULES = sorted(PACKAGE.rglob("*.py"))


def imports(path: Path) -> list[tuple[int, str]]:
    """(level, dotted name) of every import in a module; ``from . import x`` gives (1, "x")."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(0, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            found += [(node.level, f"{base}.{alias.name}".strip(".")) for alias in node.names]
            if node.module:
                found.append((node.level, node.module))
    return found


def relative(path: Path) -> str:
    return path.relative_to(PACKAGE).as_posix()


@pytest.mark.parametrize("path", sorted(PACKAGE.glob("client/*.py")), ids=relative)
def test_the_client_imports_no_pandas_only_the_standard_library_requests_and_errors(path: Path) -> None:
    allowed = set(sys.stdlib_module_names) | {"requests", "urllib3"}
    for level, name in imports(path):
        top = name.split(".")[0]
        if level == 0:
            assert top in allowed or name.startswith("productiv_pandas.client"), (relative(path), name)
        elif level == 2:  # out of client/: the exceptions only
            assert top == "errors", (relative(path), name)
        else:
            assert level == 1, (relative(path), name)


@pytest.mark.parametrize("path", MODULES, ids=relative)
def test_nothing_below_the_accessors_imports_them(path: Path) -> None:
    if path == PACKAGE / "__init__.py":
        return  # importing the package registers them: the one place that imports them
    for level, name in imports(path):
        assert not re.search(r"(^|\.)accessor($|\.)", name) or (level == 0 and name.startswith("dask")), (
            relative(path),
            name,
        )


def sections(text: str) -> dict[str, str]:
    """The page's ``### `folder/` `` sections (and ``### Top level``) -> their text."""
    parts = re.split(r"^### (.+)$", text, flags=re.M)
    named = {}
    for title, body in zip(parts[1::2], parts[2::2], strict=True):
        folder = re.match(r"`([^`]+)/`", title)
        named[folder.group(1) if folder else title.strip()] = body
    return named


@pytest.mark.parametrize("path", MODULES, ids=relative)
def test_the_architecture_page_names_every_module_where_it_lives(path: Path) -> None:
    where = path.relative_to(PACKAGE).parts
    if len(where) == 2 and where[1] == "__init__.py" and where[0] != "cli":
        return  # a subpackage's __init__ only re-exports; cli's holds the command
    section = "Top level" if len(where) == 1 else where[0]
    page = sections(ARCHITECTURE.read_text(encoding="utf-8"))
    assert section in page, f"docs/architecture.md has no section for {section}/"
    assert f"`{where[-1]}`" in page[section], f"docs/architecture.md does not name {relative(path)}"
