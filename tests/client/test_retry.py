"""The retry policy: full-jitter backoff bounds, the Retry-After floor, Retry-After parsing; and the
client retrying against a scripted server (tests/helpers/fake_productiv.py): 5xx, 429 and
Retry-After, dropped connections, timeouts.
"""

from __future__ import annotations

import dataclasses
import doctest
import pickle
import random
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, formatdate

import numpy as np
import pytest

import productiv_pandas
import productiv_pandas.client._retry
from productiv_pandas.client._client import Delivery, ProductivClient
from productiv_pandas.client._retry import RetryPolicy, StatusSet, parse_retry_after
from productiv_pandas.errors import ConfigurationError
from tests.helpers.fake_productiv import (
    ACCESS_TOKEN,
    FAST,
    PAYLOAD,
    Reply,
    clean,
    free_port,
    productiv_error,
    wait_for,
)

#: every test also checks that no log line, of ours or of requests/urllib3, holds a secret
pytestmark = pytest.mark.usefixtures("no_secret_in_logs")


def test_defaults():
    policy = RetryPolicy()
    assert policy.max_retries == 5
    assert policy.backoff_base == 0.5
    assert policy.backoff_max == 30.0
    assert policy.retry_statuses == frozenset({429, *range(500, 600)})
    assert policy.max_retry_after == 300.0


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504, 507, 520, 522, 524, 599])
def test_429_and_every_5xx_are_retried_by_default(status):
    assert status in RetryPolicy().retry_statuses


@pytest.mark.parametrize("status", [200, 400, 401, 403, 404, 408, 409, 422, 428, 431, 499])
def test_other_statuses_are_final_by_default(status):
    assert status not in RetryPolicy().retry_statuses


def test_the_repr_writes_every_5xx_as_one_range():
    assert repr(RetryPolicy()) == (
        "RetryPolicy(max_retries=5, backoff_base=0.5, backoff_max=30.0, "
        "retry_statuses=StatusSet({429, *range(500, 600)}), max_retry_after=300.0)"
    )
    assert repr(StatusSet({503, 429, 500, 501})) == "StatusSet({429, 500, 501, 503})"
    assert repr(StatusSet()) == "StatusSet()"


def test_policy_is_frozen_and_hashable():
    policy = RetryPolicy()
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.max_retries = 1  # type: ignore[misc]
    assert hash(policy) == hash(RetryPolicy())
    assert dataclasses.replace(policy, max_retries=2).max_retries == 2


def test_retry_statuses_accept_any_iterable_and_stay_frozen():
    policy = RetryPolicy(retry_statuses={503, 429})  # type: ignore[arg-type]
    assert policy.retry_statuses == frozenset({429, 503})
    assert isinstance(policy.retry_statuses, frozenset)
    only_5xx = RetryPolicy(retry_statuses=range(500, 600))  # type: ignore[arg-type]
    assert only_5xx.retry_statuses == frozenset(range(500, 600))
    assert hash(only_5xx) == hash(RetryPolicy(retry_statuses=frozenset(range(500, 600))))
    assert RetryPolicy(retry_statuses=[np.int64(503)]).retry_statuses == {503}  # type: ignore[list-item]
    assert pickle.loads(pickle.dumps(RetryPolicy())) == RetryPolicy()


@pytest.mark.parametrize("statuses", ["503", 503, [503, "429"], [503.0], [True], [99], [600]])
def test_retry_statuses_must_be_http_statuses(statuses):
    with pytest.raises(ConfigurationError, match="retry_statuses must") as info:
        RetryPolicy(retry_statuses=statuses)
    assert repr(statuses if isinstance(statuses, str | int) else statuses[-1]) in str(info.value)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_retries", -1),
        ("max_retries", 1.5),
        ("max_retries", True),
        ("backoff_base", -0.1),
        ("backoff_max", float("nan")),
        ("max_retry_after", "10"),
    ],
)
def test_bad_values_are_configuration_errors(field, value):
    with pytest.raises(ConfigurationError, match=field) as info:
        RetryPolicy(**{field: value})
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("attempt", "cap"), [(0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (5, 16.0), (6, 30.0), (9, 30.0)]
)
def test_full_jitter_spans_zero_to_the_exponential_cap(attempt, cap):
    policy = RetryPolicy()
    assert policy.delay(attempt, None, random=lambda: 0.0) == 0.0
    assert policy.delay(attempt, None, random=lambda: 0.5) == pytest.approx(cap / 2)
    almost_one = 1 - 2**-53
    assert cap * 0.999 < policy.delay(attempt, None, random=lambda: almost_one) < cap


def test_full_jitter_samples_stay_in_bounds_and_spread():
    policy = RetryPolicy(backoff_base=1.0, backoff_max=8.0)
    source = random.Random(1234)
    samples = [policy.delay(3, None, random=source.random) for _ in range(2000)]
    assert all(0.0 <= s < 8.0 for s in samples)
    assert min(samples) < 0.5
    assert max(samples) > 7.5


def test_huge_attempt_numbers_do_not_overflow():
    assert RetryPolicy(backoff_max=30.0).delay(5000, None, random=lambda: 0.5) == 15.0


