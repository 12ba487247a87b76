"""The append-only, hash-chained evidence ledger over SQLAlchemy Core.

One implementation serves SQLite (the default) and PostgreSQL (psycopg 3).
Rows keep each record's exact canonical header and body bytes (BLOB or
bytea, never JSON columns), and reading and verifying use those bytes as
stored. Every append first takes the database's own write lock (`BEGIN
IMMEDIATE` in SQLite, a transaction-scoped advisory lock in PostgreSQL) and
only then reads the chain head, so concurrent writers extend one linear chain.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import (
    Column,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    create_engine,
    event,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from assay.errors import LedgerError
from assay.evidence.records import (
    GENESIS_PREV,
    ChainBuilder,
    ChainChecker,
    ChainError,
    StoredRecord,
    canonical,
    check_kind,
)
from assay.faults import fault_point
from assay.keys import SigningKey, signature_valid

SCHEMA_VERSION = 1
CHECKPOINT_DOMAIN = b"assay.checkpoint.v1\x00"
# Arbitrary constant naming the chain's advisory lock in PostgreSQL.
ADVISORY_LOCK_KEY = 0x61737361  # "assa"
INSERT_BATCH = 500



class _Bytes(LargeBinary):
    """A binary column whose values go to the driver as they are.

    sqlite3 and psycopg both take `bytes` for BLOB and bytea. LargeBinary
    would wrap every value in the driver's Binary type first, which costs
    more per appended record than the rest of SQLAlchemy's parameter
    handling.
    """

    cache_ok = True

    def bind_processor(self, dialect: Any) -> None:
        return None


metadata = MetaData()
records_table = Table(
    "records",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("run", String(64), nullable=False, index=True),
    Column("scope", String(200), nullable=False),
    Column("kind", String(20), nullable=False, index=True),
    Column("time", String(40), nullable=False),
    Column("prev", String(64), nullable=False, unique=True),
    Column("hash", String(64), nullable=False, unique=True),
    Column("header", _Bytes, nullable=False),
    Column("body", _Bytes, nullable=False),
)
meta_table = Table(
    "assay_meta",
    metadata,
    Column("key", String(50), primary_key=True),
    Column("value", String(200), nullable=False),
)

# Upgrade steps from each older schema version to the next, applied in order
# inside one transaction when a ledger is opened. Version 1 is the first.
UPGRADES: dict[int, Callable[[Connection], None]] = {}


@dataclass(frozen=True)
class NewRecord:
    """A record to append: its kind and body; seq, prev and hash come from the chain."""

    kind: str
    body: dict[str, Any]


@dataclass
class RunSummary:
    """One run as `assay ledger log` lists it."""

    run: str
    time: str
    scope: str
    first_seq: int
    last_seq: int
    complete: bool = False
    statuses: dict[str, int] = field(default_factory=dict)


def checkpoint_message(*, run: str, size: int, head: str, key_id: str) -> bytes:
    """Build the bytes a checkpoint signature covers."""
    return CHECKPOINT_DOMAIN + canonical({"head": head, "key_id": key_id, "run": run, "size": size})


def normalise_url(url: str) -> str:
    """Accept `postgresql://` for PostgreSQL and select the psycopg 3 driver."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _sqlite_engine(url: str) -> Engine:
    engine = create_engine(url)

    @event.listens_for(engine, "connect")
    def _manual_transactions(dbapi_connection: Any, _record: Any) -> None:
        # The driver's own deferred BEGIN is switched off so that the begin
        # event below can take the write lock before the chain head is read.
        dbapi_connection.isolation_level = None
        dbapi_connection.execute("PRAGMA journal_mode=WAL")
        dbapi_connection.execute("PRAGMA synchronous=FULL")
        dbapi_connection.execute("PRAGMA busy_timeout=60000")

    @event.listens_for(engine, "begin")
    def _begin_immediate(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def open_existing(url: str) -> Ledger | None:
    """Open the ledger at `url`, or return None when it is a SQLite file that does not exist.

    Opening a ledger creates it, and commands that only read must not leave
    an empty one behind.
    """
    database = normalise_url(url).removeprefix("sqlite:///") if url.startswith("sqlite:///") else None
    if database and database != ":memory:" and not Path(database).is_file():
        return None
    return Ledger(url)


def open_required(url: str) -> Ledger:
    """Open the ledger at `url`; raise LedgerError when it is a SQLite file that does not exist."""
    ledger = open_existing(url)
    if ledger is None:
        raise LedgerError(
            f"no ledger at {url.removeprefix('sqlite:///')}: `assay run` records the first run "
            "and creates it"
        )
    return ledger


class Ledger:
    """One evidence ledger, opened by URL (sqlite:///PATH or postgresql://...)."""

    def __init__(self, url: str) -> None:
        self.url = normalise_url(url)
        self.dialect = "sqlite" if self.url.startswith("sqlite:") else "postgresql"
        if not (self.url.startswith("sqlite:") or self.url.startswith("postgresql+psycopg://")):
            raise LedgerError(
                f"unsupported ledger URL {url!r}; use sqlite:///PATH or postgresql://HOST/DB"
            )
        try:
            if self.dialect == "sqlite":
                database = self.url.removeprefix("sqlite:///")
                if database and database != ":memory:":
                    Path(database).parent.mkdir(parents=True, exist_ok=True)
                self.engine = _sqlite_engine(self.url)
            else:
                self.engine = create_engine(self.url, pool_pre_ping=True)
            with self.engine.begin() as connection:
                self._lock(connection)
                metadata.create_all(connection)
                self._check_schema(connection)
        except SQLAlchemyError as exc:
            raise LedgerError(f"cannot open ledger {_redact(self.url)}: {_first_line(exc)}") from exc
        self._insert = _InsertStatement(self.engine.dialect)

    def _lock(self, connection: Connection) -> None:
        if self.dialect == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})

    def _check_schema(self, connection: Connection) -> None:
        row = connection.execute(
            select(meta_table.c.value).where(meta_table.c.key == "schema_version")
        ).first()
        if row is None:
            connection.execute(
                insert(meta_table).values(key="schema_version", value=str(SCHEMA_VERSION))
            )
            return
        version = int(row[0])
        if version > SCHEMA_VERSION:
            raise LedgerError(
                f"ledger {_redact(self.url)} has schema version {version}, newer than the "
                f"{SCHEMA_VERSION} this assay reads; upgrade assay"
            )
        while version < SCHEMA_VERSION:
            UPGRADES[version](connection)
            version += 1
        connection.execute(
            meta_table.update().where(meta_table.c.key == "schema_version").values(value=str(version))
        )

    def close(self) -> None:
        self.engine.dispose()

    def last_time(self) -> tuple[int, str] | None:
        """Return the seq and time of the last record, or None for an empty ledger."""
        with self.engine.connect() as connection:
            row = connection.execute(
                select(records_table.c.seq, records_table.c.time)
                .order_by(records_table.c.seq.desc())
                .limit(1)
            ).first()
        return None if row is None else (int(row[0]), str(row[1]))

    def head(self) -> tuple[int, str]:
        """Return the last seq and its hash (0 and the genesis prev for an empty ledger)."""
        with self.engine.connect() as connection:
            return self._head(connection)

    @staticmethod
    def _head(connection: Connection) -> tuple[int, str]:
        row = connection.execute(
            select(records_table.c.seq, records_table.c.hash)
            .order_by(records_table.c.seq.desc())
            .limit(1)
        ).first()
        if row is None:
            return 0, GENESIS_PREV
        return int(row[0]), str(row[1])

    def append(
        self, *, run: str, scope: str, time: str, entries: Sequence[NewRecord]
    ) -> list[StoredRecord]:
        """Append `entries` in one transaction, in order, after the current head."""
        # Bodies are canonicalised before the write lock is taken, so that no
        # writer holds the lock while it encodes bodies.
        encoded = []
        for entry in entries:
            check_kind(entry.kind)
            encoded.append((entry.kind, canonical(entry.body)))
        return self._append(run, scope, time, lambda seq, prev: encoded)

    def checkpoint(self, *, run: str, scope: str, time: str, key: SigningKey) -> StoredRecord:
        """Close `run` with a checkpoint signing the chain head as it is when the lock is held."""

        def build(seq: int, prev: str) -> list[tuple[str, bytes]]:
            fault_point("checkpoint.before_sign")
            message = checkpoint_message(run=run, size=seq, head=prev, key_id=key.key_id)
            body = {
                "run": run, "size": seq, "head": prev, "key_id": key.key_id,
                "signature": base64.b64encode(key.sign(message)).decode(),
            }
            fault_point("checkpoint.after_sign")
            return [("checkpoint", canonical(body))]

        return self._append(run, scope, time, build)[-1]

    def _append(
        self,
        run: str,
        scope: str,
        time: str,
        make: Callable[[int, str], Sequence[tuple[str, bytes]]],
    ) -> list[StoredRecord]:
        # `make` gets the head's seq and hash while the write lock is held and
        # returns each new record's kind and canonical body bytes.
        stored: list[StoredRecord] = []
        try:
            with self.engine.begin() as connection:
                self._lock(connection)
                seq, prev = self._head(connection)
                chain = ChainBuilder(seq=seq, prev=prev, run=run, scope=scope, time=time)
                rows = []
                for kind, body_bytes in make(seq, prev):
                    record = chain.add(kind, body_bytes)
                    stored.append(record)
                    rows.append((record.seq, run, scope, kind, time, prev, record.hash,
                                 record.header, body_bytes))
                    prev = record.hash
                fault_point("ledger.before_insert")
                for start in range(0, len(rows), INSERT_BATCH):
                    self._insert.execute(connection, rows[start:start + INSERT_BATCH])
                    fault_point("ledger.during_insert")
                fault_point("ledger.before_commit")
        except SQLAlchemyError as exc:
            raise LedgerError(f"cannot append to ledger {_redact(self.url)}: {_first_line(exc)}") from exc
        fault_point("ledger.after_commit")
        return stored

    def _select(self) -> Any:
        return select(
            records_table.c.seq, records_table.c.header, records_table.c.body, records_table.c.hash
        ).order_by(records_table.c.seq)

    def records(self, from_seq: int = 1, to_seq: int | None = None) -> Iterator[StoredRecord]:
        """Stream stored records in seq order, `from_seq` to `to_seq` inclusive."""
        query = self._select().where(records_table.c.seq >= from_seq)
        if to_seq is not None:
            query = query.where(records_table.c.seq <= to_seq)
        try:
            with self.engine.connect() as connection:
                result = connection.execution_options(stream_results=True, yield_per=2000).execute(query)
                try:
                    for row in result:
                        yield StoredRecord(seq=row[0], header=bytes(row[1]), body=bytes(row[2]), hash=row[3])
                finally:
                    # A consumer that stops early (a verification failure)
                    # must not leave PostgreSQL's server-side cursor open.
                    result.close()
        except SQLAlchemyError as exc:
            raise LedgerError(f"cannot read ledger {_redact(self.url)}: {_first_line(exc)}") from exc

    def record_at(self, seq: int) -> StoredRecord | None:
        found = self._fetch(self._select().where(records_table.c.seq == seq))
        return found[0] if found else None

    def run_at(self, seq: int) -> str | None:
        """Return the run column of the record at `seq`, or None when there is none."""
        with self.engine.connect() as connection:
            row = connection.execute(
                select(records_table.c.run).where(records_table.c.seq == seq)
            ).first()
        return None if row is None else str(row[0])

    def run_records(self, run: str) -> list[StoredRecord]:
        return self._fetch(self._select().where(records_table.c.run == run))

    def records_of_kind(self, kind: str) -> list[StoredRecord]:
        return self._fetch(self._select().where(records_table.c.kind == kind))

    def _fetch(self, query: Any) -> list[StoredRecord]:
        with self.engine.connect() as connection:
            return [
                StoredRecord(seq=r[0], header=bytes(r[1]), body=bytes(r[2]), hash=r[3])
                for r in connection.execute(query)
            ]

    def count(self) -> int:
        with self.engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(records_table)).scalar_one())

    def runs(self) -> list[RunSummary]:
        """List every run in order of its first record, with status counts and completeness."""
        summaries: dict[str, RunSummary] = {}
        # Every kind counts for the seq range (maintenance runs such as a
        # baseline or a tombstone have no run record); only result bodies
        # are read.
        query = select(
            records_table.c.seq, records_table.c.run, records_table.c.scope, records_table.c.kind,
            records_table.c.time,
        ).order_by(records_table.c.seq)
        with self.engine.connect() as connection:
            for seq, run, scope, kind, time in connection.execute(query):
                summary = summaries.setdefault(run, RunSummary(run, time, scope, seq, seq))
                summary.last_seq = seq
                if kind == "checkpoint":
                    summary.complete = True
            results = select(records_table.c.run, records_table.c.body).where(
                records_table.c.kind == "result"
            )
            for run, body in connection.execute(results):
                status = _json_field(bytes(body), "status")
                statuses = summaries[run].statuses
                statuses[status] = statuses.get(status, 0) + 1
        return list(summaries.values())

    def complete_runs(self) -> set[str]:
        query = select(records_table.c.run).where(records_table.c.kind == "checkpoint")
        with self.engine.connect() as connection:
            return {row[0] for row in connection.execute(query)}


