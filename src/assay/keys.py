"""Ed25519 signing keys: generation, loading, fingerprints.

A key's id is its fingerprint in the form `ssh-keygen -l` prints
("SHA256:" and the unpadded base64 of the SHA-256 of the OpenSSH public key
blob), so an auditor can compare it by eye with what OpenSSH shows.

Private keys are PKCS#8 PEM files, unencrypted or encrypted with a
passphrase. The passphrase of an encrypted key comes from
ASSAY_KEY_PASSPHRASE, else from a hidden prompt when stdin is a terminal.
It is never printed or logged.

CI can pass the workspace's keys as PEM text in environment variables
instead of files: ASSAY_SIGNING_KEY for the Ed25519 key, and
ASSAY_PDF_SIGNING_KEY with ASSAY_PDF_CERTIFICATE for the PDF signing key
and its certificate.
"""

from __future__ import annotations

import base64
import getpass
import hashlib
import os
import stat
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from assay.errors import KeyFileError, VerificationUnavailable

SIGNING_KEY_ENV = "ASSAY_SIGNING_KEY"
PDF_SIGNING_KEY_ENV = "ASSAY_PDF_SIGNING_KEY"
PDF_CERTIFICATE_ENV = "ASSAY_PDF_CERTIFICATE"
PASSPHRASE_ENV = "ASSAY_KEY_PASSPHRASE"
PRIVATE_KEY_NAME = "signing-key.pem"
PUBLIC_KEY_NAME = "signing-key.pub.pem"
# The ECDSA P-256 key and self-signed certificate that sign report.pdf
# (PAdES), stored beside the Ed25519 key. The PDF uses ECDSA P-256 because PDF
# readers validate it, while Ed25519 PDF signatures are less widely supported.
PDF_KEY_NAME = "signing-key.p256.pem"
PDF_CERT_NAME = "signing-cert.pem"
PDF_CERT_YEARS = 10

# Passphrases typed at a prompt in this process, tried before prompting
# again, so that the PDF key encrypted with the same passphrase as the
# Ed25519 key beside it needs no second prompt.
_entered_passphrases: list[bytes] = []


def passphrase_from_environment() -> bytes | None:
    """Return ASSAY_KEY_PASSPHRASE as bytes, or None when it is unset or empty."""
    value = os.environ.get(PASSPHRASE_ENV)
    return value.encode() if value else None


def _encryption(passphrase: bytes | None) -> serialization.KeySerializationEncryption:
    if passphrase is None:
        return serialization.NoEncryption()
    return serialization.BestAvailableEncryption(passphrase)


def _write_private_key(path: Path, key: PrivateKeyTypes, passphrase: bytes | None) -> None:
    """Write `key` as PKCS#8 PEM to a new file of mode 0600, encrypted when `passphrase` is given."""
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, _encryption(passphrase)
    )
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)


def _ask_passphrase(origin: str) -> bytes:
    """Return the passphrase for the encrypted key at `origin`: environment, then a terminal prompt."""
    from_env = passphrase_from_environment()
    if from_env is not None:
        return from_env
    if sys.stdin is None or not sys.stdin.isatty():
        raise KeyFileError(
            f"{origin}: the private key is encrypted and there is no terminal to ask for its "
            f"passphrase; set {PASSPHRASE_ENV} to the passphrase (it is unset or empty)"
        )
    try:
        entered = getpass.getpass(f"Passphrase for {origin}: ")
    except (EOFError, KeyboardInterrupt):
        raise KeyFileError(
            f"{origin}: no passphrase entered for the encrypted private key; enter it at the prompt "
            f"or set {PASSPHRASE_ENV}"
        ) from None
    return entered.encode()


def load_private_pem(pem: bytes, origin: str) -> tuple[PrivateKeyTypes, bytes | None]:
    """Parse a PEM private key, decrypting it when it is encrypted.

    Returns the key and the passphrase that decrypted it (None for an
    unencrypted key). `origin` names the key in error messages: a file
    path or ASSAY_SIGNING_KEY.
    """
    try:
        return serialization.load_pem_private_key(pem, password=None), None
    except TypeError:
        # cryptography raises TypeError when the key is encrypted and no password is given.
        pass
    except ValueError as exc:
        raise KeyFileError(f"{origin}: not a PEM private key ({exc})") from exc
    if passphrase_from_environment() is None:
        for entered in _entered_passphrases:
            try:
                return serialization.load_pem_private_key(pem, password=entered), entered
            except ValueError:
                continue
    passphrase = _ask_passphrase(origin)
    try:
        key = serialization.load_pem_private_key(pem, password=passphrase)
    except ValueError:
        if passphrase_from_environment() is not None:
            source, fix = PASSPHRASE_ENV, f"set {PASSPHRASE_ENV} to"
        else:
            source, fix = "the prompt", "enter"
        raise KeyFileError(
            f"{origin}: wrong passphrase for the encrypted private key (passphrase from {source}); "
            f"{fix} the passphrase the key was created with"
        ) from None
    if passphrase_from_environment() is None and passphrase not in _entered_passphrases:
        _entered_passphrases.append(passphrase)
    return key, passphrase


