"""report.pdf signed with the PEM text in ASSAY_PDF_SIGNING_KEY and ASSAY_PDF_CERTIFICATE."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from typer.testing import CliRunner, Result

from assay import keys
from assay.cli import app
from support.workspace import NOW, small_workspace

PASSPHRASE = "correct horse 7 battery"
PDF_SIGNATURE_OK = "ok: report.pdf: PDF signature AssayReportSignature is intact"
# Each variable set to None is removed while a command runs, so that the
# environment of the test process cannot choose the keys. COLUMNS=200 keeps
# messages on one line.
ENV: dict[str, str | None] = {
    "ASSAY_SIGNING_KEY": None, "ASSAY_PDF_SIGNING_KEY": None, "ASSAY_PDF_CERTIFICATE": None,
    "ASSAY_KEY_PASSPHRASE": None, "ASSAY_LEDGER": None, "ASSAY_NOW": None, "COLUMNS": "200",
}

runner = CliRunner(env=ENV)


def generate_keys(folder: Path, *, passphrase: str | None = None) -> Path:
    """Create a key folder with `assay keys generate` and return it."""
    args = ["keys", "generate", "--out", str(folder)]
    env = {}
    if passphrase is not None:
        args.append("--passphrase")
        env[keys.PASSPHRASE_ENV] = passphrase
    result = runner.invoke(app, args, env=env)
    assert result.exit_code == 0, result.output
    return folder


def pdf_env(folder: Path) -> dict[str, str]:
    """Return the PDF signing variables holding the PEM text of the PDF key pair in `folder`."""
    return {
        keys.PDF_SIGNING_KEY_ENV: (folder / keys.PDF_KEY_NAME).read_text(encoding="ascii"),
        keys.PDF_CERTIFICATE_ENV: (folder / keys.PDF_CERT_NAME).read_text(encoding="ascii"),
    }


def certificate_sha256(folder: Path) -> str:
    certificate = x509.load_pem_x509_certificate((folder / keys.PDF_CERT_NAME).read_bytes())
    return hashlib.sha256(certificate.public_bytes(serialization.Encoding.DER)).hexdigest()


def latest_pack(workspace: Path) -> Path:
    return Path((workspace / "reports" / "LATEST").read_text(encoding="utf-8").strip())


def verify(workspace: Path, pack: Path) -> Result:
    public_key = workspace / ".assay" / keys.PUBLIC_KEY_NAME
    return runner.invoke(app, ["verify", str(pack), "--key", str(public_key)])


def remove_private_keys(workspace: Path) -> None:
    """Delete the workspace's private keys and certificate, as on a CI runner without them."""
    for name in (keys.PRIVATE_KEY_NAME, keys.PDF_KEY_NAME, keys.PDF_CERT_NAME):
        (workspace / ".assay" / name).unlink()


def assert_nothing_written(workspace: Path) -> None:
    assert not (workspace / "evidence").exists()
    assert not (workspace / "reports").exists()
    assert not (workspace / "keys").exists()


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    return small_workspace(tmp_path / "ws")


@pytest.fixture
def ci_keys(tmp_path: Path) -> Path:
    return generate_keys(tmp_path / "ci-keys")


def test_run_signs_pdf_from_variables(workspace: Path, ci_keys: Path) -> None:
    signing_pem = (workspace / ".assay" / keys.PRIVATE_KEY_NAME).read_text(encoding="ascii")
    remove_private_keys(workspace)
    env = {keys.SIGNING_KEY_ENV: signing_pem, **pdf_env(ci_keys)}

    result = runner.invoke(app, ["run", str(workspace), "--now", NOW], env=env)

    assert result.exit_code == 0, result.output
    pack = latest_pack(workspace)
    assert b"/ByteRange" in (pack / "report.pdf").read_bytes()
    manifest = json.loads((pack / "manifest.json").read_bytes())
    assert manifest["pdf_certificate_sha256"] == certificate_sha256(ci_keys)
    verified = verify(workspace, pack)
    assert verified.exit_code == 0, verified.output
    assert PDF_SIGNATURE_OK in verified.stdout
    assert f"verified: {pack}" in verified.stdout


