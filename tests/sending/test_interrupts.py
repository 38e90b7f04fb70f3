"""Ctrl-C ends a publish promptly whatever the server does: a real SIGINT to a real subprocess.

The server is a raw socket on 127.0.0.1 that records the events of every request and, request
by request, answers success, never answers, or trickles an answer a byte at a time. The process
publishing to it gets SIGINT (once, or twice within the grace for requests in flight) and must
exit within seconds with :class:`PublishInterrupted`: every row once, the rows of abandoned
requests ``failed`` "interrupted", what the status and the journal call ``sent`` exactly what
the server acknowledged, and nothing sent after the process reported the interruption.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest

import productiv_pandas as pp
from tests.helpers.raw_server import RawServer

pytestmark = pytest.mark.timeout(120)

APP = "acme"
TOKEN = "fixed-token-for-interrupts-s3cr3t"
OK = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 17\r\n\r\n{"success": true}'
SCRIPT = Path(sys.executable).with_name("productiv-pandas")


class Server(RawServer):
    """Records each request's events; ``policy(number)`` says "ok", "hang" or "trickle".

    RawServer's socket, accept loop and close; its own way of serving, since it reads bodies.
    """

    def __init__(self, policy: Callable[[int], str]) -> None:
        self._closed = threading.Event()
        super().__init__(handler=None)  # type: ignore[arg-type]
        self.policy = policy
        self.requests: list[list[dict]] = []  # type: ignore[assignment]  (events, not headers)
        self.acknowledged: list[dict] = []  # events of the requests answered {"success": true}

    def _serve(self, conn: socket.socket) -> None:
        with conn, conn.makefile("rb") as reader, contextlib.suppress(OSError, ValueError):
            while reader.readline():
                headers = {}
                while (line := reader.readline()) not in (b"\r\n", b""):
                    name, value = line.decode().split(":", 1)
                    headers[name.strip().lower()] = value.strip()
                events = json.loads(reader.read(int(headers["content-length"])))["events"]
                with self._lock:
                    self.requests.append(events)
                    what = self.policy(len(self.requests))
                if what == "ok":
                    conn.sendall(OK)
                    with self._lock:
                        self.acknowledged.extend(events)
                    continue
                if what == "trickle":  # headers, then one byte of body every half second
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n")
                    while not self._closed.wait(0.5):
                        conn.sendall(b" ")
                self._closed.wait()  # "hang": never answer
                return

    def snapshot(self) -> tuple[int, list[str]]:
        with self._lock:
            return len(self.requests), sorted(e["email"] for e in self.acknowledged)

    def close(self) -> None:
        self._closed.set()
        super().close()


@pytest.fixture
def serve() -> Iterator[Callable[[Callable[[int], str]], Server]]:
    servers: list[Server] = []

    def start(policy: Callable[[int], str]) -> Server:
        servers.append(Server(policy))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


PUBLISHER = textwrap.dedent(
    """
    import json, sys, threading, time
    import pandas as pd
    import productiv_pandas as pp

    url, path, how, journal, linger = sys.argv[1:6]
    client = pp.ProductivClient(sys.argv[6], base_url=url, timeout=(5, 120),
                                retry=pp.RetryPolicy(max_retries=0))
    knobs = dict(client=client, progress=False, batch_size=50, max_workers=4, journal=journal or None)
    result = {"interrupted": False}
    try:
        if how == "frame":
            pp.publish(pd.read_csv(path), "acme", **knobs)
        else:
            pp.publish_file(path, "acme", status_out=path + ".status.csv", chunksize=400, **knobs)
    except pp.PublishInterrupted as exc:
        status = exc.status
        result = {
            "interrupted": True,
            "index": status.index.tolist(),
            "status": status["status"].astype(str).tolist(),
            "reason": status["reason"].astype(object).where(status["reason"].notna(), None).tolist(),
            "email": status["email"].tolist(),
        }
    alive = lambda: [t.name for t in threading.enumerate() if t.name.startswith("productiv-")]
    result["threads"] = alive()
    print(json.dumps(result), flush=True)
    time.sleep(float(linger))  # a worker that kept sending would reach the server meanwhile
    print(json.dumps({"threads": alive()}), flush=True)
    """
)


def events_file(tmp_path: Path, n: int) -> Path:
    now = pd.Timestamp.now(tz="UTC").floor("s")
    path = tmp_path / "events.csv"
    pd.DataFrame(
        {
            "timestamp": [(now - pd.Timedelta(seconds=10 + i)).isoformat() for i in range(n)],
            "email": [f"user{i}@example.com" for i in range(n)],
            "eventName": ["opened_file"] * n,
        }
    ).to_csv(path, index=False)
    return path


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRODUCTIV_")}
    env["CI"] = "1"
    return env


def start_publisher(tmp_path: Path, server: Server, path: Path, how: str, *, journal="", linger=0.0):
    script = tmp_path / "publisher.py"
    script.write_text(PUBLISHER)
    args = [sys.executable, str(script), server.url, str(path), how, str(journal), str(linger), TOKEN]
    process = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment()
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()
    return process, lines


def finish(process: subprocess.Popen) -> str:
    """Wait for the process to exit (its stdout is read by another thread); return its stderr."""
    stderr = process.stderr.read()  # until the process closes it, at exit
    process.wait(timeout=60)
    return stderr


def wait_for_requests(server: Server, process: subprocess.Popen, count: int) -> None:
    deadline = time.monotonic() + 60
    while server.snapshot()[0] < count:
        assert process.poll() is None, process.stderr.read()
        assert time.monotonic() < deadline, "the publisher never sent its requests"
        time.sleep(0.02)
    time.sleep(0.2)  # the requests are in flight, waiting for the answer


@pytest.mark.slow
@pytest.mark.parametrize("how", ["frame", "file"])
@pytest.mark.parametrize("answer", ["hang", "trickle"])
def test_one_ctrl_c_ends_the_run_within_seconds_against_a_server_that_never_answers(
    serve, tmp_path, how, answer
):
    server = serve(lambda number: answer)
    path = events_file(tmp_path, 1000)
    process, lines = start_publisher(tmp_path, server, path, how)
    wait_for_requests(server, process, 4)  # every worker waits for an answer that never comes
    process.send_signal(signal.SIGINT)
    sent_at = time.monotonic()
    stderr = finish(process)
    assert time.monotonic() - sent_at < 10, stderr
    assert process.returncode == 0, stderr
    result = json.loads(lines.get(timeout=5))
    assert result["interrupted"] is True
    assert result["threads"] == []  # no worker outlives the call
    rows = 1000 if how == "frame" else 400  # publish_file read one chunk, the rest was never read
    assert result["index"] == list(range(rows))  # every row exactly once
    assert set(result["status"]) == {"failed"}
    assert set(result["reason"]) == {"interrupted"}
    assert server.snapshot()[1] == []  # nothing was acknowledged
    assert TOKEN not in stderr
    if how == "file":
        written = pd.read_csv(f"{path}.status.csv", index_col=0)
        assert written.index.tolist() == list(range(400))
        assert set(written["reason"]) == {"interrupted"}


@pytest.mark.slow
def test_a_second_ctrl_c_abandons_at_once_and_nothing_is_sent_behind_the_statuss_back(serve, tmp_path):
    # Odd requests are acknowledged, even ones never answered: after a few requests every
    # worker waits on one. Before the fix, a second Ctrl-C left the workers running: they sent
    # 300 more rows than the status frame and the journal said.
    server = serve(lambda number: "ok" if number % 2 else "hang")
    path = events_file(tmp_path, 2000)
    journal = tmp_path / "sent.journal"
    process, lines = start_publisher(tmp_path, server, path, "frame", journal=journal, linger=3)
    wait_for_requests(server, process, 8)
    process.send_signal(signal.SIGINT)
    first = time.monotonic()
    time.sleep(0.4)  # within the grace for requests in flight
    process.send_signal(signal.SIGINT)
    result = json.loads(lines.get(timeout=10))
    assert time.monotonic() - first < 10
    requests_when_reported, acknowledged = server.snapshot()
    stderr = finish(process)
    assert process.returncode == 0, stderr
    assert json.loads(lines.get(timeout=5)) == {"threads": []}
    assert result["interrupted"] is True
    assert result["threads"] == []
    assert server.snapshot() == (requests_when_reported, acknowledged)  # nothing sent afterwards
    status = pd.DataFrame({k: result[k] for k in ("status", "reason", "email")}, index=result["index"])
    assert status.index.tolist() == list(range(2000))
    sent = status[status["status"] == "sent"]
    assert sorted(sent["email"]) == acknowledged
    assert 0 < len(sent) < 2000
    assert set(status.loc[status["status"] != "sent", "reason"]) == {"interrupted"}
    frame = pp.validate(pd.read_csv(path))  # the triples as sent: timestamps in ms
    with pp.Journal(journal, APP) as opened:
        known = opened.sent_mask(frame["timestamp"], frame["email"], frame["eventName"])
    assert sorted(frame.loc[known, "email"]) == acknowledged


@pytest.mark.slow
def test_the_cli_exits_130_promptly_on_ctrl_c_against_a_server_that_never_answers(serve, tmp_path):
    server = serve(lambda number: "hang")
    path = events_file(tmp_path, 1000)
    env = {**environment(), "PRODUCTIV_ACCESS_TOKEN": TOKEN, "PRODUCTIV_API_URL": server.url}
    process = subprocess.Popen(
        [str(SCRIPT), "publish", str(path), "--app-id", APP, "--batch-size", "50", "--no-progress"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    wait_for_requests(server, process, 4)
    process.send_signal(signal.SIGINT)
    sent_at = time.monotonic()
    _, stderr = process.communicate(timeout=60)
    assert time.monotonic() - sent_at < 10, stderr
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert TOKEN not in stderr


# --- a second Ctrl-C while the first is handled, in this process ------------------------------


class _InterruptingClient:
    """A client double: its first request sends the process a Ctrl-C, then waits until abandoned."""

    def __init__(self) -> None:
        self.calls = 0
        self.abandoned = threading.Event()

    def post_events(self, app_id, payload, *, cancel=None, abandon=None, max_retries=None):
        from productiv_pandas.client._client import Delivery

        self.calls += 1
        if self.calls == 1:
            os.kill(os.getpid(), signal.SIGINT)
        if abandon.wait(30):
            self.abandoned.set()
        return Delivery(False, None, 1, None, "interrupted while the request was in flight", "cancelled")


def _ctrl_c_again_while(monkeypatch, owner, name: str) -> list[str]:
    """Patch ``owner.name`` to get a Ctrl-C (SIGINT to this process) each time it is called."""
    original, calls = getattr(owner, name), []

    def interrupted(*args, **kwargs):
        calls.append(name)
        signal.raise_signal(signal.SIGINT)
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, interrupted)
    return calls


def _productiv_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("productiv-")]


@pytest.mark.timeout(60)
def test_a_second_ctrl_c_while_the_statuses_are_settled_still_gives_the_status_frame(monkeypatch):
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    from productiv_pandas.sending._outcomes import StatusArrays

    again = _ctrl_c_again_while(monkeypatch, StatusArrays, "settle")
    client = _InterruptingClient()
    frame = pd.read_csv(events_file_in_memory(120))
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt) as caught:
        pp.publish(frame, APP, client=client, batch_size=10, max_workers=2, progress=False)
    assert time.monotonic() - started < 20
    assert isinstance(caught.value, pp.PublishInterrupted)  # not a bare KeyboardInterrupt
    assert again == ["settle"]
    status = caught.value.status
    assert status.index.tolist() == list(range(120))
    assert set(status["status"]) == {"failed"}
    assert set(status["reason"]) == {"interrupted"}
    assert _productiv_threads() == []
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # put back


@pytest.mark.timeout(60)
def test_a_second_ctrl_c_while_the_status_file_is_written_still_writes_it(monkeypatch, tmp_path):
    from productiv_pandas.files._run import FileRun

    again = _ctrl_c_again_while(monkeypatch, FileRun, "write")
    path = events_file(tmp_path, 120)
    out = tmp_path / "status.csv"
    with pytest.raises(KeyboardInterrupt) as caught:
        pp.publish_file(
            path, APP, client=_InterruptingClient(), status_out=out, batch_size=10, max_workers=2,
            progress=False,
        )  # fmt: skip
    assert isinstance(caught.value, pp.PublishInterrupted)
    assert again == ["write"]
    written = pd.read_csv(out, index_col=0)
    assert written.index.tolist() == list(range(120))
    assert set(written["reason"]) == {"interrupted"}
    assert _productiv_threads() == []
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_ctrl_c_after_the_rearm_time_raises_again():
    from productiv_pandas.sending import _workers as workers

    def ctrl_c_long_after_a_first_one() -> None:
        handler = signal.getsignal(signal.SIGINT)
        handler.first = time.monotonic() - workers.REARM_SECONDS - 1  # a first Ctrl-C long ago
        signal.raise_signal(signal.SIGINT)
        time.sleep(1)  # the handler raises here

    with workers.one_interrupt(), pytest.raises(KeyboardInterrupt):
        ctrl_c_long_after_a_first_one()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def events_file_in_memory(n: int):
    import io

    now = pd.Timestamp.now(tz="UTC").floor("s")
    frame = pd.DataFrame(
        {
            "timestamp": [(now - pd.Timedelta(seconds=10 + i)).isoformat() for i in range(n)],
            "email": [f"user{i}@example.com" for i in range(n)],
            "eventName": ["opened_file"] * n,
        }
    )
    return io.StringIO(frame.to_csv(index=False))
