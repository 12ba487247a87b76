"""`assay population`, `assay sample`, `assay verify-sample` and `assay export oscal` end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from trestle.oscal.assessment_results import AssessmentResults
from typer.testing import CliRunner

from assay import keys
from assay.cli import app
from assay.engine.sampling import sample_json_text, sign_sample
from assay.keys import load_signing_key
from support.workspace import small_workspace

runner = CliRunner(env={"ASSAY_SIGNING_KEY": None, "ASSAY_LEDGER": None, "ASSAY_NOW": None,
                        "COLUMNS": "200"})
PERIOD = "2026-12-04..2026-12-04"
RUN_TIMES = ("2026-12-04T18:15:00Z", "2026-12-04T19:15:00Z", "2026-12-04T20:15:00Z")


@pytest.fixture(scope="module")
def packed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """Return a workspace with three runs, its period pack, and an auditor's key folder."""
    root = tmp_path_factory.mktemp("sample")
    workspace = small_workspace(root / "ws")
    for now in RUN_TIMES:
        result = runner.invoke(app, ["run", str(workspace), "--now", now, "--no-pack"])
        assert result.exit_code == 0, result.output
    pack = root / "period-pack"
    built = runner.invoke(app, ["pack", str(workspace), "--period", PERIOD, "--out", str(pack)])
    assert built.exit_code == 0, built.output
    keys.generate(root / "auditor")
    return workspace, pack, root / "auditor"


