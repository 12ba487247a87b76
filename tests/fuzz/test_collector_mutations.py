"""Byte-level mutations of real sample files never crash a collector.

Each test edits one sample file a few bytes at a time (bit flips, inserted
tokens, deleted ranges, truncation) and runs the collector on it. The
collector must return facts that are canonical JSON or raise CollectorError
naming the file.
"""

from __future__ import annotations

import gzip
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fuzz.harness import run_collector
from fuzz.mutations import mutated, regzip
from fuzz.samples import SAMPLES, Sample


def error_names(sample: Sample) -> list[str]:
    names = [sample.target_name]
    for value in sample.params.values():
        if isinstance(value, str):
            names.append(value)
        elif isinstance(value, list):
            names.extend(item for item in value if isinstance(item, str))
    return names


@st.composite
def mutated_sample(draw: st.DrawFn, sample: Sample) -> bytes:
    original = sample.original()
    if original[:2] == b"\x1f\x8b" and draw(st.booleans()):
        # Edit the decompressed text, so the edit reaches the parser behind gzip.
        plain = gzip.decompress(original)
        return regzip(original, draw(mutated(plain)))
    return draw(mutated(original))


@pytest.mark.parametrize("sample", SAMPLES, ids=[sample.id for sample in SAMPLES])
@given(data=st.data())
def test_mutated_sample_parses_or_fails_cleanly(sample: Sample, data: st.DataObject) -> None:
    content = data.draw(mutated_sample(sample), label="content")
    run_collector(sample.collector, sample.params, sample.files(content), error_names(sample))


@pytest.mark.parametrize("sample", SAMPLES, ids=[sample.id for sample in SAMPLES])
def test_unmutated_sample_is_accepted(sample: Sample) -> None:
    # The property above is only meaningful if the untouched sample parses.
    result = run_collector(sample.collector, sample.params, sample.files(sample.original()),
                           error_names(sample))
    assert not isinstance(result, Exception), result


def test_gzip_sample_is_compressed() -> None:
    compressed = [sample for sample in SAMPLES if sample.original()[:2] == b"\x1f\x8b"]
    assert compressed, "no gzip sample: the decompress-then-edit branch would never run"
    for sample in compressed:
        assert zlib.decompress(sample.original(), 16 + zlib.MAX_WBITS)
