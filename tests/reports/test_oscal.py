"""OSCAL assessment results of a period, validated with compliance-trestle's models."""

from __future__ import annotations

import copy
from datetime import timedelta

import pydantic
import pytest
from trestle.oscal.assessment_results import AssessmentResults

from assay.engine.periods import summarise_period
from assay.reports.oscal import OSCAL_VERSION, assessment_results, finding_status
from engine.test_periods import Q2, write_year_ledger


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory):
    workspace = tmp_path_factory.mktemp("oscal")
    ledger, _key, digests = write_year_ledger(workspace, step=timedelta(days=1))
    summary = summarise_period(ledger, Q2, "production")
    return assessment_results(summary), assessment_results(summary), digests


def test_oscal_validates_with_trestle(document) -> None:
    data, _again, _digests = document
    model = AssessmentResults.model_validate(data["assessment-results"])
    assert len(model.results) == 1


def test_oscal_version_is_written_version(document) -> None:
    # trestle does not check oscal-version, so the value is checked here.
    data, _again, _digests = document
    assert OSCAL_VERSION == "1.1.2"
    assert data["assessment-results"]["metadata"]["oscal-version"] == OSCAL_VERSION


def test_oscal_trestle_rejects_bad_state(document) -> None:
    data, _again, _digests = document
    broken = copy.deepcopy(data["assessment-results"])
    broken["results"][0]["findings"][0]["target"]["status"]["state"] = "fine"
    with pytest.raises(pydantic.ValidationError):
        AssessmentResults.model_validate(broken)


def test_oscal_findings_per_control(document) -> None:
    data, _again, _digests = document
    result = data["assessment-results"]["results"][0]
    assert result["start"] == "2026-04-01T00:00:00.000000Z"
    assert result["end"] == "2026-07-01T00:00:00.000000Z"
    states = {finding["target"]["target-id"]: finding["target"]["status"] for finding in result["findings"]}
    assert states == {
        "BK-02": {"state": "not-satisfied", "reason": "fail"},
        "LT-01": {"state": "not-satisfied", "reason": "fail"},
        "POL-01": {"state": "satisfied"},
    }
    selected = result["reviewed-controls"]["control-selections"][0]["include-controls"]
    assert [item["control-id"] for item in selected] == ["BK-02", "LT-01", "POL-01"]


def test_oscal_observations_point_at_evidence(document) -> None:
    data, _again, digests = document
    result = data["assessment-results"]["results"][0]
    hrefs = {
        evidence["href"] for observation in result["observations"]
        for evidence in observation["relevant-evidence"]
    }
    assert f"evidence/sha256/{digests['latency-bad']}" in hrefs
    assert f"evidence/sha256/{digests['backup']}" in hrefs
    assert f"evidence/sha256/{digests['staging']}" not in hrefs
    observation_ids = {observation["uuid"] for observation in result["observations"]}
    for finding in result["findings"]:
        related = {item["observation-uuid"] for item in finding["related-observations"]}
        assert related
        assert related <= observation_ids


def test_oscal_is_reproducible(document) -> None:
    data, again, _digests = document
    assert data == again


def test_finding_status_mapping() -> None:
    assert finding_status("pass") == {"state": "satisfied"}
    assert finding_status("missing") == {"state": "not-satisfied", "reason": "fail"}
    assert finding_status("not_applicable") == {"state": "not-satisfied", "reason": "other"}
