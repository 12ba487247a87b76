"""Collector for AWS CloudTrail log files and digest files in a local copy of the trail's bucket.

The files are found under `path`, a folder or a glob, and sorted by name:

* Log files (`*_CloudTrail_*.json` or `.json.gz`) are `{"Records": [...]}`
  documents. A glob names the files to read, so every other `.json` or
  `.json.gz` file it matches is read as a log file too. `X.json` and
  `X.json.gz` are two copies of one log file. Each copy is checked against
  the digest, and the events of one copy are counted.
* Digest files (`*_CloudTrail-Digest_*.json` or `.json.gz`) list the SHA-256
  of each log file delivered in one hour and name the previous digest file.
* `*.s3-object-metadata.json` beside a digest file contains the S3 object
  metadata of that digest, where CloudTrail puts its signature
  (`x-amz-meta-signature`, or `signature` as boto3 returns it).

Validation follows AWS's "Custom implementations of CloudTrail log file
integrity validation" and "CloudTrail digest file structure" pages of the
CloudTrail user guide, and the `aws cloudtrail validate-logs` source
(awscli/customizations/cloudtrail/validation.py):

1. A digest file must be at the location it names: the file name equals the
   name in its `digestS3Object`, with or without `.gz`.
2. Its signature is verified when `public_key` is given. The data to sign is
   `digestEndTime + "\\n" + digestS3Bucket + "/" + digestS3Object + "\\n" +
   hex(SHA-256(uncompressed digest file)) + "\\n" + previousDigestSignature`,
   where a starting digest's null previous signature is written as `null`.
   The key is the one whose fingerprint equals `digestPublicKeyFingerprint`,
   and the check is RSA PKCS #1 v1.5 with SHA-256 (SHA256withRSA). The
   signature is the hex in the metadata file, or else the
   `previousDigestSignature` of the next digest file in the chain.
3. Each log file's SHA-256 over its uncompressed bytes must equal the
   `logFiles[].hashValue` that a digest file records for it.
4. Each digest file that names a predecessor (`previousDigestS3Object`) needs
   that predecessor present, with SHA-256 over its uncompressed bytes equal to
   `previousDigestHashValue` and its signature equal to
   `previousDigestSignature`.

Files are matched to the S3 object keys in digest files by file name, which
contains the account, region, time and a random part, so the local folder
layout does not matter.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
import urllib.parse
import zlib
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_der_public_key,
    load_pem_public_key,
)
from pydantic import Field

from assay.errors import CollectorError
from assay.evidence.collectors.base import (
    input_limit,
    CollectContext,
    Collected,
    Collector,
    CollectorParams,
    Fact,
    read_input_bytes,
    relative_name,
    resolve_input,
    resolve_single_input,
)
from assay.evidence.collectors.jsonload import load_strict
from assay.timeutil import format_instant, from_epoch, parse_instant

# A chosen default: API calls that change logging, encryption keys, IAM
# permissions, credentials, bucket access or network access.
DEFAULT_SENSITIVE_EVENTS = (
    "StopLogging", "DeleteTrail", "UpdateTrail", "PutEventSelectors",
    "DisableKey", "ScheduleKeyDeletion",
    "CreateUser", "CreateAccessKey", "CreateLoginProfile", "UpdateLoginProfile",
    "DeactivateMFADevice",
    "AttachUserPolicy", "AttachRolePolicy", "AttachGroupPolicy",
    "PutUserPolicy", "PutRolePolicy", "PutGroupPolicy",
    "DetachUserPolicy", "DetachRolePolicy", "DetachGroupPolicy",
    "CreatePolicyVersion", "UpdateAssumeRolePolicy",
    "PutBucketPolicy", "DeleteBucketPolicy", "PutBucketAcl",
    "PutBucketPublicAccessBlock", "DeleteBucketPublicAccessBlock",
    "AuthorizeSecurityGroupIngress", "AuthorizeSecurityGroupEgress",
    "CreateNetworkAclEntry", "DeleteFlowLogs",
    "StopConfigurationRecorder", "DeleteConfigurationRecorder", "DeleteDeliveryChannel",
    "DeleteDetector", "LeaveOrganization",
)  # fmt: skip

POLICY_ATTACH_EVENTS = frozenset({
    "AttachUserPolicy", "AttachRolePolicy", "AttachGroupPolicy",
    "PutUserPolicy", "PutRolePolicy", "PutGroupPolicy",
})  # fmt: skip

DEFAULT_MAX_LISTED_EVENTS = 1000

# CloudTrail writes one digest file per trail and region each hour (AWS
# "CloudTrail digest file structure"), so a gap in the chain of N hours means
# N digest files are missing.
DIGEST_PERIOD = timedelta(hours=1)

SIGNATURE_ALGORITHM = "SHA256withRSA"
HASH_ALGORITHM = "SHA-256"

_METADATA_SUFFIX = ".s3-object-metadata.json"
_GZIP_MAGIC = b"\x1f\x8b"
_DIGEST_NAME = re.compile(r"_CloudTrail-Digest_.*\.json(?:\.gz)?$")
_INSIGHT_NAME = re.compile(r"_CloudTrail-Insight_.*\.json(?:\.gz)?$")
_LOG_NAME = re.compile(r"_CloudTrail_.*\.json(?:\.gz)?$")
_JSON_NAME = re.compile(r"\.json(?:\.gz)?$")
# Digest object names end with the digest's end time: ..._20150817T150131Z.json.gz
_DIGEST_END = re.compile(r"^(?P<chain>.*)_(?P<end>\d{8}T\d{6}Z)(?P<backfill>_backfill)?\.json$")
_PREVIOUS_FIELDS = (
    "previousDigestS3Bucket", "previousDigestS3Object", "previousDigestHashValue",
    "previousDigestHashAlgorithm", "previousDigestSignature",
)  # fmt: skip
_HEX = re.compile(r"^[0-9a-fA-F]+$")


class CloudTrailParams(CollectorParams):
    """Parameters of the cloudtrail collector."""

    path: str = Field(
        description="Folder (searched recursively) or glob, relative to the workspace, under "
        "which the CloudTrail log files, digest files and their .s3-object-metadata.json "
        "files are found, for example a copy of s3://BUCKET/AWSLogs/."
    )
    public_key: str | None = Field(
        default=None,
        description="Public key that verifies the digest signatures, relative to the workspace: "
        "a PEM file, or the JSON output of `aws cloudtrail list-public-keys` (PublicKeyList with "
        "base64 DER values and fingerprints). Without it the signatures are unverified.",
    )
    sensitive_events: list[str] = Field(
        default_factory=lambda: list(DEFAULT_SENSITIVE_EVENTS),
        description="eventName values reported in the sensitive_events fact.",
    )
    max_listed_events: int = Field(
        default=DEFAULT_MAX_LISTED_EVENTS,
        gt=0,
        description="Largest number of events listed in each `events` list of a fact; the "
        "counts include every event.",
    )


def _fact(name: str, type_: Any, description: str) -> Fact:
    return Fact(name=name, type=type_, description=description)


_EVENT_LIST = (
    "{count, events, truncated}: events is a list of {time, actor, event, ...} sorted by time, "
    "at most max_listed_events long, and truncated tells whether events were left out."
)


class CloudTrail(Collector):
    name = "cloudtrail"
    version = "1"
    summary = (
        "Read CloudTrail log and digest files: log file hashes, the digest chain, digest "
        "signatures and security-relevant events."
    )
    Params = CloudTrailParams
    facts = (
        _fact("events", "int", "Events counted: the Records of every readable log file, each "
              "log file counted once when both X.json and X.json.gz are present."),
        _fact("log_files", "int", "Log files found, X.json and X.json.gz counted as one."),
        _fact("digest_files", "int", "Digest files found, X.json and X.json.gz counted as one."),
        _fact("log_files_verified", "int", "Log files that a digest file lists and whose "
              "every copy has the SHA-256 that the digest file records."),
        _fact("log_files_mismatched", "list", "Sorted paths of the log file copies whose "
              "SHA-256 (of the uncompressed bytes) differs from the digest file's hashValue."),
        _fact("log_files_not_in_digest", "list", "Sorted paths of the log files that no "
              "readable digest file lists."),
        _fact("log_files_missing", "list", "Sorted S3 object keys of the log files that a "
              "digest file lists but that are not under path."),
        _fact("digest_chain_breaks", "int", "Breaks in the chains of digest files: each "
              "missing digest file counts once, estimated from the hourly digest period when "
              "several are missing in a row, and each predecessor whose hash or signature "
              "differs from what its successor records counts once."),
        _fact("digest_chain_break_files", "list", "Sorted names of the digest files that break "
              "a chain: the S3 object key named by previousDigestS3Object for a missing file "
              "(only the newest of several missing in a row is named), or the path of a "
              "present file whose hash or signature differs."),
        _fact("digest_signatures", "str", "\"verified\" when every digest signature is valid "
              "for the public key, \"invalid\" when any is not (or a digest file cannot be "
              "read), otherwise \"unverified\" (no public_key, or a signature not available). "
              "Absent without digest files."),
        _fact("digest_signature_results", "map", "Map from digest file path to {status, "
              "reason}, status as in digest_signatures."),
        _fact("invalid_files", "list", "Files that could not be read as what their name says, "
              "as {file, reason}, sorted by file. Their events are not counted, and each is "
              "also a failure."),
        _fact("first_event_at", "timestamp", "Earliest eventTime, RFC 3339 UTC."),
        _fact("last_event_at", "timestamp", "Latest eventTime, RFC 3339 UTC, which is also "
              "the observation time."),
        _fact("logging_stopped", "map", "Successful (no errorCode) StopLogging and DeleteTrail "
              "calls, and UpdateTrail calls that set enableLogFileValidation, "
              "isMultiRegionTrail or includeGlobalServiceEvents to false: " + _EVENT_LIST),
        _fact("policy_attached", "map", "Successful Attach{User,Role,Group}Policy and "
              "Put{User,Role,Group}Policy calls: " + _EVENT_LIST + " Each event has policy "
              "and admin (true for AdministratorAccess or an inline policy that allows action "
              "* on resource *), and admin_count counts those."),
        _fact("key_deletion_scheduled", "map", "Successful KMS ScheduleKeyDeletion calls: "
              + _EVENT_LIST + " Each event has key_id and pending_window_days."),
        _fact("console_logins_without_mfa", "map", "ConsoleLogin events whose "
              "additionalEventData.MFAUsed is \"No\", failed logins included: " + _EVENT_LIST
              + " Each event has result (Success or Failure)."),
        _fact("sensitive_events", "map", "Events whose eventName is in the sensitive_events "
              "parameter, failed calls included: " + _EVENT_LIST + " Each event has source "
              "and error_code (null when the call succeeded), and by_event maps every "
              "configured name to its count."),
    )  # fmt: skip

    def collect(self, params: CloudTrailParams, context: CollectContext) -> Collected:
        """Read every log, digest and metadata file under `path` and return their facts."""
        public_keys = None
        key_display = None
        key_file = None
        if params.public_key is not None:
            key_file = resolve_single_input(context.workspace, params.public_key)
            key_display = relative_name(context.workspace, key_file)
            public_keys = _load_public_keys(key_file, key_display)

        tree = _scan_tree(context.workspace, params.path, exclude=key_display)
        if not tree.logs and not tree.digests:
            raise CollectorError(
                "no CloudTrail log or digest files (*_CloudTrail_*.json, "
                "*_CloudTrail-Digest_*.json, optionally .gz) found; point path at a copy "
                "of the trail's AWSLogs folder",
                path=params.path,
            )

        report = _Report()
        report.warnings.extend(tree.warnings)
        digests = [
            _read_digest(stem, copies, report) for stem, copies in sorted(tree.digests.items())
        ]
        _attach_metadata(digests, tree.metadata, report)
        chain = _check_chains(digests)
        signatures = _check_signatures(digests, public_keys, report)
        events = _EventScanner(params)
        logs, missing_logs = _check_logs(tree.logs, digests, events, report)
        collected = _build_result(tree, chain, signatures, logs, missing_logs, events, report)
        if key_file is not None:
            # The key the signatures were checked with is evidence too, so an
            # auditor can see which key "verified" refers to.
            collected.artifacts.append(key_file)
        return collected


# Discovery


@dataclass
class _Tree:
    """The files under `path`, grouped by what they are."""

    logs: dict[str, list[tuple[Path, str]]] = field(default_factory=dict)
    digests: dict[str, list[tuple[Path, str]]] = field(default_factory=dict)
    metadata: dict[str, tuple[Path, str]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def _scan_tree(workspace: Path, path: str, exclude: str | None) -> _Tree:
    """Find the files under a folder or glob and sort them into logs, digests and metadata.

    In a folder only files named like CloudTrail log files are log files. Copies
    are keyed by their workspace-relative path without `.gz` (logs) or without
    `.json` or `.json.gz` (digests), so X.json and X.json.gz share a key.
    """
    pattern = path
    is_folder = (workspace / path).is_dir()
    if is_folder:
        pattern = os.path.join(path, "**", "*")
    log_name = _LOG_NAME if is_folder else _JSON_NAME
    tree = _Tree()
    skipped: list[str] = []
    insights: list[str] = []
    for file in resolve_input(workspace, pattern):
        display = relative_name(workspace, file)
        name = file.name
        if display == exclude:
            continue
        if name.endswith(_METADATA_SUFFIX):
            tree.metadata[display.removesuffix(_METADATA_SUFFIX)] = (file, display)
        elif _DIGEST_NAME.search(name):
            stem = display.removesuffix(".gz").removesuffix(".json")
            tree.digests.setdefault(stem, []).append((file, display))
        elif _INSIGHT_NAME.search(name):
            insights.append(display)
        elif log_name.search(name):
            tree.logs.setdefault(display.removesuffix(".gz"), []).append((file, display))
        else:
            skipped.append(display)
    for copies in (*tree.logs.values(), *tree.digests.values()):
        # The .gz copy first: it is the form CloudTrail delivers.
        copies.sort(key=lambda copy: not copy[1].endswith(".gz"))
    if skipped:
        tree.warnings.append(
            f"skipped {len(skipped)} files that are not CloudTrail log, digest or metadata "
            f"files (first: {skipped[0]})"
        )
    if insights:
        tree.warnings.append(
            f"skipped {len(insights)} CloudTrail Insights files (first: {insights[0]})"
        )
    return tree


class _InvalidFile(Exception):
    """Raised for a file that cannot be read as the kind of file its name indicates.

    The message is the reason.
    """


@dataclass
class _Report:
    """Invalid files and warnings found while reading."""

    invalid: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def add_invalid(self, display: str, reason: str) -> None:
        self.invalid.setdefault(display, reason)


def _read_uncompressed(file: Path, display: str) -> bytes:
    """Read a file and gunzip it when it starts with the gzip magic bytes.

    Raises _InvalidFile for unreadable or damaged gzip data, and for data
    after the first gzip member, which a reader that stops at the first member
    would ignore without notice.
    """
    try:
        data = read_input_bytes(file, display)
    except CollectorError as exc:
        raise _InvalidFile(exc.reason) from exc
    if not data.startswith(_GZIP_MAGIC):
        return data
    decompressor = zlib.decompressobj(wbits=31)
    limit = input_limit()
    try:
        content = decompressor.decompress(data, limit + 1)
    except zlib.error as exc:
        raise _InvalidFile(f"invalid gzip data: {exc}") from exc
    if len(content) > limit:
        raise _InvalidFile(
            f"decompresses to more than {limit} bytes; raise max_input_size in assay.yaml to read it"
        )
    if not decompressor.eof:
        raise _InvalidFile("gzip data is truncated")
    trailing = len(decompressor.unused_data)
    if trailing:
        raise _InvalidFile(
            f"{trailing} bytes follow the end of the first gzip member, so the file is not "
            "one gzip member as CloudTrail delivers it"
        )
    return content


def _parse_json(data: bytes, display: str, expected: str) -> Any:
    try:
        return load_strict(data, display, expected=expected)
    except CollectorError as exc:
        where = ""
        if exc.location:
            line, _, column = exc.location.partition(":")
            where = f"line {line}, column {column}: " if column else f"line {line}: "
        raise _InvalidFile(where + exc.reason) from exc


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# Digest files


@dataclass
class _Digest:
    """One digest file (both copies when X.json and X.json.gz are present)."""

    stem: str
    display: str
    content: bytes | None = None
    document: dict[str, Any] | None = None
    problem: str | None = None
    metadata_signature: str | None = None
    metadata_algorithm: str | None = None
    successor_signature: str | None = None
    end: datetime | None = None

    @property
    def object_name(self) -> str:
        """Return the file name without .gz, as matched against S3 object keys."""
        return Path(self.stem).name + ".json"

    @cached_property
    def hash(self) -> str | None:
        return None if self.content is None else _sha256(self.content)

    @property
    def signature(self) -> str | None:
        return self.metadata_signature or self.successor_signature


def _read_digest(stem: str, copies: list[tuple[Path, str]], report: _Report) -> _Digest:
    """Read a digest file's copies and check its fields.

    A problem is stored in the result's `problem` and in the report.
    """
    digest = _Digest(stem=stem, display=copies[0][1])
    contents: list[tuple[str, bytes]] = []
    for file, display in copies:
        try:
            contents.append((display, _read_uncompressed(file, display)))
        except _InvalidFile as exc:
            report.add_invalid(display, str(exc))
    if not contents:
        digest.problem = report.invalid[digest.display]
        return digest
    digest.display, digest.content = contents[0]
    for display, content in contents[1:]:
        if content != digest.content:
            report.add_invalid(display, f"content differs from {digest.display}")
    try:
        document = _parse_json(digest.content, digest.display, expected="a CloudTrail digest")
        digest.document = _check_digest_document(document, digest.object_name)
        digest.end = parse_instant(digest.document["digestEndTime"])
    except _InvalidFile as exc:
        digest.problem = str(exc)
        digest.document = None
        report.add_invalid(digest.display, digest.problem)
    return digest


def _check_digest_document(document: Any, object_name: str) -> dict[str, Any]:
    """Return the digest document, or raise _InvalidFile naming the first bad field."""
    if not isinstance(document, dict):
        raise _InvalidFile("not a CloudTrail digest file: expected a JSON object")
    for key in ("digestStartTime", "digestEndTime", "digestS3Bucket", "digestS3Object",
                "digestPublicKeyFingerprint", "digestSignatureAlgorithm"):
        if not isinstance(document.get(key), str):
            raise _InvalidFile(f"not a CloudTrail digest file: {key} is missing or not a string")

    for key in ("digestStartTime", "digestEndTime"):
        try:
            parse_instant(document[key])
        except ValueError as exc:
            raise _InvalidFile(f"{key}: {exc}") from exc

    named = Path(document["digestS3Object"]).name.removesuffix(".gz")
    if named != object_name:
        raise _InvalidFile(
            f"digestS3Object names {named}, so this file was moved or renamed from where "
            "CloudTrail delivered it"
        )

    nulls = [key for key in _PREVIOUS_FIELDS if document.get(key) is None]
    if nulls and len(nulls) != len(_PREVIOUS_FIELDS):
        raise _InvalidFile(
            f"{nulls[0]} is null but other previousDigest fields are set; a starting digest "
            "has all five null"
        )
    if not nulls:
        for key in _PREVIOUS_FIELDS:
            if not isinstance(document[key], str):
                raise _InvalidFile(f"{key}: expected a string or null")

    log_files = document.get("logFiles")
    if not isinstance(log_files, list):
        raise _InvalidFile("not a CloudTrail digest file: logFiles is missing or not a list")
    for index, entry in enumerate(log_files):
        where = f"logFiles[{index}]"
        if not isinstance(entry, dict):
            raise _InvalidFile(f"{where}: expected a JSON object")
        for key in ("s3Bucket", "s3Object", "hashValue", "hashAlgorithm"):
            if not isinstance(entry.get(key), str):
                raise _InvalidFile(f"{where}.{key} is missing or not a string")
        if entry["hashAlgorithm"] != HASH_ALGORITHM:
            raise _InvalidFile(
                f"{where}.hashAlgorithm: {entry['hashAlgorithm']!r} is not supported "
                f"(expected {HASH_ALGORITHM})"
            )
    return document


def _attach_metadata(
    digests: list[_Digest], metadata: dict[str, tuple[Path, str]], report: _Report
) -> None:
    """Read each digest's .s3-object-metadata.json and keep its signature and algorithm."""
    by_stem = {digest.stem: digest for digest in digests}
    for stem, (file, display) in sorted(metadata.items()):
        digest = by_stem.get(stem)
        if digest is None:
            report.warnings.append(f"{display} belongs to no digest file under path")
            continue
        try:
            document = _parse_json(
                _read_uncompressed(file, display), display, expected="S3 object metadata"
            )
            signature, algorithm = _metadata_signature(document)
        except _InvalidFile as exc:
            report.add_invalid(display, str(exc))
            continue
        digest.metadata_signature = signature
        digest.metadata_algorithm = algorithm


