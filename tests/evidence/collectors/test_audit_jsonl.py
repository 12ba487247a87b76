"""Tests of the audit.jsonl collector against sample audit logs and broken inputs.

The logs in tests/data/audit are SAMPLES written by make-audit-jsonl-samples.py
in that folder, not the output of a real application.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from pydantic import ValidationError

from assay.errors import CollectorError, EvidenceMissing
from assay.evidence.collectors import audit_jsonl
from assay.evidence.collectors.audit_jsonl import AuditJsonl, AuditJsonlParams
from assay.evidence.collectors.base import CollectContext, Collected

DATA_DIR = Path(__file__).resolve().parents[2] / "data" / "audit"
NOW = datetime(2026, 12, 4, 21, 0, tzinfo=UTC)
NESTED = {"actor": "actor.id", "target": "target.id"}
CHAIN = {"hash_field": "hash", "prev_field": "prev_hash"}
GENESIS = "0" * 64


def collect(path: str, workspace: Path = DATA_DIR, **params: Any) -> Collected:
    context = CollectContext(workspace=workspace, now=NOW)
    return AuditJsonl().collect(AuditJsonlParams(path=path, **params), context)


def write_lines(tmp_path: Path, lines: list[str], name: str = "audit.jsonl") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def collect_lines(tmp_path: Path, lines: list[str], **params: Any) -> Collected:
    write_lines(tmp_path, lines)
    return collect("audit.jsonl", workspace=tmp_path, **params)


def collect_error(tmp_path: Path, lines: list[str], **params: Any) -> CollectorError:
    with pytest.raises(CollectorError) as caught:
        collect_lines(tmp_path, lines, **params)
    return caught.value


def event(time: Any = "2026-12-04T20:00:00Z", action: Any = "user.login", **fields: Any) -> str:
    record = {"time": time, "actor": "alice@example.invalid", "action": action,
              "target": "session/s-1", "tenant": "tenant-a", "result": "success"}
    record.update(fields)
    return json.dumps(record, ensure_ascii=False)


def chained(records: list[dict[str, Any]]) -> list[str]:
    """Link records as the sha256-canonical-without-hash scheme does, apart from the collector."""
    lines, previous = [], GENESIS
    for record in records:
        linked = {**record, "prev_hash": previous}
        previous = hashlib.sha256(rfc8785.dumps(linked)).hexdigest()
        lines.append(json.dumps({**linked, "hash": previous}, ensure_ascii=False))
    return lines


def chain_records(count: int) -> list[dict[str, Any]]:
    start = datetime(2026, 12, 4, 19, 30, tzinfo=UTC)
    return [{"seq": number, "time": (start + timedelta(seconds=number)).isoformat(),
             "actor": "svc-billing", "action": "invoice.create", "result": "success"}
            for number in range(1, count + 1)]


@pytest.fixture(scope="module")
def app_log() -> Collected:
    return collect("app-audit/*", fields=NESTED,
                   required_actions=["user.login", "role.grant", "audit.export", "data.delete"])


# The sample application log: two parts, the second gzip


def test_app_log_events_across_parts(app_log: Collected) -> None:
    assert app_log.facts["events"] == 17
    assert app_log.facts["malformed_lines"] == 0
    assert [path.name for path in app_log.artifacts] == [
        "app-audit-2026-12-04T19.jsonl", "app-audit-2026-12-04T20.jsonl.gz"]


def test_app_log_first_and_last_event(app_log: Collected) -> None:
    assert app_log.facts["first_event_at"] == "2026-12-04T19:19:05.120000Z"
    assert app_log.facts["last_event_at"] == "2026-12-04T20:01:00.000000Z"
    assert app_log.observed_at == datetime(2026, 12, 4, 20, 1, tzinfo=UTC)


def test_app_log_span_days(app_log: Collected) -> None:
    # 19:19:05.120 to 20:01:00 is 2514.88 s.
    assert app_log.facts["span_days"] == 2514.88 / 86400


def test_app_log_gap_over_sorted_times(app_log: Collected) -> None:
    # In line order 19:31:10 is followed by 19:52:40 (1290 s), but the late
    # 19:40:00 event falls between them, so the largest gap of the sorted
    # times is 19:40:00 to 19:52:40.
    assert app_log.facts["max_gap_seconds"] == 760.0
    assert app_log.facts["max_gap_start"] == "2026-12-04T19:40:00.000000Z"


def test_app_log_out_of_order_events(app_log: Collected) -> None:
    assert app_log.facts["out_of_order_events"] == 2


def test_app_log_offsets_converted(tmp_path: Path) -> None:
    # 20:21:30+01:00 is 19:21:30Z and 15:55:30.250-04:00 is 19:55:30.250Z.
    result = collect_lines(tmp_path, [event("2026-12-04T20:21:30.000+01:00"),
                                      event("2026-12-04T15:55:30.250-04:00")])
    assert result.facts["first_event_at"] == "2026-12-04T19:21:30.000000Z"
    assert result.facts["last_event_at"] == "2026-12-04T19:55:30.250000Z"


def test_app_log_actions(app_log: Collected) -> None:
    assert app_log.facts["actions"] == {
        "audit.export": 1, "backup.verify": 1, "invoice.delete": 1, "invoice.view": 2,
        "retention.purge": 1, "role.grant": 1, "role.revoke": 1, "user.login": 5,
        "user.logout": 3, "user.password_change": 1,
    }


def test_app_log_tenants_leave_out_missing(app_log: Collected) -> None:
    # The retention and backup jobs have no tenant.
    assert app_log.facts["events_by_tenant"] == {"tenant-a": 6, "tenant-b": 5, "tenant-c": 4}


def test_app_log_results(app_log: Collected) -> None:
    assert app_log.facts["results"] == {"denied": 1, "failure": 2, "success": 14}


def test_app_log_actor_ratio(app_log: Collected) -> None:
    # One event has "actor": null and one has no actor key.
    assert app_log.facts["actor_ratio"] == 15 / 17


def test_app_log_target_ratio(app_log: Collected) -> None:
    assert app_log.facts["target_ratio"] == 16 / 17


def test_app_log_required_action_missing(app_log: Collected) -> None:
    assert app_log.facts["required_actions_missing"] == ["data.delete"]
    assert app_log.facts["required_actions_covered"] is False
    assert app_log.failures == ["required actions missing from the audit log: data.delete"]


def test_app_log_no_chain_facts(app_log: Collected) -> None:
    assert "chain_verified" not in app_log.facts
    assert "chain_first_break" not in app_log.facts
    assert "chain_verified" not in app_log.absent


def test_app_log_no_warnings(app_log: Collected) -> None:
    assert app_log.warnings == []
    assert app_log.absent == {}


def test_app_log_facts_declared(app_log: Collected) -> None:
    for name in app_log.facts:
        assert AuditJsonl.declared(name) is not None, name


def test_app_log_facts_are_json(app_log: Collected) -> None:
    assert json.loads(json.dumps(app_log.facts)) == app_log.facts


def test_app_log_default_fields_read_objects(tmp_path: Path) -> None:
    # Without the dotted names, actor and target are the nested objects.
    result = collect("app-audit/*")
    assert result.facts["actor_ratio"] == 15 / 17
    assert result.facts["target_ratio"] == 16 / 17


def test_required_actions_covered() -> None:
    result = collect("app-audit/*", required_actions=["user.login", "backup.verify"])
    assert result.facts["required_actions_missing"] == []
    assert result.facts["required_actions_covered"] is True
    assert result.failures == []


def test_required_actions_missing_in_order_given(tmp_path: Path) -> None:
    result = collect_lines(tmp_path, [event(action="user.login")],
                           required_actions=["z.last", "user.login", "a.first"])
    assert result.facts["required_actions_missing"] == ["z.last", "a.first"]


# Line order and chunks


def test_single_part_file_name_order(tmp_path: Path) -> None:
    write_lines(tmp_path, [event("2026-12-04T20:00:00Z")], "parts/b.jsonl")
    write_lines(tmp_path, [event("2026-12-04T20:05:00Z")], "parts/a.jsonl")
    result = collect("parts/*.jsonl", workspace=tmp_path)
    # a.jsonl is read first, so the later time comes first in line order.
    assert result.facts["out_of_order_events"] == 1
    assert result.facts["max_gap_seconds"] == 300.0


def _expected_times(times: list[float]) -> dict[str, Any]:
    """Compute the time facts by brute force over the sorted times."""
    ordered = sorted(times)
    gaps = [(ordered[i + 1] - ordered[i], ordered[i]) for i in range(len(ordered) - 1)]
    gap, start = max(gaps, key=lambda item: (item[0], -item[1]))
    late = sum(1 for i in range(1, len(times)) if times[i] < times[i - 1])
    return {"gap": gap, "start": start, "late": late, "first": ordered[0], "last": ordered[-1]}


def _format(seconds: float) -> str:
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)).strftime(
        "%Y-%m-%dT%H:%M:%S.%fZ")


@pytest.mark.parametrize("chunk_bytes", [1, 700, 64 << 10])
def test_random_order_matches_brute_force(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk_bytes: int
) -> None:
    # Whole milliseconds, so that the floats compare exactly. Some events are
    # written late by up to an hour, some repeat a time, and ties between gaps occur.
    rng = random.Random(20261204)
    base = datetime(2026, 12, 4, tzinfo=UTC).timestamp()
    clock, times = 0, []
    for _ in range(3000):
        clock += rng.choice([0, 1000, 1000, 2500, rng.randrange(1, 90_000)])
        late = rng.randrange(0, 3_600_000) if rng.random() < 0.05 else 0
        times.append(base + (clock - late) / 1000)
    lines = [event(_format(seconds)) for seconds in times]
    monkeypatch.setattr(audit_jsonl, "CHUNK_BYTES", chunk_bytes)
    monkeypatch.setattr(audit_jsonl, "SORT_RUN_VALUES", 256)
    result = collect_lines(tmp_path, lines)
    expected = _expected_times(times)
    assert result.facts["events"] == 3000
    assert result.facts["max_gap_seconds"] == round(expected["gap"], 6)
    assert result.facts["max_gap_start"] == _format(expected["start"])
    assert result.facts["out_of_order_events"] == expected["late"]
    assert result.facts["first_event_at"] == _format(expected["first"])
    assert result.facts["last_event_at"] == _format(expected["last"])


def test_late_event_before_all_others(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit_jsonl, "CHUNK_BYTES", 1)
    lines = [event("2026-12-04T20:00:00Z"), event("2026-12-04T20:00:10Z"),
             event("2026-12-04T19:00:00Z")]
    result = collect_lines(tmp_path, lines)
    assert result.facts["max_gap_seconds"] == 3600.0
    assert result.facts["max_gap_start"] == "2026-12-04T19:00:00.000000Z"
    assert result.facts["first_event_at"] == "2026-12-04T19:00:00.000000Z"
    assert result.facts["out_of_order_events"] == 1


def test_gap_tie_takes_earliest(tmp_path: Path) -> None:
    lines = [event("2026-12-04T20:00:00Z"), event("2026-12-04T20:01:00Z"),
             event("2026-12-04T20:02:00Z")]
    result = collect_lines(tmp_path, lines)
    assert result.facts["max_gap_seconds"] == 60.0
    assert result.facts["max_gap_start"] == "2026-12-04T20:00:00.000000Z"


def test_line_and_column_paths_agree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A blank line sends its chunk to the line-by-line path, so the same
    # events are read both ways.
    lines = [event("2026-12-04T20:00:00Z", action="a", result=403, tenant=None),
             event("2026-12-04T20:00:05Z", action=True, actor="", target={}),
             event("2026-12-04T20:00:03Z", action=["x"], result="403", actor={"id": 1}),
             event("2026-12-04T20:00:04.5Z", action=1, result=False, tenant="tenant-b")]
    columns = collect_lines(tmp_path, lines)
    by_line = collect_lines(tmp_path, [*lines, ""])
    assert by_line.warnings == ["skipped 1 blank line"]
    assert by_line.facts == columns.facts


def test_single_event_has_no_gap(tmp_path: Path) -> None:
    result = collect_lines(tmp_path, [event()])
    assert result.facts["span_days"] == 0.0
    assert result.absent["max_gap_seconds"] == "a gap needs two events, and the log has one"
    assert "max_gap_start" in result.absent


# Values counted in the maps


def test_numbers_and_booleans_counted_as_json_text(tmp_path: Path) -> None:
    lines = [event(result=403), event(result="403"), event(result=True), event(result=1),
             event(result=None), event(result=""), event(result={"code": 403})]
    result = collect_lines(tmp_path, lines)
    assert result.facts["results"] == {"1": 1, "403": 2, "true": 1}


def test_later_chunk_with_object_value(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The second chunk's object value stops the in-place count part way, and
    # the part already counted must be taken back before counting again.
    monkeypatch.setattr(audit_jsonl, "CHUNK_BYTES", 400)
    lines = [event(result="success"), event(result="denied"), event(result="success"),
             event(result="success"), event(result={"code": 1}), event(result=True),
             event(result="success")]
    result = collect_lines(tmp_path, lines)
    assert result.facts["results"] == {"denied": 1, "success": 4, "true": 1}


def test_later_chunk_with_number_value(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit_jsonl, "CHUNK_BYTES", 400)
    lines = [event(action="a"), event(action="a"), event(action=True), event(action=1),
             event(action="1"), event(action="a")]
    result = collect_lines(tmp_path, lines, required_actions=["1", "true", "a"])
    assert result.facts["actions"] == {"1": 2, "a": 3, "true": 1}
    assert result.facts["required_actions_covered"] is True


def test_non_ascii_and_markup_kept(tmp_path: Path) -> None:
    line = event(tenant="Müller <&> Söhne", action="export.ünïcødé")
    result = collect_lines(tmp_path, [line])
    assert result.facts["events_by_tenant"] == {"Müller <&> Söhne": 1}
    assert result.facts["actions"] == {"export.ünïcødé": 1}


def test_max_keys_drops_map(tmp_path: Path) -> None:
    lines = [event(action=f"action.{number}") for number in range(5)]
    result = collect_lines(tmp_path, lines, max_keys=4, required_actions=["action.4"])
    assert "actions" not in result.facts
    assert result.absent["actions"] == "more than 4 distinct values; raise max_keys to count them"
    # Required actions are still tracked once the map is dropped.
    assert result.facts["required_actions_covered"] is True
    assert result.facts["events_by_tenant"] == {"tenant-a": 5}


def test_max_keys_reached_not_passed(tmp_path: Path) -> None:
    lines = [event(action=f"action.{number}") for number in range(4)] + [event(action=None)]
    result = collect_lines(tmp_path, lines, max_keys=4)
    assert len(result.facts["actions"]) == 4


def test_actor_values_that_count_as_none(tmp_path: Path) -> None:
    lines = [event(actor=None), event(actor=""), event(actor={}), event(actor=[]),
             event(actor=False), event(actor=0), event(actor="bob"), event(actor={"id": "x"})]
    result = collect_lines(tmp_path, lines)
    assert result.facts["actor_ratio"] == 2 / 8


def test_dotted_field_through_non_object(tmp_path: Path) -> None:
    lines = [event(actor={"id": "alice"}), event(actor="bob"), event(actor={"name": "carol"})]
    result = collect_lines(tmp_path, lines, fields={"actor": "actor.id"})
    assert result.facts["actor_ratio"] == 1 / 3


def test_custom_field_names(tmp_path: Path) -> None:
    line = json.dumps({"ts": "2026-12-04T20:00:00Z", "meta": {"event": {"type": "login"}},
                       "org": "tenant-z", "outcome": "ok"})
    result = collect_lines(
        tmp_path, [line],
        fields={"time": "ts", "action": "meta.event.type", "tenant": "org", "result": "outcome"},
    )
    assert result.facts["actions"] == {"login": 1}
    assert result.facts["events_by_tenant"] == {"tenant-z": 1}
    assert result.facts["results"] == {"ok": 1}


# Time formats


@pytest.mark.parametrize(("time", "expected"), [
    ("2026-12-04T20:00:00Z", "2026-12-04T20:00:00.000000Z"),
    ("2026-12-04T20:00:00.123456789Z", "2026-12-04T20:00:00.123456Z"),
    ("2026-12-04t20:00:00z", "2026-12-04T20:00:00.000000Z"),
    ("2026-12-04 21:00:00+01:00", "2026-12-04T20:00:00.000000Z"),
    ("2026-12-05T01:30:00+05:30", "2026-12-04T20:00:00.000000Z"),
])  # fmt: skip
def test_time_forms(tmp_path: Path, time: str, expected: str) -> None:
    result = collect_lines(tmp_path, [event(time)])
    assert result.facts["first_event_at"] == expected
    assert result.facts["malformed_lines"] == 0


def test_epoch_seconds(tmp_path: Path) -> None:
    lines = [event(1796414400), event(1796414460.5)]
    result = collect_lines(tmp_path, lines, time_format="epoch_seconds")
    assert result.facts["first_event_at"] == "2026-12-04T20:00:00.000000Z"
    assert result.facts["max_gap_seconds"] == 60.5


def test_epoch_milliseconds(tmp_path: Path) -> None:
    lines = [event(1796414400000), event(1796414400250)]
    result = collect_lines(tmp_path, lines, time_format="epoch_milliseconds")
    assert result.facts["last_event_at"] == "2026-12-04T20:00:00.250000Z"
    assert result.facts["max_gap_seconds"] == 0.25


def test_epoch_rejects_text_and_booleans(tmp_path: Path) -> None:
    lines = [event(1796414400), event("2026-12-04T20:00:00Z"), event(True), event(float("inf"))]
    result = collect_lines(tmp_path, lines, time_format="epoch_seconds")
    assert result.facts["events"] == 1
    assert result.facts["malformed_lines"] == 3


def test_rfc3339_rejects_number(tmp_path: Path) -> None:
    error = collect_error(tmp_path, [event(1796414400)], strict=True)
    assert error.reason == "time: expected an RFC 3339 time, found the number 1796414400"
    assert error.location == "1"


# Malformed lines


def test_malformed_sample_counted() -> None:
    result = collect("malformed/*")
    assert result.facts["events"] == 3
    assert result.facts["malformed_lines"] == 4
    assert result.warnings == [
        "skipped 4 malformed lines (first at malformed/app-audit-malformed.jsonl:3:84: "
        "invalid JSON: Unterminated string starting at)",
        "skipped 1 blank line",
    ]
    assert result.failures == []


def test_malformed_sample_strict() -> None:
    with pytest.raises(CollectorError) as caught:
        collect("malformed/*", strict=True)
    assert caught.value.path == "malformed/app-audit-malformed.jsonl"
    assert caught.value.location == "3:84"
    assert caught.value.reason == "invalid JSON: Unterminated string starting at"


@pytest.mark.parametrize(("line", "reason"), [
    ('["not", "an", "event"]', "expected a JSON object, found a JSON array"),
    ('"text"', 'expected a JSON object, found a string ("text")'),
    ('{"action": "user.login"}', "time is missing"),
    (event("2026-12-04 20:00:00"), "time: time has no UTC offset: '2026-12-04 20:00:00'"),
    (event("yesterday"), "time: not an RFC 3339 timestamp: 'yesterday'"),
    (event("2026-02-30T20:00:00Z"), "time: day is out of range for month"),
    ('{"time": NaN}', "invalid JSON: NaN is not a JSON number"),
])  # fmt: skip
def test_malformed_reasons(tmp_path: Path, line: str, reason: str) -> None:
    error = collect_error(tmp_path, [event(), line], strict=True)
    assert error.reason == reason
    assert error.location == "2"


def test_invalid_utf8_counted_with_column(tmp_path: Path) -> None:
    path = write_lines(tmp_path, [event()])
    path.write_bytes(path.read_bytes() + b'{"time": "2026-12-04T20:00:01Z", "actor": "\xff"}\n')
    result = collect("audit.jsonl", workspace=tmp_path)
    assert result.facts["events"] == 1
    assert result.facts["malformed_lines"] == 1
    assert result.warnings == [
        "skipped 1 malformed line (first at audit.jsonl:2:44: invalid UTF-8 (byte 0xff); save "
        "the log as UTF-8)"
    ]


def test_invalid_utf8_strict(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    path.write_bytes(event().encode() + b"\n" + b'{"actor": "\xc3\x28"}\n')
    with pytest.raises(CollectorError) as caught:
        collect("audit.jsonl", workspace=tmp_path, strict=True)
    assert caught.value.location == "2:12"
    assert caught.value.reason == "invalid UTF-8 (byte 0xc3); save the log as UTF-8"


def test_byte_order_mark_accepted(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + event().encode() + b"\n")
    result = collect("audit.jsonl", workspace=tmp_path)
    assert result.facts["events"] == 1
    assert result.facts["malformed_lines"] == 0


def test_crlf_line_ends(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    path.write_bytes((event() + "\r\n" + event("2026-12-04T20:00:01Z") + "\r\n").encode())
    result = collect("audit.jsonl", workspace=tmp_path)
    assert result.facts["events"] == 2


@pytest.mark.parametrize("orjson_installed", [True, False])
def test_lone_surrogate_malformed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, orjson_installed: bool
) -> None:
    if not orjson_installed:
        monkeypatch.setattr(audit_jsonl, "orjson", None)
        monkeypatch.setattr(audit_jsonl, "_loads", audit_jsonl._make_loads())
    lines = [event(), event(actor="x").replace('"x"', '"\\ud800"'), event(actor="\U0001f600")]
    result = collect_lines(tmp_path, lines)
    assert result.facts["events"] == 2
    assert result.facts["malformed_lines"] == 1


def test_without_orjson_same_facts(monkeypatch: pytest.MonkeyPatch) -> None:
    with_orjson = collect("app-audit/*", fields=NESTED).facts
    monkeypatch.setattr(audit_jsonl, "orjson", None)
    monkeypatch.setattr(audit_jsonl, "_loads", audit_jsonl._make_loads())
    assert collect("app-audit/*", fields=NESTED).facts == with_orjson


# Empty and missing inputs


@pytest.mark.parametrize("content", [b"", b"\n\n"])
def test_empty_file_no_events(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "audit.jsonl").write_bytes(content)
    result = collect("audit.jsonl", workspace=tmp_path)
    assert result.facts["events"] == 0
    assert result.failures == ["no events in audit.jsonl"]
    assert result.absent["first_event_at"] == "the log has no events"
    assert result.absent["actor_ratio"] == "the log has no events"
    assert result.observed_at is None
    assert "audit.jsonl contains no events" in result.warnings


def test_only_malformed_lines_no_events(tmp_path: Path) -> None:
    result = collect_lines(tmp_path, ["not json"])
    assert result.facts["malformed_lines"] == 1
    assert result.failures == ["no events in audit.jsonl"]


def test_empty_part_warns(tmp_path: Path) -> None:
    write_lines(tmp_path, [event()], "parts/a.jsonl")
    write_lines(tmp_path, [], "parts/b.jsonl")
    result = collect("parts/*", workspace=tmp_path)
    assert result.facts["events"] == 1
    assert result.warnings == ["parts/b.jsonl contains no events"]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(EvidenceMissing):
        collect("nothing-*.jsonl", workspace=tmp_path)


def test_gzip_truncated(tmp_path: Path) -> None:
    data = gzip.compress((event() + "\n").encode() * 200)
    (tmp_path / "audit.jsonl.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(CollectorError) as caught:
        collect("audit.jsonl.gz", workspace=tmp_path)
    assert caught.value.reason == "gzip data ends early; the file is truncated"


def test_over_max_bytes(tmp_path: Path) -> None:
    write_lines(tmp_path, [event()] * 10)
    with pytest.raises(CollectorError) as caught:
        collect("audit.jsonl", workspace=tmp_path, max_bytes=100)
    assert "over the max_bytes limit of 100" in caught.value.reason


def test_gzip_over_max_bytes(tmp_path: Path) -> None:
    (tmp_path / "audit.jsonl.gz").write_bytes(gzip.compress((event() + "\n").encode() * 100))
    with pytest.raises(CollectorError) as caught:
        collect("audit.jsonl.gz", workspace=tmp_path, max_bytes=1000)
    assert caught.value.reason == (
        "decompressed input passes the max_bytes limit; raise max_bytes to read it")


# Hash chain


def test_chain_sample_verifies() -> None:
    result = collect("chained/audit-chain.jsonl", **CHAIN)
    assert result.facts["chain_verified"] is True
    assert "chain_first_break" not in result.facts
    assert result.absent["chain_first_break"] == "the hash chain verifies"
    assert result.failures == []
    assert result.facts["events"] == 8


def test_chain_tampered_sample_names_edited_line() -> None:
    result = collect("chained-tampered/audit-chain.jsonl", **CHAIN)
    assert result.facts["chain_verified"] is False
    assert result.facts["chain_first_break"] == "chained-tampered/audit-chain.jsonl:6"
    assert len(result.failures) == 1
    assert result.failures[0].startswith(
        "hash chain breaks at chained-tampered/audit-chain.jsonl:6: hash d0be18e7")
    assert result.failures[0].endswith("so the record was changed after it was hashed")


def test_chain_sample_matches_independent_hashes() -> None:
    lines = (DATA_DIR / "chained" / "audit-chain.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    for record in records:
        without = {key: value for key, value in record.items() if key != "hash"}
        assert hashlib.sha256(rfc8785.dumps(without)).hexdigest() == record["hash"]


def test_chain_hash_recomputed_breaks_next_line(tmp_path: Path) -> None:
    records = chain_records(6)
    lines = chained(records)
    edited = json.loads(lines[2])
    edited["result"] = "failure"
    del edited["hash"]
    edited["hash"] = hashlib.sha256(rfc8785.dumps(edited)).hexdigest()
    lines[2] = json.dumps(edited)
    result = collect_lines(tmp_path, lines, **CHAIN)
    assert result.facts["chain_first_break"] == "audit.jsonl:4"
    assert "prev_hash" in result.failures[0]
    assert "a record before this one was changed, removed or moved" in result.failures[0]


def test_chain_removed_record(tmp_path: Path) -> None:
    lines = chained(chain_records(5))
    del lines[1]
    result = collect_lines(tmp_path, lines, **CHAIN)
    assert result.facts["chain_first_break"] == "audit.jsonl:2"


def test_chain_swapped_records(tmp_path: Path) -> None:
    lines = chained(chain_records(5))
    lines[1], lines[2] = lines[2], lines[1]
    result = collect_lines(tmp_path, lines, **CHAIN)
    assert result.facts["chain_first_break"] == "audit.jsonl:2"


def test_chain_first_prev_not_checked(tmp_path: Path) -> None:
    lines = chained(chain_records(8))[3:]
    result = collect_lines(tmp_path, lines, **CHAIN)
    assert result.facts["chain_verified"] is True


def test_chain_across_parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit_jsonl, "CHUNK_BYTES", 300)
    lines = chained(chain_records(9))
    write_lines(tmp_path, lines[:4], "parts/1.jsonl")
    write_lines(tmp_path, lines[4:], "parts/2.jsonl")
    assert collect("parts/*", workspace=tmp_path, **CHAIN).facts["chain_verified"] is True
    write_lines(tmp_path, lines[5:], "parts/2.jsonl")
    result = collect("parts/*", workspace=tmp_path, **CHAIN)
    assert result.facts["chain_first_break"] == "parts/2.jsonl:1"


def test_chain_key_order_and_spacing_ignored(tmp_path: Path) -> None:
    # The hash covers the canonical form, not the bytes as written.
    lines = [json.dumps(dict(reversed(json.loads(line).items())), indent=None,
                        separators=(", ", " : "))
             for line in chained(chain_records(3))]
    assert collect_lines(tmp_path, lines, **CHAIN).facts["chain_verified"] is True


def test_chain_uppercase_hex_accepted(tmp_path: Path) -> None:
    lines = [line.replace(json.loads(line)["hash"], json.loads(line)["hash"].upper())
             for line in chained(chain_records(3))]
    assert collect_lines(tmp_path, lines, **CHAIN).facts["chain_verified"] is True


def test_chain_floats_canonical(tmp_path: Path) -> None:
    # RFC 8785 writes 119.0 as 119 and 1e-7 as 1e-7.
    records = [{**chain_records(1)[0], "amount": 119.0, "rate": 1e-7}]
    line = chained(records)[0]
    linked = {**records[0], "prev_hash": GENESIS}
    assert '"amount":119,' in rfc8785.dumps(linked).decode()
    assert collect_lines(tmp_path, [line], **CHAIN).facts["chain_verified"] is True


def test_chain_missing_hash_field(tmp_path: Path) -> None:
    lines = chained(chain_records(3))
    record = json.loads(lines[1])
    del record["hash"]
    lines[1] = json.dumps(record)
    result = collect_lines(tmp_path, lines, **CHAIN)
    assert result.facts["chain_first_break"] == "audit.jsonl:2"
    assert "hash is missing or not a string" in result.failures[0]


def test_chain_breaks_at_invalid_line(tmp_path: Path) -> None:
    lines = chained(chain_records(4))
    lines.insert(2, "garbage")
    result = collect_lines(tmp_path, lines, **CHAIN)
    assert result.facts["chain_first_break"] == "audit.jsonl:3"
    assert result.facts["malformed_lines"] == 1
    assert "the line is not a record (invalid JSON: Expecting value)" in result.failures[0]


def test_chain_blank_line_ignored(tmp_path: Path) -> None:
    lines = chained(chain_records(4))
    lines.insert(2, "")
    assert collect_lines(tmp_path, lines, **CHAIN).facts["chain_verified"] is True


def test_chain_time_missing_still_verified(tmp_path: Path) -> None:
    # A record without a time is not an event, but it is a link of the chain.
    records = chain_records(3)
    del records[1]["time"]
    result = collect_lines(tmp_path, chained(records), **CHAIN)
    assert result.facts["chain_verified"] is True
    assert result.facts["malformed_lines"] == 1


def test_chain_hash_field_only(tmp_path: Path) -> None:
    lines = chained(chain_records(3))
    lines[0], lines[2] = lines[2], lines[0]
    result = collect_lines(tmp_path, lines, hash_field="hash")
    # Without prev_field the order is not checked, only each record's own hash.
    assert result.facts["chain_verified"] is True


def test_chain_prev_field_only(tmp_path: Path) -> None:
    # Records that store only the link: each prev_hash is the hash of the
    # whole previous record.
    lines, previous = [], GENESIS
    for record in chain_records(4):
        linked = {**record, "prev_hash": previous}
        previous = hashlib.sha256(rfc8785.dumps(linked)).hexdigest()
        lines.append(json.dumps(linked))
    assert collect_lines(tmp_path, lines, prev_field="prev_hash").facts["chain_verified"] is True
    lines[1] = lines[1].replace("success", "failure")
    result = collect_lines(tmp_path, lines, prev_field="prev_hash")
    assert result.facts["chain_first_break"] == "audit.jsonl:3"


def test_chain_line_scheme(tmp_path: Path) -> None:
    lines, previous = [], GENESIS
    for record in chain_records(4):
        line = json.dumps({**record, "prev": previous})
        previous = hashlib.sha256(line.encode()).hexdigest()
        lines.append(line)
    params = {"prev_field": "prev", "hash_scheme": "sha256-line"}
    assert collect_lines(tmp_path, lines, **params).facts["chain_verified"] is True
    lines[1] = lines[1].replace("success", "failure")
    result = collect_lines(tmp_path, lines, **params)
    assert result.facts["chain_first_break"] == "audit.jsonl:3"


def test_chain_empty_log(tmp_path: Path) -> None:
    (tmp_path / "audit.jsonl").write_bytes(b"")
    result = collect("audit.jsonl", workspace=tmp_path, **CHAIN)
    assert "chain_verified" not in result.facts
    assert result.absent["chain_verified"] == "the log has no records to verify"


def test_chain_line_scheme_rejects_hash_field() -> None:
    with pytest.raises(ValidationError, match="takes no hash_field"):
        AuditJsonlParams(path="x", hash_field="hash", prev_field="prev",
                         hash_scheme="sha256-line")


def test_chain_line_scheme_needs_prev_field() -> None:
    with pytest.raises(ValidationError, match="needs prev_field"):
        AuditJsonlParams(path="x", hash_scheme="sha256-line")


def test_chain_same_fields_rejected() -> None:
    with pytest.raises(ValidationError, match="must be different keys"):
        AuditJsonlParams(path="x", hash_field="h", prev_field="h")


def test_unknown_field_role_rejected() -> None:
    with pytest.raises(ValidationError):
        AuditJsonlParams(path="x", fields={"who": "actor"})


def test_collector_registered() -> None:
    from assay.evidence import collectors

    assert collectors.get("audit.jsonl") is AuditJsonl
    assert AuditJsonl.name == "audit.jsonl"
