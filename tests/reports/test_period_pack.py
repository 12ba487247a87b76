"""The period pack: verification, reproducibility and scope isolation on a year of runs."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assay.cli import app
from assay.evidence.blobs import BlobStore
from assay.reports.period_pack import build_period_pack
from assay.reports.verify import verify_pack
from engine.test_periods import Q2, STAGING_FILE, STAGING_SECRET, write_year_ledger


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory):
    workspace = tmp_path_factory.mktemp("period")
    ledger, key, digests = write_year_ledger(workspace)
    blobs = BlobStore(workspace / "evidence" / "blobs")
    steps: list[str] = []
    first = build_period_pack(ledger, blobs, key, Q2, "production", workspace / "out" / "one",
                              progress=lambda message, done, total: steps.append(message))
    second = build_period_pack(ledger, blobs, key, Q2, "production", workspace / "out" / "two")
    return workspace, key, digests, first, second, steps


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_period_pack_verifies(built) -> None:
    workspace, key, _digests, first, _second, steps = built
    report = verify_pack(first, pinned_key=key.public)
    assert any("records chain verifies" in check for check in report.checks)
    assert any(check.endswith(" evidence artifacts of the period's runs are present")
               for check in report.checks)
    assert "rendering report.pdf" in steps


def test_period_pack_verifies_with_cli(built) -> None:
    workspace, _key, _digests, first, _second, _steps = built
    result = CliRunner().invoke(app, ["verify", str(first), "--key",
                                      str(workspace / ".assay" / "signing-key.pub.pem")])
    assert result.exit_code == 0, result.output


def test_period_pack_verify_md_commands(built) -> None:
    _workspace, _key, _digests, first, _second, _steps = built
    signature = subprocess.run(
        ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", "public-key.pem", "-rawin",
         "-in", "SHA256SUMS", "-sigfile", "SHA256SUMS.sig"],
        cwd=first, capture_output=True, text=True, check=False,
    )
    assert "Signature Verified Successfully" in signature.stdout
    sums = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=first, capture_output=True,
                          text=True, check=False)
    assert sums.returncode == 0, sums.stdout + sums.stderr


def test_period_pack_is_reproducible(built) -> None:
    _workspace, _key, _digests, first, second, _steps = built
    one, two = _files(first), _files(second)
    assert sorted(one) == sorted(two)
    for name in one:
        assert one[name] == two[name], name


def test_period_pack_excludes_other_scope(built) -> None:
    _workspace, _key, digests, first, _second, _steps = built
    for name, data in _files(first).items():
        assert STAGING_SECRET.encode() not in data, name
        assert STAGING_FILE.encode() not in data, name
        assert digests["staging"].encode() not in data, name
    assert not (first / "evidence" / "sha256" / digests["staging"]).exists()
    assert (first / "evidence" / "sha256" / digests["latency-bad"]).is_file()


def test_period_pack_manifest(built) -> None:
    import json

    _workspace, _key, _digests, first, _second, _steps = built
    manifest = json.loads((first / "manifest.json").read_text())
    assert manifest["kind"] == "period"
    assert manifest["created_at"] == "2026-07-01T00:00:00.000000Z"
    assert manifest["statuses"] == {"BK-02": "fail", "LT-01": "fail", "POL-01": "pass"}
    assert len(manifest["runs"]) == 364
