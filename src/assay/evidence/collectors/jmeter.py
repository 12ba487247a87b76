"""Collector for Apache JMeter result files (JTL), tested with those of JMeter 2.13.

JMeter writes one of two layouts. A file whose first character that is not
white space is `<` is read as XML, and any other file as CSV:

* CSV: a header row names the columns, which may come in any order and
  subset. `timeStamp`, `elapsed` and `success` are required, `label` and
  `responseCode` are read when present, and every other column is ignored.
  Rows are parsed with the csv module, so quoted fields may contain commas
  and line breaks (JMeter quotes a `failureMessage` that contains either).
* XML: a `<testResults>` root whose `<httpSample>` and `<sample>` children are
  the samples, with the attributes `t` (elapsed), `ts` (timestamp), `s`
  (success), `lb` (label) and `rc` (response code). A sample nested inside
  another (a redirect, an embedded resource, a child of a transaction) is
  part of its parent's time and is not counted as a request of its own.

Every CSV row and every top-level XML sample is one request, so a
transaction controller's own samples count too, unless the `label` parameter
leaves their labels out. Times are whole milliseconds, and timestamps are
milliseconds since the Unix epoch. A glob in `path` merges several files.

A sample's timestamp is read as its start. JMeter writes the start when
`sampleresult.timestamp.start=true`, which the jmeter.properties shipped with
JMeter sets, and the end otherwise.

Percentiles are exact, computed from every selected `elapsed` value by
`percentile()` below. XML goes through defusedxml's SAX parser with DTDs,
entities and external references rejected, so that a hostile file cannot
expand or fetch content.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatchcase
from fractions import Fraction
from typing import Any
from xml.sax import SAXException, SAXParseException
from xml.sax.handler import ContentHandler
from xml.sax.xmlreader import AttributesImpl, Locator

import defusedxml.sax
from defusedxml import DefusedXmlException
from pydantic import Field

from assay.errors import CollectorError
from assay.evidence.collectors.base import (
    fact as _fact,
    CollectContext,
    Collected,
    Collector,
    CollectorParams,
    read_input_bytes,
    relative_name,
    resolve_input,
)
from assay.evidence.collectors.jsonload import decode_text
from assay.timeutil import format_instant

REQUIRED_COLUMNS = ("timeStamp", "elapsed", "success")
SAMPLE_ELEMENTS = ("httpSample", "sample")
WHOLE_NUMBER = re.compile(r"[0-9]+")
UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
UTF8_BOM = b"\xef\xbb\xbf"

# Percentiles reported for the selected samples, and for each label.
PERCENTILES = {"p50_ms": 50, "p90_ms": 90, "p95_ms": 95, "p99_ms": 99}
LABEL_PERCENTILES = {"p95_ms": 95, "p99_ms": 99}

# Ends the message of an error that finds no JTL at all.
_EXPECTED_FILE = (
    "expected a JMeter JTL file: CSV with a header row naming at least "
    + ", ".join(REQUIRED_COLUMNS)
    + ", or XML with a <testResults> root"
)


class JMeterParams(CollectorParams):
    """Parameters of the jmeter.jtl collector."""

    path: str = Field(description="JTL file or glob, relative to the workspace. Every matched "
                      "file is read and the samples are merged.")
    label: str | None = Field(default=None, description="fnmatch glob (case-sensitive). Only "
                              "samples whose label matches it are counted.")


@dataclass(slots=True)
class _Sample:
    """One request: start in ms since the epoch, elapsed ms, outcome, label and response code."""

    start_ms: int
    elapsed_ms: int
    success: bool
    label: str | None
    code: str | None


@dataclass(frozen=True)
class _Place:
    """Location of a value: the file, and its line or line:column."""

    path: str
    location: str | None

    def error(self, message: str) -> CollectorError:
        return CollectorError(message, path=self.path, location=self.location)


@dataclass
class _FileSamples:
    """The samples of one file, and which optional fields every one of them has."""

    samples: list[_Sample] = field(default_factory=list)
    labels_missing: str | None = None  # the reason some sample has no label, else None
    codes_missing: str | None = None  # the reason some sample has no response code, else None


# Ends the description of every *_ms fact.
_OF_ELAPSED = "of the `elapsed` times of the selected samples, in milliseconds."


class JMeterJtl(Collector):
    name = "jmeter.jtl"
    version = "1"
    summary = "Read JMeter result files (JTL, CSV or XML) and summarise their samples."
    Params = JMeterParams
    facts = (
        _fact("requests", "int", "requests",
              "Selected samples (only those whose label matches `label`, if given)."),
        _fact("failed_requests", "int", "requests", "Selected samples with success false."),
        _fact("error_rate_ratio", "number", "ratio",
              "failed_requests / requests, from 0 to 1. Absent when there are no samples."),
        _fact("requests_per_second", "number", "1/s", "requests divided by the seconds from "
              "the earliest sample start to the latest sample end."),
        _fact("avg_ms", "number", "ms", f"Mean {_OF_ELAPSED}"),
        _fact("min_ms", "int", "ms", f"Minimum {_OF_ELAPSED}"),
        _fact("max_ms", "int", "ms", f"Maximum {_OF_ELAPSED}"),
        _fact("p50_ms", "number", "ms", f"Median {_OF_ELAPSED} Every percentile interpolates "
              "linearly between the two closest ranks (NumPy's default method)."),
        _fact("p90_ms", "number", "ms", f"90th percentile {_OF_ELAPSED}"),
        _fact("p95_ms", "number", "ms", f"95th percentile {_OF_ELAPSED}"),
        _fact("p99_ms", "number", "ms", f"99th percentile {_OF_ELAPSED}"),
        _fact("by_label", "map", None, "Map from label to {requests, failed_requests, "
              "error_rate_ratio, p95_ms, p99_ms} of its selected samples."),
        _fact("response_codes", "map", None,
              "Map from response code, as written, to the number of selected samples with it."),
        _fact("first_sample_at", "timestamp", None,
              "Start of the earliest selected sample, RFC 3339 UTC."),
        _fact("last_sample_at", "timestamp", None, "End (start + elapsed) of the latest "
              "selected sample, RFC 3339 UTC. It is also the collection's observed_at."),
    )  # fmt: skip

    def collect(self, params: JMeterParams, context: CollectContext) -> Collected:
        """Read every matched JTL file, select samples by label and return their facts."""
        files = resolve_input(context.workspace, params.path)
        samples: list[_Sample] = []
        failures: list[str] = []
        labels_missing: str | None = None
        codes_missing: str | None = None
        for file in files:
            display = relative_name(context.workspace, file)
            found = _read_file(read_input_bytes(file, display), display)
            if not found.samples:
                failures.append(f"no samples in {display}")
            samples.extend(found.samples)
            labels_missing = labels_missing or found.labels_missing
            codes_missing = codes_missing or found.codes_missing

        if params.label is not None:
            if labels_missing is not None:
                raise CollectorError(
                    f"cannot select samples by label, because {labels_missing}. Remove the "
                    "`label` parameter or save the label in the JTL file", path=params.path
                )
            selected = [sample for sample in samples
                        if sample.label is not None and fnmatchcase(sample.label, params.label)]
            if samples and not selected:
                failures.append(
                    f"label {params.label!r} matched none of the {len(samples)} samples"
                )
            samples = selected

        facts, absent, observed_at = _summarise(samples)
        if labels_missing is not None:
            facts.pop("by_label")
            absent["by_label"] = labels_missing
        if codes_missing is not None:
            facts.pop("response_codes")
            absent["response_codes"] = codes_missing
        return Collected(
            facts=facts, artifacts=files, observed_at=observed_at, absent=absent, failures=failures
        )


def percentile(ordered: Sequence[int], percent: int | Fraction) -> Fraction:
    """Return the `percent` percentile of ascending values, exactly.

    The rank is h = (n - 1) * percent / 100, counted from 0, and the result is
    x[floor(h)] + (h - floor(h)) * (x[floor(h) + 1] - x[floor(h)]): linear
    interpolation between the two closest ranks. This is definition 7 of
    Hyndman and Fan (1996), NumPy's default (method="linear") and Python's
    statistics.quantiles(method="inclusive"). The arithmetic is exact, so the
    float made from the result is correctly rounded.
    """
    if not ordered:
        raise ValueError("percentile of no values")
    rank = Fraction(len(ordered) - 1) * Fraction(percent) / 100
    below = int(rank)  # floor, because the rank is not negative
    fraction = rank - below
    if fraction == 0:
        return Fraction(ordered[below])
    return ordered[below] + fraction * (ordered[below + 1] - ordered[below])


def _ratio(numerator: int, denominator: int) -> float:
    return float(Fraction(numerator, denominator))


def _summarise(samples: list[_Sample]) -> tuple[dict[str, Any], dict[str, str], datetime | None]:
    """Compute the facts of the selected samples, with a reason in `absent` for each missing one."""
    failed = sum(1 for sample in samples if not sample.success)
    facts: dict[str, Any] = {"requests": len(samples), "failed_requests": failed}
    absent: dict[str, str] = {}

    by_label: dict[str, list[_Sample]] = {}
    for sample in samples:
        if sample.label is not None:
            by_label.setdefault(sample.label, []).append(sample)
    facts["by_label"] = {label: _label_facts(group) for label, group in sorted(by_label.items())}
    codes = Counter(sample.code for sample in samples if sample.code is not None)
    facts["response_codes"] = dict(sorted(codes.items()))

    if not samples:
        for name in ("error_rate_ratio", "requests_per_second", "avg_ms", "min_ms", "max_ms",
                     *PERCENTILES, "first_sample_at", "last_sample_at"):
            absent[name] = "no samples selected"
        return facts, absent, None

    facts["error_rate_ratio"] = _ratio(failed, len(samples))
    elapsed = sorted(sample.elapsed_ms for sample in samples)
    facts["avg_ms"] = _ratio(sum(elapsed), len(elapsed))
    facts["min_ms"] = elapsed[0]
    facts["max_ms"] = elapsed[-1]
    for name, percent in PERCENTILES.items():
        facts[name] = float(percentile(elapsed, percent))

    # NOTE: a file written with sampleresult.timestamp.start=false contains end times, which
    # this cannot detect, so the span below then starts and ends one sample late.
    first_ms = min(sample.start_ms for sample in samples)
    last_ms = max(sample.start_ms + sample.elapsed_ms for sample in samples)
    if last_ms > first_ms:
        facts["requests_per_second"] = float(Fraction(len(samples) * 1000, last_ms - first_ms))
    else:
        absent["requests_per_second"] = (
            "every sample starts and ends in the same millisecond, so the run lasted 0 s"
        )
    first_at = UNIX_EPOCH + timedelta(milliseconds=first_ms)
    last_at = UNIX_EPOCH + timedelta(milliseconds=last_ms)
    facts["first_sample_at"] = format_instant(first_at)
    facts["last_sample_at"] = format_instant(last_at)
    return facts, absent, last_at


def _label_facts(group: list[_Sample]) -> dict[str, Any]:
    failed = sum(1 for sample in group if not sample.success)
    elapsed = sorted(sample.elapsed_ms for sample in group)
    result: dict[str, Any] = {
        "requests": len(group),
        "failed_requests": failed,
        "error_rate_ratio": _ratio(failed, len(group)),
    }
    for name, percent in LABEL_PERCENTILES.items():
        result[name] = float(percentile(elapsed, percent))
    return result


def _read_file(data: bytes, display: str) -> _FileSamples:
    """Parse one JTL file, choosing XML when its first character that is not white space is `<`."""
    start = data[len(UTF8_BOM):] if data.startswith(UTF8_BOM) else data
    if not start.strip():
        raise CollectorError(f"file is empty; {_EXPECTED_FILE}", path=display)
    if start.lstrip().startswith(b"<"):
        return _read_xml(data, display)
    return _read_csv(decode_text(data, display), display)


# CSV


def _read_csv(text: str, display: str) -> _FileSamples:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header = _read_row(reader, display)
    if not header:
        raise CollectorError(f"the first line is blank; {_EXPECTED_FILE}", path=display,
                             location="1")
    column = _column_index(header, display)
    label_at, code_at = column.get("label"), column.get("responseCode")
    found = _FileSamples()
    if label_at is None:
        found.labels_missing = f"{display} has no label column"
    if code_at is None:
        found.codes_missing = f"{display} has no responseCode column"

    while True:
        line = reader.line_num + 1  # where the next row starts
        row = _read_row(reader, display)
        if row is None:
            return found
        if not row:
            continue  # a blank line
        if row == header:
            raise CollectorError(
                "the header row appears again, so several JTL files were joined into one. "
                "Pass them separately (`path` may be a glob)",
                path=display, location=str(line),
            )
        if len(row) != len(header):
            raise CollectorError(
                f"row has {len(row)} fields but the header has {len(header)}, so the file "
                "may be truncated, or its rows and header were written with different settings",
                path=display, location=str(line),
            )
        where = _Place(display, str(line))
        start_ms = _milliseconds(row[column["timeStamp"]], "timeStamp", where)
        elapsed_ms = _milliseconds(row[column["elapsed"]], "elapsed", where)
        _check_end(start_ms, elapsed_ms, "elapsed", where)
        found.samples.append(_Sample(
            start_ms=start_ms,
            elapsed_ms=elapsed_ms,
            success=_success(row[column["success"]], "success", where),
            label=None if label_at is None else row[label_at],
            code=None if code_at is None else row[code_at],
        ))


def _read_row(reader: Any, display: str) -> list[str] | None:
    """Return the next CSV row, or None at the end of the file."""
    line = reader.line_num + 1
    try:
        return next(reader, None)
    except csv.Error as exc:
        hint = " (the file may be truncated)" if "unexpected end of data" in str(exc) else ""
        raise CollectorError(
            f"invalid CSV: {exc}{hint}", path=display, location=str(line)
        ) from exc


def _column_index(header: list[str], display: str) -> dict[str, int]:
    """Map each column name to its position, checking that the required columns are there."""
    expected = ", ".join(REQUIRED_COLUMNS)
    if WHOLE_NUMBER.fullmatch(header[0].strip()):
        raise CollectorError(
            f"the first line is a sample, not a header row, so the columns are unknown "
            f"(JMeter writes no header when jmeter.save.saveservice.print_field_names=false); "
            f"expected a header row naming at least {expected}",
            path=display, location="1",
        )
    column: dict[str, int] = {}
    for position, name in enumerate(header):
        if name in column:
            raise CollectorError(f"column {name!r} appears twice in the header row",
                                 path=display, location="1")
        column[name] = position
    missing = [name for name in REQUIRED_COLUMNS if name not in column]
    if not missing:
        return column

    found = ", ".join(header[:30])
    message = (f"missing required column {', '.join(missing)}. The header must name at least "
               f"{expected}, and the columns found are: {found}")
    if len(header) == 1 and any(mark in header[0] for mark in ("\t", ";", "|")):
        message += (". The header contains no comma, so the file may use another delimiter "
                    "(jmeter.save.saveservice.default_delimiter), but this collector reads "
                    "comma-separated files only")
    raise CollectorError(message, path=display, location="1")


def _milliseconds(text: str, name: str, where: _Place) -> int:
    if WHOLE_NUMBER.fullmatch(text) is None:
        if name in ("timeStamp", "ts"):
            reason = (f"{name} {text!r} is not milliseconds since the epoch. JMeter writes a "
                      "date when jmeter.save.saveservice.timestamp_format names a date format, "
                      "so set that property to ms")
        else:
            reason = f"{name} {text!r} is not a whole number of milliseconds"
        raise where.error(reason)
    # Milliseconds up to the year 9999 have at most 15 digits. The length
    # check keeps int() away from its 4300-digit limit.
    if len(text.lstrip("0")) > 15:
        raise where.error(f"{name} {text[:40]!r} is too large: it reaches past the year 9999")
    value = int(text)
    if name in ("timeStamp", "ts"):
        try:
            UNIX_EPOCH + timedelta(milliseconds=value)
        except OverflowError:
            raise where.error(f"{name} {text!r} is past the year 9999") from None
    return value


def _check_end(start_ms: int, elapsed_ms: int, name: str, where: _Place) -> None:
    """Reject a sample whose end (start plus elapsed) is past the year 9999, which datetime cannot hold."""
    try:
        UNIX_EPOCH + timedelta(milliseconds=start_ms + elapsed_ms)
    except OverflowError:
        raise where.error(f"{name} {elapsed_ms} ms ends the sample past the year 9999") from None


def _success(text: str, name: str, where: _Place) -> bool:
    value = text.lower()
    if value not in ("true", "false"):
        raise where.error(f"{name} {text!r} is neither true nor false")
    return value == "true"


# XML


class _JtlHandler(ContentHandler):
    """SAX handler that collects the top-level samples of an XML JTL."""

    def __init__(self, display: str) -> None:
        super().__init__()
        self.display = display
        self.locator: Locator | None = None
        self.depth = 0  # number of open elements
        self.found = _FileSamples()
        self.unlabelled = 0
        self.uncoded = 0

    def setDocumentLocator(self, locator: Locator) -> None:  # noqa: N802 (SAX API name)
        self.locator = locator

    def place(self) -> _Place:
        if self.locator is None:
            return _Place(self.display, None)
        line, column = self.locator.getLineNumber(), self.locator.getColumnNumber() + 1
        return _Place(self.display, f"{line}:{column}")

    def startElement(self, name: str, attrs: AttributesImpl) -> None:  # noqa: N802
        depth = self.depth
        self.depth += 1
        if depth == 0 and name != "testResults":
            raise self.place().error(f"root element is <{name}>; {_EXPECTED_FILE}")
        if depth != 1 or name not in SAMPLE_ELEMENTS:
            return  # sub-samples, assertion results and response data are not requests
        where = self.place()
        values = {}
        for attribute in ("t", "ts", "s"):
            value = attrs.get(attribute)
            if value is None:
                raise where.error(f"<{name}> has no {attribute} attribute, but JMeter writes "
                                  "t (elapsed), ts (timestamp) and s (success) on every sample")
            values[attribute] = value
        label, code = attrs.get("lb"), attrs.get("rc")
        self.unlabelled += label is None
        self.uncoded += code is None
        start_ms = _milliseconds(values["ts"], "ts", where)
        elapsed_ms = _milliseconds(values["t"], "t", where)
        _check_end(start_ms, elapsed_ms, "t", where)
        self.found.samples.append(_Sample(
            start_ms=start_ms,
            elapsed_ms=elapsed_ms,
            success=_success(values["s"], "s", where),
            label=label,
            code=code,
        ))

    def endElement(self, name: str) -> None:  # noqa: N802
        self.depth -= 1

    def endDocument(self) -> None:  # noqa: N802
        if self.unlabelled:
            self.found.labels_missing = (
                f"{self.unlabelled} samples in {self.display} have no lb attribute"
            )
        if self.uncoded:
            self.found.codes_missing = (
                f"{self.uncoded} samples in {self.display} have no rc attribute"
            )


def _read_xml(data: bytes, display: str) -> _FileSamples:
    handler = _JtlHandler(display)
    try:
        defusedxml.sax.parseString(data, handler, forbid_dtd=True, forbid_entities=True,
                                   forbid_external=True)
    except SAXParseException as exc:
        location = f"{exc.getLineNumber()}:{exc.getColumnNumber() + 1}"
        raise CollectorError(f"invalid XML: {exc.getMessage()}", path=display,
                             location=location) from exc
    except DefusedXmlException as exc:
        raise handler.place().error(
            "XML document type declarations (DTD), entities and external references are "
            "rejected because they can expand or fetch content, and JTL files need none of them"
        ) from exc
    except SAXException as exc:
        raise CollectorError(f"invalid XML: {exc.getMessage()}", path=display) from exc
    except LookupError as exc:
        # expat raises LookupError for an encoding in the XML declaration
        # that Python does not know (encoding="utf-9").
        raise CollectorError(
            f"invalid XML: {exc}; declare encoding=\"UTF-8\" and save the file as UTF-8",
            path=display, location="1:1",
        ) from exc
    return handler.found
