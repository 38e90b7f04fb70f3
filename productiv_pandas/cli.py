"""The ``productiv-pandas`` command line (also ``python -m productiv_pandas``).

Exit codes: 0 when every row was sent or deliberately skipped (or is valid, for validate),
1 when some rows were invalid, rejected or failed, 2 for usage or configuration errors.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["main"]


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="productiv-pandas",
        description="Validate and publish usage events to Productiv's Publish Usage Events API.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help="validate the bundled sample export and print the status summary",
        description="Validate data/'s sample export and print the per-status summary.",
        epilog="example: productiv-pandas demo",
    )
    demo.set_defaults(run=_run_demo)

    sandbox = commands.add_parser(
        "sandbox",
        help="run a local Productiv-compatible API server in the foreground",
        description="Run the local Productiv sandbox on 127.0.0.1 until Ctrl-C.",
        epilog="example: productiv-pandas sandbox --port 8750 --app demo-app --app billing",
    )
    sandbox.add_argument("--port", type=int, default=0, help="port to listen on (default: any free port)")
    sandbox.add_argument(
        "--app", action="append", default=[], metavar="ID", help="register an app (repeatable)"
    )
    sandbox.set_defaults(run=_run_sandbox)
    return parser


def _run_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo()


def _run_sandbox(args: argparse.Namespace) -> int:
    from .sandbox import serve_in_foreground

    return serve_in_foreground(port=args.port, apps=args.app)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
