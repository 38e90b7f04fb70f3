"""Reading event files and writing status files: CSV, Parquet and JSON Lines, by extension."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .errors import ConfigurationError

__all__ = ["file_format", "read_events", "write_status"]

_FORMATS = {
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}


def file_format(path: str | Path, *, allowed: tuple[str, ...] = ("csv", "parquet", "jsonl")) -> str:
    """``"csv"``, ``"parquet"`` or ``"jsonl"`` from the file's extension (``.gz`` etc. allowed
    after ``.csv``/``.jsonl``); a ConfigurationError names the extensions understood."""
    suffixes = [s.lower() for s in Path(path).suffixes]
    if suffixes and suffixes[-1] in (".gz", ".bz2", ".xz", ".zst", ".zip") and len(suffixes) > 1:
        suffixes = suffixes[:-1]
    kind = _FORMATS.get(suffixes[-1]) if suffixes else None
    if kind is None or kind not in allowed:
        known = sorted(ext for ext, k in _FORMATS.items() if k in allowed)
        raise ConfigurationError(f"cannot tell the format of {str(path)!r}: use one of {known}")
    return kind


def read_events(path: str | Path) -> pd.DataFrame:
    """Read a whole events file; a missing or unreadable file is a ConfigurationError."""
    kind = file_format(path)
    try:
        if kind == "csv":
            return pd.read_csv(path)
        if kind == "parquet":
            return pd.read_parquet(path)
        return pd.read_json(path, lines=True, dtype=False)
    except FileNotFoundError:
        raise ConfigurationError(f"no such file: {str(path)!r}") from None
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"cannot read {str(path)!r} as {kind}: {exc}") from exc


def write_status(status: pd.DataFrame, path: str | Path) -> None:
    """Write a status frame as CSV or Parquet (by extension), its index as the first column(s)."""
    kind = file_format(path, allowed=("csv", "parquet"))
    frame = status.copy()
    if kind == "csv":
        frame.to_csv(path)
    else:
        frame["status"] = frame["status"].astype(str)
        frame.to_parquet(path)
