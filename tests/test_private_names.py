"""No module of the package reaches into another module's private names (issue 10, point 10).

Read from the source (ast), so it cannot come back unnoticed:

- ``from <a module of the package> import _name`` where ``_name`` is not itself a module: a
  private function, class or constant of another module. Private MODULES
  (``from ..preparation import _prepare``, ``from ..sending._publish import publish``) are
  fine: their public names are the package's internal interface.
- ``obj._attr`` where ``obj`` is not ``self`` or ``cls`` and ``_attr`` is a private attribute
  or method that another module of the package defines, and this one does not: reading
  another class's private state (as ClientFactory once read the client's token provider).
"""

from __future__ import annotations

import ast
from pathlib import Path

import productiv_pandas

PACKAGE = Path(productiv_pandas.__file__).parent


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(dotted: str, root: Path) -> bool:
    where = root.joinpath(*dotted.split("."))
    return where.with_suffix(".py").exists() or (where / "__init__.py").exists()


def _sources(package: Path) -> dict[Path, ast.Module]:
    return {path: ast.parse(path.read_text(encoding="utf-8")) for path in sorted(package.rglob("*.py"))}


def _defined_private_attributes(tree: ast.Module) -> set[str]:
    """Private attributes a module defines: ``self._x = ...``, class members, ``__slots__``."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store) and _private(node.attr):
            names.add(node.attr)
        elif isinstance(node, ast.ClassDef):
            for member in node.body:
                if isinstance(member, ast.FunctionDef | ast.AsyncFunctionDef) and _private(member.name):
                    names.add(member.name)
                targets = member.targets if isinstance(member, ast.Assign) else []
                if isinstance(member, ast.AnnAssign):
                    targets = [member.target]
                names.update(t.id for t in targets if isinstance(t, ast.Name) and _private(t.id))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and _private(node.value):
            names.add(node.value)  # __slots__ entries, getattr(obj, "_x") of its own
    return names


def private_imports(package: Path = PACKAGE) -> list[str]:
    root = package.parent
    found = []
    for path, tree in _sources(package).items():
        me = _module_name(path, root)
        parent = me if path.name == "__init__.py" else me.rpartition(".")[0]
        for node in ast.walk(tree):
            if not isinstance(node, ast.ImportFrom):
                continue
            if node.level:
                base = parent.split(".")[: len(parent.split(".")) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            if source.split(".")[0] != package.name or source == me:
                continue
            for alias in node.names:
                if _private(alias.name) and not _is_module(f"{source}.{alias.name}", root):
                    found.append(f"{path.relative_to(root)}:{node.lineno}: from {source} import {alias.name}")
    return found


def private_attributes(package: Path = PACKAGE) -> list[str]:
    sources = _sources(package)
    defined = {path: _defined_private_attributes(tree) for path, tree in sources.items()}
    found = []
    for path, tree in sources.items():
        elsewhere = set().union(*(names for other, names in defined.items() if other != path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Attribute) or not _private(node.attr):
                continue
            if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
                continue
            if node.attr in elsewhere and node.attr not in defined[path]:
                found.append(f"{path.relative_to(package.parent)}:{node.lineno}: {ast.unparse(node)}")
    return found


def test_no_module_imports_a_private_name_of_another():
    assert private_imports() == []


def test_no_module_reads_a_private_attribute_another_module_defines():
    assert private_attributes() == []


def test_the_checks_find_what_they_look_for(tmp_path):
    # A package planted with both shapes (and the shapes that are fine): only the two are found.
    package = tmp_path / "productiv_pandas"
    (package / "client").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "client" / "__init__.py").write_text("")
    (package / "client" / "_client.py").write_text(
        "def _helper():\n    pass\n\n\nclass Client:\n    def __init__(self):\n        self._tokens = 1\n"
    )
    (package / "factory.py").write_text(
        "from .client import _client\n"  # a private module: fine
        "from .client._client import Client, _helper\n"  # a private name: refused
        "\n\ndef of(client):\n    return client._tokens, _client.Client\n"  # a private attribute: refused
    )
    assert private_imports(package) == [
        "productiv_pandas/factory.py:2: from productiv_pandas.client._client import _helper"
    ]
    assert private_attributes(package) == ["productiv_pandas/factory.py:6: client._tokens"]
