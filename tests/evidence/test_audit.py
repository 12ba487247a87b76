"""verify_ledger locates any single-byte change to a stored record or blob."""

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assay import keys
from assay.errors import VerificationError
from assay.evidence.audit import verify_ledger
from assay.evidence.blobs import BlobStore
from assay.evidence.ledger import Ledger
from assay.evidence.records import GENESIS_PREV, build_encoded_record, record_hash
from support.workspace import small_workspace
from assay.commands import run_command
from assay.timeutil import parse_now


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> Path:
    workspace = small_workspace(tmp_path_factory.mktemp("audit") / "ws")
    for minute in (15, 16):
        run_command(workspace, parse_now(f"2026-12-04T20:{minute}:00Z"), None, None, None, pack=False)
    return workspace


def _verify(workspace: Path) -> None:
    key = keys.load_signing_key(workspace / ".assay" / "signing-key.pem")
    ledger = Ledger(f"sqlite:///{workspace / 'evidence' / 'ledger.db'}")
    try:
        verify_ledger(ledger, BlobStore(workspace / "evidence" / "blobs"), {key.key_id: key.public})
    finally:
        ledger.close()


def test_recorded_ledger_verifies(recorded):
    _verify(recorded)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_single_byte_change_in_record_located(recorded, tmp_path_factory, data):
    copy = tmp_path_factory.mktemp("flip") / "ws"
    shutil.copytree(recorded, copy)
    database = copy / "evidence" / "ledger.db"
    with sqlite3.connect(database) as connection:
        count = connection.execute("SELECT COUNT(*) FROM records").fetchone()[0]
        seq = data.draw(st.integers(min_value=1, max_value=count))
        column = data.draw(st.sampled_from(["header", "body"]))
        raw = connection.execute(f"SELECT {column} FROM records WHERE seq = ?", (seq,)).fetchone()[0]
        index = data.draw(st.integers(min_value=0, max_value=len(raw) - 1))
        value = data.draw(st.integers(min_value=0, max_value=255).filter(lambda b: b != raw[index]))
        changed = raw[:index] + bytes([value]) + raw[index + 1:]
        connection.execute(f"UPDATE records SET {column} = ? WHERE seq = ?", (changed, seq))
    with pytest.raises(VerificationError) as caught:
        _verify(copy)
    assert f"ledger record seq {seq} " in str(caught.value)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_single_byte_change_in_blob_located(recorded, tmp_path_factory, data):
    copy = tmp_path_factory.mktemp("blob") / "ws"
    shutil.copytree(recorded, copy)
    blobs = sorted(p for p in (copy / "evidence" / "blobs").rglob("*") if p.is_file())
    blob = data.draw(st.sampled_from(blobs))
    raw = blob.read_bytes()
    index = data.draw(st.integers(min_value=0, max_value=len(raw) - 1))
    value = data.draw(st.integers(min_value=0, max_value=255).filter(lambda b: b != raw[index]))
    blob.write_bytes(raw[:index] + bytes([value]) + raw[index + 1:])
    with pytest.raises(VerificationError) as caught:
        _verify(copy)
    assert f"blob {blob.name} named by record seq" in str(caught.value)
    assert "content no longer matches its SHA-256" in str(caught.value)


def _rewrite_from(database: Path, seq: int, body: bytes) -> None:
    """Replace the body of record `seq` and rebuild every hash after it, as a forger would."""
    with sqlite3.connect(database) as connection:
        rows = connection.execute(
            "SELECT seq, header, body FROM records WHERE seq >= ? ORDER BY seq", (seq - 1,)
        ).fetchall()
        prev = GENESIS_PREV
        if rows[0][0] == seq - 1:
            prev = record_hash(rows[0][1])
            rows = rows[1:]
        for number, header, old_body in rows:
            fields = json.loads(header)
            record = build_encoded_record(
                seq=number, prev=prev, time=fields["time"], run=fields["run"],
                scope=fields["scope"], kind=fields["kind"],
                body_bytes=body if number == seq else old_body,
            )
            connection.execute(
                "UPDATE records SET prev = ?, hash = ?, header = ?, body = ? WHERE seq = ?",
                (prev, record.hash, record.header, record.body, number),
            )
            prev = record.hash


def _first_seq_of_kind(database: Path, kind: str) -> int:
    with sqlite3.connect(database) as connection:
        return connection.execute(
            "SELECT MIN(seq) FROM records WHERE kind = ?", (kind,)
        ).fetchone()[0]


@pytest.mark.parametrize("kind, body", [
    ("checkpoint", b"[]"),
    ("checkpoint", b'"text"'),
    ("checkpoint", b"null"),
    ("checkpoint", b"{"),
    ("checkpoint", b"\xff"),
    ("evidence", b'{"absent":{},"artifacts":[{"sha256":5}]}'),
    ("evidence", b'{"absent":{},"artifacts":[{"path":"x"}]}'),
    ("evidence", b'{"artifacts":[{"sha256":"ab"}],"x":['),
    ("evidence", b'[{"artifacts":[{"sha256":"ab"}]}]'),
], ids=repr)
def test_forged_body_of_wrong_shape_located(recorded, tmp_path, kind, body):
    # The forger rebuilt every hash, so the chain links; the body itself
    # must be reported at its seq rather than crash the verifier.
    copy = tmp_path / "ws"
    shutil.copytree(recorded, copy)
    database = copy / "evidence" / "ledger.db"
    seq = _first_seq_of_kind(database, kind)
    _rewrite_from(database, seq, body)
    with pytest.raises(VerificationError) as caught:
        _verify(copy)
    assert f"ledger record seq {seq} " in str(caught.value)
