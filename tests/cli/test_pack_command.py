"""`assay pack` end to end: runs recorded, a period pack built, verified by assay and offline."""

import subprocess
from pathlib import Path

from typer.testing import CliRunner

from assay.cli import app
from support.workspace import small_workspace

runner = CliRunner(env={"ASSAY_SIGNING_KEY": None, "ASSAY_LEDGER": None, "ASSAY_NOW": None,
                        "COLUMNS": "200"})


def test_period_pack_built_and_verified(tmp_path: Path):
    workspace = small_workspace(tmp_path / "ws")
    for now in ("2026-12-04T20:15:00Z", "2026-12-04T21:15:00Z"):
        result = runner.invoke(app, ["run", str(workspace), "--now", now, "--no-pack"])
        assert result.exit_code == 0, result.output
    out = tmp_path / "period-pack"
    built = runner.invoke(app, ["pack", str(workspace), "--period", "2026-12-04..2026-12-04",
                                "--out", str(out), "--zip"])
    assert built.exit_code == 0, built.output
    assert (out / "report.pdf").read_bytes().startswith(b"%PDF-")
    assert out.with_suffix(".zip").is_file() or any(tmp_path.glob("*.zip"))

    public = workspace / ".assay" / "signing-key.pub.pem"
    verified = runner.invoke(app, ["verify", str(out), "--key", str(public)])
    assert verified.exit_code == 0, verified.output

    offline = subprocess.run(
        "openssl pkeyutl -verify -pubin -inkey public-key.pem -rawin -in SHA256SUMS "
        "-sigfile SHA256SUMS.sig && sha256sum -c SHA256SUMS",
        shell=True, cwd=out, capture_output=True, text=True, check=False,
    )
    assert offline.returncode == 0, offline.stdout + offline.stderr


def test_period_pack_rejects_bad_period(tmp_path: Path):
    workspace = small_workspace(tmp_path / "ws")
    result = runner.invoke(app, ["pack", str(workspace), "--period", "2026-12-05..2026-12-04"])
    assert result.exit_code == 2
    assert "period" in result.output


def test_period_pack_rebuild_identical_with_pdf_signature(tmp_path: Path):
    workspace = small_workspace(tmp_path / "ws")
    result = runner.invoke(app, ["run", str(workspace), "--now", "2026-12-04T21:15:00Z", "--no-pack"])
    assert result.exit_code == 0, result.output
    builds = []
    for name in ("first", "second"):
        out = tmp_path / name
        built = runner.invoke(app, ["pack", str(workspace), "--period", "2026-12-04..2026-12-04",
                                    "--out", str(out)])
        assert built.exit_code == 0, built.output
        builds.append(out)
    pdf = (builds[0] / "report.pdf").read_bytes()
    assert b"/ByteRange" in pdf
    names = sorted(p.relative_to(builds[0]).as_posix() for p in builds[0].rglob("*") if p.is_file())
    for name in names:
        assert (builds[0] / name).read_bytes() == (builds[1] / name).read_bytes(), name
