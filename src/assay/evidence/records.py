"""Ledger records: canonical JSON (RFC 8785) and record hashing.

A record is a header and a body. The header commits to the body through
`body_sha256`, and the record hash is SHA-256 over a domain tag followed by
the header's canonical bytes. So a body can be withheld while the chain still
verifies: a pack for one scope shows other scopes' records as headers only.
Verification hashes stored bytes; it never re-serialises a parsed record.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from typing import Any, NamedTuple

import orjson
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
# From this magnitude up to 2**53, orjson and RFC 8785 (ECMAScript
# Number::toString) write a float as the same plain decimal. orjson turns to
# exponent notation below 1e-5 and ECMAScript below 1e-6, so 1e-4 keeps a
# margin (checked with orjson 3.13).
_PLAIN_REPR_MIN = 1e-4

# Canonical form of a header whose text fields are strings and whose seq is
# an int within ±(2**53 - 1). The keys follow HEADER_FIELDS, which is sorted,
# and there is no whitespace. Each %s takes a JSON string as canonical()
# writes it.
_HEADER_FORMAT = (
    '{"body_sha256":%s,"kind":%s,"prev":%s,"run":%s,"scope":%s,"seq":%d,"time":%s,"v":%d}'
)
_HEADER_FORMAT_BYTES = _HEADER_FORMAT.encode()
# Headers of the current version whose strings need no escape and whose seq
# has at most 15 digits, so is below 2**53. Every match is in canonical form,
# because canonical() writes such strings and integers unchanged.
_PLAIN_STRING = r'"([^"\\\x00-\x1f]*)"'
_SHORT_INTEGER = r"(0|-?[1-9][0-9]{0,14})"
_CANONICAL_HEADER = re.compile(
    re.escape(_HEADER_FORMAT)
    .replace("%s", _PLAIN_STRING)
    .replace("%d", _SHORT_INTEGER, 1)
    .replace("%d", str(RECORD_VERSION))
)


_HEX_HASH = re.compile(r"[0-9a-f]{64}")


class _Fallback(Exception):
    """The value needs the reference canonicaliser."""


def _prepare_python(value: Any) -> Any:
    # Returns a value that orjson writes in its RFC 8785 form: integral
    # floats become ints, because ECMAScript writes 231.0 as 231. Anything
    # orjson would write differently, such as floats beyond 2**53 that
    # ECMAScript pads with zeros, raises _Fallback.
    # To keep the walk cheap, the loops below handle scalar items inline
    # rather than with a call per leaf, and copy a container only when one
    # of its items changes.
    kind = type(value)
    if kind is dict:
        return _prepare_dict(value)
    if kind is list or kind is tuple:
        return _prepare_list(value)
    if kind is str or kind is bool or value is None:
        return value
    if kind is int:
        if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            return value
        raise _Fallback
    if kind is float:
        return _prepare_float(value)
    raise _Fallback


def _prepare_float(value: float) -> float | int:
    if value.is_integer() and abs(value) <= MAX_SAFE_INTEGER:
        return int(value)
    if _PLAIN_REPR_MIN <= abs(value) <= MAX_SAFE_INTEGER:
        return value
    raise _Fallback


def _prepare_dict(value: dict[Any, Any]) -> dict[Any, Any]:
    prepared = None
    for key, item in value.items():
        # Python sorts keys by code point and RFC 8785 by UTF-16 code
        # unit; the two orders differ only for characters beyond U+FFFF.
        if type(key) is not str or not key.isascii() and max(key) > "\uffff":
            raise _Fallback
        kind = type(item)
        if kind is str or kind is bool or item is None:
            continue
        if kind is int:
            if -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER:
                continue
            raise _Fallback
        if kind is float:
            new = _prepare_float(item)
        elif kind is dict:
            new = _prepare_dict(item)
        elif kind is list or kind is tuple:
            new = _prepare_list(item)
        else:
            raise _Fallback
        if new is not item:
            if prepared is None:
                prepared = dict(value)
            prepared[key] = new
    return value if prepared is None else prepared


def _prepare_list(value: list[Any] | tuple[Any, ...]) -> list[Any] | tuple[Any, ...]:
    prepared = None
    for index, item in enumerate(value):
        kind = type(item)
        if kind is str or kind is bool or item is None:
            continue
        if kind is int:
            if -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER:
                continue
            raise _Fallback
        if kind is float:
            new = _prepare_float(item)
        elif kind is dict:
            new = _prepare_dict(item)
        elif kind is list or kind is tuple:
            new = _prepare_list(item)
        else:
            raise _Fallback
        if new is not item:
            if prepared is None:
                prepared = list(value)
            prepared[index] = new
    return value if prepared is None else prepared


try:
    # The compiled form of the walk above, built from _walk.pyx at install
    # time where a C compiler is present: about ten times faster than the
    # Python walk.
    from assay.evidence import _walk
except ImportError:
    _walk = None  # type: ignore[assignment]

COMPILED_WALK = _walk is not None
_prepare = _walk.prepare if _walk is not None else _prepare_python
_FALLBACKS: tuple[type[Exception], ...] = (
    (_Fallback, _walk.Fallback, TypeError) if _walk is not None else (_Fallback, TypeError)
)


def canonical(value: Any) -> bytes:
    """Return the RFC 8785 canonical JSON bytes of `value`.

    Common shapes go through orjson after `_prepare`. Everything else goes
    through the `rfc8785` package: large or tiny floats, keys beyond the
    Basic Multilingual Plane, other types, lone surrogates, and nesting
    deeper than orjson's recursion limit. A property test checks both paths
    give identical bytes. Raises ValueError for values outside the canonical
    domain (NaN, infinities, integers beyond ±(2**53 - 1)).
    """
    return _canonicalise(value, _prepare)


def _canonicalise(value: Any, prepare: Callable[[Any], Any]) -> bytes:
    try:
        # orjson (checked with 3.13) writes a prepared value in RFC 8785
        # form. Its string escapes are those of RFC 8785, and it sorts keys
        # by code point, which for keys within the Basic Multilingual Plane
        # is RFC 8785's UTF-16 order. It writes the floats that `prepare`
        # keeps as RFC 8785 does (see _PLAIN_REPR_MIN). On anything it
        # cannot write it raises JSONEncodeError, which is a TypeError.
        return orjson.dumps(prepare(value), option=orjson.OPT_SORT_KEYS)
    except _FALLBACKS:
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


class StoredRecord(NamedTuple):
    """A record as stored: its exact canonical bytes and its hash.

    `body` is None when the body was withheld (a record of another scope in
    a pack). A named tuple rather than a frozen dataclass, because the
    verifiers build one per stored record and a tuple is built in about
    half the time.
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
    check_kind(kind)
    return build_encoded_record(
        seq=seq, prev=prev, time=time, run=run, scope=scope, kind=kind, body_bytes=canonical(body)
    )


