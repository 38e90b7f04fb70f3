"""Time ``publish()`` against the loop an analyst writes by hand, both sending to a sandbox process.

The input: ``--rows`` valid events (default 1,000,000), every one distinct, within the 12 hours
before a fixed ``now``: ``timestamp`` (datetime64[us, UTC]), ``email`` (50,000 users) and
``eventName`` (str). Two ways to send them, in the same run, to the same sandbox (a child
process, rate limit off, reset between runs so its counts are exact):

- **hand loop**: timestamps to int64 ms, ``to_dict("records")``, slices of 1000 POSTed with
  ``requests.Session.post(json=...)`` one after the other on one session (one connection);
- **publish**: ``productiv_pandas.publish(frame, app, client=..., now=NOW)``: prepare (every
  check of validate), batches serialized once, ``max_workers`` threads (default 4).

Measured twice: with no added latency, and with ``--latency`` seconds (default 0.05) added to
every events answer by the sandbox's ``set_delay`` fault. For each: events/s, the ratio, the
benchmark process's CPU seconds (``time.process_time``: every thread of the process; the
server's CPU is in its own process); where publish's time goes (prepare and serialization
timed alone, against the server's own handling time from its request log); and the peak memory
of each approach in a fresh process, relative to the input frame, with publish's two halves
(``prepare_events``, then ``deliver_prepared``) also measured apart. Goals (issue 15's bars,
printed through ``_goals.goal`` for ``make bench``'s table): at the added latency, publish >= 3.7x
the hand loop's events/s with a client CPU <= 0.6x the hand loop's; with no added latency,
publish >= 2.5x the hand loop's events/s. The memory figures are printed, not judged.

    python benchmarks/bench_publish.py [--rows N] [--latency-rows N] [--latency S] [--max-workers W]
                                       [--legs fast,latency,memory]

``--legs`` runs only some parts (while iterating on one): ``fast`` (no added latency),
``latency`` (the added-latency leg), ``memory`` (the peaks in fresh processes); all by default.
Only the goals of the legs run are printed.

A benchmark, not a test: it prints its figures and exits 0 whether or not the goals are met.
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing
import os
import platform
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import requests

import productiv_pandas as pp
from productiv_pandas.preparation._options import PrepareOptions
from productiv_pandas.preparation._prepare import prepare_events
from productiv_pandas.sandbox import Sandbox
from productiv_pandas.sending._batches import make_batches
from productiv_pandas.sending._publish import deliver_prepared
from productiv_pandas.sending._settings import SendSettings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _goals import goal  # siblings, not a package
from bench_validate import measure_peak

BENCH = "publish"  # its name in run_all.py
NOW = pd.Timestamp("2025-06-10T15:00:00Z")  # fixed, so every run sends the same events
APP = Sandbox.DEMO_APP
BATCH = 1000
USERS = 50_000
CATALOG = (
    "opened_file",
    "edited_doc",
    "shared_doc",
    "commented_doc",
    "created_doc",
    "viewed_contact",
    "created_deal",
    "updated_deal",
    "logged_call",
    "sent_message",
    "reacted_to_message",
    "joined_channel",
    "started_call",
)  # fmt: skip  (no Login event: those need a targetApp)
SPAN_MS = 11 * 3_600_000  # every event within the last 11 hours: none is stale


def make_frame(rows: int, seed: int = 1) -> pd.DataFrame:
    """``rows`` distinct valid events in random order; RangeIndex."""
    rng = np.random.default_rng(seed)
    # Distinct millisecond timestamps make every (timestamp, email, eventName) triple distinct,
    # so both approaches must store exactly ``rows`` events.
    offsets = rng.choice(SPAN_MS, size=rows, replace=False)
    stamps = (NOW.value // 1_000_000 - 1 - offsets) * 1_000  # microseconds
    users = np.char.add(np.char.add("user", np.arange(USERS).astype(str)), "@example.com").astype(object)
    frame = pd.DataFrame(
        {
            "timestamp": pd.DatetimeIndex(stamps.astype("datetime64[us]")).tz_localize("UTC"),
            "email": users[rng.integers(USERS, size=rows)],
            "eventName": pd.array(np.array(CATALOG, dtype=object)[rng.integers(len(CATALOG), size=rows)]),
        }
    )
    return frame.astype({"email": "str", "eventName": "str"})


# -- the sandbox in a child process, driven over a pipe (as bench_sandbox.py does) -----------


def _serve_in_child(conn) -> None:
    with Sandbox(rate_limit=None) as sandbox:
        conn.send({"url": sandbox.url, "client_id": sandbox.client_id, "secret": sandbox.client_secret})
        cpu_start = time.process_time()
        while (command := conn.recv()) != "stop":
            if command == "reset":  # also ends any delay
                sandbox.reset()
                gc.collect()
                cpu_start = time.process_time()
                conn.send(None)
            elif isinstance(command, tuple) and command[0] == "delay":
                sandbox.set_delay(command[1])
                conn.send(None)
            else:  # "report": the server's figures since the last reset
                cpu = time.process_time() - cpu_start
                requests = [r for r in sandbox.requests if r.app_id is not None]
                handled = [r.handle_seconds for r in requests]
                arrived = [r.time for r in requests]  # when each arrived (time.monotonic)
                events = sandbox.events(APP)
                # Order-free digest of what was stored, to check both approaches stored the same.
                digest = int(pd.util.hash_pandas_object(events, index=False).to_numpy().sum())
                report = {"stats": sandbox.stats(), "handle": handled, "arrived": arrived}
                conn.send({**report, "cpu": cpu, "digest": digest})


class ChildSandbox:
    """The sandbox in another process: its own interpreter and GIL, its CPU not the client's."""

    def __enter__(self) -> ChildSandbox:
        context = multiprocessing.get_context("spawn")
        self.conn, child_conn = context.Pipe()
        self.process = context.Process(target=_serve_in_child, args=(child_conn,), daemon=True)
        self.process.start()
        self.info = self.conn.recv()
        return self

    def _ask(self, command: object) -> object:
        self.conn.send(command)
        return self.conn.recv()

    def reset(self, delay: float = 0.0) -> None:
        self._ask("reset")
        if delay:
            self._ask(("delay", delay))

    def report(self) -> dict:
        return self._ask("report")

    def __exit__(self, *exc_info: object) -> None:
        self.conn.send("stop")
        self.process.join(30)


