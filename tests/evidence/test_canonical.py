import json
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from assay.evidence.records import MAX_SAFE_INTEGER, canonical

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-MAX_SAFE_INTEGER, max_value=MAX_SAFE_INTEGER)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(), children, max_size=5),
    max_leaves=30,
)


def _reference(value):
    try:
        return rfc8785.dumps(value)
    except Exception:  # noqa: BLE001 - the reference rejects some values, and so must canonical()
        return None


@settings(max_examples=1500, deadline=None)
@given(json_values)
def test_canonical_matches_rfc8785(value):
    expected = _reference(value)
    if expected is None:
        try:
            canonical(value)
        except ValueError:
            return
        raise AssertionError(f"canonical accepted a value rfc8785 rejects: {value!r}")
    assert canonical(value) == expected


@settings(max_examples=500, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_canonical_float_matches_rfc8785(number):
    assert canonical({"x": number}) == rfc8785.dumps({"x": number})


def test_canonical_edge_values_match_rfc8785():
    values = [231.0, -0.0, 1e20, 1e21, 1.5e-7, 1e-5, 0.0001, 5e-324, 2.5e30, "\x7f\u2028\x1f\"\\/",
              {"\ue000": 1, "\U0001f600": 2}, {"b": [1, 2.5, None], "a": True}]
    for value in values:
        assert canonical(value) == rfc8785.dumps(value)


header_values = st.fixed_dictionaries({
    "body_sha256": st.text(alphabet="0123456789abcdef", min_size=64, max_size=64),
    "kind": st.sampled_from(["run", "evidence", "result", "checkpoint"]),
    "prev": st.text(alphabet="0123456789abcdef", min_size=64, max_size=64),
    "run": st.text(min_size=1, max_size=40),
    "scope": st.text(min_size=1, max_size=40),
    "seq": st.integers(min_value=1, max_value=MAX_SAFE_INTEGER),
    "time": st.text(max_size=40),
})


@settings(max_examples=500, deadline=None)
@given(header_values)
def test_built_header_bytes_match_canonical(fields):
    from assay.evidence.records import build_record, canonical

    record = build_record(seq=fields["seq"], prev=fields["prev"], time=fields["time"],
                          run=fields["run"], scope=fields["scope"], kind=fields["kind"],
                          body={"x": 1})
    header = json.loads(record.header)
    assert record.header == canonical(header)
    assert header["seq"] == fields["seq"]
    assert header["run"] == fields["run"]
