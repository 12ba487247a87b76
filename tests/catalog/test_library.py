"""The shipped SOC 2 control library, params, input guide and policy templates."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from assay.catalog import criteria
from assay.catalog.scaffold import (
    input_paths,
    library_controls,
    library_input_guide,
    library_params_text,
    library_policies,
)
from assay.controls.model import Control
from assay.evidence import collectors

CONTROLS = library_controls()
POLICIES = dict(library_policies())
POLICY_IDS = {
    "information-security", "access-control", "incident-response", "encryption",
    "key-management", "data-protection", "backup-and-recovery", "change-management",
    "vendor-management", "acceptable-use",
}
DOCUMENT_FOLDERS = ("inputs/", "runbooks/", "policies/")


def _front_matter(text: str) -> dict:
    _start, matter, _body = text.split("---\n", 2)
    return YAML(typ="safe", pure=True).load(matter)


def _body(text: str) -> str:
    return text.split("---\n", 2)[2]


def _expand_ranges(text: str) -> str:
    """Write "GOV-01 to GOV-05" as "GOV-01, GOV-02, ..., GOV-05" so every id can be found."""

    def expand(match: re.Match[str]) -> str:
        prefix, first, last = match["prefix"], int(match["first"]), int(match["last"])
        return ", ".join(f"{prefix}-{n:02d}" for n in range(first, last + 1))

    return re.sub(
        r"(?P<prefix>[A-Z]+)-(?P<first>\d+)\s+to\s+(?P=prefix)-(?P<last>\d+)", expand, text
    )


def test_library_has_at_least_35_controls() -> None:
    assert len(CONTROLS) >= 35


@pytest.mark.parametrize("item", CONTROLS, ids=lambda item: item.name)
def test_control_validates_against_model(item) -> None:
    control = Control.model_validate(item.data)

    assert item.name.startswith(control.id.lower() + "-")
    assert all(criteria.is_known(criterion) for criterion in control.criteria)
    assert set(control.policies) <= POLICY_IDS
    assert control.remediation


def test_control_ids_are_unique() -> None:
    ids = [item.data["id"] for item in CONTROLS]

    assert len(set(ids)) == len(ids)


def test_controls_use_registered_collectors() -> None:
    registry = collectors.available()
    used = {spec["collector"] for item in CONTROLS for spec in item.data.get("evidence") or []}

    assert used <= set(registry)
    assert "command" not in used


def test_manual_controls_have_no_evidence() -> None:
    manual = [item for item in CONTROLS if item.data.get("manual")]

    assert {"GOV-01", "IR-02", "VEN-01"} <= {item.data["id"] for item in manual}
    for item in manual:
        assert not item.data.get("evidence"), item.name
        assert not item.data.get("assert"), item.name


def test_library_covers_security_availability_confidentiality() -> None:
    cited = {criterion for item in CONTROLS for criterion in item.data["criteria"]}
    expected = (
        criteria.ids_in_category("security")
        + criteria.ids_in_category("availability")
        + criteria.ids_in_category("confidentiality")
    )

    assert [criterion for criterion in expected if criterion not in cited] == []
    assert "P4.3" in cited


def test_inputs_live_in_document_folders() -> None:
    for item in CONTROLS:
        for path in input_paths(item):
            assert path.startswith(DOCUMENT_FOLDERS), f"{item.name}: {path}"


def test_input_guide_matches_controls() -> None:
    guide = library_input_guide()
    used = {
        path for item in CONTROLS for path in input_paths(item) if not path.startswith("policies/")
    }

    assert sorted(used - set(guide)) == []
    assert sorted(set(guide) - used) == []


def test_params_cover_every_reference() -> None:
    params = YAML(typ="safe", pure=True).load(library_params_text())
    referenced = {
        name
        for item in CONTROLS
        for assertion in item.data.get("assert") or []
        for name in re.findall(r"params\.([A-Za-z_][A-Za-z0-9_]*)", assertion["expr"])
    }

    assert sorted(referenced - set(params)) == []
    assert sorted(set(params) - referenced) == []


def test_policy_templates_are_the_ten_expected() -> None:
    assert {Path(name).stem for name in POLICIES} == POLICY_IDS


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_policy_template_is_unapproved(name: str) -> None:
    matter = _front_matter(POLICIES[name])

    assert matter["policy_id"] == Path(name).stem
    assert matter["title"]
    assert matter["owner"]
    assert matter["version"] == "0.1"
    assert matter["approver"] is None
    assert matter["approved_at"] is None
    assert matter["next_review"] is None


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_policy_template_cites_its_controls(name: str) -> None:
    policy_id = Path(name).stem
    supporting = sorted(
        item.data["id"] for item in CONTROLS if policy_id in (item.data.get("policies") or [])
    )
    matter = _front_matter(POLICIES[name])
    body = _expand_ranges(" ".join(_body(POLICIES[name]).split()))

    assert sorted(matter["controls"]) == supporting
    assert "This policy is supported by the controls" in body
    for control in supporting:
        assert control in body, control
