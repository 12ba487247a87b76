"""`scaffold`: the files of a new workspace, never overwriting, and nothing claimed by default."""

from __future__ import annotations

import stat
import subprocess
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from assay import keys
from assay.catalog.scaffold import (
    CREATED,
    library_controls,
    library_params_text,
    library_policies,
    scaffold,
)
from assay.commands import run_command
from assay.controls.loader import load_workspace
from assay.engine.readiness import DOCUMENT_COLLECTORS
from assay.errors import KeyFileError, UsageError

NOW = datetime(2026, 12, 4, 20, 15, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _no_environment_key(monkeypatch: pytest.MonkeyPatch) -> None:
    # The run below must sign with the workspace's own key file.
    monkeypatch.delenv(keys.SIGNING_KEY_ENV, raising=False)
    monkeypatch.delenv("ASSAY_LEDGER", raising=False)


def _yaml(path: Path) -> dict:
    return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))


def test_scaffold_creates_every_file(tmp_path: Path) -> None:
    root = tmp_path / "ws"

    result = scaffold(root)

    expected = {
        ".assay/signing-key.pem", ".assay/signing-key.pub.pem", ".assay/signing-key.p256.pem",
        ".assay/signing-cert.pem", "assay.yaml", "README.md",
        ".gitignore", "inputs/README.md", "waivers/README.md",
        *(f"controls/{item.name}" for item in library_controls()),
        *(f"policies/{name}" for name, _text in library_policies()),
    }
    assert set(result.created) == expected
    assert result.skipped == []
    assert all((root / relative).is_file() for relative in expected)


