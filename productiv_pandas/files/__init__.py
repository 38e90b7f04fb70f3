"""Event files bigger than memory: read in chunks, checked, sent, their statuses written.

_input (compression, JSON Lines chunks) -> _readers (one reader class per format, chosen by
extension) -> _run (one pass: chunks prepared, cross-chunk duplicates via _seen, _tally)
-> _stream (validate_file / publish_file); _formats writes status files
"""

from ._stream import FileReport, publish_file, validate_file

__all__ = ["FileReport", "publish_file", "validate_file"]
