"""Waiver files: the model, loading with the workspace, and when a waiver is in force."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from assay.controls.loader import load_workspace
from assay.controls.waivers import LoadedWaiver, Waiver, waivers_in_force
from assay.errors import WorkspaceErrors

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "platform"
PLUS_TWO = timezone(timedelta(hours=2))

WAIVER = """\
control: CAP-02
scope: production
justification: the error budget is spent while the new gateway is rolled out
owner: platform-team
approver: security-lead
created: 2026-11-20T09:00:00+02:00
expires: 2026-12-10T18:00:00+02:00
remediation: finish the gateway rollout and rerun the load test
"""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A copy of the example workspace with waivers/cap-02.yaml."""
    workspace = tmp_path / "platform"
    shutil.copytree(EXAMPLE, workspace)
    (workspace / "waivers").mkdir()
    (workspace / "waivers" / "cap-02.yaml").write_text(WAIVER, encoding="utf-8")
    return workspace


def write_waiver(root: Path, text: str) -> None:
    (root / "waivers" / "cap-02.yaml").write_text(text, encoding="utf-8")


def replaced(old: str, new: str) -> str:
    assert WAIVER.count(old) == 1, old
    return WAIVER.replace(old, new)


def position(text: str, needle: str) -> str:
    """Return "line:col" (both from 1) of the only occurrence of `needle` in `text`."""
    assert text.count(needle) == 1, needle
    offset = text.index(needle)
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return f"{line}:{column}"


def load_problems(root: Path) -> list[str]:
    with pytest.raises(WorkspaceErrors) as caught:
        load_workspace(root)
    return caught.value.problems


def make_waiver(**changes: str) -> LoadedWaiver:
    fields = {
        "control": "CAP-02", "scope": "production", "justification": "gateway rollout",
        "owner": "platform-team", "approver": "security-lead",
        "created": "2026-11-20T09:00:00+02:00", "expires": "2026-12-10T18:00:00+02:00",
        "remediation": "finish the rollout",
    }
    fields.update(changes)
    return LoadedWaiver(waiver=Waiver.model_validate(fields), source="waivers/cap-02.yaml")


# Loading


def test_waiver_loads_with_workspace(root: Path) -> None:
    workspace = load_workspace(root)

    assert len(workspace.waivers) == 1
    loaded = workspace.waivers[0]
    assert loaded.source == "waivers/cap-02.yaml"
    assert loaded.waiver.control == "CAP-02"
    assert loaded.waiver.approver == "security-lead"


def test_waiver_instants_converted_to_utc(root: Path) -> None:
    waiver = load_workspace(root).waivers[0].waiver

    assert waiver.created == "2026-11-20T07:00:00.000000Z"
    assert waiver.expires == "2026-12-10T16:00:00.000000Z"
    assert waiver.expires_at == datetime(2026, 12, 10, 16, 0, tzinfo=UTC)


def test_waiver_created_date_is_utc_midnight(root: Path) -> None:
    write_waiver(root, replaced("created: 2026-11-20T09:00:00+02:00", "created: 2026-11-20"))

    waiver = load_workspace(root).waivers[0].waiver

    assert waiver.created_at == datetime(2026, 11, 20, tzinfo=UTC)


def test_workspace_without_waivers_folder_loads() -> None:
    assert load_workspace(EXAMPLE).waivers == []


def test_waiver_hash_ignores_comments_and_layout(root: Path) -> None:
    before = load_workspace(root).waivers[0].sha256
    write_waiver(root, "# approved in the change board\n" + WAIVER.replace(": ", ":   "))

    after = load_workspace(root).waivers[0].sha256

    assert after == before


def test_waiver_hash_changes_with_content(root: Path) -> None:
    before = load_workspace(root).waivers[0].sha256
    write_waiver(root, replaced("expires: 2026-12-10T18:00:00+02:00", "expires: 2026-12-11T18:00:00+02:00"))

    after = load_workspace(root).waivers[0].sha256

    assert after != before


# Lint errors, one per malformed field


def test_missing_justification_rejected(root: Path) -> None:
    write_waiver(root, replaced(
        "justification: the error budget is spent while the new gateway is rolled out\n", ""
    ))

    problems = load_problems(root)

    assert problems == ["waivers/cap-02.yaml:1:1: justification: required field is missing"]


def test_blank_justification_rejected(root: Path) -> None:
    text = replaced(
        "justification: the error budget is spent while the new gateway is rolled out",
        'justification: "  "',
    )
    write_waiver(root, text)

    problems = load_problems(root)

    where = position(text, '"  "')
    assert problems == [f"waivers/cap-02.yaml:{where}: justification: must not be empty"]


def test_expires_without_offset_rejected(root: Path) -> None:
    text = replaced("expires: 2026-12-10T18:00:00+02:00", "expires: 2026-12-10T18:00:00")
    write_waiver(root, text)

    problems = load_problems(root)

    where = position(text, "2026-12-10T18:00:00")
    assert len(problems) == 1
    assert problems[0].startswith(f"waivers/cap-02.yaml:{where}: expires: ")
    assert "timestamp has no UTC offset: '2026-12-10T18:00:00'" in problems[0]


def test_expires_date_rejected(root: Path) -> None:
    write_waiver(root, replaced("expires: 2026-12-10T18:00:00+02:00", "expires: 2026-12-10"))

    problems = load_problems(root)

    assert len(problems) == 1
    assert "expires: expires '2026-12-10' is a date without a time" in problems[0]


def test_expires_before_created_rejected(root: Path) -> None:
    write_waiver(root, replaced("expires: 2026-12-10T18:00:00+02:00", "expires: 2026-11-20T06:00:00Z"))

    problems = load_problems(root)

    assert len(problems) == 1
    assert "expires: expires '2026-11-20T06:00:00Z' is not after created" in problems[0]


