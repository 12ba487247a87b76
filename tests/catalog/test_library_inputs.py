"""Library controls that read JSON exports, judged on small good and bad samples.

Each sample has the shape of the tool output named in inputs.yaml, cut
down to the fields the control's JMESPath queries read.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from assay import keys
from assay.catalog.scaffold import scaffold
from assay.commands import run_command

NOW = datetime(2026, 12, 4, 20, 15, tzinfo=UTC)


def _rule(protocol: str, cidr: str, first: int | None = None, last: int | None = None) -> dict:
    rule: dict = {"IpProtocol": protocol, "IpRanges": [{"CidrIp": cidr}], "Ipv6Ranges": []}
    if first is not None:
        rule.update(FromPort=first, ToPort=last)
    return rule


def _testssl(offered: set[str]) -> list[dict]:
    names = ["SSLv2", "SSLv3", "TLS1", "TLS1_1", "TLS1_2", "TLS1_3"]
    return [
        {"id": name, "severity": "INFO", "finding": "offered" if name in offered else "not offered"}
        for name in names
    ]


GOOD = {
    "IAM-02": ("k8s-clusterrolebindings.json", {"items": [
        {"roleRef": {"name": "cluster-admin"},
         "subjects": [{"kind": "Group", "name": "system:masters"}]},
        {"roleRef": {"name": "view"}, "subjects": [{"kind": "Group", "name": "developers"}]},
    ]}),
    "IAM-03": ("github-org.json", {"login": "example", "two_factor_requirement_enabled": True}),
    "IAM-04": ("accounts.json", {"accounts": [
        {"user": "ann", "system": "aws", "status": "active", "employment": "active"},
        {"user": "ben", "system": "aws", "status": "disabled", "employment": "terminated"},
    ]}),
    "NET-01": ("aws-security-groups.json", {"SecurityGroups": [{
        "GroupId": "sg-1",
        "IpPermissions": [
            _rule("tcp", "0.0.0.0/0", 443, 443), _rule("tcp", "10.0.0.0/8", 5432, 5432),
        ],
    }]}),
    "ENC-01": ("aws-rds-instances.json", {"DBInstances": [
        {"DBInstanceIdentifier": "main", "StorageEncrypted": True},
    ]}),
    "ENC-02": ("aws-volumes.json", {"Volumes": [{"VolumeId": "vol-1", "Encrypted": True}]}),
    "ENC-03": ("testssl.json", _testssl({"TLS1_2", "TLS1_3"})),
    "KEY-01": ("aws-kms-rotation.json", [{"KeyId": "k-1", "KeyRotationEnabled": True}]),
    "LOG-05": ("postgresql-settings.json", {
        "shared_preload_libraries": "pg_stat_statements,pgaudit", "pgaudit.log": "ddl, role, write",
    }),
    "LOG-06": ("aws-log-groups.json", {"logGroups": [
        {"logGroupName": "/app", "retentionInDays": 400}, {"logGroupName": "/forever"},
    ]}),
    "MON-02": ("prometheus-rules.json", {"status": "success", "data": {"groups": [{"rules": [
        {"type": "alerting", "name": name, "health": "ok"}
        for name in ("TargetDown", "HighErrorRate", "BackupTooOld")
    ]}]}}),
    "VUL-01": ("trivy-image.json", {"ArtifactName": "registry.example/api:1.2", "Results": [
        {"Target": "os"},
        {"Target": "app", "Vulnerabilities": [
            {"VulnerabilityID": "CVE-1", "Severity": "CRITICAL"},
            {"VulnerabilityID": "CVE-2", "Severity": "LOW", "FixedVersion": "2.0"},
        ]},
    ]}),
    "CHG-02": ("github-branch-protection.json", {
        "required_status_checks": {"strict": True, "contexts": ["ci"]},
        "enforce_admins": {"enabled": True},
        "required_pull_request_reviews": {"required_approving_review_count": 1},
        "allow_force_pushes": {"enabled": False},
    }),
    "DSP-03": ("aws-s3-lifecycle.json", {"Rules": [
        {"ID": "expire", "Status": "Enabled", "Expiration": {"Days": 30}},
    ]}),
}

BAD = {
    "IAM-02": ("k8s-clusterrolebindings.json", {"items": [
        {"roleRef": {"name": "cluster-admin"}, "subjects": [{"name": n} for n in ("a", "b", "c")]},
    ]}),
    "IAM-03": ("github-org.json", {"login": "example", "two_factor_requirement_enabled": False}),
    "IAM-04": ("accounts.json", {"accounts": [
        {"user": "ben", "system": "aws", "status": "active", "employment": "terminated"},
    ]}),
    "NET-01": ("aws-security-groups.json", {"SecurityGroups": [{
        "GroupId": "sg-1", "IpPermissions": [_rule("tcp", "0.0.0.0/0", 22, 22)],
    }]}),
    "ENC-01": ("aws-rds-instances.json", {"DBInstances": [
        {"DBInstanceIdentifier": "main", "StorageEncrypted": False},
    ]}),
    "ENC-02": ("aws-volumes.json", {"Volumes": [{"VolumeId": "vol-1", "Encrypted": False}]}),
    "ENC-03": ("testssl.json", _testssl({"TLS1", "TLS1_2"})),
    "KEY-01": ("aws-kms-rotation.json", [{"KeyRotationEnabled": False}]),
    "LOG-05": ("postgresql-settings.json", {
        "shared_preload_libraries": "pgaudit", "pgaudit.log": "read, -ddl",
    }),
    "LOG-06": ("aws-log-groups.json", {"logGroups": [
        {"logGroupName": "/app", "retentionInDays": 30},
    ]}),
    "MON-02": ("prometheus-rules.json", {"status": "success", "data": {"groups": [{"rules": [
        {"type": "alerting", "name": "TargetDown", "health": "err"},
    ]}]}}),
    "VUL-01": ("trivy-image.json", {"ArtifactName": "registry.example/api:1.2", "Results": [
        {"Target": "app", "Vulnerabilities": [
            {"VulnerabilityID": "CVE-1", "Severity": "CRITICAL", "FixedVersion": "1.1"},
        ]},
    ]}),
    "CHG-02": ("github-branch-protection.json", {
        "required_status_checks": {"strict": True, "contexts": ["ci"]},
        "enforce_admins": {"enabled": False},
        "required_pull_request_reviews": {"required_approving_review_count": 1},
        "allow_force_pushes": {"enabled": False},
    }),
    "DSP-03": ("aws-s3-lifecycle.json", {"Rules": [
        {"ID": "expire", "Status": "Enabled", "Expiration": {"Days": 365}},
    ]}),
}


@pytest.fixture(autouse=True)
def _no_environment_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(keys.SIGNING_KEY_ENV, raising=False)
    monkeypatch.delenv("ASSAY_LEDGER", raising=False)


def _statuses(tmp_path: Path, samples: dict[str, tuple[str, object]]) -> dict[str, str]:
    root = tmp_path / "ws"
    scaffold(root)
    for name, document in samples.values():
        (root / "inputs" / name).write_text(json.dumps(document), encoding="utf-8")
    outcome, _pack = run_command(root, NOW, None, None, None, pack=False)
    return {result.control_id: result.status.value for result in outcome.results}


def test_good_samples_pass(tmp_path: Path) -> None:
    statuses = _statuses(tmp_path, GOOD)

    assert {control: statuses[control] for control in GOOD} == dict.fromkeys(GOOD, "pass")


def test_bad_samples_fail(tmp_path: Path) -> None:
    statuses = _statuses(tmp_path, BAD)

    assert {control: statuses[control] for control in BAD} == dict.fromkeys(BAD, "fail")