class _InsertStatement:
    """The Core insert into `records`, compiled once for the ledger's dialect.

    Appends pass each batch of rows straight to the driver's executemany.
    Through `Connection.execute`, SQLAlchemy builds the parameters of every
    row in Python, which took a tenth or more of a SQLite append in
    bench/ledger_bench.py.
    """

    COLUMNS = ("seq", "run", "scope", "kind", "time", "prev", "hash", "header", "body")

    def __init__(self, dialect: Any) -> None:
        compiled = insert(records_table).compile(
            dialect=dialect, column_keys=list(self.COLUMNS)
        )
        self.sql = str(compiled)
        # qmark and format paramstyles (sqlite3) take tuples in the
        # statement's column order; named ones (psycopg) take dicts.
        self.positional = compiled.positional
        if self.positional and tuple(compiled.positiontup or ()) != self.COLUMNS:
            raise AssertionError(f"unexpected insert parameter order: {compiled.positiontup}")

    def execute(self, connection: Connection, rows: list[tuple[Any, ...]]) -> None:
        if self.positional:
            connection.exec_driver_sql(self.sql, rows)
        else:
            connection.exec_driver_sql(
                self.sql, [dict(zip(self.COLUMNS, row, strict=True)) for row in rows]
            )


def _json_field(body: bytes, name: str) -> str:
    # The run listing reads bodies without verifying the chain, so a damaged
    # body is counted as "unreadable" rather than stopping the listing.
    try:
        value = json.loads(body)
    except ValueError:
        return "unreadable"
    return str(value.get(name)) if isinstance(value, dict) else "unreadable"


