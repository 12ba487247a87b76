"""Tests of the k8s.audit collector against Kubernetes audit logs and broken inputs.

tests/data/k8s contains kube-apiserver-audit.jsonl (20 sample audit.k8s.io/v1
events of 17 requests) and 21-k8s-audit-same-auditid-multiple-stages.ndjson
(5 events of 2 requests, each logged at several stages).
"""

from __future__ import annotations

import copy
import gzip
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from assay.errors import CollectorError, EvidenceMissing
from assay.evidence.collectors.base import CollectContext, Collected
from assay.evidence.collectors.k8s_audit import K8sAudit, K8sAuditParams

DATA_DIR = Path(__file__).resolve().parents[2] / "data" / "k8s"
NOW = datetime(2026, 12, 4, 22, 0, tzinfo=UTC)
FIXTURE = "kube-apiserver-audit.jsonl"
CASE_21 = "21-k8s-audit-same-auditid-multiple-stages.ndjson"
SECRET_CREATE_ID = "3f0c8a5e-7b21-4d4e-9a57-1c2b3d4e5f60"
WATCH_ID = "a7d2c9e1-0f3b-4c5d-8e6f-7a8b9c0d1e2f"


def collect(path: str, workspace: Path = DATA_DIR, **params: Any) -> Collected:
    context = CollectContext(workspace=workspace, now=NOW)
    return K8sAudit().collect(K8sAuditParams(path=path, **params), context)


def read_events(name: str) -> list[dict[str, Any]]:
    text = (DATA_DIR / name).read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def write_events(tmp_path: Path, events: list[dict[str, Any]], name: str = "audit.log") -> None:
    text = "".join(json.dumps(event) + "\n" for event in events)
    (tmp_path / name).write_text(text, encoding="utf-8")


def collect_error(tmp_path: Path, content: bytes) -> CollectorError:
    (tmp_path / "audit.log").write_bytes(content)
    with pytest.raises(CollectorError) as caught:
        collect("audit.log", tmp_path)
    return caught.value


def binding_event(verb: str = "create", code: int = 201, **fields: Any) -> dict[str, Any]:
    event = {
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata",
        "auditID": f"binding-{verb}-{code}", "stage": "ResponseComplete",
        "requestURI": "/apis/rbac.authorization.k8s.io/v1/namespaces/tenant-a/rolebindings",
        "verb": verb, "user": {"username": "oidc:alice.admin@example.com"},
        "objectRef": {"resource": "rolebindings", "namespace": "tenant-a", "name": "ops",
                      "apiGroup": "rbac.authorization.k8s.io", "apiVersion": "v1"},
        "responseStatus": {"metadata": {}, "code": code},
        "requestReceivedTimestamp": "2026-12-04T21:00:00.000000Z",
        "stageTimestamp": "2026-12-04T21:00:00.010000Z",
    }  # fmt: skip
    event.update(fields)
    return event


# The sample log


def test_fixture_counts():
    facts = collect(FIXTURE).facts
    assert facts["events"] == 20
    assert facts["requests"] == 17
    assert facts["by_verb"] == {
        "create": 5, "delete": 1, "get": 4, "list": 3, "patch": 1, "update": 2, "watch": 1
    }  # fmt: skip
    assert facts["by_user"] == {
        "oidc:alice.admin@example.com": 6,
        "oidc:bob.dev@example.com": 5,
        "system:anonymous": 1,
        "system:node:worker-2": 1,
        "system:serviceaccount:platform:helm-operator": 1,
        "system:serviceaccount:tenant-a:config-reloader": 1,
        "system:serviceaccount:tenant-b:reporting-app": 1,
    }


def test_fixture_denials():
    denials = collect(FIXTURE).facts["denials"]
    assert denials["count"] == 2
    assert denials["truncated"] is False
    assert denials["events"] == [
        {
            "audit_id": "9f161703-9c61-4f1b-9b57-79cb898d99bf",
            "time": "2026-12-04T21:00:03.402000Z",
            "user": "system:serviceaccount:tenant-b:reporting-app",
            "verb": "get", "resource": "secrets", "namespace": "tenant-a",
            "name": "db-credentials", "code": 403,
        },
        {
            "audit_id": "6d419f6f-80ad-4f6c-a683-03b15d6b53aa",
            "time": "2026-12-04T21:00:20.500000Z",
            "user": "oidc:bob.dev@example.com",
            "verb": "create", "resource": "pods", "namespace": "tenant-a",
            "name": "debug-root", "code": 403,
        },
    ]  # fmt: skip


