"""`assay verify`: check a pack against a signer the auditor pinned.

The checks run in this order. The pack's key must be the pinned one (or one
of the trusted keys), and manifest.sig, SHA256SUMS.sig and manifest.sshsig
must verify. Every field of manifest.json that is read must have the type
assay writes. Every file's SHA-256 and size must match, and no file may be
unlisted. attestation.dsse.json must verify and name exactly the files and
digests of SHA256SUMS, and public-key.pub and allowed_signers must hold the
signer's key. The records chain must verify with
its checkpoint signed by the pinned key. The last record must be the
checkpoint of the manifest's run, and no record of that run may have its body
withheld. With an exported checkpoint, the record at its seq must have its
hash. Every artifact that the run's evidence names must be in the pack.
A period pack (manifest kind "period") lists its runs in `runs`: none of their
records may be withheld, and its last record must be a checkpoint of any run.
The PAdES signature of report.pdf, when it has one, must be intact, verify
and cover the whole file. With `reevaluate`, every result of the pack's runs
is judged again from the pack's records (see assay.reports.reevaluate).
The first failure raises VerificationError naming the file or record; a pinned key
that cannot be read raises VerificationUnavailable.
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from assay.errors import VerificationError, VerificationUnavailable
from assay.evidence.ledger import verify_chain
from assay.evidence.records import ChainError, StoredRecord, canonical
from assay.evidence.audit import (
    _read_exported,
    check_exported_signature,
    load_trusted_keys,
    read_checkpoint_timestamp,
)
from assay.keys import fingerprint, load_public_key, signature_valid
from assay.reports import dsse, sshsig
from assay.reports.archive import MAX_EXPANDED_BYTES, extract_pack
from assay.reports.pack import (
    ALLOWED_SIGNERS,
    ATTESTATION,
    MANIFEST,
    MANIFEST_SIG,
    OPENSSH_PUBLIC_KEY,
    PACK_FORMAT,
    PACK_VERSION,
    PREDICATE_TYPE,
    PUBLIC_KEY,
    RECORDS,
    SIGNATURE_FILES,
    SSHSIG,
    SSHSIG_NAMESPACE,
    SSHSIG_PRINCIPAL,
    SUMS,
    SUMS_SIG,
)

_SUMS_LINE = re.compile(r"^([0-9a-f]{64})  (.+)$")
_FINGERPRINT = re.compile(r"^SHA256:[A-Za-z0-9+/]{43}$")
_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


REPORT_PDF = "report.pdf"
# The manifest field naming the SHA-256 of the certificate that signs report.pdf.
PDF_CERTIFICATE_FIELD = "pdf_certificate_sha256"
_NOT_RECORDED = object()


@dataclass
class VerifyReport:
    """The checks a successful verification passed, and the checks it skipped with the reason."""

    key_id: str
    checks: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def _raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _read(pack: Path, name: str) -> bytes:
    path = pack / name
    if not path.is_file():
        raise VerificationError(f"{name}: missing from the pack")
    return path.read_bytes()


@dataclass(frozen=True)
class Pin:
    """The signer an auditor pinned: one key, one fingerprint, or a set of trusted keys.

    `keys` maps fingerprints to public keys, and a fingerprint-only pin maps
    its fingerprint to None. `source` names the pin in error messages.
    """

    keys: dict[str, Ed25519PublicKey | None]
    source: str


def pin_from_options(
    key_path: Path | None, pinned_fingerprint: str | None, trusted_dir: Path | None
) -> Pin:
    """Build the pin of `assay verify` from exactly one of --key, --fingerprint and --trusted-keys.

    Raises VerificationUnavailable when a key cannot be read or the
    fingerprint is malformed.
    """
    given = [option for option in (key_path, pinned_fingerprint, trusted_dir) if option is not None]
    if len(given) != 1:
        raise VerificationUnavailable(
            "pin the signer with exactly one of --key, --fingerprint or --trusted-keys"
        )
    if key_path is not None:
        try:
            data = key_path.read_bytes()
        except OSError as exc:
            raise VerificationUnavailable(f"{key_path}: cannot read the key: {exc.strerror}") from exc
        key = load_public_key(data, str(key_path))
        return Pin({fingerprint(key): key}, f"the pinned signer {fingerprint(key)}")
    if pinned_fingerprint is not None:
        if not _FINGERPRINT.match(pinned_fingerprint):
            raise VerificationUnavailable(
                f"{pinned_fingerprint!r} is not a fingerprint of the form SHA256:<43 base64 characters>"
            )
        return Pin({pinned_fingerprint: None}, f"the pinned signer {pinned_fingerprint}")
    assert trusted_dir is not None
    if not trusted_dir.is_dir():
        raise VerificationUnavailable(f"{trusted_dir}: not a folder of trusted public keys")
    files = sorted(trusted_dir.glob("*.pem"))
    if not files:
        raise VerificationUnavailable(f"{trusted_dir}: no trusted public keys (*.pem) found")
    trusted: dict[str, Ed25519PublicKey | None] = dict(load_trusted_keys(files))
    return Pin(trusted, f"any of the {len(trusted)} trusted keys in {trusted_dir}")


def verify_pack(
    pack: Path,
    *,
    pinned_key: Ed25519PublicKey | None = None,
    pinned_fingerprint: str | None = None,
    pin: Pin | None = None,
    checkpoint: Path | None = None,
    max_expanded_bytes: int = MAX_EXPANDED_BYTES,
    reevaluate: bool = False,
    tsa_certificate: Path | None = None,
) -> VerifyReport:
    """Verify the pack folder or zipped pack `pack` against exactly one pinned signer.

    The signer is pinned by `pinned_key`, `pinned_fingerprint` or `pin`.
    With `checkpoint` (a file of `assay ledger checkpoint --out`), the pack's
    records must also extend that checkpoint, and the checkpoint's RFC 3161
    timestamp token, when it has one, must verify (against `tsa_certificate`,
    a PEM file, when given). A `.zip` pack is checked by
    `assay.reports.archive.extract_pack` (at most `max_expanded_bytes`
    uncompressed), extracted into a temporary folder and verified there.
    With `reevaluate`, every result of the pack's runs is judged again from
    the pack's records and must match.
    """
    if pack.suffix.lower() == ".zip" and pack.is_file():
        with tempfile.TemporaryDirectory(prefix="assay-verify-") as temporary:
            folder = extract_pack(pack, Path(temporary), max_expanded_bytes=max_expanded_bytes)
            report = verify_pack(
                folder,
                pinned_key=pinned_key,
                pinned_fingerprint=pinned_fingerprint,
                pin=pin,
                checkpoint=checkpoint,
                reevaluate=reevaluate,
                tsa_certificate=tsa_certificate,
            )
            report.checks.insert(
                0, f"{pack.name} is within the expanded size limit of {max_expanded_bytes} bytes "
                "and extracts safely"
            )
            return report
    if sum(option is not None for option in (pinned_key, pinned_fingerprint, pin)) != 1:
        raise VerificationUnavailable("pin the signer with exactly one of --key or --fingerprint")
    if pinned_key is not None:
        pin = Pin({fingerprint(pinned_key): pinned_key}, f"the pinned signer {fingerprint(pinned_key)}")
    elif pinned_fingerprint is not None:
        if not _FINGERPRINT.match(pinned_fingerprint):
            raise VerificationUnavailable(
                f"{pinned_fingerprint!r} is not a fingerprint of the form SHA256:<43 base64 characters>"
            )
        pin = Pin({pinned_fingerprint: None}, f"the pinned signer {pinned_fingerprint}")
    assert pin is not None
    exported = _read_exported(checkpoint) if checkpoint is not None else None
    timestamp = None
    if exported is not None and checkpoint is not None:
        timestamp = read_checkpoint_timestamp(exported, checkpoint, tsa_certificate)
    if not pack.is_dir():
        raise VerificationUnavailable(f"{pack}: not a pack folder or a zipped pack (.zip)")
    if not any((pack / name).exists() for name in (MANIFEST, SUMS, RECORDS, PUBLIC_KEY)):
        # Nothing of a pack is there, so this is another folder (a workspace,
        # say), not a pack whose files were removed.
        raise VerificationUnavailable(
            f"{pack}: not an assay pack (no {MANIFEST}, {SUMS}, {RECORDS} or {PUBLIC_KEY}); "
            "give the pack folder, for example the path in reports/LATEST"
        )

    signer = _check_signer(pack, pin)
    report = VerifyReport(key_id=fingerprint(signer))
    report.checks.append(f"signer is the pinned key {report.key_id}")

    manifest_bytes = _read(pack, MANIFEST)
    if not signature_valid(signer, _read(pack, MANIFEST_SIG), manifest_bytes):
        raise VerificationError(f"{MANIFEST}: signature in {MANIFEST_SIG} does not verify")
    sums_bytes = _read(pack, SUMS)
    if not signature_valid(signer, _read(pack, SUMS_SIG), sums_bytes):
        raise VerificationError(f"{SUMS}: signature in {SUMS_SIG} does not verify")
    report.checks.append(f"{MANIFEST_SIG} and {SUMS_SIG} verify")
    _check_sshsig(pack, signer, sums_bytes)
    report.checks.append(f"{SSHSIG} verifies in the namespace {SSHSIG_NAMESPACE}")

    manifest = _parse_manifest(manifest_bytes)
    listed = _check_files(pack, manifest, sums_bytes)
    report.checks.append(f"{len(listed)} files match their SHA-256 and size; no file is unlisted")
    _check_attestation(pack, signer, manifest, listed)
    report.checks.append(f"{ATTESTATION} verifies and names every file of {SUMS}")
    _check_openssh_files(pack, signer)
    report.checks.append(f"{OPENSSH_PUBLIC_KEY} and {ALLOWED_SIGNERS} contain the signer's key")

    if exported is not None and checkpoint is not None:
        # The checkpoint may be signed by the pack's signer or by another
        # key of the pin (an older key of a trusted-keys folder).
        check_exported_signature(
            exported, checkpoint,
            lambda key_id: signer if key_id == report.key_id else pin.keys.get(key_id),
        )
    head_seq, head_hash, run_bodies = _check_records(pack, signer, manifest, exported)
    report.checks.append(f"records chain verifies up to seq {head_seq} ({head_hash[:16]}...)")
    if exported is not None:
        report.checks.append(
            f"records extend the checkpoint in {checkpoint} at seq {exported['seq']}"
        )
    if timestamp is not None:
        report.checks.append(timestamp.describe())
    elif checkpoint is not None:
        report.skipped.append(f"{checkpoint} carries no RFC 3161 timestamp token")

    artifacts = _check_artifacts(run_bodies, listed)
    runs = "of the period's runs" if manifest.get("kind") == "period" else "of the run"
    report.checks.append(f"{artifacts} evidence artifacts {runs} are present")
    _check_pdf(pack, manifest, listed, report)
    if reevaluate:
        _reevaluate(pack, manifest, report)
    return report


def _check_pdf(
    pack: Path, manifest: dict[str, Any], listed: dict[str, str], report: VerifyReport
) -> None:
    # Packs that record `pdf_certificate_sha256` name the certificate that
    # must have signed report.pdf, or null for an unsigned PDF. Older packs
    # do not, and an unsigned PDF in them is reported as skipped.
    named = manifest.get(PDF_CERTIFICATE_FIELD, _NOT_RECORDED)
    if REPORT_PDF not in listed:
        if isinstance(named, str):
            raise VerificationError(
                f"{MANIFEST} names the certificate that signs {REPORT_PDF}, but the pack has no "
                f"{REPORT_PDF}"
            )
        report.skipped.append(f"PDF signature: the pack has no {REPORT_PDF}")
        return
    from assay.reports.pdf_signature import FIELD_NAME, check_pdf_signature  # pyHanko is slow to import

    certificate = check_pdf_signature((pack / REPORT_PDF).read_bytes(), REPORT_PDF)
    if named is not _NOT_RECORDED and named != certificate:
        raise VerificationError(_pdf_certificate_mismatch(named, certificate))
    if certificate is None:
        report.skipped.append(
            f"PDF signature: {REPORT_PDF} is not signed (the pack was built without a PDF "
            "signing key)"
        )
        return
    bound = f", the certificate {MANIFEST} names" if named is not _NOT_RECORDED else ""
    report.checks.append(
        f"{REPORT_PDF}: PDF signature {FIELD_NAME} is intact, verifies with its embedded "
        f"certificate (SHA-256 {certificate[:16]}...{bound}) and covers the whole file"
    )


def _pdf_certificate_mismatch(named: object, certificate: str | None) -> str:
    if certificate is None:
        return (
            f"{REPORT_PDF} is not signed, but {MANIFEST} says the certificate with SHA-256 "
            f"{named} signs it"
        )
    if named is None:
        return f"{REPORT_PDF} is signed, but {MANIFEST} says the pack's PDF is not signed"
    return (
        f"{REPORT_PDF} is signed by the certificate with SHA-256 {certificate}, not the one "
        f"{MANIFEST} names ({named})"
    )


def _reevaluate(pack: Path, manifest: dict[str, Any], report: VerifyReport) -> None:
    from assay.reports.reevaluate import reevaluate_pack

    result = reevaluate_pack(pack, manifest)
    runs = "run" if result.runs == 1 else "runs"
    report.checks.append(
        f"re-evaluated {result.controls} controls ({result.assertions} assertions) of "
        f"{result.runs} {runs} from the pack's records: every status and assertion outcome "
        f"matches; {len(result.skipped)} controls not re-evaluable"
    )
    for control, reason in result.skipped:
        report.skipped.append(f"re-evaluation of {control}: {reason}")


def _check_signer(pack: Path, pin: Pin) -> Ed25519PublicKey:
    try:
        pack_key = load_public_key(_read(pack, PUBLIC_KEY), PUBLIC_KEY)
    except VerificationUnavailable as exc:
        raise VerificationError(f"{PUBLIC_KEY}: altered, it is no longer a valid key ({exc})") from exc
    pack_fingerprint = fingerprint(pack_key)
    if pack_fingerprint not in pin.keys:
        raise VerificationError(
            f"{PUBLIC_KEY}: the pack was signed by {pack_fingerprint}, not by {pin.source}"
        )
    pinned = pin.keys[pack_fingerprint]
    if pinned is not None and _raw(pinned) != _raw(pack_key):
        raise VerificationError(f"{PUBLIC_KEY}: not the pinned key")
    return pinned or pack_key


def _check_sshsig(pack: Path, signer: Ed25519PublicKey, sums_bytes: bytes) -> None:
    armored = _read(pack, SSHSIG).decode("ascii", "replace")
    try:
        sshsig.verify(signer, armored, sums_bytes, SSHSIG_NAMESPACE)
    except sshsig.SshsigError as exc:
        raise VerificationError(f"{SSHSIG}: SSHSIG signature of {SUMS} is invalid: {exc}") from exc


def _check_attestation(
    pack: Path, signer: Ed25519PublicKey, manifest: dict[str, Any], listed: dict[str, str]
) -> None:
    try:
        document = dsse.verify_statement(signer, _read(pack, ATTESTATION))
    except dsse.DsseError as exc:
        raise VerificationError(f"{ATTESTATION}: {exc}") from exc
    if document.get("predicateType") != PREDICATE_TYPE:
        raise VerificationError(
            f"{ATTESTATION}: predicateType is {document.get('predicateType')!r}, expected {PREDICATE_TYPE}"
        )
    subject_list = document.get("subject")
    if not isinstance(subject_list, list):
        raise VerificationError(f"{ATTESTATION}: the statement's subject is not a list")
    subjects: dict[str, Any] = {}
    for subject in subject_list:
        if isinstance(subject, dict) and isinstance(subject.get("digest"), dict):
            subjects[str(subject.get("name"))] = subject["digest"].get("sha256")
    if subjects != listed:
        differ = sorted(name for name in set(subjects) | set(listed) if subjects.get(name) != listed.get(name))
        raise VerificationError(f"{ATTESTATION}: its subjects and {SUMS} differ on {', '.join(differ)}")
    predicate = document.get("predicate")
    expected = {key: value for key, value in manifest.items() if key != "files"}
    if predicate != expected:
        raise VerificationError(f"{ATTESTATION}: its predicate does not match the metadata of {MANIFEST}")


def _check_openssh_files(pack: Path, signer: Ed25519PublicKey) -> None:
    # SHA256SUMS already covers both files. This check makes sure they name
    # the same key as public-key.pem, so that VERIFY.md's ssh-keygen route
    # checks the same signer as its openssl route.
    expected_key = sshsig.openssh_public_line(signer)
    public_line = _read(pack, OPENSSH_PUBLIC_KEY).decode("ascii", "replace")
    if not public_line.startswith(expected_key + " ") and public_line.strip() != expected_key:
        raise VerificationError(f"{OPENSSH_PUBLIC_KEY}: not the signer's key")
    allowed = _read(pack, ALLOWED_SIGNERS).decode("ascii", "replace")
    expected_line = f'{SSHSIG_PRINCIPAL} namespaces="{SSHSIG_NAMESPACE}" {expected_key}'
    if allowed.strip() != expected_line:
        raise VerificationError(f"{ALLOWED_SIGNERS}: not the line `{expected_line}`")


def _parse_manifest(data: bytes) -> dict[str, Any]:
    try:
        manifest = json.loads(data)
    except (ValueError, RecursionError) as exc:
        # json.loads raises RecursionError on arrays or objects nested too deeply.
        raise VerificationError(f"{MANIFEST}: not valid JSON ({exc})") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != PACK_FORMAT:
        raise VerificationUnavailable(f"{MANIFEST}: not an assay pack manifest")
    if manifest.get("format_version") != PACK_VERSION:
        raise VerificationUnavailable(
            f"{MANIFEST}: pack format version {manifest.get('format_version')!r} is not supported "
            f"(this assay reads version {PACK_VERSION})"
        )
    _check_manifest_shape(manifest)
    return manifest


def _malformed(field_name: str, expected: str, value: object) -> VerificationError:
    value_text = repr(value)
    if len(value_text) > 80:
        value_text = value_text[:77] + "..."
    return VerificationError(
        f"{MANIFEST}: field {field_name} must be {expected}, not {value_text}; the manifest is "
        "signed but malformed, so the pack cannot be verified"
    )


def _is_int(value: object) -> bool:
    # bool is a subclass of int, but JSON true and false are no counts.
    return isinstance(value, int) and not isinstance(value, bool)


def _check_manifest_shape(manifest: dict[str, Any]) -> None:
    """Check the type of every manifest field the verifier reads, naming the first bad one.

    The signatures only prove who wrote the manifest, so a signed manifest
    may still hold values of the wrong type.
    """
    if not isinstance(manifest.get("key_id"), str):
        raise _malformed("key_id", "a string", manifest.get("key_id"))
    kind = manifest.get("kind")
    if kind is not None and not isinstance(kind, str):
        raise _malformed("kind", "a string", kind)
    if kind == "period":
        runs = manifest.get("runs")
        if not isinstance(runs, list):
            raise _malformed("runs", "a list of run ids", runs)
        for index, run in enumerate(runs):
            if not isinstance(run, str):
                raise _malformed(f"runs[{index}]", "a run id string", run)
    elif not isinstance(manifest.get("run"), str):
        raise _malformed("run", "a run id string", manifest.get("run"))

    files = manifest.get("files")
    if not isinstance(files, list):
        raise _malformed("files", "a list of file entries", files)
    for index, entry in enumerate(files):
        where = f"files[{index}]"
        if not isinstance(entry, dict):
            raise _malformed(where, "an object with path, size and sha256", entry)
        if not isinstance(entry.get("path"), str):
            raise _malformed(f"{where}.path", "a string", entry.get("path"))
        if not _is_int(entry.get("size")) or entry["size"] < 0:
            raise _malformed(f"{where}.size", "a byte count (an integer of 0 or more)", entry.get("size"))
        sha256 = entry.get("sha256")
        if not isinstance(sha256, str) or _SHA256_HEX.match(sha256) is None:
            raise _malformed(f"{where}.sha256", "64 lowercase hex digits", sha256)

    head = manifest.get("ledger_head")
    if not isinstance(head, dict):
        raise _malformed("ledger_head", "an object with seq and hash", head)
    if not _is_int(head.get("seq")):
        raise _malformed("ledger_head.seq", "an integer", head.get("seq"))
    if not isinstance(head.get("hash"), str):
        raise _malformed("ledger_head.hash", "a string", head.get("hash"))

    statuses = manifest.get("statuses")
    if not isinstance(statuses, dict):
        raise _malformed("statuses", "an object mapping control ids to statuses", statuses)
    for control, status in statuses.items():
        if not isinstance(status, str):
            raise _malformed(f"statuses[{control!r}]", "a status string", status)

    if PDF_CERTIFICATE_FIELD in manifest:
        certificate = manifest[PDF_CERTIFICATE_FIELD]
        if certificate is not None and (
            not isinstance(certificate, str) or _SHA256_HEX.match(certificate) is None
        ):
            raise _malformed(PDF_CERTIFICATE_FIELD, "null or 64 lowercase hex digits", certificate)


def _check_files(pack: Path, manifest: dict[str, Any], sums_bytes: bytes) -> dict[str, str]:
    sums: dict[str, str] = {}
    for number, line in enumerate(sums_bytes.decode("utf-8", "replace").splitlines(), start=1):
        match = _SUMS_LINE.match(line)
        if match is None:
            raise VerificationError(f"{SUMS}:{number}: not a `sha256sum` line")
        digest, name = match.groups()
        if name in sums:
            raise VerificationError(f"{SUMS}:{number}: {name} listed twice")
        sums[name] = digest
    present = {
        p.relative_to(pack).as_posix() for p in pack.rglob("*") if p.is_file() or p.is_symlink()
    }
    for name in sorted(present - set(sums) - SIGNATURE_FILES - {SUMS}):
        raise VerificationError(f"{name}: in the pack but not listed in {SUMS}")
    # _check_manifest_shape has checked that every entry is an object with a string path.
    manifest_files = {entry["path"]: entry for entry in manifest["files"]}
    if set(manifest_files) | {MANIFEST} != set(sums):
        differ = sorted((set(manifest_files) | {MANIFEST}) ^ set(sums))
        raise VerificationError(f"{MANIFEST}: its file list and {SUMS} differ on {', '.join(differ)}")
    for name, digest in sorted(sums.items()):
        path = pack / name
        if path.is_symlink() or not path.is_file():
            raise VerificationError(f"{name}: missing from the pack (or not a regular file)")
        actual = hashlib.sha256(path.read_bytes()).hexdigest()
        if actual != digest:
            raise VerificationError(f"{name}: SHA-256 does not match {SUMS}; the file was altered")
        entry = manifest_files.get(name)
        if entry is not None and (entry.get("sha256") != digest or entry.get("size") != path.stat().st_size):
            raise VerificationError(f"{name}: size or SHA-256 does not match {MANIFEST}")
    return sums


def _records(pack: Path) -> Iterator[tuple[StoredRecord, int]]:
    with (pack / RECORDS).open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                item = json.loads(line)
                header = canonical(item["header"])
                body = None if item["body"] is None else canonical(item["body"])
                record = StoredRecord(seq=int(item["header"]["seq"]), header=header, body=body,
                                      hash=str(item["hash"]))
            except (ValueError, KeyError, TypeError, OverflowError, RecursionError) as exc:
                raise VerificationError(f"{RECORDS}:{number}: not a record line ({exc})") from exc
            # A canonical JSON body starts with "{" exactly when it is an object.
            # Checking the first byte spares parsing every body before its hash is checked.
            if body is not None and not body.startswith(b"{"):
                raise VerificationError(
                    f"{RECORDS}:{number}: record seq {record.seq}: the body is not a JSON object"
                )
            yield record, number


def _check_records(
    pack: Path,
    signer: Ed25519PublicKey,
    manifest: dict[str, Any],
    exported: dict[str, Any] | None = None,
) -> tuple[int, str, list[dict[str, Any]]]:
    key_id = fingerprint(signer)
    # A period pack (kind "period") names its runs in `runs`; a run pack names one in `run`.
    # _check_manifest_shape has checked that `runs` is a list of strings and `run` a string.
    period = manifest.get("kind") == "period"
    runs = set(manifest["runs"]) if period else {manifest["run"]}
    run_bodies: list[dict[str, Any]] = []
    last_header: dict[str, Any] = {}

    def on_record(record: StoredRecord, header: dict[str, Any]) -> None:
        # verify_chain calls this after it has checked the record's hashes.
        nonlocal last_header
        last_header = header
        run = header.get("run")
        if isinstance(run, str) and run in runs:
            # A withheld body keeps every record hash, so the chain alone
            # would not reveal a hidden record of the run.
            if record.body is None:
                raise VerificationError(
                    f"{RECORDS}: record seq {record.seq}: the body of a record of this run "
                    "is withheld"
                )
            run_bodies.append({"kind": header.get("kind"), **(record.body_fields() or {})})
        if exported is not None and record.seq == exported["seq"] and record.hash != exported["hash"]:
            raise VerificationError(
                f"{RECORDS}: record seq {record.seq}: hash {record.hash[:16]}... is not the "
                f"exported checkpoint's {exported['hash'][:16]}...; the chain does not extend it"
            )

    records = (record for record, _number in _records(pack))
    try:
        head_seq, head_hash = verify_chain(
            records, lambda kid: signer if kid == key_id else None, on_record=on_record
        )
    except ChainError as exc:
        raise VerificationError(f"{RECORDS}: record seq {exc.seq}: {exc.what}") from exc
    expected = manifest["ledger_head"]
    if head_seq != expected["seq"] or head_hash != expected["hash"]:
        raise VerificationError(f"{RECORDS}: chain ends at seq {head_seq}, not at the manifest's ledger head")
    if exported is not None and head_seq < exported["seq"]:
        raise VerificationError(
            f"{RECORDS}: record seq {exported['seq']}: missing, the chain ends at seq {head_seq} "
            "before the exported checkpoint"
        )
    if period and last_header.get("kind") != "checkpoint":
        raise VerificationError(f"{RECORDS}: the last record is not a checkpoint")
    if not period and (last_header.get("kind") != "checkpoint" or last_header.get("run") not in runs):
        raise VerificationError(f"{RECORDS}: the last record is not the run's checkpoint")
    return head_seq, head_hash, run_bodies


def _check_artifacts(bodies: list[dict[str, Any]], listed: dict[str, str]) -> int:
    count = 0
    for body in bodies:
        if body.get("kind") != "evidence":
            continue
        artifacts = body.get("artifacts", [])
        if not isinstance(artifacts, list):
            raise VerificationError(
                f"{RECORDS}: evidence record {body.get('control')}/{body.get('evidence')}: "
                "artifacts is not a list"
            )
        for artifact in artifacts:
            digest = artifact.get("sha256") if isinstance(artifact, dict) else None
            if not isinstance(digest, str) or _SHA256_HEX.match(digest) is None:
                raise VerificationError(
                    f"{RECORDS}: evidence record {body.get('control')}/{body.get('evidence')}: "
                    f"artifact {artifact!r:.80} has no sha256 of 64 lowercase hex digits"
                )
            name = f"evidence/sha256/{digest}"
            if listed.get(name) != digest:
                raise VerificationError(
                    f"{name}: evidence of {body.get('control')}/{body.get('evidence')} is missing"
                )
            count += 1
    return count