def _first_line(exc: Exception) -> str:
    return str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]


def _redact(url: str) -> str:
    """Hide the password in a database URL before it reaches a message."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest and ":" in rest.split("@", 1)[0]:
        user = rest.split("@", 1)[0].split(":", 1)[0]
        return f"{scheme}{sep}{user}:***@{rest.split('@', 1)[1]}"
    return url


KeyLookup = Callable[[str], Ed25519PublicKey | None]


def verify_chain(
    records: Iterator[StoredRecord],
    key_for: KeyLookup,
    *,
    start_seq: int = 1,
    start_prev: str = GENESIS_PREV,
    on_record: Callable[[StoredRecord, dict[str, Any]], None] | None = None,
) -> tuple[int, str]:
    """Verify a stream of records: hashes, links, bodies and checkpoint signatures.

    The stream starts at `start_seq`, whose prev must be `start_prev`.
    `key_for` maps a checkpoint's key id to a trusted public key, or None when
    the key is not trusted. Records with a withheld body are checked through
    their headers only. Returns the last seq and hash; raises ChainError at
    the first record that does not verify.
    """
    checker = ChainChecker(start_seq, start_prev)
    check = checker.check
    for record in records:
        header = check(record)
        if header["kind"] == "checkpoint" and record.body is not None:
            # check() has matched the header's prev with the record before.
            check_checkpoint(record, header, header["prev"], key_for)
        if on_record is not None:
            on_record(record, header)
    return checker.seq - 1, checker.prev


_JSON_TYPES = {list: "array", str: "string", int: "number", float: "number", bool: "boolean",
               type(None): "null"}


def body_object(record: StoredRecord) -> dict[str, Any]:
    """Parse the body of a record whose hashes verified; raise ChainError unless it is an object.

    A body that matches its header can still be of the wrong shape when
    the chain was rebuilt by someone other than assay.
    """
    try:
        body = json.loads(record.body or b"")
    except ValueError as exc:
        raise ChainError(record.seq, f"body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise ChainError(record.seq, f"body is a JSON {_JSON_TYPES[type(body)]}, not an object")
    return body


def check_checkpoint(
    record: StoredRecord, header: dict[str, Any], prev: str, key_for: KeyLookup
) -> None:
    """Check a checkpoint record's body against its header and verify its signature.

    `prev` is the hash of the record before it. Raises ChainError.
    """
    body = body_object(record)
    seq = record.seq
    if body.get("head") != prev or body.get("size") != seq - 1:
        raise ChainError(seq, "checkpoint does not name the record before it as its head")
    if body.get("run") != header["run"]:
        raise ChainError(seq, "checkpoint names another run than its header")
    key_id = str(body.get("key_id"))
    public_key = key_for(key_id)
    if public_key is None:
        raise ChainError(seq, f"checkpoint signed by key {key_id}, which is not trusted")
    try:
        signature = base64.b64decode(str(body.get("signature")), validate=True)
    except ValueError as exc:
        raise ChainError(seq, "checkpoint signature is not base64") from exc
    message = checkpoint_message(run=header["run"], size=seq - 1, head=prev, key_id=key_id)
    if not signature_valid(public_key, signature, message):
        raise ChainError(seq, f"checkpoint signature does not verify with key {key_id}")
