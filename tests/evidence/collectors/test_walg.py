"""Tests of the walg.backups collector.

There is no REAL wal-g output here, because wal-g is not packaged in Debian 12.
tests/data/walg/backup-list-detail.json is a SAMPLE written by hand in the
format of `wal-g backup-list --json --detail --pretty`, and
backup-list-detail-compact.json is the same list without `--pretty`. The field
names, their order and their JSON types follow wal-g's source: the
`BackupTime` struct (internal/backup_time.go: backup_name, time, wal_file_name,
storage_name) joined with `ExtendedMetadataDto` (start_time, finish_time,
date_fmt, hostname, data_dir, pg_version, start_lsn, finish_lsn, is_permanent,
system_identifier, uncompressed_size, compressed_size, user_data). Times are
written as Go's RFC3339Nano writes them, with up to nine fractional digits and
trailing zeros dropped. Delta backups are named as in wal-g's
docs/PostgreSQL.md (`base_<segment>_D_<segment of the base>`).
backup-list-empty.json is the empty stdout of `wal-g backup-list` with no
backups, where the handler logs "No backups found" and returns before printing
JSON (internal/databases/postgres/backup_list_handler.go).

The sample lists, in finish-time order (UTC, truncated to microseconds):
  base_...02                 full, permanent  2026-12-01T01:04:17.593371
  base_...09_D_...02         delta            2026-12-02T01:02:40.118602
  base_...10_D_...09         delta            2026-12-03T01:02:51.730155
  base_...18                 full             2026-12-04T01:05:09.402918
  base_...1E_D_...18         delta            2026-12-04T19:31:44.250734
The clock is pinned to 2026-12-04T21:00:00Z; expected values are computed by hand.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from assay.errors import CollectorError, EvidenceMissing
from assay.evidence.collectors.base import Collected, CollectContext
from assay.evidence.collectors.walg import WalgBackups

DATA = Path(__file__).resolve().parents[2] / "data" / "walg"
NOW = datetime(2026, 12, 4, 21, 0, tzinfo=UTC)
NEWEST = "base_00000001000000000000001E_D_000000010000000000000018"
NEWEST_FULL = "base_000000010000000000000018"


def collect(path: str, workspace: Path = DATA, now: datetime = NOW) -> Collected:
    params = WalgBackups.Params(path=path)
    return WalgBackups().collect(params, CollectContext(workspace=workspace, now=now))


def sample() -> list[dict[str, Any]]:
    return json.loads((DATA / "backup-list-detail.json").read_text(encoding="utf-8"))


def write(workspace: Path, content: str | bytes) -> str:
    target = workspace / "backups.json"
    if isinstance(content, bytes):
        target.write_bytes(content)
    else:
        target.write_text(content, encoding="utf-8")
    return "backups.json"


def collect_document(workspace: Path, document: Any) -> Collected:
    return collect(write(workspace, json.dumps(document)), workspace)


def collect_error(workspace: Path, content: str | bytes) -> CollectorError:
    path = write(workspace, content)
    with pytest.raises(CollectorError) as caught:
        collect(path, workspace)
    return caught.value


@pytest.fixture(scope="module")
def listed() -> Collected:
    return collect("backup-list-detail.json")


def test_sample_counts(listed: Collected) -> None:
    assert listed.facts["backups"] == 5
    assert listed.facts["full_backups"] == 2
    assert listed.facts["delta_backups"] == 3
    assert listed.facts["permanent_backups"] == 1


def test_sample_newest(listed: Collected) -> None:
    assert listed.facts["newest_backup_name"] == NEWEST
    assert listed.facts["newest_finish_time"] == "2026-12-04T19:31:44.250734Z"
    # 21:00:00 - 19:31:44.250734 = 1 h 28 min 15.749266 s
    assert listed.facts["newest_age_seconds"] == 5295.749266


def test_sample_newest_full(listed: Collected) -> None:
    assert listed.facts["newest_full_backup_name"] == NEWEST_FULL
    assert listed.facts["newest_full_finish_time"] == "2026-12-04T01:05:09.402918Z"
    # 21:00:00 - 01:05:09.402918 = 19 h 54 min 50.597082 s
    assert listed.facts["newest_full_age_seconds"] == 71690.597082


def test_sample_oldest_and_retention(listed: Collected) -> None:
    assert listed.facts["oldest_finish_time"] == "2026-12-01T01:04:17.593371Z"
    # 3 days + (21:00:00 - 01:04:17.593371) = 259200 + 71742.406629 s, divided in microseconds
    assert listed.facts["retention_days"] == 330_942_406_629 / 86_400_000_000


def test_sample_max_gap(listed: Collected) -> None:
    # Gaps 86302.525231, 86411.611553, 86537.672763 and 66394.847816 s.
    assert listed.facts["max_gap_seconds"] == 86537.672763


def test_sample_newest_sizes(listed: Collected) -> None:
    assert listed.facts["newest_compressed_size_bytes"] == 3659102
    assert listed.facts["newest_uncompressed_size_bytes"] == 19120128


def test_sample_observed_at(listed: Collected) -> None:
    assert listed.observed_at == datetime(2026, 12, 4, 19, 31, 44, 250734, tzinfo=UTC)


def test_sample_nothing_absent_or_failed(listed: Collected) -> None:
    assert listed.failures == []
    assert listed.absent == {}
    assert listed.warnings == []
    assert listed.artifacts == [DATA / "backup-list-detail.json"]


def test_compact_same_facts(listed: Collected) -> None:
    compact = collect("backup-list-detail-compact.json")
    assert compact.facts == listed.facts


def test_facts_declared(listed: Collected) -> None:
    assert all(WalgBackups.declared(name) for name in listed.facts)
    json.dumps(listed.facts, allow_nan=False)


# No backups: wal-g prints nothing to stdout.


def test_empty_output_fails() -> None:
    result = collect("backup-list-empty.json")
    assert result.failures == ["no backups"]
    assert result.facts == {"backups": 0, "full_backups": 0, "delta_backups": 0,
                            "permanent_backups": 0}
    assert result.observed_at is None


def test_empty_output_marks_facts_absent() -> None:
    result = collect("backup-list-empty.json")
    assert result.absent["newest_age_seconds"] == "no backups"
    assert set(result.absent) | set(result.facts) == set(WalgBackups.fact_names())


@pytest.mark.parametrize("text", ["\n", "  \n\n", "[]", "null",
                                  "INFO: 2026/12/04 20:00:00.123456 No backups found\n",
                                  "INFO: 2026/12/04 20:00:00.123456 No backups found\n[]\n"])
def test_no_backups_forms(tmp_path: Path, text: str) -> None:
    result = collect(write(tmp_path, text), tmp_path)
    assert result.facts["backups"] == 0
    assert result.failures == ["no backups"]


# Ordering, types of backup and missing metadata.


def test_sorted_by_parsed_time(tmp_path: Path) -> None:
    document = sample()
    # 20:00 at +02:00 is 18:00Z, before 19:00Z, although its string sorts after.
    document[3]["finish_time"] = "2026-12-04T20:00:00+02:00"
    document[4]["finish_time"] = "2026-12-04T19:00:00Z"
    result = collect_document(tmp_path, list(reversed(document)))
    assert result.facts["newest_backup_name"] == NEWEST
    assert result.facts["newest_finish_time"] == "2026-12-04T19:00:00.000000Z"
    assert result.facts["newest_age_seconds"] == 7200
    assert type(result.facts["newest_age_seconds"]) is int
    assert result.facts["newest_full_finish_time"] == "2026-12-04T18:00:00.000000Z"


def test_delta_only_warns(tmp_path: Path) -> None:
    document = [entry for entry in sample() if "_D_" in entry["backup_name"]]
    result = collect_document(tmp_path, document)
    assert result.facts["full_backups"] == 0
    assert result.facts["delta_backups"] == 3
    reason = "the list has delta backups only, no full backup"
    assert result.absent["newest_full_age_seconds"] == reason
    assert result.warnings == ["the list has delta backups but no full backup, and a delta "
                               "backup needs its full backup to be restored"]
    assert result.failures == []


def test_single_backup_no_gap(tmp_path: Path) -> None:
    result = collect_document(tmp_path, sample()[:1])
    assert result.absent == {"max_gap_seconds": "the list has only one backup"}
    assert result.facts["newest_full_backup_name"] == "base_000000010000000000000002"
    assert result.facts["permanent_backups"] == 1


def test_missing_sizes_absent(tmp_path: Path) -> None:
    document = sample()
    del document[4]["compressed_size"]
    result = collect_document(tmp_path, document)
    assert "newest_compressed_size_bytes" not in result.facts
    assert result.absent["newest_compressed_size_bytes"] == (
        f"backup {NEWEST} has no compressed_size (older wal-g versions omit it)")
    assert result.facts["newest_uncompressed_size_bytes"] == 19120128


def test_missing_is_permanent_counts_false(tmp_path: Path) -> None:
    document = sample()
    for entry in document:
        del entry["is_permanent"]
    assert collect_document(tmp_path, document).facts["permanent_backups"] == 0


def test_finish_after_now_warns(tmp_path: Path) -> None:
    now = datetime(2026, 12, 4, 19, 30, tzinfo=UTC)
    result = collect("backup-list-detail.json", now=now)
    assert result.facts["newest_age_seconds"] == -104.250734
    assert result.warnings == [
        f"backup {NEWEST} finished at 2026-12-04T19:31:44.250734Z, after the evaluation time "
        "2026-12-04T19:30:00.000000Z, so its age is negative"
    ]


# Broken inputs raise CollectorError naming the file and the place.


def test_broken_truncated_json(tmp_path: Path) -> None:
    text = (DATA / "backup-list-detail-compact.json").read_text(encoding="utf-8")
    cut = text.index("},{") + 2
    error = collect_error(tmp_path, text[:cut])
    assert error.path == "backups.json"
    assert error.location == f"1:{cut + 1}"
    assert error.reason == "invalid JSON: Expecting value"


def test_broken_list_without_detail(tmp_path: Path) -> None:
    document = [{"backup_name": "base_000000010000000000000002", "time": "2026-12-01T01:04:18Z",
                 "wal_file_name": "000000010000000000000002"}]
    error = collect_error(tmp_path, json.dumps(document))
    assert error.location == "[0].finish_time"
    assert error.reason == ("required key is missing; the list needs --detail, so run "
                            "`wal-g backup-list --json --detail`")


def test_broken_finish_time_number(tmp_path: Path) -> None:
    document = sample()
    document[2]["finish_time"] = 1796432511
    error = collect_error(tmp_path, json.dumps(document))
    assert error.location == "[2].finish_time"
    assert error.reason == "expected an RFC 3339 time string, got 1796432511"


def test_broken_finish_time_zero(tmp_path: Path) -> None:
    document = sample()
    document[1]["finish_time"] = "0001-01-01T00:00:00Z"
    error = collect_error(tmp_path, json.dumps(document))
    assert error.location == "[1].finish_time"
    assert error.reason == ("'0001-01-01T00:00:00Z' is Go's zero time, so wal-g recorded "
                            "no finish time")


def test_broken_finish_time_no_offset(tmp_path: Path) -> None:
    document = sample()
    document[0]["finish_time"] = "2026-12-01T01:04:17"
    error = collect_error(tmp_path, json.dumps(document))
    assert error.reason == "timestamp has no UTC offset: '2026-12-01T01:04:17'"


def test_broken_is_permanent_string(tmp_path: Path) -> None:
    document = sample()
    document[0]["is_permanent"] = "true"
    error = collect_error(tmp_path, json.dumps(document))
    assert error.location == "[0].is_permanent"
    assert error.reason == "expected true or false, got the string 'true'"


@pytest.mark.parametrize(("value", "reason"), [
    ("3659102", "expected a size in bytes as an integer, got the string '3659102'"),
    (3659102.5, "expected a size in bytes as an integer, got 3659102.5"),
    (-1, "size -1 is outside 0 to 2**53"),
    (True, "expected a size in bytes as an integer, got true"),
])
def test_broken_size(tmp_path: Path, value: Any, reason: str) -> None:
    document = sample()
    document[4]["compressed_size"] = value
    error = collect_error(tmp_path, json.dumps(document))
    assert error.location == "[4].compressed_size"
    assert error.reason == reason


def test_broken_backup_name_missing(tmp_path: Path) -> None:
    document = sample()
    del document[3]["backup_name"]
    error = collect_error(tmp_path, json.dumps(document))
    assert error.location == "[3].backup_name"
    assert error.reason == "required key is missing"


def test_broken_duplicate_name(tmp_path: Path) -> None:
    document = sample()
    document.append(document[0])
    error = collect_error(tmp_path, json.dumps(document))
    assert error.location == "[5].backup_name"
    assert error.reason == "backup base_000000010000000000000002 appears twice, also at [0]"


def test_broken_object_not_array(tmp_path: Path) -> None:
    error = collect_error(tmp_path, json.dumps(sample()[0]))
    assert error.location is None
    assert error.reason == ("expected the JSON array that `wal-g backup-list --json --detail` "
                            "prints, got an object")


def test_broken_entry_not_object(tmp_path: Path) -> None:
    error = collect_error(tmp_path, '["base_000000010000000000000002"]')
    assert error.location == "[0]"
    assert error.reason == ("expected a backup object, "
                            "got the string 'base_000000010000000000000002'")


def test_log_lines_skipped(tmp_path: Path, listed: Collected) -> None:
    text = ("INFO: 2026/12/04 20:00:00.123456 Listing backups\n"
            + (DATA / "backup-list-detail-compact.json").read_text(encoding="utf-8"))
    result = collect(write(tmp_path, text), tmp_path)
    assert result.facts == listed.facts
    assert result.warnings == []


def test_log_warning_kept(tmp_path: Path) -> None:
    text = ("WARNING: 2026/12/04 20:00:00.123456 Failed to fetch the hostname\n"
            + (DATA / "backup-list-detail-compact.json").read_text(encoding="utf-8"))
    result = collect(write(tmp_path, text), tmp_path)
    assert result.facts["backups"] == 5
    assert result.warnings == ["wal-g logged WARNING: Failed to fetch the hostname"]


def test_log_line_keeps_json_location(tmp_path: Path) -> None:
    text = "INFO: 2026/12/04 20:00:00.123456 Listing backups\n[\n  {\"backup_name\": }\n]\n"
    error = collect_error(tmp_path, text)
    assert error.location == "3:19"
    assert error.reason == "invalid JSON: Expecting value"


def test_line_separator_in_string_kept(tmp_path: Path) -> None:
    document = sample()
    document[0]["user_data"] = {"note": "first\u2028second"}
    text = json.dumps(document, ensure_ascii=False)
    assert collect(write(tmp_path, text), tmp_path).facts["backups"] == 5


def test_broken_error_log(tmp_path: Path) -> None:
    text = ("INFO: 2026/12/04 20:00:00.123456 Listing backups\n"
            "ERROR: 2026/12/04 20:00:00.223456 failed to list s3 folder: AccessDenied\n")
    error = collect_error(tmp_path, text)
    assert error.location == "2"
    assert error.reason == ("wal-g logged ERROR: 'failed to list s3 folder: AccessDenied', so "
                            "the listing failed; fix the cause and list the backups again")


def test_broken_invalid_utf8(tmp_path: Path) -> None:
    error = collect_error(tmp_path, b'[\n  {"hostname": "pg-\xff"}\n]')
    assert error.location == "2:20"
    assert error.reason == "invalid UTF-8 (byte 0xff); save the file as UTF-8"


def test_broken_nan(tmp_path: Path) -> None:
    error = collect_error(tmp_path, '[{"compressed_size": NaN}]')
    assert error.reason == "invalid JSON: NaN is not a JSON number"


def test_missing_file_is_evidence_missing(tmp_path: Path) -> None:
    with pytest.raises(EvidenceMissing):
        collect("backups.json", tmp_path)
