"""The publish bar tells the truth (issue 11, point 7): its postfix counts sent, not sent and
left-out rows as they go, its last numbers are the status frame's, and it ends saying when
rows were not sent (description and colour), for a frame (publish) and a file (publish_file).

The bars draw to a StringIO at every update (the private ``_tqdm_options`` of _progress), so
the tests read the very text a terminal would have shown.
"""

from __future__ import annotations

import io
import re

import pandas as pd
import pytest

import productiv_pandas as pp
from productiv_pandas.sending import _progress
from productiv_pandas.sending._progress import Look, RunProgress, final_look, postfix, style_notebook_bar
from tests.helpers.publishing import APP, assert_stored_is_sent, events

YELLOW, RED = "\x1b[33m", "\x1b[31m"  # tqdm's colour codes
STATE = (
    re.compile(  # one drawn line: "publish acme: 33%|###3| 10/30 [00:00<00:00, 145.94row/s, sent=10, ...]"
        r"^(?P<desc>.*?): +\d+%\|(?P<bar>[^|]*)\| (?P<done>\d+)/(?P<total>\d+) "
        r"\[[^\]]*?(?:, (?P<postfix>sent=[^\]]*))?\]$"
    )
)


@pytest.fixture
def drawn(monkeypatch) -> io.StringIO:
    """What the bars draw, every update of it."""
    screen = io.StringIO()
    monkeypatch.setattr(_progress, "_tqdm_options", {"file": screen, "mininterval": 0, "miniters": 1})
    return screen


def states(screen: io.StringIO) -> list[re.Match]:
    """Each state the bar was drawn in, in order (tqdm rewrites its line after a carriage return)."""
    # tqdm pads a shorter line with spaces to cover the longer one it overwrites
    lines = [line.rstrip() for line in re.split(r"[\r\n]", screen.getvalue()) if line.strip()]
    matches = [STATE.match(line) for line in lines]
    assert all(matches), [line for line, match in zip(lines, matches, strict=True) if not match]
    return matches  # type: ignore[return-value]


def postfixes(screen: io.StringIO) -> list[str]:
    """The postfixes drawn, each once, in order."""
    seen: list[str] = []
    for state in states(screen):
        if state["postfix"] and (not seen or seen[-1] != state["postfix"]):
            seen.append(state["postfix"])
    return seen


def frame_30(case: str) -> pd.DataFrame:
    """30 events; in the cases with problems the last three rows are one invalid and a duplicate
    pair, so frame and file (chunks of 10) both send batches of 10, 10 and 8 events."""
    frame = events(30)
    if case != "all sent":
        frame.loc[27, "email"] = "nobody"
        frame.loc[29] = frame.loc[28]
    return frame


# case -> (requests failing with a 500, the final description, its colour code or None, the
# postfixes drawn for a frame (outcome by outcome), then for a file (chunk by chunk))
CASES = {
    "all sent": (0, "publish acme", None,
                 ["sent=0, not sent=0", "sent=10, not sent=0", "sent=20, not sent=0", "sent=30, not sent=0"],
                 ["sent=10, not sent=0", "sent=20, not sent=0", "sent=30, not sent=0"]),
    "some failed": (1, "publish acme (11 not sent)", YELLOW,
                    ["sent=0, not sent=1, left out=1", "sent=0, not sent=11, left out=1",
                     "sent=10, not sent=11, left out=1", "sent=18, not sent=11, left out=1"],
                    ["sent=0, not sent=10", "sent=10, not sent=10", "sent=18, not sent=11, left out=1"]),
    "none sent": (3, "publish acme (29 not sent)", RED,
                  ["sent=0, not sent=1, left out=1", "sent=0, not sent=11, left out=1",
                   "sent=0, not sent=21, left out=1", "sent=0, not sent=29, left out=1"],
                  ["sent=0, not sent=10", "sent=0, not sent=20", "sent=0, not sent=29, left out=1"]),
}  # fmt: skip
EXPECTED_COUNTS = {
    "all sent": {"sent": 30},
    "some failed": {"sent": 18, "failed": 10, "invalid": 1, "duplicate": 1},
    "none sent": {"failed": 28, "invalid": 1, "duplicate": 1},
}


def _final_numbers(text: str) -> dict[str, int]:
    pairs = (part.split("=") for part in text.split(", "))
    return {name: int(value.replace(",", "")) for name, value in pairs}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("how", ["publish", "publish_file"])
def test_the_bar_counts_what_became_of_the_rows_and_ends_saying_so(sb, client, drawn, tmp_path, case, how):
    failing, desc, colour, frame_postfixes, file_postfixes = CASES[case]
    if failing:
        sb.fail_next(failing, 500)
    frame = frame_30(case)
    knobs = dict(client=client, progress=True, batch_size=10, max_workers=1, max_retries=0)
    if how == "publish":
        status = pp.publish(frame, APP, **knobs)
        total = 28 if case != "all sent" else 30
    else:
        path, out = tmp_path / "events.csv", tmp_path / "status.csv"
        frame.to_csv(path, index=False)
        report = pp.publish_file(path, APP, status_out=out, chunksize=10, **knobs)
        status = pd.read_csv(out, index_col=0)
        assert report.counts[report.counts > 0].to_dict() == EXPECTED_COUNTS[case]
        total = 30
    counts = status["status"].value_counts().reindex(pp.STATUSES, fill_value=0)
    assert counts[counts > 0].to_dict() == EXPECTED_COUNTS[case]
    assert_stored_is_sent(sb, status)

    assert postfixes(drawn) == (frame_postfixes if how == "publish" else file_postfixes)
    last = states(drawn)[-1]
    assert (last["desc"], last["done"], last["total"]) == (desc, str(total), str(total))
    assert (YELLOW in last["bar"], RED in last["bar"]) == (colour == YELLOW, colour == RED)
    # The last numbers are the status frame's: sent, not sent (invalid + rejected + failed),
    # left out (duplicate + skipped).
    shown = _final_numbers(last["postfix"])
    assert shown["sent"] == counts["sent"]
    assert shown["not sent"] == counts[["invalid", "rejected", "failed"]].sum()
    assert shown.get("left out", 0) == counts[["duplicate", "skipped"]].sum()
    # Only the finished bar changes its description and colour.
    assert all(
        state["desc"] == "publish acme" and "\x1b[" not in state["bar"] for state in states(drawn)[:-1]
    )


