"""The machine-readable summary of one run (``--summary-json FILE``, ``summary_json=``) and the
invalid-row threshold (``--max-invalid N`` or ``P%``).

An orchestrator (cron, Airflow, a CI job) reads the result of a run from this JSON instead of
scraping its log, so its shape is a contract: the keys are fixed, documented by a JSON Schema
shipped in the package (``schemas/run-summary.v1.json``, :data:`SUMMARY_SCHEMA`) and versioned
(``version``: a new key or a changed meaning makes a new version, never a silent change).
validate, publish and sync all build it here, so the three cannot drift apart.

The threshold lives here too (:func:`exceeds`): the CLI and ``pp.sync`` decide "too many invalid
rows" with the same function, from the same text the user wrote.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import ConfigurationError
from .status import STATUSES

__all__ = [
    "SUMMARY_KEYS",
    "SUMMARY_SCHEMA",
    "SUMMARY_VERSION",
    "build_summary",
    "check_summary",
    "exceeds",
    "parse_max_invalid",
    "write_summary",
]

#: The version of the summary's shape; the schema file is named after it.
SUMMARY_VERSION = 1
#: The keys of a summary, in the order they are written.
SUMMARY_KEYS = (
    "version", "rows_read", "outbox_retried", "statuses", "problems", "watermark_before",
    "watermark_after", "outbox_before", "outbox_after", "requests", "duration_s", "exit_code",
)  # fmt: skip

_SCHEMA_FILE = f"run-summary.v{SUMMARY_VERSION}.json"
#: The JSON Schema (draft 2020-12) of a summary, read from the file shipped in the package.
SUMMARY_SCHEMA: dict[str, Any] = json.loads(
    resources.files(__package__).joinpath("schemas", _SCHEMA_FILE).read_text(encoding="utf-8")
)


def _count(name: str, value: object) -> int:
    """A count as a plain int (numpy integers included); a negative or fractional one is a bug."""
    if isinstance(value, bool) or int(value) != value or int(value) < 0:  # type: ignore[call-overload]
        raise ValueError(f"{name} must be a whole number >= 0, got {value!r}")
    return int(value)  # type: ignore[call-overload]


def _utc_text(when: datetime | None) -> str | None:
    """ISO 8601 in UTC to the millisecond (the API's resolution), ``Z``-suffixed; a naive
    datetime is read as UTC, as the package reads naive times everywhere."""
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def build_summary(
    *,
    statuses: Mapping[str, int],
    problems: Mapping[str, int],
    rows_read: int,
    requests: int,
    duration_s: float,
    exit_code: int,
    outbox_retried: int = 0,
    watermark_before: datetime | None = None,
    watermark_after: datetime | None = None,
    outbox_before: int = 0,
    outbox_after: int = 0,
) -> dict:
    """The summary of one run as a plain dict of JSON values, keys in :data:`SUMMARY_KEYS` order.

    ``statuses`` (rows per status) is completed with every status of ``pp.STATUSES`` at 0, so a
    reader can index ``summary["statuses"]["failed"]`` without a default; an unknown status is a
    bug (ValueError). ``problems`` (rows per problem code) keeps only codes with rows, in
    descending count then code order. Watermarks become ISO 8601 UTC text (a naive datetime is
    read as UTC) or None; ``duration_s`` is rounded to the millisecond.
    """
    unknown = sorted(set(statuses) - set(STATUSES))
    if unknown:
        raise ValueError(f"unknown statuses {unknown}: the statuses are {list(STATUSES)}")
    counted = {name: _count(f"statuses[{name!r}]", statuses.get(name, 0)) for name in STATUSES}
    codes = {str(code): _count(f"problems[{code!r}]", rows) for code, rows in problems.items()}
    ordered = dict(sorted(((c, n) for c, n in codes.items() if n), key=lambda item: (-item[1], item[0])))
    if duration_s < 0:
        raise ValueError(f"duration_s must be >= 0, got {duration_s!r}")
    return {
        "version": SUMMARY_VERSION,
        "rows_read": _count("rows_read", rows_read),
        "outbox_retried": _count("outbox_retried", outbox_retried),
        "statuses": counted,
        "problems": ordered,
        "watermark_before": _utc_text(watermark_before),
        "watermark_after": _utc_text(watermark_after),
        "outbox_before": _count("outbox_before", outbox_before),
        "outbox_after": _count("outbox_after", outbox_after),
        "requests": _count("requests", requests),
        "duration_s": round(float(duration_s), 3),
        "exit_code": _count("exit_code", exit_code),
    }


def write_summary(summary: dict, path: str | os.PathLike) -> Path:
    """Write ``summary`` as JSON (UTF-8, indented, a final newline) to the local ``path``, atomically.

    An orchestrator may read the file the moment it appears, or after the run was killed: it
    sees the previous summary or the new one, never half of one. The text goes to a temporary
    file in the same folder (created with mode 0666 less the umask, as ``open`` would create
    the file itself), is flushed to disk, then ``os.replace``-d over ``path``. Returns ``path``.
    """
    target = Path(path)
    text = json.dumps(summary, indent=2, ensure_ascii=False) + "\n"
    temp = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return target


def check_summary(summary: Mapping[str, Any]) -> None:
    """Validate ``summary`` against :data:`SUMMARY_SCHEMA`; raises
    ``jsonschema.ValidationError`` naming the first offending key.

    jsonschema is a test and development dependency, not a runtime one: the package builds its
    summaries by construction (:func:`build_summary`) and never needs to check them while it
    runs; the check is for tests and for whoever consumes the files. Without jsonschema this
    raises ImportError saying what to install.
    """
    try:
        import jsonschema
    except ImportError:  # pragma: no cover - jsonschema comes with the dev extra
        raise ImportError("check_summary needs jsonschema: pip install jsonschema") from None
    jsonschema.Draft202012Validator(SUMMARY_SCHEMA).validate(dict(summary))


def parse_max_invalid(value: int | str) -> int | Decimal:
    """``"N"`` (rows, a whole number >= 0) -> ``int``; ``"P%"`` (0 to 100, decimals allowed) ->
    the percentage as a ``Decimal``. A plain int is rows. Anything else is a ConfigurationError
    whose one line quotes the value."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise ConfigurationError(f"max_invalid must be >= 0 rows, got {value}")
        return value
    text = str(value).strip()
    wanted = "a number of rows (e.g. 10) or a percentage of the rows read (e.g. 1% or 0.5%)"
    if text.endswith("%"):
        try:
            percent = Decimal(text[:-1].strip())
        except InvalidOperation:
            raise ConfigurationError(f"max_invalid takes {wanted}, got {value!r}") from None
        if not percent.is_finite() or not 0 <= percent <= 100:
            raise ConfigurationError(f"max_invalid as a percentage is from 0% to 100%, got {value!r}")
        return percent
    if not text.isdigit():  # ASCII digits only: "1e3", "-1", "2.5", "" are refused
        raise ConfigurationError(f"max_invalid takes {wanted}, got {value!r}")
    return int(text)


def exceeds(invalid: int, rows: int, max_invalid: int | str | Decimal = 0) -> bool:
    """Whether ``invalid`` rows of the ``rows`` read are more than ``max_invalid`` allows.

    ``max_invalid`` is a number of rows (``5``, ``"5"``) or a percentage of ``rows`` (``"1%"``,
    compared exactly: 1% of 200 rows allows 2, and 3 exceed it). Only MORE than the threshold
    exceeds: the default 0 means any invalid row does. A parsed Decimal is a percentage.
    """
    limit = max_invalid if isinstance(max_invalid, Decimal) else parse_max_invalid(max_invalid)
    if isinstance(limit, Decimal):
        return Decimal(invalid) * 100 > limit * Decimal(rows)
    return invalid > limit
