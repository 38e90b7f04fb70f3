"""How fast does the sandbox accept batches of 1000 events?

N client threads, each with its own ``requests.Session`` (pooled keep-alive connection) and its
own access token, POST pre-serialized batches of 1000 distinct events as fast as the server
answers; the rate limit is off. Two set-ups:

- ``process``: the sandbox in a child process, as with ``productiv-pandas sandbox``: server
  and clients each have their own interpreter and GIL, so the figures are the server's own;
- ``inprocess``: the sandbox in the benchmark's process, as in the test suite and the demo:
  server threads share the GIL with the clients.

Printed for each: events/second over the whole run; the server's time per batch, from its
request log's ``handle_seconds`` (wall time from the body in hand to the answer ready: parse,
check, store); the server process's CPU time per batch (``process`` only: everything, HTTP
framing and socket reads included); and the latency each client saw. On a 2-core machine the
clients (``requests`` is far heavier than the server) and the server compete for the cores.

Run: ``.venv/bin/python benchmarks/bench_sandbox.py [--clients 1 2 4 8] [--batches 300]``
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import statistics
import threading
import time

import requests

from productiv_pandas.sandbox import Sandbox

BATCH_SIZE = 1000
T0 = 1_700_000_000_000


def make_bodies(batches: int) -> list[bytes]:
    """Distinct events, serialized once, as the toolkit's batches stage does."""
    names = ["opened_file", "shared_file", "edited_file", "commented"]
    bodies = []
    for b in range(batches):
        events = [
            {
                "timestamp": T0 + b * BATCH_SIZE + i,
                "email": f"user{(b * 7 + i) % 5000}@example.com",
                "eventName": names[i % len(names)],
            }
            for i in range(BATCH_SIZE)
        ]
        bodies.append(json.dumps({"events": events}, separators=(",", ":")).encode())
    return bodies


def _report(sandbox: Sandbox, cpu_start: float) -> dict:
    handled = [r.handle_seconds for r in sandbox.requests if r.app_id is not None and r.status == 200]
    return {"handle": handled, "stats": sandbox.stats(), "cpu": time.process_time() - cpu_start}


def _serve_in_child(conn) -> None:
    with Sandbox(rate_limit=None) as sandbox:
        conn.send((sandbox.url, sandbox.client_id, sandbox.client_secret))
        cpu_start = time.process_time()
        while (command := conn.recv()) != "stop":
            if command == "reset":
                sandbox.reset()
                cpu_start = time.process_time()
                conn.send(None)
            else:
                conn.send(_report(sandbox, cpu_start))


class ChildSandbox:
    """The sandbox in another process, driven over a pipe."""

    label = "server in a child process (own GIL; the server's figures alone)"

    def __enter__(self) -> ChildSandbox:
        context = multiprocessing.get_context("spawn")
        self.conn, child_conn = context.Pipe()
        self.process = context.Process(target=_serve_in_child, args=(child_conn,), daemon=True)
        self.process.start()
        self.url, self.client_id, self.client_secret = self.conn.recv()
        return self

    def reset(self) -> None:
        self.conn.send("reset")
        self.conn.recv()

    def report(self) -> dict:
        self.conn.send("report")
        return self.conn.recv()

    def __exit__(self, *exc_info: object) -> None:
        self.conn.send("stop")
        self.process.join(10)


class LocalSandbox:
    """The sandbox in this process, sharing the GIL with the client threads."""

    label = "server in the benchmark's process (shares the GIL with the clients, as in tests)"

    def __enter__(self) -> LocalSandbox:
        self.sandbox = Sandbox(rate_limit=None).start()
        self.url, self.client_id, self.client_secret = (
            self.sandbox.url,
            self.sandbox.client_id,
            self.sandbox.client_secret,
        )
        return self

    def reset(self) -> None:
        self.sandbox.reset()

    def report(self) -> dict:
        report = _report(self.sandbox, 0.0)
        report["cpu"] = None  # the process's CPU time includes the clients here
        return report

    def __exit__(self, *exc_info: object) -> None:
        self.sandbox.stop()


def run_clients(server, bodies: list[bytes], clients: int) -> tuple[float, list[float]]:
    """POST every body once, spread over ``clients`` threads; return (wall seconds, latencies)."""
    url = f"{server.url}/services/push/v1/customer/apps/{Sandbox.DEMO_APP}/events"
    latencies: list[float] = []
    lock = threading.Lock()
    ready = threading.Barrier(clients + 1)
    errors: list[str] = []

    def client(share: list[bytes]) -> None:
        session = requests.Session()
        token = session.post(
            f"{server.url}/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=(server.client_id, server.client_secret),
            timeout=10,
        ).json()["access_token"]
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
        session.post(url, data=b'{"events": []}', headers=headers, timeout=10)  # open the connection
        mine = []
        ready.wait()
        for body in share:
            started = time.perf_counter()
            response = session.post(url, data=body, headers=headers, timeout=30)
            mine.append(time.perf_counter() - started)
            if response.status_code != 200:
                errors.append(f"{response.status_code} {response.text[:200]}")
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(bodies[i::clients],)) for i in range(clients)]
    for thread in threads:
        thread.start()
    ready.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    if errors:
        raise SystemExit(f"{len(errors)} batches refused, e.g. {errors[0]}")
    return wall, latencies


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def bench(server, bodies: list[bytes], client_counts: list[int]) -> None:
    print(f"\n{server.label}")
    print(
        f"{'clients':>7} {'batches':>7} {'events/s':>10}  {'server ms/batch':>21}  "
        f"{'server CPU':>10}  {'client ms/batch':>15}"
    )
    print(
        f"{'':>7} {'':>7} {'':>10}  {'mean':>7}{'p50':>7}{'p95':>7}  {'ms/batch':>10}  {'p50':>7}{'p95':>8}"
    )
    for clients in client_counts:
        server.reset()
        wall, latencies = run_clients(server, bodies, clients)
        report = server.report()
        handled = [s * 1000 for s in report["handle"][clients:]]  # skip each client's empty warm-up
        stored = report["stats"]["events_stored"]
        assert stored == len(bodies) * BATCH_SIZE, report["stats"]
        cpu = "n/a" if report["cpu"] is None else f"{report['cpu'] * 1000 / len(bodies):.2f}"
        lat = [s * 1000 for s in latencies]
        mean, p50, p95 = statistics.fmean(handled), percentile(handled, 50), percentile(handled, 95)
        server_ms = f"{mean:>7.2f}{p50:>7.2f}{p95:>7.2f}"
        print(
            f"{clients:>7} {len(bodies):>7} {stored / wall:>10,.0f}  {server_ms}  "
            f"{cpu:>10}  {percentile(lat, 50):>7.2f}{percentile(lat, 95):>8.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--batches", type=int, default=300, help="batches of 1000 events per run")
    parser.add_argument("--where", choices=["process", "inprocess", "both"], default="both")
    args = parser.parse_args()

    bodies = make_bodies(args.batches)
    size = statistics.fmean(len(b) for b in bodies) / 1024
    print(
        f"Sandbox benchmark: {args.batches} batches of {BATCH_SIZE} events ({size:.0f} KiB each), "
        f"rate limit off; {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"load average {os.getloadavg()[0]:.1f} at the start"
    )
    setups = {"process": [ChildSandbox], "inprocess": [LocalSandbox], "both": [ChildSandbox, LocalSandbox]}
    for setup in setups[args.where]:
        with setup() as server:
            bench(server, bodies, args.clients)


if __name__ == "__main__":
    main()