def build_encoded_record(
    *, seq: int, prev: str, time: str, run: str, scope: str, kind: str, body_bytes: bytes
) -> StoredRecord:
    """Build a new record around a body already in canonical form, and compute its hash."""
    check_kind(kind)
    header_bytes = _header_bytes(seq, prev, time, run, scope, kind, sha256_hex(body_bytes))
    return StoredRecord(seq=seq, header=header_bytes, body=body_bytes, hash=record_hash(header_bytes))


# A version 1 header with run, scope and time filled in as JSON strings (by
# ChainBuilder), leaving body_sha256, kind, prev and seq to fill per record.
_RUN_HEADER_FORMAT = (
    '{"body_sha256":"%%s","kind":"%%s","prev":"%%s","run":%s,"scope":%s,"seq":%%d,"time":%s,'
    '"v":%d}'
)


class ChainBuilder:
    """Builds the records of one run that extend a chain from its head.

    Each record is what `build_encoded_record` returns for the same values,
    but run, scope and time are encoded once for the run rather than once a
    record, and the hashes this builder computes go into the next header
    unescaped. A property test compares the two.
    """

    def __init__(self, *, seq: int, prev: str, run: str, scope: str, time: str) -> None:
        self.seq = seq
        self.prev = prev
        self.run, self.scope, self.time = run, scope, time
        self._format: str | None = None
        if not (type(seq) is int and type(prev) is str and _HEX_HASH.fullmatch(prev)):
            return
        if not all(type(value) is str for value in (run, scope, time)):
            return
        try:
            # canonical() writes a string as orjson does; `%` is doubled so
            # that the per-record formatting leaves it as it is.
            encoded = [orjson.dumps(value).decode().replace("%", "%%") for value in (run, scope, time)]
        except TypeError:
            return  # A lone surrogate: build_encoded_record reports it.
        self._format = _RUN_HEADER_FORMAT % (*encoded, RECORD_VERSION)

    def add(self, kind: str, body_bytes: bytes) -> StoredRecord:
        """Return the next record, with `body_bytes` (canonical JSON) as its body."""
        seq = self.seq + 1
        # A str subclass such as a (str, Enum) member may print as another
        # text than its value, so only a plain str takes the template.
        if (self._format is None or type(kind) is not str or kind not in KINDS
                or seq > MAX_SAFE_INTEGER or seq < 1):
            record = build_encoded_record(
                seq=seq, prev=self.prev, time=self.time, run=self.run, scope=self.scope,
                kind=kind, body_bytes=body_bytes,
            )
        else:
            header = (
                self._format % (hashlib.sha256(body_bytes).hexdigest(), kind, self.prev, seq)
            ).encode()
            record = StoredRecord(seq, header, body_bytes, record_hash(header))
        self.seq, self.prev = seq, record.hash
        return record