def test_retry_after_is_a_floor():
    policy = RetryPolicy(backoff_base=1.0)
    assert policy.delay(0, 7.0, random=lambda: 0.9) == 7.0  # jitter 0.9 < 7: wait what was asked
    assert policy.delay(4, 2.0, random=lambda: 0.5) == 8.0  # jitter 8 > 2: keep the jitter
    assert policy.delay(0, 0.0, random=lambda: 0.0) == 0.0


def test_delay_has_no_side_effects():
    policy = RetryPolicy()
    calls = []

    def source():
        calls.append(1)
        return 0.25

    assert policy.delay(2, None, random=source) == policy.delay(2, None, random=source) == 0.5
    assert len(calls) == 2
    assert policy == RetryPolicy()


def test_negative_attempt_is_refused():
    with pytest.raises(ValueError, match="attempt"):
        RetryPolicy().delay(-1, None)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("120", 120.0), (" 1.5 ", 1.5), ("0", 0.0), ("-3", 0.0), ("-0.5", 0.0)],
)
def test_parse_retry_after_seconds(value, expected):
    assert parse_retry_after(value) == expected


@pytest.mark.parametrize("value", [None, "", "   ", "soon", "nan", "inf", "-inf", "12 seconds", "Wed, 99"])
def test_parse_retry_after_garbage_is_none(value):
    assert parse_retry_after(value) is None


def test_parse_retry_after_http_date():
    now = datetime(2015, 10, 21, 7, 27, tzinfo=UTC)
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=now) == 60.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 -0000", now=now) == 60.0  # parses as naive
    assert parse_retry_after("Wed, 21 Oct 2015 09:28:00 +0200", now=now) == 60.0  # any offset


def test_parse_retry_after_http_date_in_the_past_is_zero():
    now = datetime(2015, 10, 21, 8, 0, tzinfo=UTC)
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=now) == 0.0


def test_parse_retry_after_http_date_against_the_current_time():
    header = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 28.0 <= parse_retry_after(header) <= 30.0  # type: ignore[operator]


def test_parse_retry_after_naive_reference_is_utc():
    naive_now = datetime(2015, 10, 21, 7, 27)
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=naive_now) == 60.0


def test_docstring_examples_run():
    result = doctest.testmod(productiv_pandas.client._retry)
    assert result.attempted > 0
    assert result.failed == 0


# --- the client retrying, against a scripted server -----------------------------------------


def test_503_twice_then_success(fake, make_fixed, caplog):
    fake.events.extend([Reply(503, productiv_error(503, "busy")), Reply(503, b"")])
    sleeps: list[float] = []
    client = make_fixed(sleep=sleeps.append, random=lambda: 0.5)
    delivery = clean(client.post_events("app-1", PAYLOAD))
    assert delivery == Delivery(True, 200, 3, None, None, "sent")
    assert len(fake.event_requests()) == 3
    assert sleeps == [pytest.approx(0.005), pytest.approx(0.01)]  # half of 0.01 * 2**n: full jitter
    assert "HTTP 503 (busy); retry 1 of 5" in caplog.text


def test_retries_exhausted_keeps_the_last_error(fake, make_fixed):
    fake.on_events = lambda seen: Reply(503, productiv_error(503, f"try later #{len(fake.seen)}"))
    client = make_fixed(retry=RetryPolicy(max_retries=2, backoff_base=0.001))
    delivery = clean(client.post_events("app-1", PAYLOAD))
    assert delivery == Delivery(False, 503, 3, "503", "try later #3", "retry_exhausted")


@pytest.mark.parametrize("status", [500, 507, 520, 522, 524, 599])
def test_every_5xx_is_retried_then_sent(fake, make_fixed, status):
    fake.events.append(Reply(status, productiv_error(status, "passing trouble")))
    delivery = clean(make_fixed().post_events("app-1", PAYLOAD))
    assert delivery == Delivery(True, 200, 2, None, None, "sent")
    assert len(fake.event_requests()) == 2


@pytest.mark.parametrize("status", [507, 520, 524])
def test_a_5xx_outside_the_common_ones_is_retry_exhausted_with_the_last_error(fake, make_fixed, status):
    fake.on_events = lambda seen: Reply(status, productiv_error(status, f"origin down #{len(fake.seen)}"))
    client = make_fixed(retry=RetryPolicy(max_retries=2, backoff_base=0.001))
    delivery = clean(client.post_events("app-1", PAYLOAD))
    assert delivery == Delivery(False, status, 3, str(status), "origin down #3", "retry_exhausted")


def test_a_status_left_out_of_retry_statuses_is_final(fake, make_fixed):
    fake.events.append(Reply(520, b"<html>origin error</html>"))
    delivery = clean(make_fixed(retry=RetryPolicy(retry_statuses={429, 503})).post_events("app-1", PAYLOAD))
    assert delivery == Delivery(False, 520, 1, None, "HTTP 520: <html>origin error</html>", "other")
    assert len(fake.event_requests()) == 1