def test_signing_key_variable_alone_leaves_pdf_unsigned(workspace: Path) -> None:
    signing_pem = (workspace / ".assay" / keys.PRIVATE_KEY_NAME).read_text(encoding="ascii")
    remove_private_keys(workspace)

    result = runner.invoke(app, ["run", str(workspace), "--now", NOW],
                           env={keys.SIGNING_KEY_ENV: signing_pem})

    assert result.exit_code == 0, result.output
    pack = latest_pack(workspace)
    assert b"/ByteRange" not in (pack / "report.pdf").read_bytes()
    manifest = json.loads((pack / "manifest.json").read_bytes())
    assert manifest["pdf_certificate_sha256"] is None
    verified = verify(workspace, pack)
    assert verified.exit_code == 0, verified.output
    assert "skipped: PDF signature: report.pdf is not signed" in verified.stdout


def test_variables_override_files_beside_key(workspace: Path, ci_keys: Path) -> None:
    # The workspace's own PDF key pair stays in .assay, and the variables take precedence.
    result = runner.invoke(app, ["run", str(workspace), "--now", NOW], env=pdf_env(ci_keys))

    assert result.exit_code == 0, result.output
    pack = latest_pack(workspace)
    manifest = json.loads((pack / "manifest.json").read_bytes())
    assert manifest["pdf_certificate_sha256"] == certificate_sha256(ci_keys)
    assert manifest["pdf_certificate_sha256"] != certificate_sha256(workspace / ".assay")
    verified = verify(workspace, pack)
    assert verified.exit_code == 0, verified.output
    assert PDF_SIGNATURE_OK in verified.stdout


def test_period_pack_signs_pdf_from_variables(workspace: Path, ci_keys: Path) -> None:
    signing_pem = (workspace / ".assay" / keys.PRIVATE_KEY_NAME).read_text(encoding="ascii")
    remove_private_keys(workspace)
    env = {keys.SIGNING_KEY_ENV: signing_pem, **pdf_env(ci_keys)}
    ran = runner.invoke(app, ["run", str(workspace), "--now", NOW, "--no-pack"], env=env)
    assert ran.exit_code == 0, ran.output
    out = workspace.parent / "period-pack"

    built = runner.invoke(app, ["pack", str(workspace), "--period", "2026-12-04..2026-12-04",
                                "--out", str(out)], env=env)

    assert built.exit_code == 0, built.output
    manifest = json.loads((out / "manifest.json").read_bytes())
    assert manifest["pdf_certificate_sha256"] == certificate_sha256(ci_keys)
    verified = verify(workspace, out)
    assert verified.exit_code == 0, verified.output
    assert PDF_SIGNATURE_OK in verified.stdout


def test_encrypted_pdf_key_uses_passphrase(workspace: Path, tmp_path: Path) -> None:
    encrypted_keys = generate_keys(tmp_path / "encrypted-keys", passphrase=PASSPHRASE)
    env = {**pdf_env(encrypted_keys), keys.PASSPHRASE_ENV: PASSPHRASE}

    result = runner.invoke(app, ["run", str(workspace), "--now", NOW], env=env)

    assert result.exit_code == 0, result.output
    assert PASSPHRASE not in result.output
    pack = latest_pack(workspace)
    manifest = json.loads((pack / "manifest.json").read_bytes())
    assert manifest["pdf_certificate_sha256"] == certificate_sha256(encrypted_keys)
    verified = verify(workspace, pack)
    assert verified.exit_code == 0, verified.output
    assert PDF_SIGNATURE_OK in verified.stdout


def test_encrypted_pdf_key_without_passphrase_exits_2(workspace: Path, tmp_path: Path) -> None:
    encrypted_keys = generate_keys(tmp_path / "encrypted-keys", passphrase=PASSPHRASE)
    env = pdf_env(encrypted_keys)

    result = runner.invoke(app, ["run", str(workspace), "--now", NOW], env=env)

    assert result.exit_code == 2, result.output
    assert result.stderr == (
        "error: ASSAY_PDF_SIGNING_KEY: the private key is encrypted and there is no terminal to "
        "ask for its passphrase; set ASSAY_KEY_PASSPHRASE to the passphrase "
        "(it is unset or empty)\n"
    )
    assert_nothing_written(workspace)


def test_encrypted_pdf_key_wrong_passphrase_exits_2(workspace: Path, tmp_path: Path) -> None:
    encrypted_keys = generate_keys(tmp_path / "encrypted-keys", passphrase=PASSPHRASE)
    wrong = "not the passphrase 42"
    env = {**pdf_env(encrypted_keys), keys.PASSPHRASE_ENV: wrong}

    result = runner.invoke(app, ["run", str(workspace), "--now", NOW], env=env)

    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(
        "error: ASSAY_PDF_SIGNING_KEY: wrong passphrase for the encrypted private key"
    )
    assert wrong not in result.output
    assert_nothing_written(workspace)


