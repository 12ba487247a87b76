"""Attestation documents: signing, verification against people, and which one is in force."""

from __future__ import annotations

import base64
import copy
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from assay import keys
from assay.controls.loader import Workspace, load_workspace
from assay.controls.model import Control
from assay.engine.attestations import (
    ATTESTATION_DOMAIN,
    build_document,
    check_attestation,
    recorded_attestations,
    review_attestations,
    sign_document,
)
from assay.evidence.ledger import Ledger, NewRecord
from assay.evidence.records import canonical
from assay.keys import SigningKey, load_signing_key_file
from assay.timeutil import format_instant
from support.workspace import small_workspace

ATTESTED = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
NOW = datetime(2026, 12, 4, 20, 15, tzinfo=UTC)

MANUAL_CONTROL = """\
id: POL-09
title: User access is reviewed every quarter
criteria: [CC6.2]
manual:
  attestation_every: 90d
  role: security-lead
"""


def add_person(root: Path, name: str) -> SigningKey:
    """Generate a key pair for `name` under people/NAME and return the private key."""
    private, _public = keys.generate(root / "people" / name, private_name=f"{name}.pem")
    return load_signing_key_file(private)


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    root = small_workspace(tmp_path / "ws")
    add_person(root, "alice")
    add_person(root, "bob")
    add_person(root, "mallory")
    (root / "assay.yaml").write_text(
        (root / "assay.yaml").read_text(encoding="utf-8")
        + "people:\n"
        "  alice:\n"
        "    public_key: people/alice/signing-key.pub.pem\n"
        "    roles: [security-lead]\n"
        "  bob:\n"
        "    public_key: people/bob/signing-key.pub.pem\n"
        "    roles: [engineer]\n",
        encoding="utf-8",
    )
    (root / "controls" / "pol-09-access-review.yaml").write_text(MANUAL_CONTROL, encoding="utf-8")
    yield load_workspace(root)


@pytest.fixture
def ledger(workspace: Workspace) -> Iterator[Ledger]:
    opened = Ledger(f"sqlite:///{workspace.root / 'evidence' / 'ledger.db'}")
    yield opened
    opened.close()


def person_key(workspace: Workspace, name: str) -> SigningKey:
    return load_signing_key_file(workspace.root / "people" / name / f"{name}.pem")


def control_of(workspace: Workspace) -> Control:
    return next(c.control for c in workspace.controls if c.control.id == "POL-09")


def signed_body(
    key: SigningKey,
    *,
    by: str = "alice",
    note: str = "reviewed 41 accounts, removed 3",
    attested_at: datetime = ATTESTED,
    expires_at: datetime | None = None,
) -> dict[str, Any]:
    document = build_document(
        control="POL-09", by=by, note=note, attested_at=attested_at,
        expires_at=expires_at or attested_at + timedelta(days=90), key_id=key.key_id,
    )
    return {
        "document": document,
        "signature": sign_document(document, key),
        "file": f"attestations/POL-09-{uuid.uuid4().hex[:8]}.json",
    }


def record(ledger: Ledger, workspace: Workspace, body: dict[str, Any], *, complete: bool = True) -> int:
    """Append `body` as an attestation record in a run of its own; return its seq."""
    run = uuid.uuid4().hex
    stamp = format_instant(ATTESTED)
    stored = ledger.append(run=run, scope="production", time=stamp,
                           entries=[NewRecord("attestation", body)])
    if complete:
        ledger.checkpoint(run=run, scope="production", time=stamp,
                          key=keys.load_signing_key_file(workspace.root / ".assay" / "signing-key.pem"))
    return stored[0].seq


def review(ledger: Ledger, workspace: Workspace, now: datetime = NOW):
    return review_attestations(recorded_attestations(ledger), control_of(workspace), workspace.people, now)


# Signing


def test_signature_covers_domain_and_canonical_document(workspace: Workspace) -> None:
    key = person_key(workspace, "alice")
    body = signed_body(key)
    signature = base64.b64decode(body["signature"])

    assert keys.signature_valid(key.public, signature, ATTESTATION_DOMAIN + canonical(body["document"]))
    assert not keys.signature_valid(key.public, signature, canonical(body["document"]))


def test_document_fields(workspace: Workspace) -> None:
    key = person_key(workspace, "alice")

    document = signed_body(key)["document"]

    assert sorted(document) == ["attested_at", "by", "control", "expires_at", "key_id", "note"]
    assert document["attested_at"] == "2026-12-01T09:30:00.000000Z"
    assert document["expires_at"] == "2027-03-01T09:30:00.000000Z"
    assert document["key_id"] == key.key_id


