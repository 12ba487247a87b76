"""PAdES signature of report.pdf with pyHanko: signed reproducibly byte for byte, and checked.

The signature is an invisible field named FIELD_NAME, signed with the
ECDSA P-256 key stored beside the Ed25519 key (see assay.keys). Three
inputs that pyHanko would otherwise take from the clock or from os.urandom
are fixed, so two builds of the same PDF with the same key are identical:

- the signing time (/M of the signature) is the run's time,
- ECDSA is deterministic (RFC 6979), and
- the trailer /ID is derived from the SHA-256 of the input (its first
  element is kept when the input has one), and the modification date in /Info and in the XMP
  metadata is the signing time.

NOTE: the last point replaces private attributes of pyHanko's incremental
writer (`_document_id`, `_meta`), which is why pyproject.toml pins pyHanko to
one exact version.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from io import BytesIO
from typing import Any

from asn1crypto import algos
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.metadata.model import DocumentMetadata
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.signers.pdf_cms import Signer
from pyhanko.sign.signers.pdf_signer import PdfSigningSession
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from assay.errors import VerificationError
from assay.keys import PdfSigningKey
from assay.reports.verify_doc import PDF_FIELD_NAME as FIELD_NAME
# The DER encoding of a P-256 ECDSA signature is at most 72 bytes, and pyHanko
# sizes the signature container from a dry run that returns this many bytes.
MAX_SIGNATURE_SIZE = 72


class _DeterministicEcdsaSigner(Signer):
    """A pyHanko signer that signs with deterministic ECDSA P-256 and SHA-256."""

    def __init__(self, key: PdfSigningKey) -> None:
        certificate = asn1_x509.Certificate.load(
            key.certificate.public_bytes(serialization.Encoding.DER)
        )
        super().__init__(
            signing_cert=certificate,
            cert_registry=SimpleCertificateStore.from_certs([certificate]),
            signature_mechanism=algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"}),
        )
        self._private = key.private

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
        if digest_algorithm != "sha256":
            raise ValueError(f"digest algorithm {digest_algorithm!r} requested, only sha256 is supported")
        if dry_run:
            return bytes(MAX_SIGNATURE_SIZE)
        return self._private.sign(data, ec.ECDSA(hashes.SHA256(), deterministic_signing=True))


class _FixedTimeMetadata(DocumentMetadata):
    """Document metadata whose modification time stays fixed.

    pyHanko's writer sets `last_modified` to "now" just before it writes
    /Info and the XMP metadata, and this class replaces "now" with the fixed time.
    """

    def __init__(self, modified: datetime) -> None:
        object.__setattr__(self, "_fixed_time", modified)
        super().__init__(last_modified=modified)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "last_modified" and value == "now":
            value = self._fixed_time
        super().__setattr__(name, value)


class _ReproducibleWriter(IncrementalPdfFileWriter):
    """An incremental writer whose /ID comes from its input and whose modification date is given."""

    def __init__(self, pdf: bytes, modified: datetime) -> None:
        super().__init__(BytesIO(pdf))
        digest = hashlib.sha256(pdf).digest()
        # The first /ID element identifies the document, so it stays as the
        # input has it. When the input has none, pyHanko would pick a random
        # one, so it is derived from the digest instead. The second element
        # identifies this revision.
        first = self._document_id[0]
        if "/ID" not in self.prev.trailer:
            first = generic.ByteStringObject(digest[16:])
        self._document_id = generic.ArrayObject([first, generic.ByteStringObject(digest[:16])])
        self._meta = _FixedTimeMetadata(modified)


class _FixedTimePdfSigner(signers.PdfSigner):
    """A PdfSigner whose signing time is given instead of read from the clock."""

    def __init__(self, metadata: signers.PdfSignatureMetadata, signer: Signer, signing_time: datetime) -> None:
        super().__init__(metadata, signer=signer)
        self._signing_time = signing_time

    def init_signing_session(self, pdf_out: Any, existing_fields_only: bool = False) -> PdfSigningSession:
        session = super().init_signing_session(pdf_out, existing_fields_only=existing_fields_only)
        session.system_time = self._signing_time
        return session


def sign_pdf(pdf: bytes, key: PdfSigningKey, signing_time: datetime) -> bytes:
    """Return `pdf` with an invisible PAdES signature by `key`, dated `signing_time`.

    `signing_time` must be timezone-aware. The same input, key and time
    always give the same bytes.
    """
    if signing_time.tzinfo is None:
        raise ValueError("signing_time must be timezone-aware")
    metadata = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
    )
    writer = _ReproducibleWriter(pdf, signing_time)
    output = BytesIO()
    _FixedTimePdfSigner(metadata, _DeterministicEcdsaSigner(key), signing_time).sign_pdf(
        writer, output=output
    )
    return output.getvalue()


def check_pdf_signature(pdf: bytes, name: str = "report.pdf") -> str | None:
    """Validate the PAdES signature of `pdf` with pyHanko; return the signer certificate's SHA-256.

    The PDF must carry exactly one signature, in the field FIELD_NAME. It
    must be intact (the signed byte ranges hash to the signed digest), its
    CMS signature must verify with the certificate embedded in it, and it
    must cover the whole file, so nothing was appended after signing.
    Returns None when the PDF carries no signature at all. Raises
    VerificationError naming `name` for any other problem.

    NOTE: the certificate is self-signed and embedded in the signature. The
    check proves the PDF is unchanged since that certificate's key signed it.
    Only SHA256SUMS, which the pinned Ed25519 key signs, ties that key to the
    pack's signer.
    """
    # pyHanko's parser raises many exception types on malformed input besides
    # PdfError (seen with pyHanko 0.38: AssertionError, decimal.InvalidOperation,
    # zlib.error, NotImplementedError, AttributeError, IndexError). The PDF
    # reaches this point only after SHA256SUMS verified, so every one of them is
    # reported as a failed check instead of a traceback.
    try:
        reader = PdfFileReader(BytesIO(pdf), strict=False)
        signatures = reader.embedded_signatures
    except Exception as exc:  # noqa: BLE001 - see above
        raise VerificationError(f"{name}: not a readable PDF ({type(exc).__name__}: {exc})") from exc
    if not signatures:
        return None
    if len(signatures) != 1 or signatures[0].field_name != FIELD_NAME:
        found = ", ".join(str(signature.field_name) for signature in signatures)
        raise VerificationError(
            f"{name}: PDF signature: expected one signature field {FIELD_NAME}, found {found}"
        )
    embedded = signatures[0]
    try:
        certificate = embedded.signer_cert
        # Validating at the signing time the signature states keeps a pack
        # verifiable after the self-signed certificate expires.
        context = ValidationContext(
            trust_roots=[certificate], moment=embedded.self_reported_timestamp, allow_fetching=False
        )
        status = validate_pdf_signature(embedded, context)
    except Exception as exc:  # noqa: BLE001 - see above
        raise VerificationError(
            f"{name}: PDF signature {FIELD_NAME} cannot be validated ({type(exc).__name__}: {exc})"
        ) from exc
    if not status.intact:
        raise VerificationError(
            f"{name}: PDF signature {FIELD_NAME} is not intact: the signed bytes were altered"
        )
    if not status.valid:
        raise VerificationError(
            f"{name}: PDF signature {FIELD_NAME} does not verify with its embedded certificate"
        )
    if status.coverage is not SignatureCoverageLevel.ENTIRE_FILE:
        raise VerificationError(
            f"{name}: PDF signature {FIELD_NAME} does not cover the whole file "
            f"({status.coverage.name}): content was added after signing"
        )
    return hashlib.sha256(certificate.dump()).hexdigest()
