"""The long form finds a row's problems by the row's reason, never by a label that may have moved.

tests/test_problems.py covers the long form's shape; these are the index changes after which a
row must keep all its problems and never get another row's.
"""

from __future__ import annotations

import pandas as pd
import pytest

import productiv_pandas as pp

NOW = pd.Timestamp("2025-06-10T15:00:00Z")
ALLOWED = ["opened_file"]


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "timestamp": ["2025-06-10T14:00:00Z"] * 4,
            "email": ["ana@example.com", "bad", "x", "y"],
            "eventName": ["opened_file", "nope", "opened_file", "opened_file"],
        }
    )


def entries(long: pd.DataFrame) -> list[tuple]:
    plain = long.astype(object).where(long.notna(), None)
    return list(zip(plain.index, plain["problem"], plain["value"], strict=True))


@pytest.fixture
def status() -> pd.DataFrame:
    return pp.validate(frame(), now=NOW, allowed_events=ALLOWED)


def test_after_reset_index_a_row_never_gets_the_problems_of_the_row_that_had_its_label(status):
    # Rows 'x' and 'y' become labels 0 and 1; label 1 was the row with two problems.
    moved = status.iloc[2:].reset_index(drop=True)
    assert entries(pp.problems(moved)) == [(0, "email.no_at", "x"), (1, "email.no_at", "y")]
    assert pp.problems(moved)["reason"].tolist() == moved["reason"].tolist()


def test_a_row_keeps_both_problems_after_the_index_changes(status):
    both = [("email.no_at", "bad"), ("eventName.not_in_mapping", "nope")]
    for changed in (
        status.reset_index(drop=True).iloc[::-1],
        status.iloc[[1]].reset_index(drop=True),
        status.set_index("email", drop=False),
        status.sort_values("email").reset_index(drop=True),
    ):
        long = pp.problems(changed)
        label = changed.index[(changed["email"] == "bad").to_numpy()][0]
        assert [(p, v) for i, p, v in entries(long) if i == label] == both


def test_concat_of_a_frame_with_itself_keeps_both_problems_of_each_copy(status):
    twice = pd.concat([status, status])  # same attrs: pandas keeps them; labels repeat
    long = pp.problems(twice)
    assert (
        entries(long)
        == [
            (1, "email.no_at", "bad"),
            (1, "eventName.not_in_mapping", "nope"),
            (2, "email.no_at", "x"),
            (3, "email.no_at", "y"),
        ]
        * 2
    )


def test_a_row_changed_since_gets_one_entry_from_its_own_columns(status):
    changed = status.copy()
    changed.loc[1, "reason"] = "checked by hand"
    long = pp.problems(changed)
    assert entries(long)[0] == (1, "email.no_at", "bad")
    assert long.loc[[1], "reason"].tolist() == ["checked by hand"]
