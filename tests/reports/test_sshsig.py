"""SSHSIG signatures written by assay, checked against OpenSSH's ssh-keygen both ways."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from assay.keys import SigningKey
from assay.reports import sshsig
from assay.reports.pack import allowed_signers_line

NAMESPACE = sshsig.PACK_NAMESPACE
MESSAGE = b"0123  SHA256SUMS line\n"

needs_ssh_keygen = pytest.mark.skipif(
    shutil.which("ssh-keygen") is None, reason="needs OpenSSH's ssh-keygen on PATH"
)


def ssh_keygen_verify(folder: Path, signature: str, message: bytes, key: SigningKey) -> subprocess.CompletedProcess[bytes]:
    (folder / "allowed_signers").write_text(allowed_signers_line(key))
    (folder / "message.sig").write_text(signature)
    return subprocess.run(
        ["ssh-keygen", "-Y", "verify", "-f", "allowed_signers", "-I", sshsig.PACK_PRINCIPAL,
         "-n", NAMESPACE, "-s", "message.sig"],
        input=message, cwd=folder, capture_output=True, timeout=60, check=False,
    )


@pytest.fixture
def key() -> SigningKey:
    return SigningKey(Ed25519PrivateKey.generate())


def test_sign_is_armored(key: SigningKey) -> None:
    lines = sshsig.sign(key.private, MESSAGE, NAMESPACE).splitlines()

    assert lines[0] == "-----BEGIN SSH SIGNATURE-----"
    assert lines[-1] == "-----END SSH SIGNATURE-----"
    assert all(len(line) <= 70 for line in lines[1:-1])


def test_sign_is_deterministic(key: SigningKey) -> None:
    assert sshsig.sign(key.private, MESSAGE, NAMESPACE) == sshsig.sign(key.private, MESSAGE, NAMESPACE)


def test_verify_accepts_own_signature(key: SigningKey) -> None:
    sshsig.verify(key.public, sshsig.sign(key.private, MESSAGE, NAMESPACE), MESSAGE, NAMESPACE)


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("message", "signature does not verify"),
        ("namespace", "namespace is b'file'"),
        ("key", "signed by another key"),
        ("armor", "not armored"),
    ],
)
def test_verify_rejects(key: SigningKey, case: str, expected: str) -> None:
    signature = sshsig.sign(key.private, MESSAGE, NAMESPACE)
    message, public = MESSAGE, key.public
    if case == "message":
        message = MESSAGE + b"x"
    elif case == "namespace":
        signature = sshsig.sign(key.private, MESSAGE, "file")
    elif case == "key":
        public = Ed25519PrivateKey.generate().public_key()
    else:
        signature = signature.replace("-----BEGIN SSH SIGNATURE-----", "")

    with pytest.raises(sshsig.SshsigError, match=expected):
        sshsig.verify(public, signature, message, NAMESPACE)


@needs_ssh_keygen
def test_ssh_keygen_verifies_assay_signature(key: SigningKey, tmp_path: Path) -> None:
    result = ssh_keygen_verify(tmp_path, sshsig.sign(key.private, MESSAGE, NAMESPACE), MESSAGE, key)

    assert result.returncode == 0, result.stderr
    assert f'Good "{NAMESPACE}" signature for assay-signer' in result.stdout.decode()


@needs_ssh_keygen
def test_ssh_keygen_rejects_altered_message(key: SigningKey, tmp_path: Path) -> None:
    signature = sshsig.sign(key.private, MESSAGE, NAMESPACE)

    result = ssh_keygen_verify(tmp_path, signature, MESSAGE.replace(b"0", b"1"), key)

    assert result.returncode != 0


@needs_ssh_keygen
def test_assay_verifies_ssh_keygen_signature(key: SigningKey, tmp_path: Path) -> None:
    key_file = tmp_path / "id_ed25519"
    descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(key.private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        ))
    (tmp_path / "message").write_bytes(MESSAGE)

    result = subprocess.run(
        ["ssh-keygen", "-Y", "sign", "-f", str(key_file), "-n", NAMESPACE, "message"],
        cwd=tmp_path, capture_output=True, timeout=60, check=False,
    )

    assert result.returncode == 0, result.stderr
    signature = (tmp_path / "message.sig").read_text()
    sshsig.verify(key.public, signature, MESSAGE, NAMESPACE)
    assert signature == sshsig.sign(key.private, MESSAGE, NAMESPACE)
