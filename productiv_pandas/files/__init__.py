"""Event files bigger than memory: read in chunks, checked, sent, their statuses written.

_input (compression, JSON Lines chunks) -> _readers (one reader class per format, chosen by
extension; CSV by pyarrow in _arrow_csv, pandas' parser where pyarrow cannot read alike)
-> _ahead (validate_file: the next chunk read and checked in a thread)
-> _run (one pass: chunks prepared, cross-chunk duplicates via _digest and _seen, _tally)
-> _pass (the loop) -> _stream (validate_file / publish_file) and _chunks (validate_chunks /
publish_chunks, any iterable of frames); _formats writes status files
"""

from ._chunks import publish_chunks, validate_chunks
from ._stream import FileReport, RunReport, publish_file, validate_file

__all__ = ["FileReport", "RunReport", "publish_chunks", "publish_file", "validate_chunks", "validate_file"]
