"""Real sample documents with hostile values in place never crash a collector.

Each test parses a sample in its own format (JSON, JSON lines, CSV, XML or
log lines), replaces, removes or re-types a few places in it, writes it back
and runs the collector. The collector must return facts that are canonical
JSON or raise CollectorError naming the file.
"""

from __future__ import annotations

import gzip
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fuzz.harness import run_collector
from fuzz.samples import SAMPLES, Sample
from fuzz.strategies import (
    dump_json,
    restructured_csv,
    restructured_json,
    restructured_lines,
    restructured_ndjson,
    restructured_xml,
)
from fuzz.test_collector_mutations import error_names


def kind_of(sample: Sample, plain: bytes) -> str:
    name = sample.source.removesuffix(".gz")
    if name.endswith((".ndjson", ".jsonl")) or sample.collector in ("k6.stream", "k8s.audit"):
        return "ndjson"
    if sample.collector == "pgaudit" and name.endswith(".json"):
        return "ndjson"
    if name.endswith(".json"):
        return "json"
    if name.endswith(".csv") or (name.endswith(".jtl") and not plain.lstrip().startswith(b"<")):
        return "csv"
    if name.endswith((".xml", ".jtl")):
        return "xml"
    return "lines"


@st.composite
def restructured(draw: st.DrawFn, sample: Sample) -> bytes:
    original = sample.original()
    compressed = original[:2] == b"\x1f\x8b"
    plain = gzip.decompress(original) if compressed else original
    kind = kind_of(sample, plain)
    if kind == "json":
        content = dump_json(draw(restructured_json(json.loads(plain))))
    elif kind == "ndjson":
        content = draw(restructured_ndjson(plain))
    elif kind == "csv":
        content = draw(restructured_csv(plain))
    elif kind == "xml":
        content = draw(restructured_xml(plain))
    else:
        content = draw(restructured_lines(plain))
    return gzip.compress(content, mtime=0) if compressed else content


@pytest.mark.parametrize("sample", SAMPLES, ids=[sample.id for sample in SAMPLES])
@given(data=st.data())
def test_restructured_sample_parses_or_fails_cleanly(sample: Sample, data: st.DataObject) -> None:
    content = data.draw(restructured(sample), label="content")
    run_collector(sample.collector, sample.params, sample.files(content), error_names(sample))
