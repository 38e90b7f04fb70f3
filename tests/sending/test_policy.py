"""The error policy of sending (sending/_policy.py's table), each code produced by a real server.

Every delivery problem code is produced by a recipe against the sandbox (its scripted faults:
any status, a redirect, a 2xx without success, a drop, a late answer) or by the run itself (a
Ctrl-C, a stop, a journal, a bug), and the row's status, problem, http_status and reason are
asserted exactly. Each recipe publishes 3 rows in batches of 2, one request at a time, with one
retry: rows 0 and 1 share the first batch (the one the fault hits), row 2 is the next batch,
which shows whether the run stopped. The table's rows are then checked against what ``Run`` did
with the same recipes: status, code, retried, split, stop.
"""

from __future__ import annotations

import _thread
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd
import pytest

import productiv_pandas as pp
from productiv_pandas.client._retry import DEFAULT_RETRY_STATUSES
from productiv_pandas.problem_codes import PROBLEMS, http_problem
from productiv_pandas.sending._policy import BY_STATUS, POLICY, answer_of

APP = "policy-app"
SAID = "said by the test"  # the message of every scripted error answer
FAST = pp.RetryPolicy(max_retries=1, backoff_base=0.01, backoff_max=0.02)
#: Codes of the delivery part of the vocabulary: what a row's sending can end with.
DELIVERY_CODES = [
    code
    for code in PROBLEMS
    if code.startswith("http.")
    or code in ("timeout", "network", "credentials_refused", "interrupted", "not_attempted")
    or code in ("internal_error", "already_sent")
]


@pytest.fixture
def sb(sandbox_with):
    return sandbox_with(APP, events=None)


NOW = pd.Timestamp.now(tz="UTC").floor("s")  # one instant: a journal finds the same events again


def events(n: int = 3) -> pd.DataFrame:
    now = NOW
    return pd.DataFrame(
        {
            "timestamp": [now - pd.Timedelta(seconds=10 + i) for i in range(n)],
            "email": [f"user{i}@example.com" for i in range(n)],
            "eventName": ["opened_file"] * n,
        }
    )


def publish(sb, client=None, **knobs) -> pd.DataFrame:
    options = dict(batch_size=2, max_workers=1, max_retries=1, progress=False) | knobs
    with client or sb.client(retry=FAST) as used:
        return pp.publish(events(), APP, client=used, **options)


def _fail(n: int, status: int, **extra) -> Callable:
    def recipe(sb, tmp_path):
        sb.fail_next(n, status, message=SAID, **extra)
        return publish(sb)

    return recipe


def _unexpected(sb, tmp_path):
    sb.answer_next(1, 200, b'{"success": false}')
    return publish(sb)


def _timeout(sb, tmp_path):
    sb.delay_next(2, 1.0)
    return publish(sb, sb.client(retry=FAST, timeout=(0.2, 0.2)))


def _network(sb, tmp_path):
    sb.drop_next(3)  # the first drop is sent again at once (a stale keep-alive?), then one retry
    return publish(sb)


def _credentials(sb, tmp_path):
    return publish(sb, pp.ProductivClient("not-a-token-of-the-sandbox", base_url=sb.url, retry=FAST))


def _interrupted(sb, tmp_path):
    sb.delay_next(1, 4.0)  # the first request is in flight when Ctrl-C comes

    def interrupt() -> None:
        deadline = time.monotonic() + 10
        while not sb.requests and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.1)
        _thread.interrupt_main()  # a SIGINT, as the main thread's handler sees it

    threading.Thread(target=interrupt, daemon=True).start()
    with pytest.raises(pp.PublishInterrupted) as caught:
        publish(sb)
    return caught.value.status


def _internal_error(sb, tmp_path):
    class Broken:  # a client that posts, then fails: a bug below Run
        def __init__(self, client) -> None:
            self.client = client

        def post_events(self, *args, **kwargs):
            self.client.post_events(*args, **kwargs)
            raise RuntimeError("a bug")

    with sb.client(retry=FAST) as client:
        return pp.publish(events(), APP, client=Broken(client), batch_size=2, max_workers=1, progress=False)


def _already_sent(sb, tmp_path):
    first = publish(sb, journal=tmp_path / "journal")
    assert first["status"].tolist() == ["sent"] * 3
    return publish(sb, journal=tmp_path / "journal")


