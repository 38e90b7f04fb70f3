"""64-bit digests of events' (timestamp, email, eventName) triples, read from Arrow's buffers.

The key of cross-chunk de-duplication (:mod:`._seen`). ``pd.util.hash_pandas_object`` made it
at 20-25 ms a 100,000-row chunk of emails: pyarrow dictionary-encodes the column, then every
distinct value becomes a Python ``str`` to be SipHashed. Here a text column is hashed where
Arrow keeps it: each value's UTF-8 bytes are read 8 at a time from the data buffer, every
value of the column at once (one numpy pass per 8 bytes of the longest value), each word
folded in by murmur3's 64-bit finalizer (a bijection with full avalanche). Values longer than
:data:`_LONG` bytes (none in a valid row: emails and event names are shorter) are hashed one
by one with BLAKE2b, so that one long value does not cost a numpy pass per 8 of its bytes.

A digest only has to agree with itself within one run (every chunk of one file is hashed
here, by this code): it is never stored nor compared across versions. Two texts that differ
in a byte or in length differ in their digest but for a 64-bit chance (see :mod:`._seen` for
what a collision would do).
"""

from __future__ import annotations

import hashlib

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["event_digests", "text_digests"]

_M1 = np.uint64(0xFF51AFD7ED558CCD)
_M2 = np.uint64(0xC4CEB9FE1A85EC53)
_S33 = np.uint64(33)
#: Where a value's length starts its digest, and what a missing value's digest is.
_LENGTH_SEED = np.uint64(0x9E3779B97F4A7C15)
_MISSING = np.uint64(0x2545F4914F6CDD1D)
#: Keeps the low k bytes of a word, for k = 0..8: the bytes past a value's end are another's.
_KEEP = np.array([(1 << (8 * k)) - 1 for k in range(8)] + [2**64 - 1], dtype=np.uint64)
#: Bytes beyond which a value is hashed on its own (BLAKE2b), not in a numpy pass per word.
_LONG = 1024
_MOST_WORDS = _LONG // 8
#: Values hashed at a time.
_ROWS_AT_A_TIME = 16_384


def _chunked(values: pa.Array | pa.ChunkedArray) -> pa.ChunkedArray:
    """``values`` as a ChunkedArray (pyarrow 15's ``pa.chunked_array`` of a ChunkedArray would
    take its values for chunks)."""
    return values if isinstance(values, pa.ChunkedArray) else pa.chunked_array([values])


def _mix(h: np.ndarray) -> np.ndarray:
    """murmur3's fmix64, in place: every input bit flips each output bit with odds one half."""
    h ^= h >> _S33
    h *= _M1
    h ^= h >> _S33
    h *= _M2
    h ^= h >> _S33
    return h