def test_fixture_privileged_binding():
    facts = collect(FIXTURE).facts
    bindings = facts["privileged_bindings"]
    assert bindings["count"] == 1
    entry = bindings["events"][0]
    assert entry["audit_id"] == "9d4be47c-ca93-4361-947a-80996c7042cd"
    assert entry["user"] == "oidc:alice.admin@example.com"
    assert entry["resource"] == "rolebindings"
    assert entry["namespace"] == "tenant-a"
    assert entry["name"] == "bob-admin"
    assert entry["role"] == "cluster-admin"
    assert entry["subjects"] == ["User:oidc:bob.dev@example.com"]
    assert facts["role_binding_writes_unchecked"] == 0


def test_fixture_secret_access():
    facts = collect(FIXTURE).facts
    # The 403 on tenant-a/db-credentials is a denial, not an access.
    assert facts["secret_access"]["count"] == 1
    entry = facts["secret_access"]["events"][0]
    assert entry["verb"] == "list"
    assert entry["namespace"] == "kube-system"
    assert entry["user"] == "oidc:alice.admin@example.com"
    assert facts["secret_writes"] == 0


def test_fixture_impersonation_authentication_panics():
    facts = collect(FIXTURE).facts
    assert facts["impersonation"]["count"] == 1
    assert facts["impersonation"]["events"][0]["user"] == "oidc:alice.admin@example.com"
    assert facts["impersonation"]["events"][0]["impersonated_user"] == "oidc:bob.dev@example.com"
    assert facts["failed_authentication"]["count"] == 1
    assert facts["failed_authentication"]["events"][0]["user"] is None
    assert facts["failed_authentication"]["events"][0]["source_ips"] == ["203.0.113.200"]
    assert facts["panics"]["count"] == 1
    assert facts["panics"]["events"][0]["audit_id"] == "4035e0ac-53f4-4d4c-b382-7a976e961a6e"
    assert facts["panics"]["events"][0]["code"] == 500


def test_fixture_incomplete_requests():
    incomplete = collect(FIXTURE).facts["incomplete_requests"]
    assert incomplete["count"] == 2
    assert [(entry["verb"], entry["stage"]) for entry in incomplete["events"]] == [
        ("list", "ResponseStarted"), ("watch", "ResponseStarted")
    ]


def test_fixture_times_and_durations():
    result = collect(FIXTURE)
    facts = result.facts
    assert facts["first_event_at"] == "2026-12-04T21:00:00.101000Z"
    assert facts["last_event_at"] == "2026-12-04T21:01:47.741004Z"
    assert result.observed_at == datetime(2026, 12, 4, 21, 1, 47, 741004, tzinfo=UTC)
    # The exec session: received 21:00:12.010000, ResponseComplete 21:01:47.741004.
    assert facts["max_request_seconds"] == 95.731004
    assert facts["slowest_request"]["audit_id"] == "a9ff2879-eed6-4da1-8a39-db75773b0c25"
    assert facts["slowest_request"]["resource"] == "pods/exec"
    assert result.failures == []
    assert result.warnings == []


# One request at several stages


def test_case_21_two_requests():
    facts = collect(CASE_21).facts
    assert facts["events"] == 5
    assert facts["requests"] == 2
    assert facts["by_verb"] == {"create": 1, "watch": 1}
    assert facts["incomplete_requests"]["count"] == 0


def test_case_21_secret_create_counted_once():
    facts = collect(CASE_21).facts
    assert facts["secret_writes"] == 1
    assert facts["secret_access"]["count"] == 1
    assert facts["secret_access"]["events"] == [{
        "audit_id": SECRET_CREATE_ID,
        "time": "2024-02-15T10:00:00.123456Z",
        "user": "user-a@example.org",
        "verb": "create", "resource": "secrets", "namespace": "payments",
        "name": "db-credentials", "code": 201,
    }]  # fmt: skip


def test_case_21_watch_duration():
    facts = collect(CASE_21).facts
    assert facts["max_request_seconds"] == 300.004001
    assert facts["slowest_request"]["audit_id"] == WATCH_ID
    assert facts["slowest_request"]["verb"] == "watch"
    assert facts["slowest_request"]["code"] == 200
    assert facts["last_event_at"] == "2024-02-15T10:05:01.004002Z"


def test_stage_order_irrelevant(tmp_path):
    write_events(tmp_path, list(reversed(read_events(CASE_21))))
    facts = collect("audit.log", tmp_path).facts
    assert facts == collect(CASE_21).facts


def test_request_received_only_counted(tmp_path):
    write_events(tmp_path, read_events(CASE_21)[:1])
    facts = collect("audit.log", tmp_path).facts
    assert facts["requests"] == 1
    assert facts["incomplete_requests"]["events"][0]["stage"] == "RequestReceived"
    assert facts["incomplete_requests"]["events"][0]["code"] is None
    assert facts["secret_writes"] == 1
    assert "max_request_seconds" not in facts