def test_document_with_attached_file(workspace: Workspace) -> None:
    key = person_key(workspace, "alice")

    document = build_document(
        control="POL-09", by="alice", note="n", attested_at=ATTESTED,
        expires_at=ATTESTED + timedelta(days=1), key_id=key.key_id,
        file={"path": "reviews/q4.pdf", "sha256": "ab" * 32},
    )

    assert document["file"] == {"path": "reviews/q4.pdf", "sha256": "ab" * 32}


# Verification of one record


def test_valid_attestation_checks_out(workspace: Workspace) -> None:
    body = signed_body(person_key(workspace, "alice"))

    attestation = check_attestation(body, 7, control_of(workspace), workspace.people)

    assert attestation.by == "alice"
    assert attestation.attested_at == ATTESTED
    assert attestation.seq == 7
    assert attestation.file == body["file"]


# Which attestation is in force, and the reasons


def test_valid_attestation_in_force(workspace: Workspace, ledger: Ledger) -> None:
    seq = record(ledger, workspace, signed_body(person_key(workspace, "alice")))

    result = review(ledger, workspace)

    assert result.in_force is not None
    assert result.in_force.seq == seq
    assert result.reasons == [
        "attested by alice at 2026-12-01T09:30:00.000000Z, in force until "
        "2027-03-01T09:30:00.000000Z: reviewed 41 accounts, removed 3"
    ]


def test_no_attestation_reason(workspace: Workspace, ledger: Ledger) -> None:
    result = review(ledger, workspace)

    assert result.in_force is None
    assert result.reasons == [
        "no attestation recorded; record one with `assay attest POL-09 --by NAME`"
    ]


def test_tampered_note_does_not_count(workspace: Workspace, ledger: Ledger) -> None:
    body = signed_body(person_key(workspace, "alice"))
    body["document"]["note"] = "reviewed every account"
    seq = record(ledger, workspace, body)

    result = review(ledger, workspace)

    assert result.in_force is None
    assert result.reasons == [
        f"attestation {body['file']} (ledger seq {seq}) does not count: the signature does not "
        "verify with the key of alice, so either the document was altered after signing or "
        "another key signed it"
    ]


def test_tampered_expiry_does_not_count(workspace: Workspace, ledger: Ledger) -> None:
    body = signed_body(person_key(workspace, "alice"), attested_at=NOW - timedelta(days=100))
    body["document"]["expires_at"] = format_instant(NOW + timedelta(days=100))
    record(ledger, workspace, body)

    result = review(ledger, workspace)

    assert result.in_force is None
    assert len(result.reasons) == 1
    assert "the signature does not verify with the key of alice" in result.reasons[0]


def test_tampered_signature_does_not_count(workspace: Workspace, ledger: Ledger) -> None:
    body = signed_body(person_key(workspace, "alice"))
    signature = bytearray(base64.b64decode(body["signature"]))
    signature[0] ^= 1
    body["signature"] = base64.b64encode(bytes(signature)).decode()
    record(ledger, workspace, body)

    result = review(ledger, workspace)

    assert result.in_force is None
    assert "the signature does not verify" in result.reasons[0]


def test_wrong_key_does_not_count(workspace: Workspace, ledger: Ledger) -> None:
    mallory = person_key(workspace, "mallory")
    alice = person_key(workspace, "alice")
    record(ledger, workspace, signed_body(mallory, by="alice"))

    result = review(ledger, workspace)

    assert result.in_force is None
    assert len(result.reasons) == 1
    assert (
        f"does not count: signed with key {mallory.key_id}, which is not the key of alice in "
        f"assay.yaml ({alice.key_id})"
    ) in result.reasons[0]


def test_forged_key_id_does_not_count(workspace: Workspace, ledger: Ledger) -> None:
    mallory = person_key(workspace, "mallory")
    alice = person_key(workspace, "alice")
    body = signed_body(mallory, by="alice")
    body["document"]["key_id"] = alice.key_id
    body["signature"] = sign_document(body["document"], mallory)
    record(ledger, workspace, body)

    result = review(ledger, workspace)

    assert result.in_force is None
    assert "the signature does not verify with the key of alice" in result.reasons[0]


def test_person_not_listed_does_not_count(workspace: Workspace, ledger: Ledger) -> None:
    record(ledger, workspace, signed_body(person_key(workspace, "mallory"), by="mallory"))

    result = review(ledger, workspace)

    assert result.in_force is None
    assert len(result.reasons) == 1
    assert "does not count: 'mallory' is not listed under people in assay.yaml" in result.reasons[0]


def test_person_without_role_does_not_count(workspace: Workspace, ledger: Ledger) -> None:
    record(ledger, workspace, signed_body(person_key(workspace, "bob"), by="bob"))

    result = review(ledger, workspace)

    assert result.in_force is None
    assert len(result.reasons) == 1
    assert (
        "does not count: bob does not hold role 'security-lead', which POL-09 requires "
        "(roles held: engineer)"
    ) in result.reasons[0]


