"""Build and sign the audit pack of a run.

Layout: manifest.json (metadata and every file's size and SHA-256),
manifest.sig (raw Ed25519 over manifest.json), SHA256SUMS (every file but the
signature files, in `sha256sum` format, manifest.json included),
SHA256SUMS.sig (raw Ed25519 over SHA256SUMS), manifest.sshsig (SSHSIG over
SHA256SUMS in the namespace SSHSIG_NAMESPACE), attestation.dsse.json (an
in-toto statement of SHA256SUMS's digests in a DSSE envelope),
public-key.pem, public-key.pub, allowed_signers, VERIFY.md, report.md,
report.html, report.pdf (PAdES-signed when the key has a PDF signing key,
beside it or from ASSAY_PDF_SIGNING_KEY), records.jsonl and
evidence/sha256/<hex>. docs/format.md describes every file.

The pack is written into a hidden `.NAME.partial` folder and renamed only
when complete, so an interrupted build never leaves a pack that looks whole.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization

from assay.engine.run import RunOutcome
from assay.errors import AssayError
from assay.evidence.ledger import Ledger
from assay.evidence.records import StoredRecord
from assay.faults import fault_point
from assay.keys import (
    PDF_CERTIFICATE_ENV,
    PDF_KEY_NAME,
    PDF_SIGNING_KEY_ENV,
    SigningKey,
    public_pem,
)
from assay.reports import dsse, render, sshsig
from assay.reports.verify_doc import verify_markdown
from assay.timeutil import format_instant

PACK_FORMAT = "assay-pack"
PACK_VERSION = 1
MANIFEST = "manifest.json"
MANIFEST_SIG = "manifest.sig"
SUMS = "SHA256SUMS"
SUMS_SIG = "SHA256SUMS.sig"
SSHSIG = "manifest.sshsig"
ATTESTATION = "attestation.dsse.json"
PUBLIC_KEY = "public-key.pem"
OPENSSH_PUBLIC_KEY = "public-key.pub"
ALLOWED_SIGNERS = "allowed_signers"
RECORDS = "records.jsonl"
# Files that sign SHA256SUMS or manifest.json, so SHA256SUMS cannot list them.
SIGNATURE_FILES = frozenset({MANIFEST_SIG, SUMS_SIG, SSHSIG, ATTESTATION})
SSHSIG_NAMESPACE = sshsig.PACK_NAMESPACE
SSHSIG_PRINCIPAL = sshsig.PACK_PRINCIPAL
# The predicateType of the in-toto statement in attestation.dsse.json.
PREDICATE_TYPE = "https://assay.example.invalid/attestation/pack/v1"
LATEST_POINTER = "LATEST"

Progress = Callable[[str, int, int], None]

logger = logging.getLogger(__name__)


def record_line(record: StoredRecord, with_body: bool) -> bytes:
    """Format one records.jsonl line: canonical JSON of {"body", "hash", "header"}.

    The header and body are embedded as their stored canonical bytes, so the
    line is itself canonical JSON. A withheld body is written as null.
    """
    body = record.body if with_body and record.body is not None else b"null"
    return b'{"body":' + body + b',"hash":"' + record.hash.encode() + b'","header":' + record.header + b"}\n"


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


class PackWriteError(AssayError):
    """The pack folder or the LATEST pointer could not be written (a full disk, a file size limit)."""


def build_run_pack(
    outcome: RunOutcome, ledger: Ledger, key: SigningKey, progress: Progress | None = None
) -> Path:
    """Write the signed pack of `outcome` under the workspace's reports folder; return its path.

    On an OSError the partial folder is removed, LATEST keeps pointing at
    the previous pack, and PackWriteError names the pack and the error.
    """
    workspace = outcome.workspace
    reports = workspace.root / workspace.config.reports
    name = f"{outcome.now.strftime('%Y%m%dT%H%M%SZ')}-{outcome.run_id[:8]}"
    final = reports / name
    partial = reports / f".{name}.partial"
    try:
        if partial.exists():
            shutil.rmtree(partial)
        partial.mkdir(parents=True)
        try:
            fault_point("pack.before_write")
            _write_contents(partial, outcome, ledger, key, progress)
            fault_point("pack.before_seal")
            _seal(partial, outcome, key)
            fault_point("pack.before_rename")
            os.replace(partial, final)
            fault_point("pack.after_rename")
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
        _write_latest(reports, final)
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        reason = exc.strerror or str(exc)
        name = errno.errorcode.get(exc.errno or 0)
        if name:
            reason += f" ({name})"
        raise PackWriteError(
            f"cannot write the pack {final}{where}: {reason}; the run {outcome.run_id} "
            "is recorded in the ledger, but no pack was written for it. Free space on that file "
            "system, then run `assay pack --period` over the run's time to build a pack"
        ) from exc
    return final


def _write_latest(reports: Path, pack: Path) -> None:
    """Point reports/LATEST at `pack`, replacing the file whole so it never contains a partial line."""
    temporary = reports / f".{LATEST_POINTER}.partial"
    try:
        temporary.write_text(str(pack) + "\n", encoding="utf-8")
        os.replace(temporary, reports / LATEST_POINTER)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _write_contents(
    folder: Path, outcome: RunOutcome, ledger: Ledger, key: SigningKey, progress: Progress | None
) -> None:
    steps = 4
    checkpoint = outcome.checkpoint
    if progress:
        progress("writing records and evidence", 1, steps)
    body_seqs = {record.seq for record in outcome.records} | _definition_seqs(outcome, ledger)
    with (folder / RECORDS).open("wb") as out:
        for record in ledger.records(1, checkpoint.seq):
            out.write(record_line(record, with_body=record.seq in body_seqs))
    evidence_dir = folder / "evidence" / "sha256"
    evidence_dir.mkdir(parents=True)
    for digest, source in sorted(outcome.artifacts.items()):
        shutil.copyfile(source, evidence_dir / digest)
    (folder / PUBLIC_KEY).write_bytes(public_pem(key.public))

    context = _report_context(outcome, key)
    if progress:
        progress("rendering report.md and report.html", 2, steps)
    (folder / "report.md").write_text(render.render_markdown(context), encoding="utf-8")
    html = render.render_html(context)
    (folder / "report.html").write_text(html, encoding="utf-8")
    if progress:
        progress("rendering report.pdf", 3, steps)
    pdf, _warnings = render.render_pdf(html, outcome.now)
    if key.pdf is not None:
        from assay.reports.pdf_signature import sign_pdf  # imported here: pyHanko is slow to import

        pdf = sign_pdf(pdf, key.pdf, outcome.now)
    else:
        logger.warning(
            "report.pdf is not signed: %s and %s are unset, and the signing key has no %s "
            "beside it (or came from ASSAY_SIGNING_KEY); `assay keys generate` creates the PDF "
            "signing key and certificate",
            PDF_SIGNING_KEY_ENV, PDF_CERTIFICATE_ENV, PDF_KEY_NAME,
        )
    (folder / "report.pdf").write_bytes(pdf)
    (folder / "VERIFY.md").write_text(
        verify_markdown(key.key_id, pdf_signed=key.pdf is not None), encoding="utf-8"
    )
    fault_point("pack.after_reports")
    if progress:
        progress("signing", 4, steps)


def _definition_seqs(outcome: RunOutcome, ledger: Ledger) -> set[int]:
    """Return the seqs of the control records that define the run's controls.

    A control record is written only when a definition changes, so it may
    belong to an earlier run. The pack includes its body so that `assay
    verify --reevaluate` can judge the run again from the pack alone.
    """
    digests = {result.loaded.definition_sha256 for result in outcome.results}
    latest: dict[str, int] = {}
    for record in ledger.records_of_kind("control"):
        digest = str((record.body_fields() or {}).get("definition_sha256"))
        if digest in digests and record.seq < outcome.checkpoint.seq:
            latest[digest] = max(latest.get(digest, 0), record.seq)
    return set(latest.values())


def _report_context(outcome: RunOutcome, key: SigningKey) -> dict[str, Any]:
    artifacts_of: dict[str, list[dict[str, Any]]] = {}
    for record in outcome.records:
        header = record.header_fields()
        if header["kind"] != "evidence":
            continue
        body = record.body_fields() or {}
        artifacts_of[f"{body['control']}/{body['evidence']}"] = body["artifacts"]
    for result in outcome.results:
        for evidence in result.evidence:
            artifacts_of.setdefault(f"{result.control_id}/{evidence.id}", [])
    head = outcome.checkpoint
    return {
        "title": f"Audit pack: {outcome.workspace.config.name}",
        "workspace": outcome.workspace.config.name,
        "scope": outcome.scope,
        "run_id": outcome.run_id,
        "now": format_instant(outcome.now),
        "head_seq": head.seq,
        "head_hash": head.hash,
        "key_id": key.key_id,
        "readiness": outcome.readiness,
        "results": outcome.results,
        "artifacts_of": artifacts_of,
    }


def _pack_files(folder: Path) -> list[str]:
    names = []
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            names.append(path.relative_to(folder).as_posix())
    return names


def _seal(folder: Path, outcome: RunOutcome, key: SigningKey) -> None:
    checkpoint = outcome.checkpoint
    seal_pack(folder, key, {
        "workspace": outcome.workspace.config.name,
        "scope": outcome.scope,
        "run": outcome.run_id,
        "created_at": format_instant(outcome.now),
        "ledger_head": {"seq": checkpoint.seq, "hash": checkpoint.hash},
        "statuses": {r.control_id: r.status.value for r in outcome.results},
    })


def pdf_certificate_sha256(key: SigningKey) -> str | None:
    """Return the SHA-256 of the certificate that signs report.pdf, or None when the PDF is not signed.

    The manifest records it, so the Ed25519 signatures over the manifest bind
    the PDF's self-signed certificate to the pack's signer.
    """
    if key.pdf is None:
        return None
    return hashlib.sha256(key.pdf.certificate.public_bytes(serialization.Encoding.DER)).hexdigest()


def allowed_signers_line(key: SigningKey) -> str:
    """Return the allowed_signers line that `ssh-keygen -Y verify` reads for `key`."""
    public_line = sshsig.openssh_public_line(key.public)
    return f'{SSHSIG_PRINCIPAL} namespaces="{SSHSIG_NAMESPACE}" {public_line}\n'


def seal_pack(folder: Path, key: SigningKey, metadata: dict[str, Any]) -> None:
    """Write the OpenSSH key files, manifest.json, SHA256SUMS and every signature file.

    public-key.pub and allowed_signers are written first, so SHA256SUMS and
    manifest.json list them.
    """
    (folder / OPENSSH_PUBLIC_KEY).write_text(
        sshsig.openssh_public_line(key.public, SSHSIG_PRINCIPAL) + "\n", encoding="ascii"
    )
    (folder / ALLOWED_SIGNERS).write_text(allowed_signers_line(key), encoding="ascii")
    files = []
    for name in _pack_files(folder):
        path = folder / name
        files.append({"path": name, "size": path.stat().st_size, "sha256": _sha256_file(path)})
    manifest = {
        "format": PACK_FORMAT,
        "format_version": PACK_VERSION,
        **metadata,
        "key_id": key.key_id,
        "pdf_certificate_sha256": pdf_certificate_sha256(key),
        "files": files,
    }
    manifest_bytes = (json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
    (folder / MANIFEST).write_bytes(manifest_bytes)
    (folder / MANIFEST_SIG).write_bytes(key.sign(manifest_bytes))
    entries = [(f["sha256"], f["path"]) for f in files]
    entries.append((hashlib.sha256(manifest_bytes).hexdigest(), MANIFEST))
    entries.sort(key=lambda entry: entry[1])
    sums_bytes = "".join(f"{digest}  {path}\n" for digest, path in entries).encode()
    (folder / SUMS).write_bytes(sums_bytes)
    (folder / SUMS_SIG).write_bytes(key.sign(sums_bytes))
    (folder / SSHSIG).write_text(
        sshsig.sign(key.private, sums_bytes, SSHSIG_NAMESPACE), encoding="ascii"
    )
    predicate = {key_name: value for key_name, value in manifest.items() if key_name != "files"}
    subjects = [(path, digest) for digest, path in entries]
    (folder / ATTESTATION).write_bytes(
        dsse.sign_statement(key, dsse.statement(subjects, PREDICATE_TYPE, predicate))
    )


__all__ = ["AssayError", "PackWriteError", "build_run_pack", "record_line", "seal_pack"]