# Other layouts


def test_pretty_printed_event_list(tmp_path):
    document = {"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "metadata": {},
                "items": read_events(CASE_21)}  # fmt: skip
    (tmp_path / "audit.json").write_text(json.dumps(document, indent=2), encoding="utf-8")
    facts = collect("audit.json", tmp_path).facts
    assert facts == collect(CASE_21).facts


def test_event_list_per_line(tmp_path):
    events = read_events(CASE_21)
    lines = [{"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": events[:2]},
             {"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": events[2:]}]
    write_events(tmp_path, lines)
    facts = collect("audit.log", tmp_path).facts
    assert facts["events"] == 5
    assert facts["requests"] == 2


def test_gzip_input(tmp_path):
    (tmp_path / "audit.log.gz").write_bytes(gzip.compress((DATA_DIR / FIXTURE).read_bytes()))
    assert collect("audit.log.gz", tmp_path).facts == collect(FIXTURE).facts


def test_rotated_parts_merged(tmp_path):
    events = read_events(FIXTURE)
    # The exec request a9ff2879 has stages in both parts.
    write_events(tmp_path, events[:10], "audit-1.log")
    write_events(tmp_path, events[10:], "audit-2.log")
    facts = collect("audit-*.log", tmp_path).facts
    assert facts["requests"] == 17
    assert facts["events"] == 20
    assert facts["max_request_seconds"] == 95.731004


def test_blank_lines_skipped_with_warning(tmp_path):
    text = (DATA_DIR / CASE_21).read_text(encoding="utf-8").replace("\n", "\n\n", 1)
    (tmp_path / "audit.log").write_text(text, encoding="utf-8")
    result = collect("audit.log", tmp_path)
    assert result.facts["events"] == 5
    assert result.warnings == ["skipped 1 blank lines"]


# Role bindings


def test_metadata_level_binding_unchecked(tmp_path):
    write_events(tmp_path, [binding_event()])
    facts = collect("audit.log", tmp_path).facts
    assert facts["privileged_bindings"]["count"] == 0
    assert facts["role_binding_writes_unchecked"] == 1


def test_binding_role_from_response_object(tmp_path):
    body = {"roleRef": {"kind": "ClusterRole", "name": "admin"},
            "subjects": [{"kind": "Group", "name": "ops"}]}
    write_events(tmp_path, [binding_event("patch", 200, responseObject=body)])
    bindings = collect("audit.log", tmp_path).facts["privileged_bindings"]
    assert bindings["count"] == 1
    assert bindings["events"][0]["role"] == "admin"
    assert bindings["events"][0]["subjects"] == ["Group:ops"]


def test_namespaced_admin_role_ignored(tmp_path):
    body = {"roleRef": {"kind": "Role", "name": "admin"}}
    write_events(tmp_path, [binding_event(requestObject=body)])
    assert collect("audit.log", tmp_path).facts["privileged_bindings"]["count"] == 0


def test_denied_binding_not_counted(tmp_path):
    body = {"roleRef": {"kind": "ClusterRole", "name": "cluster-admin"}}
    write_events(tmp_path, [binding_event(code=403, requestObject=body)])
    facts = collect("audit.log", tmp_path).facts
    assert facts["privileged_bindings"]["count"] == 0
    assert facts["denials"]["count"] == 1


def test_privileged_roles_parameter(tmp_path):
    body = {"roleRef": {"kind": "ClusterRole", "name": "edit"}}
    write_events(tmp_path, [binding_event(requestObject=body)])
    facts = collect("audit.log", tmp_path, privileged_roles=["edit"]).facts
    assert facts["privileged_bindings"]["count"] == 1


def test_role_ref_kept_from_earlier_stage(tmp_path):
    body = {"roleRef": {"kind": "ClusterRole", "name": "cluster-admin"}}
    received = binding_event(requestObject=body, stage="RequestReceived")
    del received["responseStatus"]
    write_events(tmp_path, [received, binding_event()])
    facts = collect("audit.log", tmp_path).facts
    assert facts["requests"] == 1
    assert facts["privileged_bindings"]["count"] == 1


def test_max_listed_events_truncates_lists():
    denials = collect(FIXTURE, max_listed_events=1).facts["denials"]
    assert denials["count"] == 2
    assert len(denials["events"]) == 1
    assert denials["truncated"] is True


# Broken inputs


