"""The number of HTTP requests a publish made to the events endpoint (the summary's ``requests``):
on the status frame's attrs for a frame, on the RunReport for chunks and files, equal to what the
sandbox counted, retries and the halves of split batches included, token requests not."""

from __future__ import annotations

import pandas as pd

import productiv_pandas as pp

NOW = pd.Timestamp("2026-12-02T12:00:00Z")


def _events(rows: int, start: int = 0) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "timestamp": [NOW - pd.Timedelta(minutes=1 + i) for i in range(start, start + rows)],
            "email": [f"user{i}@example.com" for i in range(start, start + rows)],
            "eventName": ["opened_file"] * rows,
        }
    )


def test_a_frame_publish_puts_its_requests_in_the_status_attrs(sandbox_with):
    sandbox = sandbox_with("acme")
    sandbox.fail_next(1, status=429, retry_after=0.01)
    sandbox.fail_next(1, status=422, message="bad event")  # the next batch is split in halves
    client = sandbox.client()
    status = pp.publish(_events(10), "acme", client=client, batch_size=4, max_workers=1, now=NOW,
                        progress=False)  # fmt: skip
    # 3 batches + 1 retry (429) + 2 halves (422) = 6; the token request is not counted
    assert sandbox.stats()["event_requests"] == 6
    assert status.attrs["requests"] == 6
    assert status["status"].value_counts()["sent"] == 10
    client.close()


def test_a_validate_makes_no_request():
    assert "requests" not in pp.validate(_events(3), now=NOW).attrs
    assert pp.validate_chunks([_events(3)], now=NOW).requests == 0


def test_publish_chunks_sums_the_requests_of_every_chunk(sandbox_with):
    sandbox = sandbox_with("acme")
    sandbox.fail_next(2, status=503, retry_after=0.01)
    with sandbox.client() as client:
        report = pp.publish_chunks([_events(5), _events(5, start=5), _events(2, start=10)], "acme",
                                   client=client, batch_size=2, max_workers=2, now=NOW,
                                   progress=False)  # fmt: skip
    assert sandbox.stats()["event_requests"] == 3 + 3 + 1 + 2
    assert report.requests == 9
    assert report.counts["sent"] == 12


def test_a_publish_with_nothing_to_send_made_no_request(sandbox_with):
    sandbox = sandbox_with("acme")
    bad = _events(2).assign(email="nobody")
    with sandbox.client() as client:
        status = pp.publish(bad, "acme", client=client, now=NOW, progress=False)
        report = pp.publish_chunks([bad], "acme", client=client, now=NOW, progress=False)
    assert status.attrs["requests"] == 0
    assert report.requests == 0
    assert sandbox.stats()["event_requests"] == 0
