"""The README says what is true: its tour runs as a script and prints what it shows, its links
lead somewhere, its code is formatted and complete, its tables match the code.

The tour's ``python`` blocks, joined in order, are :func:`tour_script`: a script that prints
every output block of the tour. :func:`check_tour_output` checks what a run of it printed.
Both are imported by other tests (the wheel test runs the tour in a fresh virtual environment):
they read the README next to this file, whatever the working directory.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import productiv_pandas as pp

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
TOUR = "A tour, with real output"

_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", flags=re.S | re.M)
_WARNING_LINE = re.compile(r"^(\w+Warning): (.*)$")


def _section(text: str, heading: str) -> str:
    """The body of the ``## heading`` section of a Markdown text (up to the next ``## ``)."""
    return text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]


def _fences(text: str) -> list[tuple[str, str]]:
    """(language, body) of each fenced block, in order."""
    return _FENCE.findall(text)


def _tour_blocks() -> list[tuple[str, str | None]]:
    """(code, output) pairs of the README's tour: each ``python`` block, with the bare fenced
    block that follows it (what it prints), or None when none follows."""
    fences = _fences(_section(README.read_text(encoding="utf-8"), TOUR))
    pairs: list[tuple[str, str | None]] = []
    for number, (language, body) in enumerate(fences):
        if language == "python":
            follows = fences[number + 1] if number + 1 < len(fences) else None
            output = follows[1] if follows is not None and follows[0] == "" else None
            pairs.append((body, output))
    return pairs


def tour_script() -> str:
    """The tour's python blocks joined into one script, as a reader would paste them."""
    return "\n".join(code for code, _ in _tour_blocks())


def _expected_output() -> tuple[str, list[str]]:
    """What the tour says it prints: stdout, and the warnings (``Category: message``) it shows."""
    stdout: list[str] = []
    shown_warnings: list[str] = []
    for _, output in _tour_blocks():
        for line in (output or "").splitlines(keepends=True):
            if _WARNING_LINE.match(line.rstrip("\n")):
                shown_warnings.append(line.rstrip("\n"))
            else:
                stdout.append(line)
    return "".join(stdout), shown_warnings


def check_tour_output(stdout: str, stderr: str) -> None:
    """Assert that a run of :func:`tour_script` printed exactly what the README shows.

    ``stdout`` must equal the tour's output blocks, in order; each warning the README shows must
    be on stderr, as Python's warnings module writes it (``file:line: Category: message``), and no
    other warning nor any traceback.
    """
    expected, shown_warnings = _expected_output()
    assert stdout.splitlines() == expected.splitlines()
    assert "Traceback" not in stderr, stderr
    written = [match.group(0) for match in re.finditer(r"\b\w+Warning: .*$", stderr, flags=re.M)]
    assert written == shown_warnings, stderr


