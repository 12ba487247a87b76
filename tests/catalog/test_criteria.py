"""The SOC 2 criteria catalog: every id, its category and its title."""

from __future__ import annotations

import pytest

from assay.catalog import criteria
from assay.engine.readiness import category_of


def _series(prefix: str, count: int) -> list[str]:
    return [f"{prefix}.{n}" for n in range(1, count + 1)]


EXPECTED_IDS = (
    _series("CC1", 5) + _series("CC2", 3) + _series("CC3", 4) + _series("CC4", 2)
    + _series("CC5", 3) + _series("CC6", 8) + _series("CC7", 5) + _series("CC8", 1)
    + _series("CC9", 2)
    + _series("A1", 3) + _series("C1", 2) + _series("PI1", 5)
    + _series("P1", 1) + _series("P2", 1) + _series("P3", 2) + _series("P4", 3)
    + _series("P5", 2) + _series("P6", 7) + _series("P7", 1) + _series("P8", 1)
)


def test_catalog_lists_all_61_criteria() -> None:
    assert len(EXPECTED_IDS) == 61
    assert criteria.criterion_ids() == EXPECTED_IDS


@pytest.mark.parametrize(
    ("category", "count"),
    [("security", 33), ("availability", 3), ("confidentiality", 2),
     ("processing_integrity", 5), ("privacy", 18)],
)
def test_category_sizes(category: str, count: int) -> None:
    assert len(criteria.ids_in_category(category)) == count


def test_category_matches_id_prefix() -> None:
    for criterion in criteria.criterion_ids():
        assert criteria.category_of(criterion) == category_of(criterion), criterion


def test_titles_are_short_and_distinct() -> None:
    titles = [criteria.title_of(criterion) for criterion in criteria.criterion_ids()]

    assert all(0 < len(title) <= 80 for title in titles)
    assert len(set(titles)) == len(titles)


def test_lookups_of_one_criterion() -> None:
    assert criteria.category_of("A1.2") == "availability"
    assert criteria.title_of("CC8.1") == "Authorizing, testing, approving and deploying changes"
    assert criteria.is_known("P6.7")
    assert not criteria.is_known("CC9.3")


def test_unknown_criterion_raises() -> None:
    with pytest.raises(KeyError, match="CC9.3"):
        criteria.title_of("CC9.3")


def test_unknown_category_raises() -> None:
    with pytest.raises(ValueError, match="unknown category 'integrity'"):
        criteria.ids_in_category("integrity")


def test_catalog_order_sorts_unknown_ids_last() -> None:
    ids = ["CC9.9", "A1.1", "CC1.1", "P8.1"]

    assert sorted(ids, key=criteria.catalog_order) == ["CC1.1", "A1.1", "P8.1", "CC9.9"]
