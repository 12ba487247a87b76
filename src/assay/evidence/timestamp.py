"""RFC 3161 timestamps of exported checkpoints.

`assay ledger checkpoint --tsa URL` sends a time-stamp request to a time-stamp
authority (TSA) over HTTP POST (`application/timestamp-query`). The request
carries the SHA-256 of the checkpoint's canonical bytes (see
`checkpoint_digest`), a random 64-bit nonce and certReq, so the TSA embeds
its certificate. The granted token (a CMS SignedData that encapsulates a
TSTInfo) is stored in the exported checkpoint under `timestamp`.

Verification checks that the token's message imprint is that digest, that
its nonce is the stored one, and that its CMS signature verifies with the
TSA certificate (given as a PEM file, or else the one the token embeds).
The ASN.1 is read with asn1crypto and the CMS signature is checked by
pyHanko's `validate_tst_signed_data`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import secrets
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from asn1crypto import algos, cms, core, pem, tsp, x509

from assay.errors import VerificationError, VerificationUnavailable
from assay.evidence.records import canonical
from assay.timeutil import format_instant

TIMESTAMP_FIELD = "timestamp"
# Seconds to wait for the time-stamp authority's reply.
TSA_TIMEOUT = 30.0
# Time-stamp replies are a few kilobytes; a larger reply is rejected.
MAX_REPLY_BYTES = 1024**2


@dataclass(frozen=True)
class VerifiedTimestamp:
    """A timestamp token that verified: when the TSA saw the digest, and whose key signed it."""

    gen_time: datetime
    tsa_subject: str
    # "the certificate in FILE" or "the certificate embedded in the token".
    trusted_by: str

    def describe(self) -> str:
        return (
            f"RFC 3161 timestamp of the checkpoint verifies: genTime {format_instant(self.gen_time)}, "
            f"signed by {self.tsa_subject} ({self.trusted_by})"
        )


def checkpoint_digest(document: dict[str, Any]) -> bytes:
    """Return the SHA-256 of the exported checkpoint's canonical bytes, which a timestamp covers.

    The canonical bytes are the RFC 8785 form of the document without its
    `timestamp` member.
    """
    unstamped = {key: value for key, value in document.items() if key != TIMESTAMP_FIELD}
    return hashlib.sha256(canonical(unstamped)).digest()


def request_timestamp(
    document: dict[str, Any], url: str, *, timeout: float = TSA_TIMEOUT
) -> dict[str, Any]:
    """Ask the TSA at `url` to timestamp `document`; return the `timestamp` member to store.

    Raises VerificationUnavailable when the TSA cannot be reached, replies
    with an HTTP status other than 200, or does not grant the request, and
    VerificationError when the token it returns does not match the request.
    """
    if not url.startswith(("http://", "https://")):
        raise VerificationUnavailable(f"--tsa {url!r}: not an http:// or https:// URL")
    digest = checkpoint_digest(document)
    nonce = secrets.randbits(64)
    query = tsp.TimeStampReq({
        "version": "v1",
        "message_imprint": _imprint(digest),
        "nonce": nonce,
        "cert_req": True,
    })
    request = urllib.request.Request(
        url, data=query.dump(), method="POST",
        headers={"Content-Type": "application/timestamp-query", "Accept": "application/timestamp-reply"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:  # noqa: S310 - the URL is the user's TSA
            status = reply.status
            body = reply.read(MAX_REPLY_BYTES + 1)
    except urllib.error.HTTPError as exc:
        exc.close()
        raise VerificationUnavailable(
            f"time-stamp authority {url}: HTTP {exc.code} {exc.reason}; expected 200 with a "
            "time-stamp reply"
        ) from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise VerificationUnavailable(
            f"time-stamp authority {url}: request failed or timed out after {timeout:g} s ({reason})"
        ) from exc
    if status != 200:
        raise VerificationUnavailable(f"time-stamp authority {url}: HTTP {status}; expected 200")
    if len(body) > MAX_REPLY_BYTES:
        raise VerificationUnavailable(f"time-stamp authority {url}: reply larger than {MAX_REPLY_BYTES} bytes")
    token = _granted_token(body, url)
    stored = {"tsa": url, "nonce": str(nonce), "token": base64.b64encode(token.dump()).decode("ascii")}
    # The token must match this request's digest and nonce before it is stored.
    tst_info = _tst_info(token, f"the reply of {url}")
    _check_tst_info(tst_info, digest, nonce, f"the reply of {url}")
    stored["gen_time"] = format_instant(tst_info["gen_time"].native)
    return stored


def _imprint(digest: bytes) -> tsp.MessageImprint:
    return tsp.MessageImprint({
        "hash_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
        "hashed_message": digest,
    })


def _granted_token(body: bytes, url: str) -> cms.ContentInfo:
    # TimeStampResp is SEQUENCE { status PKIStatusInfo, timeStampToken OPTIONAL }.
    # asn1crypto's TimeStampResp requires the token, which a rejection lacks,
    # so the two members are read one by one.
    try:
        members = core.Sequence.load(body)
        status_info = tsp.PKIStatusInfo.load(members[0].dump())
        status = status_info["status"].native
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise VerificationUnavailable(f"time-stamp authority {url}: the reply is not a TimeStampResp ({exc})") from exc
    if status not in ("granted", "granted_with_mods"):
        text = "; ".join(status_info["status_string"].native or [])
        failure = ", ".join(sorted(status_info["fail_info"].native or []))
        details = "; ".join(item for item in (text, failure) if item)
        raise VerificationUnavailable(
            f"time-stamp authority {url}: request not granted (status {status}"
            + (f": {details}" if details else "") + ")"
        )
    if len(members) < 2:
        raise VerificationUnavailable(f"time-stamp authority {url}: granted, but the reply has no token")
    try:
        return cms.ContentInfo.load(members[1].dump())
    except ValueError as exc:
        raise VerificationUnavailable(f"time-stamp authority {url}: the reply's token is not CMS ({exc})") from exc


def _tst_info(token: cms.ContentInfo, source: str) -> tsp.TSTInfo:
    try:
        if token["content_type"].native != "signed_data":
            raise ValueError(f"content type {token['content_type'].native}, not signed_data")
        encapsulated = token["content"]["encap_content_info"]
        if encapsulated["content_type"].native != "tst_info":
            raise ValueError(f"it encapsulates {encapsulated['content_type'].native}, not tst_info")
        content = encapsulated["content"]
        info = content.parsed if isinstance(content, core.ParsableOctetString) else None
        if not isinstance(info, tsp.TSTInfo):
            raise ValueError("no TSTInfo inside")
        info.native  # noqa: B018 - parses every field, so a malformed one fails here
        # asn1crypto parses lazily. Parsing the whole token here (certificates
        # and signer infos too) makes a malformed field fail with this message
        # instead of later, inside pyHanko.
        token.native  # noqa: B018
    except (ValueError, TypeError, KeyError) as exc:
        raise VerificationError(f"{source}: not an RFC 3161 timestamp token ({exc})") from exc
    return info


def _check_tst_info(info: tsp.TSTInfo, digest: bytes, nonce: int, source: str) -> None:
    imprint = info["message_imprint"]
    algorithm = imprint["hash_algorithm"]["algorithm"].native
    if algorithm != "sha256" or imprint["hashed_message"].native != digest:
        raise VerificationError(
            f"{source}: the timestamp token's message imprint ({algorithm} "
            f"{imprint['hashed_message'].native.hex()[:16]}...) is not the SHA-256 of this "
            f"checkpoint ({digest.hex()[:16]}...): the token timestamps other data"
        )
    if info["nonce"].native != nonce:
        raise VerificationError(
            f"{source}: the timestamp token's nonce {info['nonce'].native} is not the request's nonce {nonce}"
        )


def load_tsa_certificates(path: Path) -> list[x509.Certificate]:
    """Read the PEM (or DER) certificates of `path`: the TSA's certificate and/or its CA's."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise VerificationUnavailable(f"{path}: cannot read the TSA certificate: {exc.strerror}") from exc
    try:
        if pem.detect(data):
            certificates = [x509.Certificate.load(der) for _type, _headers, der in pem.unarmor(data, multiple=True)]
        else:
            certificates = [x509.Certificate.load(data)]
        for certificate in certificates:
            certificate.native  # noqa: B018 - parses every field
    except (ValueError, TypeError) as exc:
        raise VerificationUnavailable(f"{path}: not a PEM or DER certificate ({exc})") from exc
    if not certificates:
        raise VerificationUnavailable(f"{path}: no certificate found")
    return certificates