def fingerprint(public_key: Ed25519PublicKey) -> str:
    """Return the key's OpenSSH SHA-256 fingerprint, e.g. "SHA256:3q2+7w..."."""
    blob = public_key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    wire = base64.b64decode(blob.split()[1])
    digest = hashlib.sha256(wire).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def public_pem(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


@dataclass(frozen=True)
class PdfSigningKey:
    """The ECDSA P-256 key and its certificate that PAdES-sign report.pdf."""

    private: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate


@dataclass(frozen=True)
class SigningKey:
    """A private key and its id, with the PDF signing key when one is stored beside it."""

    private: Ed25519PrivateKey
    pdf: PdfSigningKey | None = None

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    @property
    def key_id(self) -> str:
        return fingerprint(self.public)

    def sign(self, message: bytes) -> bytes:
        return self.private.sign(message)


def generate(
    directory: Path, *, private_name: str = PRIVATE_KEY_NAME, passphrase: bytes | None = None
) -> tuple[Path, Path]:
    """Write a new Ed25519 key pair into `directory`, with the PDF signing key beside it.

    The private key files are created with mode 0600 and never overwritten.
    With `passphrase`, both private keys are written as encrypted PKCS#8
    (cryptography's BestAvailableEncryption). Returns the private and
    public key paths.
    """
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise KeyFileError(
            f"{directory}: cannot create the key folder ({exc.strerror}); give --out a folder"
        ) from exc
    private_path = directory / private_name
    public_path = directory / PUBLIC_KEY_NAME
    for path in (private_path, public_path):
        if path.exists():
            raise KeyFileError(f"{path}: already exists; remove it or choose another --out directory")
    key = Ed25519PrivateKey.generate()
    _write_private_key(private_path, key, passphrase)
    public_path.write_bytes(public_pem(key.public_key()))
    generate_pdf_signing_key(directory, passphrase=passphrase)
    return private_path, public_path


def generate_pdf_signing_key(directory: Path, *, passphrase: bytes | None = None) -> tuple[Path, Path]:
    """Write an ECDSA P-256 key (mode 0600) and a self-signed certificate for it into `directory`.

    An existing key is kept, so rotating the Ed25519 key keeps the PDF
    signer. With `passphrase` a new key is written encrypted. Returns the
    key and certificate paths.
    """
    key_path = directory / PDF_KEY_NAME
    cert_path = directory / PDF_CERT_NAME
    if key_path.exists() and cert_path.exists():
        return key_path, cert_path
    if key_path.exists() or cert_path.exists():
        raise KeyFileError(
            f"{directory}: only one of {PDF_KEY_NAME} and {PDF_CERT_NAME} exists; "
            "remove it to create a new pair"
        )
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "assay report signer")])
    # The certificate is valid from a day before its creation, so a run with
    # --now a little in the past still signs within its validity.
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365 * PDF_CERT_YEARS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=True, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=False,
                crl_sign=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    _write_private_key(key_path, key, passphrase)
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


def load_pdf_signing_key(directory: Path) -> PdfSigningKey | None:
    """Load the PDF signing key and certificate from `directory`, or return None when absent.

    The key file follows the rules of the Ed25519 key: mode 0600, PEM,
    unencrypted or encrypted with a passphrase.
    """
    key_path = directory / PDF_KEY_NAME
    cert_path = directory / PDF_CERT_NAME
    if not key_path.exists():
        return None
    mode = key_path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(
            f"{key_path}: private key is readable by group or others (mode {stat.S_IMODE(mode):04o}); "
            f"run `chmod 600 {key_path}`"
        )
    try:
        certificate_pem = cert_path.read_bytes()
    except FileNotFoundError:
        raise KeyFileError(
            f"{cert_path}: missing; remove {key_path} and run `assay keys generate` again"
        ) from None
    return _parse_pdf_signing_key(
        _read_key_file(key_path), str(key_path), certificate_pem, str(cert_path)
    )


