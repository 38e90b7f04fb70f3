"""Issue 14, point 10: the 48-hour schedule (tests/sync/simulation.py) leaves every valid event
in the sandbox exactly once, the outbox empty, every summary schema-valid, the state small."""

from __future__ import annotations

import os
import sqlite3

import pytest

from productiv_pandas.sandbox import Sandbox
from tests.sources.conftest import postgres  # noqa: F401  (the fixture)

from .simulation import APP, BATCH, KILLED, OUTAGES, RUNS, WORKERS, simulate

pytest.importorskip("sqlalchemy")


def check(outcome, sandbox: Sandbox, state) -> None:
    events = sandbox.events(APP)
    held = set(
        zip(events["timestamp"].tolist(), events["email"].tolist(), events["eventName"].tolist(), strict=True)
    )
    assert len(held) == len(events)  # each event once
    assert held == outcome.expected  # every valid event, nothing else
    # Only the killed run's batches in flight were sent twice (the API kept one of each).
    assert sandbox.stats()["duplicates_received"] <= WORKERS * BATCH
    assert sorted(outcome.summaries) == [run for run in range(RUNS) if run != KILLED]
    last = outcome.summaries[RUNS - 1]
    assert (last["outbox_after"], last["exit_code"]) == (0, 0)
    with sqlite3.connect(state) as con:
        assert con.execute("SELECT count(*) FROM outbox").fetchone()[0] == 0
    for outage in OUTAGES:
        # Each outage run: rows failed (exit 1), kept in the outbox; the watermark moved on.
        for run in outage:
            down = outcome.summaries[run]
            assert down["statuses"]["failed"] > 0
            assert down["outbox_after"] > 0
            assert down["exit_code"] == 1
            assert down["watermark_after"] > down["watermark_before"]
        # The run after it retried the outbox first and emptied it.
        back = outcome.summaries[outage.stop]
        assert (
            back["outbox_retried"]
            == back["outbox_before"]
            == outcome.summaries[outage.stop - 1]["outbox_after"]
        )
        assert back["outbox_after"] == 0
        assert back["statuses"]["failed"] == 0
    assert not any(s["problems"].get("outbox.given_up") for s in outcome.summaries.values())
    # The run after the kill read from the old watermark: nothing the killed run sent was lost.
    assert (
        outcome.summaries[KILLED + 1]["watermark_before"] == outcome.summaries[KILLED - 1]["watermark_after"]
    )
    requests = sum(s["requests"] for s in outcome.summaries.values()) + outcome.killed_requests
    assert requests == sandbox.stats()["event_requests"]
    size = sum(os.path.getsize(f"{state}{s}") for s in ("", "-wal") if os.path.exists(f"{state}{s}"))
    assert size < 10 * 2**20


@pytest.mark.slow  # a subprocess killed with SIGKILL
def test_the_schedule_on_sqlite(tmp_path):
    with Sandbox(rate_limit=None) as sandbox:
        sandbox.add_app(APP)
        outcome = simulate(f"sqlite:///{tmp_path / 'events.db'}", tmp_path, sandbox)
        check(outcome, sandbox, tmp_path / "acme.sync")


@pytest.mark.slow  # a subprocess, a PostgreSQL server
def test_the_schedule_on_postgres(tmp_path, postgres):  # noqa: F811
    with Sandbox(rate_limit=None) as sandbox:
        sandbox.add_app(APP)
        outcome = simulate(postgres.url, tmp_path, sandbox)
        check(outcome, sandbox, tmp_path / "acme.sync")


@pytest.mark.slow  # a PostgreSQL server
def test_since_on_a_psycopg_connection_with_percent_signs(tmp_path, postgres):  # noqa: F811
    """psycopg gets %(since)s, and the query's own % signs (LIKE) are doubled for it."""
    psycopg = pytest.importorskip("psycopg")
    import pandas as pd

    import productiv_pandas as pp

    with psycopg.connect(postgres.url, autocommit=True) as con, Sandbox(rate_limit=None) as sandbox:
        sandbox.add_app(APP)
        con.execute("DROP TABLE IF EXISTS mail")
        con.execute("CREATE TABLE mail (ts timestamptz, email text, action text, ins timestamptz)")
        con.execute(
            "INSERT INTO mail VALUES ('2026-12-01T11:00Z', 'a@acme.io', 'open', '2026-12-01T11:00Z'),"
            " ('2026-12-01T11:00Z', 'b@other.io', 'open', '2026-12-01T11:00Z'),"
            " ('2026-11-30T11:00Z', 'c@acme.io', 'open', '2026-11-30T11:00Z')"
        )
        report = pp.sync(
            "SELECT * FROM mail WHERE email LIKE '%@acme.io' AND ins >= :since", APP, state=tmp_path / "s",
            con=con, cursor="ins", now=pd.Timestamp("2026-12-01T12:00Z"), client=sandbox.client(),
            columns={"ts": "timestamp", "action": "eventName"},
        )  # fmt: skip
        assert report.summary["rows_read"] == 1
        assert report.summary["watermark_after"] == "2026-12-01T11:00:00.000Z"
        assert sandbox.events(APP)["email"].tolist() == ["a@acme.io"]
