"""Ledger records: canonical JSON (RFC 8785) and record hashing.

A record is a header and a body. The header commits to the body through
`body_sha256`, and the record hash is SHA-256 over a domain tag followed by
the header's canonical bytes, so a body can be withheld (a pack for one scope
shows other scopes' records as headers only) while the chain still verifies.
Verification hashes stored bytes; it never re-serialises a parsed record.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import rfc8785

RECORD_VERSION = 1
RECORD_DOMAIN = b"assay.record.v1\x00"
GENESIS_PREV = "0" * 64
HEADER_FIELDS = ("body_sha256", "kind", "prev", "run", "scope", "seq", "time", "v")
KINDS = frozenset(
    {"run", "control", "evidence", "result", "waiver", "attestation", "baseline", "tombstone",
     "checkpoint"}
)


MAX_SAFE_INTEGER = 2**53 - 1
# Below this magnitude Python's float repr switches to exponent notation
# while RFC 8785 (ECMAScript Number::toString) still writes plain decimals.
_PLAIN_REPR_MIN = 1e-4
_JSON = json.JSONEncoder(
    ensure_ascii=False, allow_nan=False, sort_keys=True, separators=(",", ":")
)


class _Fallback(Exception):
    """The value needs the reference canonicaliser."""


def _prepare(value: Any) -> Any:
    # Rewrites a value so that the standard library's C encoder writes its
    # RFC 8785 form: integral floats become ints, because ECMAScript writes
    # 231.0 as 231. Anything the encoder would write differently, such as
    # floats beyond 2**53 that ECMAScript pads with zeros, raises _Fallback.
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return value
    if kind is int:
        if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            return value
        raise _Fallback
    if kind is float:
        if value.is_integer() and abs(value) <= MAX_SAFE_INTEGER:
            return int(value)
        if _PLAIN_REPR_MIN <= abs(value) <= MAX_SAFE_INTEGER:
            return value
        raise _Fallback
    if kind is dict:
        prepared = {}
        for key, item in value.items():
            # Python sorts keys by code point and RFC 8785 by UTF-16 code
            # unit; the two orders differ only for characters beyond U+FFFF.
            if type(key) is not str or not key.isascii() and max(key) > "\uffff":
                raise _Fallback
            prepared[key] = _prepare(item)
        return prepared
    if kind is list or kind is tuple:
        return [_prepare(item) for item in value]
    raise _Fallback


def canonical(value: Any) -> bytes:
    """Return the RFC 8785 canonical JSON bytes of `value`.

    Common shapes go through the standard library's C encoder after
    `_prepare`; everything else (large or tiny floats, keys beyond the Basic
    Multilingual Plane, other types) goes through the `rfc8785` package. A
    property test checks both paths give identical bytes. Raises ValueError
    for values outside the canonical domain (NaN, infinities, integers
    beyond ±(2**53 - 1)).
    """
    try:
        return _JSON.encode(_prepare(value)).encode("utf-8")
    except (_Fallback, ValueError, UnicodeEncodeError):
        pass
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise ValueError(f"value cannot be canonicalised: {exc}") from exc


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def record_hash(header_bytes: bytes) -> str:
    """Hash of a record: SHA-256 over the domain tag and the header's canonical bytes."""
    return hashlib.sha256(RECORD_DOMAIN + header_bytes).hexdigest()


@dataclass(frozen=True)
class StoredRecord:
    """A record as stored: its exact canonical bytes and its hash.

    `body` is None when the body was withheld (a record of another scope in
    a pack).
    """

    seq: int
    header: bytes
    body: bytes | None
    hash: str

    def header_fields(self) -> dict[str, Any]:
        return json.loads(self.header)

    def body_fields(self) -> dict[str, Any] | None:
        return None if self.body is None else json.loads(self.body)


def build_record(
    *, seq: int, prev: str, time: str, run: str, scope: str, kind: str, body: dict[str, Any]
) -> StoredRecord:
    """Canonicalise a new record and compute its hash."""
    if kind not in KINDS:
        raise ValueError(f"unknown record kind {kind!r}")
    body_bytes = canonical(body)
    header = {
        "v": RECORD_VERSION,
        "seq": seq,
        "prev": prev,
        "time": time,
        "run": run,
        "scope": scope,
        "kind": kind,
        "body_sha256": sha256_hex(body_bytes),
    }
    header_bytes = canonical(header)
    return StoredRecord(seq=seq, header=header_bytes, body=body_bytes, hash=record_hash(header_bytes))


class ChainError(Exception):
    """A record does not verify; `seq` and `what` locate and describe the fault."""

    def __init__(self, seq: int, what: str) -> None:
        self.seq = seq
        self.what = what
        super().__init__(f"record seq {seq}: {what}")


def check_record(record: StoredRecord, expected_seq: int, expected_prev: str) -> dict[str, Any]:
    """Check one stored record against its position in the chain.

    Returns the parsed header. Raises ChainError naming what differs: the
    header is not canonical, a field is wrong, the body does not match
    `body_sha256`, or the stored hash is not the header's hash.
    """
    try:
        header = json.loads(record.header)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ChainError(expected_seq, f"header is not valid JSON ({exc})") from exc
    if not isinstance(header, dict) or sorted(header) != sorted(HEADER_FIELDS):
        raise ChainError(expected_seq, "header fields are not the record header fields")
    try:
        recanonical = canonical(header)
    except ValueError as exc:
        raise ChainError(expected_seq, str(exc)) from exc
    if recanonical != record.header:
        raise ChainError(expected_seq, "header bytes are not in canonical form")
    if header["v"] != RECORD_VERSION:
        raise ChainError(expected_seq, f"unsupported record version {header['v']!r}")
    if header["seq"] != expected_seq or record.seq != expected_seq:
        raise ChainError(expected_seq, f"seq is {header['seq']!r}, expected {expected_seq}")
    if header["prev"] != expected_prev:
        raise ChainError(expected_seq, "prev does not match the hash of the record before it")
    if header["kind"] not in KINDS:
        raise ChainError(expected_seq, f"unknown kind {header['kind']!r}")
    if record.body is not None and sha256_hex(record.body) != header["body_sha256"]:
        raise ChainError(expected_seq, "body does not match body_sha256 in the header")
    if record_hash(record.header) != record.hash:
        raise ChainError(expected_seq, "stored hash is not the hash of the header")
    return header
