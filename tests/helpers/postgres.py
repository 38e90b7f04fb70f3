"""A throwaway PostgreSQL server for the tests and benchmarks/bench_sql.py: ``initdb`` in a temp
folder, ``pg_ctl start`` on a free loopback port, ``pg_ctl stop`` and the folder removed after.

Debian's ``postgresql`` package puts ``initdb`` and ``pg_ctl`` in /usr/lib/postgresql/N/bin, off
the PATH: both places are searched. initdb refuses to run as root, so as root the server runs as
the ``postgres`` user the package creates (the temp folder is handed to it). The superuser gets
a random password and the server asks for it on TCP (scram-sha-256): the tests check that it
never shows in a message.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["PostgresServer", "find_bin", "postgres_server"]


def find_bin() -> Path | None:
    """The folder holding initdb and pg_ctl (the PATH's, else the newest Debian one), or None."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).parent
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3].split(".")[0])
    )
    for initdb in reversed(candidates):
        if os.access(Path(initdb).parent / "pg_ctl", os.X_OK):
            return Path(initdb).parent
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PostgresServer:
    """A running server: ``url`` (with the password), ``password``, ``port``, ``stop()``."""

    user = "postgres"

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.password = "pw-" + secrets.token_hex(12)
        self.folder = Path(tempfile.mkdtemp(prefix="pp-postgres-"))
        self.data = self.folder / "data"
        self.port = 0
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            owner = pwd.getpwnam("postgres")
            os.chown(self.folder, owner.pw_uid, owner.pw_gid)
            self._ids = (owner.pw_uid, owner.pw_gid)

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}:{self.password}@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        def drop() -> None:  # in the child, before exec: the server's own user
            os.setgid(self._ids[1])
            os.setuid(self._ids[0])

        return subprocess.run(
            [str(self.bindir / args[0]), *args[1:]],
            preexec_fn=drop if self._as_postgres else None,
            cwd=self.folder,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def start(self) -> PostgresServer:
        pwfile = self.folder / "pw"
        pwfile.write_text(self.password + "\n", encoding="utf-8")
        if self._as_postgres:
            os.chown(pwfile, *self._ids)
        done = self._run(
            "initdb", "-D", str(self.data), "-U", self.user, "--pwfile", str(pwfile),
            "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-sync",
        )  # fmt: skip
        pwfile.unlink()
        if done.returncode:
            raise RuntimeError(f"initdb failed: {done.stderr.strip()[-2000:]}")
        for _ in range(5):  # another process may take the free port between the probe and the bind
            self.port = _free_port()
            options = (
                f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder} -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off"
            )
            done = self._run(
                "pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.folder / "log"), "-w", "start"
            )
            if done.returncode == 0:
                return self
        log = (self.folder / "log").read_text(encoding="utf-8", errors="replace")[-2000:]
        raise RuntimeError(f"pg_ctl start failed: {done.stderr.strip()} {log}")

    def stop(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)


@contextlib.contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """Start a server, yield it, stop it (RuntimeError when there is none to start)."""
    bindir = find_bin()
    if bindir is None:
        raise RuntimeError("initdb and pg_ctl not found")
    server = PostgresServer(bindir)
    try:
        yield server.start()
    finally:
        server.stop()
