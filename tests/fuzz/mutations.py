"""Byte-level mutations of real sample files, as a Hypothesis strategy.

A mutation is a short list of edits (flip a bit, overwrite, insert or
delete bytes, truncate, repeat a slice), so shrinking leads to the one
edit that breaks a parser.
"""

from __future__ import annotations

import gzip

from hypothesis import strategies as st

# Bytes that mean something in the formats under test: JSON and CSV
# delimiters, XML markup, line ends, an invalid UTF-8 lead byte, a NUL,
# numbers outside every range, and a UTF-8 byte-order mark.
TOKENS = [
    b'"', b"{", b"}", b"[", b"]", b",", b":", b"\n", b"\r\n", b"\\", b"<", b">", b"&",
    b"\x00", b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xef\xbb\xbf", b"\t", b"'", b"#", b"-",
    b"null", b"true", b"[]", b"{}", b'""', b"-1", b"0", b"1e999", b"-1e999", b"NaN",
    b"Infinity", b"9007199254740993", b"1" * 400, b"0.0000000000000000000001",
    b"[" * 200, b"{\"a\":" * 200, b"<a>" * 200, "\u2028".encode(),
    rb"\ud800", rb"\u0000", b"%", b"=", b"---\n", b"*", b"&anchor ", b"!!python/object ",
]


@st.composite
def edit(draw: st.DrawFn, length: int) -> tuple:
    kind = draw(st.sampled_from(["flip", "set", "insert", "token", "delete", "truncate", "repeat"]))
    position = draw(st.integers(min_value=0, max_value=max(length, 0)))
    if kind == "flip":
        return ("flip", position, 1 << draw(st.integers(0, 7)))
    if kind == "set":
        return ("set", position, draw(st.integers(0, 255)))
    if kind == "insert":
        return ("insert", position, draw(st.binary(min_size=1, max_size=8)))
    if kind == "token":
        return ("insert", position, draw(st.sampled_from(TOKENS)))
    if kind == "delete":
        return ("delete", position, draw(st.integers(1, 64)))
    if kind == "truncate":
        return ("truncate", position, 0)
    return ("repeat", position, draw(st.integers(1, 256)))


def apply_edit(data: bytes, change: tuple) -> bytes:
    kind, position, argument = change
    if not data and kind in ("flip", "set", "delete", "repeat"):
        return data
    position = min(position, len(data))
    index = min(position, len(data) - 1) if data else 0
    if kind == "flip":
        return data[:index] + bytes([data[index] ^ argument]) + data[index + 1:]
    if kind == "set":
        return data[:index] + bytes([argument]) + data[index + 1:]
    if kind == "insert":
        return data[:position] + argument + data[position:]
    if kind == "delete":
        return data[:position] + data[position + argument:]
    if kind == "truncate":
        return data[:position]
    chunk = data[index:index + argument]
    return data[:index] + chunk + data[index:]


@st.composite
def mutated(draw: st.DrawFn, original: bytes, max_edits: int = 4) -> bytes:
    """Return `original` with one to `max_edits` random edits applied in turn."""
    data = original
    for change in draw(st.lists(edit(len(original)), min_size=1, max_size=max_edits)):
        data = apply_edit(data, change)
    return data


def regzip(original: bytes, mutated_plain: bytes) -> bytes:
    """Compress `mutated_plain` when `original` was gzip, so the mutation reaches the parser."""
    if original[:2] == b"\x1f\x8b":
        return gzip.compress(mutated_plain, mtime=0)
    return mutated_plain
