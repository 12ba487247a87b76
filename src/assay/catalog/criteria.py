"""The SOC 2 Trust Services Criteria catalog (soc2/criteria.yaml), loaded once.

Each criterion has an id (CC6.1), a category and a short title written for
this project. Readiness takes the criteria in scope from this catalog, so a
criterion that no control cites still counts, as a coverage gap.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

from ruamel.yaml import YAML

CATEGORIES = ("security", "availability", "confidentiality", "processing_integrity", "privacy")
CATALOG_PACKAGE = "assay.catalog"
CRITERIA_FILE = "soc2/criteria.yaml"


@dataclass(frozen=True)
class Criterion:
    """One Trust Services criterion."""

    id: str
    category: str
    title: str


@cache
def _catalog() -> dict[str, Criterion]:
    text = resources.files(CATALOG_PACKAGE).joinpath(CRITERIA_FILE).read_text(encoding="utf-8")
    entries = YAML(typ="safe", pure=True).load(text)["criteria"]
    catalog: dict[str, Criterion] = {}
    for entry in entries:
        criterion = Criterion(id=entry["id"], category=entry["category"], title=entry["title"])
        if criterion.category not in CATEGORIES:
            raise ValueError(
                f"{CRITERIA_FILE}: {criterion.id} has unknown category {criterion.category!r}"
            )
        if criterion.id in catalog:
            raise ValueError(f"{CRITERIA_FILE}: {criterion.id} is listed twice")
        catalog[criterion.id] = criterion
    return catalog


def criterion_ids() -> list[str]:
    """Return every criterion id in catalog order (CC1.1 first, P8.1 last)."""
    return list(_catalog())


def is_known(criterion: str) -> bool:
    return criterion in _catalog()


def get(criterion: str) -> Criterion:
    """Return the catalog entry of `criterion`, or raise KeyError for an id not in the catalog."""
    try:
        return _catalog()[criterion]
    except KeyError:
        raise KeyError(f"{criterion!r} is not a SOC 2 criterion in {CRITERIA_FILE}") from None


def title_of(criterion: str) -> str:
    return get(criterion).title


def category_of(criterion: str) -> str:
    return get(criterion).category


def ids_in_category(category: str) -> list[str]:
    """Return the ids of `category`'s criteria in catalog order.

    Raises ValueError for a category that is not one of CATEGORIES.
    """
    if category not in CATEGORIES:
        raise ValueError(f"unknown category {category!r}; use one of {', '.join(CATEGORIES)}")
    return [item.id for item in _catalog().values() if item.category == category]


@cache
def _positions() -> dict[str, int]:
    return {criterion: index for index, criterion in enumerate(_catalog())}


def catalog_order(criterion: str) -> tuple[int, str]:
    """Sort key: catalog position, with ids not in the catalog last in text order."""
    positions = _positions()
    return (positions[criterion], "") if criterion in positions else (len(positions), criterion)