def load_pdf_signing_key_from_environment() -> PdfSigningKey | None:
    """Load the PDF signing key from ASSAY_PDF_SIGNING_KEY and ASSAY_PDF_CERTIFICATE (PEM text).

    Returns None when both variables are unset or empty. Raises KeyFileError
    when only one of them is set, or when either value is invalid.
    """
    key_text = os.environ.get(PDF_SIGNING_KEY_ENV)
    certificate_text = os.environ.get(PDF_CERTIFICATE_ENV)
    if not key_text and not certificate_text:
        return None
    if not key_text:
        raise KeyFileError(
            f"{PDF_CERTIFICATE_ENV} is set but {PDF_SIGNING_KEY_ENV} is unset or empty; set both "
            f"(the PEM text of {PDF_KEY_NAME} and {PDF_CERT_NAME}) or neither"
        )
    if not certificate_text:
        raise KeyFileError(
            f"{PDF_SIGNING_KEY_ENV} is set but {PDF_CERTIFICATE_ENV} is unset or empty; set both "
            f"(the PEM text of {PDF_KEY_NAME} and {PDF_CERT_NAME}) or neither"
        )
    for name, value, file_name in (
        (PDF_SIGNING_KEY_ENV, key_text, PDF_KEY_NAME),
        (PDF_CERTIFICATE_ENV, certificate_text, PDF_CERT_NAME),
    ):
        if "-----BEGIN " not in value:
            raise KeyFileError(
                f"{name}: not PEM text (no -----BEGIN line); set it to the contents of "
                f"{file_name}, not to a file path"
            )
    return _parse_pdf_signing_key(
        key_text.encode(), PDF_SIGNING_KEY_ENV, certificate_text.encode(), PDF_CERTIFICATE_ENV
    )


def _parse_pdf_signing_key(
    key_pem: bytes, key_origin: str, certificate_pem: bytes, certificate_origin: str
) -> PdfSigningKey:
    """Parse the PDF signing key and its certificate, named by their origins in error messages."""
    key, _passphrase = load_private_pem(key_pem, key_origin)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise KeyFileError(f"{key_origin}: expected an ECDSA P-256 private key")
    try:
        certificate = x509.load_pem_x509_certificate(certificate_pem)
    except ValueError as exc:
        raise KeyFileError(f"{certificate_origin}: not a PEM certificate ({exc})") from exc
    if certificate.public_key() != key.public_key():
        raise KeyFileError(
            f"{certificate_origin}: the certificate is not for the key in {key_origin}"
        )
    return PdfSigningKey(key, certificate)


def trusted_key_name(public_key: Ed25519PublicKey) -> str:
    """File name for a trusted public key: its fingerprint made safe for file names."""
    digest = fingerprint(public_key).removeprefix("SHA256:")
    return digest.replace("/", "_").replace("+", "-") + ".pub.pem"


def trust(public_key: Ed25519PublicKey, trusted_dir: Path) -> Path:
    """Add `public_key` to the trusted keys folder; return its file."""
    trusted_dir.mkdir(parents=True, exist_ok=True)
    path = trusted_dir / trusted_key_name(public_key)
    if not path.exists():
        path.write_bytes(public_pem(public_key))
    return path


def rotate(private_path: Path, trusted_dir: Path) -> tuple[SigningKey, SigningKey, Path]:
    """Replace the key at `private_path` with a new one; both public keys become trusted.

    The old private key is kept beside it as `NAME.retired-<first 12 fingerprint
    characters>` (mode 0600), so checkpoints it signed stay verifiable through
    its trusted public key while it signs nothing new. When the old key is
    encrypted, the new one is encrypted with the same passphrase. Returns
    the old key, the new key and the retired file.
    """
    old, passphrase = _load_signing_key_file(private_path)
    trust(old.public, trusted_dir)
    tag = old.key_id.removeprefix("SHA256:")[:12].replace("/", "_").replace("+", "-")
    retired = private_path.with_name(f"{private_path.name}.retired-{tag}")
    if retired.exists():
        raise KeyFileError(f"{retired}: already exists; move it away before rotating again")
    os.replace(private_path, retired)
    public_path = private_path.with_name(PUBLIC_KEY_NAME)
    if public_path.exists():
        public_path.unlink()
    new_private, _ = generate(private_path.parent, private_name=private_path.name, passphrase=passphrase)
    new, _passphrase = _load_signing_key_file(new_private)
    trust(new.public, trusted_dir)
    return old, new, retired