def test_the_tour_runs_as_a_script_and_prints_what_it_shows(tmp_path):
    pairs = _tour_blocks()
    assert len(pairs) >= 4, "the tour lost its examples"
    assert all(output is not None for _, output in pairs), "each tour block is followed by its output"
    script = tmp_path / "tour.py"
    script.write_text(tour_script(), encoding="utf-8")
    # The same productiv_pandas as this test imports, whatever is installed where.
    package_parent = str(Path(pp.__file__).resolve().parent.parent)
    env = {name: value for name, value in os.environ.items() if not name.startswith("PRODUCTIV_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_parent, env.get("PYTHONPATH")]))
    run = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    check_tour_output(run.stdout, run.stderr)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["tour.py"]  # it writes no file


def test_the_tour_check_fails_on_other_output():
    expected, shown_warnings = _expected_output()
    stderr = "".join(f"tour.py:1: {line}\n" for line in shown_warnings)
    check_tour_output(expected, stderr)
    for stdout, err in [
        (expected.replace("valid", "vaild", 1), stderr),
        (expected + "extra\n", stderr),
        (expected, ""),
        (expected, stderr + "tour.py:2: UserWarning: another\n"),
        (expected, stderr + "Traceback (most recent call last):\n"),
    ]:
        try:
            check_tour_output(stdout, err)
        except AssertionError:
            continue
        raise AssertionError(f"check_tour_output accepted {stdout[-40:]!r} / {err[-60:]!r}")


# --- links ----------------------------------------------------------------------------------


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip()).lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def _anchors(markdown: str) -> set[str]:
    prose = _FENCE.sub("", markdown)
    anchors: set[str] = set()
    for heading in re.findall(r"^#{1,6} (.+)$", prose, flags=re.M):
        slug, number = _slug(heading), 1
        while slug in anchors:  # GitHub numbers repeated headings: x, x-1, x-2
            slug = f"{_slug(heading)}-{number}"
            number += 1
        anchors.add(slug)
    return anchors


def _links(markdown: str) -> list[str]:
    """Targets of the inline links and images outside code."""
    prose = re.sub(r"`[^`\n]*`", "", _FENCE.sub("", markdown))
    return re.findall(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)", prose)


def _tracked() -> set[str] | None:
    """The files git tracks, when this is a git checkout; None otherwise (an exported tree)."""
    try:
        listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return {name for name in listed.stdout.decode().split("\0") if name}


def _broken_links(page: Path, tracked: set[str] | None) -> list[str]:
    text = page.read_text(encoding="utf-8")
    broken = []
    for target in _links(text):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        destination = (page.parent / path).resolve() if path else page
        try:
            relative = destination.relative_to(ROOT).as_posix()
        except ValueError:
            broken.append(f"{target} (outside the repository)")
            continue
        if not destination.is_file() or (tracked is not None and relative not in tracked):
            broken.append(f"{target} (no such file in the repository)")
        elif (
            anchor
            and destination.suffix == ".md"
            and anchor not in _anchors(destination.read_text(encoding="utf-8"))
        ):
            broken.append(f"{target} (no heading with that anchor)")
    return broken


def test_every_link_of_the_readme_and_docs_leads_to_a_file_and_heading_of_the_repository():
    tracked = _tracked()
    pages = [README, *DOCS]
    assert len(pages) >= 3
    assert sum(len(_links(page.read_text(encoding="utf-8"))) for page in pages) >= 5
    broken = {page.name: _broken_links(page, tracked) for page in pages}
    assert broken == {page.name: [] for page in pages}


def test_the_link_checker_finds_a_missing_file_and_a_missing_anchor(tmp_path, monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "guide.md").write_text("# Guide\n\n## Set up `pp`, fast\n", encoding="utf-8")
    page = tmp_path / "README.md"
    page.write_text(
        "# Top\n\n[a](DESIGN.md) [b](docs/guide.md#set-up-pp-fast) [c](docs/guide.md#nowhere) "
        "[d](#top) [e](#gone) [f](https://example.com/x.md) `[g](nothere.md)`\n"
        "```\n[h](alsonothere.md)\n```\n",
        encoding="utf-8",
    )
    assert _broken_links(page, None) == [
        "DESIGN.md (no such file in the repository)",
        "docs/guide.md#nowhere (no heading with that anchor)",
        "#gone (no heading with that anchor)",
    ]
    assert _broken_links(page, {"README.md"}) == [
        "DESIGN.md (no such file in the repository)",
        "docs/guide.md#set-up-pp-fast (no such file in the repository)",
        "docs/guide.md#nowhere (no such file in the repository)",
        "#gone (no heading with that anchor)",
    ]


# --- code blocks ----------------------------------------------------------------------------


def _code_lines(markdown: str) -> list[str]:
    """Every line of a fenced block, and of an indented (4 spaces) block outside lists."""
    lines = [line for _, body in _fences(markdown) for line in body.splitlines()]
    previous = "blank"  # what the line before was: blank, code or text
    for line in _FENCE.sub("", markdown).splitlines():
        if line.startswith("    ") and previous in ("blank", "code"):
            lines.append(line)
            previous = "code"
        else:
            previous = "text" if line.strip() else "blank"
    return lines


def test_no_code_line_ends_in_an_ellipsis():
    """A command or statement ending in ``...`` cannot be pasted and run."""
    for page in [README, *DOCS]:
        code = _code_lines(page.read_text(encoding="utf-8"))
        assert len(code) > 10 or page != README
        assert [line for line in code if line.rstrip().endswith("...")] == [], page.name
    assert _code_lines("text\n\n    make demo ...\n\n```sh\nrun ...\n```\n") == [
        "run ...",
        "    make demo ...",
    ]


def test_the_python_blocks_are_formatted_as_ruff_formats_the_code(tmp_path):
    blocks = [
        (page, body)
        for page in [README, *DOCS]
        for language, body in _fences(page.read_text(encoding="utf-8"))
        if language == "python"
    ]
    assert len(blocks) >= 8
    files = []
    for number, (page, body) in enumerate(blocks):
        path = tmp_path / f"{page.stem}_{number}.py"
        path.write_text(body, encoding="utf-8")
        files.append(str(path))
    check = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", "--config", str(ROOT / "pyproject.toml"), *files],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stdout + check.stderr


# --- tables and figures that mirror the code ------------------------------------------------


def test_the_readme_shows_the_committed_chart():
    text = README.read_text(encoding="utf-8")
    assert "](docs/dashboard.png)" in text
    assert (ROOT / "docs" / "dashboard.png").stat().st_size > 10_000


def test_the_readme_lists_every_problem_code_with_its_description():
    """The README's table of codes is pp.PROBLEMS, row for row (regenerate it when a code changes)."""
    section = _section(README.read_text(encoding="utf-8"), "Problems are data")
    rows = re.findall(r"^\| `([^`]+)` \| (.*) \|$", section, flags=re.M)
    assert rows == [(code, description.replace("|", "\\|")) for code, description in pp.PROBLEMS.items()]


def test_the_endpoints_table_is_the_clients_defaults_and_variables():
    from productiv_pandas.client import _auth, _client

    section = _section(README.read_text(encoding="utf-8"), "Publishing to Productiv")
    table = {
        cells[0]: cells[1:]
        for cells in (
            [cell.strip() for cell in line.strip("|").split("|")]
            for line in section.splitlines()
            if line.startswith("| ") and "---" not in line
        )
    }
    assert table["API base URL"][0] == f"`{_client.DEFAULT_BASE_URL}`"
    assert table["token endpoint"][0] == f"`{_auth.ClientCredentials.DEFAULT_TOKEN_URL}`"
    assert table["scope asked for"][0] == f"`{_auth.ClientCredentials.DEFAULT_SCOPE}`"
    events_path = _client.EVENTS_PATH.replace("{app_id}", "{appId}")
    assert table["events endpoint"][0] == f"`{{base URL}}{events_path}`"
    variables = set(re.findall(r"PRODUCTIV_\w+", " ".join(" ".join(cells) for cells in table.values())))
    assert variables == {f"PRODUCTIV_{name}" for name in _client._ENV_NAMES}
    assert "`https://api.productiv.com/report.read`" in section
