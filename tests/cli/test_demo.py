"""`productiv-pandas demo`: the generated sample published to a sandbox, the table, the charts as PNGs."""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from productiv_pandas.cli._demo import CHARTS, DEFAULT_OUT_DIR, run_demo
from productiv_pandas.preparation._prepare import validate

CHECKOUT = Path(__file__).resolve().parents[2]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: The module (the package re-exports its function under the same name); the demo imports
#: ``publish`` from it when it runs, so a test can wrap it there.
PUBLISH_MODULE = importlib.import_module("productiv_pandas.sending._publish")


def _printed_table(out: str) -> dict[str, tuple[int, str]]:
    """The per-status table the demo prints: {status: (rows, share)}."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if re.fullmatch(r"status\s*", line)) + 1
    table = {}
    for line in lines[start:]:
        if not line.strip():
            break
        name, rows, share = line.split()
        table[name] = (int(rows), share)
    return table


def _check_png(path: Path) -> tuple[int, int]:
    """Assert ``path`` is a complete, decodable PNG; return its size in pixels."""
    assert path.is_file(), f"{path} was not written"
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE), f"{path} is not a PNG"
    with Image.open(path) as image:
        assert image.format == "PNG"
        image.load()  # decodes every pixel: a truncated file raises here
        return image.size


@pytest.mark.slow
def test_demo_prints_the_status_table_and_writes_every_chart(tmp_path, capsys, monkeypatch):
    calls = []
    real_publish = PUBLISH_MODULE.publish

    def recording_publish(frame, app_id, **kwargs):
        status = real_publish(frame, app_id, **kwargs)
        calls.append((frame, kwargs, status))
        return status

    monkeypatch.setattr(PUBLISH_MODULE, "publish", recording_publish)
    out_dir = tmp_path / "charts"  # not there yet: the demo creates it

    assert run_demo(out_dir=out_dir) == 0

    out = capsys.readouterr().out
    [(frame, kwargs, status)] = calls
    assert len(status) == len(frame) == 30_000
    counts = status["status"].value_counts()
    expected_table = {
        name: (int(count), f"{count / len(status):.1%}") for name, count in counts.items() if count
    }
    assert _printed_table(out) == expected_table
    assert f"the sandbox stored {counts['sent']:,} events" in out

    # Independently of the demo's own frame: what validate calls valid is exactly what was sent,
    # and every other row keeps the status validate gave it (no fault in the demo's sandbox).
    options = {k: v for k, v in kwargs.items() if k not in ("client", "progress")}
    assert options["on_stale"] == "skip"
    checked = validate(frame, **options)
    assert checked["status"].value_counts().get("valid", 0) == counts["sent"]
    not_sent = checked["status"] != "valid"
    assert (checked.loc[not_sent, "status"] == status.loc[not_sent, "status"]).all()
    assert set(expected_table) == {"sent", "invalid", "duplicate", "skipped"}

    written = [out_dir / name for name in CHARTS]
    said, listed = out.split("charts of the status frame, written to ", 1)[1].split(":\n", 1)
    assert said == str(out_dir)  # tmp_path is absolute: where the files are, in full
    assert listed.split() == [str(path) for path in written]
    assert sorted(out_dir.iterdir()) == sorted(written)
    sizes = {path.name: _check_png(path) for path in written}
    assert sizes["dashboard.png"] == (1400, 950)  # 14 x 9.5 inches at 100 dpi
    assert all(width > 300 and height > 200 for width, height in sizes.values())


@pytest.mark.slow
def test_demo_renders_with_agg_whatever_backend_the_environment_names(tmp_path):
    # A machine whose matplotlib is configured for a GUI (or a backend that is not installed)
    # must still get its charts: the demo picks Agg before pyplot loads.
    script = (
        "import sys, matplotlib\n"
        "from productiv_pandas.cli._demo import run_demo\n"
        "code = run_demo(out_dir=sys.argv[1])\n"
        "print('backend:', matplotlib.get_backend())\n"
        "sys.exit(code)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRODUCTIV_")}
    env.update(MPLBACKEND="module://no_such_backend", CI="1")
    env.pop("DISPLAY", None)
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].lower() == "backend: agg"
    for name in CHARTS:
        _check_png(tmp_path / name)


@pytest.mark.slow
def test_the_command_writes_to_productiv_demo_in_the_current_directory_by_default(tmp_path):
    # Run from a folder of its own: not the checkout, whose data/ the demo no longer needs.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRODUCTIV_")}
    env["PYTHONPATH"] = str(CHECKOUT)
    result = subprocess.run(
        [sys.executable, "-m", "productiv_pandas", "demo"],
        cwd=tmp_path, capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    folder = tmp_path / "productiv-demo"
    assert f"charts of the status frame, written to {folder}:\n" in result.stdout
    assert sorted(p.name for p in folder.iterdir()) == sorted(CHARTS)
    assert result.stdout.rstrip().splitlines()[-len(CHARTS) :] == [
        f"  productiv-demo/{name}" for name in CHARTS
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["productiv-demo"]


def test_the_default_folder_is_relative_so_it_lands_in_the_current_directory():
    assert Path("productiv-demo") == DEFAULT_OUT_DIR


def test_demo_takes_its_folder_from_out(monkeypatch, tmp_path):
    import productiv_pandas.cli._demo as demo
    from productiv_pandas.cli import main

    calls = []
    monkeypatch.setattr(demo, "run_demo", lambda out_dir=None: calls.append(out_dir) or 0)
    assert main(["demo", "--out", str(tmp_path / "charts")]) == 0
    assert main(["demo"]) == 0
    assert calls == [tmp_path / "charts", None]


def test_help_names_the_generated_sample_not_a_bundled_one(capsys):
    from productiv_pandas.cli import main

    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert "publish a generated sample export to an in-process sandbox" in out
    assert "bundled" not in out


def test_make_demo_writes_to_the_checkouts_git_ignored_out():
    makefile = (CHECKOUT / "Makefile").read_text(encoding="utf-8")
    assert "\t$(BIN)/productiv-pandas demo --out out\n" in makefile
    if not (CHECKOUT / ".git").exists():
        pytest.skip("not a git checkout")
    ignored = subprocess.run(
        ["git", "check-ignore", "--quiet", "out/dashboard.png"], cwd=CHECKOUT, check=False
    )
    assert ignored.returncode == 0, "out/ must be git-ignored: make demo writes its charts there"


def test_committed_dashboard_for_the_readme_is_a_png():
    width, height = _check_png(CHECKOUT / "docs" / "dashboard.png")
    assert (width, height) == (1400, 950)  # what make demo draws: 14 x 9.5 inches at 100 dpi
