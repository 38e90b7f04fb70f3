"""The messy sample in each database, and a throwaway PostgreSQL server for the session."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pandas as pd
import pytest

import productiv_pandas as pp
from tests.helpers.postgres import PostgresServer, find_bin, postgres_server

NOW = pd.Timestamp("2026-12-01T12:00Z")
#: The messy sample (every kind of problem), small enough to load quickly, several chunks long.
SAMPLE = pp.sample_events(2_000, seed=7, now=NOW)
OPTIONS = dict(pp.SAMPLE_OPTIONS, now=NOW)
COLUMNS = ["timestamp", "email", "eventName", "targetApp", "status", "reason", "problem"]
MISSING_POSTGRES = (
    "the PostgreSQL tests need initdb and pg_ctl (Debian: apt-get install postgresql), found neither "
    "on the PATH nor in /usr/lib/postgresql/*/bin"
)


def unavailable(reason: str) -> None:
    """Skip, saying why; in CI (``CI`` set) fail instead: .ci/run installs the server."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI never skips the PostgreSQL tests)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    if find_bin() is None:
        unavailable(MISSING_POSTGRES)
    with postgres_server() as server:
        yield server


def expected_status() -> pd.DataFrame:
    """The whole sample validated in memory: what every database must give, row for row."""
    return pp.validate(SAMPLE, **OPTIONS)


def comparable(status: pd.DataFrame) -> list[tuple]:
    """A status frame's rows as plain text tuples, the row number first."""
    frame = status[COLUMNS].astype("string").fillna("<NA>")
    return [(int(i), *row) for i, row in zip(status.index, frame.itertuples(index=False), strict=True)]
