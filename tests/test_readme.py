"""The README's tour is executed, and what it shows as output is what the code prints.

Each ```python block of the tour is run in one namespace, in order; every bare expression in
it is evaluated and rendered with ``to_string()``, and the rendered values, separated by blank
lines, must equal the output block that follows it (warnings are checked separately).
"""

from __future__ import annotations

import ast
import re
import warnings
from pathlib import Path

import pandas as pd

import productiv_pandas as pp

README = Path(__file__).resolve().parent.parent / "README.md"


def _tour_blocks() -> list[tuple[str, str | None]]:
    """(code, output) pairs of the README section "A tour, with real output"."""
    text = README.read_text()
    section = text.split("## A tour, with real output", 1)[1].split("\n## ", 1)[0]
    fences = re.findall(r"```(\w*)\n(.*?)```", section, flags=re.S)
    pairs: list[tuple[str, str | None]] = []
    for number, (language, body) in enumerate(fences):
        if language == "python":
            follows = fences[number + 1] if number + 1 < len(fences) else None
            output = follows[1] if follows is not None and follows[0] == "" else None
            pairs.append((body, output))
    return pairs


def _run(code: str, namespace: dict) -> list[str]:
    """Execute ``code``; return each bare expression's value rendered as the README shows it."""
    rendered: list[str] = []
    tree = ast.parse(code)

    def visit(statements: list[ast.stmt]) -> None:
        for statement in statements:
            if isinstance(statement, ast.Expr):
                value = eval(compile(ast.Expression(statement.value), "README", "eval"), namespace)
                if isinstance(value, pd.DataFrame | pd.Series):
                    rendered.append(value.to_string())
            elif isinstance(statement, ast.With):
                managers = [eval(compile(ast.Expression(item.context_expr), "README", "eval"), namespace)
                            for item in statement.items]  # fmt: skip
                entered = [manager.__enter__() for manager in managers]
                try:
                    for item, value in zip(statement.items, entered, strict=True):
                        if item.optional_vars is not None:
                            namespace[item.optional_vars.id] = value
                    visit(statement.body)
                finally:
                    for manager in reversed(managers):
                        manager.__exit__(None, None, None)
            else:
                exec(compile(ast.Module([statement], []), "README", "exec"), namespace)

    visit(tree.body)
    return rendered


def test_the_tour_runs_and_shows_its_real_output():
    pairs = _tour_blocks()
    assert len(pairs) >= 3, "the tour lost its examples"
    namespace: dict = {}
    for code, output in pairs:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            rendered = _run(code, namespace)
        if output is None:
            continue
        shown = [line for line in output.strip("\n").split("\n") if not line.startswith(("Stale", "Naive"))]
        assert "\n\n".join(rendered).split("\n") == shown, code
        for line in output.split("\n"):
            if line.startswith("StaleEventWarning: "):
                messages = [str(w.message) for w in caught if issubclass(w.category, pp.StaleEventWarning)]
                assert messages == [line.removeprefix("StaleEventWarning: ")]


def test_the_readme_shows_the_committed_chart():
    text = README.read_text()
    assert "](docs/dashboard.png)" in text
    assert (README.parent / "docs" / "dashboard.png").stat().st_size > 10_000


def test_the_readme_lists_every_problem_code_with_its_description():
    """The README's table of codes is pp.PROBLEMS, row for row (regenerate it when a code changes)."""
    text = README.read_text()
    section = text.split("## Problems are data", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([^`]+)` \| (.*) \|$", section, flags=re.M)
    assert rows == [(code, description.replace("|", "\\|")) for code, description in pp.PROBLEMS.items()]
