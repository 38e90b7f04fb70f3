"""Sending: prepared rows -> batches of at most 1000 -> worker threads -> the client -> statuses.

    _settings (SendSettings: the knobs, checked once) -> _batches (cut and serialize once)
    -> _workers (threads, Ctrl-C) -> _delivery (Run: applies _policy, the error policy as one
    table, per answer; splitting) -> _outcomes (status arrays) -> the status frame

``publish`` (:mod:`._publish`) is prepare followed by this stage.
"""

from ._publish import deliver_prepared, deliver_until_stopped, publish

__all__ = ["deliver_prepared", "deliver_until_stopped", "publish"]
