"""attestation.dsse.json of the example pack, checked with securesystemslib rather than assay."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from securesystemslib.dsse import Envelope
from securesystemslib.exceptions import VerificationError
from securesystemslib.signer import SSlibKey

from assay import keys
from assay.reports import dsse


def sslib_key(public_key_path: Path, keyid: str | None = None) -> SSlibKey:
    public = keys.load_public_key(public_key_path.read_bytes(), str(public_key_path))
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return SSlibKey(keyid or keys.fingerprint(public), "ed25519", "ed25519", {"public": raw.hex()})


def envelope_of(pack: Path) -> dict[str, Any]:
    return json.loads((pack / "attestation.dsse.json").read_bytes())


def sums_entries(pack: Path) -> list[tuple[str, str]]:
    entries = []
    for line in (pack / "SHA256SUMS").read_text(encoding="utf-8").splitlines():
        digest, name = line.split("  ", 1)
        entries.append((name, digest))
    return entries


def test_pae_matches_dsse_spec() -> None:
    assert dsse.pae("http://example.com/HelloWorld", b"hello world") == (
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )


def test_envelope_verifies_with_securesystemslib(demo_pack: Path, public_key_path: Path) -> None:
    envelope = Envelope.from_dict(envelope_of(demo_pack))

    accepted = envelope.verify([sslib_key(public_key_path)], threshold=1)

    assert list(accepted) == [sslib_key(public_key_path).keyid]
    assert envelope.payload_type == "application/vnd.in-toto+json"


def test_envelope_rejects_other_keyid(demo_pack: Path, public_key_path: Path) -> None:
    envelope = Envelope.from_dict(envelope_of(demo_pack))

    with pytest.raises(VerificationError):
        envelope.verify([sslib_key(public_key_path, keyid="SHA256:other")], threshold=1)


def test_envelope_rejects_other_key(demo_pack: Path, tmp_path: Path) -> None:
    _private, other_public = keys.generate(tmp_path / "other")
    envelope = Envelope.from_dict(envelope_of(demo_pack))
    fingerprint = envelope_of(demo_pack)["signatures"][0]["keyid"]

    with pytest.raises(VerificationError):
        envelope.verify([sslib_key(other_public, keyid=fingerprint)], threshold=1)


def test_envelope_rejects_edited_payload(demo_pack: Path, public_key_path: Path) -> None:
    data = envelope_of(demo_pack)
    statement = json.loads(base64.b64decode(data["payload"]))
    statement["subject"][0]["digest"]["sha256"] = "0" * 64
    data["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()

    with pytest.raises(VerificationError):
        Envelope.from_dict(data).verify([sslib_key(public_key_path)], threshold=1)


def test_statement_names_every_listed_file(demo_pack: Path) -> None:
    statement = json.loads(base64.b64decode(envelope_of(demo_pack)["payload"]))

    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["predicateType"] == "https://assay.example.invalid/attestation/pack/v1"
    subjects = [(item["name"], item["digest"]["sha256"]) for item in statement["subject"]]
    assert subjects == sums_entries(demo_pack)


def test_statement_predicate_is_manifest_metadata(demo_pack: Path) -> None:
    statement = json.loads(base64.b64decode(envelope_of(demo_pack)["payload"]))
    manifest = json.loads((demo_pack / "manifest.json").read_bytes())

    del manifest["files"]
    assert statement["predicate"] == manifest