def test_control_without_role_accepts_any_listed_person(workspace: Workspace, ledger: Ledger) -> None:
    record(ledger, workspace, signed_body(person_key(workspace, "bob"), by="bob"))
    control = control_of(workspace)
    assert control.manual is not None
    open_control = control.model_copy(update={"manual": control.manual.model_copy(update={"role": None})})

    result = review_attestations(recorded_attestations(ledger), open_control, workspace.people, NOW)

    assert result.in_force is not None
    assert result.in_force.by == "bob"


def test_expired_attestation_does_not_count(workspace: Workspace, ledger: Ledger) -> None:
    attested = NOW - timedelta(days=30)
    record(ledger, workspace, signed_body(
        person_key(workspace, "alice"), attested_at=attested, expires_at=attested + timedelta(days=7)
    ))

    result = review(ledger, workspace)

    assert result.in_force is None
    assert result.reasons == [
        "the latest attestation, by alice at 2026-11-04T20:15:00.000000Z, expired at "
        "2026-11-11T20:15:00.000000Z"
    ]


def test_attestation_in_force_until_exact_expiry(workspace: Workspace, ledger: Ledger) -> None:
    expires = ATTESTED + timedelta(days=10)
    record(ledger, workspace, signed_body(person_key(workspace, "alice"), expires_at=expires))

    before = review(ledger, workspace, expires - timedelta(microseconds=1))
    at = review(ledger, workspace, expires)

    assert before.in_force is not None
    assert at.in_force is None


def test_attestation_every_limits_longer_expiry(workspace: Workspace, ledger: Ledger) -> None:
    record(ledger, workspace, signed_body(
        person_key(workspace, "alice"), expires_at=ATTESTED + timedelta(days=365)
    ))
    limit = ATTESTED + timedelta(days=90)

    before = review(ledger, workspace, limit - timedelta(microseconds=1))
    at = review(ledger, workspace, limit)

    assert before.in_force is not None
    assert at.in_force is None
    assert "expired at 2027-03-01T09:30:00.000000Z" in at.reasons[0]


def test_attestation_dated_after_now_not_in_force(workspace: Workspace, ledger: Ledger) -> None:
    record(ledger, workspace, signed_body(person_key(workspace, "alice"), attested_at=NOW + timedelta(hours=1)))

    result = review(ledger, workspace)

    assert result.in_force is None
    assert result.reasons == [
        "the first attestation, by alice, is dated 2026-12-04T21:15:00.000000Z, after the run's now"
    ]


def test_latest_valid_attestation_chosen(workspace: Workspace, ledger: Ledger) -> None:
    key = person_key(workspace, "alice")
    record(ledger, workspace, signed_body(key, note="older", attested_at=ATTESTED - timedelta(days=10)))
    record(ledger, workspace, signed_body(key, note="newer"))
    record(ledger, workspace, signed_body(person_key(workspace, "bob"), by="bob", note="no role"))

    result = review(ledger, workspace)

    assert result.in_force is not None
    assert result.in_force.note == "newer"
    assert len(result.reasons) == 2
    assert "bob does not hold role" in result.reasons[1]


def test_invalid_newer_attestation_keeps_valid_older(workspace: Workspace, ledger: Ledger) -> None:
    key = person_key(workspace, "alice")
    record(ledger, workspace, signed_body(key, note="valid"))
    forged = signed_body(key, note="forged", attested_at=ATTESTED + timedelta(days=1))
    forged["document"]["note"] = "forged later"
    record(ledger, workspace, forged)

    result = review(ledger, workspace)

    assert result.in_force is not None
    assert result.in_force.note == "valid"


def test_attestation_of_incomplete_run_ignored(workspace: Workspace, ledger: Ledger) -> None:
    record(ledger, workspace, signed_body(person_key(workspace, "alice")), complete=False)

    result = review(ledger, workspace)

    assert recorded_attestations(ledger) == []
    assert result.in_force is None


def test_attestation_of_other_control_ignored(workspace: Workspace, ledger: Ledger) -> None:
    key = person_key(workspace, "alice")
    body = signed_body(key)
    other = copy.deepcopy(body)
    other["document"]["control"] = "POL-10"
    other["signature"] = sign_document(other["document"], key)
    record(ledger, workspace, other)

    result = review(ledger, workspace)

    assert result.in_force is None
    assert result.reasons[0].startswith("no attestation recorded")


def test_malformed_record_does_not_count(workspace: Workspace, ledger: Ledger) -> None:
    body = signed_body(person_key(workspace, "alice"))
    del body["document"]["by"]
    record(ledger, workspace, body)

    result = review(ledger, workspace)

    assert result.in_force is None
    assert "does not count: the document has no text field 'by'" in result.reasons[0]