def test_invalid_created_rejected(root: Path) -> None:
    write_waiver(root, replaced("created: 2026-11-20T09:00:00+02:00", "created: last week"))

    problems = load_problems(root)

    assert len(problems) == 1
    assert "created: not an RFC 3339 timestamp: 'last week'" in problems[0]


def test_unknown_control_rejected_with_suggestion(root: Path) -> None:
    text = replaced("control: CAP-02", "control: CAP-002")
    write_waiver(root, text)

    problems = load_problems(root)

    where = position(text, "CAP-002")
    assert problems == [
        f"waivers/cap-02.yaml:{where}: control: waiver waivers/cap-02.yaml names control CAP-002, "
        "which does not exist (did you mean 'CAP-02'?)"
    ]


def test_bad_scope_rejected(root: Path) -> None:
    text = replaced("scope: production", "scope: prod env")
    write_waiver(root, text)

    problems = load_problems(root)

    where = position(text, "prod env")
    assert len(problems) == 1
    assert problems[0].startswith(f"waivers/cap-02.yaml:{where}: scope: invalid scope 'prod env'")


def test_approver_equal_to_owner_rejected(root: Path) -> None:
    text = replaced("approver: security-lead", "approver: Platform-Team")
    write_waiver(root, text)

    problems = load_problems(root)

    where = position(text, "Platform-Team")
    assert problems == [
        f"waivers/cap-02.yaml:{where}: approver: approver 'Platform-Team' is also the owner; "
        "another person must approve"
    ]


def test_unknown_waiver_field_rejected(root: Path) -> None:
    text = WAIVER + "approved_by: cto\n"
    write_waiver(root, text)

    problems = load_problems(root)

    assert problems == [
        f"waivers/cap-02.yaml:{position(text, 'approved_by')}: approved_by: unknown field "
        "(did you mean 'approver'?)"
    ]


def test_duplicate_waiver_key_rejected(root: Path) -> None:
    write_waiver(root, WAIVER + "owner: someone-else\n")

    problems = load_problems(root)

    assert len(problems) == 1
    assert "owner: duplicate key 'owner' (lines 4 and 9)" in problems[0]


def test_waiver_problems_reported_with_control_problems(root: Path) -> None:
    write_waiver(root, replaced("control: CAP-02", "control: CAP-20"))
    control = root / "controls" / "cap-01-latency.yaml"
    control.write_text(control.read_text().replace("max_age: 26h\n", "") + "gate: never\n")

    problems = load_problems(root)

    assert any(p.startswith("controls/cap-01-latency.yaml:") for p in problems)
    assert any(p.startswith("waivers/cap-02.yaml:") for p in problems)


# When a waiver is in force


def test_waiver_in_force_until_exact_expiry() -> None:
    waiver = make_waiver()
    expiry = datetime(2026, 12, 10, 18, 0, tzinfo=PLUS_TWO)

    assert waiver.in_force("production", expiry - timedelta(microseconds=1))
    assert not waiver.in_force("production", expiry)
    assert not waiver.in_force("production", expiry + timedelta(microseconds=1))


def test_waiver_in_force_from_exact_creation() -> None:
    waiver = make_waiver()
    created = datetime(2026, 11, 20, 9, 0, tzinfo=PLUS_TWO)

    assert not waiver.in_force("production", created - timedelta(microseconds=1))
    assert waiver.in_force("production", created)


def test_waiver_scope_mismatch_not_in_force() -> None:
    waiver = make_waiver(scope="staging")
    now = datetime(2026, 12, 1, tzinfo=UTC)

    assert not waiver.in_force("production", now)
    assert waiver.in_force("staging", now)


def test_waivers_in_force_prefers_latest_expiry() -> None:
    short = LoadedWaiver(make_waiver().waiver, "waivers/a.yaml")
    long = LoadedWaiver(make_waiver(expires="2026-12-20T00:00:00Z").waiver, "waivers/b.yaml")
    other = LoadedWaiver(make_waiver(control="CAP-01").waiver, "waivers/c.yaml")
    now = datetime(2026, 12, 1, tzinfo=UTC)

    found = waivers_in_force([short, long, other], "CAP-02", "production", now)

    assert [w.source for w in found] == ["waivers/b.yaml", "waivers/a.yaml"]


def test_expiry_warning_within_fourteen_days() -> None:
    waiver = make_waiver()
    expiry = datetime(2026, 12, 10, 16, 0, tzinfo=UTC)

    soon = waiver.expiry_warning(expiry - timedelta(days=3, hours=1))
    far = waiver.expiry_warning(expiry - timedelta(days=14, seconds=1))

    assert soon == (
        "waiver waivers/cap-02.yaml for CAP-02 expires in 3 days (at 2026-12-10T16:00:00.000000Z)"
    )
    assert far is None


def test_expiry_warning_at_fourteen_days() -> None:
    waiver = make_waiver()
    expiry = datetime(2026, 12, 10, 16, 0, tzinfo=UTC)

    warning = waiver.expiry_warning(expiry - timedelta(days=14))

    assert warning is not None
    assert "expires in 14 days" in warning


def test_record_body_holds_waiver_hash_and_file() -> None:
    waiver = make_waiver()

    body = waiver.record_body()

    assert body["file"] == "waivers/cap-02.yaml"
    assert body["sha256"] == waiver.sha256
    assert body["waiver"]["expires"] == "2026-12-10T16:00:00.000000Z"
    assert body["waiver"]["remediation"] == "finish the rollout"
