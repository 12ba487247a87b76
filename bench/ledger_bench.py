"""Benchmark the evidence ledger against baselines measured in the same run.

Run from the repository root with `.venv/bin/python bench/ledger_bench.py`,
or add `--quick` for a short smoke run. The script measures four things and
prints one markdown table:

1. `Ledger.append` on SQLite, one transaction per run of evidence records,
   against raw `sqlite3` inserting the same bytes with the same chained
   hashes, the same table, the same PRAGMAs and the same transactions.
2. `verify_chain` and `verify_ledger` on that ledger, against SHA-256 with
   hashlib over the same stored header and body bytes, read through
   `Ledger.records()` like the verifiers read them.
3. Eight writer processes appending to one ledger on PostgreSQL, against
   eight raw psycopg writers, followed by `verify_ledger` on the result.
4. A git repository kept the way a git-based evidence locker keeps it, one
   commit per run with one JSON file per record, then `git fsck`.

Every ratio pairs measurements taken in the same round, because the machine
may be shared: each round runs every method once, in an order that rotates
from round to round, and the table shows medians over the rounds.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import multiprocessing
import os
import platform
import queue
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import orjson

REPO = Path(__file__).resolve().parents[1]
# support.pgserver lives in the test tree. The bench folder is on sys.path
# already because Python runs this file as a script from it.
sys.path.insert(0, str(REPO / "tests"))

from evidence_data import make_run_bodies  # noqa: E402
from git_locker import GitLocker  # noqa: E402
from pg_writers import SCOPE, STAMP, WriterTask, run_writer  # noqa: E402
from raw_chain import SqliteChain  # noqa: E402

from assay.evidence.audit import verify_ledger  # noqa: E402
from assay.evidence.blobs import BlobStore  # noqa: E402
from assay.evidence.ledger import Ledger, NewRecord, verify_chain  # noqa: E402
from assay.evidence.records import RECORD_DOMAIN, canonical  # noqa: E402

# The standard library's encoder with RFC 8785's key order and separators,
# for comparison with orjson, which canonical() uses.
STDLIB_ENCODER = json.JSONEncoder(
    ensure_ascii=False, allow_nan=False, sort_keys=True, separators=(",", ":")
)


@dataclass(frozen=True)
class Settings:
    """Sizes and repetition counts of one benchmark run."""

    sqlite_runs: int
    records_per_run: int
    verify_rounds: int
    pg_writers: int
    pg_runs_per_writer: int
    pg_records_per_run: int
    pg_rounds: int


FULL = Settings(sqlite_runs=15, records_per_run=1000, verify_rounds=15,
                pg_writers=8, pg_runs_per_writer=20, pg_records_per_run=100, pg_rounds=7)
QUICK = Settings(sqlite_runs=3, records_per_run=1000, verify_rounds=3,
                 pg_writers=8, pg_runs_per_writer=2, pg_records_per_run=100, pg_rounds=1)


@dataclass
class Row:
    """One line of the results table."""

    section: str
    method: str
    result: str
    ratio: str = ""
    note: str = ""


@dataclass
class Report:
    """Everything the script prints after the environment."""

    rows: list[Row] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)


def run_rounds(
    methods: dict[str, Callable[[int], object]],
    rounds: int,
    *,
    warmup: int = 1,
    before_round: Callable[[int], None] | None = None,
) -> dict[str, list[float]]:
    """Time each method once per round in a rotating order; return seconds per method.

    Each method gets the round number. `before_round` runs untimed before
    each round. Warm-up rounds run first and are not returned. The garbage
    collector runs before every timed call, so that one method does not pay
    for another's garbage.
    """
    names = list(methods)
    seconds: dict[str, list[float]] = {name: [] for name in names}
    for round_number in range(warmup + rounds):
        if before_round is not None:
            before_round(round_number)
        shift = round_number % len(names)
        for name in names[shift:] + names[:shift]:
            gc.collect()
            started = time.perf_counter()
            methods[name](round_number)
            elapsed = time.perf_counter() - started
            if round_number >= warmup:
                seconds[name].append(elapsed)
    return seconds


def paired_ratio(numerator: list[float], denominator: list[float]) -> float:
    """Return the median over rounds of numerator[i] / denominator[i]."""
    return statistics.median(a / b for a, b in zip(numerator, denominator, strict=True))


def rate(count: float, seconds: list[float]) -> float:
    return count / statistics.median(seconds)


def format_rate(value: float, unit: str) -> str:
    return f"{value:,.0f} {unit}" if value >= 100 else f"{value:,.2f} {unit}"


def timing(seconds: list[float], step: str) -> str:
    """Describe the timings of one method: median and range in ms per `step`."""
    ms = sorted(value * 1000 for value in seconds)
    return (f"{statistics.median(ms):,.1f} ms per {step} "
            f"(range {ms[0]:,.1f}–{ms[-1]:,.1f}, n={len(ms)})")


def microseconds(count: int, seconds: list[float]) -> str:
    return f"{statistics.median(seconds) / count * 1e6:.1f} µs/record"


# --- 1 and 4: appends on SQLite, raw sqlite3 and git ----------------------


@dataclass
class RunInput:
    """The records of the current round, built before its first timed call."""

    run: str
    bodies: list[dict]
    entries: list[NewRecord]
    encoded: list[bytes]
    first_seq: int = 1


@dataclass
class SqliteLedgers:
    """The SQLite databases and git repositories that section 1 fills and section 2 reads."""

    ledger_path: Path
    git_default: GitLocker
    record_count: int


def bench_sqlite_appends(workdir: Path, settings: Settings, report: Report) -> SqliteLedgers:
    """Append the same runs to the ledger, the raw baselines and two git lockers."""
    paths = {name: workdir / f"{name}.db" for name in ("ledger", "raw", "raw-canonical")}
    # Ledger creates every table and index, so the baselines write into the
    # same layout.
    for path in paths.values():
        Ledger(f"sqlite:///{path}").close()
    ledger = Ledger(f"sqlite:///{paths['ledger']}")
    raw = SqliteChain(str(paths["raw"]))
    raw_canonical = SqliteChain(str(paths["raw-canonical"]))
    git_default = GitLocker(workdir / "git-default", durable=False)
    git_durable = GitLocker(workdir / "git-fsync", durable=True)

    per_run = settings.records_per_run
    current = RunInput("", [], [], [])

    def prepare(round_number: int) -> None:
        bodies = make_run_bodies(round_number, per_run, STAMP)
        current.run = f"{round_number:032x}"
        current.first_seq = round_number * per_run + 1
        current.bodies = bodies
        current.entries = [NewRecord("evidence", body) for body in bodies]
        current.encoded = [canonical(body) for body in bodies]

    def append_ledger(_round: int) -> None:
        ledger.append(run=current.run, scope=SCOPE, time=STAMP, entries=current.entries)

    def append_raw(_round: int) -> None:
        raw.append(current.run, SCOPE, STAMP, "evidence", current.encoded)

    def append_raw_canonical(_round: int) -> None:
        encoded = [canonical(body) for body in current.bodies]
        raw_canonical.append(current.run, SCOPE, STAMP, "evidence", encoded)

    def canonical_only(_round: int) -> None:
        for body in current.bodies:
            canonical(body)

    def orjson_only(_round: int) -> None:
        for body in current.bodies:
            orjson.dumps(body, option=orjson.OPT_SORT_KEYS)

    def stdlib_only(_round: int) -> None:
        for body in current.bodies:
            STDLIB_ENCODER.encode(body).encode("utf-8")

    def commit_git(_round: int) -> None:
        git_default.commit_run(current.run, current.first_seq, current.encoded)

    def commit_git_durable(_round: int) -> None:
        git_durable.commit_run(current.run, current.first_seq, current.encoded)

    methods = {
        "ledger": append_ledger,
        "raw": append_raw,
        "raw-canonical": append_raw_canonical,
        "canonical": canonical_only,
        "orjson": orjson_only,
        "stdlib": stdlib_only,
        "git": commit_git,
        "git-fsync": commit_git_durable,
    }
    seconds = run_rounds(methods, settings.sqlite_runs, before_round=prepare)
    ledger.close()
    raw.close()
    raw_canonical.close()

    total_runs = settings.sqlite_runs + 1
    record_count = total_runs * per_run
    _check_same_rows(paths, record_count, report)
    for locker in (git_default, git_durable):
        commits = locker.commit_count()
        if commits != total_runs:
            raise SystemExit(
                f"git locker {locker.path} has {commits} commits, expected {total_runs}"
            )
    report.checks.append(f"each git locker has {total_runs} commits of {per_run} files")

    section = f"1. append, SQLite, {per_run} records per transaction"
    run_timing = "run"
    # orjson alone is the least that turning body dicts into bytes costs
    # canonical(), so raw + orjson bounds the ratio that Ledger.append can
    # reach against raw.
    bound = statistics.median(
        raw / (raw + encoder)
        for raw, encoder in zip(seconds["raw"], seconds["orjson"], strict=True)
    )
    report.rows += [
        Row(section, "`Ledger.append`", format_rate(rate(per_run, seconds["ledger"]), "records/s"),
            f"**{paired_ratio(seconds['raw'], seconds['ledger']):.2f}** of raw (goal ≥ 0.7)",
            timing(seconds["ledger"], run_timing)),
        Row(section, "raw `sqlite3`, bodies pre-encoded (baseline)",
            format_rate(rate(per_run, seconds["raw"]), "records/s"), "1.00",
            timing(seconds["raw"], run_timing)),
        Row(section, "raw `sqlite3` + `canonical()` of each body",
            format_rate(rate(per_run, seconds["raw-canonical"]), "records/s"),
            f"ledger is {paired_ratio(seconds['raw-canonical'], seconds['ledger']):.2f} of this",
            timing(seconds["raw-canonical"], run_timing)),
        Row(section, "`canonical()` of each body, no database",
            microseconds(per_run, seconds["canonical"]), "",
            timing(seconds["canonical"], run_timing)),
        Row(section, "`orjson.dumps` alone (sorted keys, no RFC 8785 checks)",
            microseconds(per_run, seconds["orjson"]),
            f"bounds `Ledger.append` at {bound:.2f} of raw",
            timing(seconds["orjson"], run_timing)),
        Row(section, "stdlib `json` C encoder alone, for comparison",
            microseconds(per_run, seconds["stdlib"]), "",
            timing(seconds["stdlib"], run_timing)),
        Row(section, "raw `sqlite3` per record", microseconds(per_run, seconds["raw"]), "", ""),
        Row(section, "`Ledger.append` per record",
            microseconds(per_run, seconds["ledger"]), "", ""),
    ]
    section = f"4. git locker, one commit per run of {per_run} JSON files"
    labels = (("git", "git, default fsync"), ("git-fsync", "git, core.fsync=all (batch)"))
    for name, label in labels:
        report.rows.append(Row(
            section, label,
            f"{format_rate(rate(1, seconds[name]), 'commits/s')}, "
            f"{format_rate(rate(per_run, seconds[name]), 'records/s')}",
            f"{paired_ratio(seconds['ledger'], seconds[name]):.3f} of the ledger's records/s",
            timing(seconds[name], "commit"),
        ))
    return SqliteLedgers(paths["ledger"], git_default, record_count)


def _check_same_rows(paths: dict[str, Path], expected: int, report: Report) -> None:
    """Stop unless the ledger and both baselines stored identical rows."""
    contents = {}
    for name, path in paths.items():
        with sqlite3.connect(path) as connection:
            contents[name] = connection.execute(
                "SELECT seq, run, scope, kind, time, prev, hash, header, body"
                " FROM records ORDER BY seq"
            ).fetchall()
    if len(contents["ledger"]) != expected:
        raise SystemExit(f"ledger has {len(contents['ledger'])} records, expected {expected}")
    for name in ("raw", "raw-canonical"):
        if contents[name] != contents["ledger"]:
            raise SystemExit(
                f"baseline {name} stored other rows than the ledger; the comparison is invalid"
            )
    report.checks.append(
        f"ledger and both raw baselines stored the same {expected} rows, byte for byte"
    )


# --- 2: verification ------------------------------------------------------


def hash_stored_records(ledger: Ledger) -> int:
    """Hash every stored header (with the domain tag) and body; return the record count."""
    count = 0
    for record in ledger.records():
        hashlib.sha256(RECORD_DOMAIN + record.header).hexdigest()
        hashlib.sha256(record.body).hexdigest()
        count += 1
    return count


def bench_verification(
    workdir: Path, ledgers: SqliteLedgers, settings: Settings, report: Report
) -> None:
    """Time the verifiers, the hashlib loop and `git fsck` over the records of section 1."""
    ledger = Ledger(f"sqlite:///{ledgers.ledger_path}")
    blobs = BlobStore(workdir / "blobs")
    count = ledgers.record_count
    stored_bytes = sum(len(r.header) + len(r.body or b"") for r in ledger.records())
    # Record counts that each method covered in its last round.
    covered: dict[str, int] = {}

    def hash_all(_round: int) -> None:
        covered["hashlib"] = hash_stored_records(ledger)

    def verify_chain_all(_round: int) -> None:
        covered["verify_chain"] = verify_chain(ledger.records(), lambda _key_id: None)[0]

    def verify_ledger_all(_round: int) -> None:
        covered["verify_ledger"] = verify_ledger(ledger, blobs, {}).records

    def fsck(_round: int) -> None:
        ledgers.git_default.fsck_seconds()

    methods = {"hashlib": hash_all, "verify_chain": verify_chain_all,
               "verify_ledger": verify_ledger_all, "git fsck": fsck}
    seconds = run_rounds(methods, settings.verify_rounds)
    ledger.close()

    for name, records in covered.items():
        if records != count:
            raise SystemExit(f"{name} covered {records} records, expected {count}")
    report.checks.append(
        f"verify_chain and verify_ledger passed on the SQLite ledger ({count} records)"
    )

    megabytes = stored_bytes / 1e6
    section = f"2. verify, SQLite, {count} records, {megabytes:.1f} MB of header+body"
    labels = (("verify_chain", "`verify_chain`"), ("verify_ledger", "`verify_ledger`"),
              ("hashlib", "hashlib SHA-256 of header and body (baseline)"))
    for name, label in labels:
        is_baseline = name == "hashlib"
        report.rows.append(Row(
            section, label,
            f"{format_rate(rate(count, seconds[name]), 'records/s')}, "
            f"{rate(megabytes, seconds[name]):.1f} MB/s",
            "1.00" if is_baseline else
            f"**{paired_ratio(seconds['hashlib'], seconds[name]):.2f}** of hashlib "
            "(goal ≥ 0.8)",
            timing(seconds[name], "pass"),
        ))
    report.rows.append(Row(
        "4. git locker", f"`git fsck --full` over {count // settings.records_per_run} commits",
        f"{statistics.median(seconds['git fsck']):.2f} s",
        f"`verify_ledger` takes "
        f"{paired_ratio(seconds['verify_ledger'], seconds['git fsck']):.2f}× the fsck time",
        timing(seconds["git fsck"], "fsck"),
    ))


# --- 3: concurrent writers on PostgreSQL ----------------------------------


def run_writer_batch(mode: str, url: str, settings: Settings) -> float:
    """Start the writer processes, release them together and return seconds until the last ends."""
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    results = context.Queue()
    processes = [
        context.Process(
            target=run_writer,
            args=(WriterTask(mode, url, writer, settings.pg_runs_per_writer,
                             settings.pg_records_per_run), start, results),
        )
        for writer in range(settings.pg_writers)
    ]
    for process in processes:
        process.start()
    try:
        _collect(results, processes, "ready")
        started = time.monotonic()
        start.set()
        ends = _collect(results, processes, "done")
    finally:
        for process in processes:
            process.join(timeout=60)
    return max(ends) - started


def _collect(results: Any, processes: list[Any], state: str) -> list[Any]:
    """Wait for every writer to report `state`; stop if a writer exits with an error first."""
    values = []
    deadline = time.monotonic() + 600
    while len(values) < len(processes):
        try:
            reported, _writer, value = results.get(timeout=1)
        except queue.Empty:
            failed = [process for process in processes if process.exitcode not in (None, 0)]
            if failed:
                raise SystemExit(
                    f"a writer process exited with status {failed[0].exitcode}"
                ) from None
            if time.monotonic() > deadline:
                raise SystemExit(f"writers did not report {state} within 600 s") from None
            continue
        if reported != state:
            raise SystemExit(f"a writer reported {reported} while the parent waited for {state}")
        values.append(value)
    return values


def restart_with_fsync(data: Path, server_url: str) -> None:
    """Restart the server that postgres_server() started, with fsync on.

    postgres_server() passes fsync=off on the command line for test speed,
    and a command-line setting overrides ALTER SYSTEM. With fsync on, each
    commit waits for its WAL flush, as a commit in SQLite with
    synchronous=FULL does. The other options repeat those of
    tests/support/pgserver.py.
    """
    from support.pgserver import pg_bin

    port = urlparse(server_url).port
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {data.parent} -c max_connections=50"
    argv = [str(pg_bin() / "pg_ctl"), "-D", str(data), "-o", options,
            "-l", str(data.parent / "server.log"), "-w", "-t", "60", "restart"]
    if os.geteuid() == 0:
        # PostgreSQL refuses to run as root, so the server runs as `postgres`.
        argv = ["runuser", "-u", "postgres", "--", *argv]
    subprocess.run(argv, check=True, capture_output=True)


def bench_postgres(
    workdir: Path, settings: Settings, report: Report, environment: dict[str, str]
) -> None:
    """Run the concurrent writers against a PostgreSQL server started for this script."""
    import psycopg
    from support.pgserver import create_database, pg_bin, postgres_server

    if pg_bin() is None:
        raise SystemExit("PostgreSQL binaries (initdb, pg_ctl) not found; install postgresql-15")
    total = settings.pg_writers * settings.pg_runs_per_writer * settings.pg_records_per_run
    with postgres_server() as (server_url, data):
        restart_with_fsync(data, server_url)
        with psycopg.connect(server_url, autocommit=True) as connection:
            settings_row = connection.execute(
                "SELECT current_setting('server_version'), current_setting('fsync'), "
                "current_setting('synchronous_commit')"
            ).fetchone()
        version, fsync, synchronous_commit = settings_row
        if fsync != "on":
            raise SystemExit(f"PostgreSQL runs with fsync={fsync} after the restart; expected on")
        environment["PostgreSQL"] = (
            f"{version} (fsync={fsync}, synchronous_commit={synchronous_commit})"
        )
        urls: dict[str, str] = {}
        # Only the writers' time counts, not creating the database and schema.
        elapsed: dict[str, list[float]] = {"ledger": [], "raw": []}

        def batch(mode: str) -> Callable[[int], None]:
            def run(round_number: int) -> None:
                url = create_database(server_url, f"bench_{mode}_{round_number}")
                Ledger(url).close()
                urls[mode] = url
                elapsed[mode].append(run_writer_batch(mode, url, settings))
            return run

        run_rounds({mode: batch(mode) for mode in elapsed}, settings.pg_rounds, warmup=0)
        ledger_seconds, raw_seconds = elapsed["ledger"], elapsed["raw"]
        _check_postgres_chain(urls["ledger"], workdir, settings, total, report)
        _check_raw_postgres_chain(urls["raw"], total, report)

    section = (f"3. append, PostgreSQL, {settings.pg_writers} writer processes × "
               f"{settings.pg_runs_per_writer} runs × {settings.pg_records_per_run} records")
    report.rows += [
        Row(section, "`Ledger.append`",
            format_rate(total / statistics.median(ledger_seconds), "records/s"),
            f"**{paired_ratio(raw_seconds, ledger_seconds):.2f}** of raw",
            timing(ledger_seconds, "batch") + "; chain verified"),
        Row(section, "raw psycopg, bodies pre-encoded (baseline)",
            format_rate(total / statistics.median(raw_seconds), "records/s"), "1.00",
            timing(raw_seconds, "batch")),
    ]


def _check_postgres_chain(
    url: str, workdir: Path, settings: Settings, total: int, report: Report
) -> None:
    """Stop unless the last PostgreSQL ledger verifies as one chain of whole runs."""
    ledger = Ledger(url)
    try:
        started = time.perf_counter()
        verified = verify_ledger(ledger, BlobStore(workdir / "blobs"), {})
        seconds = time.perf_counter() - started
        order = [record.header_fields()["run"] for record in ledger.records()]
    finally:
        ledger.close()
    expected_runs = settings.pg_writers * settings.pg_runs_per_writer
    # Runs are counted from the headers. A run is contiguous when its records
    # form one block in seq order.
    blocks = [run for index, run in enumerate(order) if index == 0 or order[index - 1] != run]
    if verified.records != total or len(set(order)) != expected_runs:
        raise SystemExit(
            f"PostgreSQL ledger has {verified.records} records in {len(set(order))} runs, "
            f"expected {total} in {expected_runs}"
        )
    if len(blocks) != expected_runs:
        raise SystemExit("some run is split into several blocks in the PostgreSQL chain")
    report.checks.append(
        f"verify_ledger passed on the PostgreSQL ledger: {total} records, {expected_runs} runs, "
        f"each run contiguous, head seq {verified.last_seq}, {seconds:.2f} s"
    )


def _check_raw_postgres_chain(url: str, total: int, report: Report) -> None:
    """Stop unless the raw psycopg writers also left one verifiable chain of `total` records."""
    ledger = Ledger(url)
    try:
        last_seq, _head = verify_chain(ledger.records(), lambda _key_id: None)
    finally:
        ledger.close()
    if last_seq != total:
        raise SystemExit(f"the raw PostgreSQL chain ends at seq {last_seq}, expected {total}")
    report.checks.append(
        f"verify_chain passed on the raw psycopg baseline's chain ({total} records)"
    )


# --- environment and output -----------------------------------------------


def describe_environment() -> dict[str, str]:
    import sqlalchemy

    def output(*argv: str) -> str:
        return subprocess.run(argv, check=True, capture_output=True, text=True).stdout.rstrip()

    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")),
               platform.processor())
    return {
        "command": " ".join([".venv/bin/python", "bench/ledger_bench.py", *sys.argv[1:]]),
        "nproc": output("nproc"),
        "CPU": cpu,
        "free -h | head -2": "\n".join(output("free", "-h").splitlines()[:2]),
        "python --version": output(sys.executable, "--version"),
        "SQLite": sqlite3.sqlite_version,
        "SQLAlchemy": sqlalchemy.__version__,
        "git": output("git", "--version"),
        "temporary directory": tempfile.gettempdir(),
    }


def print_report(environment: dict[str, str], report: Report) -> None:
    print("### Environment\n")
    for key, value in environment.items():
        if "\n" in value:
            print(f"- `{key}`:\n\n```\n{value}\n```\n")
        else:
            print(f"- {key}: `{value}`")
    print("\n### Results\n")
    print("| Section | Method | Median result | Ratio | Note |")
    print("|---|---|---|---|---|")
    # Sections 1 and 2 add rows to section 4 too; sorting by the section
    # number keeps the order within each section.
    for row in sorted(report.rows, key=lambda row: int(row.section.split(".", 1)[0])):
        print(f"| {row.section} | {row.method} | {row.result} | {row.ratio} | {row.note} |")
    print("\n### Checks\n")
    for check in report.checks:
        print(f"- {check}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"short smoke run: {QUICK.sqlite_runs} SQLite runs, "
                             f"{QUICK.verify_rounds} verification rounds, "
                             f"{QUICK.pg_rounds} PostgreSQL round")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary directory and print its path")
    parser.add_argument("--skip-postgres", action="store_true",
                        help="skip section 3, the concurrent writers on PostgreSQL")
    parser.add_argument("--only-postgres", action="store_true",
                        help="run section 3 only")
    arguments = parser.parse_args()
    settings = QUICK if arguments.quick else FULL

    environment = describe_environment()
    workdir = Path(tempfile.mkdtemp(prefix="assay-bench-"))
    report = Report()
    try:
        if not arguments.only_postgres:
            print(f"sections 1 and 4: appends ({settings.sqlite_runs} timed runs)",
                  file=sys.stderr)
            ledgers = bench_sqlite_appends(workdir, settings, report)
            print(f"section 2: verification ({settings.verify_rounds} rounds)", file=sys.stderr)
            bench_verification(workdir, ledgers, settings, report)
        if not arguments.skip_postgres:
            print(f"section 3: PostgreSQL ({settings.pg_rounds} rounds)", file=sys.stderr)
            bench_postgres(workdir, settings, report, environment)
    finally:
        if arguments.keep:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print_report(environment, report)


if __name__ == "__main__":
    main()
