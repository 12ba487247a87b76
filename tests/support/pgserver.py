"""A real PostgreSQL 15 server for tests: initdb into a temporary folder, listen
on a free 127.0.0.1 port, stop afterwards. As root, the server runs as the
`postgres` user through `runuser`, because PostgreSQL refuses to run as root."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

PG_BIN_CANDIDATES = [Path("/usr/lib/postgresql/15/bin"), Path("/usr/lib/postgresql/16/bin")]
REQUIRE_ENV = "ASSAY_REQUIRE_POSTGRES"


def pg_bin() -> Path | None:
    for candidate in PG_BIN_CANDIDATES:
        if (candidate / "initdb").is_file():
            return candidate
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_server_user(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


@contextmanager
def postgres_server() -> Iterator[tuple[str, Path]]:
    """Start a throw-away server; yield its URL and data directory."""
    binaries = pg_bin()
    if binaries is None:
        if os.environ.get(REQUIRE_ENV):
            pytest.fail("PostgreSQL binaries (initdb, pg_ctl) not found; install postgresql-15")
        pytest.skip("PostgreSQL binaries not installed")
    base = Path(tempfile.mkdtemp(prefix="assay-pg-"))
    data = base / "data"
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
    base.chmod(0o700)
    port = _free_port()
    subprocess.run(
        _as_server_user([str(binaries / "initdb"), "-D", str(data), "-U", "postgres",
                         "--auth=trust", "--no-sync", "-E", "UTF8"]),
        check=True, capture_output=True,
    )
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {base} -c fsync=off -c max_connections=50"
    subprocess.run(
        _as_server_user([str(binaries / "pg_ctl"), "-D", str(data), "-o", options,
                         "-l", str(base / "server.log"), "-w", "-t", "60", "start"]),
        check=True, capture_output=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres", data
    finally:
        subprocess.run(
            _as_server_user([str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]),
            check=False, capture_output=True,
        )
        shutil.rmtree(base, ignore_errors=True)


def create_database(url: str, name: str) -> str:
    """Create database `name` on the server at `url`; return its URL."""
    import psycopg

    with psycopg.connect(url.replace("postgresql://", "postgresql://", 1), autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return url.rsplit("/", 1)[0] + f"/{name}"