def verify_timestamp(
    document: dict[str, Any], source: Path, tsa_certificate: Path | None = None
) -> VerifiedTimestamp:
    """Verify the `timestamp` member of the exported checkpoint `document`, read from `source`.

    With `tsa_certificate`, the token's signer must be one of its
    certificates or chain to one of them. Without it, the certificate the
    token embeds is used, which proves the token is intact but not which TSA
    signed it. Raises VerificationError when the token does not verify and
    VerificationUnavailable when the certificate file cannot be read.
    """
    stored = document.get(TIMESTAMP_FIELD)
    where = f"{source}: {TIMESTAMP_FIELD}"
    if not isinstance(stored, dict):
        raise VerificationError(f"{where}: not an object with the fields tsa, nonce and token")
    try:
        nonce = int(str(stored.get("nonce")))
        token = cms.ContentInfo.load(base64.b64decode(str(stored.get("token")), validate=True))
    except (ValueError, binascii.Error, TypeError) as exc:
        raise VerificationError(f"{where}: nonce or token is malformed ({exc})") from exc
    info = _tst_info(token, where)
    try:
        digest = checkpoint_digest(document)
    except ValueError as exc:
        # json.loads accepts NaN, Infinity and integers beyond 2**53, which RFC 8785 cannot write.
        raise VerificationError(f"{source}: the checkpoint has a value outside canonical JSON ({exc})") from exc
    _check_tst_info(info, digest, nonce, where)
    signed_data = token["content"]
    gen_time = info["gen_time"].native

    trusted = load_tsa_certificates(tsa_certificate) if tsa_certificate is not None else []
    embedded = [item.chosen for item in signed_data["certificates"] or [] if item.name == "certificate"]
    if trusted:
        trusted_by = f"the certificate in {tsa_certificate}"
        roots = trusted
    elif embedded:
        trusted_by = "the certificate embedded in the token; pass --tsa-cert to pin the TSA"
        roots = embedded
    else:
        raise VerificationUnavailable(
            f"{where}: the token embeds no certificate; pass the TSA's certificate with --tsa-cert"
        )
    status = _validate_signature(signed_data, roots, trusted + embedded, gen_time, info, where)
    signer = status.get("signing_cert")
    subject = signer.subject.human_friendly if signer is not None else "an unknown signer"
    return VerifiedTimestamp(gen_time=gen_time, tsa_subject=subject, trusted_by=trusted_by)


