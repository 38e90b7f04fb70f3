"""status.productiv.problems() and pp.problems() of a Dask status frame: lazily, every problem."""

from __future__ import annotations

import pandas as pd
import pytest

dd = pytest.importorskip("dask.dataframe")

import productiv_pandas as pp  # noqa: E402

pytestmark = pytest.mark.slow  # Dask's schedulers cost seconds a test

NOW = pd.Timestamp("2025-06-10T15:00:00Z")
ALLOWED = ["opened_file", "shared_doc"]


def events() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "timestamp": ["2025-06-10T14:55:00Z"] * 6,
            "email": ["a@b.com", "bad", "x@y.com", "a@b.com", "c@d.com", "e@f.com"],
            "eventName": ["opened_file", "nope", "opened_file", "opened_file", "opened_file", "shared_doc"],
        },
        index=[f"r{i}" for i in range(6)],
    )


def plain(long: pd.DataFrame) -> list[tuple]:
    long = long.astype(object).where(long.notna(), None)
    return list(zip(long.index, long["status"], long["column"], long["problem"], long["value"], strict=True))


def test_the_long_form_of_a_dask_status_frame_equals_pandas():
    ddf = dd.from_pandas(events(), npartitions=3)
    status = ddf.productiv.validate(now=NOW, allowed_events=ALLOWED)
    lazy = status.productiv.problems()
    assert isinstance(lazy, dd.DataFrame)
    expected = plain(pp.problems(pp.validate(events(), now=NOW, allowed_events=ALLOWED)))
    assert expected == [
        ("r1", "invalid", "email", "email.no_at", "bad"),
        ("r1", "invalid", "eventName", "eventName.not_in_mapping", "nope"),
        ("r3", "duplicate", None, "duplicate", None),
    ]
    assert plain(lazy.compute()) == expected
    assert plain(pp.problems(status).compute()) == expected
    assert list(lazy.columns) == ["status", "column", "problem", "value", "reason"]


def test_the_long_form_of_a_dask_publish(sandbox_with):
    sb = sandbox_with("acme", events=set(ALLOWED))
    now = pd.Timestamp.now(tz="UTC").floor("s")
    frame = events().assign(timestamp=[now - pd.Timedelta(minutes=5)] * 6)
    with sb.client() as client:
        status = dd.from_pandas(frame, npartitions=2).productiv.publish(
            "acme", client=client, allowed_events=ALLOWED
        )
    long = status.productiv.problems().compute()
    assert [(i, p) for i, _, _, p, _ in plain(long)] == [
        ("r1", "email.no_at"),
        ("r1", "eventName.not_in_mapping"),
        ("r3", "duplicate"),
    ]