def _parse_private(pem: bytes, origin: str) -> tuple[SigningKey, bytes | None]:
    key, passphrase = load_private_pem(pem, origin)
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"{origin}: expected an Ed25519 private key")
    return SigningKey(key), passphrase


def _read_key_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot read the private key: {exc.strerror}") from exc


_PUBLIC_GIVEN = (
    "{path}: is a public key; pass the private key file (for example signing-key.pem, not "
    "signing-key.pub.pem)"
)


def _is_public_pem(path: Path) -> bool:
    """Return True when `path` starts like a PEM public key (reading it reveals no secret)."""
    try:
        with path.open("rb") as handle:
            return handle.read(64).lstrip().startswith(b"-----BEGIN PUBLIC KEY-----")
    except OSError:
        return False


def load_signing_key(path: Path | None, *, from_option: bool = False) -> SigningKey:
    """Load the signing key from ASSAY_SIGNING_KEY (PEM text) or from `path`.

    ASSAY_SIGNING_KEY wins over a `path` from assay.yaml, and a `path` given
    on the command line (`from_option`) wins over ASSAY_SIGNING_KEY.

    The PDF signing key comes from ASSAY_PDF_SIGNING_KEY and
    ASSAY_PDF_CERTIFICATE when they are set, else from the files beside
    `path`. A signing key given in ASSAY_SIGNING_KEY has no PDF signing key
    unless those two variables are set.

    A key file readable by group or others is rejected, because a signing
    key anyone on the machine can read proves nothing about who signed.
    """
    from_env = None if from_option and path is not None else os.environ.get(SIGNING_KEY_ENV)
    if from_env:
        if "-----BEGIN " not in from_env:
            raise KeyFileError(
                f"{SIGNING_KEY_ENV}: not PEM text (no -----BEGIN line); set it to the contents "
                f"of {PRIVATE_KEY_NAME}, not to a file path"
            )
        key = _parse_private(from_env.encode(), SIGNING_KEY_ENV)[0]
        return SigningKey(key.private, pdf=load_pdf_signing_key_from_environment())
    pdf_from_env = load_pdf_signing_key_from_environment()
    if pdf_from_env is None:
        return load_signing_key_file(path)
    key = _load_signing_key_file(path, with_pdf_key=False)[0]
    return SigningKey(key.private, pdf=pdf_from_env)


def load_signing_key_file(path: Path | None) -> SigningKey:
    """Load a private key file, rejecting one readable by group or others."""
    return _load_signing_key_file(path)[0]


def _load_signing_key_file(
    path: Path | None, *, with_pdf_key: bool = True
) -> tuple[SigningKey, bytes | None]:
    # Returns the key, with the PDF key beside it when `with_pdf_key` is
    # true, and the passphrase that decrypted it (None for an unencrypted key).
    if path is None:
        raise KeyFileError(
            "no signing key: set signing_key in assay.yaml, pass --key, or set "
            f"{SIGNING_KEY_ENV}; create one with `assay keys generate`"
        )
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise KeyFileError(
            f"{path}: signing key not found; restore it from your backup, or create a new one "
            f"with `assay keys generate --out {path.parent}` (a workspace that has trusted keys "
            "accepts a new key once its public key is added to them)"
        ) from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        if _is_public_pem(path):
            raise KeyFileError(_PUBLIC_GIVEN.format(path=path))
        raise KeyFileError(
            f"{path}: private key is readable by group or others (mode {stat.S_IMODE(mode):04o}); "
            f"run `chmod 600 {path}`"
        )
    data = _read_key_file(path)
    if data.lstrip().startswith(b"-----BEGIN PUBLIC KEY-----"):
        raise KeyFileError(_PUBLIC_GIVEN.format(path=path))
    key, passphrase = _parse_private(data, str(path))
    if not with_pdf_key:
        return key, passphrase
    return SigningKey(key.private, pdf=load_pdf_signing_key(path.parent)), passphrase


def load_public_key(pem: bytes, origin: str) -> Ed25519PublicKey:
    """Parse a PEM Ed25519 public key; an unreadable key means verification cannot be done."""
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError) as exc:
        raise VerificationUnavailable(f"{origin}: not a PEM public key ({exc})") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise VerificationUnavailable(f"{origin}: expected an Ed25519 public key")
    return key


def signature_valid(public_key: Ed25519PublicKey, signature: bytes, message: bytes) -> bool:
    try:
        public_key.verify(signature, message)
    except InvalidSignature:
        return False
    return True