# -- the two approaches -----------------------------------------------------------------------


def hand_loop(frame: pd.DataFrame, server: dict, timings: dict | None = None) -> int:
    """What an analyst writes with requests alone; returns the events acknowledged."""
    session = requests.Session()
    token = session.post(
        server["url"] + "/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(server["client_id"], server["secret"]),
        timeout=10,
    ).json()["access_token"]
    url = f"{server['url']}/services/push/v1/customer/apps/{APP}/events"
    headers = {"Authorization": f"Bearer {token}"}
    started = time.perf_counter()
    records = frame.assign(timestamp=frame["timestamp"].dt.as_unit("ms").astype("int64")).to_dict("records")
    if timings is not None:
        timings["to_dict"] = time.perf_counter() - started
    sent = 0
    for start in range(0, len(records), BATCH):
        chunk = records[start : start + BATCH]
        response = session.post(url, json={"events": chunk}, headers=headers, timeout=30)
        response.raise_for_status()
        sent += len(chunk)
    session.close()
    return sent


def run_publish(frame: pd.DataFrame, server: dict, workers: int = 4) -> int:
    """``publish`` as the README shows it; returns the rows marked ``sent``."""
    url = server["url"]
    client = pp.ProductivClient.from_client_credentials(
        server["client_id"], server["secret"], token_url=url + "/oauth2/token", base_url=url
    )
    with client:
        status = pp.publish(frame, APP, client=client, now=NOW, max_workers=workers, progress=False)
    return int((status["status"] == "sent").sum())


def measure(function) -> dict:
    """Wall and process CPU seconds of one call (CPU: all threads of this process)."""
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    result = function()
    return {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu, "result": result}


def stage_times(frame: pd.DataFrame) -> dict:
    """publish's client-side stages timed alone, one after the other, on one thread."""
    gc.collect()
    started = time.perf_counter()
    prepared = prepare_events(frame, PrepareOptions.from_kwargs(now=NOW))
    prepare = time.perf_counter() - started
    started = time.perf_counter()
    size = sum(len(batch.payload) for batch in make_batches(prepared.wire(), prepared.to_send, BATCH))
    return {"prepare": prepare, "serialize": time.perf_counter() - started, "bytes": size}


# -- one leg: both approaches at one latency ---------------------------------------------------


