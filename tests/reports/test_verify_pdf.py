"""`assay verify` validates the PAdES signature of report.pdf, even when every hash route passes."""

from __future__ import annotations

import json
from io import BytesIO
from pathlib import Path

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from typer.testing import CliRunner, Result

from assay import keys
from assay.cli import app
from assay.reports.pack import MANIFEST, SIGNATURE_FILES, SUMS, seal_pack
from assay.reports.pdf_signature import FIELD_NAME
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


def reseal(pack: Path, workspace: Path) -> None:
    """Sign the pack again as it now is with the pack's own key, so every hash route passes."""
    manifest = json.loads((pack / MANIFEST).read_bytes())
    for name in (*SIGNATURE_FILES, MANIFEST, SUMS):
        (pack / name).unlink()
    metadata = {
        key: value for key, value in manifest.items()
        if key not in ("format", "format_version", "key_id", "files")
    }
    seal_pack(pack, keys.load_signing_key(workspace / ".assay" / "signing-key.pem"), metadata)


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


def test_missing_pdf_skips_check(built: tuple[Path, Path], pack_copy: Path) -> None:
    workspace = built[0]
    (pack_copy / "report.pdf").unlink()
    reseal(pack_copy, workspace)

    result = verify(workspace, pack_copy)

    assert result.exit_code == 0, result.output
    assert "skipped: PDF signature: the pack has no report.pdf" in result.stdout.splitlines()


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
