"""A batch's body, built from Arrow columns, against the body a dict per row and ``json.dumps``
wrote before (``reference`` below): the same bytes for hostile values, whole batches and halves.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from productiv_pandas.preparation._options import PrepareOptions
from productiv_pandas.preparation._prepare import prepare_events
from productiv_pandas.sending._batches import Batch, make_batches
from productiv_pandas.sending._body import Columns, body

T0 = 1_749_564_000_000
CONTROLS = [chr(c) for c in range(0x20)]
HOSTILE = [
    'quote " inside',
    "back\\slash",
    '\\"',
    "\\",
    '"',
    "line\u2028para\u2029end",
    "accentué ñ 中文",
    "emoji 😀👍🏽",
    "x" * 1000,
    "",
    "tab\tnew\nline",
    *(f"c{c}c" for c in CONTROLS),
    "\x7f del and \x85 next line",
]


def reference(wire: pd.DataFrame) -> bytes:
    """The body as _batches.py built it before: one dict per row, json.dumps."""
    events = []
    for t, e, n, a in zip(
        wire["timestamp"].astype(np.int64).tolist(),
        wire["email"].tolist(),
        wire["eventName"].tolist(),
        wire["targetApp"].astype(object).where(wire["targetApp"].notna(), None).tolist(),
        strict=True,
    ):
        event = {"timestamp": t, "email": e, "eventName": n}
        if a is not None:
            event["targetApp"] = a
        events.append(event)
    return json.dumps({"events": events}, separators=(",", ":"), ensure_ascii=False).encode()


def hostile_wire(dtype) -> pd.DataFrame:
    """Every hostile value in every text field; targetApp missing every third row."""
    n = len(HOSTILE)
    rolled = HOSTILE[1:] + HOSTILE[:1]
    targets = [None if i % 3 == 0 else rolled[i] for i in range(n)]
    labels = np.arange(n) * 7 + 3  # the wire keeps the input's labels
    return pd.DataFrame(
        {
            "timestamp": pd.Series(np.arange(n, dtype=np.int64) + T0, index=labels),
            "email": pd.Series(HOSTILE, dtype=dtype, index=labels),
            "eventName": pd.Series(rolled, dtype=dtype, index=labels),
            "targetApp": pd.Series(targets, dtype=dtype, index=labels),
        }
    )


def payloads(batch: Batch) -> list[tuple[np.ndarray, bytes]]:
    """Every batch a split could send: the batch, its halves, theirs... down to single rows."""
    found = [(batch.positions, batch.payload)]
    if len(batch) > 1:
        for half in batch.halves():
            found += payloads(half)
    return found


@pytest.mark.parametrize("dtype", ["str", object])
@pytest.mark.parametrize("size", [1, 4, 1000])
def test_hostile_values_give_the_reference_bytes_in_batches_and_halves(dtype, size):
    wire = hostile_wire(dtype)
    positions = np.arange(len(wire)) + 100
    batches = list(make_batches(wire, positions, size))
    assert len(batches) == -(-len(wire) // size)
    checked = 0
    for batch in batches:
        for where, payload in payloads(batch):
            rows = wire.iloc[where - 100]
            assert payload == reference(rows)
            assert json.loads(payload) == json.loads(reference(rows))
            checked += 1
    assert checked == sum(2 * len(b) - 1 for b in batches)


def test_escaping_is_json_dumps_own():
    wire = hostile_wire("str")
    payload = next(make_batches(wire, np.arange(len(wire)))).payload
    events = json.loads(payload)["events"]
    assert [e["email"] for e in events] == HOSTILE
    # Non-ASCII, U+2028/U+2029, DEL and U+0085 travel as UTF-8; only the characters below
    # U+0020, quotes and backslashes are escaped.
    text = payload.decode()
    for raw in ("line\u2028para\u2029end", "accentué ñ 中文", "emoji 😀👍🏽", "\x7f del and \x85 next line"):
        assert f'"{raw}"' in text
    assert '"c\\u0000c"' in text
    assert '"c\\u001fc"' in text
    assert '"tab\\tnew\\nline"' in text
    assert '"quote \\" inside"' in text
    assert '"back\\\\slash"' in text
    escaped = {int(code, 16) for code in re.findall(r"\\u([0-9a-f]{4})", text)}
    assert escaped == set(range(0x20)) - {0x08, 0x09, 0x0A, 0x0C, 0x0D}  # these have short forms


def test_targetapp_absent_when_missing_and_kept_when_empty():
    wire = pd.DataFrame(
        {
            "timestamp": np.array([T0, T0 + 1, T0 + 2], dtype=np.int64),
            "email": pd.Series(["a@x.com", "b@x.com", "c@x.com"], dtype="str"),
            "eventName": pd.Series(["sso_login", "opened_file", "sso_login"], dtype="str"),
            "targetApp": pd.Series(["slack", None, ""], dtype="str"),
        }
    )
    payload = next(make_batches(wire, np.arange(3))).payload
    assert payload == (
        b'{"events":[{"timestamp":1749564000000,"email":"a@x.com","eventName":"sso_login",'
        b'"targetApp":"slack"},{"timestamp":1749564000001,"email":"b@x.com","eventName":"opened_file"},'
        b'{"timestamp":1749564000002,"email":"c@x.com","eventName":"sso_login","targetApp":""}]}'
    )
    assert [type(e["timestamp"]) for e in json.loads(payload)["events"]] == [int, int, int]


def test_no_targetapp_at_all_and_an_all_missing_object_column():
    wire = hostile_wire(object).assign(targetApp=pd.Series([None] * len(HOSTILE), dtype=object))
    payload = next(make_batches(wire, np.arange(len(wire)))).payload
    assert b"targetApp" not in payload
    assert payload == reference(wire)


def test_what_prepare_lets_through_gives_the_reference_bytes():
    now = pd.Timestamp("2025-06-10T15:00:00Z")
    names = ['say "hi"', "C:\\dir", "a\u2028b", "café 😀", "ok", "lone \ud800", "nul\x00"]
    frame = pd.DataFrame(
        {
            "timestamp": pd.Timestamp("2025-06-10T14:00:00Z") + pd.to_timedelta(range(7), unit="ms"),
            "email": pd.Series([f"u{i}@example.com" for i in range(7)], dtype=object),
            "eventName": pd.Series(names, dtype=object),
            "targetApp": pd.Series(['"app"', None, "", "\\", "ü", "x", "y"], dtype=object),
        }
    )
    prepared = prepare_events(frame, PrepareOptions.from_kwargs(now=now))
    # A lone surrogate cannot reach a body: prepare refuses it, as it refuses control characters.
    assert prepared.status["status"].tolist() == ["valid"] * 5 + ["invalid"] * 2
    assert prepared.status["reason"].iloc[5] == "eventName contains characters that are not valid unicode"
    wire = prepared.wire()
    batch = next(make_batches(wire, prepared.to_send))
    assert batch.payload == reference(wire)
    assert json.loads(batch.payload)["events"][2] == {
        "timestamp": 1749564000002,
        "email": "u2@example.com",
        "eventName": "a\u2028b",
    }


def test_a_row_without_email_is_never_serialized():
    wire = hostile_wire("str")
    wire.loc[wire.index[2], "email"] = None
    with pytest.raises(ValueError, match="no email") as caught:
        body(Columns.of(wire))
    assert str(caught.value) == "a row to send has no email or no eventName"


def test_no_rows_is_an_empty_list():
    wire = hostile_wire("str").iloc[:0]
    assert body(Columns.of(wire)) == b'{"events":[]}'
    assert list(make_batches(wire, np.arange(0))) == []
