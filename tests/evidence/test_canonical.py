import enum
import json
import os
import subprocess
import sys
from collections import OrderedDict

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from assay.evidence import records
from assay.evidence.records import MAX_SAFE_INTEGER, canonical

REQUIRE_COMPILED_ENV = "ASSAY_REQUIRE_COMPILED"


def _walk_params() -> list:
    """Both walks that canonical() may run before orjson: pure Python and compiled."""
    compiled = pytest.param(
        records._walk.prepare if records.COMPILED_WALK else None, id="compiled",
        marks=() if records.COMPILED_WALK else pytest.mark.skip(
            reason="assay.evidence._walk is not built (no C compiler at install time)"),
    )
    return [pytest.param(records._prepare_python, id="python"), compiled]


# Each test marked with this runs once per walk, as `walk`.
each_walk = pytest.mark.parametrize("walk", _walk_params())


def encode(walk, value) -> bytes:
    """canonical(value) as computed with `walk`."""
    return records._canonicalise(value, walk)


def test_compiled_walk_is_built():
    # .ci/run sets the variable, so a build that silently left the compiled
    # module out fails there instead of running every test on the Python walk.
    if not records.COMPILED_WALK and not os.environ.get(REQUIRE_COMPILED_ENV):
        pytest.skip(f"assay.evidence._walk is not built; set {REQUIRE_COMPILED_ENV}=1 to fail")
    assert records.COMPILED_WALK
    assert records._prepare is records._walk.prepare

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


def assert_encodes_like_reference(walk, value) -> None:
    """canonical(value) with `walk` gives rfc8785's bytes, or ValueError where rfc8785 rejects."""
    try:
        expected = rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError):
        with pytest.raises(ValueError):
            encode(walk, value)
        return
    assert encode(walk, value) == expected


@each_walk
@settings(max_examples=1500, deadline=None)
@given(json_values)
def test_canonical_matches_rfc8785(walk, value):
    assert_encodes_like_reference(walk, value)


@each_walk
@settings(max_examples=500, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_canonical_float_matches_rfc8785(walk, number):
    assert encode(walk, {"x": number}) == rfc8785.dumps({"x": number})


@each_walk
def test_canonical_edge_values_match_rfc8785(walk):
    values = [231.0, -0.0, 1e20, 1e21, 1.5e-7, 1e-5, 0.0001, 5e-324, 2.5e30, "\x7f\u2028\x1f\"\\/",
              {"\ue000": 1, "\U0001f600": 2}, {"b": [1, 2.5, None], "a": True},
              2.0**53 - 1, 2.0**53, -(2.0**53 - 1), 9007199254740991.5, 0.00009999999999999999,
              (1, 2.0, ("x",)), [[[[{"a": [1.0]}]]]],
              # orjson writes these in exponent form, ECMAScript in plain decimals.
              1e-6, 3.0239930152527067e-06, 9.99e-5, 1e16, 1.2e17, -4.3818670701384744e16, 1e20]
    for value in values:
        assert encode(walk, value) == rfc8785.dumps(value), value


class Level(enum.IntEnum):
    HIGH = 3


class Text(str):
    pass


class Number(float):
    pass


@each_walk
@pytest.mark.parametrize("value", [
    {"level": Level.HIGH}, [Level.HIGH], {Text("k"): 1}, {"k": Text("v")}, [Number(2.0)],
    OrderedDict([("b", 1), ("a", 2.0)]), {"k": OrderedDict([("z", [1.0])])}, [True, False, None],
    {1: "integer key"}, {"k": {1.5, 2.5}}, {"k": b"bytes"},
], ids=repr)
def test_subclasses_and_other_types_encode_like_reference(walk, value):
    # The walks accept exact built-in types only and leave the rest to
    # rfc8785, which either encodes or rejects them.
    assert_encodes_like_reference(walk, value)


@each_walk
@pytest.mark.parametrize("depth", [1, 200, 249, 250, 251, 252, 300, 600])
@pytest.mark.parametrize("container", ["list", "dict"])
def test_deep_nesting_encodes_like_reference(walk, depth, container):
    value: object = 1.0
    for _ in range(depth):
        value = [value] if container == "list" else {"k": value}
    assert encode(walk, value) == rfc8785.dumps(value)


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


def test_canonical_without_compiled_walk():
    # An install without a C compiler has no assay.evidence._walk; records
    # must then import, use the Python walk and still fall back to rfc8785.
    code = (
        "import sys\n"
        "sys.modules['assay.evidence._walk'] = None\n"
        "from assay.evidence import records\n"
        "assert not records.COMPILED_WALK\n"
        "assert records._prepare is records._prepare_python\n"
        "print(records.canonical({'b': 231.0, 'a': [1e-7, 1e16, '\\U0001f600']}).decode())\n"
        "try:\n"
        "    records.canonical(float('nan'))\n"
        "except ValueError:\n"
        "    print('nan rejected')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=False, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == '{"a":[1e-7,10000000000000000,"\U0001f600"],"b":231}\nnan rejected\n'