def _validate_signature(
    signed_data: cms.SignedData,
    roots: list[x509.Certificate],
    certificates: list[x509.Certificate],
    gen_time: datetime,
    info: tsp.TSTInfo,
    where: str,
) -> dict[str, Any]:
    # pyHanko is slow to import, so it is imported only when a token is checked.
    from pyhanko.sign.validation.errors import SignatureValidationError
    from pyhanko.sign.validation.generic_cms import validate_tst_signed_data
    from pyhanko_certvalidator import ValidationContext

    expected = info["message_imprint"]["hashed_message"].native
    try:
        # Validating at genTime keeps a token verifiable after the TSA certificate expires.
        context = ValidationContext(
            trust_roots=roots, other_certs=certificates, moment=gen_time, allow_fetching=False,
            revocation_mode="soft-fail",
        )
        status = asyncio.run(validate_tst_signed_data(signed_data, context, lambda _algorithm: expected))
    except SignatureValidationError as exc:
        raise VerificationError(f"{where}: the token's CMS signature does not verify ({exc})") from exc
    except (ValueError, TypeError, KeyError, AttributeError, NotImplementedError) as exc:
        # pyHanko 0.38 raises these on a malformed token: CMSExtractionError (a
        # ValueError) for a wrong number of signer infos, and AttributeError for
        # a digest algorithm OID that cryptography does not know.
        raise VerificationError(
            f"{where}: the token's CMS signature cannot be checked ({type(exc).__name__}: {exc})"
        ) from exc
    if not status.get("intact") or not status.get("valid"):
        raise VerificationError(
            f"{where}: the token's CMS signature does not verify: the token was altered or signed "
            "by another key"
        )
    problem = status.get("trust_problem_indic")
    if problem is not None:
        raise VerificationError(
            f"{where}: the token's signer is not the trusted TSA certificate ({problem.name})"
        )
    return status
