"""Any change to the bytes of a stored record is detected.

tests/evidence/test_records.py replaces one byte of one fixed record. These
properties draw the record's body and scope as well, and also insert,
delete and truncate bytes, in the header, the body and the stored hash.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assay.evidence.records import (
    GENESIS_PREV,
    MAX_SAFE_INTEGER,
    ChainError,
    StoredRecord,
    build_record,
    check_record,
)

fact_values = st.recursive(
    st.none() | st.booleans() | st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=10,
)
bodies = st.dictionaries(st.text(min_size=1, max_size=10), fact_values, min_size=1, max_size=4)
scopes = st.from_regex(r"[a-z0-9][a-z0-9._-]{0,20}", fullmatch=True)


@st.composite
def changed_bytes(draw: st.DrawFn, raw: bytes) -> bytes:
    """Return `raw` with one byte replaced, inserted or deleted, or cut short; never `raw` itself."""
    kind = draw(st.sampled_from(["replace", "insert", "delete", "truncate"]))
    index = draw(st.integers(min_value=0, max_value=len(raw) - 1))
    if kind == "replace":
        replacement = draw(st.integers(0, 255).filter(lambda byte: byte != raw[index]))
        return raw[:index] + bytes([replacement]) + raw[index + 1:]
    if kind == "insert":
        return raw[:index] + bytes([draw(st.integers(0, 255))]) + raw[index:]
    if kind == "delete":
        return raw[:index] + raw[index + 1:]
    return raw[:index]


@given(body=bodies, scope=scopes, seq=st.integers(1, MAX_SAFE_INTEGER), data=st.data())
def test_any_byte_change_in_generated_record_detected(body, scope, seq, data) -> None:
    prev = data.draw(st.sampled_from([GENESIS_PREV, "ab" * 32]), label="prev")
    record = build_record(seq=seq, prev=prev, time="2026-12-04T20:15:00.000000Z", run="r1",
                          scope=scope, kind="evidence", body=body)
    assert check_record(record, seq, prev)["seq"] == seq

    part = data.draw(st.sampled_from(["header", "body", "hash"]), label="part")
    original = getattr(record, part)
    raw = original.encode("ascii") if part == "hash" else original
    changed = data.draw(changed_bytes(raw), label="changed")
    assert changed != raw
    values = {"header": record.header, "body": record.body, "hash": record.hash}
    values[part] = changed.decode("latin-1") if part == "hash" else changed
    altered = StoredRecord(seq=seq, **values)
    with pytest.raises(ChainError) as caught:
        check_record(altered, seq, prev)
    assert caught.value.seq == seq
