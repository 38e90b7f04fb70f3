"""The ``productiv`` accessor: a thin front door over validate() and prepare()."""

from __future__ import annotations

import inspect
import warnings

import pandas as pd
import pytest

import productiv_pandas as pp
from productiv_pandas.accessor import ProductivAccessor

NOW = pd.Timestamp("2026-11-26 12:00", tz="UTC")


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "when": ["2026-11-26T10:00:00Z", "2026-11-26T10:00:00Z", "bad", "2026-11-20T10:00:00Z"],
            "user": ["Ana@Example.com", "ana@example.com", "b@c.de", "d@e.fg"],
            "action": ["opened_file", "opened_file", "opened_file", "opend_file"],
        },
        index=["w", "x", "y", "z"],
    )


OPTIONS = {
    "columns": {"when": "timestamp", "user": "email", "action": "eventName"},
    "allowed_events": {"opened_file"},
    "on_stale": "skip",
    "now": NOW,
}


def test_validate_through_the_accessor_is_the_plain_function(frame: pd.DataFrame) -> None:
    via_accessor = frame.productiv.validate(**OPTIONS)

    pd.testing.assert_frame_equal(via_accessor, pp.validate(frame, **OPTIONS))
    assert via_accessor["status"].tolist() == ["valid", "duplicate", "invalid", "invalid"]
    assert via_accessor["reason"].tolist()[1:] == [
        "duplicate of row 'w'",
        "timestamp 'bad' is not an ISO-8601 date-time",
        "eventName 'opend_file' is not in the app's event mapping; did you mean 'opened_file'?",
    ]


def test_prepare_through_the_accessor_is_the_plain_function(frame: pd.DataFrame) -> None:
    via_accessor = frame.productiv.prepare(**OPTIONS)

    pd.testing.assert_frame_equal(via_accessor, pp.prepare(frame, **OPTIONS))
    assert via_accessor.index.tolist() == ["w"]


def test_accessor_raises_the_same_structural_errors(frame: pd.DataFrame) -> None:
    with pytest.raises(
        ValueError, match=r"missing required column\(s\) \['timestamp', 'email', 'eventName'\]"
    ):
        frame.productiv.validate(now=NOW)
    with pytest.raises(ValueError, match="unit must be one of"):
        frame.productiv.prepare(unit="h", **OPTIONS)


def test_accessor_holds_nothing_but_the_frame(frame: pd.DataFrame) -> None:
    accessor = frame.productiv

    assert isinstance(accessor, ProductivAccessor)
    assert vars(accessor) == {"_frame": frame}
    accessor.validate(**OPTIONS)
    assert vars(accessor) == {"_frame": frame}  # no state kept between calls


def test_options_are_keyword_only() -> None:
    for method in (ProductivAccessor.validate, ProductivAccessor.prepare, pp.validate, pp.prepare):
        kinds = {
            p.kind
            for name, p in inspect.signature(method).parameters.items()
            if name not in {"self", "frame"}
        }
        assert kinds <= {inspect.Parameter.VAR_KEYWORD, inspect.Parameter.KEYWORD_ONLY}, method


@pytest.mark.parametrize("call", ["accessor", "function"])
def test_warnings_point_at_the_callers_line(frame: pd.DataFrame, call: str) -> None:
    naive = pd.DataFrame(
        {"timestamp": pd.to_datetime(["2026-11-20 10:00"]), "email": ["a@b.co"], "eventName": ["x"]}
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        line = inspect.currentframe().f_lineno + 1
        naive.productiv.validate(now=NOW) if call == "accessor" else pp.validate(naive, now=NOW)

    assert sorted(w.category.__name__ for w in caught) == ["NaiveTimestampWarning", "StaleEventWarning"]
    for warning in caught:
        assert (warning.filename, warning.lineno) == (__file__, line)
