import re
import sqlite3
from pathlib import Path

import pytest

from assay import keys
from assay.evidence.ledger import Ledger, NewRecord, verify_chain
from assay.evidence.records import ChainError

TIME = "2026-12-04T20:15:00.000000Z"


@pytest.fixture()
def signing_key(tmp_path: Path) -> keys.SigningKey:
    private, _public = keys.generate(tmp_path / "keys")
    return keys.load_signing_key(private)


@pytest.fixture()
def ledger(tmp_path: Path):
    opened = Ledger(f"sqlite:///{tmp_path / 'evidence' / 'ledger.db'}")
    yield opened
    opened.close()


def _append_run(ledger: Ledger, key: keys.SigningKey, run: str, count: int = 3):
    entries = [NewRecord("evidence", {"n": i, "run": run}) for i in range(count)]
    stored = ledger.append(run=run, scope="production", time=TIME, entries=entries)
    return stored + [ledger.checkpoint(run=run, scope="production", time=TIME, key=key)]


def _trusting(key: keys.SigningKey):
    return lambda key_id: key.public if key_id == key.key_id else None


def test_append_links_records_into_one_chain(ledger, signing_key):
    first = _append_run(ledger, signing_key, "run-a")
    second = _append_run(ledger, signing_key, "run-b")
    assert [r.seq for r in first + second] == list(range(1, 9))
    assert second[0].header_fields()["prev"] == first[-1].hash


def test_checkpoint_closes_run(ledger, signing_key):
    stored = _append_run(ledger, signing_key, "run-a")
    checkpoint = stored[-1].body_fields()
    assert stored[-1].header_fields()["kind"] == "checkpoint"
    assert checkpoint["size"] == 3
    assert checkpoint["head"] == stored[-2].hash
    assert checkpoint["key_id"] == signing_key.key_id


def test_verify_chain_passes_on_untouched_ledger(ledger, signing_key):
    _append_run(ledger, signing_key, "run-a")
    _append_run(ledger, signing_key, "run-b")
    seq, head = verify_chain(ledger.records(), _trusting(signing_key))
    assert seq == 8
    assert head == ledger.head()[1]


def test_verify_chain_untrusted_checkpoint_key_named(ledger, signing_key, tmp_path):
    _append_run(ledger, signing_key, "run-a")
    other_private, _ = keys.generate(tmp_path / "other")
    other = keys.load_signing_key(other_private)
    with pytest.raises(ChainError, match=re.escape(f"signed by key {signing_key.key_id}, which is not trusted")):
        verify_chain(ledger.records(), _trusting(other))


def test_verify_chain_edited_body_located(ledger, signing_key, tmp_path):
    _append_run(ledger, signing_key, "run-a")
    database = tmp_path / "evidence" / "ledger.db"
    with sqlite3.connect(database) as connection:
        connection.execute("UPDATE records SET body = ? WHERE seq = 2", (b'{"n":99,"run":"run-a"}',))
    with pytest.raises(ChainError) as caught:
        verify_chain(ledger.records(), _trusting(signing_key))
    assert caught.value.seq == 2
    assert "body does not match" in caught.value.what


def test_verify_chain_deleted_record_located(ledger, signing_key, tmp_path):
    _append_run(ledger, signing_key, "run-a")
    with sqlite3.connect(tmp_path / "evidence" / "ledger.db") as connection:
        connection.execute("DELETE FROM records WHERE seq = 2")
    with pytest.raises(ChainError) as caught:
        verify_chain(ledger.records(), _trusting(signing_key))
    assert caught.value.seq == 2


def test_stored_bytes_are_exact_canonical_bytes(ledger, signing_key, tmp_path):
    stored = _append_run(ledger, signing_key, "run-a")
    with sqlite3.connect(tmp_path / "evidence" / "ledger.db") as connection:
        header, body = connection.execute("SELECT header, body FROM records WHERE seq = 1").fetchone()
    assert header == stored[0].header
    assert body == stored[0].body


def test_schema_version_mismatch_rejected(tmp_path):
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    Ledger(url).close()
    with sqlite3.connect(tmp_path / "ledger.db") as connection:
        connection.execute("UPDATE assay_meta SET value = '99' WHERE key = 'schema_version'")
    from assay.errors import LedgerError

    with pytest.raises(LedgerError, match="schema version 99"):
        Ledger(url)


def test_older_schema_upgraded_in_place(tmp_path, monkeypatch):
    from assay.evidence import ledger as ledger_module

    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    Ledger(url).close()
    applied = []

    def add_index(connection):
        applied.append(True)
        connection.exec_driver_sql("CREATE INDEX ix_records_time ON records (time)")

    monkeypatch.setattr(ledger_module, "SCHEMA_VERSION", 2)
    monkeypatch.setitem(ledger_module.UPGRADES, 1, add_index)
    Ledger(url).close()
    Ledger(url).close()
    with sqlite3.connect(tmp_path / "ledger.db") as connection:
        version = connection.execute("SELECT value FROM assay_meta WHERE key = 'schema_version'").fetchone()[0]
        indexes = {row[1] for row in connection.execute("PRAGMA index_list(records)")}
    assert version == "2"
    assert applied == [True]
    assert "ix_records_time" in indexes


def test_postgresql_url_forms_select_psycopg():
    from assay.evidence.ledger import normalise_url

    assert normalise_url("postgresql://u@127.0.0.1/db") == "postgresql+psycopg://u@127.0.0.1/db"
    assert normalise_url("postgresql+psycopg://u@127.0.0.1/db") == "postgresql+psycopg://u@127.0.0.1/db"


def test_unsupported_url_rejected():
    from assay.errors import LedgerError

    with pytest.raises(LedgerError, match="unsupported ledger URL 'mysql://x'"):
        Ledger("mysql://x")
