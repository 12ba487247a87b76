#!/usr/bin/env python3
"""Run a PostgreSQL disaster-recovery drill with pgBackRest and write its record.

Everything happens in one temporary folder on this machine. The servers listen
on 127.0.0.1 and on a Unix socket inside that folder, and nothing else is
contacted. The drill:

1. creates a PostgreSQL cluster that archives WAL to a pgBackRest repository
   in the folder, starts it on a free 127.0.0.1 port and creates the stanza;
2. writes half of --rows rows, takes a full backup, writes the other half and
   a marker row with a random token, then runs `pgbackrest check`, which
   switches to a new WAL segment and waits until the old one is archived;
3. records started_at, stops the primary with `pg_ctl stop -m immediate`,
   restores the backup into a new data directory (`pgbackrest restore
   --type=default`, which recovers to the end of the archived WAL), starts
   PostgreSQL there, waits until it accepts connections on 127.0.0.1 and
   `pg_is_in_recovery()` is false, and checks the row count and the marker.

The rows and the marker written after the backup exist only in archived WAL,
so finding them proves that WAL replay worked. ready_at is the moment that
check passed, and rto_seconds is ready_at - started_at.

The record (restore-drill.json) and copies of the drill's pgBackRest and
PostgreSQL logs go to --out. The record format is documented in the
`drill.restore` collector (assay.evidence.collectors.drill). As root, every
command that touches the cluster or the repository runs as the postgres user
through runuser, because PostgreSQL refuses to run as root.

Exit status: 0 when the data was verified, 1 when a step failed (the record is
still written, with data_verified false and the failed step), 2 for invalid
options. The script needs only the Python standard library.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

logger = logging.getLogger("restore-drill")

RECORD_NAME = "restore-drill.json"
RECORD_FORMAT = "assay-restore-drill"
RECORD_VERSION = 1
STANZA = "drill"
SERVER_USER = "postgres"
PG_BIN_CANDIDATES = (Path("/usr/lib/postgresql/15/bin"),)
POLL_INTERVAL_SECONDS = 0.05
# Seconds that cleanup waits for a server to stop before it stops it with
# `-m immediate`.
STOP_TIMEOUT_SECONDS = 60
# Environment variables with these prefixes (PGHOST, PGPORT, PGBACKREST_REPO1_PATH
# and others) could point psql, pg_ctl or pgBackRest at another server,
# repository or configuration, so the drill's commands run without them.
FOREIGN_ENV_PREFIXES = ("PG",)


class StepFailed(Exception):
    """A drill step failed. `exit_code` is the failing command's exit status, or 1."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class Interrupted(BaseException):
    """The script received SIGINT, SIGTERM or SIGHUP."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"interrupted by {signal.Signals(signum).name}")
        self.signum = signum


class Clock:
    """Wall-clock instants derived from one wall-clock reading and the monotonic clock.

    A clock adjustment during the drill therefore cannot distort the durations
    computed from two instants.
    """

    def __init__(self) -> None:
        self._wall = datetime.now(UTC)
        self._monotonic_ns = time.monotonic_ns()

    def now(self) -> datetime:
        elapsed_us = (time.monotonic_ns() - self._monotonic_ns) // 1000
        return self._wall + timedelta(microseconds=elapsed_us)


def rfc3339(instant: datetime) -> str:
    """Format an aware datetime as RFC 3339 UTC with microseconds."""
    return instant.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def seconds_between(start: datetime, end: datetime) -> float:
    return (end - start) / timedelta(seconds=1)


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def conf_string(value: str) -> str:
    """Quote a value for postgresql.conf, where a quote inside a string is doubled."""
    return "'" + value.replace("'", "''") + "'"


def last_line(*outputs: str) -> str:
    for output in outputs:
        lines = [line.strip() for line in output.splitlines() if line.strip()]
        if lines:
            return lines[-1]
    return "no output"


@dataclass
class Step:
    name: str
    started_at: datetime
    ended_at: datetime | None = None
    exit_code: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "step": self.name,
            "started_at": rfc3339(self.started_at),
            "ended_at": rfc3339(self.ended_at) if self.ended_at else None,
            "exit_code": self.exit_code,
        }


class Drill:
    """One drill run: its folders, the servers it started and the steps so far."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.out: Path = args.out
        self.rows: int = args.rows
        self.timeout: float = args.timeout
        self.pg_bin: Path = args.pg_bin
        self.pgbackrest: str = args.pgbackrest
        self.as_root = os.geteuid() == 0

        # Progress and the values the record reports.
        self.clock = Clock()
        self.steps: list[Step] = []
        self.error: str | None = None
        self.token = secrets.token_hex(16)
        self.tool_version: str | None = None
        self.postgres_version: str | None = None
        self.backup_label: str | None = None
        self.rows_found: int | None = None
        self.started_at: datetime | None = None
        self.restore_step: Step | None = None
        self.ready_at: datetime | None = None

        # Data directories of the servers that cleanup must stop.
        self.running: list[Path] = []
        self.env = {key: value for key, value in os.environ.items()
                    if not key.startswith(FOREIGN_ENV_PREFIXES)}
        self.env["LC_ALL"] = "C"

        self.temp = Path(tempfile.mkdtemp(prefix="assay-drill-"))
        self.primary = self.temp / "primary"
        self.restored = self.temp / "restored"
        self.socket_dir = self.temp / "socket"
        self.pgbackrest_log_dir = self.temp / "pgbackrest-log"
        self.primary_log = self.temp / "postgresql-primary.log"
        self.restored_log = self.temp / "postgresql-restored.log"
        self.primary_port = free_port()
        self.restored_port = free_port()

    # Commands

    def command(self, argv: list[str], *, label: str | None = None,
                timeout: float | None = None) -> str:
        """Run `argv` (as the postgres user when root) and return its stdout.

        Raises StepFailed with the exit status and the last line of output when
        the command fails, and kills the command's process group after
        `timeout` seconds (default: --timeout). `label` names the command in
        messages (default: the program's file name).
        """
        label = label or Path(argv[0]).name
        full = ["runuser", "-u", SERVER_USER, "--", *argv] if self.as_root else argv
        try:
            process = subprocess.Popen(
                full, cwd=self.temp, env=self.env, stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                start_new_session=True,
            )
        except FileNotFoundError as exc:
            raise StepFailed(f"{exc.filename} not found; install it or add its folder to PATH",
                             127) from exc
        try:
            stdout, stderr = process.communicate(timeout=timeout or self.timeout)
        except subprocess.TimeoutExpired as exc:
            self._kill_group(process)
            raise StepFailed(f"{label} timed out after {exc.timeout} s", 124) from exc
        except BaseException:
            self._kill_group(process)
            raise
        if process.returncode != 0:
            raise StepFailed(
                f"{label} exited with status {process.returncode}: "
                f"{last_line(stderr, stdout)}",
                process.returncode,
            )
        return stdout

    @staticmethod
    def _kill_group(process: subprocess.Popen[str]) -> None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.communicate()

    def pgbackrest_command(self, *arguments: str) -> str:
        """Run pgBackRest with the drill's configuration.

        The last argument must be the pgBackRest command, which names the run in messages.
        """
        return self.command([self.pgbackrest, f"--config-path={self.temp}",
                             f"--stanza={STANZA}", *arguments], label=f"pgbackrest {arguments[-1]}")

    def sql(self, port: int, statement: str) -> str:
        """Run SQL through the drill's Unix socket, where local connections are trusted."""
        return self.command([
            str(self.pg_bin / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
            "-h", str(self.socket_dir), "-p", str(port), "-U", "postgres", "-d", "postgres",
            "-c", statement,
        ]).strip()

    def start_server(self, data: Path, port: int, log: Path) -> None:
        self.running.append(data)
        self.command([str(self.pg_bin / "pg_ctl"), "start", "-D", str(data), "-l", str(log),
                      "-o", f"-p {port}", "-w", "-t", str(math.ceil(self.timeout))],
                     label="pg_ctl start")

    def stop_server(self, data: Path, mode: str) -> None:
        self.command([str(self.pg_bin / "pg_ctl"), "stop", "-D", str(data), "-m", mode, "-w",
                      "-t", str(STOP_TIMEOUT_SECONDS)], label="pg_ctl stop",
                     timeout=STOP_TIMEOUT_SECONDS + 10)
        self.running.remove(data)

    # Files

    def make_dir(self, path: Path) -> None:
        path.mkdir(mode=0o700)
        self._give_to_server_user(path)

    def write_file(self, path: Path, text: str, *, append: bool = False) -> None:
        with path.open("a" if append else "w", encoding="utf-8") as handle:
            handle.write(text)
        self._give_to_server_user(path)

    def _give_to_server_user(self, path: Path) -> None:
        if self.as_root:
            shutil.chown(path, SERVER_USER, SERVER_USER)

    # Steps

    def step(self, name: str, action: Callable[[], None]) -> Step:
        """Run one step, recording its start, end and exit status."""
        step = Step(name, self.clock.now())
        self.steps.append(step)
        logger.info("step %s started", name)
        try:
            action()
        except StepFailed as exc:
            step.exit_code = exc.exit_code
            self.error = str(exc)
            raise
        except Interrupted as exc:
            step.exit_code = 128 + exc.signum
            self.error = str(exc)
            raise
        except BaseException as exc:
            step.exit_code = 1
            self.error = f"{type(exc).__name__}: {exc}"
            raise
        else:
            step.exit_code = 0
        finally:
            ended = self.clock.now()
            step.ended_at = ended
        logger.info("step %s ended after %.3f s", name, seconds_between(step.started_at, ended))
        return step

    def check_tools(self) -> None:
        if shutil.which(self.pgbackrest) is None:
            raise StepFailed(f"pgBackRest not found at {self.pgbackrest}; install it (Debian: "
                             "apt-get install pgbackrest) or pass --pgbackrest", 127)
        for program in ("initdb", "pg_ctl", "postgres", "psql", "pg_isready"):
            if not (self.pg_bin / program).is_file():
                raise StepFailed(f"{program} not found in {self.pg_bin}; install PostgreSQL "
                                 "(Debian: apt-get install postgresql-15) or pass --pg-bin", 127)
        version = self.command([self.pgbackrest, "version"], label="pgbackrest version").strip()
        self.tool_version = version.removeprefix("pgBackRest ").strip()
        postgres = self.command([str(self.pg_bin / "postgres"), "--version"]).strip()
        self.postgres_version = postgres.removeprefix("postgres (PostgreSQL) ").strip()

    def prepare(self) -> None:
        self._give_to_server_user(self.temp)
        for folder in (self.socket_dir, self.pgbackrest_log_dir, self.temp / "repo",
                       self.temp / "lock", self.temp / "spool", self.restored):
            self.make_dir(folder)
        try:
            self.command(["test", "-w", str(self.temp)])
        except StepFailed as exc:
            raise StepFailed(f"the {SERVER_USER} user cannot write to {self.temp}; set TMPDIR "
                             f"to a folder it can reach") from exc
        self.write_file(self.temp / "pgbackrest.conf", "\n".join([
            "[global]",
            f"repo1-path={self.temp / 'repo'}",
            "repo1-retention-full=1",
            f"log-path={self.pgbackrest_log_dir}",
            f"lock-path={self.temp / 'lock'}",
            f"spool-path={self.temp / 'spool'}",
            "log-level-console=warn",
            "log-level-file=info",
            "start-fast=y",
            "archive-timeout=60",
            "",
            f"[{STANZA}]",
            f"pg1-path={self.primary}",
            f"pg1-port={self.primary_port}",
            f"pg1-socket-path={self.socket_dir}",
            "pg1-user=postgres",
            "",
        ]))

    def initdb(self) -> None:
        # Host connections need a password, and no role has one, so SQL runs
        # only through the Unix socket in the drill's private folder.
        self.command([str(self.pg_bin / "initdb"), "-D", str(self.primary), "-U", "postgres",
                      "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8",
                      "--locale=C", "--data-checksums", "--no-sync"])
        archive_command = shlex.join([self.pgbackrest, f"--config-path={self.temp}",
                                      f"--stanza={STANZA}", "archive-push"]) + " %p"
        self.write_file(self.primary / "postgresql.conf", "\n".join([
            "",
            "# Settings of the assay restore drill",
            "listen_addresses = '127.0.0.1'",
            f"unix_socket_directories = {conf_string(str(self.socket_dir))}",
            "archive_mode = on",
            f"archive_command = {conf_string(archive_command)}",
            "log_line_prefix = '%m [%p] '",
            "",
        ]), append=True)

    def write_data(self) -> None:
        self.sql(self.primary_port, "\n".join([
            "CREATE TABLE drill_rows (id integer PRIMARY KEY, payload text NOT NULL);",
            "INSERT INTO drill_rows SELECT i, md5(i::text) "
            f"FROM generate_series(1, {self.rows // 2}) AS i;",
        ]))

    def backup(self) -> None:
        self.pgbackrest_command("--type=full", "backup")
        output = self.pgbackrest_command("--output=json", "info")
        try:
            info = json.loads(output)
            fulls = [entry["label"] for stanza in info for entry in stanza.get("backup", [])
                     if entry.get("type") == "full"]
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise StepFailed(f"pgbackrest info printed output that is not the expected JSON: "
                             f"{exc}") from exc
        if not fulls:
            raise StepFailed("pgbackrest info lists no full backup after the backup command")
        self.backup_label = fulls[-1]

    def write_more_data(self) -> None:
        self.sql(self.primary_port, "\n".join([
            "INSERT INTO drill_rows SELECT i, md5(i::text) "
            f"FROM generate_series({self.rows // 2 + 1}, {self.rows}) AS i;",
            "CREATE TABLE drill_marker (token text NOT NULL, "
            "written_at timestamptz NOT NULL DEFAULT now());",
            f"INSERT INTO drill_marker (token) VALUES ('{self.token}');",
        ]))

    def restore(self) -> None:
        # archive-mode=off keeps the restored cluster from pushing its own WAL
        # into the repository that the drill restores from.
        self.pgbackrest_command(f"--pg1-path={self.restored}", "--type=default",
                                "--archive-mode=off", "restore")

    def wait_ready(self) -> None:
        """Wait until the restored server accepts TCP connections and has left recovery."""
        deadline = time.monotonic() + self.timeout
        isready = [str(self.pg_bin / "pg_isready"), "-q", "-h", "127.0.0.1",
                   "-p", str(self.restored_port)]
        while time.monotonic() < deadline:
            try:
                self.command(isready)
                if self.sql(self.restored_port, "SELECT pg_is_in_recovery()") == "f":
                    return
            except StepFailed:
                if not (self.restored / "postmaster.pid").exists():
                    raise StepFailed("PostgreSQL on the restored data directory stopped; see "
                                     "logs/postgresql-restored.log") from None
            time.sleep(POLL_INTERVAL_SECONDS)
        raise StepFailed(f"the restored server was not ready within {self.timeout} s", 124)

    def verify_data(self) -> None:
        count = self.sql(self.restored_port, "SELECT count(*) FROM drill_rows")
        self.rows_found = int(count)
        if self.rows_found != self.rows:
            raise StepFailed(f"found {self.rows_found} rows in drill_rows, expected {self.rows}")
        tokens = self.sql(self.restored_port, "SELECT token FROM drill_marker").splitlines()
        if tokens != [self.token]:
            raise StepFailed(f"drill_marker contains {tokens!r}, expected [{self.token!r}]")

    def run(self) -> None:
        """Run every step in order, raising StepFailed at the first failure."""
        self.step("check-tools", self.check_tools)
        self.step("prepare", self.prepare)
        self.step("initdb", self.initdb)
        self.step("start-primary", lambda: self.start_server(
            self.primary, self.primary_port, self.primary_log))
        self.step("stanza-create", lambda: self.pgbackrest_command("stanza-create"))
        self.step("write-data", self.write_data)
        self.step("backup", self.backup)
        self.step("write-more-data", self.write_more_data)
        self.step("archive-wal", lambda: self.pgbackrest_command("check"))

        # The measured drill starts here, because losing the primary is the simulated disaster.
        stop = self.step("stop-primary", lambda: self.stop_server(self.primary, "immediate"))
        self.started_at = stop.started_at
        self.restore_step = self.step("restore", self.restore)
        self.step("start-restored", lambda: self.start_server(
            self.restored, self.restored_port, self.restored_log))
        self.step("wait-ready", self.wait_ready)
        self.ready_at = self.step("verify-data", self.verify_data).ended_at

    # Cleanup and record

    def stop_servers(self) -> None:
        for data in list(self.running):
            if not (data / "postmaster.pid").exists():
                self.running.remove(data)
                continue
            try:
                self.stop_server(data, "fast")
            except StepFailed as exc:
                logger.warning("stopping the server on %s failed (%s); stopping it with -m "
                               "immediate", data, exc)
                try:
                    self.stop_server(data, "immediate")
                except StepFailed as again:
                    logger.error("stopping the server on %s failed: %s; stop it with pg_ctl stop "
                                 "-D %s -m immediate", data, again, data)

    def copy_logs(self) -> list[str]:
        """Copy the drill's logs into the output folder and return their names relative to it."""
        sources = [(self.primary_log, Path("logs") / self.primary_log.name),
                   (self.restored_log, Path("logs") / self.restored_log.name)]
        if self.pgbackrest_log_dir.is_dir():
            sources += [(log, Path("logs") / "pgbackrest" / log.name)
                        for log in sorted(self.pgbackrest_log_dir.glob("*.log"))]
        copied = []
        for source, relative in sources:
            if source.is_file():
                (self.out / relative).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, self.out / relative)
                copied.append(relative.as_posix())
        return sorted(copied)

    def record(self, logs: list[str]) -> dict[str, Any]:
        verified = self.ready_at is not None
        restore = self.restore_step
        restore_ended = restore.ended_at if restore and restore.exit_code == 0 else None
        return {
            "format": RECORD_FORMAT,
            "version": RECORD_VERSION,
            "tool": "pgbackrest",
            "tool_version": self.tool_version,
            "postgres_version": self.postgres_version,
            "stanza": STANZA,
            "backup_label": self.backup_label,
            "started_at": rfc3339(self.started_at) if self.started_at else None,
            "restore_command_ended_at": rfc3339(restore_ended) if restore_ended else None,
            "ready_at": rfc3339(self.ready_at) if self.ready_at else None,
            "restore_command_seconds": (seconds_between(restore.started_at, restore_ended)
                                        if restore and restore_ended else None),
            "rto_seconds": (seconds_between(self.started_at, self.ready_at)
                            if self.started_at and self.ready_at else None),
            "data_verified": verified,
            "rows_expected": self.rows,
            "rows_found": self.rows_found,
            "error": self.error,
            "steps": [step.to_json() for step in self.steps],
            "logs": logs,
        }

    def finish(self, keep: bool) -> Path:
        """Stop the servers, copy the logs, write the record and remove the temporary folder."""
        self.stop_servers()
        record = self.record(self.copy_logs())
        path = self.out / RECORD_NAME
        partial = path.with_name(path.name + ".partial")
        partial.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        os.replace(partial, path)
        if keep:
            logger.info("kept the temporary folder %s", self.temp)
        else:
            shutil.rmtree(self.temp, ignore_errors=True)
        return path


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Back up a throw-away PostgreSQL cluster with pgBackRest, lose it, restore "
                    "it into a new data directory and measure the recovery time.")
    parser.add_argument("--out", type=Path, required=True,
                        help="folder for restore-drill.json and the copied logs; created when "
                             "missing, and must be empty")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary folder with the clusters and the repository")
    parser.add_argument("--rows", type=int, default=100_000,
                        help="rows in the drill table; half are written before the full backup "
                             "and half after it (default: %(default)s)")
    parser.add_argument("--timeout", type=float, default=300.0,
                        help="maximum seconds for each command and for the wait until the "
                             "restored server is ready (default: %(default)s)")
    parser.add_argument("--pg-bin", type=Path, default=None,
                        help="folder of the PostgreSQL binaries (default: "
                             "/usr/lib/postgresql/15/bin, else the folder of initdb on PATH)")
    parser.add_argument("--pgbackrest", default=None,
                        help="pgBackRest executable (default: pgbackrest on PATH)")
    args = parser.parse_args(argv)

    if args.rows < 2:
        parser.error(f"--rows must be at least 2, got {args.rows}")
    if args.timeout <= 0:
        parser.error(f"--timeout must be positive, got {args.timeout}")
    if args.out.exists() and (not args.out.is_dir() or any(args.out.iterdir())):
        parser.error(f"--out {args.out} exists and is not an empty folder; choose a new folder")

    if args.pg_bin is None:
        args.pg_bin = default_pg_bin()
    if args.pgbackrest is None:
        args.pgbackrest = shutil.which("pgbackrest") or "pgbackrest"
    args.out = args.out.resolve()
    return args


def default_pg_bin() -> Path:
    for candidate in PG_BIN_CANDIDATES:
        if (candidate / "initdb").is_file():
            return candidate
    found = shutil.which("initdb")
    return Path(found).parent if found else PG_BIN_CANDIDATES[0]


def raise_interrupted(signum: int, _frame: FrameType | None) -> None:
    raise Interrupted(signum)


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, raise_interrupted)
    drill = Drill(args)
    logger.info("drill folder %s, primary on 127.0.0.1:%d, restored server on 127.0.0.1:%d",
                drill.temp, drill.primary_port, drill.restored_port)
    failure: BaseException | None = None
    try:
        drill.run()
    except (StepFailed, Interrupted) as exc:
        failure = exc
    finally:
        # Ignore further signals, because a second one during cleanup would
        # leave servers running.
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)
        record_path = drill.finish(args.keep)
    if failure is not None:
        failed = drill.steps[-1].name
        logger.error("restore drill failed at step %s: %s; record written to %s", failed,
                     drill.error, record_path)
        return 1
    record = json.loads(record_path.read_text(encoding="utf-8"))
    logger.info("restore drill passed: rto %.3f s, restore command %.3f s; record written to %s",
                record["rto_seconds"], record["restore_command_seconds"], record_path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
