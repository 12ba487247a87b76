"""Tests of the cloudtrail collector: log file hashes, digest chains, signatures and events.

tests/data/cloudtrail contains sample CloudTrail files: two log files (each as
.json and .json.gz) with 20 events, two chained digest files with their
.s3-object-metadata.json, and the public half of the throw-away RSA key that
signed them, as ListPublicKeys JSON and as PEM. Longer chains are written by
`write_trail` with a key generated for the test.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from assay.errors import CollectorError, EvidenceMissing
from assay.evidence.collectors.base import CollectContext, Collected
from assay.evidence.collectors.cloudtrail import CloudTrail, CloudTrailParams

DATA_DIR = Path(__file__).resolve().parents[2] / "data" / "cloudtrail"
NOW = datetime(2026, 12, 4, 21, 0, tzinfo=UTC)
KEY_JSON = "test-public-key.ListPublicKeys.json"
KEY_PEM = "test-public-key.pem"
DAY = "2026/12/04"
LOG_DIR = f"AWSLogs/111122223333/CloudTrail/us-east-1/{DAY}"
DIGEST_DIR = f"AWSLogs/111122223333/CloudTrail-Digest/us-east-1/{DAY}"
LOG_1 = f"{LOG_DIR}/111122223333_CloudTrail_us-east-1_20261204T1405Z_sJ3BB5642LDgdINO.json"
LOG_2 = f"{LOG_DIR}/111122223333_CloudTrail_us-east-1_20261204T1420Z_UXzJUGNdd57nB5SR.json"
DIGEST_PREFIX = "111122223333_CloudTrail-Digest_us-east-1_org-audit-trail_us-east-1_"
DIGEST_1 = f"{DIGEST_DIR}/{DIGEST_PREFIX}20261204T140941Z"
DIGEST_2 = f"{DIGEST_DIR}/{DIGEST_PREFIX}20261204T150941Z"
FIXTURE_FINGERPRINT = "1a19223c05e7e952234c78c8335a71d1"
BUCKET = "amzn-s3-demo-bucket"
LOG_NAME_A = "111122223333_CloudTrail_us-east-1_20261204T1000Z_a.json"


def collect(workspace: Path = DATA_DIR, path: str = "AWSLogs", **params: Any) -> Collected:
    context = CollectContext(workspace=workspace, now=NOW)
    return CloudTrail().collect(CloudTrailParams(path=path, **params), context)


def copy_fixture(tmp_path: Path) -> Path:
    workspace = tmp_path / "ws"
    shutil.copytree(DATA_DIR, workspace)
    return workspace


def remove_digest(workspace: Path, stem: str) -> None:
    for suffix in (".json", ".json.gz", ".s3-object-metadata.json"):
        (workspace / (stem + suffix)).unlink(missing_ok=True)


def invalid_reasons(result: Collected) -> dict[str, str]:
    return {entry["file"]: entry["reason"] for entry in result.facts["invalid_files"]}


def write_key_list(path: Path, key: rsa.RSAPublicKey, fingerprint: str) -> None:
    der = key.public_bytes(Encoding.DER, PublicFormat.PKCS1)
    entry = {
        "Value": base64.b64encode(der).decode("ascii"),
        "Fingerprint": fingerprint,
        "ValidityStartTime": "2026-11-01T00:00:00Z",
        "ValidityEndTime": "2027-11-01T00:00:00Z",
    }
    path.write_text(json.dumps({"PublicKeyList": [entry]}), encoding="utf-8")


def fingerprint_of(key: rsa.RSAPublicKey) -> str:
    return hashlib.md5(key.public_bytes(Encoding.DER, PublicFormat.PKCS1)).hexdigest()


def record(
    name: str, time: str, source: str = "iam.amazonaws.com", **fields: Any
) -> dict[str, Any]:
    return {
        "eventVersion": "1.09",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/tester"},
        "eventTime": time, "eventSource": source, "eventName": name,
        "awsRegion": "us-east-1", **fields,
    }  # fmt: skip


def write_log(folder: Path, name: str, records: list[dict[str, Any]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(json.dumps({"Records": records}).encode("utf-8"))
    return path


@pytest.fixture(scope="module")
def chain_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def write_trail(workspace: Path, key: rsa.RSAPrivateKey, hours: int) -> list[str]:
    """Write `hours` hourly log files and a signed chain of digest files, and return their stems.

    Each digest is signed the way AWS documents for CloudTrail: SHA256withRSA over
    the end time, bucket/object, hex SHA-256 of the digest and previous signature.
    """
    start = datetime(2026, 12, 4, 10, 9, 41, tzinfo=UTC)
    stems = []
    previous: tuple[str, bytes, str] | None = None
    for hour in range(hours):
        begin = start + timedelta(hours=hour)
        end = begin + timedelta(hours=1)
        stamp = end.strftime("%Y%m%dT%H%M%SZ")
        log_name = f"111122223333_CloudTrail_us-east-1_{end:%Y%m%dT%H%M}Z_test{hour:04d}.json"
        log_object = f"{LOG_DIR}/{log_name}.gz"
        log_bytes = json.dumps({"Records": [
            record("ListUsers", f"{begin:%Y-%m-%dT%H}:30:00Z"),
            record("GetUser", f"{begin:%Y-%m-%dT%H}:31:00Z"),
        ]}).encode("utf-8")  # fmt: skip
        (workspace / LOG_DIR).mkdir(parents=True, exist_ok=True)
        (workspace / log_object).write_bytes(gzip.compress(log_bytes))

        digest_object = f"{DIGEST_DIR}/{DIGEST_PREFIX}{stamp}.json.gz"
        previous_hash = hashlib.sha256(previous[1]).hexdigest() if previous else None
        document = {
            "awsAccountId": "111122223333",
            "digestStartTime": f"{begin:%Y-%m-%dT%H:%M:%SZ}",
            "digestEndTime": f"{end:%Y-%m-%dT%H:%M:%SZ}",
            "digestS3Bucket": BUCKET, "digestS3Object": digest_object,
            "digestPublicKeyFingerprint": fingerprint_of(key.public_key()),
            "digestSignatureAlgorithm": "SHA256withRSA",
            "previousDigestS3Bucket": BUCKET if previous else None,
            "previousDigestS3Object": previous[0] if previous else None,
            "previousDigestHashValue": previous_hash,
            "previousDigestHashAlgorithm": "SHA-256" if previous else None,
            "previousDigestSignature": previous[2] if previous else None,
            "logFiles": [{"s3Bucket": BUCKET, "s3Object": log_object,
                          "hashValue": hashlib.sha256(log_bytes).hexdigest(),
                          "hashAlgorithm": "SHA-256"}],
        }  # fmt: skip
        digest_bytes = json.dumps(document).encode("utf-8")
        signed = "\n".join([
            document["digestEndTime"], f"{BUCKET}/{digest_object}",
            hashlib.sha256(digest_bytes).hexdigest(), previous[2] if previous else "null",
        ]).encode("utf-8")  # fmt: skip
        signature = key.sign(signed, padding.PKCS1v15(), hashes.SHA256()).hex()
        (workspace / DIGEST_DIR).mkdir(parents=True, exist_ok=True)
        (workspace / digest_object).write_bytes(gzip.compress(digest_bytes))
        stem = digest_object.removesuffix(".json.gz")
        (workspace / f"{stem}.s3-object-metadata.json").write_text(json.dumps({
            "x-amz-meta-signature": signature,
            "x-amz-meta-signature-algorithm": "SHA256withRSA",
        }), encoding="utf-8")  # fmt: skip
        stems.append(stem)
        previous = (digest_object, digest_bytes, signature)
    write_key_list(workspace / "key.json", key.public_key(), fingerprint_of(key.public_key()))
    return stems


# The sample files


def test_fixture_counts_and_integrity():
    result = collect(public_key=KEY_JSON)
    facts = result.facts
    assert facts["events"] == 20
    assert facts["log_files"] == 2
    assert facts["digest_files"] == 2
    assert facts["log_files_verified"] == 2
    assert facts["log_files_mismatched"] == []
    assert facts["log_files_not_in_digest"] == []
    assert facts["log_files_missing"] == []
    assert facts["digest_chain_breaks"] == 0
    assert facts["digest_chain_break_files"] == []
    assert facts["digest_signatures"] == "verified"
    assert facts["invalid_files"] == []
    assert result.failures == []
    assert result.warnings == []


def test_fixture_signature_results_per_digest():
    results = collect(public_key=KEY_JSON).facts["digest_signature_results"]
    assert sorted(results) == [f"{DIGEST_1}.json.gz", f"{DIGEST_2}.json.gz"]
    for result in results.values():
        assert result["status"] == "verified"
        assert FIXTURE_FINGERPRINT in result["reason"]


def test_fixture_pem_key_verifies():
    assert collect(public_key=KEY_PEM).facts["digest_signatures"] == "verified"


def test_fixture_event_times():
    result = collect()
    assert result.facts["first_event_at"] == "2026-12-04T13:52:01.000000Z"
    assert result.facts["last_event_at"] == "2026-12-04T14:16:48.000000Z"
    assert result.observed_at == datetime(2026, 12, 4, 14, 16, 48, tzinfo=UTC)


def test_fixture_logging_stopped():
    stopped = collect().facts["logging_stopped"]
    assert stopped["count"] == 1
    assert stopped["truncated"] is False
    assert stopped["events"] == [{
        "time": "2026-12-04T13:59:30.000000Z",
        "actor": "arn:aws:sts::111122223333:assumed-role/AdminRole/ops-admin",
        "event": "StopLogging",
        "trail": "arn:aws:cloudtrail:us-east-1:111122223333:trail/org-audit-trail",
    }]  # fmt: skip


def test_fixture_policy_attached_flags_admin():
    attached = collect().facts["policy_attached"]
    assert attached["count"] == 1
    assert attached["admin_count"] == 1
    assert attached["events"] == [{
        "time": "2026-12-04T13:56:13.000000Z",
        "actor": "arn:aws:sts::111122223333:assumed-role/Deployer/pipeline-4711",
        "event": "AttachUserPolicy",
        "policy": "arn:aws:iam::aws:policy/AdministratorAccess",
        "admin": True,
    }]  # fmt: skip


def test_fixture_key_deletion_scheduled():
    scheduled = collect().facts["key_deletion_scheduled"]
    assert scheduled["count"] == 1
    assert scheduled["events"][0]["time"] == "2026-12-04T14:09:00.000000Z"
    assert scheduled["events"][0]["actor"] == (
        "arn:aws:sts::111122223333:assumed-role/AdminRole/ops-admin"
    )
    assert scheduled["events"][0]["pending_window_days"] == 7


def test_fixture_console_login_without_mfa():
    logins = collect().facts["console_logins_without_mfa"]
    assert logins["count"] == 1
    assert logins["events"] == [{
        "time": "2026-12-04T13:53:40.000000Z",
        "actor": "HIDDEN_DUE_TO_SECURITY_REASONS",
        "event": "ConsoleLogin",
        "result": "Failure",
    }]  # fmt: skip


def test_fixture_sensitive_events_default_list():
    sensitive = collect().facts["sensitive_events"]
    assert sensitive["count"] == 9
    assert [entry["event"] for entry in sensitive["events"]] == [
        "CreateUser", "AttachUserPolicy", "CreateAccessKey", "PutBucketPublicAccessBlock",
        "StopLogging", "AuthorizeSecurityGroupIngress", "ScheduleKeyDeletion",
        "DetachUserPolicy", "UpdateTrail",
    ]  # fmt: skip
    assert sensitive["by_event"]["StopLogging"] == 1
    assert sensitive["by_event"]["DeleteTrail"] == 0


def test_sensitive_events_parameter_replaces_default():
    sensitive = collect(sensitive_events=["GetObject", "Decrypt"]).facts["sensitive_events"]
    assert sensitive["by_event"] == {"Decrypt": 1, "GetObject": 2}
    assert sensitive["count"] == 3
    denied = [entry for entry in sensitive["events"] if entry["error_code"] == "AccessDenied"]
    assert len(denied) == 1
    assert denied[0]["time"] == "2026-12-04T14:07:21.000000Z"


def test_max_listed_events_truncates_lists():
    sensitive = collect(max_listed_events=2).facts["sensitive_events"]
    assert sensitive["count"] == 9
    assert len(sensitive["events"]) == 2
    assert sensitive["truncated"] is True


def test_folder_scan_skips_other_files():
    result = collect(path=".")
    assert result.facts["events"] == 20
    assert result.facts["invalid_files"] == []
    assert any(KEY_JSON in warning for warning in result.warnings)


def test_public_key_file_not_read_as_log():
    # The glob matches only the key file, which is the public_key and so is left out.
    with pytest.raises(CollectorError) as caught:
        collect(path="*.json", public_key=KEY_JSON)
    assert "no CloudTrail log or digest files" in str(caught.value)


def test_artifacts_name_every_file_read():
    result = collect()
    assert len(result.artifacts) == 10
    assert all(path.is_absolute() for path in result.artifacts)


# Signatures


def test_without_public_key_signatures_unverified():
    result = collect()
    assert result.facts["digest_signatures"] == "unverified"
    for entry in result.facts["digest_signature_results"].values():
        assert entry == {"status": "unverified", "reason": "no public_key given"}


def test_wrong_key_with_same_fingerprint_invalid(tmp_path):
    workspace = copy_fixture(tmp_path)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    write_key_list(workspace / "wrong.json", other, FIXTURE_FINGERPRINT)
    result = collect(workspace, public_key="wrong.json")
    assert result.facts["digest_signatures"] == "invalid"
    for entry in result.facts["digest_signature_results"].values():
        assert entry["reason"] == "the signature does not match the digest file"


def test_wrong_pem_key_fingerprint_unmatched(tmp_path):
    workspace = copy_fixture(tmp_path)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    (workspace / "wrong.pem").write_bytes(
        other.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    )
    result = collect(workspace, public_key="wrong.pem")
    assert result.facts["digest_signatures"] == "invalid"
    for entry in result.facts["digest_signature_results"].values():
        assert entry["reason"] == f"public_key has no key with fingerprint {FIXTURE_FINGERPRINT}"


def test_signature_from_successor_when_metadata_missing(tmp_path):
    workspace = copy_fixture(tmp_path)
    (workspace / f"{DIGEST_1}.s3-object-metadata.json").unlink()
    result = collect(workspace, public_key=KEY_JSON)
    assert result.facts["digest_signatures"] == "verified"
    assert result.facts["digest_chain_breaks"] == 0


def test_newest_digest_without_metadata_unverified(tmp_path):
    workspace = copy_fixture(tmp_path)
    (workspace / f"{DIGEST_2}.s3-object-metadata.json").unlink()
    result = collect(workspace, public_key=KEY_JSON)
    assert result.facts["digest_signatures"] == "unverified"
    newest = result.facts["digest_signature_results"][f"{DIGEST_2}.json.gz"]
    assert newest["status"] == "unverified"
    assert newest["reason"].startswith("no signature")


def test_altered_signature_in_metadata_invalid(tmp_path):
    workspace = copy_fixture(tmp_path)
    metadata = workspace / f"{DIGEST_2}.s3-object-metadata.json"
    document = json.loads(metadata.read_text(encoding="utf-8"))
    signature = document["x-amz-meta-signature"]
    document["x-amz-meta-signature"] = ("0" if signature[0] != "0" else "1") + signature[1:]
    metadata.write_text(json.dumps(document), encoding="utf-8")
    result = collect(workspace, public_key=KEY_JSON)
    assert result.facts["digest_signatures"] == "invalid"
    assert result.facts["digest_signature_results"][f"{DIGEST_2}.json.gz"]["status"] == "invalid"
    assert result.facts["digest_signature_results"][f"{DIGEST_1}.json.gz"]["status"] == "verified"


def test_boto3_metadata_key_accepted(tmp_path):
    workspace = copy_fixture(tmp_path)
    for stem in (DIGEST_1, DIGEST_2):
        metadata = workspace / f"{stem}.s3-object-metadata.json"
        document = json.loads(metadata.read_text(encoding="utf-8"))
        metadata.write_text(json.dumps({
            "signature": document["x-amz-meta-signature"],
            "signature-algorithm": "SHA256withRSA",
        }), encoding="utf-8")  # fmt: skip
    assert collect(workspace, public_key=KEY_JSON).facts["digest_signatures"] == "verified"


def test_public_key_not_a_key_rejected(tmp_path):
    (tmp_path / "key.json").write_text('{"PublicKeyList": []}', encoding="utf-8")
    shutil.copytree(DATA_DIR / "AWSLogs", tmp_path / "AWSLogs")
    with pytest.raises(CollectorError) as caught:
        collect(tmp_path, public_key="key.json")
    assert "non-empty PublicKeyList" in str(caught.value)


def test_public_key_bad_base64_rejected(tmp_path):
    (tmp_path / "key.json").write_text(
        '{"PublicKeyList": [{"Value": "not base64!", "Fingerprint": "00"}]}', encoding="utf-8"
    )
    shutil.copytree(DATA_DIR / "AWSLogs", tmp_path / "AWSLogs")
    with pytest.raises(CollectorError) as caught:
        collect(tmp_path, public_key="key.json")
    assert "PublicKeyList[0].Value is not a base64 DER public key" in str(caught.value)


# Log file hashes


def test_tampered_json_copy_found_and_named(tmp_path):
    workspace = copy_fixture(tmp_path)
    log = workspace / LOG_1
    data = bytearray(log.read_bytes())
    position = data.index(b"ops-admin")
    data[position] = ord("O")
    log.write_bytes(bytes(data))
    result = collect(workspace, public_key=KEY_JSON)
    assert result.facts["log_files_mismatched"] == [LOG_1]
    assert result.facts["log_files_verified"] == 1
    # The .json.gz copy matches the digest, so its events are counted once.
    assert result.facts["events"] == 20
    assert result.facts["digest_signatures"] == "verified"
    assert any(LOG_1 in warning and "differs" in warning for warning in result.warnings)


def test_tampered_only_copy_found_and_named(tmp_path):
    workspace = copy_fixture(tmp_path)
    (workspace / LOG_2).unlink()
    packed = workspace / f"{LOG_2}.gz"
    text = gzip.decompress(packed.read_bytes()).replace(b'"AccessDenied"', b'"AccessDeniad"')
    packed.write_bytes(gzip.compress(text))
    result = collect(workspace)
    assert result.facts["log_files_mismatched"] == [f"{LOG_2}.gz"]
    assert result.facts["log_files_verified"] == 1
    assert result.facts["events"] == 20


def test_log_file_not_in_any_digest(tmp_path):
    workspace = copy_fixture(tmp_path)
    write_log(workspace / LOG_DIR, "111122223333_CloudTrail_us-east-1_20261204T1500Z_extra.json",
              [record("GetUser", "2026-12-04T14:55:00Z")])
    result = collect(workspace)
    assert result.facts["log_files_not_in_digest"] == [
        f"{LOG_DIR}/111122223333_CloudTrail_us-east-1_20261204T1500Z_extra.json"
    ]
    assert result.facts["events"] == 21
    assert result.facts["log_files"] == 3


def test_deleted_log_file_listed_as_missing(tmp_path):
    workspace = copy_fixture(tmp_path)
    (workspace / LOG_2).unlink()
    (workspace / f"{LOG_2}.gz").unlink()
    result = collect(workspace)
    assert result.facts["log_files_missing"] == [f"{LOG_2}.gz"]
    assert result.facts["events"] == 12
    assert result.facts["log_files"] == 1


# Digest chains


def test_removed_first_digest_one_break(tmp_path):
    workspace = copy_fixture(tmp_path)
    remove_digest(workspace, DIGEST_1)
    result = collect(workspace, public_key=KEY_JSON)
    assert result.facts["digest_chain_breaks"] == 1
    assert result.facts["digest_chain_break_files"] == [f"{DIGEST_1}.json.gz"]
    assert result.facts["digest_files"] == 1
    assert result.facts["log_files_not_in_digest"] == [f"{LOG_1}.gz"]
    assert result.facts["digest_signatures"] == "verified"


def test_generated_chain_intact(tmp_path, chain_key):
    write_trail(tmp_path, chain_key, hours=5)
    result = collect(tmp_path, public_key="key.json")
    assert result.facts["digest_files"] == 5
    assert result.facts["digest_chain_breaks"] == 0
    assert result.facts["digest_signatures"] == "verified"
    assert result.facts["log_files_verified"] == 5
    assert result.facts["events"] == 10


def test_one_removed_digest_one_break(tmp_path, chain_key):
    stems = write_trail(tmp_path, chain_key, hours=5)
    remove_digest(tmp_path, stems[2])
    result = collect(tmp_path, public_key="key.json")
    assert result.facts["digest_chain_breaks"] == 1
    assert result.facts["digest_chain_break_files"] == [f"{stems[2]}.json.gz"]
    # The digest before the gap has no successor to confirm its signature, but its
    # metadata file contains the signature.
    assert result.facts["digest_signatures"] == "verified"


def test_two_adjacent_digests_removed_two_breaks(tmp_path, chain_key):
    stems = write_trail(tmp_path, chain_key, hours=5)
    remove_digest(tmp_path, stems[1])
    remove_digest(tmp_path, stems[2])
    result = collect(tmp_path, public_key="key.json")
    assert result.facts["digest_chain_breaks"] == 2
    # Only the newest missing digest is named by a present one.
    assert result.facts["digest_chain_break_files"] == [f"{stems[2]}.json.gz"]
    assert len(result.facts["log_files_not_in_digest"]) == 2


def test_two_separate_gaps_two_breaks(tmp_path, chain_key):
    stems = write_trail(tmp_path, chain_key, hours=5)
    remove_digest(tmp_path, stems[1])
    remove_digest(tmp_path, stems[3])
    result = collect(tmp_path, public_key="key.json")
    assert result.facts["digest_chain_breaks"] == 2
    assert result.facts["digest_chain_break_files"] == [
        f"{stems[1]}.json.gz", f"{stems[3]}.json.gz"
    ]


def test_altered_predecessor_breaks_chain(tmp_path):
    workspace = copy_fixture(tmp_path)
    for name in (f"{DIGEST_1}.json", f"{DIGEST_1}.json.gz"):
        path = workspace / name
        data = path.read_bytes()
        text = gzip.decompress(data) if name.endswith(".gz") else data
        text = text.replace(b'"newestEventTime":"2026-12-04T14:03:55Z"',
                            b'"newestEventTime":"2026-12-04T14:03:56Z"', 1)
        path.write_bytes(gzip.compress(text) if name.endswith(".gz") else text)
    result = collect(workspace, public_key=KEY_JSON)
    assert result.facts["digest_chain_breaks"] == 1
    assert result.facts["digest_chain_break_files"] == [f"{DIGEST_1}.json.gz"]
    results = result.facts["digest_signature_results"]
    assert results[f"{DIGEST_1}.json.gz"]["status"] == "invalid"
    assert results[f"{DIGEST_2}.json.gz"]["status"] == "verified"


def test_digest_copies_that_differ_reported(tmp_path):
    workspace = copy_fixture(tmp_path)
    path = workspace / f"{DIGEST_2}.json"
    path.write_bytes(path.read_bytes().replace(b"14:16:48", b"14:16:49", 1))
    result = collect(workspace, public_key=KEY_JSON)
    reasons = invalid_reasons(result)
    assert reasons[f"{DIGEST_2}.json"] == f"content differs from {DIGEST_2}.json.gz"
    assert result.facts["digest_signatures"] == "verified"
    assert result.failures == [f"{DIGEST_2}.json: content differs from {DIGEST_2}.json.gz"]


def test_renamed_digest_invalid(tmp_path):
    workspace = copy_fixture(tmp_path)
    renamed = f"{DIGEST_DIR}/{DIGEST_PREFIX}20261204T160941Z"
    for suffix in (".json", ".json.gz", ".s3-object-metadata.json"):
        (workspace / f"{DIGEST_2}{suffix}").rename(workspace / f"{renamed}{suffix}")
    result = collect(workspace, public_key=KEY_JSON)
    reason = invalid_reasons(result)[f"{renamed}.json.gz"]
    assert "moved or renamed" in reason
    assert result.facts["digest_signatures"] == "invalid"


# Broken inputs


def test_gzip_with_second_member_invalid(tmp_path):
    workspace = copy_fixture(tmp_path)
    (workspace / LOG_2).unlink()
    packed = workspace / f"{LOG_2}.gz"
    extra = gzip.compress(b'{"Records": []}')
    packed.write_bytes(packed.read_bytes() + extra)
    result = collect(workspace)
    reasons = invalid_reasons(result)
    assert list(reasons) == [f"{LOG_2}.gz"]
    assert reasons[f"{LOG_2}.gz"] == (
        f"{len(extra)} bytes follow the end of the first gzip member, so the file is not one "
        "gzip member as CloudTrail delivers it"
    )
    assert result.facts["events"] == 12
    assert result.facts["log_files_verified"] == 1
    assert result.failures == [f"{LOG_2}.gz: {reasons[f'{LOG_2}.gz']}"]


def test_second_gzip_member_beside_json(tmp_path):
    workspace = copy_fixture(tmp_path)
    packed = workspace / f"{LOG_2}.gz"
    packed.write_bytes(packed.read_bytes() + gzip.compress(b"{}"))
    result = collect(workspace)
    assert list(invalid_reasons(result)) == [f"{LOG_2}.gz"]
    # The .json copy is intact, so the events are counted from it.
    assert result.facts["events"] == 20
    assert result.facts["log_files_verified"] == 1
    assert result.facts["log_files_mismatched"] == []


def test_truncated_gzip_invalid(tmp_path):
    workspace = copy_fixture(tmp_path)
    (workspace / LOG_2).unlink()
    packed = workspace / f"{LOG_2}.gz"
    packed.write_bytes(packed.read_bytes()[:-20])
    result = collect(workspace)
    assert invalid_reasons(result) == {f"{LOG_2}.gz": "gzip data is truncated"}
    assert result.facts["events"] == 12


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b'{"Records": [{"eventTime": "2026-12-04T10:00:00Z"',
         "line 1, column 50: invalid JSON: Expecting ',' delimiter"),
        (b'{"items": []}', 'not a CloudTrail log file: expected a JSON object with a "Records"'),
        (b'[1, 2]', 'not a CloudTrail log file'),
        (b'{"Records": [{"eventTime": "2026-12-04T10:00:00Z", "eventName": "X"}]}',
         "Records[0].eventSource is missing or not a string"),
        (b'{"Records": [{"eventTime": "yesterday", "eventName": "X", "eventSource": "s"}]}',
         "Records[0].eventTime: not an RFC 3339 timestamp"),
        (b'{"Records": [{"eventName": "caf\xe9"}]}',
         "line 1, column 32: invalid UTF-8 (byte 0xe9)"),
        (b"", "file is empty"),
    ],
)
def test_broken_log_file_invalid(tmp_path, content, reason):
    folder = tmp_path / LOG_DIR
    folder.mkdir(parents=True)
    name = "111122223333_CloudTrail_us-east-1_20261204T1000Z_broken.json"
    (folder / name).write_bytes(content)
    write_log(folder, "111122223333_CloudTrail_us-east-1_20261204T1001Z_good.json",
              [record("GetUser", "2026-12-04T10:00:00Z")])
    result = collect(tmp_path)
    reasons = invalid_reasons(result)
    assert list(reasons) == [f"{LOG_DIR}/{name}"]
    assert reason in reasons[f"{LOG_DIR}/{name}"]
    assert result.facts["events"] == 1
    assert len(result.failures) == 1


def test_broken_digest_invalid(tmp_path):
    workspace = copy_fixture(tmp_path)
    for suffix in (".json", ".json.gz"):
        (workspace / f"{DIGEST_2}{suffix}").unlink()
    (workspace / f"{DIGEST_2}.json").write_bytes(b'{"awsAccountId": "111122223333"}')
    result = collect(workspace, public_key=KEY_JSON)
    reason = invalid_reasons(result)[f"{DIGEST_2}.json"]
    assert reason == "not a CloudTrail digest file: digestStartTime is missing or not a string"
    assert result.facts["digest_signatures"] == "invalid"
    assert result.facts["log_files_not_in_digest"] == [f"{LOG_2}.gz"]


def test_glob_reads_other_json_as_log(tmp_path):
    (tmp_path / "export.json").write_text('{"findings": []}', encoding="utf-8")
    result = collect(tmp_path, path="*.json")
    assert invalid_reasons(result) == {
        "export.json": 'not a CloudTrail log file: expected a JSON object with a "Records" array'
    }


def test_no_digests_leaves_signatures_absent(tmp_path):
    write_log(tmp_path / LOG_DIR, LOG_NAME_A, [record("GetUser", "2026-12-04T10:00:00Z")])
    result = collect(tmp_path)
    assert "digest_signatures" not in result.facts
    assert result.absent["digest_signatures"] == "no digest files under path"
    assert result.facts["log_files_not_in_digest"] == [
        f"{LOG_DIR}/{LOG_NAME_A}"
    ]


def test_missing_path_is_evidence_missing(tmp_path):
    with pytest.raises(EvidenceMissing):
        collect(tmp_path, path="AWSLogs")


def test_folder_without_cloudtrail_files_rejected(tmp_path):
    (tmp_path / "notes.txt").write_text("hello", encoding="utf-8")
    with pytest.raises(CollectorError) as caught:
        collect(tmp_path, path=".")
    assert "no CloudTrail log or digest files" in str(caught.value)


# Event rules


def test_failed_calls_are_not_changes(tmp_path):
    records = [
        record("StopLogging", "2026-12-04T10:00:00Z", "cloudtrail.amazonaws.com",
               errorCode="AccessDenied"),
        record("ScheduleKeyDeletion", "2026-12-04T10:01:00Z", "kms.amazonaws.com",
               errorCode="AccessDenied", requestParameters={"keyId": "k"}),
    ]  # fmt: skip
    write_log(tmp_path / LOG_DIR, LOG_NAME_A, records)
    facts = collect(tmp_path).facts
    assert facts["logging_stopped"]["count"] == 0
    assert facts["key_deletion_scheduled"]["count"] == 0
    assert facts["sensitive_events"]["count"] == 2
    assert facts["sensitive_events"]["events"][0]["error_code"] == "AccessDenied"


def test_update_trail_disabling_validation_counts(tmp_path):
    records = [
        record("UpdateTrail", "2026-12-04T10:00:00Z", "cloudtrail.amazonaws.com",
               requestParameters={"name": "t", "enableLogFileValidation": False}),
        record("UpdateTrail", "2026-12-04T10:01:00Z", "cloudtrail.amazonaws.com",
               requestParameters={"name": "t", "enableLogFileValidation": True}),
        record("DeleteTrail", "2026-12-04T10:02:00Z", "cloudtrail.amazonaws.com",
               requestParameters={"name": "t"}),
    ]  # fmt: skip
    write_log(tmp_path / LOG_DIR, LOG_NAME_A, records)
    stopped = collect(tmp_path).facts["logging_stopped"]
    assert stopped["count"] == 2
    assert stopped["events"][0]["reason"] == "disables log file validation"
    assert stopped["events"][1]["event"] == "DeleteTrail"


def test_inline_admin_policy_flagged(tmp_path):
    admin = json.dumps({"Version": "2012-10-17",
                        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
    narrow = json.dumps({"Statement": {"Effect": "Allow", "Action": "s3:GetObject",
                                       "Resource": "*"}})
    records = [
        record("PutRolePolicy", "2026-12-04T10:00:00Z",
               requestParameters={"roleName": "r", "policyName": "everything",
                                  "policyDocument": admin}),
        record("PutUserPolicy", "2026-12-04T10:01:00Z",
               requestParameters={"userName": "u", "policyName": "read",
                                  "policyDocument": narrow}),
        record("AttachRolePolicy", "2026-12-04T10:02:00Z",
               requestParameters={"roleName": "r",
                                  "policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}),
    ]  # fmt: skip
    write_log(tmp_path / LOG_DIR, LOG_NAME_A, records)
    attached = collect(tmp_path).facts["policy_attached"]
    assert attached["count"] == 3
    assert attached["admin_count"] == 1
    assert [(entry["policy"], entry["admin"]) for entry in attached["events"]] == [
        ("everything", True), ("read", False), ("arn:aws:iam::aws:policy/ReadOnlyAccess", False)
    ]
