"""canonical() against the rfc8785 reference on the values the other canonical tests leave out.

tests/evidence/test_canonical.py compares safe integers, finite floats and
text without surrogates. These properties add integers around and beyond
2**53 and floats drawn by magnitude from subnormal to the largest double.
They also add keys outside the Basic Multilingual Plane, because RFC 8785
sorts keys by UTF-16 code units, not by code points. Lone surrogates must
be rejected by both.
"""

from __future__ import annotations

import math

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from assay.evidence.records import MAX_SAFE_INTEGER
from evidence.test_canonical import assert_encodes_like_reference, each_walk, encode

around_safe_limit = st.one_of(
    st.integers(min_value=MAX_SAFE_INTEGER - 3, max_value=MAX_SAFE_INTEGER + 3),
    st.integers(min_value=-MAX_SAFE_INTEGER - 3, max_value=-MAX_SAFE_INTEGER + 3),
    st.integers(min_value=-(2**80), max_value=2**80),
)


@st.composite
def float_by_magnitude(draw: st.DrawFn) -> float:
    """A finite double with a uniformly drawn decimal exponent, subnormals included."""
    digits = draw(st.integers(min_value=1, max_value=10**17 - 1))
    exponent = draw(st.integers(min_value=-340, max_value=308))
    sign = draw(st.sampled_from(["", "-"]))
    value = float(f"{sign}{digits}e{exponent - 16}")
    return value if math.isfinite(value) else float(f"{sign}1.7976931348623157e308")


# Characters whose UTF-16 order differs from their code point order: a
# non-BMP character (a surrogate pair in UTF-16) sorts before U+E000..U+FFFF.
sort_sensitive = st.sampled_from(["\ue000", "\uffff", "\U00010000", "\U0001f600", "\U0010ffff",
                                  "\u00e9", "e\u0301", "a", "A", "", "\x00", "\x7f"])
key_text = st.one_of(st.text(max_size=6), st.lists(sort_sensitive, max_size=3).map("".join))
lone_surrogates = st.sampled_from(["\ud800", "\udbff", "\udc00", "\udfff", "a\ud83d", "\ude00b"])

scalars = st.one_of(
    st.none(), st.booleans(), around_safe_limit, float_by_magnitude(),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=8),
)
values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(key_text, children, max_size=5),
    max_leaves=20,
)


@each_walk
@given(values)
def test_canonical_agrees_with_rfc8785(walk, value: object) -> None:
    assert_encodes_like_reference(walk, value)


@each_walk
@given(float_by_magnitude())
def test_float_of_any_magnitude_agrees(walk, number: float) -> None:
    assert encode(walk, [number]) == rfc8785.dumps([number])


@each_walk
@given(around_safe_limit)
def test_integer_beyond_safe_limit_rejected_like_rfc8785(walk, number: int) -> None:
    assert_encodes_like_reference(walk, {"n": number})


@each_walk
@given(st.dictionaries(key_text, st.integers(-5, 5), min_size=2, max_size=8))
def test_key_order_is_utf16_order(walk, document: dict[str, int]) -> None:
    assert encode(walk, document) == rfc8785.dumps(document)


@each_walk
@given(lone_surrogates, st.sampled_from(["key", "value", "nested"]))
def test_lone_surrogate_rejected_everywhere(walk, text: str, place: str) -> None:
    places = {"key": {text: 1}, "value": {"k": text}, "nested": [[{"k": [text]}]]}
    with pytest.raises(ValueError):
        encode(walk, places[place])
