"""The analyst notebooks: committed clean, and each one runs top to bottom against the sandbox.

Each notebook is read into memory and executed there by nbclient on a kernel of this Python
(the project's .venv), with notebooks/ as the working directory as in Jupyter; nothing is ever
written back, and a test checks that the file on disk is byte for byte what it was.
"""

from __future__ import annotations

import hashlib
import re
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

pytestmark = pytest.mark.slow  # each notebook runs on a kernel of its own

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
#: Seconds one cell may run; a notebook takes a few seconds in all.
CELL_TIMEOUT = 120
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _ids(paths: list[Path]) -> list[str]:
    return [path.stem for path in paths]


def test_the_notebooks_of_the_issue_are_there():
    names = {path.name for path in NOTEBOOKS}
    assert {"01_quickstart.ipynb", "02_data_quality.ipynb", "03_backfill.ipynb"} <= names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_is_committed_without_outputs(path: Path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    dirty = [
        f"cell {index}: {len(cell.outputs)} output(s), execution_count {cell.execution_count}"
        for index, cell in enumerate(notebook.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert not dirty, (
        f"{path.name} carries outputs; clear them before committing "
        f"(jupyter nbconvert --clear-output --inplace {path.name}):\n" + "\n".join(dirty)
    )
    # Widget state is an output too, kept in the notebook's metadata.
    assert "widgets" not in notebook.metadata, f"{path.name} carries widget state in its metadata"


def _execute(notebook: nbformat.NotebookNode, name: str) -> None:
    """Run ``notebook`` in place (in memory) from notebooks/; fail the test with the cell's error."""
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT,
        startup_timeout=60,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
    )
    try:
        client.execute()
    except CellExecutionError as exc:  # its text holds the cell's source and the traceback
        pytest.fail(f"{name} failed:\n{_ANSI.sub('', str(exc))}", pytrace=False)


@pytest.fixture(autouse=True)
def _kernel_of_this_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The kernelspec "python3" of this environment before any of the user's: its "python" is
    then replaced by this interpreter, so notebooks run on the .venv that has the project."""
    monkeypatch.setenv("JUPYTER_PREFER_ENV_PATH", "1")


def test_the_kernel_is_this_python_and_a_failing_cell_shows_its_error():
    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("import os, sys\nprint(sys.executable)\nprint(os.getcwd())"),
            nbformat.v4.new_code_cell("rows = 3\nraise ValueError(f'{rows} rows went missing')"),
        ]
    )
    with pytest.raises(pytest.fail.Exception) as failure:
        _execute(notebook, "broken.ipynb")
    shown = str(failure.value)
    assert "broken.ipynb failed" in shown
    assert "raise ValueError(f'{rows} rows went missing')" in shown  # the cell's source
    assert "ValueError: 3 rows went missing" in shown  # and its error, without colour codes
    assert "\x1b[" not in shown
    printed = notebook.cells[0].outputs[0].text.splitlines()
    assert printed == [sys.executable, str(NOTEBOOK_DIR)]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_executes(path: Path):
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    notebook = nbformat.read(path, as_version=4)
    _execute(notebook, path.name)
    ran = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert ran, f"{path.name} has no code cell"
    assert all(cell.execution_count is not None for cell in ran), "every code cell ran"
    errors = [out for cell in ran for out in cell.outputs if out.output_type == "error"]
    assert not errors, f"{path.name}: {errors}"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before, f"{path.name} was rewritten"
