"""The append-only, hash-chained evidence ledger over SQLAlchemy Core.

Rows keep each record's exact canonical header and body bytes; reading and
verifying use those bytes as stored. Appends take the database's write lock
(`BEGIN IMMEDIATE` in SQLite) before reading the chain head, so concurrent
writers extend one linear chain.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from assay.errors import LedgerError
from assay.evidence.records import (
    GENESIS_PREV,
    ChainError,
    StoredRecord,
    build_record,
    canonical,
    check_record,
)
from assay.keys import SigningKey, signature_valid
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

SCHEMA_VERSION = 1
CHECKPOINT_DOMAIN = b"assay.checkpoint.v1\x00"

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
    Column("header", LargeBinary, nullable=False),
    Column("body", LargeBinary, nullable=False),
)
meta_table = Table(
    "assay_meta",
    metadata,
    Column("key", String(50), primary_key=True),
    Column("value", String(200), nullable=False),
)


@dataclass(frozen=True)
class NewRecord:
    """A record to append: its kind and body; seq, prev and hash come from the chain."""

    kind: str
    body: dict[str, Any]


def checkpoint_message(*, run: str, size: int, head: str, key_id: str) -> bytes:
    """The bytes a checkpoint signature covers."""
    return CHECKPOINT_DOMAIN + canonical({"head": head, "key_id": key_id, "run": run, "size": size})


def _sqlite_engine(url: str) -> Engine:
    engine = create_engine(url)

    @event.listens_for(engine, "connect")
    def _manual_transactions(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's begin event issue BEGIN IMMEDIATE instead of the
        # driver's deferred BEGIN, so the write lock is taken before the
        # chain head is read.
        dbapi_connection.isolation_level = None
        dbapi_connection.execute("PRAGMA journal_mode=WAL")
        dbapi_connection.execute("PRAGMA busy_timeout=30000")

    @event.listens_for(engine, "begin")
    def _begin_immediate(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


class Ledger:
    """One evidence ledger, opened by URL."""

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            if url.startswith("sqlite:"):
                database = url.removeprefix("sqlite:///")
                if database and database != ":memory:":
                    Path(database).parent.mkdir(parents=True, exist_ok=True)
                self.engine = _sqlite_engine(url)
            else:
                raise LedgerError(
                    f"unsupported ledger URL {url!r}; use sqlite:///PATH"
                )
            metadata.create_all(self.engine)
            with self.engine.begin() as connection:
                self._check_schema(connection)
        except SQLAlchemyError as exc:
            raise LedgerError(f"cannot open ledger {url}: {exc}") from exc

    def _check_schema(self, connection: Connection) -> None:
        row = connection.execute(
            select(meta_table.c.value).where(meta_table.c.key == "schema_version")
        ).first()
        if row is None:
            connection.execute(
                insert(meta_table).values(key="schema_version", value=str(SCHEMA_VERSION))
            )
        elif int(row[0]) != SCHEMA_VERSION:
            raise LedgerError(
                f"ledger {self.url} has schema version {row[0]}, this assay reads {SCHEMA_VERSION}"
            )

    def close(self) -> None:
        self.engine.dispose()

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
        self,
        *,
        run: str,
        scope: str,
        time: str,
        entries: Sequence[NewRecord],
        checkpoint_key: SigningKey | None = None,
    ) -> list[StoredRecord]:
        """Append `entries` in one transaction, then a signed checkpoint if a key is given.

        Returns the stored records, checkpoint last.
        """
        stored: list[StoredRecord] = []
        try:
            with self.engine.begin() as connection:
                seq, prev = self._head(connection)
                rows = []
                for entry in entries:
                    seq += 1
                    record = build_record(
                        seq=seq, prev=prev, time=time, run=run, scope=scope,
                        kind=entry.kind, body=entry.body,
                    )
                    stored.append(record)
                    rows.append(self._row(record, run, scope, entry.kind, time))
                    prev = record.hash
                if checkpoint_key is not None:
                    body = self._checkpoint_body(run=run, size=seq, head=prev, key=checkpoint_key)
                    seq += 1
                    record = build_record(
                        seq=seq, prev=prev, time=time, run=run, scope=scope,
                        kind="checkpoint", body=body,
                    )
                    stored.append(record)
                    rows.append(self._row(record, run, scope, "checkpoint", time))
                if rows:
                    connection.execute(insert(records_table), rows)
        except SQLAlchemyError as exc:
            raise LedgerError(f"cannot append to ledger {self.url}: {exc}") from exc
        return stored

    @staticmethod
    def _checkpoint_body(*, run: str, size: int, head: str, key: SigningKey) -> dict[str, Any]:
        message = checkpoint_message(run=run, size=size, head=head, key_id=key.key_id)
        return {
            "run": run,
            "size": size,
            "head": head,
            "key_id": key.key_id,
            "signature": base64.b64encode(key.sign(message)).decode(),
        }

    @staticmethod
    def _row(record: StoredRecord, run: str, scope: str, kind: str, time: str) -> dict[str, Any]:
        assert record.body is not None
        header = record.header_fields()
        return {
            "seq": record.seq, "run": run, "scope": scope, "kind": kind, "time": time,
            "prev": header["prev"], "hash": record.hash,
            "header": record.header, "body": record.body,
        }

    def records(self, from_seq: int = 1, to_seq: int | None = None) -> Iterator[StoredRecord]:
        """Stream stored records in seq order."""
        query = select(
            records_table.c.seq, records_table.c.header, records_table.c.body, records_table.c.hash
        ).where(records_table.c.seq >= from_seq).order_by(records_table.c.seq)
        if to_seq is not None:
            query = query.where(records_table.c.seq <= to_seq)
        with self.engine.connect() as connection:
            for row in connection.execution_options(stream_results=True, yield_per=1000).execute(query):
                yield StoredRecord(seq=row[0], header=bytes(row[1]), body=bytes(row[2]), hash=row[3])

    def run_records(self, run: str) -> list[StoredRecord]:
        query = select(
            records_table.c.seq, records_table.c.header, records_table.c.body, records_table.c.hash
        ).where(records_table.c.run == run).order_by(records_table.c.seq)
        with self.engine.connect() as connection:
            return [
                StoredRecord(seq=r[0], header=bytes(r[1]), body=bytes(r[2]), hash=r[3])
                for r in connection.execute(query)
            ]

    def records_of_kind(self, kind: str) -> list[StoredRecord]:
        query = select(
            records_table.c.seq, records_table.c.header, records_table.c.body, records_table.c.hash
        ).where(records_table.c.kind == kind).order_by(records_table.c.seq)
        with self.engine.connect() as connection:
            return [
                StoredRecord(seq=r[0], header=bytes(r[1]), body=bytes(r[2]), hash=r[3])
                for r in connection.execute(query)
            ]

    def count(self) -> int:
        with self.engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(records_table)).scalar_one())


KeyLookup = Callable[[str], Ed25519PublicKey | None]


def verify_chain(records: Iterator[StoredRecord], key_for: KeyLookup) -> tuple[int, str]:
    """Verify a stream of records from seq 1: hashes, links, bodies and checkpoint signatures.

    `key_for` maps a checkpoint's key id to a trusted public key, or None when
    the key is not trusted. Records with a withheld body are checked through
    their headers only. Returns the last seq and hash; raises ChainError at
    the first record that does not verify.
    """
    expected_seq, prev = 1, GENESIS_PREV
    for record in records:
        header = check_record(record, expected_seq, prev)
        if header["kind"] == "checkpoint" and record.body is not None:
            _check_checkpoint(record, header, prev, key_for)
        prev = record.hash
        expected_seq += 1
    return expected_seq - 1, prev


def _check_checkpoint(
    record: StoredRecord, header: dict[str, Any], prev: str, key_for: KeyLookup
) -> None:
    body = record.body_fields() or {}
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
