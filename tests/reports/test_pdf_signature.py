"""PAdES signature of report.pdf: validated with pyHanko, reproducible, and its key files."""

from __future__ import annotations

import hashlib
import stat
from collections.abc import Callable
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path

import pytest
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import PdfSignatureStatus, SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from typer.testing import Result

from assay import keys
from assay.errors import KeyFileError
from assay.reports import render
from assay.reports.pdf_signature import FIELD_NAME, sign_pdf

SIGNING_TIME = datetime(2026, 12, 4, 21, 15, tzinfo=UTC)
HTML = "<html><body><h1>Report</h1><p>Body text.</p></body></html>"


def workspace_pdf_key(pack: Path) -> keys.PdfSigningKey:
    pdf_key = keys.load_pdf_signing_key(pack.parents[1] / ".assay")
    assert pdf_key is not None
    return pdf_key


def validate(pdf: bytes, pdf_key: keys.PdfSigningKey) -> PdfSignatureStatus:
    certificate = asn1_x509.Certificate.load(
        pdf_key.certificate.public_bytes(serialization.Encoding.DER)
    )
    signatures = PdfFileReader(BytesIO(pdf)).embedded_signatures
    assert len(signatures) == 1
    return validate_pdf_signature(signatures[0], ValidationContext(trust_roots=[certificate]))


@pytest.fixture(scope="module")
def rendered_pdf() -> bytes:
    pdf, _warnings = render.render_pdf(HTML, SIGNING_TIME)
    return pdf


@pytest.fixture
def pdf_key(tmp_path: Path) -> keys.PdfSigningKey:
    keys.generate(tmp_path / "keys")
    pdf_key = keys.load_pdf_signing_key(tmp_path / "keys")
    assert pdf_key is not None
    return pdf_key


def test_pack_pdf_signature_validates(demo_pack: Path) -> None:
    pdf = (demo_pack / "report.pdf").read_bytes()

    status = validate(pdf, workspace_pdf_key(demo_pack))

    assert status.intact
    assert status.valid
    assert status.trusted
    assert status.bottom_line
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE


def test_pack_pdf_signature_fields(demo_pack: Path) -> None:
    signature = PdfFileReader(BytesIO((demo_pack / "report.pdf").read_bytes())).embedded_signatures[0]

    assert signature.field_name == FIELD_NAME
    assert signature.self_reported_timestamp == SIGNING_TIME
    assert signature.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    assert signature.sig_field["/Rect"] == [0, 0, 0, 0]
    assert signature.signer_info["signature_algorithm"]["algorithm"].native == "sha256_ecdsa"


def test_pack_pdf_altered_byte_fails(demo_pack: Path) -> None:
    data = bytearray((demo_pack / "report.pdf").read_bytes())
    index = data.index(b"/Type /Page") + 1
    data[index] ^= 0x01

    status = validate(bytes(data), workspace_pdf_key(demo_pack))

    assert not status.intact
    assert not status.bottom_line


def test_sign_pdf_is_reproducible(rendered_pdf: bytes, pdf_key: keys.PdfSigningKey) -> None:
    first = hashlib.sha256(sign_pdf(rendered_pdf, pdf_key, SIGNING_TIME)).hexdigest()

    second = hashlib.sha256(sign_pdf(rendered_pdf, pdf_key, SIGNING_TIME)).hexdigest()

    assert second == first


def test_sign_pdf_depends_on_time(rendered_pdf: bytes, pdf_key: keys.PdfSigningKey) -> None:
    later = SIGNING_TIME.replace(hour=22)

    signed = sign_pdf(rendered_pdf, pdf_key, later)

    assert signed != sign_pdf(rendered_pdf, pdf_key, SIGNING_TIME)
    assert validate(signed, pdf_key).bottom_line
    assert PdfFileReader(BytesIO(signed)).embedded_signatures[0].self_reported_timestamp == later


def test_sign_pdf_id_derives_from_input(rendered_pdf: bytes, pdf_key: keys.PdfSigningKey) -> None:
    signed = sign_pdf(rendered_pdf, pdf_key, SIGNING_TIME)

    document_id = PdfFileReader(BytesIO(signed)).trailer["/ID"]

    assert bytes(document_id[1]) == hashlib.sha256(rendered_pdf).digest()[:16]


def test_sign_pdf_rejects_naive_time(rendered_pdf: bytes, pdf_key: keys.PdfSigningKey) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        sign_pdf(rendered_pdf, pdf_key, SIGNING_TIME.replace(tzinfo=None))


def test_keys_generate_writes_pdf_key(tmp_path: Path) -> None:
    keys.generate(tmp_path)

    key_mode = stat.S_IMODE((tmp_path / "signing-key.p256.pem").stat().st_mode)
    pdf_key = keys.load_pdf_signing_key(tmp_path)
    assert key_mode == 0o600
    assert pdf_key is not None
    assert pdf_key.certificate.issuer == pdf_key.certificate.subject
    assert pdf_key.certificate.public_key() == pdf_key.private.public_key()
    loaded = keys.load_signing_key_file(tmp_path / "signing-key.pem").pdf
    assert loaded is not None
    assert loaded.certificate == pdf_key.certificate


def test_keys_rotate_keeps_pdf_key(tmp_path: Path) -> None:
    keys.generate(tmp_path / "keys")
    before = (tmp_path / "keys" / "signing-key.p256.pem").read_bytes()

    keys.rotate(tmp_path / "keys" / "signing-key.pem", tmp_path / "trusted")

    assert (tmp_path / "keys" / "signing-key.p256.pem").read_bytes() == before


def test_pdf_key_readable_by_group_rejected(tmp_path: Path) -> None:
    keys.generate(tmp_path)
    (tmp_path / "signing-key.p256.pem").chmod(0o640)

    with pytest.raises(KeyFileError, match="readable by group or others"):
        keys.load_pdf_signing_key(tmp_path)


def test_pdf_cert_missing_rejected(tmp_path: Path) -> None:
    keys.generate(tmp_path)
    (tmp_path / "signing-cert.pem").unlink()

    with pytest.raises(KeyFileError, match="signing-cert.pem: missing"):
        keys.load_pdf_signing_key(tmp_path)


def test_verify_md_describes_pdf_signature(demo_pack: Path) -> None:
    text = (demo_pack / "VERIFY.md").read_text(encoding="utf-8")

    assert f"`{FIELD_NAME}`" in text
    assert "shows the signer as unknown or not trusted" in text


def test_pack_without_pdf_key_is_unsigned(
    workspace: Path, run_assay: Callable[..., tuple[Result, Path]]
) -> None:
    (workspace / ".assay" / "signing-key.p256.pem").unlink()
    (workspace / ".assay" / "signing-cert.pem").unlink()

    _result, pack = run_assay(workspace)

    assert PdfFileReader(BytesIO((pack / "report.pdf").read_bytes())).embedded_signatures == []
    assert FIELD_NAME not in (pack / "VERIFY.md").read_text(encoding="utf-8")
