"""The charts' text helpers: wrapping that never cuts, labels, shares, the timeline's notes."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from productiv_pandas import _chart_layout as layout

HOUR_MS = 3_600_000
MAY_1 = 1_714_521_600_000  # 2024-05-01 00:00 UTC


def test_wrap_text_breaks_at_spaces_to_the_width_and_keeps_every_word():
    text = "event time (UTC); not shown: 3 earlier (the oldest at 2024-04-30 16:00), 2 before 2000"
    wrapped = layout.wrap_text(text, 2.5)
    lines = wrapped.split("\n")
    assert len(lines) > 1
    assert " ".join(lines) == text
    assert all(layout.text_width_in(line) <= 2.5 for line in lines)
    assert any("2024-04-30 16:00" in line for line in lines)  # a date and time stay on one line
    assert layout.wrap_text(text, 20) == text
    assert layout.wrap_text("first\nsecond", 20) == "first\nsecond"
    assert (
        layout.wrap_text("unbreakable_word_longer_than_the_width", 0.5)
        == "unbreakable_word_longer_than_the_width"
    )


def test_wrap_code_breaks_after_the_field_first():
    code = "timestamp.nonexistent_local_time"
    assert layout.wrap_code(code, 10) == code
    assert layout.wrap_code(code, 1.8) == "timestamp.\nnonexistent_local_time"
    narrow = layout.wrap_code(code, 0.9)
    assert narrow.replace("\n", "") == code
    assert narrow.count("\n") >= 2


@pytest.mark.parametrize(
    ("count", "stale", "total", "label"),
    [
        (462, 92, 29_000, "462 (1.6%), 92 stale"),
        (3_869, 3_869, 28_900, "3,869 (13.4%), all stale"),
        (27_714, 0, 30_000, "27,714 (92.4%)"),
        (5, 0, 100_000, "5 (<0.1%)"),
        (99_995, 0, 100_000, "99,995 (>99.9%)"),
        (4, 0, 4, "4 (100%)"),
    ],
)
def test_status_labels(count, stale, total, label):
    assert layout.status_label(count, stale, total) == label


def test_names_counts_and_ticks():
    assert layout.join_names(["invalid"]) == "invalid"
    assert layout.join_names(["invalid", "failed"]) == "invalid and failed"
    assert layout.join_names(["invalid", "rejected", "failed"], "or") == "invalid, rejected or failed"
    assert [layout.compact_count(x) for x in (1, 10, 1_000, 100_000, 1_000_000)] == [
        "1",
        "10",
        "1k",
        "100k",
        "1M",
    ]
    assert layout.decade_ticks(1, 100_000) == [1, 10, 100, 1_000, 10_000, 100_000]
    assert layout.rows_text(1) == "1 row"
    assert layout.rows_text(30_000) == "30,000 rows"


def test_the_timeline_notes():
    assert layout.span_text(MAY_1, MAY_1 + 13 * HOUR_MS) == "2024-05-01 00:00 to 13:00"
    assert layout.span_text(MAY_1 - HOUR_MS, MAY_1 + HOUR_MS) == "2024-04-30 23:00 to 2024-05-01 01:00"
    earlier = np.array([MAY_1 - 30 * HOUR_MS, MAY_1 - 50 * HOUR_MS])
    later = np.array([MAY_1 + 14 * HOUR_MS])
    assert layout.not_shown_text(earlier, later, 1_193, 1) == (
        "2 earlier (the oldest at 2024-04-28 22:00), 1 later (the newest at 2024-05-01 14:00), "
        "1,193 before 2000 or over a day after now, 1 without a readable timestamp"
    )
    assert layout.not_shown_text(np.array([]), np.array([]), 0, 0) == ""