def test_truncated_line_names_line_and_column(tmp_path):
    lines = (DATA_DIR / CASE_21).read_bytes().splitlines(keepends=True)
    error = collect_error(tmp_path, b"".join(lines[:2]) + lines[2][:80] + b"\n" + lines[3])
    assert error.path == "audit.log"
    # The cut falls inside the auditID string, which starts at column 76.
    assert error.location == "3:76"
    assert error.reason.startswith("invalid JSON: Unterminated string starting at")


def test_truncated_first_line_names_line_one(tmp_path):
    lines = (DATA_DIR / CASE_21).read_bytes().splitlines(keepends=True)
    error = collect_error(tmp_path, lines[0][:40] + b"\n" + lines[1])
    assert error.location.startswith("1:")
    assert error.reason.startswith("invalid JSON")


def test_broken_document_names_position(tmp_path):
    document = json.dumps({"kind": "EventList", "items": read_events(CASE_21)}, indent=2)
    error = collect_error(tmp_path, document[:-30].encode("utf-8"))
    assert error.reason.startswith("invalid JSON")
    line, _, column = (error.location or "").partition(":")
    assert int(line) > 1
    assert int(column) >= 1


def test_invalid_utf8_names_line_and_column(tmp_path):
    lines = (DATA_DIR / CASE_21).read_bytes().splitlines(keepends=True)
    broken = lines[1].replace(b"config-reloader", b"config-r\xe9loader", 1)
    error = collect_error(tmp_path, lines[0] + broken)
    column = broken.index(b"\xe9") + 1
    assert error.location == f"2:{column}"
    assert error.reason == "invalid UTF-8 (byte 0xe9); save the file as UTF-8"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"auditID": None}, "auditID: expected a non-empty string, found null"),
        ({"stage": "Done"}, "stage: expected RequestReceived, ResponseStarted, ResponseComplete "
                            "or Panic, found a string (\"Done\")"),
        # A list is unhashable, so the stage lookup once raised TypeError.
        ({"stage": ["ResponseComplete"]}, "stage: expected RequestReceived, ResponseStarted, "
                                          "ResponseComplete or Panic, found a JSON array"),
        ({"verb": 7}, "verb: expected a string, found the number 7"),
        ({"apiVersion": "v1"}, "apiVersion: expected audit.k8s.io/v1"),
        ({"kind": "Pod"}, "kind: expected Event or EventList, found a string (\"Pod\")"),
        ({"stageTimestamp": "yesterday"}, "stageTimestamp: not an RFC 3339 timestamp"),
        ({"responseStatus": {"code": "403"}}, "responseStatus.code: expected an integer"),
        ({"objectRef": {"resource": ["secrets"]}}, "objectRef.resource: expected a string"),
    ],
)
def test_invalid_event_names_line(tmp_path, change, message):
    events = read_events(CASE_21)
    broken = copy.deepcopy(events[1])
    broken.update(change)
    write_events(tmp_path, [events[0], broken])
    with pytest.raises(CollectorError) as caught:
        collect("audit.log", tmp_path)
    assert caught.value.location == "2"
    assert caught.value.reason.startswith(message)


def test_event_without_timestamps_rejected(tmp_path):
    event = read_events(CASE_21)[0]
    del event["requestReceivedTimestamp"]
    del event["stageTimestamp"]
    write_events(tmp_path, [event])
    with pytest.raises(CollectorError) as caught:
        collect("audit.log", tmp_path)
    assert caught.value.reason == "requestReceivedTimestamp and stageTimestamp are both missing"


def test_line_not_an_object_rejected(tmp_path):
    error = collect_error(tmp_path, b"[1, 2]\n")
    assert error.location == "1"
    assert error.reason.startswith("expected an audit Event object, found a JSON array")


def test_bad_item_in_event_list_names_item(tmp_path):
    items = read_events(CASE_21)
    items[3]["stage"] = None
    write_events(tmp_path, [{"kind": "EventList", "apiVersion": "audit.k8s.io/v1",
                             "items": items}])  # fmt: skip
    with pytest.raises(CollectorError) as caught:
        collect("audit.log", tmp_path)
    assert caught.value.location == "1: items[3]"


@pytest.mark.parametrize("content", [b"", b"\n\n  \n"])
def test_empty_file_fails_with_no_audit_events(tmp_path, content):
    (tmp_path / "audit.log").write_bytes(content)
    result = collect("audit.log", tmp_path)
    assert result.failures == ["no audit events"]
    assert result.facts["requests"] == 0
    assert result.facts["events"] == 0
    assert result.absent["last_event_at"] == "no audit events"
    assert result.observed_at is None


def test_missing_file_is_evidence_missing(tmp_path):
    with pytest.raises(EvidenceMissing):
        collect("audit.log", tmp_path)