def _population(pack: Path, of: str) -> dict:
    result = runner.invoke(app, ["population", "CAP-01", "--pack", str(pack), "--of", of, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_population_from_pack_and_ledger(packed) -> None:
    workspace, pack, _auditor = packed
    from_pack = _population(pack, "runs")
    assert from_pack["count"] == 3
    ledger = runner.invoke(app, ["population", "CAP-01", str(workspace), "--period", PERIOD,
                                 "--format", "json"])
    assert ledger.exit_code == 0, ledger.output
    assert json.loads(ledger.stdout)["items"] == from_pack["items"]
    evidence = _population(pack, "evidence")
    assert all(item["id"].count("/") == 2 for item in evidence["items"])


def test_population_requires_period_without_pack(packed) -> None:
    workspace, _pack, _auditor = packed
    result = runner.invoke(app, ["population", "CAP-01", str(workspace)])
    assert result.exit_code == 2
    assert "--period" in result.output


def _sample(pack: Path, auditor: Path, seed: str, out: Path, size: int = 2) -> dict:
    result = runner.invoke(app, [
        "sample", "CAP-01", "--pack", str(pack), "--size", str(size), "--seed", seed,
        "--out", str(out), "--key", str(auditor / "signing-key.pem"),
    ])
    assert result.exit_code == 0, result.output
    return json.loads(out.read_text(encoding="utf-8"))


def _verify(pack: Path, workspace: Path, auditor: Path, sample: Path):
    return runner.invoke(app, [
        "verify-sample", str(pack), str(sample),
        "--key", str(workspace / ".assay" / "signing-key.pub.pem"),
        "--sample-key", str(auditor / "signing-key.pub.pem"),
    ])


def test_sample_same_seed_same_file(packed, tmp_path: Path) -> None:
    _workspace, pack, auditor = packed
    first = _sample(pack, auditor, "Q4 walkthrough", tmp_path / "one.json")
    second = _sample(pack, auditor, "Q4 walkthrough", tmp_path / "two.json")
    assert first == second
    assert len(first["selection"]) == 2
    assert first["population"]["count"] == 3


def test_sample_size_above_population(packed, tmp_path: Path) -> None:
    _workspace, pack, auditor = packed
    document = _sample(pack, auditor, "seed", tmp_path / "all.json", size=10)
    assert sorted(item["id"] for item in document["selection"]) == document["population"]["ids"]


def test_sample_default_out_beside_pack(packed) -> None:
    _workspace, pack, auditor = packed
    result = runner.invoke(app, ["sample", "CAP-01", "--pack", str(pack), "--size", "1", "--seed", "s",
                                 "--key", str(auditor / "signing-key.pem")])
    assert result.exit_code == 0, result.output
    written = pack.with_name(f"{pack.name}.sample-CAP-01-runs.json")
    assert written.is_file()
    written.unlink()


def test_verify_sample_passes(packed, tmp_path: Path) -> None:
    workspace, pack, auditor = packed
    _sample(pack, auditor, "seed", tmp_path / "sample.json")
    result = _verify(pack, workspace, auditor, tmp_path / "sample.json")
    assert result.exit_code == 0, result.output
    assert "selection of 2 items" in result.output


def test_verify_sample_needs_sampler_key(packed, tmp_path: Path) -> None:
    workspace, pack, auditor = packed
    _sample(pack, auditor, "seed", tmp_path / "sample.json")
    result = runner.invoke(app, ["verify-sample", str(pack), str(tmp_path / "sample.json"),
                                 "--key", str(workspace / ".assay" / "signing-key.pub.pem")])
    assert result.exit_code == 4
    assert "--sample-key" in result.output


def test_verify_sample_detects_removed_item(packed, tmp_path: Path) -> None:
    workspace, pack, auditor = packed
    document = _sample(pack, auditor, "seed", tmp_path / "sample.json")
    unsigned = {name: value for name, value in document.items() if name not in ("signature", "signer")}
    # Remove the one run that was not selected, so the selection stays valid.
    selected = {item["id"] for item in unsigned["selection"]}
    unsigned["population"]["ids"] = [item_id for item_id in unsigned["population"]["ids"] if item_id in selected]
    unsigned["population"]["count"] = 2
    # Signed again by the auditor, so only the population check can catch it.
    resigned = sign_sample(unsigned, load_signing_key(auditor / "signing-key.pem"))
    (tmp_path / "sample.json").write_text(sample_json_text(resigned), encoding="utf-8")
    result = _verify(pack, workspace, auditor, tmp_path / "sample.json")
    assert result.exit_code == 4, result.output
    assert "population differs" in result.output


def test_verify_sample_detects_edit(packed, tmp_path: Path) -> None:
    workspace, pack, auditor = packed
    document = _sample(pack, auditor, "seed", tmp_path / "sample.json")
    document["seed"] = "another"
    (tmp_path / "sample.json").write_text(json.dumps(document), encoding="utf-8")
    result = _verify(pack, workspace, auditor, tmp_path / "sample.json")
    assert result.exit_code == 4
    assert "does not verify" in result.output


def test_pack_verify_md_mentions_sampling(packed) -> None:
    _workspace, pack, _auditor = packed
    text = (pack / "VERIFY.md").read_text(encoding="utf-8")
    assert "## For auditors: sampling" in text
    section = text.split("## For auditors: sampling", 1)[1]
    assert "assay sample " in section
    assert "assay verify-sample " in section
    assert "carries its own PAdES signature" in text


def test_export_oscal(packed, tmp_path: Path) -> None:
    workspace, _pack, _auditor = packed
    out = tmp_path / "results.json"
    result = runner.invoke(app, ["export", "oscal", str(workspace), "--period", PERIOD, "--out", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text(encoding="utf-8"))
    AssessmentResults.model_validate(data["assessment-results"])
    assert data["assessment-results"]["metadata"]["oscal-version"] == "1.1.2"
    findings = data["assessment-results"]["results"][0]["findings"]
    assert sorted(finding["target"]["target-id"] for finding in findings) == ["BAK-01", "CAP-01"]


def test_export_oscal_to_standard_output(packed, tmp_path: Path) -> None:
    workspace, _pack, _auditor = packed
    result = runner.invoke(app, ["export", "oscal", str(workspace), "--period", PERIOD])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    findings = data["assessment-results"]["results"][0]["findings"]
    assert sorted(finding["target"]["target-id"] for finding in findings) == ["BAK-01", "CAP-01"]
    assert result.stderr == "oscal: 2 findings\n"


def test_export_oscal_empty_period(packed, tmp_path: Path) -> None:
    workspace, _pack, _auditor = packed
    result = runner.invoke(app, ["export", "oscal", str(workspace), "--period", "2025-01-01..2025-01-02",
                                 "--out", str(tmp_path / "results.json")])
    assert result.exit_code == 2
    assert "no complete run" in result.output


def test_pack_verify_with_sample_option(packed, tmp_path: Path) -> None:
    workspace, pack, _auditor = packed
    keys_dir = workspace / ".assay"
    document = _sample(pack, keys_dir, "seed", tmp_path / "sample.json")
    command = ["verify", str(pack), "--key", str(keys_dir / "signing-key.pub.pem"),
               "--sample", str(tmp_path / "sample.json")]
    result = runner.invoke(app, command)
    assert result.exit_code == 0, result.output
    assert "sample.json is signed by" in result.output

    unsigned = {name: value for name, value in document.items() if name not in ("signature", "signer")}
    selected = {item["id"] for item in unsigned["selection"]}
    unsigned["population"]["ids"] = [i for i in unsigned["population"]["ids"] if i in selected]
    unsigned["population"]["count"] = len(unsigned["population"]["ids"])
    resigned = sign_sample(unsigned, load_signing_key(keys_dir / "signing-key.pem"))
    (tmp_path / "sample.json").write_text(sample_json_text(resigned), encoding="utf-8")
    result = runner.invoke(app, command)
    assert result.exit_code == 4, result.output
    assert "population differs" in result.output
