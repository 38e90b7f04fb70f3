"""The 48-hour schedule of issue 14, point 10, against any database URL (SQLite, PostgreSQL).

96 runs, one every 30 simulated minutes (``now=`` passed in), against a table that grows
between runs: rows inserted in the half hour before each run, a third of them late (their event
up to 2 hours before their insert), a few invalid, a few repeating an earlier row's event. Three
outages of the sandbox (every events request answered 503) of 3 to 5 runs each, and one run
(the ``productiv-pandas sync`` command in a subprocess) killed with SIGKILL mid-send.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

import productiv_pandas as pp
from productiv_pandas.summary import check_summary

APP = "acme"
START = pd.Timestamp("2026-12-01T00:00Z")
RUNS = 96
EVERY = pd.Timedelta(minutes=30)
OUTAGES = (range(10, 14), range(40, 45), range(70, 73))
KILLED = 60
#: Rows inserted before the killed run: enough batches that the kill lands mid-send.
KILLED_ROWS = 1_500
ROWS = 25
QUERY = "SELECT ts, email, action, ins FROM audit WHERE ins >= :since"
COLUMNS = {"ts": "timestamp", "action": "eventName"}
BATCH, WORKERS = 50, 2


def ms(when: pd.Timestamp) -> int:
    return int(when.value // 1_000_000)


@dataclass
class Outcome:
    """What the schedule left behind, for the test to check."""

    expected: set[tuple[int, str, str]] = field(default_factory=set)
    summaries: dict[int, dict] = field(default_factory=dict)
    killed_requests: int = 0
    stored_before_kill: int = 0
    stored_at_kill: int = 0
    inserted: int = 0


def _rows(rng: random.Random, run: int, now: pd.Timestamp, count: int, earlier: list) -> list[tuple]:
    """The rows inserted in the half hour before run ``run`` (its ``now``)."""
    rows = []
    for k in range(count):
        ins = now - pd.Timedelta(seconds=rng.randint(0, 1799))
        late = rng.random() < 1 / 3
        event = ins - pd.Timedelta(seconds=rng.randint(0, 7200 if late else 300))
        email = f"u{run}-{k}@acme.io" if rng.random() > 0.04 else f"broken-{run}-{k}@"
        rows.append((ms(event), email, "open", ms(ins)))
    for row in rng.sample(earlier, min(2, len(earlier))):  # an event repeated, inserted again
        rows.append((row[0], row[1], row[2], ms(now - pd.Timedelta(seconds=rng.randint(0, 1799)))))
    return rows


def _insert(engine, rows: list[tuple]) -> None:
    import sqlalchemy

    with engine.begin() as con:
        con.execute(
            sqlalchemy.text("INSERT INTO audit VALUES (:ts, :email, :action, :ins)"),
            [{"ts": r[0], "email": r[1], "action": r[2], "ins": r[3]} for r in rows],
        )


def _killed_run(url: str, state: Path, now: pd.Timestamp, sandbox, outcome: Outcome) -> None:
    """The CLI in a subprocess, killed with SIGKILL once the sandbox has stored some of its events."""
    package_parent = str(Path(pp.__file__).resolve().parent.parent)
    env = {name: value for name, value in os.environ.items() if not name.startswith("PRODUCTIV_")}
    env.update(PRODUCTIV_ACCESS_TOKEN=sandbox.issue_token(), PRODUCTIV_API_URL=sandbox.url,
               PYTHONPATH=os.pathsep.join(filter(None, [package_parent, env.get("PYTHONPATH")])))  # fmt: skip
    command = [sys.executable, "-m", "productiv_pandas", "sync", "--sql", QUERY, "--db", url, "--app-id", APP,
               "--state", str(state), "--cursor", "ins", "--since-as", "epoch_ms", "--now", now.isoformat(),
               "--column", "ts=timestamp", "--column", "action=eventName", "--batch-size", str(BATCH),
               "--workers", str(WORKERS), "--max-retries", "0"]  # fmt: skip
    before = sandbox.stats()
    outcome.stored_before_kill = before["events_stored"]
    sandbox.set_delay(0.2)  # slow answers: the kill lands while batches are in flight
    child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while sandbox.stats()["events_stored"] < before["events_stored"] + 5 * BATCH:
            assert child.poll() is None, "the run ended before it could be killed"
            assert time.monotonic() < deadline, "the run never sent its first batches"
            time.sleep(0.02)
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait()
    sandbox.set_delay(0)
    after = sandbox.stats()
    outcome.stored_at_kill = after["events_stored"]
    outcome.killed_requests = after["event_requests"] - before["event_requests"]
    assert child.returncode == -signal.SIGKILL


def simulate(url: str, tmp_path: Path, sandbox) -> Outcome:
    """Run the schedule; return what the checks need. ``url``'s database must be empty."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(url)
    with engine.begin() as con:
        con.execute(sqlalchemy.text("CREATE TABLE audit (ts BIGINT, email TEXT, action TEXT, ins BIGINT)"))
    rng = random.Random(14)
    state = tmp_path / "acme.sync"
    outcome = Outcome()
    earlier: list[tuple] = []
    client = sandbox.client()
    try:
        for run in range(RUNS):
            now = START + run * EVERY
            rows = _rows(rng, run, now, KILLED_ROWS if run == KILLED else ROWS, earlier)
            _insert(engine, rows)
            outcome.inserted += len(rows)
            earlier = [row for row in rows if "@acme.io" in row[1]]
            outcome.expected |= {row[:3] for row in earlier}
            if any(run == outage.start for outage in OUTAGES):
                sandbox.fail_next(10**6, 503)  # the API down: every request until it comes back
            if any(run == outage.stop for outage in OUTAGES):
                sandbox.clear_faults()
            if run == KILLED:
                _killed_run(url, state, now, sandbox, outcome)
                continue
            out = tmp_path / f"run-{run:02d}.json"
            report = pp.sync(
                QUERY, APP, state=state, con=url, cursor="ins", since_as="epoch_ms", now=now,
                client=client, summary_json=out, columns=COLUMNS, batch_size=BATCH,
                max_workers=WORKERS, max_retries=0, max_invalid="10%",
            )  # fmt: skip
            assert report.summary == json.loads(out.read_text())
            check_summary(report.summary)
            outcome.summaries[run] = report.summary
    finally:
        sandbox.clear_faults()
        client.close()
        engine.dispose()
    return outcome