def test_rows_the_journal_already_holds_are_counted_left_out(sb, client, drawn, tmp_path):
    frame = events(20)
    journal = tmp_path / "acme.journal"
    pp.publish(frame.iloc[:15], APP, client=client, journal=journal, progress=False)
    status = pp.publish(frame, APP, client=client, journal=journal, progress=True, batch_size=10)
    assert status["status"].value_counts()[["sent", "skipped"]].tolist() == [5, 15]
    assert postfixes(drawn) == ["sent=0, not sent=0, left out=15", "sent=5, not sent=0, left out=15"]
    last = states(drawn)[-1]
    assert (last["desc"], last["done"], last["total"]) == ("publish acme", "5", "5")


def test_ctrl_c_ends_the_bar_with_the_interrupted_rows_not_sent(sb, client, drawn, monkeypatch):
    from productiv_pandas.sending import _publish

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(_publish, "send_all", interrupted)
    with pytest.raises(pp.PublishInterrupted):
        pp.publish(events(12), APP, client=client, progress=True)
    last = states(drawn)[-1]
    assert (last["desc"], last["postfix"]) == ("publish acme (12 not sent)", "sent=0, not sent=12")
    assert RED in last["bar"]


def test_no_bar_is_drawn_without_progress(sb, client, drawn):
    pp.publish(events(5), APP, client=client, progress=False)
    assert drawn.getvalue() == ""


@pytest.mark.parametrize(
    ("counts", "text"),
    [
        ({}, "sent=0, not sent=0"),
        ({"sent": 2000, "invalid": 1000, "rejected": 1500, "failed": 500}, "sent=2,000, not sent=3,000"),
        ({"sent": 5, "duplicate": 1, "skipped": 1234}, "sent=5, not sent=0, left out=1,235"),
        (pd.Series({"valid": 7, "sent": 1, "failed": 0}), "sent=1, not sent=0"),
    ],
)
def test_postfix(counts, text):
    assert postfix(counts) == text


@pytest.mark.parametrize(
    ("counts", "look"),
    [
        ({"sent": 92_394}, Look("", None, "success")),
        ({"sent": 3, "duplicate": 2, "skipped": 1}, Look("", None, "success")),  # left out on purpose
        ({}, Look("", None, "success")),
        ({"sent": 81_394, "failed": 11_000}, Look(" (11,000 not sent)", "yellow", "warning")),
        ({"sent": 1, "invalid": 1, "rejected": 1}, Look(" (2 not sent)", "yellow", "warning")),
        ({"failed": 3_000, "duplicate": 4}, Look(" (3,000 not sent)", "red", "danger")),
    ],
)
def test_final_look(counts, look):
    assert final_look(counts) == look


class _NotebookBar:
    """A stand-in for a tqdm.notebook bar (ipywidgets may be absent): its widget style, and its
    close making that "success" as tqdm.notebook's does when the bar reached its total."""

    def __init__(self) -> None:
        self.container = object()
        self.bar_style = ""
        self.colour = None
        self.desc = self.postfix = ""
        self.closed = False

    def set_postfix_str(self, text, refresh=True):
        self.postfix = text

    def set_description_str(self, text, refresh=True):
        self.desc = text

    def close(self):
        self.closed = True
        self.disp(bar_style="success", check_delay=False)

    def disp(self, bar_style=None, check_delay=True):
        if bar_style and (self.bar_style != "danger" or bar_style != "success"):
            self.bar_style = bar_style


@pytest.mark.parametrize(
    ("counts", "desc", "bar_style"),
    [
        ({"sent": 10, "duplicate": 1}, "publish acme", "success"),
        ({"sent": 10, "failed": 1_000}, "publish acme (1,000 not sent)", "warning"),
        ({"rejected": 10}, "publish acme (10 not sent)", "danger"),
    ],
)
def test_a_notebook_bar_ends_in_the_widget_style_of_its_rows(counts, desc, bar_style):
    progress = RunProgress(None, unit="event", desc="publish acme", show=False)
    progress.shown = True
    progress.bar = notebook = _NotebookBar()  # type: ignore[assignment]
    progress.finish(counts)
    assert (notebook.closed, notebook.desc, notebook.bar_style) == (True, desc, bar_style)
    assert notebook.colour is None  # the widget's colour would hide its style


def test_a_terminal_bar_is_not_given_a_widget_style():
    class Terminal:
        def disp(self, **kwargs):
            raise AssertionError("a terminal bar has no widget")

    style_notebook_bar(Terminal(), final_look({"failed": 1}))
