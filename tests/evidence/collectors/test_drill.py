"""Tests of the drill.restore collector on records written by scripts/restore_drill.py.

tests/data/drill/passed is one real drill on PostgreSQL 15.18 and pgBackRest
2.45. tests/data/drill/failed is a real drill run with --timeout 2, so its
full backup timed out. Other cases are copies of the passed record with one
field changed. Expected ages are computed by hand: NOW (2026-12-05T00:00:00Z)
minus the passed drill's ready_at (2026-12-04T21:03:06.461707Z) is
2 h 56 min 53.538293 s, which is 10613.538293 s.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from assay.errors import CollectorError, EvidenceMissing
from assay.evidence import collectors
from assay.evidence.collectors.base import Collected, CollectContext
from assay.evidence.collectors.drill import RestoreDrill

DATA = Path(__file__).resolve().parents[2] / "data" / "drill"
PASSED = "passed/restore-drill.json"
FAILED = "failed/restore-drill.json"
NOW = datetime(2026, 12, 5, tzinfo=UTC)
PASSED_LOGS = [
    "logs/pgbackrest/drill-backup.log",
    "logs/pgbackrest/drill-expire.log",
    "logs/pgbackrest/drill-restore.log",
    "logs/pgbackrest/drill-stanza-create.log",
    "logs/postgresql-primary.log",
    "logs/postgresql-restored.log",
]


def collect(path: str, workspace: Path = DATA, now: datetime = NOW) -> Collected:
    params = RestoreDrill.Params(path=path)
    return RestoreDrill().collect(params, CollectContext(workspace=workspace, now=now))


def passed_record() -> dict[str, Any]:
    return json.loads((DATA / PASSED).read_text(encoding="utf-8"))


def write_record(workspace: Path, record: dict[str, Any], folder: str = "drill") -> str:
    (workspace / folder).mkdir(parents=True, exist_ok=True)
    (workspace / folder / "restore-drill.json").write_text(json.dumps(record), encoding="utf-8")
    return f"{folder}/restore-drill.json"


def collect_error(workspace: Path, record: dict[str, Any]) -> CollectorError:
    path = write_record(workspace, record)
    with pytest.raises(CollectorError) as caught:
        collect(path, workspace)
    return caught.value


def raw_error(workspace: Path, data: bytes) -> CollectorError:
    (workspace / "restore-drill.json").write_bytes(data)
    with pytest.raises(CollectorError) as caught:
        collect("restore-drill.json", workspace)
    return caught.value


@pytest.fixture(scope="module")
def passed() -> Collected:
    return collect(PASSED)


@pytest.fixture(scope="module")
def failed() -> Collected:
    return collect(FAILED)


# Registration


def test_registered_as_drill_restore() -> None:
    assert collectors.get("drill.restore") is RestoreDrill
    assert RestoreDrill.name == "drill.restore"


def test_params_reject_unknown_key() -> None:
    with pytest.raises(ValidationError):
        RestoreDrill.Params.model_validate({"path": PASSED, "stanza": "drill"})


# The kept real drill


def test_passed_rto_as_written(passed: Collected) -> None:
    assert passed.facts["rto_seconds"] == 9.303104


def test_passed_restore_command_seconds(passed: Collected) -> None:
    assert passed.facts["restore_command_seconds"] == 4.50537


def test_passed_rto_covers_restore_command(passed: Collected) -> None:
    assert passed.facts["rto_seconds"] > 0
    assert passed.facts["rto_seconds"] >= passed.facts["restore_command_seconds"]


def test_passed_data_verified(passed: Collected) -> None:
    assert passed.facts["data_verified"] is True
    assert passed.facts["failed_steps"] == []
    assert passed.failures == []


def test_passed_started_at_and_age(passed: Collected) -> None:
    assert passed.facts["drill_started_at"] == "2026-12-04T21:02:57.158603Z"
    assert passed.facts["drill_age_seconds"] == 10613.538293


def test_passed_observed_at_is_ready_at(passed: Collected) -> None:
    assert passed.observed_at == datetime(2026, 12, 4, 21, 3, 6, 461707, tzinfo=UTC)


def test_passed_versions_and_count(passed: Collected) -> None:
    assert passed.facts["tool_version"] == "2.45"
    assert passed.facts["postgres_version"] == "15.18 (Debian 15.18-0+deb12u1)"
    assert passed.facts["drills"] == 1


def test_passed_has_every_declared_fact(passed: Collected) -> None:
    assert sorted(passed.facts) == sorted(RestoreDrill.fact_names())
    assert passed.absent == {}
    assert passed.warnings == []


def test_passed_artifacts_are_record_and_logs(passed: Collected) -> None:
    record_folder = DATA / "passed"
    expected = [record_folder / "restore-drill.json"]
    expected += [record_folder / name for name in PASSED_LOGS]
    assert passed.artifacts == [path.resolve() for path in expected]


def test_passed_age_whole_seconds_is_int() -> None:
    result = collect(PASSED, now=datetime(2026, 12, 4, 21, 3, 16, 461707, tzinfo=UTC))
    assert result.facts["drill_age_seconds"] == 10
    assert isinstance(result.facts["drill_age_seconds"], int)


def test_ready_after_now_warns() -> None:
    result = collect(PASSED, now=datetime(2026, 12, 4, 21, 2, 56, 461707, tzinfo=UTC))
    assert result.facts["drill_age_seconds"] == -10
    assert result.warnings == [
        "the restore drill in passed/restore-drill.json was ready at "
        "2026-12-04T21:03:06.461707Z, after the evaluation time "
        "2026-12-04T21:02:56.461707Z, so its age is negative"
    ]


# The kept failed drill


def test_failed_drill_fails_control(failed: Collected) -> None:
    assert failed.failures == [
        "restore drill did not verify the data: backup failed "
        "(pgbackrest backup timed out after 2.0 s)"
    ]


def test_failed_drill_facts(failed: Collected) -> None:
    assert failed.facts["data_verified"] is False
    assert failed.facts["failed_steps"] == ["backup"]
    assert failed.facts["drills"] == 1
    assert failed.facts["tool_version"] == "2.45"


def test_failed_drill_absent_timings(failed: Collected) -> None:
    reason = "the restore drill in failed/restore-drill.json failed at step backup"
    assert failed.absent == {
        "rto_seconds": reason,
        "restore_command_seconds": reason,
        "drill_started_at": reason,
        "drill_age_seconds": reason,
    }


def test_failed_drill_observed_at_last_step_end(failed: Collected) -> None:
    assert failed.observed_at == datetime(2026, 12, 4, 21, 3, 16, 768131, tzinfo=UTC)


def test_failed_without_error_message(tmp_path: Path) -> None:
    record = json.loads((DATA / FAILED).read_text(encoding="utf-8"))
    del record["error"]
    result = collect(write_record(tmp_path, record), tmp_path)
    assert result.failures == ["restore drill did not verify the data: backup failed"]


def test_failed_at_verify_keeps_restore_time(tmp_path: Path) -> None:
    record = passed_record()
    record.update(data_verified=False, ready_at=None, rto_seconds=None, rows_found=99_999,
                  error="found 99999 rows in drill_rows, expected 100000")
    record["steps"][-1]["exit_code"] = 1
    result = collect(write_record(tmp_path, record), tmp_path)
    assert result.facts["restore_command_seconds"] == 4.50537
    assert result.facts["drill_started_at"] == "2026-12-04T21:02:57.158603Z"
    assert result.facts["failed_steps"] == ["verify-data"]
    assert "rto_seconds" in result.absent
    assert result.failures == [
        "restore drill did not verify the data: verify-data failed "
        "(found 99999 rows in drill_rows, expected 100000)"
    ]


# Several drills


def test_glob_newest_drill_wins() -> None:
    # The failed drill ended at 21:03:16, after the passed one was ready at 21:03:06.
    result = collect("*/restore-drill.json")
    assert result.facts["drills"] == 2
    assert result.facts["data_verified"] is False
    assert result.facts["failed_steps"] == ["backup"]
    assert result.artifacts[0] == (DATA / FAILED).resolve()
    assert result.artifacts[-1] == (DATA / PASSED).resolve()


def test_glob_newest_passed_drill_wins(tmp_path: Path) -> None:
    shutil.copytree(DATA / "passed", tmp_path / "drill-1")
    later = passed_record()
    for key in ("started_at", "restore_command_ended_at", "ready_at"):
        later[key] = later[key].replace("2026-12-04", "2026-12-05")
    for step in later["steps"]:
        for key in ("started_at", "ended_at"):
            step[key] = step[key].replace("2026-12-04", "2026-12-05")
    later["rto_seconds"] = 5.5
    later["ready_at"] = "2026-12-05T21:03:02.658603Z"
    write_record(tmp_path, later, "drill-2")
    result = collect("drill-*/restore-drill.json", tmp_path,
                     now=datetime(2026, 12, 6, tzinfo=UTC))
    assert result.facts["drills"] == 2
    assert result.facts["rto_seconds"] == 5.5
    assert result.facts["drill_started_at"] == "2026-12-05T21:02:57.158603Z"
    assert result.observed_at == datetime(2026, 12, 5, 21, 3, 2, 658603, tzinfo=UTC)


def test_glob_with_one_broken_record_names_it(tmp_path: Path) -> None:
    shutil.copytree(DATA / "passed", tmp_path / "drill-1")
    (tmp_path / "drill-2").mkdir()
    (tmp_path / "drill-2" / "restore-drill.json").write_text("{", encoding="utf-8")
    with pytest.raises(CollectorError) as caught:
        collect("drill-*/restore-drill.json", tmp_path)
    assert caught.value.path == "drill-2/restore-drill.json"


def test_no_match_is_missing_evidence(tmp_path: Path) -> None:
    with pytest.raises(EvidenceMissing):
        collect("drills/*/restore-drill.json", tmp_path)


# Records that disagree with themselves


def test_rto_not_matching_instants_rejected(tmp_path: Path) -> None:
    record = passed_record()
    record["rto_seconds"] = 1.0
    error = collect_error(tmp_path, record)
    assert error.location == "rto_seconds"
    assert error.reason == ("is 1.0, but ready_at - started_at is 9.303104 s; the two must "
                            "agree within 1 ms")


def test_rto_within_one_ms_accepted(tmp_path: Path) -> None:
    record = passed_record()
    record["rto_seconds"] = 9.3035
    result = collect(write_record(tmp_path, record), tmp_path)
    assert result.facts["rto_seconds"] == 9.3035


def test_rto_two_ms_off_rejected(tmp_path: Path) -> None:
    record = passed_record()
    record["rto_seconds"] = 9.305104
    assert collect_error(tmp_path, record).location == "rto_seconds"


def test_ready_at_moved_rejected(tmp_path: Path) -> None:
    record = passed_record()
    record["ready_at"] = "2026-12-04T21:04:06.461707Z"
    error = collect_error(tmp_path, record)
    assert error.location == "rto_seconds"
    assert "ready_at - started_at is 69.303104 s" in error.reason


def test_rto_below_restore_command_rejected(tmp_path: Path) -> None:
    record = passed_record()
    record["restore_command_seconds"] = 10.0
    error = collect_error(tmp_path, record)
    assert error.location == "rto_seconds"
    assert error.reason == ("is 9.303104, less than restore_command_seconds 10.0; the restore "
                            "command runs inside the recovery time")


def test_restore_before_start_rejected(tmp_path: Path) -> None:
    record = passed_record()
    record["restore_command_seconds"] = 6.0
    error = collect_error(tmp_path, record)
    assert error.location == "restore_command_seconds"
    assert "only 4.625509 s after started_at" in error.reason


def test_ready_before_restore_end_rejected(tmp_path: Path) -> None:
    record = passed_record()
    record["restore_command_ended_at"] = "2026-12-04T21:03:07.000000Z"
    assert collect_error(tmp_path, record).location == "ready_at"


def test_verified_with_missing_rows_rejected(tmp_path: Path) -> None:
    record = passed_record()
    record["rows_found"] = 99_999
    error = collect_error(tmp_path, record)
    assert error.location == "rows_found"
    assert error.reason == "is 99999, but rows_expected is 100000 and data_verified is true"


def test_verified_with_failed_step_rejected(tmp_path: Path) -> None:
    record = passed_record()
    record["steps"][6]["exit_code"] = 1
    error = collect_error(tmp_path, record)
    assert error.location == "steps[6].exit_code"
    assert error.reason == "step 'backup' exited with status 1, but data_verified is true"


def test_verified_without_ready_at_rejected(tmp_path: Path) -> None:
    record = passed_record()
    record["ready_at"] = None
    record["rto_seconds"] = None
    error = collect_error(tmp_path, record)
    assert error.location == "ready_at"
    assert error.reason == "is null, but data_verified is true; a verified drill records it"


def test_rto_without_ready_at_rejected(tmp_path: Path) -> None:
    record = passed_record()
    record["ready_at"] = None
    error = collect_error(tmp_path, record)
    assert error.location == "ready_at"
    assert error.reason == "is null while rto_seconds is set; a record sets both or neither"


def test_unverified_without_failed_step_rejected(tmp_path: Path) -> None:
    record = passed_record()
    record["data_verified"] = False
    error = collect_error(tmp_path, record)
    assert error.location == "data_verified"


def test_step_ending_before_start_rejected(tmp_path: Path) -> None:
    record = passed_record()
    record["steps"][0]["ended_at"] = "2026-12-04T21:02:40.000000Z"
    error = collect_error(tmp_path, record)
    assert error.location == "steps[0].ended_at"


# Broken inputs


def test_empty_file_rejected(tmp_path: Path) -> None:
    error = raw_error(tmp_path, b"")
    assert error.reason == ("file is empty; expected a restore drill record, the JSON object "
                            "that scripts/restore_drill.py writes")


def test_truncated_file_rejected(tmp_path: Path) -> None:
    data = (DATA / PASSED).read_bytes()
    error = raw_error(tmp_path, data[: len(data) // 2])
    assert error.reason.startswith("invalid JSON: ")
    assert error.location is not None


def test_invalid_utf8_rejected(tmp_path: Path) -> None:
    data = (DATA / PASSED).read_bytes().replace(b'"drill"', b'"dr\xffll"')
    error = raw_error(tmp_path, data)
    assert error.reason == "invalid UTF-8 (byte 0xff); save the file as UTF-8"
    assert error.location == "7:16"


def test_duplicate_key_rejected(tmp_path: Path) -> None:
    error = raw_error(tmp_path, b'{"format": "assay-restore-drill", "format": "x"}')
    assert error.reason == "invalid JSON: key 'format' appears twice in one JSON object"


def test_nan_rejected(tmp_path: Path) -> None:
    text = (DATA / PASSED).read_text(encoding="utf-8").replace("9.303104", "NaN")
    error = raw_error(tmp_path, text.encode())
    assert error.reason == "invalid JSON: NaN is not a JSON number"


def test_array_rejected(tmp_path: Path) -> None:
    error = raw_error(tmp_path, (DATA.parent / "pgbackrest" / "info-final.json").read_bytes())
    assert error.reason == "expected a JSON object (a restore drill record), got an array"


def test_other_format_rejected(tmp_path: Path) -> None:
    record = passed_record()
    record["format"] = "k6-summary"
    error = collect_error(tmp_path, record)
    assert error.location == "format"
    assert error.reason == ("expected \"assay-restore-drill\", got the string 'k6-summary'; this "
                            "collector reads the record that scripts/restore_drill.py writes")


def test_missing_format_rejected(tmp_path: Path) -> None:
    record = passed_record()
    del record["format"]
    assert collect_error(tmp_path, record).location == "format"


@pytest.mark.parametrize("version", [2, True, "1", None])
def test_unsupported_version_rejected(tmp_path: Path, version: Any) -> None:
    record = passed_record()
    record["version"] = version
    error = collect_error(tmp_path, record)
    assert error.location == "version"
    assert error.reason.startswith("unsupported version ")


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("rto_seconds", "9.303104", "expected a number, got the string '9.303104'"),
        ("rto_seconds", True, "expected a number, got true"),
        ("rto_seconds", -1, "expected a number >= 0, got -1"),
        ("data_verified", 1, "expected true or false, got 1"),
        ("rows_expected", 1.5, "expected an integer, got 1.5"),
        ("stanza", None, "expected a string, got null"),
        ("steps", {}, "expected an array, got an object"),
        ("logs", "logs/postgresql-primary.log",
         "expected an array, got the string 'logs/postgresql-primary.log'"),
        ("started_at", "yesterday", "not an RFC 3339 timestamp: 'yesterday'"),
        ("started_at", "2026-12-04T21:02:57.158603",
         "timestamp has no UTC offset: '2026-12-04T21:02:57.158603'"),
        ("ready_at", 1796418186.461707,
         "expected an RFC 3339 timestamp string, got 1796418186.461707"),
    ],
)
def test_wrong_type_named_by_field(tmp_path: Path, field: str, value: Any, reason: str) -> None:
    record = passed_record()
    record[field] = value
    error = collect_error(tmp_path, record)
    assert error.location == field
    assert error.reason == reason


def test_wrong_type_in_step_named_by_path(tmp_path: Path) -> None:
    record = passed_record()
    record["steps"][2]["exit_code"] = "0"
    error = collect_error(tmp_path, record)
    assert error.location == "steps[2].exit_code"
    assert error.reason == "expected an integer, got the string '0'"


def test_missing_field_named(tmp_path: Path) -> None:
    record = passed_record()
    del record["ready_at"]
    error = collect_error(tmp_path, record)
    assert error.location == "ready_at"
    assert error.reason == "required key is missing"


def test_unknown_field_named(tmp_path: Path) -> None:
    record = passed_record()
    record["rto"] = 9.3
    error = collect_error(tmp_path, record)
    assert error.location == "rto"
    assert error.reason == "unknown key; a version 1 drill record has no such field"


def test_several_problems_reported_together(tmp_path: Path) -> None:
    record = passed_record()
    record["rto_seconds"] = "x"
    record["steps"][0]["step"] = ""
    error = collect_error(tmp_path, record)
    assert error.location == "rto_seconds"
    assert error.reason == ("expected a number, got the string 'x' (also steps[0].step: "
                            "expected a non-empty string, got the string '')")


@pytest.mark.parametrize("name", ["../secret.log", "/var/log/postgresql.log", "", "logs\\a.log"])
def test_log_name_outside_folder_rejected(tmp_path: Path, name: str) -> None:
    record = passed_record()
    record["logs"] = [name]
    error = collect_error(tmp_path, record)
    assert error.location == "logs[0]"


def test_missing_log_warns(tmp_path: Path) -> None:
    record = passed_record()
    record["logs"] = ["logs/postgresql-primary.log"]
    path = write_record(tmp_path, record)
    result = collect(path, tmp_path)
    assert result.warnings == [
        "log 'logs/postgresql-primary.log' listed in drill/restore-drill.json does not exist"
    ]
    assert result.artifacts == [(tmp_path / path).resolve()]


def test_log_symlink_outside_workspace_rejected(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    path = write_record(workspace, {**passed_record(), "logs": ["outside.log"]})
    (tmp_path / "elsewhere.log").write_text("secret", encoding="utf-8")
    (workspace / "drill" / "outside.log").symlink_to(tmp_path / "elsewhere.log")
    with pytest.raises(CollectorError) as caught:
        collect(path, workspace)
    assert caught.value.location == "logs"


def test_oversized_record_rejected(tmp_path: Path) -> None:
    record = passed_record()
    record["error"] = "x" * (1024 * 1024)
    error = collect_error(tmp_path, record)
    assert "over the 1048576-byte limit" in error.reason
