"""Answers read with bounds, from raw-socket servers (tests/helpers/raw_server.py): a gzip bomb is
inflated only up to the cap, an endless answer is read up to it, compressed answers within it
are read, and a 413 is final.
"""

from __future__ import annotations

import tracemalloc
import zlib

import pytest

import productiv_pandas as pp
from productiv_pandas.client._answer import read_body
from productiv_pandas.client._client import Delivery, ProductivClient
from tests.helpers.raw_server import answer

TOKEN = "fixed-token-s3cr3t-value"
PAYLOAD = b'{"events":[{"timestamp":1566340678676,"email":"a@b.com","eventName":"opened_file"}]}'
FAST = pp.RetryPolicy(backoff_base=0.01, backoff_max=0.05, max_retries=0)


def gzip_bomb(inflated: int) -> bytes:
    """A gzip stream of ``inflated`` zero bytes, built without holding them."""
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    block = bytes(1 << 20)
    parts = [packer.compress(block) for _ in range(inflated >> 20)]
    return b"".join(parts) + packer.flush()


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_gzip_bomb_is_inflated_only_up_to_the_cap(serve):
    bomb = gzip_bomb(512 << 20)
    assert len(bomb) < 1 << 20
    server = serve(lambda conn, *_: conn.sendall(answer("200 OK", bomb, "Content-Encoding: gzip")))
    with ProductivClient(TOKEN, base_url=server.url, retry=FAST) as client:
        tracemalloc.start()
        try:
            delivery = client.post_events("app-1", PAYLOAD)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert peak < 16 << 20  # the whole answer inflated would be 512 MiB
    assert delivery == Delivery(
        False,
        200,
        1,
        None,
        'HTTP 200 without {"success": true} in the answer: (longer than 64 KiB, not read further)',
        "other",
    )


@pytest.mark.timeout(60)
def test_an_endless_answer_is_read_up_to_the_cap_and_success_beyond_it_is_not_success(serve):
    def endless(conn, *_):
        try:
            conn.sendall(b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n11\r\n{"success": true}\r\n')
            while True:
                conn.sendall(b"4000\r\n" + b" " * 0x4000 + b"\r\n")
        except OSError:
            return "close"

    server = serve(endless)
    with ProductivClient(TOKEN, base_url=server.url, retry=FAST) as client:
        delivery = client.post_events("app-1", PAYLOAD)
    assert (delivery.ok, delivery.status, delivery.kind) == (False, 200, "other")
    assert delivery.message == (
        'HTTP 200 without {"success": true} in the answer: {"success": true} '
        "(longer than 64 KiB, not read further)"
    )


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "raw-deflate"])
def test_compressed_answers_within_the_cap_are_read(serve, encoding):
    body = b'{"success": true}'
    if encoding == "gzip":
        data = zlib.compress(body, wbits=zlib.MAX_WBITS | 16)
    elif encoding == "deflate":
        data = zlib.compress(body)
    else:
        data = zlib.compress(body, wbits=-zlib.MAX_WBITS)
    header = f"Content-Encoding: {encoding.removeprefix('raw-')}"
    server = serve(lambda conn, *_: conn.sendall(answer("200 OK", data, header)))
    with ProductivClient(TOKEN, base_url=server.url, retry=FAST) as client:
        assert client.post_events("app-1", PAYLOAD) == Delivery(True, 200, 1, None, None, "sent")
    assert server.requests[0][1]["accept-encoding"] == "gzip, deflate"


def test_a_413_is_final_and_too_large(serve):
    body = b'{"code": "413", "message": "payload too large", "success": false}'
    server = serve(lambda conn, *_: conn.sendall(answer("413 Payload Too Large", body)))
    retry = pp.RetryPolicy(backoff_base=0.01, backoff_max=0.05, max_retries=3)
    with ProductivClient(TOKEN, base_url=server.url, retry=retry) as client:
        delivery = client.post_events("app-1", PAYLOAD)
    assert delivery == Delivery(False, 413, 1, "413", "payload too large", "too_large")
    assert "too_large" in pp.client.DELIVERY_KINDS
    assert len(server.requests) == 1


def test_a_body_of_known_length_is_read_in_one_read_and_its_connection_kept(serve):
    server = serve(
        lambda conn, *_: conn.sendall(
            answer("200 OK", b'{"success": true}', "Content-Type: application/json")
        )
    )
    reads: list[int] = []
    with ProductivClient(TOKEN, base_url=server.url, retry=FAST) as client:
        for _ in range(3):
            assert client.post_events("app-1", PAYLOAD) == Delivery(True, 200, 1, None, None, "sent")
        raw = client._transport._adapter.open(
            client._transport._templates.prepare("POST", server.url + "/x", PAYLOAD),
            client._transport._timeout,
        )
        original = raw.read

        def counted(*args, **kwargs):
            reads.append(1)
            return original(*args, **kwargs)

        raw.read = counted  # type: ignore[method-assign]
        assert read_body(raw, "") == (b'{"success": true}', False, None)
        raw.release_conn()
    assert len(reads) == 1  # Content-Length said it all: no read for the end
    assert len(server.requests) == 4
    assert len(server._connections) == 1  # every request on the one pooled connection


def test_a_body_without_a_length_is_read_to_its_end(serve):
    def chunked(conn, *_):
        conn.sendall(
            answer("200 OK", b"", "Transfer-Encoding: chunked")
            + b'5\r\n{"suc\r\nc\r\ncess": true}\r\n0\r\n\r\n'
        )

    server = serve(chunked)
    with ProductivClient(TOKEN, base_url=server.url, retry=FAST) as client:
        for _ in range(2):
            assert client.post_events("app-1", PAYLOAD) == Delivery(True, 200, 1, None, None, "sent")
    assert len(server._connections) == 1
