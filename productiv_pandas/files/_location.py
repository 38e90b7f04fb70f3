"""Where a file is: a local path, or a URL (``s3://``, ``gs://``, ``az://``, ``https://``...)
opened through fsspec.

A URL stays the string it is: ``Path("s3://bucket/key")`` would fold ``//`` into ``/``. Each
fsspec filesystem reads its own credentials and endpoint from the environment (s3fs through
botocore: ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_ENDPOINT_URL``...), so
nothing here takes a secret, and :func:`shown`/:func:`scrubbed` keep one out of messages: a
URL's password and query (a presigned URL's signature) are masked, and the values of the
secret variables are replaced wherever a filesystem's error might repeat them.

fsspec and the filesystem's package are imported only when a URL is opened: without them a
URL is a ConfigurationError naming the extra, and local paths never need them.
"""

from __future__ import annotations

import contextlib
import os
import re
import urllib.parse
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import IO, Any

from ..errors import ConfigurationError

__all__ = [
    "CLOUD_EXTRA",
    "Location",
    "filesystem",
    "is_url",
    "location",
    "name_of",
    "open_binary",
    "readable",
    "scrubbed",
    "shown",
    "suffixes_of",
]

#: What installs fsspec and s3fs.
CLOUD_EXTRA = "pip install 'productiv-pandas[cloud]'"

#: A path or a URL, as the readers and the status writer hold it.
Location = Path | str

#: ``scheme://``: two letters at least, so a Windows drive (``C:/``) is a path.
_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]+)://")

#: The package each protocol needs besides fsspec (for the message when it is missing).
_PACKAGES = {
    "s3": "s3fs",
    "s3a": "s3fs",
    "gs": "gcsfs",
    "gcs": "gcsfs",
    "az": "adlfs",
    "abfs": "adlfs",
    "abfss": "adlfs",
    "http": "aiohttp",
    "https": "aiohttp",
}
#: Protocols whose first path segment is a bucket (or container) that must exist to write in.
_BUCKETS = ("s3", "s3a", "gs", "gcs", "az", "abfs", "abfss")
#: Environment variables holding secrets a filesystem's error could conceivably repeat.
_SECRETS = (
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AZURE_STORAGE_KEY",
    "AZURE_STORAGE_ACCOUNT_KEY",
    "AZURE_STORAGE_CONNECTION_STRING",
    "AZURE_STORAGE_SAS_TOKEN",
    "AZURE_CLIENT_SECRET",
)


def is_url(path: object) -> bool:
    """Is ``path`` a URL (a string starting ``scheme://``)? A PathLike never is."""
    return isinstance(path, str) and _URL.match(path) is not None


def location(path: str | os.PathLike[str]) -> Location:
    """``path`` as the readers hold it: a URL stays a string, anything else becomes a Path."""
    return path if is_url(path) else Path(path)  # type: ignore[return-value]


def protocol_of(url: str) -> str:
    match = _URL.match(url)
    return match.group(1).lower() if match else "file"


def shown(path: object) -> str:
    """``path`` for a message: a URL without its password and query (a presigned URL's
    signature, a SAS token); a local path as it is."""
    text = os.fspath(path) if isinstance(path, os.PathLike) else str(path)
    if not is_url(text):
        return text
    parts = urllib.parse.urlsplit(text)
    netloc = parts.netloc
    if "@" in netloc:
        user, _, host = netloc.rpartition("@")
        netloc = f"{user.partition(':')[0]}:***@{host}" if ":" in user else f"{user}@{host}"
    query = "..." if parts.query else ""
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def scrubbed(text: object) -> str:
    """``text`` with the secrets of the environment and of URLs in it masked."""
    out = str(text)
    for name in _SECRETS:
        value = os.environ.get(name)
        if value and len(value) >= 4:
            out = out.replace(value, "***")
    return re.sub(r"(://[^/\s:@]+):[^/\s@]+@", r"\1:***@", out)


def _path_part(path: Location) -> str:
    return urllib.parse.urlsplit(path).path if isinstance(path, str) else os.fspath(path)