def check_kind(kind: str) -> None:
    """Raise ValueError unless `kind` is a record kind."""
    if kind not in KINDS:
        raise ValueError(f"unknown record kind {kind!r}")


def _header_bytes(
    seq: int, prev: str, time: str, run: str, scope: str, kind: str, body_sha256: str
) -> bytes:
    # Fills _HEADER_FORMAT_BYTES when that gives the canonical bytes, so that
    # no header dict is built and walked per record. Other values go through
    # canonical(), so they are encoded or rejected as before.
    strings = (body_sha256, kind, prev, run, scope, time)
    if type(seq) is int and -MAX_SAFE_INTEGER <= seq <= MAX_SAFE_INTEGER and all(
        type(value) is str for value in strings
    ):
        try:
            return _HEADER_FORMAT_BYTES % (
                orjson.dumps(body_sha256), orjson.dumps(kind), orjson.dumps(prev),
                orjson.dumps(run), orjson.dumps(scope), seq, orjson.dumps(time), RECORD_VERSION,
            )
        except TypeError:
            pass  # A lone surrogate, for which canonical() raises ValueError.
    return canonical({
        "v": RECORD_VERSION,
        "seq": seq,
        "prev": prev,
        "time": time,
        "run": run,
        "scope": scope,
        "kind": kind,
        "body_sha256": body_sha256,
    })


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
    header = _parse_plain_header(record.header)
    if header is None:
        header = _parse_header(record.header, expected_seq)
    if header["v"] != RECORD_VERSION:
        raise ChainError(expected_seq, f"unsupported record version {header['v']!r}")
    if header["seq"] != expected_seq or record.seq != expected_seq:
        raise ChainError(expected_seq, f"seq is {header['seq']!r}, expected {expected_seq}")
    if header["prev"] != expected_prev:
        raise ChainError(expected_seq, "prev does not match the hash of the record before it")
    # A kind that is not a string (a list, say) cannot be looked up in the KINDS set.
    if not isinstance(header["kind"], str) or header["kind"] not in KINDS:
        raise ChainError(expected_seq, f"unknown kind {header['kind']!r}")
    if record.body is not None and sha256_hex(record.body) != header["body_sha256"]:
        raise ChainError(expected_seq, "body does not match body_sha256 in the header")
    if record_hash(record.header) != record.hash:
        raise ChainError(expected_seq, "stored hash is not the hash of the header")
    return header


