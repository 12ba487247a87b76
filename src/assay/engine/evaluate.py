"""Judge one control from its collected evidence, or a manual control from its attestations.

A waiver in force then turns a status that is not met into `waived`.

Documents the team has not written or adopted yet are no evidence, so a
fresh workspace claims nothing:

* A `policy.documents` source whose every document is an unadopted
  template is `missing`. A document is adopted once its front matter sets
  `approver`, `approved_at` or `next_review`; a template leaves all three
  empty. An adopted document is judged as written, so a lapsed review, an
  approval without a date or by its owner, or a date in the future fails.
* A `files` source none of whose paths matches a file is `missing`. One
  that matches some paths but not others fails.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from assay.controls.loader import LoadedControl
from assay.controls.waivers import LoadedWaiver
from assay.engine.attestations import Attestation, AttestationReview
from assay.engine.status import MET, Status, worst
from assay.evidence.collectors.base import Collected
from assay.evidence.records import canonical
from assay.policies.cel import ExpressionError, evaluate, lookup
from assay.timeutil import format_instant

# The front matter fields that show the team adopted a policy document.
ADOPTION_FIELDS = ("approver", "approved_at", "next_review")

# A fact value longer than this many items is shortened in the recorded
# "facts read" of an assertion; the whole value stays in the evidence record.
MAX_LISTED_ITEMS = 20


@dataclass
class EvidenceOutcome:
    """The outcome of collecting one evidence source of a control."""

    id: str
    collector: str
    status: str  # "ok", "missing" or "error"
    collected: Collected | None = None
    message: str | None = None
    stale: str | None = None


@dataclass
class AssertionOutcome:
    """The outcome of one assertion: pass, fail, error or skipped."""

    name: str
    expr: str
    outcome: str
    message: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name, "expr": self.expr, "outcome": self.outcome,
            "message": self.message, "facts": self.facts,
        }


@dataclass
class ControlResult:
    """A control's status with the reasons behind it."""

    loaded: LoadedControl
    status: Status
    reasons: list[str]
    assertions: list[AssertionOutcome]
    evidence: list[EvidenceOutcome]
    # The attestation in force that made a manual control pass.
    attestation: Attestation | None = None
    # The waiver that turned `waived_status` into `waived`.
    waiver: LoadedWaiver | None = None
    waived_status: Status | None = None

    @property
    def control_id(self) -> str:
        return self.loaded.control.id

    @property
    def remediation(self) -> str | None:
        """The control's remediation text when the control is not met, else None."""
        if self.status in MET or self.status is Status.NOT_APPLICABLE:
            return None
        return self.loaded.control.remediation


# Evidence may be dated this many seconds after the run's time, for clocks that differ.
FUTURE_TOLERANCE_SECONDS = 300


def check_freshness(loaded: LoadedControl, outcome: EvidenceOutcome, now: datetime) -> None:
    """Mark evidence observed after `now`, or longer ago than the control's max_age, as stale.

    Evidence from after the run's time would give negative ages, which pass
    every "recent enough" assertion, so it is never judged. A few minutes of
    clock difference between the host that wrote the input and this one are
    allowed (FUTURE_TOLERANCE_SECONDS).
    """
    if outcome.collected is None or outcome.collected.observed_at is None:
        return
    age = (now - outcome.collected.observed_at).total_seconds()
    if age < -FUTURE_TOLERANCE_SECONDS:
        outcome.stale = (
            f"evidence {outcome.id!r} was observed at "
            f"{format_instant(outcome.collected.observed_at)}, {-age / 3600:.1f} h after the "
            f"run's time {format_instant(now)}; check --now and the clock of this host"
        )
        return
    limit = loaded.control.max_age_seconds
    if limit is not None and age > limit:
        observed = format_instant(outcome.collected.observed_at)
        outcome.stale = (
            f"evidence {outcome.id!r} was observed at {observed}, {age / 3600:.1f} h before now; "
            f"older than max_age {loaded.control.max_age}"
        )