def invalid_pdf_env(case: str, ci_keys: Path, other_keys: Path) -> dict[str, str | None]:
    """Return the PDF signing variables for one invalid `case` of the table below."""
    key_pem = (ci_keys / keys.PDF_KEY_NAME).read_text(encoding="ascii")
    certificate_pem = (ci_keys / keys.PDF_CERT_NAME).read_text(encoding="ascii")
    cases: dict[str, tuple[str | None, str | None]] = {
        "key only": (key_pem, None),
        "certificate only": (None, certificate_pem),
        "empty certificate": (key_pem, ""),
        "key is a path": (str(ci_keys / keys.PDF_KEY_NAME), certificate_pem),
        "certificate is a path": (key_pem, str(ci_keys / keys.PDF_CERT_NAME)),
        "certificate in key variable": (certificate_pem, certificate_pem),
        "Ed25519 key": (
            (ci_keys / keys.PRIVATE_KEY_NAME).read_text(encoding="ascii"), certificate_pem
        ),
        "key in certificate variable": (key_pem, key_pem),
        "certificate of another key": (
            key_pem, (other_keys / keys.PDF_CERT_NAME).read_text(encoding="ascii")
        ),
    }
    key_value, certificate_value = cases[case]
    return {keys.PDF_SIGNING_KEY_ENV: key_value, keys.PDF_CERTIFICATE_ENV: certificate_value}


INVALID_CASES = {
    "key only": (
        "error: ASSAY_PDF_SIGNING_KEY is set but ASSAY_PDF_CERTIFICATE is unset or empty; set both "
        "(the PEM text of signing-key.p256.pem and signing-cert.pem) or neither"
    ),
    "certificate only": (
        "error: ASSAY_PDF_CERTIFICATE is set but ASSAY_PDF_SIGNING_KEY is unset or empty; set both "
        "(the PEM text of signing-key.p256.pem and signing-cert.pem) or neither"
    ),
    "empty certificate": (
        "error: ASSAY_PDF_SIGNING_KEY is set but ASSAY_PDF_CERTIFICATE is unset or empty; set both "
        "(the PEM text of signing-key.p256.pem and signing-cert.pem) or neither"
    ),
    "key is a path": (
        "error: ASSAY_PDF_SIGNING_KEY: not PEM text (no -----BEGIN line); set it to the contents "
        "of signing-key.p256.pem, not to a file path"
    ),
    "certificate is a path": (
        "error: ASSAY_PDF_CERTIFICATE: not PEM text (no -----BEGIN line); set it to the contents "
        "of signing-cert.pem, not to a file path"
    ),
    "certificate in key variable": "error: ASSAY_PDF_SIGNING_KEY: not a PEM private key (",
    "Ed25519 key": "error: ASSAY_PDF_SIGNING_KEY: expected an ECDSA P-256 private key",
    "key in certificate variable": "error: ASSAY_PDF_CERTIFICATE: not a PEM certificate (",
    "certificate of another key": (
        "error: ASSAY_PDF_CERTIFICATE: the certificate is not for the key in ASSAY_PDF_SIGNING_KEY"
    ),
}


@pytest.mark.parametrize("case", sorted(INVALID_CASES))
def test_invalid_pdf_variables_exit_2(case: str, workspace: Path, ci_keys: Path,
                                      tmp_path: Path) -> None:
    other_keys = generate_keys(tmp_path / "other-keys")
    env = invalid_pdf_env(case, ci_keys, other_keys)

    result = runner.invoke(app, ["run", str(workspace), "--now", NOW], env=env)

    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(INVALID_CASES[case]), result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.output
    assert_nothing_written(workspace)


def test_half_set_variables_fail_period_pack(workspace: Path, ci_keys: Path) -> None:
    ran = runner.invoke(app, ["run", str(workspace), "--now", NOW, "--no-pack"])
    assert ran.exit_code == 0, ran.output
    out = workspace.parent / "period-pack"
    env = {keys.PDF_SIGNING_KEY_ENV: (ci_keys / keys.PDF_KEY_NAME).read_text(encoding="ascii")}

    built = runner.invoke(app, ["pack", str(workspace), "--period", "2026-12-04..2026-12-04",
                                "--out", str(out)], env=env)

    assert built.exit_code == 2, built.output
    assert built.stderr.startswith(
        "error: ASSAY_PDF_SIGNING_KEY is set but ASSAY_PDF_CERTIFICATE is unset or empty"
    )
    assert not out.exists()
    assert list(workspace.parent.glob(".period-pack*")) == []

