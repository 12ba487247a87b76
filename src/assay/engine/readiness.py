"""Readiness per Trust Services category, measured against the criteria catalog.

In scope are the categories assay.yaml names (security always) and, in
each, every criterion of the catalog (src/assay/catalog/soc2/criteria.yaml),
not only the criteria some control cites. A criterion is met when it has at
least one applicable control and all of its applicable controls are met
(pass or waived). A criterion that no control cites is not met and is listed
as a coverage gap. A criterion whose controls are all not applicable is
out of scope and does not count. Criteria ids that are not in the catalog
are ignored.

Each criterion is also classified by how its passing controls are
evidenced: "automated" (a collector other than the document collectors),
"documents" (only policy.documents or files), "attestation" (only manual
controls signed by a person), or "none".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from assay.catalog import criteria as catalog
from assay.controls.model import Control
from assay.engine.status import MET, Status

CATEGORY_TITLES = {
    "security": "Security",
    "availability": "Availability",
    "confidentiality": "Confidentiality",
    "processing_integrity": "Processing Integrity",
    "privacy": "Privacy",
}

# Collectors whose evidence is a document people write, not an output of
# the system itself.
DOCUMENT_COLLECTORS = frozenset({"policy.documents", "files"})
AUTOMATED = "automated"
DOCUMENTS = "documents"
ATTESTATION = "attestation"
NONE = "none"
# Strongest first: a criterion takes the strongest basis among its passing controls.
EVIDENCE_BASES = (AUTOMATED, DOCUMENTS, ATTESTATION, NONE)
# A criterion whose passing controls carry no basis (callers that pass only
# criteria and status) gets this instead of a guess.
UNKNOWN = "unknown"

# Thresholds of the readiness status text.
READY = "Ready"
IN_PROGRESS = "In progress"
NOT_STARTED = "Not started"
NO_CRITERIA = "n/a"


def category_of(criterion: str) -> str:
    """Map a criterion id to its category: CC security, A availability, C confidentiality,
    PI processing integrity, P privacy."""
    if criterion.startswith("CC"):
        return "security"
    if criterion.startswith("PI"):
        return "processing_integrity"
    if criterion.startswith("A"):
        return "availability"
    if criterion.startswith("C"):
        return "confidentiality"
    if criterion.startswith("P"):
        return "privacy"
    raise ValueError(f"unknown criterion id {criterion!r}")


def evidence_basis(control: Control | Mapping[str, Any]) -> str:
    """Classify how a control is evidenced: attestation, documents or automated.

    `control` is a Control or its recorded definition (the dict stored in
    the ledger's control records). A manual control is "attestation". A
    control whose every evidence source is a document collector is
    "documents", and any other control with evidence is "automated". A
    control with neither (not applicable) is "none".
    """
    if isinstance(control, Control):
        manual = control.manual is not None
        collectors = [spec.collector for spec in control.evidence]
    else:
        manual = control.get("manual") is not None
        collectors = [str(spec.get("collector")) for spec in control.get("evidence") or []]
    if manual:
        return ATTESTATION
    if not collectors:
        return NONE
    if all(name in DOCUMENT_COLLECTORS for name in collectors):
        return DOCUMENTS
    return AUTOMATED


class ControlOutcome(NamedTuple):
    """One control's criteria, status and evidence basis, as readiness reads them."""

    criteria: Sequence[str]
    status: Status
    basis: str | None = None


@dataclass
class CategoryReadiness:
    """Readiness of one category.

    `criteria_not_met` includes the coverage gaps. `evidenced` maps every
    criterion in scope to its evidence basis.
    """

    category: str
    criteria_met: list[str] = field(default_factory=list)
    criteria_not_met: list[str] = field(default_factory=list)
    coverage_gaps: list[str] = field(default_factory=list)
    criteria_not_applicable: list[str] = field(default_factory=list)
    evidenced: dict[str, str] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return CATEGORY_TITLES[self.category]

    @property
    def total(self) -> int:
        return len(self.criteria_met) + len(self.criteria_not_met)

    @property
    def ratio(self) -> float | None:
        return None if self.total == 0 else len(self.criteria_met) / self.total

    @property
    def status_text(self) -> str:
        """Tracking-table status: Ready at 100 %, Not started at 0 %, In progress between."""
        ratio = self.ratio
        if ratio is None:
            return NO_CRITERIA
        if ratio >= 1:
            return READY
        if ratio == 0:
            return NOT_STARTED
        return IN_PROGRESS

    def to_json(self) -> dict[str, object]:
        return {
            "category": self.category,
            "title": self.title,
            "criteria_met": self.criteria_met,
            "criteria_not_met": self.criteria_not_met,
            "criteria_in_scope": self.total,
            "coverage_gaps": self.coverage_gaps,
            "criteria_not_applicable": self.criteria_not_applicable,
            "readiness_ratio": self.ratio,
            "status": self.status_text,
            "evidenced": self.evidenced,
        }


def readiness(
    categories: Iterable[str],
    controls: Iterable[ControlOutcome | tuple[Sequence[str], Status]],
) -> list[CategoryReadiness]:
    """Compute readiness for the categories in scope (security always included).

    `controls` yields each control's criteria and status, and optionally its
    evidence basis (see `evidence_basis`). Without a basis, a criterion met
    only by such controls is classified "unknown" rather than guessed.
    """
    in_scope = {"security", *categories}
    cited: dict[str, list[ControlOutcome]] = {}
    for item in controls:
        outcome = ControlOutcome(*item)
        for criterion in outcome.criteria:
            cited.setdefault(criterion, []).append(outcome)
    result = []
    for category in CATEGORY_TITLES:
        if category not in in_scope:
            continue
        target = CategoryReadiness(category)
        for criterion in catalog.ids_in_category(category):
            _place(target, criterion, cited.get(criterion, []))
        result.append(target)
    return result


def _place(target: CategoryReadiness, criterion: str, outcomes: list[ControlOutcome]) -> None:
    applicable = [item for item in outcomes if item.status is not Status.NOT_APPLICABLE]
    if outcomes and not applicable:
        target.criteria_not_applicable.append(criterion)
        return
    target.evidenced[criterion] = _basis_of_criterion(applicable)
    if not applicable:
        target.criteria_not_met.append(criterion)
        target.coverage_gaps.append(criterion)
    elif all(item.status in MET for item in applicable):
        target.criteria_met.append(criterion)
    else:
        target.criteria_not_met.append(criterion)


def _basis_of_criterion(outcomes: list[ControlOutcome]) -> str:
    # Only passing controls evidence a criterion: a waived control is met
    # for readiness, but a waiver is an approved exception, not evidence.
    passing = [item for item in outcomes if item.status is Status.PASS]
    bases = {item.basis for item in passing}
    for basis in EVIDENCE_BASES:
        if basis in bases:
            return basis
    return UNKNOWN if None in bases else NONE
