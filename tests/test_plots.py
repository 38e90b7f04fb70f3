"""Charts of the status frame: what is drawn matches the frame (heights, labels, colours, lines)."""

from __future__ import annotations

import doctest
import io
import subprocess
import sys
import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.transforms import Bbox

import productiv_pandas as pp
from productiv_pandas import plots
from productiv_pandas.status import STATUSES

NOW = pd.Timestamp("2024-05-01 12:00", tz="UTC")
NOW_MS = NOW.value // 1_000_000
HOUR_MS = 3_600_000
EVENTS = {"open", "edit", "sso_login"}


def _validate(frame: pd.DataFrame, **options) -> pd.DataFrame:
    options = {"now": NOW, "allowed_events": EVENTS, "login_events": {"sso_login"}} | options
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pp.StaleEventWarning)
        return pp.validate(frame, **options)


def _messy_export() -> pd.DataFrame:
    rows = [
        (NOW_MS - 1 * HOUR_MS, "a@x.com", "open", None),  # valid
        (NOW_MS - 1 * HOUR_MS + 5, "b@x.com", "open", None),  # valid
        (NOW_MS - 2 * HOUR_MS, "c@x.com", "edit", None),  # valid
        (NOW_MS - 2 * HOUR_MS, "d@x.com", "sso_login", "DocHub"),  # valid
        (NOW_MS - 13 * HOUR_MS, "e@x.com", "open", None),  # valid, stale
        (NOW_MS - 20 * HOUR_MS, "f@x.com", "edit", None),  # valid, stale
        (NOW_MS - 1 * HOUR_MS, "a@x.com", "open", None),  # duplicate of row 0
        (NOW_MS - 3 * HOUR_MS, "bob@", "open", None),  # email has no domain
        (NOW_MS - 3 * HOUR_MS, "ann@", "edit", None),  # email has no domain
        (NOW_MS - 14 * HOUR_MS, "carl@", "open", None),  # email has no domain, stale
        (NOW_MS - 2 * HOUR_MS, "g@x.com", "opne", None),  # typo in eventName
        (NOW_MS - 2 * HOUR_MS, "h i@x.com", "sso_login", None),  # whitespace + Login without target
        (NOW_MS // 1000, "j@x.com", "open", None),  # seconds read as ms: before 2000, stale
        (946_684_700_000, "k@x.com", "open", None),  # 1999-12-31: before 2000, stale
        (None, "l@x.com", "open", None),  # missing timestamp
    ]
    return pd.DataFrame(rows, columns=["timestamp", "email", "eventName", "targetApp"])


@pytest.fixture
def validated() -> pd.DataFrame:
    return _validate(_messy_export(), on_stale="ignore")


@pytest.fixture
def published(validated: pd.DataFrame) -> pd.DataFrame:
    """A publish-like status frame: statuses set by hand on a validate() result."""
    status = validated.copy()
    status.loc[[0, 1, 2, 4], "status"] = "sent"
    status.loc[[3, 5], "status"] = "rejected"
    status.loc[3, "reason"] = "HTTP 422: event 'sso_login' unknown; check the mapping"
    status.loc[5, "reason"] = "HTTP 422: payload invalid"
    status.loc[[3, 5], "problem"] = "http.422"
    status.loc[[10], "status"] = "failed"
    status.loc[10, "reason"] = "interrupted"
    status.loc[10, "problem"] = "interrupted"
    status.loc[[11], "status"] = "failed"
    status.loc[11, "reason"] = "not attempted: the API answered HTTP 403 (forbidden) to an earlier batch"
    status.loc[11, "problem"] = "not_attempted"
    status.loc[[7], "status"] = "skipped"
    status.loc[7, "reason"] = "stale: 13.0 hours old; only events pushed within 12 hours are guaranteed"
    status.loc[7, "problem"] = "stale"
    status.loc[[0, 1, 2, 4], "problem"] = None
    return status


@pytest.fixture
def all_valid() -> pd.DataFrame:
    frame = _messy_export().iloc[:4]
    return _validate(frame)


@pytest.fixture
def empty() -> pd.DataFrame:
    return _validate(_messy_export().iloc[:0])


NOW_MIX = pd.Timestamp("2024-05-01 12:30", tz="UTC")  # half past: the last hour is partial
#: The problem codes given to the rows of each status, in turn (the longest codes among them).
MIX_CODES = {
    "invalid": ["targetApp.missing_for_login", "eventName.not_in_mapping", "timestamp.unit",
                "email.whitespace", "email.no_domain", "timestamp.nonexistent_local_time",
                "eventName.control_character", "targetApp.control_character", "timestamp.invalid_unicode",
                "email.control_character"],
    "rejected": ["http.422", "http.unexpected_answer"],
    "failed": ["http.503", "credentials_refused"],
    "skipped": ["stale"],
    "duplicate": ["duplicate"],
}  # fmt: skip


def _mix(counts: dict[str, int], stale: dict[str, int] | None = None) -> pd.DataFrame:
    """A status frame built directly: ``counts`` rows per status, the first ``stale[status]`` of
    them stale (13 to 61 hours before NOW_MIX), the others spread over the 12 hours before it."""
    parts = []
    for name in STATUSES:
        i = np.arange(counts.get(name, 0))
        late = i < (stale or {}).get(name, 0)
        minutes = np.where(late, 13 * 60 + (i * 7919) % (48 * 60), (i * 104_729) % (12 * 60))
        pool = MIX_CODES.get(name)
        codes = np.array(pool, dtype=object)[i % len(pool)] if pool else np.full(len(i), None, dtype=object)
        reasons = [pp.PROBLEMS[code] if code else None for code in codes]
        parts.append(pd.DataFrame({
            "timestamp": NOW_MIX.value // 1_000_000 - minutes * 60_000, "status": name,
            "reason": reasons, "problem": codes, "stale": late,
        }))  # fmt: skip
    frame = pd.concat(parts, ignore_index=True)
    return frame.astype({"timestamp": "Int64", "status": pd.CategoricalDtype(list(STATUSES))})


MIXES = {
    "five": _mix(
        {"sent": 23_000, "invalid": 462, "duplicate": 660, "skipped": 3_869, "failed": 2_009},
        {"invalid": 92, "duplicate": 19, "skipped": 3_869},
    ),
    "sent99": _mix({"sent": 99_000, "invalid": 600, "failed": 400}, {"invalid": 50}),
    "only_sent": _mix({"sent": 5_000}),
    "only_invalid": _mix({"invalid": 40}, {"invalid": 10}),
    "all_stale": _mix({"valid": 300, "invalid": 20}, {"valid": 300, "invalid": 20}),
    "one_row": _mix({"failed": 1}),
    "empty": _mix({}),
    "long_reasons": _mix({"invalid": 1_300, "rejected": 400, "failed": 7}),
    "seven": _mix(
        {name: 10 ** (i % 5 + 1) for i, name in enumerate(STATUSES)}, {"skipped": 1_000, "valid": 3}
    ),
}


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _present(status: pd.DataFrame) -> list[str]:
    counts = status["status"].value_counts()
    return [name for name in STATUSES if counts.get(name, 0)]


def _colors(container) -> list[tuple[float, ...]]:
    return [tuple(bar.get_facecolor()) for bar in container]


def _tick_labels(ax, axis: str = "x") -> list[str]:
    ticks = ax.get_xticklabels() if axis == "x" else ax.get_yticklabels()
    return [tick.get_text() for tick in ticks]


# -- the palette ----------------------------------------------------------------------------


def test_one_distinct_fixed_colour_per_status():
    assert tuple(plots.STATUS_COLORS) == STATUSES
    rgba = {to_rgba(color) for color in plots.STATUS_COLORS.values()}
    assert len(rgba) == len(STATUSES)
    with pytest.raises(TypeError):
        plots.STATUS_COLORS["valid"] = "red"  # type: ignore[index]


# -- rows per status ------------------------------------------------------------------------


def _label_column(ax) -> list[str]:
    return [text.get_text() for text in ax.texts]


@pytest.mark.parametrize("frame", ["validated", "published"])
def test_status_bars_are_the_value_counts_with_stale_inner_bars(frame, request):
    status = request.getfixturevalue(frame)
    ax = plots.plot_status(status)
    present = _present(status)
    rows, stale = ax.containers
    assert _tick_labels(ax, "y") == present
    assert [bar.get_width() for bar in rows] == status["status"].value_counts()[present].tolist()
    expected_stale = status.loc[status["stale"], "status"].value_counts().reindex(present, fill_value=0)
    assert [bar.get_width() for bar in stale] == expected_stale.tolist()
    assert all(inner.get_height() < outer.get_height() for inner, outer in zip(stale, rows, strict=True))
    assert all(bar.get_hatch() for bar in stale)
    assert not any(bar.get_hatch() for bar in rows)
    assert _colors(rows) == _colors(stale) == [to_rgba(plots.STATUS_COLORS[s]) for s in present]
    assert ax.get_xscale() == "log"
    assert ax.yaxis_inverted()  # STATUSES order, top down
    counts = status["status"].value_counts()
    assert [label.split(" (")[0] for label in _label_column(ax)] == [f"{counts[s]:,}" for s in present]
    assert ax.get_title() == f"Rows per status ({len(status)} rows)"
    assert ax.get_xlabel() == "rows (log scale)"
    assert [text.get_text() for text in ax.get_legend().get_texts()] == ["stale (older than 12 h)"]


def test_status_chart_of_the_messy_export_in_numbers(validated):
    ax = plots.plot_status(validated)
    assert _tick_labels(ax, "y") == ["valid", "invalid", "duplicate"]
    valid, invalid, duplicate = _label_column(ax)
    assert (valid, duplicate) == ("6 (40.0%), 2 stale", "1 (6.7%)")
    assert invalid.startswith("8 (53.3%), ")  # its stale count follows `stale`'s definition


def test_status_labels_give_the_share_and_the_stale_rows():
    ax = plots.plot_status(MIXES["five"])
    assert _tick_labels(ax, "y") == ["sent", "invalid", "duplicate", "skipped", "failed"]
    assert _label_column(ax) == [
        "23,000 (76.7%)", "462 (1.5%), 92 stale", "660 (2.2%), 19 stale",
        "3,869 (12.9%), all stale", "2,009 (6.7%)",
    ]  # fmt: skip
    ax = plots.plot_status(MIXES["sent99"])
    assert _label_column(ax) == ["99,000 (99.0%)", "600 (0.6%), 50 stale", "400 (0.4%)"]
    ax = plots.plot_status(_mix({"sent": 99_990, "failed": 10}))
    assert _label_column(ax) == ["99,990 (>99.9%)", "10 (<0.1%)"]
    ax = plots.plot_status(MIXES["only_sent"])
    assert _label_column(ax) == ["5,000 (100%)"]
    assert plots.plot_status(MIXES["one_row"]).get_title() == "Rows per status (1 row)"
    assert ax.get_legend() is None  # nothing stale, nothing to explain


def test_a_small_status_stays_visible_beside_a_large_one():
    ax = plots.plot_status(_mix({"sent": 99_000, "failed": 1}))
    left, right = ax.get_xlim()
    _sent, failed = ax.containers[0]
    share = np.log(failed.get_width() / left) / np.log(right / left)  # 1e-5 on a linear axis
    assert 0.04 < share < np.log(99_000 / left) / np.log(right / left) < 1
    ticks = ax.get_xticks()
    assert left <= ticks.min()  # tick labels only inside the axes
    assert ticks.max() <= right
    assert _tick_labels(ax) == ["1", "10", "100", "1k", "10k", "100k", "1M"]


def test_status_chart_of_all_valid_and_empty_frames(all_valid, empty):
    ax = plots.plot_status(all_valid)
    (rows, stale) = ax.containers
    assert _tick_labels(ax, "y") == ["valid"]
    assert [bar.get_width() for bar in rows] == [4]
    assert [bar.get_width() for bar in stale] == [0]
    assert _label_column(ax) == ["4 (100%)"]
    assert ax.get_legend() is None
    ax = plots.plot_status(empty)
    assert ax.containers == []
    assert _tick_labels(ax, "y") == []
    assert [text.get_text() for text in ax.texts] == ["no rows"]
    assert ax.get_title() == "Rows per status (0 rows)"


# -- rows over time -------------------------------------------------------------------------


def _window_bins(now: pd.Timestamp = NOW, count: int = 13, freq: str = "h") -> pd.DatetimeIndex:
    last = now.tz_localize(None).floor(freq)
    return pd.date_range(end=last, periods=count, freq=freq)


def _expected_per_hour(status: pd.DataFrame, now: pd.Timestamp = NOW) -> pd.DataFrame:
    """Rows per hour and status over the 13 hours of the window (the 12 h before now)."""
    ms = status["timestamp"]
    hours = pd.to_datetime(ms[ms.notna()].astype("int64"), unit="ms").dt.floor("h")
    table = pd.crosstab(hours.to_numpy(), status.loc[ms.notna(), "status"].astype(str).to_numpy())
    table = table.reindex(_window_bins(now), fill_value=0)
    return table.loc[:, table.sum() > 0]


def _texts(ax) -> list[str]:
    return [text.get_text() for text in ax.get_legend().get_texts()]


def _one_line(text: str) -> str:
    return text.replace("\n", " ")


@pytest.mark.parametrize("frame", ["validated", "published"])
def test_timeline_bars_count_rows_per_hour_and_status_in_the_12_hours_before_now(frame, request):
    status = request.getfixturevalue(frame)
    ax = plots.plot_timeline(status, now=NOW)
    expected = _expected_per_hour(status)
    drawn = {container.get_label(): container for container in ax.containers}
    assert list(drawn) == [name for name in STATUSES if name in expected.columns]
    for name, container in drawn.items():
        assert _colors(container) == [to_rgba(plots.STATUS_COLORS[name])] * 13
        x = [bar.get_x() for bar in container]
        assert x == pytest.approx(mdates.date2num(expected.index.to_numpy()))
        assert [bar.get_width() for bar in container] == pytest.approx([1 / 24] * 13)
        assert [bar.get_height() for bar in container] == expected[name].tolist()
    # now is 12:00 sharp: its hour holds no row, so no bar is marked partial
    assert _texts(ax) == [*drawn, "staleness limit (now - 12 h)", "now"]
    assert _one_line(ax.get_xlabel()) == (
        "event time (UTC), 2024-05-01 00:00 to 13:00; not shown: 3 earlier (the oldest at 2024-04-30 16:00), "
        "2 before 2000 or over a day after now, 1 without a readable timestamp"
    )
    assert ax.get_title() == "Rows per hour by status"
    assert ax.get_ylabel() == "rows per hour"
    left, right = ax.get_xlim()
    assert (
        mdates.num2date(left)
        < NOW - pd.Timedelta(hours=12)
        < NOW + pd.Timedelta(hours=1)
        < mdates.num2date(right)
    )
    assert right - left < 14 / 24  # the window, not days of stale rows


def test_timeline_stacks_statuses_within_an_hour(validated):
    ax = plots.plot_timeline(validated, now=NOW)
    tops: dict[float, float] = {}
    for container in ax.containers:
        for bar in container:
            assert bar.get_y() == tops.get(bar.get_x(), 0)  # each segment starts where the last ended
            tops[bar.get_x()] = bar.get_y() + bar.get_height()
    assert sum(tops.values()) == 9  # 15 rows less one missing, two before 2000, three earlier


def test_timeline_marks_the_partial_hour_and_summarizes_rows_outside():
    now = pd.Timestamp("2024-05-01 12:30", tz="UTC")
    at = now.value // 1_000_000
    rows = [at - 10 * 60_000, at - HOUR_MS, at - HOUR_MS, at - 30 * HOUR_MS, at - 50 * HOUR_MS,
            at + 2 * HOUR_MS, at + 72 * HOUR_MS, 1_714_564_800, None]  # fmt: skip
    frame = _validate(pd.DataFrame({"timestamp": rows, "email": [f"{i}@x.com" for i in range(9)],
                                    "eventName": ["open"] * 9}), now=now, on_stale="ignore")  # fmt: skip
    ax = plots.plot_timeline(frame, now=now)
    heights = [[bar.get_height() for bar in container] for container in ax.containers]
    assert heights == [[0] * 11 + [2, 1]]  # valid only: the invalid rows are all outside
    hatched = [[bool(bar.get_hatch()) for bar in container] for container in ax.containers]
    assert hatched == [[False] * 12 + [True]]
    assert _texts(ax) == ["valid", "partial hour (up to now)", "staleness limit (now - 12 h)", "now"]
    assert _one_line(ax.get_xlabel()) == (
        "event time (UTC), 2024-05-01 00:00 to 13:00; not shown: 2 earlier (the oldest at 2024-04-29 10:30), "
        "1 later (the newest at 2024-05-01 14:30), 2 before 2000 or over a day after now, "
        "1 without a readable timestamp"
    )


def test_timeline_of_rows_all_older_than_the_window_shows_the_12_hours_before_the_newest():
    ax = plots.plot_timeline(MIXES["all_stale"], now=NOW_MIX)
    newest = pd.Timestamp(int(MIXES["all_stale"]["timestamp"].max()), unit="ms")
    assert _one_line(ax.get_title()) == (
        "Rows per hour by status every row is older than the 12 h before now: "
        f"the 12 h up to the newest row ({newest:%Y-%m-%d %H:%M})"
    )
    x = [bar.get_x() for bar in ax.containers[0]]
    assert x == pytest.approx(mdates.date2num(_window_bins(newest.tz_localize("UTC")).to_numpy()))
    assert _texts(ax) == ["valid", "invalid"]  # no now, no limit: they are not in the window
    assert ax.get_lines() == []
    assert not any(bar.get_hatch() for container in ax.containers for bar in container)
    first = newest.floor("h") - pd.Timedelta(hours=12)
    assert _one_line(ax.get_xlabel()).startswith(f"event time (UTC), {first:%Y-%m-%d %H:%M} to ")
    times = pd.to_datetime(MIXES["all_stale"]["timestamp"].astype("int64"), unit="ms")
    shown = (times >= first).sum()
    assert sum(bar.get_height() for container in ax.containers for bar in container) == shown
    assert f"; not shown: {320 - shown} earlier (the oldest at {times.min():%Y-%m-%d %H:%M})" in _one_line(
        ax.get_xlabel()
    )


def _vertical_line(ax, label: str) -> float:
    (line,) = [line for line in ax.get_lines() if line.get_label() == label]
    xs = set(np.atleast_1d(line.get_xdata()))
    assert len(xs) == 1
    return xs.pop()


@pytest.mark.parametrize(
    "now", [NOW, NOW.tz_convert("Europe/Paris"), "2024-05-01 12:00", NOW.to_pydatetime()]
)
def test_timeline_draws_the_staleness_limit_at_now_minus_12_hours(validated, now):
    ax = plots.plot_timeline(validated, now=now)
    limit = _vertical_line(ax, "staleness limit (now - 12 h)")
    assert limit == pytest.approx(mdates.date2num(NOW - pd.Timedelta(hours=12)))
    assert _vertical_line(ax, "now") == pytest.approx(mdates.date2num(NOW))
    stale = validated.loc[validated["stale"] & validated["timestamp"].gt(946_684_800_000), "timestamp"]
    assert (mdates.date2num(pd.to_datetime(stale.astype("int64"), unit="ms")) < limit).all()


def test_timeline_now_defaults_to_the_current_time(empty):
    before = pd.Timestamp.now(tz="UTC")
    ax = plots.plot_timeline(empty)
    after = pd.Timestamp.now(tz="UTC")
    drawn = _vertical_line(ax, "now")
    assert mdates.date2num(before) <= drawn <= mdates.date2num(after)


def test_timeline_by_day_quarter_hour_and_a_bad_freq(validated):
    ax = plots.plot_timeline(validated, now=NOW, freq="D")
    assert ax.get_title() == "Rows per day by status"
    heights = [bar.get_height() for container in ax.containers for bar in container]
    assert sum(heights) == 12  # 12 days: every row with a timestamp from 2000 on
    assert [bar.get_x() for bar in ax.containers[0]] == pytest.approx(
        mdates.date2num(_window_bins(count=12, freq="D").to_numpy())
    )
    assert {bar.get_width() for c in ax.containers for bar in c} == {1.0}
    ax = plots.plot_timeline(validated, now=NOW, freq="15min")
    assert ax.get_title() == "Rows per 15min interval by status"
    assert len(ax.containers[0]) == 49  # 12 h of quarters, and the quarter of now
    assert sum(bar.get_height() for container in ax.containers for bar in container) == 9
    with pytest.raises(ValueError, match="freq must be a fixed interval"):
        plots.plot_timeline(validated, now=NOW, freq="MS")


def test_timeline_of_empty_and_all_valid_frames(empty, all_valid):
    ax = plots.plot_timeline(empty, now=NOW)
    assert sum(bar.get_height() for container in ax.containers for bar in container) == 0
    assert "no rows with a timestamp to place" in [text.get_text() for text in ax.texts]
    left, right = ax.get_xlim()
    assert left < _vertical_line(ax, "staleness limit (now - 12 h)") < _vertical_line(ax, "now") < right
    assert right - left < 1  # the window around now, not matplotlib's default span
    ax = plots.plot_timeline(all_valid, now=NOW)
    assert [container.get_label() for container in ax.containers] == ["valid"]
    assert sum(bar.get_height() for bar in ax.containers[0]) == 4
    assert "not shown" not in ax.get_xlabel()


# -- reasons --------------------------------------------------------------------------------


def _reason_bars(ax) -> dict[str, dict[str, float]]:
    """{kind: {status: rows}} as drawn."""
    kinds = [label.replace("\n", "") for label in _tick_labels(ax, "y")]  # long codes are wrapped
    drawn: dict[str, dict[str, float]] = {kind: {} for kind in kinds}
    for container in ax.containers:
        for kind, bar in zip(kinds, container, strict=True):
            if bar.get_width():
                drawn[kind][container.get_label()] = bar.get_width()
    return drawn


def test_reasons_are_grouped_by_problem_code_not_by_value(validated):
    ax = plots.plot_reasons(validated)
    drawn = _reason_bars(ax)
    assert drawn == {
        "email.no_domain": {"invalid": 3},  # bob@, ann@, carl@: one bar of 3
        "targetApp.missing_for_login": {"invalid": 1},
        "email.whitespace": {"invalid": 1},
        "eventName.not_in_mapping": {"invalid": 1},
        "timestamp.before_2000": {"invalid": 1},
        "timestamp.unit": {"invalid": 1},
        "timestamp.missing": {"invalid": 1},
    }
    assert list(drawn) == [  # most frequent first, at the top; ties by code
        "email.no_domain",
        "email.whitespace",
        "eventName.not_in_mapping",
        "targetApp.missing_for_login",  # the second problem of row 11 (from problems())
        "timestamp.before_2000",
        "timestamp.missing",
        "timestamp.unit",
    ]
    assert ax.yaxis_inverted()
    assert [container.get_label() for container in ax.containers] == ["invalid"]
    assert _colors(ax.containers[0]) == [to_rgba(plots.STATUS_COLORS["invalid"])] * len(drawn)
    assert next(text.get_text() for text in ax.texts) == "3"
    assert ax.get_ylabel() == "problem"
    assert ax.get_xlabel().startswith("rows")


def test_problem_counts_of_the_messy_export(validated):
    table = plots.count_problems(validated)
    assert list(table.columns) == ["invalid", "rejected", "failed"]
    assert table.loc["email.no_domain", "invalid"] == 3
    assert table["invalid"].to_dict() == {
        "email.no_domain": 3,
        "targetApp.missing_for_login": 1,
        "email.whitespace": 1,
        "eventName.not_in_mapping": 1,
        "timestamp.before_2000": 1,
        "timestamp.unit": 1,
        "timestamp.missing": 1,
    }
    assert table.sum(axis=1).is_monotonic_decreasing


def test_reasons_of_a_published_frame_are_coloured_by_status(published):
    ax = plots.plot_reasons(published)
    drawn = _reason_bars(ax)
    assert drawn["http.422"] == {"rejected": 2}  # two different server messages, one kind
    assert drawn["interrupted"] == {"failed": 1}
    assert drawn["not_attempted"] == {"failed": 1}
    assert "stale" not in drawn  # skipped rows are not problems
    assert [container.get_label() for container in ax.containers] == ["invalid", "rejected", "failed"]
    for container in ax.containers:
        assert set(_colors(container)) == {to_rgba(plots.STATUS_COLORS[container.get_label()])}
    legend = [text.get_text() for text in ax.get_legend().get_texts()]
    assert legend == ["invalid", "rejected", "failed"]
    assert ax.get_title() == "Most frequent problems (invalid, rejected and failed rows)"


@pytest.mark.parametrize(
    ("mix", "title"),
    [
        ("five", "Most frequent problems (invalid and failed rows)\ntop 10 of 12 problems"),
        ("only_invalid", "Most frequent problems (invalid rows)"),
        ("one_row", "Most frequent problems (failed rows)"),
        ("only_sent", "Most frequent problems"),
        ("long_reasons", "Most frequent problems (invalid and rejected rows)\ntop 10 of 14 problems"),
        ("seven", "Most frequent problems (invalid rows)\ntop 10 of 14 problems"),  # the rest: not drawn
    ],
)
def test_reasons_title_names_the_statuses_drawn(mix, title):
    ax = plots.plot_reasons(MIXES[mix])
    assert ax.get_title() == title
    drawn = [container.get_label() for container in ax.containers]
    assert (ax.get_legend() is None) == (not drawn)
    if drawn:
        assert _texts(ax) == drawn


def test_long_problem_codes_are_wrapped_not_cut():
    _fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
    plots.plot_reasons(MIXES["long_reasons"], ax=ax, top=14)
    labels = _tick_labels(ax, "y")
    assert "timestamp.\nnonexistent_local_time" in labels  # broken after the field
    assert "..." not in "".join(labels)
    assert "…" not in "".join(labels)
    assert {label.replace("\n", "") for label in labels} <= set(pp.PROBLEMS)


def test_reasons_top_and_statuses(published):
    ax = plots.plot_reasons(published, top=2)
    assert len(_tick_labels(ax, "y")) == 2
    problems = len(plots.count_problems(published))
    assert (
        ax.get_title() == f"Most frequent problems (invalid and rejected rows)\ntop 2 of {problems} problems"
    )
    ax = plots.plot_reasons(published, statuses=["skipped"])
    assert _reason_bars(ax) == {"stale": {"skipped": 1}}
    with pytest.raises(ValueError, match="top must be"):
        plots.plot_reasons(published, top=0)
    with pytest.raises(ValueError, match="statuses must be among"):
        plots.plot_reasons(published, statuses=["broken"])


def test_reasons_of_all_valid_and_empty_frames(all_valid, empty):
    for status in (all_valid, empty):
        ax = plots.plot_reasons(status)
        assert ax.containers == []
        assert _tick_labels(ax, "y") == []
        assert [_one_line(text.get_text()) for text in ax.texts] == [
            "no invalid, rejected or failed rows: nothing to explain"
        ]
        assert ax.get_title() == "Most frequent problems"
        assert ax.get_legend() is None


# -- the dashboard, the entry point, colours across charts ---------------------------------


def _colours_by_status(ax) -> dict[str, set[tuple[float, ...]]]:
    """Every colour each status is drawn in on one chart."""
    seen: dict[str, set[tuple[float, ...]]] = {}
    for container in ax.containers:
        by_tick = container.get_label() in ("rows", "stale")  # plot_status: one status a bar
        for i, bar in enumerate(container):
            name = _tick_labels(ax, "y")[i] if by_tick else container.get_label()
            seen.setdefault(name, set()).add(tuple(bar.get_facecolor()))
    return seen


@pytest.mark.slow
@pytest.mark.parametrize("frame", ["validated", "published"])
def test_dashboard_combines_the_three_charts_in_the_same_colours(frame, request):
    status = request.getfixturevalue(frame)
    fig = plots.plot_dashboard(status, now=NOW)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[0].startswith("Rows per status")
    assert titles[1].startswith("Most frequent problems")
    assert titles[2] == "Rows per hour by status"
    charts = [_colours_by_status(ax) for ax in fig.axes]
    assert all("invalid" in chart for chart in charts)  # one status seen on all three charts
    for chart in charts:
        for name, colours in chart.items():
            assert colours == {to_rgba(plots.STATUS_COLORS[name])}, name
    assert set(charts[0]) == set(_present(status))
    counts = status["status"].value_counts()
    for name in _present(status):
        assert f"{counts[name]} {name}" in fig.get_suptitle()
    fig.savefig(io.BytesIO(), format="png")  # renders end to end


def test_colours_are_the_same_on_separate_charts(published):
    colours = {}
    for chart in (plots.plot_status, plots.plot_timeline, plots.plot_reasons):
        for name, seen in _colours_by_status(chart(published)).items():
            colours.setdefault(name, set()).update(seen)
    assert colours == {name: {to_rgba(plots.STATUS_COLORS[name])} for name in _present(published)}


@pytest.mark.slow
def test_dashboard_of_empty_and_all_valid_frames(empty, all_valid):
    fig = plots.plot_dashboard(empty, now=NOW)
    assert fig.get_suptitle() == "Status of 0 rows"
    assert len(fig.axes) == 3
    fig.savefig(io.BytesIO(), format="png")
    fig = plots.plot_dashboard(all_valid, now=NOW)
    assert fig.get_suptitle() == "Status of 4 rows: 4 valid"
    fig.savefig(io.BytesIO(), format="png")


def test_plot_picks_a_chart_by_kind(validated):
    assert isinstance(plots.plot(validated, now=NOW), Figure)
    ax = plots.plot(validated, kind="reasons", top=1)
    assert _tick_labels(ax, "y") == ["email.no_domain"]
    assert plots.plot(validated, kind="status").get_title().startswith("Rows per status")
    assert plots.plot(validated, kind="timeline", now=NOW).get_title() == "Rows per hour by status"
    with pytest.raises(ValueError, match=r"kind must be one of .*did you mean 'status'"):
        plots.plot(validated, kind="statuses")


def test_charts_draw_on_the_given_axes_and_leave_the_frame_alone(validated):
    before = validated.copy()
    _fig, axes = plt.subplots(1, 3)
    opened = plt.get_fignums()
    assert plots.plot_status(validated, ax=axes[0]) is axes[0]
    assert plots.plot_timeline(validated, ax=axes[1], now=NOW) is axes[1]
    assert plots.plot_reasons(validated, ax=axes[2]) is axes[2]
    assert plt.get_fignums() == opened
    pd.testing.assert_frame_equal(validated, before)


def test_a_status_frame_read_back_from_csv_works(validated, tmp_path):
    validated.to_csv(tmp_path / "status.csv")
    again = pd.read_csv(tmp_path / "status.csv", index_col=0)
    ax = plots.plot_status(again)
    assert _tick_labels(ax, "y") == _present(validated)
    # Read back, a row has only its first problem (its problem column): row 11's second one,
    # its Login event without a targetApp, is in the reason's text but not counted.
    first_only = validated.copy()
    first_only.attrs = {}
    assert plots.count_problems(again).equals(plots.count_problems(first_only))
    assert "targetApp.missing_for_login" in plots.count_problems(validated).index
    assert "targetApp.missing_for_login" not in plots.count_problems(again).index
    heights = [[bar.get_height() for bar in c] for c in plots.plot_timeline(again, now=NOW).containers]
    assert heights == [
        [bar.get_height() for bar in c] for c in plots.plot_timeline(validated, now=NOW).containers
    ]


@pytest.mark.slow
def test_importing_the_module_picks_no_backend():
    code = "import sys, productiv_pandas.plots; assert 'matplotlib.pyplot' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.slow
def test_matplotlib_is_loaded_only_when_a_chart_is_drawn(tmp_path):
    """Importing the package, validating a file and writing its HTML report need no matplotlib
    (27 MiB of memory, counted against validate_file's); drawing a chart loads it."""
    code = (
        "import sys, pandas as pd, productiv_pandas as pp\n"
        f"path = {str(tmp_path / 'e.csv')!r}\n"
        "pd.DataFrame({'timestamp': [1_700_000_000_000], 'email': ['a@x.io'], 'eventName': ['o']})"
        ".to_csv(path, index=False)\n"
        "pp.validate_file(path, on_stale='ignore').report(path + '.html')\n"
        "assert 'matplotlib' not in sys.modules, 'loaded before any chart'\n"
        "pp.validate(pd.read_csv(path), on_stale='ignore').productiv.plot('status')\n"
        "assert 'matplotlib' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_frame_that_is_not_a_status_frame_is_refused(validated):
    with pytest.raises(ValueError, match=r"no column\(s\) \['stale'\]"):
        plots.plot_status(validated.drop(columns="stale"))
    wrong = validated.astype({"status": object})
    wrong.loc[0, "status"] = "delivered"
    with pytest.raises(ValueError, match=r"unknown status value.*'delivered'"):
        plots.plot_status(wrong)
    with pytest.raises(TypeError, match="expected a status frame"):
        plots.plot_status(validated["status"])


@pytest.mark.parametrize("module", [plots])
def test_docstring_examples_run(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0


# -- no text overlaps another or leaves the figure ------------------------------------------


def _drawn_text_boxes(fig: Figure, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Bbox]]:
    """Every non-empty Text the Agg canvas draws (tick labels, titles, axis labels, legend
    texts, bar labels, the label column, notes) with its box in display pixels. Texts are
    recorded as they are drawn, so a tick label outside the axes' limits, never drawn, is not."""
    drawn: list[Text] = []
    draw = Text.draw

    def record(self, renderer):
        if self.get_visible() and self.get_text().strip():
            drawn.append(self)
        return draw(self, renderer)

    monkeypatch.setattr(Text, "draw", record)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    monkeypatch.setattr(Text, "draw", draw)
    renderer = canvas.get_renderer()
    return [(text.get_text(), text.get_window_extent(renderer)) for text in drawn]


def _overlaps(fig: Figure, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    boxes = _drawn_text_boxes(fig, monkeypatch)
    assert boxes  # the title at least
    frame = fig.bbox
    problems = [f"{text!r} leaves the figure" for text, box in boxes
                if box.x0 < frame.x0 - 0.5 or box.y0 < frame.y0 - 0.5
                or box.x1 > frame.x1 + 0.5 or box.y1 > frame.y1 + 0.5]  # fmt: skip
    for i, (text, box) in enumerate(boxes):
        for other, other_box in boxes[i + 1 :]:
            # Boxes that share only an edge are apart; 0.5 pixel forgives rounding.
            if min(box.x1, other_box.x1) - max(box.x0, other_box.x0) > 0.5 and (
                min(box.y1, other_box.y1) - max(box.y0, other_box.y0) > 0.5
            ):
                problems.append(f"{text!r} overlaps {other!r}")
    return problems


def test_the_overlap_check_sees_overlapping_and_cut_text(monkeypatch):
    fig = plt.figure(figsize=(4, 3))
    fig.text(0.1, 0.5, "some text")
    fig.text(0.15, 0.5, "more text")
    fig.text(0.9, 0.2, "far too long to fit")
    assert _overlaps(fig, monkeypatch) == [
        "'far too long to fit' leaves the figure",
        "'some text' overlaps 'more text'",
    ]


@pytest.mark.parametrize("kind", ["status", "timeline", "reasons", "dashboard"])
@pytest.mark.parametrize("mix", list(MIXES))
def test_no_text_overlaps_or_is_cut(mix, kind, monkeypatch):
    drawn = plots.plot(MIXES[mix], kind=kind, **({} if kind in ("status", "reasons") else {"now": NOW_MIX}))
    fig = drawn if isinstance(drawn, Figure) else drawn.figure
    assert _overlaps(fig, monkeypatch) == []
