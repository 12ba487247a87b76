"""`assay init` and `assay status` through the command line."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from assay.catalog import criteria
from assay.catalog.scaffold import library_controls
from assay.cli import app

NOW = "2026-12-04T20:15:00Z"
# Each variable set to None is removed while a command runs, because it
# would override an option or a workspace setting. COLUMNS=200 keeps table
# rows on one line.
ENV: dict[str, str | None] = {
    "ASSAY_SIGNING_KEY": None, "ASSAY_LEDGER": None, "ASSAY_NOW": None, "COLUMNS": "200",
}


def _runner() -> CliRunner:
    return CliRunner(env=ENV)


def _rows(output: str, first_cells: set[str]) -> dict[str, list[str]]:
    """Return the cells of each rich table row whose first cell is in `first_cells`."""
    rows = {}
    for line in output.splitlines():
        cells = [cell.strip() for cell in line.split("│")[1:-1]]
        if cells and cells[0] in first_cells:
            rows[cells[0]] = cells
    return rows


def _section(output: str, title: str, next_title: str) -> str:
    """Return the lines of `output` from the line with `title` to the line with `next_title`."""
    return output.split(title, 1)[1].split(next_title, 1)[0]


def _init(tmp_path: Path) -> Path:
    root = tmp_path / "x"
    result = _runner().invoke(app, ["init", str(root)])
    assert result.exit_code == 0, result.output
    return root


def test_init_prints_progress_and_summary(tmp_path: Path) -> None:
    root = tmp_path / "x"

    result = _runner().invoke(app, ["init", str(root)])

    assert result.exit_code == 0, result.output
    total = len(library_controls()) + 10 + 9
    assert f"Created {total} files in {root}." in result.stdout
    assert "created assay.yaml" in result.stderr
    assert "created controls/pol-01-information-security.yaml" in result.stderr
    assert "Signing key: .assay/signing-key.pem (SHA256:" in result.stdout


def test_init_twice_never_overwrites(tmp_path: Path) -> None:
    root = _init(tmp_path)
    policy = root / "policies" / "encryption.md"
    text = policy.read_text(encoding="utf-8")
    edited = text.replace("approver:\n", "approver: Chief Executive\n")
    policy.write_text(edited, encoding="utf-8")

    result = _runner().invoke(app, ["init", str(root)])

    assert result.exit_code == 0, result.output
    assert policy.read_text(encoding="utf-8") == edited
    assert f"Created 0 files in {root}." in result.stdout
    assert "  policies/encryption.md" in result.stdout.splitlines()
    assert "skipped policies/encryption.md (exists, left unchanged)" in result.stderr
    assert "Signing key:" not in result.stdout


def test_init_with_missing_key_exits_2(tmp_path: Path) -> None:
    missing_key = tmp_path / "none.pem"

    result = _runner().invoke(app, ["init", str(tmp_path / "x"), "--key", str(missing_key)])

    assert result.exit_code == 2
    assert "signing key not found" in result.stderr
    assert "restore it from your backup, or create a new one with `assay keys generate --out " \
        f"{tmp_path}`" in result.stderr.replace("\n", " ")


def test_init_with_unknown_framework_exits_2(tmp_path: Path) -> None:
    result = _runner().invoke(app, ["init", str(tmp_path / "x"), "--framework", "pci"])

    assert result.exit_code == 2
    assert "unknown framework 'pci'; available: soc2" in result.stderr


def test_lint_passes_on_scaffolded_workspace(tmp_path: Path) -> None:
    root = _init(tmp_path)

    result = _runner().invoke(app, ["lint", str(root)])

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"{len(library_controls())} controls OK")


def test_fresh_status_is_zero_everywhere(tmp_path: Path) -> None:
    root = _init(tmp_path)

    result = _runner().invoke(app, ["status", str(root), "--now", NOW])

    assert result.exit_code == 0, result.output
    rows = _rows(result.stdout, {"Security", "Availability"})
    assert rows["Security"] == ["Security", "0 of 33", "0 %", "Not started"]
    assert rows["Availability"] == ["Availability", "0 of 3", "0 %", "Not started"]
    statuses = _rows(result.stdout, {"pass", "waived", "missing", "manual", "fail"})
    assert set(statuses) == {"missing", "manual"}
    assert "No complete run recorded yet" in result.stdout
    # The library covers every security and availability criterion.
    assert "Coverage gaps: none." in result.stdout


def test_fresh_status_lists_gaps_of_uncovered_categories(tmp_path: Path) -> None:
    root = _init(tmp_path)
    config = root / "assay.yaml"
    config.write_text(
        config.read_text(encoding="utf-8").replace(
            "categories: [security, availability]",
            "categories: [security, availability, processing_integrity, privacy]",
        ),
        encoding="utf-8",
    )

    result = _runner().invoke(app, ["status", str(root), "--now", NOW])

    assert result.exit_code == 0, result.output
    expected = criteria.ids_in_category("processing_integrity") + [
        c for c in criteria.ids_in_category("privacy") if c != "P4.3"
    ]
    gaps_table = _section(result.stdout, "Coverage gaps", "Controls by status")
    gaps = _rows(gaps_table, set(expected))
    assert sorted(gaps) == sorted(expected)
    assert gaps["PI1.1"][1] == criteria.title_of("PI1.1")
    rows = _rows(result.stdout, {"Privacy", "Processing Integrity"})
    assert rows["Privacy"] == ["Privacy", "0 of 18", "0 %", "Not started"]


def test_status_after_fresh_run_passes_nothing(tmp_path: Path) -> None:
    root = _init(tmp_path)
    run = _runner().invoke(app, ["run", str(root), "--now", NOW, "--no-pack"])
    assert run.exit_code == 0, run.output

    result = _runner().invoke(app, ["status", str(root), "--now", NOW, "--format", "json"])

    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["run"] is not None
    # Nothing is claimed: the policy templates are not adopted, and no input,
    # runbook or risk register exists yet.
    by_status = document["controls_by_status"]
    assert set(by_status) == {"missing", "manual"}
    manual = sorted(item.data["id"] for item in library_controls() if item.data.get("manual"))
    assert by_status["manual"] == manual
    assert len(by_status["missing"]) == len(library_controls()) - len(manual)
    assert "POL-01" in by_status["missing"]
    assert [item["readiness_ratio"] for item in document["categories"]] == [0.0, 0.0]
    assert {row["evidenced"] for row in document["criteria"]} == {"none"}


def test_status_json_matches_table(tmp_path: Path) -> None:
    root = _init(tmp_path)

    result = _runner().invoke(app, ["status", str(root), "--now", NOW, "--format", "json"])

    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["workspace"] == "x"
    assert document["scope"] == "production"
    assert document["run"] is None
    assert [item["status"] for item in document["categories"]] == ["Not started", "Not started"]
    assert document["coverage_gaps"] == []
    assert len(document["controls_by_status"]["manual"]) == 10
    assert document["warnings"] == []


def test_status_rejects_unknown_format(tmp_path: Path) -> None:
    root = _init(tmp_path)

    result = _runner().invoke(app, ["status", str(root), "--format", "yaml"])

    assert result.exit_code == 2
    assert "--format: unknown format 'yaml'; use table or json" in result.stderr


def test_status_outside_workspace_exits_2(tmp_path: Path) -> None:
    result = _runner().invoke(app, ["status", str(tmp_path)])

    assert result.exit_code == 2
    assert "not found; is" in result.stderr