def text_digests(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """One uint64 per value, equal for equal texts (missing values all alike)."""
    array = _chunked(values)
    if array.type != pa.large_string():
        array = array.cast(pa.large_string())  # int64 offsets; the text bytes are not copied
    flat = array.combine_chunks()
    n = len(flat)
    if n > _ROWS_AT_A_TIME:
        # A block at a time: a whole chunk's temporaries (800 KB each), fresh memory every
        # time, took 2.5 times as long (the page faults of memory the allocator had returned).
        return np.concatenate(
            [text_digests(flat.slice(start, _ROWS_AT_A_TIME)) for start in range(0, n, _ROWS_AT_A_TIME)]
        )
    _, offsets_buffer, data_buffer = flat.buffers()
    if n == 0:
        return np.empty(0, dtype=np.uint64)
    offsets = np.frombuffer(offsets_buffer, dtype=np.int64, count=n + 1, offset=flat.offset * 8)
    first, last = int(offsets[0]), int(offsets[-1])
    lengths = np.diff(offsets)
    # The bytes as 64-bit words, 8 zero bytes past the end so that every read has its next word.
    words = np.zeros((last - first) // 8 + 2, dtype=np.uint64)
    if last > first:
        words.view(np.uint8)[: last - first] = np.frombuffer(
            data_buffer, dtype=np.uint8, count=last - first, offset=first
        )
    digests = _mix(lengths.astype(np.uint64) ^ _LENGTH_SEED)
    hashed = (lengths > 0) & (lengths <= _LONG)
    if hashed.all():  # the usual case: no gathering of the rows to hash
        digests = _fold(digests, words, offsets[:-1] - first, lengths)
    else:
        rows = np.flatnonzero(hashed)
        digests[rows] = _fold(digests[rows], words, offsets[:-1][rows] - first, lengths[rows])
    for row in np.flatnonzero(lengths > _LONG):
        text = words.view(np.uint8)[offsets[row] - first : offsets[row + 1] - first].tobytes()
        digest = int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "little")
        digests[row] = _mix(np.array([digest], dtype=np.uint64) ^ digests[row : row + 1])[0]
    if flat.null_count:
        digests[flat.is_null().to_numpy(zero_copy_only=False)] = _MISSING
    return digests


def _fold(digests: np.ndarray, words: np.ndarray, start: np.ndarray, length: np.ndarray) -> np.ndarray:
    """``digests`` with each value's words folded in, 8 bytes a pass, all values at once.

    The values are ordered longest first (in words), so the ones still going at a pass are a
    leading slice (no gathering out of those that ended), and only those ending at a pass
    need their last word cut to their length.
    """
    if not len(length):
        return digests
    # Longest first, as one byte (at most _LONG / 8 = 128 words) for numpy's radix sort.
    fewer = (_MOST_WORDS - ((length + 7) >> 3)).astype(np.uint8)
    order = np.argsort(fewer, kind="stable")
    start, length, folded, fewer = start[order], length[order], digests[order], fewer[order]
    # going[j]: how many values have more than j words, a leading slice of the order.
    most = _MOST_WORDS - int(fewer[0])
    going = np.searchsorted(fewer, _MOST_WORDS - np.arange(most + 1), side="left")
    for j in range(len(going) - 1):
        going_now, going_on = int(going[j]), int(going[j + 1])
        at = start[:going_now] + 8 * j
        shift = ((at & 7) << 3).astype(np.uint64)
        at >>= 3
        # The 8 bytes at ``at``, wherever they fall: the end of one aligned word and the start
        # of the next (two shifts, the second split so that none is by 64 bits).
        word = (words[at] >> shift) | ((words[at + 1] << np.uint64(1)) << (np.uint64(63) - shift))
        word[going_on:] &= _KEEP[length[going_on:going_now] - 8 * j]
        folded[:going_now] = _mix(folded[:going_now] ^ word)
    digests = np.empty_like(folded)
    digests[order] = folded
    return digests


def event_digests(
    timestamps: np.ndarray, emails: pa.Array | pa.ChunkedArray, event_names: pa.Array | pa.ChunkedArray
) -> np.ndarray:
    """One uint64 per event, from its int64 millisecond timestamp and its two texts: each part
    folded into the digest of the ones before, so the order of the parts matters."""
    digests = _mix(np.asarray(timestamps, dtype=np.int64).astype(np.uint64) ^ _LENGTH_SEED)
    digests = _mix(digests ^ text_digests(emails))
    return _mix(digests ^ _few_text_digests(event_names))


def _few_text_digests(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """:func:`text_digests` of a column of few distinct values (event names: an app's catalog):
    each distinct one hashed once, found by Arrow's dictionary encoding (2 ms a 100,000-row
    chunk of 14 names, against 15 ms for every value hashed)."""
    chunked = _chunked(values)
    encoded = pc.dictionary_encode(chunked, null_encoding="encode")  # a missing name: its own entry
    encoded = encoded.combine_chunks()
    return text_digests(encoded.dictionary)[encoded.indices.to_numpy(zero_copy_only=False)]