def _sent(sb, tmp_path):
    return publish(sb)


@dataclass(frozen=True)
class Recipe:
    """How to produce a code, and what its first row must then be."""

    make: Callable
    answer: str | None  # the row of POLICY it exercises (None: not an answer of the API)
    status: str
    http_status: int | None
    reason: str  # the reason starts with this
    row: int = 0
    attempts: int | None = None
    extra: dict = field(default_factory=dict)


def _http(status: int, answer: str, rows: str, n: int = 1, reason: str | None = None, **extra) -> Recipe:
    rule = POLICY[answer]
    shown = reason if reason is not None else (f"HTTP {status}: {SAID}" if "HTTP" in rule.reason else SAID)
    return Recipe(_fail(n, status, **extra), answer, rows, status, shown)


STOPPED_BY_403 = f"not attempted: the API answered HTTP 403 ({SAID}) to an earlier batch"
REDIRECTED = "HTTP 302: redirected to https://elsewhere.example/services/push/v1/, not followed"
UNEXPECTED = 'HTTP 200 without {"success": true} in the answer: {"success": false}'
TIMED_OUT = "timed out waiting for the answer (timeout=(0.2, 0.2) s)"

RECIPES: dict[str, Recipe] = {
    "http.400": _http(400, "400", "rejected", n=3),  # the batch, then each half alone
    "http.403": _http(403, "403", "rejected"),
    "http.404": _http(404, "404", "rejected"),
    "http.408": _http(408, "408", "failed"),
    "http.409": _http(409, "409", "failed"),
    "http.413": _http(413, "413", "rejected", n=3),
    "http.422": _http(422, "422", "rejected", n=3),
    "http.429": _http(429, "429", "failed", n=2, retry_after=0.01),
    "http.500": _http(500, "500", "failed", n=2),
    "http.502": _http(502, "502", "failed", n=2),
    "http.503": _http(503, "503", "failed", n=2),
    "http.504": _http(504, "504", "failed", n=2),
    "http.4xx": _http(418, "4xx", "failed"),
    "http.5xx": _http(507, "5xx", "failed", n=2),
    "http.redirect": _http(
        302, "3xx", "failed", reason=REDIRECTED
    ),
    "http.unexpected_answer": Recipe(
        _unexpected, "unexpected", "failed", 200, UNEXPECTED
    ),
    "timeout": Recipe(_timeout, "timeout", "failed", None, TIMED_OUT),
    "network": Recipe(_network, "network", "failed", None, "connection failed: "),
    "credentials_refused": Recipe(
        _credentials, "401", "failed", 401,
        "credentials refused: the access token was refused (a fixed access token cannot be renewed): ",
    ),
    "interrupted": Recipe(_interrupted, "interrupted", "failed", None, "interrupted"),
    "not_attempted": Recipe(_fail(1, 403), None, "failed", None, STOPPED_BY_403, row=2),
    "internal_error": Recipe(_internal_error, None, "failed", None, "internal error: RuntimeError('a bug')"),
    "already_sent": Recipe(_already_sent, None, "skipped", None, "already sent"),
}  # fmt: skip
#: Rows of the table no code of its own exercises.
MORE_ANSWERS: dict[str, Recipe] = {
    "2xx": Recipe(_sent, "2xx", "sent", 200, ""),
    "wait longer": _http(
        429, "wait longer", "failed", retry_after=3600,
        reason=f"HTTP 429: {SAID} (the server asked to wait 3600 s, more than "
        "RetryPolicy.max_retry_after=300 s)",
    ),
}  # fmt: skip

_results: dict[str, tuple[pd.DataFrame, list[int]]] = {}


def produce(name: str, recipe: Recipe, sb, tmp_path) -> tuple[pd.DataFrame, list[int]]:
    """The status frame of a recipe, and the number of events in each request the sandbox got."""
    status = recipe.make(sb, tmp_path)
    return status, [record.events for record in sb.requests if record.app_id == APP]


