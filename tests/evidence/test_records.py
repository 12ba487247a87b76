import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assay.evidence.records import (
    GENESIS_PREV,
    MAX_SAFE_INTEGER,
    ChainBuilder,
    ChainChecker,
    ChainError,
    StoredRecord,
    build_encoded_record,
    build_record,
    canonical,
    check_record,
    record_hash,
)


def _record(seq: int = 1, prev: str = GENESIS_PREV, body: dict | None = None) -> StoredRecord:
    return build_record(
        seq=seq, prev=prev, time="2026-12-04T20:15:00.000000Z", run="r1", scope="production",
        kind="evidence", body=body if body is not None else {"facts": {"p99_ms": 96.98, "n": 141}},
    )


def test_canonical_writes_integral_float_as_integer():
    assert canonical({"b": 231.0, "a": "ü"}) == '{"a":"ü","b":231}'.encode()


def test_canonical_rejects_nan():
    with pytest.raises(ValueError, match="cannot be canonicalised"):
        canonical({"x": float("nan")})


def test_canonical_rejects_integer_beyond_two_to_53():
    with pytest.raises(ValueError):
        canonical({"system_id": 7290012345678901234})


def test_header_commits_to_body():
    record = _record()
    header = json.loads(record.header)
    assert sorted(header) == ["body_sha256", "kind", "prev", "run", "scope", "seq", "time", "v"]
    assert record.hash == record_hash(record.header)


def test_check_record_accepts_fresh_record():
    record = _record()
    assert check_record(record, 1, GENESIS_PREV)["seq"] == 1


def test_check_record_withheld_body_still_verifies():
    record = _record()
    withheld = StoredRecord(seq=1, header=record.header, body=None, hash=record.hash)
    assert check_record(withheld, 1, GENESIS_PREV)["kind"] == "evidence"


def test_check_record_wrong_prev_named():
    record = _record(prev="a" * 64)
    with pytest.raises(ChainError, match="prev does not match"):
        check_record(record, 1, GENESIS_PREV)


def test_check_record_reordered_header_keys_detected():
    record = _record()
    fields = json.loads(record.header)
    reordered = json.dumps(dict(reversed(list(fields.items()))), separators=(",", ":")).encode()
    altered = StoredRecord(seq=1, header=reordered, body=record.body, hash=record.hash)
    with pytest.raises(ChainError, match="not in canonical form"):
        check_record(altered, 1, GENESIS_PREV)


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_any_single_byte_change_is_detected(data):
    record = _record(body={"facts": {"p99_ms": 96.98411832017293, "tests": 22, "name": "ü<&>"}})
    part = data.draw(st.sampled_from(["header", "body", "hash"]))
    original = getattr(record, part)
    raw = original.encode() if isinstance(original, str) else original
    index = data.draw(st.integers(min_value=0, max_value=len(raw) - 1))
    replacement = data.draw(st.integers(min_value=0, max_value=255).filter(lambda b: b != raw[index]))
    changed = raw[:index] + bytes([replacement]) + raw[index + 1:]
    values = {"header": record.header, "body": record.body, "hash": record.hash}
    values[part] = changed.decode("latin-1") if part == "hash" else changed
    altered = StoredRecord(seq=1, **values)
    with pytest.raises(ChainError) as caught:
        check_record(altered, 1, GENESIS_PREV)
    assert caught.value.seq == 1


def _run_of_records(count: int, kinds: tuple[str, ...] = ("evidence",)) -> list[StoredRecord]:
    records, prev = [], GENESIS_PREV
    for index in range(count):
        record = build_record(
            seq=index + 1, prev=prev, time="2026-12-04T20:15:00.000000Z", run="r1",
            scope="production", kind=kinds[index % len(kinds)],
            body={"facts": {"n": index, "p99_ms": 96.98, "name": "ü<&>"}},
        )
        records.append(record)
        prev = record.hash
    return records


def _check_all(records: list[StoredRecord]) -> list[dict]:
    checker = ChainChecker()
    return [checker.check(record) for record in records]


def test_chain_checker_matches_check_record():
    records = _run_of_records(5, kinds=("evidence", "evidence", "result"))
    headers = _check_all(records)
    prev = GENESIS_PREV
    for record, header in zip(records, headers, strict=True):
        assert header == check_record(record, record.seq, prev)
        prev = record.hash


def test_chain_checker_reordered_keys_detected():
    records = _run_of_records(3)
    fields = json.loads(records[1].header)
    reordered = json.dumps(dict(reversed(list(fields.items()))), separators=(",", ":")).encode()
    # The stored hash is recomputed too, so only the canonical-form check can
    # tell the reordered header apart.
    records[1] = StoredRecord(seq=2, header=reordered, body=records[1].body,
                              hash=record_hash(reordered))
    with pytest.raises(ChainError, match="not in canonical form") as caught:
        _check_all(records)
    assert caught.value.seq == 2


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_chain_checker_byte_change_located(data):
    records = _run_of_records(4)
    position = data.draw(st.integers(min_value=1, max_value=3))
    record = records[position]
    part = data.draw(st.sampled_from(["header", "body", "hash"]))
    original = getattr(record, part)
    raw = original.encode() if isinstance(original, str) else original
    index = data.draw(st.integers(min_value=0, max_value=len(raw) - 1))
    replacement = data.draw(st.integers(min_value=0, max_value=255).filter(lambda b: b != raw[index]))
    changed = raw[:index] + bytes([replacement]) + raw[index + 1:]
    values = {"header": record.header, "body": record.body, "hash": record.hash}
    values[part] = changed.decode("latin-1") if part == "hash" else changed
    records[position] = StoredRecord(seq=record.seq, **values)
    with pytest.raises(ChainError) as caught:
        _check_all(records)
    assert caught.value.seq == record.seq


# Text that a run, scope or time may hold, with the characters a header
# template could get wrong: format markers, JSON escapes, control characters,
# characters beyond U+FFFF and lone surrogates.
header_text = st.text(
    alphabet=st.sampled_from(list("ab%sd\"\\/\x00\x1f\x7fé\u2028\U0001f600\ud800")),
    max_size=12,
)
chain_heads = st.one_of(
    st.just((0, GENESIS_PREV)),
    st.tuples(st.integers(min_value=-3, max_value=MAX_SAFE_INTEGER + 2),
              st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)),
    st.tuples(st.integers(min_value=0, max_value=10), st.text(max_size=70)),
)


@settings(max_examples=300, deadline=None)
@given(chain_heads, header_text, header_text, header_text,
       st.lists(st.sampled_from(["evidence", "result", "run", "checkpoint", "bogus"]),
                min_size=1, max_size=4))
def test_chain_builder_matches_build_encoded_record(head, run, scope, time, kinds):
    seq, prev = head
    builder = ChainBuilder(seq=seq, prev=prev, run=run, scope=scope, time=time)
    body = canonical({"facts": {"n": 1}})
    for kind in kinds:
        seq += 1
        try:
            expected = build_encoded_record(seq=seq, prev=prev, time=time, run=run,
                                            scope=scope, kind=kind, body_bytes=body)
        except ValueError as exc:
            with pytest.raises(ValueError, match=str(exc)[:20]):
                builder.add(kind, body)
            return
        assert builder.add(kind, body) == expected
        prev = expected.hash


def test_chain_builder_keeps_percent_signs():
    builder = ChainBuilder(seq=6, prev=GENESIS_PREV, run="100%s", scope="50%", time="%d%%")
    header = json.loads(builder.add("evidence", b"{}").header)
    assert (header["run"], header["scope"], header["time"], header["seq"]) == (
        "100%s", "50%", "%d%%", 7)