def _shorten(value: Any) -> Any:
    if isinstance(value, list) and len(value) > MAX_LISTED_ITEMS:
        return value[:MAX_LISTED_ITEMS] + [f"... {len(value) - MAX_LISTED_ITEMS} more"]
    if isinstance(value, dict) and len(value) > MAX_LISTED_ITEMS:
        return {"...": f"{len(value)} entries, see the evidence record"}
    return value


def as_recorded(value: Any) -> Any:
    """Return `value` as the ledger records it, so that assertions judge what an auditor can re-read.

    Canonical JSON writes an integral float as an integer (250.0 as 250), and
    CEL does not mix int and double in arithmetic, so judging the collected
    value could give another outcome than judging the recorded one. A value
    outside the canonical domain is returned unchanged; appending it to the
    ledger reports the error.
    """
    try:
        return orjson.loads(canonical(value))
    except ValueError:
        return value


def judge(
    loaded: LoadedControl,
    evidence: list[EvidenceOutcome],
    params: dict[str, Any],
    *,
    attestations: AttestationReview | None = None,
) -> ControlResult:
    """Combine evidence outcomes and assertion outcomes into the control's status.

    A manual control is judged by `attestations` alone: `pass` while one is
    in force, `manual` otherwise (also when `attestations` is None).
    """
    control = loaded.control
    if control.not_applicable is not None:
        return ControlResult(loaded, Status.NOT_APPLICABLE, [control.not_applicable], [], evidence)
    if control.manual is not None:
        review = attestations or AttestationReview(reasons=["no attestation recorded"])
        return judge_manual(loaded, review)
    statuses: list[Status] = []
    reasons: list[str] = []
    by_id = {item.id: item for item in evidence}
    not_evidence: set[str] = set()
    for item in evidence:
        reason = no_document_evidence(item)
        if reason is not None:
            not_evidence.add(item.id)
            statuses.append(Status.MISSING)
            reasons.append(f"{item.id}: {reason}")
            continue
        if item.status == "missing":
            statuses.append(Status.MISSING)
            reasons.append(f"{item.id}: {item.message}")
        elif item.status == "error":
            statuses.append(Status.ERROR)
            reasons.append(f"{item.id}: {item.message}")
        elif item.stale:
            statuses.append(Status.ERROR)
            reasons.append(item.stale)
        if item.collected is not None:
            for failure in item.collected.failures:
                statuses.append(Status.FAIL)
                reasons.append(f"{item.id}: {failure}")

    variables: dict[str, Any] = {"params": as_recorded(params)}
    for item in evidence:
        if item.collected is not None:
            variables[item.id] = as_recorded(item.collected.facts)
    outcomes: list[AssertionOutcome] = []
    for assertion, compiled in zip(control.assert_, loaded.expressions, strict=True):
        outcome = AssertionOutcome(assertion.name, assertion.expr, "pass")
        outcomes.append(outcome)
        blocked = [
            ref.path[0] for ref in compiled.references
            if ref.path[0] in not_evidence
            or ref.path[0] in by_id and (by_id[ref.path[0]].collected is None
                                         or by_id[ref.path[0]].collected.failures)  # type: ignore[union-attr]
        ]
        if blocked:
            outcome.outcome = "skipped"
            outcome.message = f"not evaluated: evidence {', '.join(sorted(set(blocked)))} not usable"
            continue
        absent = []
        # A path the expression tests with has() is one whose absence the
        # author handles explicitly; every other path must be present.
        guarded = {ref.path for ref in compiled.references if ref.guarded}
        for ref in compiled.references:
            present, value, missing = lookup(variables, ref.path)
            if present:
                outcome.facts[ref.text] = _shorten(value)
            elif ref.path not in guarded:
                absent.append(_absent_message(ref.path, missing, variables, by_id))
        if absent:
            outcome.outcome = "error"
            outcome.message = "; ".join(absent)
            statuses.append(Status.ERROR)
            reasons.append(f"{assertion.name}: {outcome.message}")
            continue
        try:
            value = evaluate(compiled, variables)
        except ExpressionError as exc:
            outcome.outcome, outcome.message = "error", str(exc)
            statuses.append(Status.ERROR)
            reasons.append(f"{assertion.name}: {exc}")
            continue
        if not isinstance(value, bool):
            outcome.outcome = "error"
            outcome.message = f"expression returned {value!r}, not true or false"
            statuses.append(Status.ERROR)
            reasons.append(f"{assertion.name}: {outcome.message}")
        elif not value:
            outcome.outcome = "fail"
            statuses.append(Status.FAIL)
            read = ", ".join(f"{name} = {_brief(val)}" for name, val in outcome.facts.items())
            reasons.append(f"{assertion.name}: false ({read})" if read else f"{assertion.name}: false")
    return ControlResult(loaded, worst(statuses), reasons, outcomes, evidence)


