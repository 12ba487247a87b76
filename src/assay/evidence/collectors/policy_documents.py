"""Collector `policy.documents`: written policies as markdown with YAML front matter.

Each document starts with `---`, its front matter, and `---`. The fields read
are title, policy_id, owner, version, approver, approved_at, next_review and
effective;
others are kept as written. YAML's implicit typing never changes a value:
text fields keep the text as written (`version: 1.10` stays "1.10"), and the
YAML 1.2 schema keeps `NO` a string. Dates are `YYYY-MM-DD` (midnight UTC) or
RFC 3339 instants with an offset, converted to UTC; an instant without an
offset is rejected rather than guessed. A UTF-8 byte-order mark is skipped.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from assay.controls.yamlsource import load_text
from assay.errors import CollectorError
from assay.evidence.collectors.base import (
    Collected,
    CollectContext,
    Collector,
    CollectorParams,
    Fact,
    read_input_bytes,
    relative_name,
    resolve_input,
)
from assay.evidence.collectors.jsonload import decode_text
from assay.timeutil import format_instant, parse_instant

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MAX_POLICY_BYTES = 2 * 1024 * 1024


class PolicyDocumentsParams(CollectorParams):
    path: str = Field(description="Markdown files or a glob, relative to the workspace, e.g. policies/*.md.")
    review_interval_days: int = Field(
        default=365, gt=0,
        description="A document without next_review is due this many days after its approval.",
    )
    require: list[str] = Field(
        default_factory=list,
        description="Document ids (policy_id, or the file name without .md) that must be present.",
    )


class FrontMatter(BaseModel):
    """The front matter fields assay reads; other fields are allowed and kept."""

    model_config = ConfigDict(extra="allow", strict=True)

    title: str | None = None
    policy_id: str | None = None
    owner: str | None = None
    version: str | None = None
    approver: str | None = None
    approved_at: str | None = None
    next_review: str | None = None
    effective: str | None = None


class PolicyDocuments(Collector):
    name = "policy.documents"
    version = "1"
    summary = "Read policy documents (markdown with YAML front matter): approval and review dates."
    Params = PolicyDocumentsParams
    facts = (
        Fact(name="documents", type="int", unit="documents", description="Policy documents read."),
        Fact(name="approved", type="int", unit="documents",
             description="Documents with an approver and an approval date no later than now."),
        Fact(name="unapproved", type="list", description="Ids of documents that are not approved."),
        Fact(name="review_overdue", type="list",
             description="Ids of documents whose next review date (or approval date plus "
                         "review_interval_days) is before now."),
        Fact(name="all_approved", type="bool", description="True when every document is approved."),
        Fact(name="none_overdue", type="bool", description="True when no document's review is overdue."),
        Fact(name="max_days_since_approval", type="number", unit="days",
             description="Days since the approval of the longest-unreviewed approved document."),
        Fact(name="missing", type="list", description="Ids named in `require` that no document has."),
        Fact(name="by_document", type="map",
             description="Map from document id to {title, owner, version, approver, approved, "
                         "approved_at, days_since_approval, next_review, review_overdue, effective, "
                         "other (the remaining front matter fields as written), path, sha256}."),
    )

    def collect(self, params: PolicyDocumentsParams, context: CollectContext) -> Collected:
        files = resolve_input(context.workspace, params.path)
        by_document: dict[str, dict[str, Any]] = {}
        for path in files:
            display = relative_name(context.workspace, path)
            raw = read_input_bytes(path, display, MAX_POLICY_BYTES)
            matter, _body = _split_front_matter(decode_text(raw, display), display)
            entry = _judge(matter, display, context.now, params.review_interval_days)
            entry["sha256"] = hashlib.sha256(raw).hexdigest()
            key = matter.policy_id or Path(display).stem
            if key in by_document:
                raise CollectorError(f"document id {key!r} is also used by {by_document[key]['path']}", path=display)
            by_document[key] = entry
        unapproved = sorted(k for k, v in by_document.items() if not v["approved"])
        overdue = sorted(k for k, v in by_document.items() if v["review_overdue"])
        missing = sorted(set(params.require) - set(by_document))
        ages = [v["days_since_approval"] for v in by_document.values() if v["days_since_approval"] is not None]
        facts: dict[str, Any] = {
            "documents": len(by_document),
            "approved": len(by_document) - len(unapproved),
            "unapproved": unapproved,
            "review_overdue": overdue,
            "all_approved": not unapproved,
            "none_overdue": not overdue,
            "missing": missing,
            "by_document": by_document,
        }
        absent = {}
        if ages:
            facts["max_days_since_approval"] = max(ages)
        else:
            absent["max_days_since_approval"] = "no document has an approval date"
        failures = [f"required policy {name!r} not found" for name in missing]
        return Collected(facts=facts, artifacts=files, absent=absent, failures=failures)


def read_front_matter(path: Path, display: str, now: datetime) -> FrontMatter:
    """Read and check one policy document's front matter, as `assay lint` does.

    Raises CollectorError naming the line and field of the first problem.
    """
    raw = read_input_bytes(path, display, MAX_POLICY_BYTES)
    matter, _body = _split_front_matter(decode_text(raw, display), display)
    _judge(matter, display, now, 365)
    return matter


def _split_front_matter(text: str, display: str) -> tuple[FrontMatter, str]:
    lines = text.split("\n")
    if not lines or lines[0].rstrip("\r") != "---":
        raise CollectorError("no front matter: the file must start with a line '---'", path=display,
                             location="1:1")
    for index in range(1, len(lines)):
        if lines[index].rstrip("\r") in ("---", "..."):
            yaml_text = "\n".join(lines[1:index])
            body = "\n".join(lines[index + 1:])
            break
    else:
        raise CollectorError("front matter is not closed by a line '---'", path=display, location="1:1")
    document = load_text(yaml_text, display, FrontMatter, line_offset=1)
    if document.problems:
        first = document.problems[0]
        reasons = [f"{p.field}: {p.message}" if p.field else p.message for p in document.problems]
        raise CollectorError("; ".join(reasons), path=display,
                             location=f"{first.line + 1}:{first.column}")
    if not isinstance(document.data, dict):
        raise CollectorError("front matter must be a mapping of fields", path=display, location="2:1")
    try:
        return FrontMatter.model_validate(document.data), body
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = tuple(error["loc"])
            line, column = document.position(loc)
            value = error.get("input")
            message = error["msg"]
            if error["type"] == "string_type" and isinstance(value, (int, float, bool)):
                message = f"expected text, got {value!r}; quote the value to keep it as written"
            problems.append(f"{line + 1}:{column}: {'.'.join(map(str, loc))}: {message}")
        raise CollectorError("; ".join(problems), path=display) from exc


def _instant(text: str | None, field: str, display: str) -> datetime | None:
    if text is None:
        return None
    if _DATE.match(text):
        try:
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), tzinfo=UTC)
        except ValueError as exc:
            raise CollectorError(f"{field}: invalid date {text!r}", path=display) from exc
    try:
        return parse_instant(text)
    except ValueError as exc:
        raise CollectorError(
            f"{field}: {text!r} is neither a date (YYYY-MM-DD) nor an instant with an offset "
            "(2024-02-27T16:30:00+01:00)", path=display,
        ) from exc


def _judge(matter: FrontMatter, display: str, now: datetime, interval_days: int) -> dict[str, Any]:
    approved_at = _instant(matter.approved_at, "approved_at", display)
    effective = _instant(matter.effective, "effective", display)
    next_review = _instant(matter.next_review, "next_review", display)
    approved = bool(matter.approver) and approved_at is not None and approved_at <= now
    days = None if approved_at is None else round((now - approved_at).total_seconds() / 86400, 3)
    due = next_review or (approved_at + timedelta(days=interval_days) if approved_at else None)
    return {
        "title": matter.title,
        "owner": matter.owner,
        "version": matter.version,
        "approver": matter.approver,
        "approved": approved,
        "approved_at": format_instant(approved_at) if approved_at else None,
        "days_since_approval": days,
        "next_review": format_instant(due) if due else None,
        "review_overdue": due is not None and due < now,
        "effective": format_instant(effective) if effective else None,
        "other": matter.model_extra or {},
        "path": display,
    }