def leg(sandbox: ChildSandbox, frame: pd.DataFrame, delay: float, workers: int, stages: dict) -> dict:
    n, batches = len(frame), -(-len(frame) // BATCH)
    runs = {}
    for name in ("hand", "publish"):
        sandbox.reset(delay)
        timings: dict = {}
        if name == "hand":
            runs[name] = measure(lambda timings=timings: hand_loop(frame, sandbox.info, timings))
        else:
            runs[name] = measure(lambda: run_publish(frame, sandbox.info, workers))
        runs[name].update(timings, server=sandbox.report())
    print(f"\n{'no added latency' if not delay else f'{delay * 1000:.0f} ms added to every events answer'}: "
          f"{n:,} rows, {batches:,} batches of {BATCH}")  # fmt: skip
    print(f"  {'':<24}{'wall s':>8}{'events/s':>11}{'client CPU s':>14}{'stored':>11}{'server ms/batch':>17}")
    labels = {"hand": "hand loop (1 session)", "publish": f"publish ({workers} workers)"}
    for name, run in runs.items():
        stats, handle = run["server"]["stats"], run["server"]["handle"]
        run["rate"] = n / run["wall"]
        print(
            f"  {labels[name]:<24}{run['wall']:8.2f}{run['rate']:11,.0f}{run['cpu']:14.2f}"
            f"{stats['events_stored']:11,}{1000 * sum(handle) / max(1, len(handle)):17.2f}"
        )
    hand, pub = runs["hand"], runs["publish"]
    same = (
        hand["result"] == pub["result"] == n
        and hand["server"]["stats"]["events_stored"] == pub["server"]["stats"]["events_stored"] == n
        and hand["server"]["digest"] == pub["server"]["digest"]
    )
    print(f"  both stored the same {n:,} events (count and digest): {'yes' if same else 'NO'}")
    print(f"  ratio publish / hand loop: events/s {pub['rate'] / hand['rate']:.2f}x, client CPU "
          f"{pub['cpu'] / hand['cpu']:.2f}x")  # fmt: skip
    server = pub["server"]
    handled = sum(server["handle"])
    rest = pub["wall"] - stages["prepare"] - stages["serialize"]
    print("  where publish's time goes (prepare and serialize timed alone on one thread):")
    print(f"    prepare (prepare_events: read, normalize, check, de-duplicate) {stages['prepare']:7.2f} s")
    print(f"    batches + serialize (make_batches, Batch.payload)              {stages['serialize']:7.2f} s")
    print(f"    network, server, waiting (publish's wall minus the two above)  {rest:7.2f} s")
    print(
        f"    the server's own handling (its log, summed over {len(server['handle'])} requests) "
        f"{handled:6.2f} s; server process CPU {server['cpu']:.2f} s"
        + (f"; added delay {len(server['handle']) * delay:.1f} s over {workers} workers" if delay else "")
    )
    print(f"  hand loop: to_dict('records') {hand['to_dict']:.2f} s; the rest (json, HTTP, server) "
          f"{hand['wall'] - hand['to_dict']:.2f} s")  # fmt: skip
    return runs


# -- peak memory in a fresh process ------------------------------------------------------------


def child(name: str, rows: int, seed: int, workers: int) -> None:
    """Build the frame, warm up, then measure one call's peak RSS (bench_validate's method).

    ``prepare`` and ``deliver`` split publish in its two halves: ``prepare_events`` alone, and
    ``deliver_prepared`` (batches, sending, the status frame) measured from the RSS it starts
    with, the prepared rows already in memory.
    """
    server = json.loads(sys.stdin.readline())
    frame = make_frame(rows, seed)
    options = PrepareOptions.from_kwargs(now=NOW)
    client = pp.ProductivClient.from_client_credentials(
        server["client_id"],
        server["secret"],
        token_url=server["url"] + "/oauth2/token",
        base_url=server["url"],
    )
    functions = {
        "hand": lambda f: hand_loop(f, server),
        "publish": lambda f: run_publish(f, server, workers),
        "prepare": lambda f: prepare_events(f, options),
        "deliver": lambda p: deliver_prepared(
            p, SendSettings(APP, client=client, max_workers=workers, progress=False)
        ),
    }
    function = functions[name]
    sample = frame.iloc[:BATCH].copy()
    if name == "deliver":  # its input is the prepared rows
        sample, frame = prepare_events(sample, options), prepare_events(frame, options)
    function(sample)  # imports, schema building, first connection
    before, peak, method = measure_peak(function, frame)
    print(json.dumps({"before": before, "peak": peak, "method": method}))


def peak_in_fresh_process(sandbox: ChildSandbox, name: str, args: argparse.Namespace) -> dict:
    sandbox.reset()
    command = [sys.executable, os.path.abspath(__file__), "--child", name, "--rows", str(args.rows)]
    command += ["--seed", str(args.seed), "--max-workers", str(args.max_workers)]
    done = subprocess.run(
        command, input=json.dumps(sandbox.info) + "\n", capture_output=True, text=True, check=True
    )
    sandbox.reset()
    return json.loads(done.stdout.strip().splitlines()[-1])


LEGS = ("fast", "latency", "memory")

MEMORY_RUNS = {
    "hand": "hand loop",
    "publish": "publish",
    "prepare": "  of which prepare_events alone",
    "deliver": "  and deliver_prepared alone, after prepare",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows to publish (1000000)")
    parser.add_argument("--latency-rows", type=int, help="rows for the added-latency leg (default: --rows)")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds added to every answer (0.05)")
    parser.add_argument("--max-workers", type=int, default=4, help="publish's max_workers (4, its default)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (1)")
    parser.add_argument(
        "--legs", default="fast,latency,memory", help="parts to run, comma-separated (fast,latency,memory)"
    )
    parser.add_argument("--child", choices=sorted(MEMORY_RUNS), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.rows, args.seed, args.max_workers)
        return 0

    legs = set(args.legs.split(","))
    if not legs or legs - set(LEGS):
        parser.error(f"--legs takes some of {','.join(LEGS)}, got {args.legs!r}")
    latency_rows = args.latency_rows or args.rows
    frame = make_frame(args.rows, args.seed)
    input_bytes = int(frame.memory_usage(deep=True).sum())
    dtypes = ", ".join(f"{c} {t}" for c, t in frame.dtypes.items())
    print(f"publish() vs a hand-written requests loop: {len(frame):,} valid, distinct rows ({dtypes})")
    print(
        f"sandbox in a child process, rate limit off; {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, pandas {pd.__version__}, "
        f"load average {os.getloadavg()[0]:.1f} at the start"
    )
    print(f"input frame memory (memory_usage(deep=True)): {input_bytes / 1e6:,.1f} MB")
    with ChildSandbox() as sandbox:
        hand_loop(frame.iloc[:BATCH], sandbox.info)  # warm up both: imports, schema building
        run_publish(frame.iloc[:BATCH], sandbox.info, args.max_workers)
        stages = stage_times(frame)
        print(f"JSON sent by publish: {stages['bytes'] / 1e6:,.1f} MB in {-(-len(frame) // BATCH):,} bodies")
        fast = leg(sandbox, frame, 0.0, args.max_workers, stages) if "fast" in legs else None
        slow = None
        if "latency" in legs:
            slow_frame = frame if latency_rows >= len(frame) else frame.iloc[:latency_rows].copy()
            slow_stages = stages if slow_frame is frame else stage_times(slow_frame)
            if slow_frame is not frame:
                print(f"\n(the latency leg uses the first {latency_rows:,} rows only: --latency-rows)")
            slow = leg(sandbox, slow_frame, args.latency, args.max_workers, slow_stages)
            del slow_frame
        peaks = {}
        if "memory" in legs:
            print("\npeak memory of the call above the RSS before it (fresh process each, no added latency):")
            for name, label in MEMORY_RUNS.items():
                figures = peak_in_fresh_process(sandbox, name, args)
                extra = figures["peak"] - figures["before"]
                peaks[name] = extra / input_bytes
                rss = f"RSS {figures['before'] / 1e6:,.0f} -> {figures['peak'] / 1e6:,.0f} MB"
                print(
                    f"  {label:<44}{extra / 1e6:8.1f} MB = {peaks[name]:5.2f}x input "
                    f"({rss}, {figures['method']})"
                )

    at = f"at {args.latency * 1000:.0f} ms"
    if latency_rows < args.rows:
        at += f" ({latency_rows:,} rows)"
    print("\ngoals (issue 15; each against the hand loop in this run):")
    if slow is not None:
        speed = slow["publish"]["rate"] / slow["hand"]["rate"]
        label = f"publish events/s {at}, {args.max_workers} workers"
        goal(BENCH, label, speed, ">= 3.7x the hand loop", speed >= 3.7)
        cpu = slow["publish"]["cpu"] / slow["hand"]["cpu"]
        goal(BENCH, f"publish client CPU {at}", cpu, "<= 0.6x the hand loop", cpu <= 0.6)
    if fast is not None:
        speed = fast["publish"]["rate"] / fast["hand"]["rate"]
        goal(BENCH, "publish events/s, no added latency", speed, ">= 2.5x the hand loop", speed >= 2.5)
        cpu = fast["publish"]["cpu"] / fast["hand"]["cpu"]
        print(f"  (not a goal) publish client CPU, no added latency: {cpu:.2f}x the hand loop's")
    if peaks:
        print(f"  (not a goal) publish's peak memory: {peaks['publish']:.2f}x the input frame")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