def _metadata_signature(document: Any) -> tuple[str, str | None]:
    if not isinstance(document, dict):
        raise _InvalidFile("not S3 object metadata: expected a JSON object")
    signature = document.get("x-amz-meta-signature", document.get("signature"))
    algorithm = document.get(
        "x-amz-meta-signature-algorithm", document.get("signature-algorithm")
    )
    if not isinstance(signature, str) or not _HEX.match(signature):
        raise _InvalidFile("x-amz-meta-signature is missing or not hexadecimal")
    if algorithm is not None and not isinstance(algorithm, str):
        raise _InvalidFile("x-amz-meta-signature-algorithm: expected a string")
    return signature.lower(), algorithm


# Digest chains


@dataclass
class _ChainResult:
    breaks: int = 0
    break_files: list[str] = field(default_factory=list)


def _check_chains(digests: list[_Digest]) -> _ChainResult:
    """Check each digest's link to its predecessor, and give the predecessor the recorded signature.

    Backfill digests (`_backfill` in the name) are left out of the chains.
    NOTE: their previousDigest fields are not checked, because the AWS pages
    read for this collector do not say how backfill digests chain.
    """
    result = _ChainResult()
    by_name = {digest.object_name: digest for digest in digests}
    chain_ends: dict[tuple[str, str], list[datetime]] = {}
    for digest in digests:
        key = _chain_key(digest)
        if key is not None and digest.end is not None:
            chain_ends.setdefault(key, []).append(digest.end)

    for digest in digests:
        document = digest.document
        if document is None or _chain_key(digest) is None:
            continue
        previous_object = document["previousDigestS3Object"]
        if previous_object is None:
            continue
        previous_name = Path(previous_object).name.removesuffix(".gz")
        previous = by_name.get(previous_name)
        if previous is None:
            result.breaks += _count_missing(digest, previous_name, chain_ends)
            result.break_files.append(previous_object)
            continue
        previous.successor_signature = document["previousDigestSignature"].lower()
        if not _link_matches(document, previous):
            result.breaks += 1
            result.break_files.append(previous.display)
    result.break_files.sort()
    return result


