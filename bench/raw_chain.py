"""Baseline appenders that write ledger rows without assay's ledger code.

They insert the same rows as `Ledger.append` into a table that `Ledger`
created: one transaction per run, the same write lock taken before the chain
head is read, and header bytes and chained record hashes computed here. Body
bytes come in already canonical, so a baseline does no JSON work on bodies.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Sequence
from typing import Any

from assay.evidence.records import GENESIS_PREV, RECORD_DOMAIN

# RFC 8785 form of a version 1 header: keys in sorted order, no whitespace.
# It is valid only while run, scope, time and kind need no JSON escaping,
# which `chain_rows` checks. The script also compares the stored rows with
# the ledger's rows byte for byte.
_HEADER_TEMPLATE = (
    '{"body_sha256":"%s","kind":"%s","prev":"%s","run":"%s","scope":"%s",'
    '"seq":%d,"time":"%s","v":1}'
)
_INSERT_COLUMNS = "seq, run, scope, kind, time, prev, hash, header, body"
_HEAD_QUERY = "SELECT seq, hash FROM records ORDER BY seq DESC LIMIT 1"


def _plain(value: str) -> bool:
    return value.isascii() and value.isprintable() and '"' not in value and "\\" not in value


def chain_rows(
    head: tuple[int, str] | None,
    run: str,
    scope: str,
    time: str,
    kind: str,
    bodies: Sequence[bytes],
) -> list[tuple[Any, ...]]:
    """Build the insert rows of one run after `head` (None for an empty chain)."""
    if not all(_plain(value) for value in (run, scope, time, kind)):
        raise ValueError(
            "run, scope, time and kind must be printable ASCII without quotes or backslashes"
        )
    seq, prev = head if head is not None else (0, GENESIS_PREV)
    rows = []
    for body in bodies:
        seq += 1
        body_sha256 = hashlib.sha256(body).hexdigest()
        header = (_HEADER_TEMPLATE % (body_sha256, kind, prev, run, scope, seq, time)).encode()
        digest = hashlib.sha256(RECORD_DOMAIN + header).hexdigest()
        rows.append((seq, run, scope, kind, time, prev, digest, header, body))
        prev = digest
    return rows


class SqliteChain:
    """Raw `sqlite3` appender with the ledger's PRAGMAs and `BEGIN IMMEDIATE`."""

    def __init__(self, path: str) -> None:
        self.connection = sqlite3.connect(path, isolation_level=None)
        self.connection.execute("PRAGMA journal_mode=WAL")
        self.connection.execute("PRAGMA synchronous=FULL")
        self.connection.execute("PRAGMA busy_timeout=60000")

    def append(self, run: str, scope: str, time: str, kind: str, bodies: Sequence[bytes]) -> None:
        """Append `bodies` as one run in one transaction."""
        connection = self.connection
        connection.execute("BEGIN IMMEDIATE")
        try:
            head = connection.execute(_HEAD_QUERY).fetchone()
            rows = chain_rows(head, run, scope, time, kind, bodies)
            connection.executemany(
                f"INSERT INTO records ({_INSERT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows
            )
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    def close(self) -> None:
        self.connection.close()


class PostgresChain:
    """Raw psycopg 3 appender that takes the ledger's advisory lock before reading the head."""

    def __init__(self, url: str) -> None:
        import psycopg

        self.connection = psycopg.connect(url, autocommit=True)

    def append(self, run: str, scope: str, time: str, kind: str, bodies: Sequence[bytes]) -> None:
        """Append `bodies` as one run in one transaction."""
        from assay.evidence.ledger import ADVISORY_LOCK_KEY

        with self.connection.transaction(), self.connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", (ADVISORY_LOCK_KEY,))
            head = cursor.execute(_HEAD_QUERY).fetchone()
            rows = chain_rows(head, run, scope, time, kind, bodies)
            cursor.executemany(
                f"INSERT INTO records ({_INSERT_COLUMNS})"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                rows,
            )

    def close(self) -> None:
        self.connection.close()
