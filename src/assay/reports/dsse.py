"""DSSE envelopes carrying in-toto Statement v1, signed with Ed25519.

DSSE (Dead Simple Signing Envelope, github.com/secure-systems-lab/dsse)
signs PAE(payloadType, payload): the ASCII bytes "DSSEv1", the decimal
length of the payload type, the payload type, the decimal length of the
payload and the payload, separated by single spaces. The envelope is JSON
with the base64 payload, its type and a list of {keyid, sig}.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from assay.evidence.records import canonical
from assay.keys import SigningKey, fingerprint

PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"


class DsseError(ValueError):
    """A DSSE envelope that is malformed or does not verify."""


def pae(payload_type: str, payload: bytes) -> bytes:
    """Return the DSSE v1 pre-authentication encoding of `payload`."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def statement(subjects: list[tuple[str, str]], predicate_type: str, predicate: dict[str, Any]) -> dict[str, Any]:
    """Build an in-toto Statement v1 over (name, sha256 hex) subjects."""
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": name, "digest": {"sha256": digest}} for name, digest in subjects],
        "predicateType": predicate_type,
        "predicate": predicate,
    }


def sign_statement(key: SigningKey, document: dict[str, Any]) -> bytes:
    """Return the DSSE envelope (JSON text and a newline) of `document`, signed by `key`.

    The payload is the statement's canonical JSON (RFC 8785) and the keyid
    is the key's fingerprint, so two builds of the same statement match.
    """
    payload = canonical(document)
    envelope = {
        "payload": base64.b64encode(payload).decode(),
        "payloadType": PAYLOAD_TYPE,
        "signatures": [
            {"keyid": key.key_id, "sig": base64.b64encode(key.sign(pae(PAYLOAD_TYPE, payload))).decode()}
        ],
    }
    return (json.dumps(envelope, indent=2, sort_keys=True) + "\n").encode()


def _b64(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise DsseError(f"{what} is not a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except ValueError as exc:
        # binascii.Error, and the plain ValueError b64decode raises for a non-ASCII character.
        raise DsseError(f"{what} is not valid base64 ({exc})") from exc


def verify_statement(public_key: Ed25519PublicKey, data: bytes) -> dict[str, Any]:
    """Check that the envelope `data` contains a statement signed by `public_key`; return the statement.

    A signature whose keyid is not the key's fingerprint is ignored, as in
    DSSE. Raises DsseError when no signature of the key verifies.
    """
    try:
        envelope = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise DsseError(f"not valid JSON ({exc})") from exc
    if not isinstance(envelope, dict):
        raise DsseError("not a DSSE envelope object")
    if envelope.get("payloadType") != PAYLOAD_TYPE:
        raise DsseError(f"payloadType is {envelope.get('payloadType')!r}, expected {PAYLOAD_TYPE!r}")
    payload = _b64(envelope.get("payload"), "payload")
    signatures = envelope.get("signatures")
    if not isinstance(signatures, list):
        raise DsseError("signatures is not a list")
    key_id = fingerprint(public_key)
    message = pae(PAYLOAD_TYPE, payload)
    verified = False
    for entry in signatures:
        if not isinstance(entry, dict) or entry.get("keyid") != key_id:
            continue
        try:
            public_key.verify(_b64(entry.get("sig"), "sig"), message)
        except InvalidSignature:
            continue
        verified = True
    if not verified:
        raise DsseError(f"no signature by {key_id} verifies")
    try:
        document = json.loads(payload)
    except (ValueError, RecursionError) as exc:
        raise DsseError(f"payload is not valid JSON ({exc})") from exc
    if not isinstance(document, dict) or document.get("_type") != STATEMENT_TYPE:
        raise DsseError(f"payload is not an in-toto statement ({STATEMENT_TYPE})")
    return document
