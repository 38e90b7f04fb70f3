"""kill -9 a publishing process again and again; resume with the same journal each time.

A subprocess publishes 200,000 events (generated from a seed, so every run has the same frame)
to a sandbox served by this test process, with ``journal=`` a file in tmp_path. The test kills
it with SIGKILL at random points (the first around the journal's creation, the others each after
the sandbox has stored a random number of new events, so every run makes progress) and starts
it again; the last run completes and writes
its status frame. Then: the sandbox holds every event exactly once, the final status is ``sent``
or ``skipped`` ("already sent") for every row, and the events sent twice because of the crashes
(the batches in flight at each kill) stay within one batch a worker a crash.
Run with ``pytest -s`` to see that figure.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from productiv_pandas.journal._store import Journal
from productiv_pandas.sandbox import Sandbox

# slow: 200,000 rows, a subprocess killed again and again
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX SIGKILL"),
]

APP = "crash-app"
ROWS = 200_000
WORKERS = 4
BATCH = 1000
KILLS = 5
SEED = 20240611

PUBLISHER = """
import sys

import numpy as np
import pandas as pd

import productiv_pandas as pp

seed, start_ms, journal, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
frame = pd.DataFrame(generate(seed, start_ms))
status = pp.publish(
    frame, APP, client=pp.ProductivClient.from_env(), journal=journal,
    max_workers=WORKERS, batch_size=BATCH, progress=False,
)
status.to_parquet(out)
"""


def generate(seed: int, start_ms: int) -> dict[str, np.ndarray]:
    """The events every run publishes: distinct triples (one a millisecond), fresh timestamps."""
    rng = np.random.default_rng(seed)
    users = np.array([f"user{i}@example.com" for i in range(5000)], dtype=object)
    names = np.array(["opened_file", "shared_doc", "edited_sheet", "joined_call"], dtype=object)
    return {
        "timestamp": start_ms + np.arange(ROWS, dtype=np.int64),
        "email": users[rng.integers(0, len(users), ROWS)],
        "eventName": names[rng.integers(0, len(names), ROWS)],
    }


def write_script(path) -> None:
    import inspect

    source = "\n".join(
        [
            "import numpy as np",
            f"APP, ROWS, WORKERS, BATCH = {APP!r}, {ROWS}, {WORKERS}, {BATCH}",
            inspect.getsource(generate),
            PUBLISHER,
        ]
    )
    path.write_text(source)


def wait_for(condition, process: subprocess.Popen, what: str, timeout: float = 60) -> bool:
    """Poll ``condition`` until true (True) or the process exits (False)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            return False
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.002)
    return True


def test_killed_again_and_again_every_event_lands_once(tmp_path, record_property):
    rng = random.Random(SEED)
    start_ms = int(pd.Timestamp.now(tz="UTC").timestamp() * 1000) - 3_600_000
    script, journal, out = (
        tmp_path / "publisher.py",
        tmp_path / "backfill.journal",
        tmp_path / "status.parquet",
    )
    write_script(script)
    with Sandbox(rate_limit=None) as sb:
        sb.add_app(APP)  # any event name
        env = {
            **os.environ,
            "PRODUCTIV_API_URL": sb.url,
            "PRODUCTIV_TOKEN_URL": sb.token_url,
            "PRODUCTIV_CLIENT_ID": sb.client_id,
            "PRODUCTIV_CLIENT_SECRET": sb.client_secret,
        }
        command = [sys.executable, str(script), str(SEED), str(start_ms), str(journal), str(out)]

        kills: list[int] = []
        for number in range(KILLS):
            stored = sb.stats()["events_stored"]
            log = tmp_path / f"run{number}.log"
            with open(log, "wb") as stderr:
                process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
            if number == 0:
                # The first kill lands around the journal's creation, before anything is sent.
                condition = journal.exists
            else:
                # Later ones once a random amount of progress is made (leaving room for the rest).
                threshold = stored + rng.randint(5_000, 30_000)
                condition = lambda t=threshold: sb.stats()["events_stored"] >= t  # noqa: E731
            reached = wait_for(condition, process, f"progress of run {number}")
            assert reached, f"the publisher ended before being killed: {log.read_text()}"
            time.sleep(rng.uniform(0, 0.05))  # not synchronization: a random point of the cycle
            process.send_signal(signal.SIGKILL)
            process.wait()
            assert process.returncode == -signal.SIGKILL
            kills.append(sb.stats()["events_stored"])
        assert not out.exists()

        final = subprocess.run(command, env=env, capture_output=True, timeout=120, check=False)
        assert final.returncode == 0, final.stderr.decode()

        stats = sb.stats()
        stored = sb.events(APP)
        assert sb.server_errors == []

    expected = pd.DataFrame(generate(SEED, start_ms))
    assert stats["events_stored"] == ROWS
    assert len(stored) == ROWS
    as_set = lambda f: set(zip(f["timestamp"].astype("int64"), f["email"], f["eventName"], strict=True))  # noqa: E731
    assert as_set(stored) == as_set(expected)

    status = pd.read_parquet(out)
    assert len(status) == ROWS
    assert (status["timestamp"].astype("int64").to_numpy() == expected["timestamp"].to_numpy()).all()
    sent = status["status"] == "sent"
    skipped = (status["status"] == "skipped") & (status["reason"] == "already sent")
    assert (sent | skipped).all()
    assert skipped.sum() >= kills[-1] - KILLS * 2 * WORKERS * BATCH  # the journal held most of it
    with Journal(journal, APP) as opened:
        assert opened.count() == ROWS

    resent = stats["events_received"] - ROWS
    print(
        f"\ncrash test: {KILLS} kills at {kills} events stored; {resent} events re-sent, "
        f"{resent / KILLS / BATCH:.1f} batches a crash ({resent / (KILLS - 1) / BATCH:.1f} a kill "
        f"while sending, at most {WORKERS} in flight); final run sent {int(sent.sum())}, "
        f"skipped {int(skipped.sum())} as already sent"
    )
    record_property("events_resent_after_crashes", resent)
    # Each worker records its batch before sending another, so a kill can only cost the
    # requests in flight: at most one batch a worker.
    assert 0 <= resent <= KILLS * WORKERS * BATCH
