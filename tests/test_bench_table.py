"""``make bench``'s one table (benchmarks/run_all.py): built from what the scripts record.

The benchmarks themselves are never run here (they time themselves and take minutes); two tiny
scripts stand in for them: one that records a met and a missed goal, one that fails.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.fixture
def run_all(monkeypatch, tmp_path):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    spec = importlib.util.spec_from_file_location("run_all_under_test", BENCHMARKS / "run_all.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    records = tmp_path / "records.py"
    records.write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(BENCHMARKS)!r})\n"
        "from _goals import goal\n"
        "goal('x', 'fast enough', 3.25, '>= 3x', True)\n"
        "goal('x', 'small enough', 600.0, '< 512 MiB', False, ' MiB')\n"
    )
    fails = tmp_path / "fails.py"
    fails.write_text("raise SystemExit(2)\n")
    quiet = tmp_path / "quiet.py"
    quiet.write_text("print('figures')\n")
    monkeypatch.setattr(
        module, "BENCHMARKS", {"one": [str(records)], "two": [str(fails)], "three": [str(quiet)]}
    )
    monkeypatch.setattr(module, "HERE", Path("/"))
    return module


def test_the_table_holds_each_recorded_goal_and_each_failed_script(run_all, tmp_path, capsys):
    out = tmp_path / "table.md"

    code = run_all.main(["--table-out", str(out)])

    assert code == 1  # a script failed
    assert out.read_text().splitlines() == [
        "| benchmark | goal | measured | bar | |",
        "|---|---|---|---|---|",
        "| one | fast enough | 3.25x | >= 3x | met |",
        "| one | small enough | 600.00 MiB | < 512 MiB | **MISSED** |",
        "| two | the script ran | exit code 2 after 0 s | exit code 0 | **FAILED** |",
        "| three | figures only (see its output) | 0 s | | |",
    ]
    assert "1 of 2 goals met" in capsys.readouterr().out


def test_only_and_skip_choose_the_scripts(run_all, tmp_path):
    out = tmp_path / "table.md"

    assert run_all.main(["--only", "one", "two", "--skip", "two", "--table-out", str(out)]) == 0
    assert [line.split(" | ")[0] for line in out.read_text().splitlines()[2:]] == ["| one", "| one"]


def test_every_benchmark_listed_exists():
    sys.path.insert(0, str(BENCHMARKS))
    try:
        spec = importlib.util.spec_from_file_location("run_all_listed", BENCHMARKS / "run_all.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(BENCHMARKS))
    scripts = {command[0] for command in module.BENCHMARKS.values()}
    on_disk = {path.name for path in BENCHMARKS.glob("*.py") if not path.name.startswith("_")} - {
        "run_all.py"
    }
    assert scripts == on_disk