def suffixes_of(path: Location | os.PathLike[str]) -> list[str]:
    """The extensions of a path, or of a URL's path (its query and host aside)."""
    where = path if isinstance(path, str) and is_url(path) else Path(path)
    return [s.lower() for s in PurePosixPath(_path_part(where)).suffixes]


def name_of(path: Location | os.PathLike[str]) -> str:
    """The last segment of a path or of a URL's path: ``events.csv.gz``."""
    where = path if isinstance(path, str) and is_url(path) else Path(path)
    return PurePosixPath(_path_part(where)).name


def filesystem(url: str) -> tuple[Any, str]:
    """The fsspec filesystem of ``url`` and the path within it.

    Raises ConfigurationError when fsspec or the protocol's package is missing (naming the
    extra that installs it) or fsspec knows no such protocol.
    """
    protocol = protocol_of(url)
    package = _PACKAGES.get(protocol)
    needs = "fsspec" if package is None else f"fsspec and {package}"
    extra = CLOUD_EXTRA if package in (None, "s3fs", "aiohttp") else f"{CLOUD_EXTRA} {package}"
    try:
        import fsspec

        return fsspec.core.url_to_fs(url)
    except ImportError:
        raise ConfigurationError(
            f"cannot open {shown(url)!r}: {protocol}:// URLs need {needs}: {extra}"
        ) from None
    except ValueError as exc:
        if "Protocol not known" in str(exc):
            raise ConfigurationError(
                f"cannot open {shown(url)!r}: fsspec knows no {protocol}:// URLs"
            ) from None
        raise ConfigurationError(f"cannot open {shown(url)!r}: {scrubbed(exc)}") from None


def open_binary(path: Location) -> IO[bytes]:
    """``path`` opened for reading bytes (a seekable fsspec file for a URL)."""
    if isinstance(path, str) and is_url(path):
        fs, inner = filesystem(path)
        return fs.open(inner, "rb")
    return open(path, "rb")


@contextlib.contextmanager
def readable(path: Location) -> Iterator[Any]:
    """What pandas and pyarrow read from: a local path as it is (they open it themselves, as
    before), a URL opened with fsspec (closed after)."""
    if isinstance(path, str) and is_url(path):
        with open_binary(path) as handle:
            yield handle
    else:
        yield path


def check_writable_url(url: str) -> str | None:
    """Why the status cannot be uploaded to ``url``, found before any row is read (a read-only
    protocol, a missing bucket, a folder), or None. Permission is only known at the upload."""
    protocol = protocol_of(url)
    if protocol in ("http", "https"):
        return f"{protocol}:// URLs are read-only; write the status to a file or an s3://, gs:// or az:// URL"
    fs, inner = filesystem(url)
    bucket = inner.strip("/").split("/")[0]
    try:
        if not _bucket_exists(fs, protocol, bucket):
            return f"the bucket {bucket!r} does not exist; create it first"
        if fs.isdir(inner):
            return "it is a directory"
    except PermissionError:
        pass  # credentials that may write but not look: the upload will tell
    except Exception as exc:  # no network, an endpoint that is not S3: the filesystem's own words
        return scrubbed(exc) or type(exc).__name__
    return None


def _bucket_exists(fs: Any, protocol: str, bucket: str) -> bool:
    """Is there such a bucket? True when it cannot be told. For S3, HeadBucket itself: s3fs's
    ``exists`` says False for a bucket these credentials may write to but not list, and for
    any failure (a wrong endpoint); a PermissionError here is not a missing bucket."""
    if protocol not in _BUCKETS:
        return True
    if protocol in ("s3", "s3a") and hasattr(fs, "call_s3"):
        try:
            fs.call_s3("head_bucket", Bucket=bucket)
        except FileNotFoundError:
            return False
        return True
    return bool(fs.exists(bucket))


def upload(local: Path, url: str) -> None:
    """Copy the finished local file ``local`` to ``url`` (S3: one upload, multipart if large)."""
    fs, inner = filesystem(url)
    fs.put_file(os.fspath(local), inner)
