"""The long form of a status frame: pp.problems(status) and status.productiv.problems()."""

from __future__ import annotations

import copy
import io

import pandas as pd
import pytest

import productiv_pandas as pp

NOW = pd.Timestamp("2025-06-10T15:00:00Z")
APP = "acme"


def frame(index=None) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "timestamp": ["2025-06-10T14:00:00Z", "2025-06-10T14:00:01Z", "nope", "2025-06-10T14:00:00Z"],
            "email": ["ana@example.com", "bob@", "cy@example.com", "ana@example.com"],
            "eventName": ["opened_file", "opend_file", "opened_file", "opened_file"],
        },
        index=index,
    )


def entries(long: pd.DataFrame) -> list[tuple]:
    """The long form as plain tuples (missing -> None)."""
    plain = long.astype(object).where(long.notna(), None)
    return list(zip(plain.index, *(plain[c] for c in ["status", "column", "problem", "value"]), strict=True))


EXPECTED = [
    (1, "invalid", "email", "email.no_domain", "bob@"),
    (1, "invalid", "eventName", "eventName.not_in_mapping", "opend_file"),
    (2, "invalid", "timestamp", "timestamp.unreadable", "nope"),
    (3, "duplicate", None, "duplicate", None),
]


@pytest.fixture
def status() -> pd.DataFrame:
    return pp.validate(frame(), now=NOW, allowed_events=["opened_file"])


def test_two_problems_on_one_row_are_two_entries(status):
    long = pp.problems(status)
    assert entries(long) == EXPECTED
    assert long.loc[1, "reason"].tolist() == [
        "email 'bob@' has no domain",
        "eventName 'opend_file' is not in the app's event mapping; did you mean 'opened_file'?",
    ]
    assert "; ".join(long.loc[1, "reason"]) == status.loc[1, "reason"]
    assert list(long.columns) == ["status", "column", "problem", "value", "reason"]
    assert set(long["problem"].cat.categories) == set(pp.PROBLEMS)
    assert entries(status.productiv.problems()) == EXPECTED


def test_a_subset_of_rows_by_label(status):
    assert entries(pp.problems(status[status["status"] == "invalid"])) == EXPECTED[:3]
    assert entries(pp.problems(status.loc[[2, 1]])) == [EXPECTED[2], *EXPECTED[:2]]
    assert entries(pp.problems(status.iloc[:1])) == []


def test_attrs_cost_nothing_and_survive_copies(status):
    detail = status.attrs["productiv_pandas.problems"]
    assert copy.deepcopy(detail) is detail
    assert status.copy().attrs["productiv_pandas.problems"] is detail
    assert entries(pp.problems(status.copy())) == EXPECTED


def test_a_frame_without_attrs_falls_back_to_its_columns(status):
    bare = status.copy()
    bare.attrs = {}
    assert entries(pp.problems(bare)) == [
        (1, "invalid", "email", "email.no_domain", "bob@"),
        (2, "invalid", "timestamp", "timestamp.unreadable", None),
        (3, "duplicate", None, "duplicate", None),
    ]
    assert pp.problems(bare).loc[1, "reason"] == status.loc[1, "reason"]  # the whole reason
    # Written to parquet and read back: attrs hold only a note, the columns are used.
    buffer = io.BytesIO()
    status.to_parquet(buffer)
    back = pd.read_parquet(io.BytesIO(buffer.getvalue()))
    assert entries(pp.problems(back)) == entries(pp.problems(bare))
    # Concatenated with another validation: the details differ, neither is kept.
    both = pd.concat([status, pp.validate(frame(index=[10, 11, 12, 13]), now=NOW)])
    assert both.attrs == {}
    assert len(pp.problems(both)) == 3 + 3  # one entry a row that has a problem


@pytest.mark.parametrize(
    "index",
    [
        pd.Index(["w", "x", "y", "z"]),
        pd.Index(["a", "a", "b", "b"]),
        pd.MultiIndex.from_tuples([("p", 1), ("p", 2), ("q", 1), ("q", 2)]),
    ],
    ids=["strings", "duplicated", "multiindex"],
)
def test_any_index(index):
    status = pp.validate(frame(index=index), now=NOW, allowed_events=["opened_file"])
    long = pp.problems(status)
    labels = list(index)
    assert entries(long) == [(labels[position], *rest) for position, *rest in EXPECTED]


def test_valid_rows_have_none_and_every_other_row_at_least_one(status):
    long = pp.problems(status)
    problem_rows = set(long.index)
    assert problem_rows == set(status.index[status["status"] != "valid"])


def test_publish_keeps_the_detail_and_rejected_rows_get_http_codes(sandbox_with):
    sandbox = sandbox_with(APP, events={"opened_file", "shared_doc"})
    now = pd.Timestamp.now(tz="UTC").floor("s")
    events = pd.DataFrame(
        {
            "timestamp": [now - pd.Timedelta(minutes=m) for m in (1, 2, 3, 4)],
            "email": ["ana@example.com", "bob@", "cy@example.com", "di@example.com"],
            "eventName": ["opened_file", "zz", "not_in_the_app", "shared_doc"],
        }
    )
    with sandbox.client() as client:
        status = pp.publish(events, APP, client=client, progress=False, allowed_events=None)
    assert status["status"].tolist() == ["sent", "invalid", "rejected", "sent"]
    long = pp.problems(status)
    assert entries(long) == [
        (1, "invalid", "email", "email.no_domain", "bob@"),
        (2, "rejected", None, "http.422", None),
    ]
    assert long.loc[2, "reason"] == status.loc[2, "reason"]
    assert len(sandbox.events(APP)) == 2
    assert type(status.attrs["productiv_pandas.problems"]).__name__ == "ProblemDetail"


def test_every_code_of_the_vocabulary_has_a_recipe_that_produces_it():
    """Prepare's recipes and delivery's recipes (each run by its own test) cover pp.PROBLEMS."""
    from tests.preparation.test_problem_codes import RECIPES as PREPARE_RECIPES
    from tests.preparation.test_problem_codes import UNREACHABLE
    from tests.sending.test_policy import RECIPES as DELIVERY_RECIPES
    from tests.sync.test_sync import SYNC_CODES  # a row given up by the outbox

    covered = set(PREPARE_RECIPES) | set(DELIVERY_RECIPES) | SYNC_CODES
    assert covered | UNREACHABLE == set(pp.PROBLEMS)
    assert not covered & UNREACHABLE
