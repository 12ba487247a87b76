"""`assay verify` validates the PAdES signature of report.pdf, even when every hash route passes."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from io import BytesIO
from pathlib import Path

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from typer.testing import CliRunner, Result

from assay import keys
from assay.cli import app
from assay.reports.pack import MANIFEST, SIGNATURE_FILES, SUMS, seal_pack
from assay.reports.pdf_signature import FIELD_NAME, sign_pdf
from support.signed_workspace import NOW, signed_workspace

runner = CliRunner(env={"ASSAY_SIGNING_KEY": None, "ASSAY_LEDGER": None, "ASSAY_NOW": None,
                        "COLUMNS": "200"})


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Return a workspace and the pack of one run, PDF signed. Tests copy the pack to change it."""
    workspace = signed_workspace(tmp_path_factory.mktemp("pdf") / "ws")
    result = runner.invoke(app, ["run", str(workspace), "--now", NOW])
    assert result.exit_code == 0, result.output
    pack = Path((workspace / "reports" / "LATEST").read_text(encoding="utf-8").strip())
    return workspace, pack


@pytest.fixture
def pack_copy(built: tuple[Path, Path], tmp_path: Path) -> Path:
    import shutil

    copy = tmp_path / "pack"
    shutil.copytree(built[1], copy)
    return copy


def verify(workspace: Path, pack: Path) -> Result:
    public_key = workspace / ".assay" / "signing-key.pub.pem"
    return runner.invoke(app, ["verify", str(pack), "--key", str(public_key)])


def reseal(pack: Path, workspace: Path, *, pdf_certificate: bool | None = True) -> None:
    """Sign the pack again as it now is with the pack's own key, so every hash route passes.

    With `pdf_certificate=None` the manifest states that the PDF is not signed.
    """
    manifest = json.loads((pack / MANIFEST).read_bytes())
    for name in (*SIGNATURE_FILES, MANIFEST, SUMS):
        (pack / name).unlink()
    metadata = {
        key: value for key, value in manifest.items()
        if key not in ("format", "format_version", "key_id", "files", "pdf_certificate_sha256")
    }
    key = keys.load_signing_key(workspace / ".assay" / "signing-key.pem")
    if pdf_certificate is None:
        key = dataclasses.replace(key, pdf=None)
    seal_pack(pack, key, metadata)


def test_signed_pdf_check_listed(built: tuple[Path, Path]) -> None:
    workspace, pack = built

    result = verify(workspace, pack)

    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if line.startswith("ok: report.pdf")]
    assert len(lines) == 1
    assert lines[0].startswith(f"ok: report.pdf: PDF signature {FIELD_NAME} is intact, verifies")
    assert lines[0].endswith("and covers the whole file")


def test_pdf_edit_resealed_exits_4(built: tuple[Path, Path], pack_copy: Path) -> None:
    workspace = built[0]
    pdf = (pack_copy / "report.pdf").read_bytes()
    # The title in /Info lies inside the signed byte range.
    assert pdf.count(b"/Title (Audit pack") == 1
    (pack_copy / "report.pdf").write_bytes(pdf.replace(b"/Title (Audit pack", b"/Title (Audit p4ck"))
    reseal(pack_copy, workspace)

    result = verify(workspace, pack_copy)

    assert result.exit_code == 4, result.output
    assert result.stderr == (
        f"FAILED: report.pdf: PDF signature {FIELD_NAME} is not intact: the signed bytes were altered\n"
    )


def test_pdf_update_resealed_exits_4(built: tuple[Path, Path], pack_copy: Path) -> None:
    workspace = built[0]
    # An incremental update after the signed revision, which a PDF reader shows
    # but the signature does not cover.
    writer = IncrementalPdfFileWriter(BytesIO((pack_copy / "report.pdf").read_bytes()))
    writer.root["/Lang"] = generic.TextStringObject("fr")
    writer.update_root()
    updated = BytesIO()
    writer.write(updated)
    (pack_copy / "report.pdf").write_bytes(updated.getvalue())
    reseal(pack_copy, workspace)

    result = verify(workspace, pack_copy)

    assert result.exit_code == 4, result.output
    assert result.stderr == (
        f"FAILED: report.pdf: PDF signature {FIELD_NAME} does not cover the whole file "
        "(ENTIRE_REVISION): content was added after signing\n"
    )


