"""Readiness per Trust Services category.

Readiness of a category is the share of its in-scope criteria whose controls
are all met (pass or waived). A control counts toward every category its
criteria belong to; a criterion's prefix gives its category. Until a
criteria catalog ships, the criteria the controls cite are the ones in scope.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from assay.engine.status import MET, Status

CATEGORY_TITLES = {
    "security": "Security",
    "availability": "Availability",
    "confidentiality": "Confidentiality",
    "processing_integrity": "Processing Integrity",
    "privacy": "Privacy",
}


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


@dataclass
class CategoryReadiness:
    """Readiness of one category."""

    category: str
    criteria_met: list[str] = field(default_factory=list)
    criteria_not_met: list[str] = field(default_factory=list)

    @property
    def title(self) -> str:
        return CATEGORY_TITLES[self.category]

    @property
    def total(self) -> int:
        return len(self.criteria_met) + len(self.criteria_not_met)

    @property
    def ratio(self) -> float | None:
        return None if self.total == 0 else len(self.criteria_met) / self.total

    def to_json(self) -> dict[str, object]:
        return {
            "category": self.category,
            "criteria_met": self.criteria_met,
            "criteria_not_met": self.criteria_not_met,
            "readiness_ratio": self.ratio,
        }


def readiness(
    categories: Iterable[str], controls: Iterable[tuple[list[str], Status]]
) -> list[CategoryReadiness]:
    """Compute readiness for the categories in scope (security always included).

    `controls` yields each control's criteria and status. Controls that are
    not applicable are out of scope; a criterion cited only by them is too.
    """
    in_scope = {"security", *categories}
    statuses: dict[str, list[Status]] = {}
    for criteria, status in controls:
        if status is Status.NOT_APPLICABLE:
            continue
        for criterion in criteria:
            statuses.setdefault(criterion, []).append(status)
    result = {name: CategoryReadiness(name) for name in CATEGORY_TITLES if name in in_scope}
    for criterion in sorted(statuses):
        category = category_of(criterion)
        if category not in result:
            continue
        target = result[category]
        if all(status in MET for status in statuses[criterion]):
            target.criteria_met.append(criterion)
        else:
            target.criteria_not_met.append(criterion)
    return list(result.values())