def test_scaffolded_workspace_loads_every_control(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    scaffold(root)

    workspace = load_workspace(root)

    assert len(workspace.controls) == len(library_controls())
    assert workspace.config.categories == ["security", "availability"]
    assert workspace.config.signing_key == ".assay/signing-key.pem"


def test_config_params_equal_library_params(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    scaffold(root)

    config = _yaml(root / "assay.yaml")

    assert config["params"] == YAML(typ="safe", pure=True).load(library_params_text())
    assert config["name"] == "ws"
    assert "people" not in config
    assert "# people:" in (root / "assay.yaml").read_text(encoding="utf-8")


def test_generated_private_key_is_private(tmp_path: Path) -> None:
    root = tmp_path / "ws"

    result = scaffold(root)

    mode = stat.S_IMODE((root / ".assay" / "signing-key.pem").stat().st_mode)
    assert mode == 0o600
    assert result.key_fingerprint == keys.fingerprint(
        keys.load_signing_key_file(root / ".assay" / "signing-key.pem").public
    )


def test_scaffold_twice_skips_everything(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    first = scaffold(root)
    config = root / "assay.yaml"
    edited = config.read_text(encoding="utf-8").replace("scope: production", "scope: staging")
    config.write_text(edited, encoding="utf-8")
    key_before = (root / ".assay" / "signing-key.pem").read_bytes()

    second = scaffold(root)

    assert second.created == []
    assert sorted(second.skipped) == sorted(first.created)
    assert "scope: staging" in config.read_text(encoding="utf-8")
    assert (root / ".assay" / "signing-key.pem").read_bytes() == key_before


def test_scaffold_restores_only_deleted_files(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    scaffold(root)
    (root / "policies" / "encryption.md").unlink()

    again = scaffold(root)

    assert again.created == ["policies/encryption.md"]


def test_scaffold_with_given_key(tmp_path: Path) -> None:
    private, _public = keys.generate(tmp_path / "keys")
    root = tmp_path / "ws"

    result = scaffold(root, key=private)

    assert not (root / ".assay").exists()
    assert _yaml(root / "assay.yaml")["signing_key"] == str(private.resolve())
    assert result.key_fingerprint == keys.fingerprint(keys.load_signing_key_file(private).public)


def test_scaffold_with_key_inside_workspace_writes_relative_path(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    private, _public = keys.generate(root / "secrets")

    scaffold(root, key=private)

    assert _yaml(root / "assay.yaml")["signing_key"] == "secrets/signing-key.pem"


def test_scaffold_rejects_missing_key(tmp_path: Path) -> None:
    root = tmp_path / "ws"

    with pytest.raises(KeyFileError, match="signing key not found"):
        scaffold(root, key=tmp_path / "absent.pem")

    assert list(root.iterdir()) == []


def test_scaffold_rejects_half_key_pair_before_writing(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    (root / ".assay").mkdir(parents=True)
    (root / ".assay" / "signing-key.pub.pem").write_text("public\n")

    with pytest.raises(KeyFileError, match="already exists"):
        scaffold(root)

    assert sorted(p.name for p in root.iterdir()) == [".assay"]


def test_scaffold_rejects_unknown_framework(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="unknown framework 'iso27001'"):
        scaffold(tmp_path / "ws", framework="iso27001")


def test_scaffold_rejects_file_as_root(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("x")

    with pytest.raises(UsageError, match="not a folder"):
        scaffold(target)


def test_scaffold_reports_progress_in_order(tmp_path: Path) -> None:
    seen: list[tuple[str, str]] = []

    result = scaffold(tmp_path / "ws", progress=lambda action, path: seen.append((action, path)))

    assert seen == [(CREATED, path) for path in result.created]
    assert seen[0] == (CREATED, ".assay/signing-key.pem")


def test_inputs_readme_names_every_input(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    scaffold(root)
    readme = (root / "inputs" / "README.md").read_text(encoding="utf-8")

    assert "| `inputs/pgbackrest-info.json` | BAK-01, BAK-02, BAK-03, DSP-02 |" in readme
    tabletop = "An incident response tabletop exercise is held every year"
    assert f"| IR-02 | {tabletop} | security-lead | 365d |" in readme


def test_readmes_state_adoption_rule(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    scaffold(root)
    readme = " ".join((root / "README.md").read_text(encoding="utf-8").split())
    inputs = " ".join((root / "inputs" / "README.md").read_text(encoding="utf-8").split())

    assert (
        "A policy template counts as evidence only once it is adopted: while `approver`, "
        "`approved_at` and `next_review` are all empty its control stays `missing`."
    ) in readme
    assert (
        "Each template there starts with approver, approved_at and next_review empty: it is "
        "no evidence yet, and its control is missing."
    ) in inputs


def test_fresh_workspace_claims_nothing(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    scaffold(root)

    outcome, pack = run_command(root, NOW, None, None, None, pack=False)

    assert pack is None
    by_kind: dict[str, Counter[str]] = {
        "automated": Counter(), "documents": Counter(), "manual": Counter(),
    }
    for result in outcome.results:
        control = result.loaded.control
        if control.manual is not None:
            kind = "manual"
        elif all(spec.collector in DOCUMENT_COLLECTORS for spec in control.evidence):
            kind = "documents"
        else:
            kind = "automated"
        by_kind[kind][result.status.value] += 1
    assert set(by_kind["automated"]) == {"missing"}
    assert set(by_kind["manual"]) == {"manual"}
    # The policy templates are not adopted, and the runbooks and risk
    # register are absent, so no document control has evidence either.
    assert set(by_kind["documents"]) == {"missing"}
    assert all(item.ratio == 0 for item in outcome.readiness)


def test_fresh_policy_controls_are_missing_as_templates(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    scaffold(root)

    outcome, _pack = run_command(root, NOW, None, None, None, pack=False)

    policy_results = [r for r in outcome.results if r.control_id.startswith("POL-")]
    assert len(policy_results) == 10
    for result in policy_results:
        path = result.loaded.control.evidence[0].with_["path"]
        assert result.status.value == "missing"
        assert result.reasons == [
            f"policy: {path}: a template nobody has adopted yet (approver, approved_at and "
            "next_review are empty); adapt it, then fill them in when it is approved"
        ]
        assert [a.outcome for a in result.assertions] == ["skipped", "skipped"]


# Front matter lines that replace the template's empty approver, approved_at
# and next_review, and the status POL-04 (policies/encryption.md) then has at NOW.
ADOPTIONS = [
    pytest.param("approver: Chief Executive\napproved_at: 2026-06-01\nnext_review: 2027-06-01\n",
                 "pass", id="approved"),
    pytest.param("approver: Chief Executive\napproved_at:\nnext_review:\n",
                 "fail", id="approver-without-date"),
    pytest.param("approver:\napproved_at: 2026-06-01\nnext_review:\n",
                 "fail", id="date-without-approver"),
    pytest.param("approver: Chief Executive\napproved_at: 2025-06-01\nnext_review:\n",
                 "fail", id="review-lapsed"),
    pytest.param("approver: Chief Executive\napproved_at: 2026-12-05\nnext_review: 2027-12-05\n",
                 "fail", id="approved-in-the-future"),
    pytest.param("approver: security-lead\napproved_at: 2026-06-01\nnext_review: 2027-06-01\n",
                 "fail", id="approved-by-owner"),
    pytest.param("approver:\napproved_at:\nnext_review: 2027-06-01\n",
                 "fail", id="review-date-only"),
]


@pytest.mark.parametrize(("front_matter", "expected"), ADOPTIONS)
def test_adopted_policy_is_judged_as_written(
    tmp_path: Path, front_matter: str, expected: str
) -> None:
    root = tmp_path / "ws"
    scaffold(root)
    policy = root / "policies" / "encryption.md"
    template = policy.read_text(encoding="utf-8")
    empty = "approver:\napproved_at:\nnext_review:\n"
    assert empty in template
    policy.write_text(template.replace(empty, front_matter), encoding="utf-8")

    outcome, _pack = run_command(root, NOW, None, None, None, pack=False)

    statuses = {r.control_id: r.status.value for r in outcome.results}
    assert statuses["POL-04"] == expected
    # The other templates are still not adopted.
    assert statuses["POL-01"] == "missing"


def test_template_beside_adopted_policy_fails(tmp_path: Path) -> None:
    # Once one document a source reads is adopted, the templates beside it
    # are judged as written: unapproved.
    root = tmp_path / "ws"
    scaffold(root)
    policy = root / "policies" / "encryption.md"
    policy.write_text(
        policy.read_text(encoding="utf-8").replace(
            "approver:\napproved_at:\nnext_review:\n",
            "approver: Chief Executive\napproved_at: 2026-06-01\nnext_review: 2027-06-01\n",
        ),
        encoding="utf-8",
    )
    control = root / "controls" / "pol-04-encryption.yaml"
    text = control.read_text(encoding="utf-8")
    assert "path: policies/encryption.md" in text
    text = text.replace("path: policies/encryption.md", "path: policies/*.md")
    control.write_text(text.replace(
        "  - name: the review is not overdue", "  - name: every policy is approved\n"
        "    expr: policy.all_approved\n  - name: the review is not overdue",
    ), encoding="utf-8")

    outcome, _pack = run_command(root, NOW, None, None, None, pack=False)

    pol04 = next(r for r in outcome.results if r.control_id == "POL-04")
    assert pol04.status.value == "fail"
    assert [a.outcome for a in pol04.assertions] == ["pass", "fail", "pass"]


def test_runbooks_partly_present_fail(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    scaffold(root)
    (root / "runbooks").mkdir()
    (root / "runbooks" / "incident-response.md").write_text("# Incidents\n", encoding="utf-8")

    outcome, _pack = run_command(root, NOW, None, None, None, pack=False)
    ir01 = next(r for r in outcome.results if r.control_id == "IR-01")
    assert ir01.status.value == "fail"
    assert ir01.reasons[0] == "runbooks: no file matches 'runbooks/disaster-recovery.md'"

    (root / "runbooks" / "incident-response.md").unlink()
    outcome, _pack = run_command(root, NOW, None, None, None, pack=False)
    ir01 = next(r for r in outcome.results if r.control_id == "IR-01")
    assert ir01.status.value == "missing"
    assert ir01.reasons == [
        "runbooks: no file matches 'runbooks/incident-response.md', 'runbooks/disaster-recovery.md'"
    ]



def test_gitignore_covers_every_private_key(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    scaffold(root)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    private = [".assay/signing-key.pem", ".assay/signing-key.p256.pem"]
    assert all((root / name).is_file() for name in private)

    ignored = subprocess.run(
        ["git", "-C", str(root), "check-ignore", *private], capture_output=True, text=True,
        check=False,
    )

    assert ignored.stdout.splitlines() == private