@pytest.mark.parametrize("code", list(RECIPES))
def test_each_delivery_code_comes_from_a_real_server(sb, tmp_path, code):
    recipe = RECIPES[code]
    status, _ = produce(code, recipe, sb, tmp_path)
    row = status.iloc[recipe.row]
    assert (row["status"], row["problem"]) == (recipe.status, code)
    assert (None if pd.isna(row["http_status"]) else int(row["http_status"])) == recipe.http_status
    assert row["reason"].startswith(recipe.reason), row["reason"]
    if code == "not_attempted":
        assert row["reason"] == STOPPED_BY_403
    assert status["problem"].notna().sum() == (status["status"] != "sent").sum()  # one code a row not sent


def test_the_recipes_cover_every_delivery_code_of_the_vocabulary():
    assert sorted(RECIPES) == sorted(DELIVERY_CODES)
    assert "http.401" not in PROBLEMS  # a 401 always ends as credentials_refused


@pytest.mark.parametrize("answer", list(POLICY))
def test_each_row_of_the_table_is_what_a_run_does(sb, tmp_path, answer):
    rule = POLICY[answer]
    recipes = [r for r in [*RECIPES.values(), *MORE_ANSWERS.values()] if r.answer == answer]
    assert recipes, f"no recipe exercises the answer {answer!r}"
    recipe = recipes[0]
    status, requests = produce(answer, recipe, sb, tmp_path)
    first = status.iloc[0]
    assert first["status"] == rule.status
    code = first["problem"] if pd.notna(first["problem"]) else None
    http = None if pd.isna(first["http_status"]) else int(first["http_status"])
    assert code == rule.code(http)
    if rule.reason is None:
        assert pd.isna(first["reason"])
    else:  # the template's words before the message, the status filled in
        assert first["reason"].startswith(rule.reason.split("{message}")[0].format(status=http))
    last = status.iloc[2]
    if rule.stops is not None:
        assert (last["status"], last["problem"]) == ("failed", "not_attempted")
        cause = rule.stops.format(status=http, message="")
        assert last["reason"].startswith("not attempted: " + cause.split("(")[0])
    elif answer != "interrupted":
        assert last["status"] == "sent"
    # Split: the first batch went out whole once, then each row alone.
    assert (requests[:3] == [2, 1, 1]) == rule.split
    if not rule.split and answer != "interrupted":
        assert (int(first["attempts"]) > 1) == rule.retried


def test_the_client_retries_by_default_exactly_the_statuses_the_table_says():
    # The client (no pandas, a layer below) keeps its own RetryPolicy; the table documents and
    # applies the outcome. They must agree on what is retried, for every status there is.
    for status in range(100, 600):
        answer = answer_of("retry_exhausted" if status in DEFAULT_RETRY_STATUSES else "other", status, None)
        if 200 <= status < 300:
            continue  # a 2xx is never retried: sent, or unexpected
        assert POLICY[answer].retried == (status in DEFAULT_RETRY_STATUSES), status
    assert POLICY["timeout"].retried  # the client retries both
    assert POLICY["network"].retried


def test_each_status_has_the_code_problems_gives_it():
    for status in range(100, 1000):
        answer = answer_of("other", status, None)
        rule = POLICY[answer]
        if answer == "401":
            assert rule.problem == "credentials_refused"
        elif answer == "unexpected":
            assert (rule.problem, http_problem(status)) == (
                "http.unexpected_answer",
                "http.unexpected_answer",
            ) or (200 <= status < 300)
        else:
            assert rule.code(status) == http_problem(status), status


def test_every_code_of_the_table_is_in_the_vocabulary():
    codes = {rule.problem for rule in POLICY.values()} - {None, BY_STATUS}
    assert codes <= set(PROBLEMS)
    assert {rule.status for rule in POLICY.values()} == {"sent", "rejected", "failed"}


def test_timeouts_and_network_errors_are_told_apart_by_the_delivery_not_its_text(sb):
    with sb.client(retry=pp.RetryPolicy(max_retries=0), timeout=(0.2, 0.2)) as client:
        sb.delay_next(1, 1.0)
        late = client.post_events(APP, b'{"events": []}')
        sb.drop_next(2)
        dropped = client.post_events(APP, b'{"events": []}')
    assert (late.kind, late.status, late.no_answer) == ("retry_exhausted", None, "timeout")
    assert (dropped.kind, dropped.status, dropped.no_answer) == ("retry_exhausted", None, "network")
    assert pp.ProductivClient  # Delivery stays constructible without the new field:
    from productiv_pandas.client import Delivery

    assert Delivery(False, None, 1, None, "x", "other").no_answer is None