def no_document_evidence(item: EvidenceOutcome) -> str | None:
    """Return why collected documents are no evidence yet, or None when they are.

    Only `policy.documents` sources whose documents are all unadopted
    templates, and `files` sources that matched no file, are no evidence.
    """
    if item.status != "ok" or item.collected is None:
        return None
    facts = item.collected.facts
    if item.collector == "policy.documents":
        documents = facts.get("by_document") or {}
        if not documents or any(_adopted(entry) for entry in documents.values()):
            return None
        paths = ", ".join(sorted(str(entry.get("path")) for entry in documents.values()))
        return (
            f"{paths}: a template nobody has adopted yet (approver, approved_at and next_review "
            "are empty); adapt it, then fill them in when it is approved"
        )
    if item.collector == "files" and facts.get("files") == 0:
        patterns = ", ".join(repr(str(pattern)) for pattern in facts.get("missing") or [])
        return f"no file matches {patterns}"
    return None


def _adopted(entry: Any) -> bool:
    return isinstance(entry, dict) and any(entry.get(name) for name in ADOPTION_FIELDS)


def judge_manual(loaded: LoadedControl, review: AttestationReview) -> ControlResult:
    """Return `pass` for a manual control with an attestation in force, else `manual`."""
    status = Status.PASS if review.in_force is not None else Status.MANUAL
    return ControlResult(
        loaded, status, list(review.reasons), [], [], attestation=review.in_force
    )


def apply_waiver(result: ControlResult, waiver: LoadedWaiver | None) -> ControlResult:
    """Turn a status that is not met into `waived` under `waiver`, a waiver in force.

    A control that is met or not applicable keeps its status, and no waiver
    is attached to it. The real status stays in `waived_status`, and the
    real reasons follow the waiver's.
    """
    if waiver is None or result.status in MET or result.status is Status.NOT_APPLICABLE:
        return result
    details = waiver.waiver
    reason = (
        f"waived by {waiver.source} until {details.expires} (approved by {details.approver}, "
        f"owner {details.owner}); status without the waiver: {result.status.value}; "
        f"{details.justification}"
    )
    result.waived_status = result.status
    result.status = Status.WAIVED
    result.waiver = waiver
    result.reasons = [reason, *result.reasons]
    return result


def _brief(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, str) else str(value)


def _absent_message(
    path: tuple[str, ...], missing: str, variables: dict[str, Any], by_id: dict[str, EvidenceOutcome]
) -> str:
    source = by_id.get(path[0])
    if source is not None and source.collected is not None:
        fact = missing.split(".", 1)[1] if "." in missing else missing
        reason = source.collected.absent.get(fact)
        if reason:
            return f"{missing} not present: {reason}"
    parent: Any = variables
    for key in missing.split(".")[:-1]:
        parent = parent.get(key, {}) if isinstance(parent, dict) else {}
    available = ", ".join(sorted(parent)) if isinstance(parent, dict) else ""
    return f"{missing} not present; available: {available or 'none'}"
