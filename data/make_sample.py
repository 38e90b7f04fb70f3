"""Write the sample export, ``pp.sample_events()``, as data/usage_export.csv.

The generator lives in the package (``productiv_pandas/_sample.py``) so that the demo and the
notebooks work wherever the package is installed; this script only puts its frame on disk, for
those who want to look at the CSV or feed it to ``productiv-pandas validate``::

    python data/make_sample.py [--rows N] [--out PATH] [--seed S] [--now TIME]

The times are relative to ``--now`` (default: the moment it runs), so a file written today is
stale tomorrow: write it again, or use ``pp.sample_events()`` directly.
"""

from __future__ import annotations

import argparse
import os
import secrets
from pathlib import Path

import productiv_pandas as pp

DEFAULT_PATH = Path(__file__).resolve().parent / "usage_export.csv"


def write_sample(path: str | os.PathLike[str] = DEFAULT_PATH, **options) -> Path:
    """Write ``pp.sample_events(**options)`` as CSV at ``path``; return the path.

    The file is written under a scratch name beside ``path`` and moved into place, so a reader
    never sees half a file. The scratch file is created with ``os.open(..., 0o666)``, not
    ``mkstemp`` (always 0600): the CSV gets the permissions the user's umask gives any file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = pp.sample_events(**options)
    scratch = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    handle = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(handle, "w", newline="", encoding="utf-8") as out:
            frame.to_csv(out, index=False)
        os.replace(scratch, path)
    except BaseException:
        scratch.unlink(missing_ok=True)
        raise
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the sample export, pp.sample_events(), as CSV.")
    parser.add_argument("--rows", type=int, default=30_000, help="rows, duplicates included (30000)")
    parser.add_argument("--out", type=Path, default=DEFAULT_PATH, help=f"where to write ({DEFAULT_PATH})")
    parser.add_argument("--seed", type=int, default=7, help="random seed (7)")
    parser.add_argument("--now", default=None, help="the export's moment, ISO-8601 (default: now)")
    args = parser.parse_args(argv)
    path = write_sample(args.out, n=args.rows, seed=args.seed, now=args.now)
    print(f"wrote {args.rows:,} rows to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