class ChainChecker:
    """Check records one after another from a position in the chain.

    Records of one run usually share kind, run, scope and time, so their
    headers differ only in body_sha256, prev and seq. After a header passes
    `check_record`, the checker keeps the text around those three values.
    A next header equal to that text filled with its own body hash, prev and
    seq is canonical too, so it needs no parsing. Other headers, and headers
    whose body was withheld, go through `check_record`.
    """

    def __init__(self, start_seq: int = 1, start_prev: str = GENESIS_PREV) -> None:
        self.seq = start_seq
        self.prev = start_prev
        # Fields other than body_sha256, prev and seq, and the header text
        # after each of those three. _fields is None until a header whose
        # prev is plain hex passes check_record.
        self._fields: dict[str, Any] | None = None
        self._after_body = self._after_prev = self._after_seq = ""

    def check(self, record: StoredRecord) -> dict[str, Any]:
        """Check `record` as the next record of the chain and return its header.

        Raises ChainError when it does not verify.
        """
        # The comparison with the remembered text is inline rather than a
        # method of its own, because it runs once per stored record.
        fields = self._fields
        body = record.body
        if fields is not None and body is not None and record.seq == self.seq:
            body_sha256 = hashlib.sha256(body).hexdigest()
            expected = (
                f'{{"body_sha256":"{body_sha256}{self._after_body}{self.prev}'
                f"{self._after_prev}{self.seq}{self._after_seq}"
            ).encode()
            if (record.header == expected
                    and hashlib.sha256(RECORD_DOMAIN + expected).hexdigest() == record.hash):
                header = fields.copy()
                header["body_sha256"] = body_sha256
                header["prev"] = self.prev
                header["seq"] = self.seq
                self.prev = record.hash
                self.seq += 1
                return header
        header = check_record(record, self.seq, self.prev)
        self._remember(header)
        self.prev = record.hash
        self.seq += 1
        return header

    def _remember(self, header: dict[str, Any]) -> None:
        if _HEX_HASH.fullmatch(self.prev) is None:
            # The template writes prev into the text unescaped, so it must be hex.
            self._fields = None
            return
        fields = {name: header[name] for name in ("kind", "run", "scope", "time", "v")}
        encoded = {name: canonical(value).decode("utf-8") for name, value in fields.items()}
        self._after_body = f'","kind":{encoded["kind"]},"prev":"'
        self._after_prev = f'","run":{encoded["run"]},"scope":{encoded["scope"]},"seq":'
        self._after_seq = f',"time":{encoded["time"]},"v":{encoded["v"]}}}'
        self._fields = fields


def _parse_plain_header(header_bytes: bytes) -> dict[str, Any] | None:
    """Parse a header that matches _CANONICAL_HEADER, or return None.

    None does not mean that the header is invalid, because _parse_header
    checks every header that does not match.
    """
    try:
        text = header_bytes.decode("utf-8")
    except UnicodeDecodeError:
        return None
    match = _CANONICAL_HEADER.fullmatch(text)
    if match is None:
        return None
    body_sha256, kind, prev, run, scope, seq, time = match.groups()
    return {
        "body_sha256": body_sha256, "kind": kind, "prev": prev, "run": run, "scope": scope,
        "seq": int(seq), "time": time, "v": RECORD_VERSION,
    }


def _parse_header(header_bytes: bytes, expected_seq: int) -> dict[str, Any]:
    """Parse any header, raising ChainError unless it is the canonical form of the header fields."""
    try:
        header = json.loads(header_bytes)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ChainError(expected_seq, f"header is not valid JSON ({exc})") from exc
    if not isinstance(header, dict) or sorted(header) != sorted(HEADER_FIELDS):
        raise ChainError(expected_seq, "header fields are not the record header fields")
    try:
        recanonical = canonical(header)
    except ValueError as exc:
        raise ChainError(expected_seq, str(exc)) from exc
    if recanonical != header_bytes:
        raise ChainError(expected_seq, "header bytes are not in canonical form")
    return header