def test_max_retries_argument_overrides_the_policy(fake, make_fixed):
    fake.on_events = lambda seen: Reply(502, b"<html>bad gateway</html>")
    delivery = clean(make_fixed().post_events("app-1", PAYLOAD, max_retries=0))
    assert delivery.kind == "retry_exhausted"
    assert delivery.attempts == 1
    assert delivery.message == "Bad Gateway: <html>bad gateway</html>"  # reason and body excerpt
    with pytest.raises(ConfigurationError, match="max_retries"):
        make_fixed().post_events("app-1", PAYLOAD, max_retries=-1)


def test_429_retry_after_seconds_is_honoured(fake, make_fixed):
    fake.events.append(Reply(429, productiv_error(429, "slow down"), {"Retry-After": "1"}))
    delivery = clean(make_fixed().post_events("app-1", PAYLOAD))
    assert delivery.kind == "sent"
    assert delivery.attempts == 2
    first, second = fake.event_requests()
    assert second.at - first.at >= 1.0


def test_429_slows_down_every_thread_of_the_client(fake, make_fixed):
    fake.events.append(Reply(429, productiv_error(429, "slow down"), {"Retry-After": "1"}))
    client = make_fixed()
    results: dict[str, Delivery] = {}
    first = threading.Thread(target=lambda: results.update(a=client.post_events("app-1", PAYLOAD)))
    first.start()
    wait_for(lambda: client._not_before != float("-inf"))  # the 429 has been seen
    results["b"] = client.post_events("app-1", PAYLOAD)  # another caller, not the one refused
    first.join(5)
    assert {k: clean(d).kind for k, d in results.items()} == {"a": "sent", "b": "sent"}
    refused, *later = fake.event_requests()
    assert len(later) == 2
    assert all(request.at - refused.at >= 1.0 for request in later)


def test_a_429_that_gives_up_still_slows_down_the_others(fake, make_fixed):
    fake.events.append(Reply(429, productiv_error(429, "slow down"), {"Retry-After": "30"}))
    client = make_fixed()
    assert clean(client.post_events("app-1", PAYLOAD, max_retries=0)).kind == "retry_exhausted"
    cancel = threading.Event()
    threading.Timer(0.2, cancel.set).start()
    started = time.monotonic()
    delivery = clean(client.post_events("app-1", PAYLOAD, cancel=cancel))
    assert delivery.kind == "cancelled"
    assert delivery.attempts == 0
    assert time.monotonic() - started < 2.0
    assert len(fake.event_requests()) == 1  # the second call never went out


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_http_date(fake, make_fixed, status):
    when = formatdate(time.time() + 3, usegmt=True)  # whole seconds: 2 to 3 s from now
    fake.events.append(Reply(status, productiv_error(status, "later"), {"Retry-After": when}))
    sleeps: list[float] = []
    delivery = clean(make_fixed(sleep=sleeps.append, random=lambda: 0.0).post_events("app-1", PAYLOAD))
    assert delivery.kind == "sent"
    assert delivery.attempts == 2
    assert len(sleeps) == 1
    assert 1.9 <= sleeps[0] <= 3.0


def test_retry_after_beyond_the_policy_limit_gives_up_at_once(fake, make_fixed):
    fake.events.append(Reply(503, productiv_error(503, "maintenance"), {"Retry-After": "3600"}))
    sleeps: list[float] = []
    delivery = clean(make_fixed(sleep=sleeps.append).post_events("app-1", PAYLOAD))
    assert delivery.kind == "retry_later"
    assert delivery.attempts == 1
    assert "3600 s" in delivery.message
    assert "max_retry_after" in delivery.message
    assert sleeps == []


def test_dropped_connection_is_retried(fake, make_fixed):
    fake.events.append(Reply(drop=True))
    delivery = clean(make_fixed().post_events("app-1", PAYLOAD))
    assert delivery == Delivery(True, 200, 2, None, None, "sent")
    assert len(fake.event_requests()) == 2


def test_timeout_is_retried(fake, make_fixed):
    fake.events.append(Reply(delay=2.0))
    delivery = clean(make_fixed(timeout=(2.0, 0.5)).post_events("app-1", PAYLOAD))
    assert delivery == Delivery(True, 200, 2, None, None, "sent")


def test_timeouts_exhausted_say_so(fake, make_fixed):
    fake.on_events = lambda seen: Reply(delay=0.4)
    delivery = clean(make_fixed(timeout=0.1).post_events("app-1", PAYLOAD, max_retries=1))
    assert delivery.kind == "retry_exhausted"
    assert delivery.status is None
    assert delivery.attempts == 2
    assert delivery.message.startswith("timed out waiting for the answer")


def test_connection_refused_is_retried_then_reported(clients):
    client = ProductivClient(ACCESS_TOKEN, base_url=f"http://127.0.0.1:{free_port()}", retry=FAST)
    clients.append(client)
    delivery = clean(client.post_events("app-1", PAYLOAD, max_retries=2))
    assert delivery.kind == "retry_exhausted"
    assert delivery.status is None
    assert delivery.attempts == 3
    assert delivery.message.startswith("connection failed:")
    assert "refused" in delivery.message.lower()