def _chain_key(digest: _Digest) -> tuple[str, str] | None:
    """Return (bucket, object name without its time) for a chained digest, else None."""
    if digest.document is None:
        return None
    match = _DIGEST_END.match(digest.object_name)
    if match is None or match["backfill"]:
        return None
    return digest.document["digestS3Bucket"], match["chain"]


def _count_missing(
    digest: _Digest, previous_name: str, chain_ends: dict[tuple[str, str], list[datetime]]
) -> int:
    """Estimate how many digests are missing before `digest`, whose predecessor is absent.

    The missing predecessor's end time is in its name. The gap from the newest
    present digest of the chain that ends before it, in digest periods, is the
    number of digests missing. Without an older digest only the named one counts.
    NOTE: a chain that restarted inside the gap (logging stopped and started)
    has fewer digests there, so this can overcount.
    """
    match = _DIGEST_END.match(previous_name)
    key = _chain_key(digest)
    if match is None or key is None:
        return 1
    missing_end = datetime.strptime(match["end"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    older = [end for end in chain_ends.get(key, []) if end < missing_end]
    if not older:
        return 1
    return max(1, round((missing_end - max(older)) / DIGEST_PERIOD))


def _link_matches(document: dict[str, Any], previous: _Digest) -> bool:
    """Tell whether the predecessor is the file its successor's previousDigest fields describe."""
    if previous.content is None:
        return False
    if document["previousDigestHashAlgorithm"] != HASH_ALGORITHM:
        return False
    if previous.hash != document["previousDigestHashValue"].lower():
        return False
    if previous.document is not None and (
        previous.document["digestS3Bucket"] != document["previousDigestS3Bucket"]
    ):
        return False
    recorded = document["previousDigestSignature"].lower()
    return previous.metadata_signature is None or previous.metadata_signature == recorded


# Signatures


@dataclass(frozen=True)
class _PublicKey:
    fingerprint: str
    key: rsa.RSAPublicKey
    valid_from: datetime | None = None
    valid_until: datetime | None = None


def _load_public_keys(file: Path, display: str) -> dict[str, _PublicKey]:
    """Load a PEM public key, or the keys of a ListPublicKeys response, by fingerprint."""
    data = read_input_bytes(file, display)
    if b"-----BEGIN" in data:
        try:
            key = load_pem_public_key(data)
        except (ValueError, UnsupportedAlgorithm) as exc:
            raise CollectorError(f"invalid PEM public key: {exc}", path=display) from exc
        rsa_key = _require_rsa(key, display)
        fingerprint = _fingerprint(rsa_key)
        return {fingerprint: _PublicKey(fingerprint, rsa_key)}

    document = load_strict(data, display, expected="a PEM public key or ListPublicKeys JSON")
    entries = None
    if isinstance(document, dict):
        entries = document.get("PublicKeyList", document.get("publicKeyList"))
    if not isinstance(entries, list) or not entries:
        raise CollectorError(
            "expected a PEM public key or the JSON of `aws cloudtrail list-public-keys` "
            "with a non-empty PublicKeyList",
            path=display,
        )
    keys: dict[str, _PublicKey] = {}
    for index, entry in enumerate(entries):
        where = f"PublicKeyList[{index}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("Value"), str):
            raise CollectorError(f"{where}.Value is missing or not a string", path=display)
        try:
            key = load_der_public_key(base64.b64decode(entry["Value"], validate=True))
        except (binascii.Error, ValueError, UnsupportedAlgorithm) as exc:
            raise CollectorError(
                f"{where}.Value is not a base64 DER public key: {exc}", path=display
            ) from exc
        rsa_key = _require_rsa(key, display)
        fingerprint = entry.get("Fingerprint")
        if fingerprint is None:
            fingerprint = _fingerprint(rsa_key)
        elif not isinstance(fingerprint, str):
            raise CollectorError(f"{where}.Fingerprint: expected a string", path=display)
        keys[fingerprint.lower()] = _PublicKey(
            fingerprint.lower(),
            rsa_key,
            _validity_time(entry.get("ValidityStartTime"), f"{where}.ValidityStartTime", display),
            _validity_time(entry.get("ValidityEndTime"), f"{where}.ValidityEndTime", display),
        )
    return keys


def _require_rsa(key: Any, display: str) -> rsa.RSAPublicKey:
    if not isinstance(key, rsa.RSAPublicKey):
        raise CollectorError(
            f"the public key is {type(key).__name__}, but CloudTrail signs digests with RSA",
            path=display,
        )
    return key


def _fingerprint(key: rsa.RSAPublicKey) -> str:
    """Return the MD5 of the key's PKCS #1 DER encoding, in hex.

    NOTE: AWS does not document how digestPublicKeyFingerprint is computed.
    This form equals the Fingerprint of the sample ListPublicKeys output used
    in the tests, but it is used only for PEM keys, which carry no fingerprint.
    """
    der = key.public_bytes(Encoding.DER, PublicFormat.PKCS1)
    return hashlib.md5(der, usedforsecurity=False).hexdigest()


def _validity_time(value: Any, where: str, display: str) -> datetime | None:
    """Parse a ListPublicKeys validity time: RFC 3339, or epoch seconds as the CLI prints them."""
    if value is None:
        return None
    try:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return from_epoch(value)
        if isinstance(value, str):
            if re.fullmatch(r"\d+(\.\d+)?", value):
                return from_epoch(float(value))
            return parse_instant(value)
    except (ValueError, OverflowError) as exc:
        raise CollectorError(f"{where}: {exc}", path=display) from exc
    raise CollectorError(f"{where}: expected a timestamp", path=display)


@dataclass
class _SignatureResult:
    status: str
    reason: str


def _check_signatures(
    digests: list[_Digest], keys: dict[str, _PublicKey] | None, report: _Report
) -> dict[str, _SignatureResult]:
    """Verify each digest's signature, keyed by the digest's path."""
    results = {}
    for digest in digests:
        results[digest.display] = _check_signature(digest, keys, report)
    return results


def _check_signature(
    digest: _Digest, keys: dict[str, _PublicKey] | None, report: _Report
) -> _SignatureResult:
    document = digest.document
    if document is None or digest.content is None:
        return _SignatureResult("invalid", f"the digest file cannot be read: {digest.problem}")
    algorithm = document["digestSignatureAlgorithm"]
    if algorithm != SIGNATURE_ALGORITHM or digest.metadata_algorithm not in (None, algorithm):
        return _SignatureResult(
            "invalid", f"signature algorithm {algorithm!r} is not {SIGNATURE_ALGORITHM}"
        )

    signature = digest.signature
    if signature is None:
        return _SignatureResult(
            "unverified",
            "no signature: no .s3-object-metadata.json beside it and no later digest names it",
        )
    if keys is None:
        return _SignatureResult("unverified", "no public_key given")

    fingerprint = document["digestPublicKeyFingerprint"].lower()
    public_key = keys.get(fingerprint)
    if public_key is None:
        return _SignatureResult(
            "invalid", f"public_key has no key with fingerprint {fingerprint}"
        )
    _warn_outside_validity(digest, public_key, report)

    try:
        public_key.key.verify(
            bytes.fromhex(signature), _data_to_sign(digest), padding.PKCS1v15(), hashes.SHA256()
        )
    except (InvalidSignature, ValueError):
        return _SignatureResult("invalid", "the signature does not match the digest file")
    return _SignatureResult("verified", f"signed by the key with fingerprint {fingerprint}")


def _data_to_sign(digest: _Digest) -> bytes:
    """Build the string CloudTrail signs. A starting digest's null signature is written `null`."""
    document = digest.document
    assert document is not None and digest.hash is not None
    previous_signature = document["previousDigestSignature"]
    if previous_signature is None:
        previous_signature = "null"
    text = "\n".join([
        document["digestEndTime"],
        f"{document['digestS3Bucket']}/{document['digestS3Object']}",
        digest.hash,
        previous_signature,
    ])
    return text.encode("utf-8")


def _warn_outside_validity(digest: _Digest, key: _PublicKey, report: _Report) -> None:
    end = digest.end
    if end is None:
        return
    if (key.valid_from and end < key.valid_from) or (key.valid_until and end > key.valid_until):
        report.warnings.append(
            f"{digest.display} ends at {format_instant(end)}, outside the validity of the "
            f"public key with fingerprint {key.fingerprint}"
        )


def _overall_signature_status(results: dict[str, _SignatureResult]) -> str:
    statuses = {result.status for result in results.values()}
    if "invalid" in statuses:
        return "invalid"
    if "unverified" in statuses:
        return "unverified"
    return "verified"


# Log files


@dataclass
class _LogFile:
    """One log file (both copies when X.json and X.json.gz are present)."""

    display: str
    in_digest: bool = False
    verified: bool = False
    mismatched: list[str] = field(default_factory=list)


def _check_logs(
    logs: dict[str, list[tuple[Path, str]]],
    digests: list[_Digest],
    events: _EventScanner,
    report: _Report,
) -> tuple[list[_LogFile], list[str]]:
    """Hash every copy of every log file against the digests, and count one copy's events.

    Returns the log files and the sorted S3 keys of the log files that digests
    list but that are not under path.
    """
    expected = _expected_hashes(digests)
    found_names: set[str] = set()
    result = []
    for key, copies in sorted(logs.items()):
        name = Path(key).name
        found_names.add(name)
        log = _LogFile(display=copies[0][1])
        hashes_expected = expected.get(name)
        log.in_digest = hashes_expected is not None
        readable: list[tuple[str, bytes, bool]] = []
        for file, display in copies:
            try:
                content = _read_uncompressed(file, display)
            except _InvalidFile as exc:
                report.add_invalid(display, str(exc))
                continue
            content_hash = _sha256(content)
            matches = hashes_expected is not None and all(
                content_hash == expected_hash for expected_hash, _ in hashes_expected
            )
            if hashes_expected is not None and not matches:
                log.mismatched.append(display)
            readable.append((display, content, matches))
        log.verified = (
            log.in_digest and len(readable) == len(copies) and not log.mismatched
        )
        records = _records_to_count(readable, report)
        if records is not None:
            events.add_file(records)
        result.append(log)
    missing = sorted({
        s3_object
        for name, entries in expected.items()
        if name not in found_names
        for _, s3_object in entries
    })
    return result, missing


def _expected_hashes(digests: list[_Digest]) -> dict[str, list[tuple[str, str]]]:
    """Map each log file name (without .gz) to the (hash, S3 key) pairs that digests record."""
    expected: dict[str, list[tuple[str, str]]] = {}
    for digest in digests:
        if digest.document is None:
            continue
        for entry in digest.document["logFiles"]:
            name = Path(entry["s3Object"]).name.removesuffix(".gz")
            expected.setdefault(name, []).append((entry["hashValue"].lower(), entry["s3Object"]))
    return expected


def _records_to_count(
    readable: list[tuple[str, bytes, bool]], report: _Report
) -> list[dict[str, Any]] | None:
    """Parse the copy whose events are counted: one that matches the digest, else the first.

    Other copies are parsed too, so that a damaged copy is reported.
    """
    chosen: list[dict[str, Any]] | None = None
    chosen_display = None
    chosen_matches = False
    contents: dict[str, bytes] = {}
    for display, content, matches in readable:
        try:
            records = _parse_log(content, display)
        except _InvalidFile as exc:
            report.add_invalid(display, str(exc))
            continue
        contents[display] = content
        if chosen is None or (matches and not chosen_matches):
            chosen, chosen_display, chosen_matches = records, display, matches
    if chosen_display is not None:
        for display, content in contents.items():
            if content != contents[chosen_display]:
                report.warnings.append(
                    f"{display} differs from {chosen_display}, so only the events of "
                    f"{chosen_display} are counted"
                )
    return chosen


def _parse_log(content: bytes, display: str) -> list[dict[str, Any]]:
    document = _parse_json(content, display, expected='a CloudTrail log file ({"Records": [...]})')
    if not isinstance(document, dict) or not isinstance(document.get("Records"), list):
        raise _InvalidFile(
            'not a CloudTrail log file: expected a JSON object with a "Records" array'
        )
    records = document["Records"]
    for index, record in enumerate(records):
        where = f"Records[{index}]"
        if not isinstance(record, dict):
            raise _InvalidFile(f"{where}: expected a JSON object")
        for key in ("eventTime", "eventName", "eventSource"):
            if not isinstance(record.get(key), str):
                raise _InvalidFile(f"{where}.{key} is missing or not a string")
        try:
            record["eventTime"] = parse_instant(record["eventTime"])
        except ValueError as exc:
            raise _InvalidFile(f"{where}.eventTime: {exc}") from exc
    return records


# Events


@dataclass
class _EventList:
    entries: list[dict[str, Any]] = field(default_factory=list)
    admin_count: int = 0

    def facts(self, limit: int) -> dict[str, Any]:
        ordered = sorted(self.entries, key=lambda entry: (entry["time"], entry["event"]))
        return {
            "count": len(ordered),
            "events": ordered[:limit],
            "truncated": len(ordered) > limit,
        }


class _EventScanner:
    """Event counter that also collects the security-relevant events."""

    def __init__(self, params: CloudTrailParams) -> None:
        self.limit = params.max_listed_events
        self.sensitive_names = frozenset(params.sensitive_events)
        self.by_sensitive_name: Counter[str] = Counter(
            {name: 0 for name in params.sensitive_events}
        )
        self.events = 0
        self.first: datetime | None = None
        self.last: datetime | None = None
        self.logging_stopped = _EventList()
        self.policy_attached = _EventList()
        self.key_deletion = _EventList()
        self.logins_without_mfa = _EventList()
        self.sensitive = _EventList()

    def add_file(self, records: list[dict[str, Any]]) -> None:
        for record in records:
            self.add(record)

    def add(self, record: dict[str, Any]) -> None:
        self.events += 1
        time = record["eventTime"]
        if self.first is None or time < self.first:
            self.first = time
        if self.last is None or time > self.last:
            self.last = time

        name = record["eventName"]
        failed = record.get("errorCode") is not None
        parameters = record.get("requestParameters")
        if not isinstance(parameters, dict):
            parameters = {}

        if name in self.sensitive_names:
            self.by_sensitive_name[name] += 1
            self.sensitive.entries.append(
                _entry(record, source=record["eventSource"], error_code=record.get("errorCode"))
            )
        if name == "ConsoleLogin":
            self._add_console_login(record)
        if failed:
            return
        if name in ("StopLogging", "DeleteTrail"):
            self.logging_stopped.entries.append(_entry(record, trail=parameters.get("name")))
        elif name == "UpdateTrail":
            reason = _trail_weakening(parameters)
            if reason is not None:
                self.logging_stopped.entries.append(
                    _entry(record, trail=parameters.get("name"), reason=reason)
                )
        elif name in POLICY_ATTACH_EVENTS:
            policy, admin = _policy_of(parameters)
            self.policy_attached.entries.append(_entry(record, policy=policy, admin=admin))
            self.policy_attached.admin_count += admin
        elif name == "ScheduleKeyDeletion":
            self.key_deletion.entries.append(_entry(
                record,
                key_id=parameters.get("keyId"),
                pending_window_days=parameters.get("pendingWindowInDays"),
            ))

    def _add_console_login(self, record: dict[str, Any]) -> None:
        extra = record.get("additionalEventData")
        if not isinstance(extra, dict) or extra.get("MFAUsed") != "No":
            return
        response = record.get("responseElements")
        result = response.get("ConsoleLogin") if isinstance(response, dict) else None
        self.logins_without_mfa.entries.append(_entry(record, result=result))

    def facts(self) -> dict[str, Any]:
        policy = self.policy_attached.facts(self.limit)
        policy["admin_count"] = self.policy_attached.admin_count
        sensitive = self.sensitive.facts(self.limit)
        sensitive["by_event"] = dict(sorted(self.by_sensitive_name.items()))
        return {
            "logging_stopped": self.logging_stopped.facts(self.limit),
            "policy_attached": policy,
            "key_deletion_scheduled": self.key_deletion.facts(self.limit),
            "console_logins_without_mfa": self.logins_without_mfa.facts(self.limit),
            "sensitive_events": sensitive,
        }


def _entry(record: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "time": format_instant(record["eventTime"]),
        "actor": _actor(record),
        "event": record["eventName"],
        **extra,
    }


def _actor(record: dict[str, Any]) -> str | None:
    """Return who made the call: the ARN, else the user name, principal ID or calling service."""
    identity = record.get("userIdentity")
    if not isinstance(identity, dict):
        return None
    for key in ("arn", "userName", "principalId", "invokedBy", "type"):
        value = identity.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def _trail_weakening(parameters: dict[str, Any]) -> str | None:
    """Return why an UpdateTrail call reduces logging, or None when it does not."""
    if parameters.get("enableLogFileValidation") is False:
        return "disables log file validation"
    if parameters.get("isMultiRegionTrail") is False:
        return "limits the trail to one region"
    if parameters.get("includeGlobalServiceEvents") is False:
        return "excludes global service events"
    return None


def _policy_of(parameters: dict[str, Any]) -> tuple[str | None, bool]:
    """Return the policy's ARN or inline name, and whether it grants administrator access."""
    arn = parameters.get("policyArn")
    if isinstance(arn, str):
        return arn, arn.endswith(":policy/AdministratorAccess")
    name = parameters.get("policyName")
    document = parameters.get("policyDocument")
    return (name if isinstance(name, str) else None), _allows_everything(document)


def _allows_everything(document: Any) -> bool:
    """Tell whether an inline policy document allows action * on resource *.

    CloudTrail records the document as a string, URL-encoded in some events.
    """
    if isinstance(document, str):
        for text in (document, urllib.parse.unquote(document)):
            try:
                document = json.loads(text)
                break
            except ValueError:
                continue
        else:
            return False
    if not isinstance(document, dict):
        return False
    statements = document.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list):
        return False
    for statement in statements:
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        actions = _as_list(statement.get("Action"))
        resources = _as_list(statement.get("Resource"))
        if ("*" in actions or "*:*" in actions) and "*" in resources:
            return True
    return False


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# Result


def _build_result(
    tree: _Tree,
    chain: _ChainResult,
    signatures: dict[str, _SignatureResult],
    logs: list[_LogFile],
    missing_logs: list[str],
    events: _EventScanner,
    report: _Report,
) -> Collected:
    facts: dict[str, Any] = {
        "events": events.events,
        "log_files": len(tree.logs),
        "digest_files": len(tree.digests),
        "log_files_verified": sum(log.verified for log in logs),
        "log_files_mismatched": sorted(name for log in logs for name in log.mismatched),
        "log_files_not_in_digest": sorted(log.display for log in logs if not log.in_digest),
        "log_files_missing": missing_logs,
        "digest_chain_breaks": chain.breaks,
        "digest_chain_break_files": chain.break_files,
        "digest_signature_results": {
            display: {"status": result.status, "reason": result.reason}
            for display, result in sorted(signatures.items())
        },
        "invalid_files": [
            {"file": display, "reason": reason}
            for display, reason in sorted(report.invalid.items())
        ],
    }
    absent: dict[str, str] = {}
    if signatures:
        facts["digest_signatures"] = _overall_signature_status(signatures)
    else:
        absent["digest_signatures"] = "no digest files under path"
        report.warnings.append(
            "no digest files under path, so no log file can be checked against a digest"
        )
    observed_at = None
    if events.first is not None and events.last is not None:
        facts["first_event_at"] = format_instant(events.first)
        facts["last_event_at"] = format_instant(events.last)
        observed_at = events.last
    else:
        absent["first_event_at"] = absent["last_event_at"] = "no events in the log files"
    facts.update(events.facts())

    failures = [f"{display}: {reason}" for display, reason in sorted(report.invalid.items())]
    artifacts = sorted({file for copies in tree.logs.values() for file, _ in copies}
                       | {file for copies in tree.digests.values() for file, _ in copies}
                       | {file for file, _ in tree.metadata.values()})
    return Collected(
        facts=facts,
        artifacts=artifacts,
        observed_at=observed_at,
        absent=absent,
        failures=failures,
        warnings=report.warnings,
    )