def test_missing_signed_pdf_exits_4(built: tuple[Path, Path], pack_copy: Path) -> None:
    workspace = built[0]
    (pack_copy / "report.pdf").unlink()
    reseal(pack_copy, workspace)

    result = verify(workspace, pack_copy)

    assert result.exit_code == 4, result.output
    assert result.stderr == (
        "FAILED: manifest.json names the certificate that signs report.pdf, but the pack has "
        "no report.pdf\n"
    )


def test_missing_unsigned_pdf_skips_check(built: tuple[Path, Path], pack_copy: Path) -> None:
    workspace = built[0]
    (pack_copy / "report.pdf").unlink()
    reseal(pack_copy, workspace, pdf_certificate=None)

    result = verify(workspace, pack_copy)

    assert result.exit_code == 0, result.output
    assert "skipped: PDF signature: the pack has no report.pdf" in result.stdout.splitlines()


def _unsigned_pdf(pack: Path) -> bytes:
    from assay.reports import render

    html = (pack / "report.html").read_text(encoding="utf-8")
    return render.render_pdf(html, datetime.fromisoformat(NOW.replace("Z", "+00:00")))[0]


def test_pdf_signed_by_other_certificate_exits_4(
    built: tuple[Path, Path], pack_copy: Path, tmp_path: Path
) -> None:
    workspace = built[0]
    (tmp_path / "other").mkdir()
    keys.generate_pdf_signing_key(tmp_path / "other")
    other = keys.load_pdf_signing_key(tmp_path / "other")
    assert other is not None
    when = datetime.fromisoformat(NOW.replace("Z", "+00:00"))
    (pack_copy / "report.pdf").write_bytes(sign_pdf(_unsigned_pdf(pack_copy), other, when))
    named = json.loads((pack_copy / MANIFEST).read_bytes())["pdf_certificate_sha256"]
    reseal(pack_copy, workspace)

    result = verify(workspace, pack_copy)

    assert result.exit_code == 4, result.output
    last = result.stderr.rstrip("\n")
    assert last.startswith("FAILED: report.pdf is signed by the certificate with SHA-256 ")
    assert last.endswith(f"not the one manifest.json names ({named})")


def test_unsigned_pdf_swapped_in_exits_4(built: tuple[Path, Path], pack_copy: Path) -> None:
    workspace = built[0]
    (pack_copy / "report.pdf").write_bytes(_unsigned_pdf(pack_copy))
    named = json.loads((pack_copy / MANIFEST).read_bytes())["pdf_certificate_sha256"]
    reseal(pack_copy, workspace)

    result = verify(workspace, pack_copy)

    assert result.exit_code == 4, result.output
    assert result.stderr == (
        f"FAILED: report.pdf is not signed, but manifest.json says the certificate with "
        f"SHA-256 {named} signs it\n"
    )


def test_unsigned_pdf_skips_check(tmp_path: Path) -> None:
    workspace = signed_workspace(tmp_path / "ws")
    (workspace / ".assay" / keys.PDF_KEY_NAME).unlink()
    (workspace / ".assay" / keys.PDF_CERT_NAME).unlink()
    run = runner.invoke(app, ["run", str(workspace), "--now", NOW])
    assert run.exit_code == 0, run.output
    pack = Path((workspace / "reports" / "LATEST").read_text(encoding="utf-8").strip())

    result = verify(workspace, pack)

    assert result.exit_code == 0, result.output
    assert (
        "skipped: PDF signature: report.pdf is not signed (the pack was built without a PDF "
        "signing key)"
    ) in result.stdout.splitlines()


def test_truncated_pdf_exits_4(built: tuple[Path, Path], pack_copy: Path) -> None:
    workspace = built[0]
    pdf = (pack_copy / "report.pdf").read_bytes()
    # Cutting the file in half loses the cross-reference table and the signature.
    (pack_copy / "report.pdf").write_bytes(pdf[: len(pdf) // 2])
    reseal(pack_copy, workspace)

    result = verify(workspace, pack_copy)

    assert result.exit_code == 4, result.output
    assert result.stderr.startswith("FAILED: report.pdf: not a readable PDF (")
