"""Tests of the pgbackrest.info collector on real pgBackRest 2.45 output and hand-made cases.

Expected ages are computed by hand from the epoch seconds in the inputs:
2026-12-04T20:15:00Z is epoch 1796415300 and 2024-03-10T12:00:00Z is epoch 1710072000.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from assay.errors import CollectorError, EvidenceMissing
from assay.evidence.collectors.base import Collected, CollectContext
from assay.evidence.collectors.pgbackrest_info import PgBackRestInfo

DATA = Path(__file__).resolve().parents[2] / "data" / "pgbackrest"
FINAL_NOW = datetime(2026, 12, 4, 20, 15, tzinfo=UTC)  # epoch 1796415300
CASE_NOW = datetime(2024, 3, 10, 12, 0, tzinfo=UTC)  # epoch 1710072000
MULTI_REPO = "14-pgbackrest-info-multi-repo-stale-and-mixed.json"


def collect(path: str, stanza: str, now: datetime, workspace: Path = DATA) -> Collected:
    params = PgBackRestInfo.Params(path=path, stanza=stanza)
    return PgBackRestInfo().collect(params, CollectContext(workspace=workspace, now=now))


def final_document() -> list[dict[str, Any]]:
    return json.loads((DATA / "info-final.json").read_text())


def write_json(workspace: Path, document: Any) -> str:
    (workspace / "info.json").write_text(json.dumps(document))
    return "info.json"


def collect_error(workspace: Path, text: str, stanza: str = "corpus") -> CollectorError:
    (workspace / "info.json").write_text(text)
    with pytest.raises(CollectorError) as caught:
        collect("info.json", stanza, FINAL_NOW, workspace)
    return caught.value


def all_values(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [item for child in value.values() for item in all_values(child)]
    if isinstance(value, list):
        return [item for child in value for item in all_values(child)]
    return [value]


@pytest.fixture(scope="module")
def final() -> Collected:
    return collect("info-final.json", "corpus", FINAL_NOW)


@pytest.fixture(scope="module")
def main_stanza() -> Collected:
    return collect(MULTI_REPO, "main", CASE_NOW)


@pytest.fixture(scope="module")
def reporting_stanza() -> Collected:
    return collect(MULTI_REPO, "reporting", CASE_NOW)


# info-final.json: stanza `corpus`, one repository, 1 full, 1 diff and 4 incr backups.


def test_final_counts_by_type(final: Collected) -> None:
    assert final.facts["backups_full"] == 1
    assert final.facts["backups_diff"] == 1
    assert final.facts["backups_incr"] == 4
    assert final.facts["backups_total"] == 6
    assert final.facts["backups_with_error"] == 0


def test_final_stanza_status(final: Collected) -> None:
    assert final.facts["stanza_found"] is True
    assert final.facts["stanzas"] == ["corpus"]
    assert final.facts["status_code"] == 0
    assert final.facts["status_message"] == "ok"
    assert final.facts["repo_count"] == 1


def test_final_newest_full(final: Collected) -> None:
    assert final.facts["newest_full_stop"] == "2026-12-04T19:19:02.000000Z"
    assert final.facts["newest_full_age_seconds"] == 3358  # 1796415300 - 1796411942
    assert type(final.facts["newest_full_age_seconds"]) is int


def test_final_newest_incr(final: Collected) -> None:
    assert final.facts["newest_incr_stop"] == "2026-12-04T19:20:25.000000Z"  # 1796412025
    assert final.facts["newest_incr_age_seconds"] == 3275  # 1796415300 - 1796412025


def test_final_newest_diff(final: Collected) -> None:
    assert final.facts["newest_diff_stop"] == "2026-12-04T19:19:29.000000Z"  # 1796411969
    assert final.facts["newest_diff_age_seconds"] == 3331  # 1796415300 - 1796411969


def test_final_newest_and_oldest_backup(final: Collected) -> None:
    assert final.facts["newest_backup_stop"] == "2026-12-04T19:20:25.000000Z"
    assert final.facts["newest_backup_age_seconds"] == 3275
    assert final.facts["oldest_backup_stop"] == "2026-12-04T19:19:02.000000Z"


def test_final_max_gap(final: Collected) -> None:
    # Stops 1796411942, ...961, ...969, ...972, ...994, 1796412025: gaps 19, 8, 3, 22, 31.
    assert final.facts["max_backup_gap_seconds"] == 31


def test_final_retention_days(final: Collected) -> None:
    assert final.facts["retention_days"] == 3358 / 86400
    assert type(final.facts["retention_days"]) is float


def test_final_archive_range(final: Collected) -> None:
    assert final.facts["archive_min"] == "000000010000000000000001"
    assert final.facts["archive_max"] == "00000001000000000000001A"


def test_final_observed_at(final: Collected) -> None:
    assert final.observed_at == datetime(2026, 12, 4, 19, 20, 25, tzinfo=UTC)


def test_final_nothing_absent_or_failed(final: Collected) -> None:
    assert final.failures == []
    assert final.absent == {}
    assert final.warnings == []


def test_final_artifact_is_input(final: Collected) -> None:
    assert final.artifacts == [DATA / "info-final.json"]


def test_final_repo_matches_top_level(final: Collected) -> None:
    repo = final.facts["repos"]["repo1"]
    assert list(final.facts["repos"]) == ["repo1"]
    assert repo["status_code"] == 0
    assert repo["status_message"] == "ok"
    for name, value in repo.items():
        if name not in ("status_code", "status_message"):
            assert final.facts[name] == value, name


def test_final_fractional_now_float_age() -> None:
    result = collect("info-final.json", "corpus", FINAL_NOW + timedelta(milliseconds=500))
    assert result.facts["newest_full_age_seconds"] == 3358.5
    assert type(result.facts["newest_full_age_seconds"]) is float


def test_final_stop_after_now_warns() -> None:
    now = datetime(2026, 12, 4, 19, 20, tzinfo=UTC)  # epoch 1796411999
    result = collect("info-final.json", "corpus", now)
    assert result.facts["newest_incr_age_seconds"] == -25  # 1796411999 - 1796412025
    assert result.warnings == [
        "backup 20261204-191858F_20261204-192023I in repo1 stopped at "
        "2026-12-04T19:20:25.000000Z, after the evaluation time "
        "2026-12-04T19:20:00.000000Z, so its age is negative"
    ]


# The other two real outputs: earlier states of the same stanza.


def test_after_failed_backup_still_ok() -> None:
    result = collect("info-after-failed-backup.json", "corpus", FINAL_NOW)
    assert result.facts["status_code"] == 0
    assert result.facts["backups_full"] == 1
    assert result.facts["backups_diff"] == 1
    assert result.facts["backups_incr"] == 3
    assert result.facts["newest_incr_stop"] == "2026-12-04T19:19:54.000000Z"  # 1796411994
    assert result.facts["archive_max"] == "000000010000000000000011"
    assert result.failures == []


def test_after_incr_diff_incr_counts() -> None:
    result = collect("info-after-incr-diff-incr.json", "corpus", FINAL_NOW)
    assert result.facts["backups_full"] == 1
    assert result.facts["backups_diff"] == 1
    assert result.facts["backups_incr"] == 2
    assert result.facts["newest_incr_age_seconds"] == 3328  # 1796415300 - 1796411972
    assert result.facts["max_backup_gap_seconds"] == 19  # 1796411961 - 1796411942
    assert result.facts["archive_max"] == "00000001000000000000000E"


# Missing stanzas fail the control.


def test_empty_array_fails() -> None:
    result = collect("13-pgbackrest-info-empty-array.json", "main", CASE_NOW)
    assert result.failures == ["pgBackRest reported no stanzas (expected: main)"]
    assert result.facts == {"stanza_found": False, "stanzas": []}
    assert result.observed_at is None


def test_empty_array_marks_facts_absent() -> None:
    result = collect("13-pgbackrest-info-empty-array.json", "main", CASE_NOW)
    expected = "pgBackRest reported no stanzas (expected: main)"
    assert result.absent["newest_full_age_seconds"] == expected
    assert set(result.absent) == set(PgBackRestInfo.fact_names()) - {"stanza_found", "stanzas"}


def test_stanza_not_found_lists_present() -> None:
    result = collect(MULTI_REPO, "billing", CASE_NOW)
    assert result.failures == ["stanza 'billing' not found; present: main, reporting"]
    assert result.facts["stanza_found"] is False
    assert result.facts["stanzas"] == ["main", "reporting"]


# The multi-repository case, stanza `main`: a fresh repo1 and a stale repo2.


def test_multi_repo_main_repo1_newest(main_stanza: Collected) -> None:
    repo1 = main_stanza.facts["repos"]["repo1"]
    assert repo1["newest_backup_stop"] == "2024-03-10T02:01:44.000000Z"  # 1710036104
    assert repo1["newest_backup_age_seconds"] == 35896  # 1710072000 - 1710036104


def test_multi_repo_main_repo2_newest(main_stanza: Collected) -> None:
    repo2 = main_stanza.facts["repos"]["repo2"]
    assert repo2["newest_backup_stop"] == "2024-02-10T02:14:37.000000Z"  # 1707531277
    assert repo2["newest_full_age_seconds"] == 2540723  # 1710072000 - 1707531277


def test_multi_repo_main_worst_is_repo2(main_stanza: Collected) -> None:
    assert main_stanza.facts["newest_full_age_seconds"] == 2540723
    assert round(main_stanza.facts["newest_full_age_seconds"] / 86400, 1) == 29.4
    assert main_stanza.facts["newest_full_stop"] == "2024-02-10T02:14:37.000000Z"
    assert main_stanza.facts["newest_backup_age_seconds"] == 2540723


def test_multi_repo_main_worst_values(main_stanza: Collected) -> None:
    # repo1's oldest backup stopped at 1709259302: 1710072000 - 1709259302 = 812698 s.
    assert main_stanza.facts["retention_days"] == 812698 / 86400
    assert main_stanza.facts["oldest_backup_stop"] == "2024-03-01T02:15:02.000000Z"
    assert main_stanza.facts["backups_incr"] == 0
    assert main_stanza.facts["archive_min"] == "000000010000000A00000010"
    assert main_stanza.facts["archive_max"] == "000000010000000A00000012"


def test_multi_repo_main_absent_reasons(main_stanza: Collected) -> None:
    assert main_stanza.absent["newest_incr_stop"] == "repo2 has no incr backup"
    assert "newest_incr_stop" not in main_stanza.facts
    assert main_stanza.absent["max_backup_gap_seconds"] == "repo2 has fewer than two backups"
    assert main_stanza.facts["repos"]["repo1"]["max_backup_gap_seconds"] == 776802


def test_multi_repo_main_no_failures(main_stanza: Collected) -> None:
    assert main_stanza.failures == []
    assert main_stanza.facts["status_code"] == 0
    assert main_stanza.facts["repo_count"] == 2


def test_multi_repo_main_observed_at(main_stanza: Collected) -> None:
    assert main_stanza.observed_at == datetime(2024, 3, 10, 2, 1, 44, tzinfo=UTC)


# The multi-repository case, stanza `reporting`: status 4, repo2 with no valid backups.


def test_multi_repo_reporting_status_mixed(reporting_stanza: Collected) -> None:
    assert reporting_stanza.facts["stanza_found"] is True
    assert reporting_stanza.facts["status_code"] == 4
    assert reporting_stanza.facts["status_message"] == "different across repos"


def test_multi_repo_reporting_repo_status(reporting_stanza: Collected) -> None:
    repos = reporting_stanza.facts["repos"]
    assert repos["repo1"]["status_code"] == 0
    assert repos["repo1"]["newest_full_stop"] == "2024-03-09T03:05:40.000000Z"  # 1709953540
    assert repos["repo1"]["newest_full_age_seconds"] == 118460  # 1710072000 - 1709953540
    assert repos["repo2"]["status_code"] == 2
    assert repos["repo2"]["status_message"] == "no valid backups"
    assert "newest_full_stop" not in repos["repo2"]


def test_multi_repo_reporting_fails_on_repo2(reporting_stanza: Collected) -> None:
    assert reporting_stanza.failures == [
        "stanza 'reporting': repo2 has no full backup "
        "(repository status 2: no valid backups)"
    ]


def test_multi_repo_reporting_ages_absent(reporting_stanza: Collected) -> None:
    assert reporting_stanza.absent["newest_full_age_seconds"] == "repo2 has no full backup"
    assert reporting_stanza.absent["retention_days"] == "repo2 has no backup"
    assert "newest_full_age_seconds" not in reporting_stanza.facts
    assert reporting_stanza.facts["backups_full"] == 0


def test_multi_repo_reporting_observed_at(reporting_stanza: Collected) -> None:
    assert reporting_stanza.observed_at == datetime(2024, 3, 9, 3, 5, 40, tzinfo=UTC)


@pytest.mark.parametrize(
    ("path", "stanza"),
    [("info-final.json", "corpus"), (MULTI_REPO, "main"), (MULTI_REPO, "reporting")],
)
def test_facts_no_unsafe_integers(path: str, stanza: str) -> None:
    # system-id values such as 7715530500085531949 exceed 2**53.
    facts = collect(path, stanza, CASE_NOW).facts
    integers = [v for v in all_values(facts) if isinstance(v, int) and not isinstance(v, bool)]
    assert all(abs(value) <= 2**53 for value in integers)


@pytest.mark.parametrize(
    ("path", "stanza"),
    [("info-final.json", "corpus"), (MULTI_REPO, "reporting"), (MULTI_REPO, "none")],
)
def test_facts_all_declared(path: str, stanza: str) -> None:
    result = collect(path, stanza, CASE_NOW)
    declared = set(PgBackRestInfo.fact_names())
    assert set(result.facts) <= declared
    assert set(result.absent) <= declared


# Backups marked error and other shapes pgBackRest can write.


def test_errored_backup_left_out(tmp_path: Path) -> None:
    document = final_document()
    document[0]["backup"][5]["error"] = True
    result = collect(write_json(tmp_path, document), "corpus", FINAL_NOW, tmp_path)
    assert result.facts["backups_with_error"] == 1
    assert result.facts["backups_incr"] == 3
    assert result.facts["backups_total"] == 6
    assert result.facts["newest_incr_stop"] == "2026-12-04T19:19:54.000000Z"  # 1796411994
    assert result.observed_at == datetime(2026, 12, 4, 19, 19, 54, tzinfo=UTC)


def test_errored_full_only_fails(tmp_path: Path) -> None:
    document = final_document()
    document[0]["backup"][0]["error"] = True
    result = collect(write_json(tmp_path, document), "corpus", FINAL_NOW, tmp_path)
    reason = "repo1 has no full backup without error, only 1 marked error"
    assert result.absent["newest_full_stop"] == reason
    assert result.failures == [f"stanza 'corpus': {reason} (repository status 0: ok)"]


def test_error_key_missing_is_valid(tmp_path: Path) -> None:
    document = final_document()
    for backup in document[0]["backup"]:
        del backup["error"]
    result = collect(write_json(tmp_path, document), "corpus", FINAL_NOW, tmp_path)
    assert result.facts["backups_incr"] == 4
    assert result.facts["backups_with_error"] == 0


def test_null_archive_range_absent(tmp_path: Path) -> None:
    document = final_document()
    document[0]["archive"][0].update({"min": None, "max": None})
    result = collect(write_json(tmp_path, document), "corpus", FINAL_NOW, tmp_path)
    assert result.absent["archive_max"] == "repo1 has no WAL segment in its archive"
    assert "archive_max" not in result.facts["repos"]["repo1"]


def test_no_repositories_fails(tmp_path: Path) -> None:
    document = final_document()
    document[0].update({"repo": [], "backup": [], "archive": []})
    result = collect(write_json(tmp_path, document), "corpus", FINAL_NOW, tmp_path)
    assert result.failures == ["stanza 'corpus' lists no repositories"]
    assert result.absent["newest_full_stop"] == "stanza 'corpus' lists no repositories"
    assert result.facts["repo_count"] == 0


# Broken inputs raise CollectorError naming the file and the place.


def test_broken_empty_file(tmp_path: Path) -> None:
    error = collect_error(tmp_path, "")
    assert type(error) is CollectorError
    assert error.path == "info.json"
    assert error.reason.startswith("file is empty")


def test_broken_truncated_json(tmp_path: Path) -> None:
    error = collect_error(tmp_path, '[\n  {"name": "main",\n')
    assert error.location == "3:1"
    assert error.reason == "invalid JSON: Expecting property name enclosed in double quotes"


def test_broken_truncated_real_output(tmp_path: Path) -> None:
    text = (DATA / "info-final.json").read_text()[:1000]
    error = collect_error(tmp_path, text)
    assert error.location == "1:1001"
    assert error.reason == "invalid JSON: Expecting ',' delimiter"


def test_broken_object_not_list(tmp_path: Path) -> None:
    error = collect_error(tmp_path, "{}")
    assert error.location is None
    assert error.reason == (
        "expected a JSON array of stanzas as `pgbackrest info --output=json` prints, "
        "got an object"
    )


def test_broken_stop_is_string(tmp_path: Path) -> None:
    document = final_document()
    document[0]["backup"][2]["timestamp"]["stop"] = "1796411969"
    error = collect_error(tmp_path, json.dumps(document))
    assert error.location == "[0].backup[2].timestamp.stop"
    assert error.reason == "expected Unix seconds as a number, got the string '1796411969'"
    assert str(error) == f"info.json:[0].backup[2].timestamp.stop: {error.reason}"


def test_broken_stop_is_boolean(tmp_path: Path) -> None:
    document = final_document()
    document[0]["backup"][2]["timestamp"]["stop"] = True
    error = collect_error(tmp_path, json.dumps(document))
    assert error.location == "[0].backup[2].timestamp.stop"
    assert error.reason == "expected Unix seconds as a number, got true"


def test_broken_stop_negative(tmp_path: Path) -> None:
    document = final_document()
    document[0]["backup"][1]["timestamp"]["stop"] = -1
    error = collect_error(tmp_path, json.dumps(document))
    assert error.location == "[0].backup[1].timestamp.stop"
    assert error.reason == "Unix time -1 is before 1970"


def test_broken_stop_out_of_range(tmp_path: Path) -> None:
    document = final_document()
    document[0]["backup"][1]["timestamp"]["stop"] = 10**20
    error = collect_error(tmp_path, json.dumps(document))
    assert error.location == "[0].backup[1].timestamp.stop"
    assert error.reason == "Unix time 100000000000000000000 is out of range"


def test_broken_status_code_boolean(tmp_path: Path) -> None:
    document = final_document()
    document[0]["status"]["code"] = False
    error = collect_error(tmp_path, json.dumps(document))
    assert error.location == "[0].status.code"
    assert error.reason == "expected an integer, got false"


def test_broken_missing_key(tmp_path: Path) -> None:
    document = final_document()
    del document[0]["repo"]
    error = collect_error(tmp_path, json.dumps(document))
    assert error.location == "[0].repo"
    assert error.reason == "required key is missing"


def test_broken_unknown_repo_key(tmp_path: Path) -> None:
    document = final_document()
    document[0]["backup"][3]["database"]["repo-key"] = 2
    error = collect_error(tmp_path, json.dumps(document))
    assert error.location == "[0].backup[3].database.repo-key"
    assert error.reason == "repository 2 is not in the stanza's repo list (keys: 1)"


def test_broken_duplicate_repo_key(tmp_path: Path) -> None:
    document = final_document()
    document[0]["repo"].append(document[0]["repo"][0])
    error = collect_error(tmp_path, json.dumps(document))
    assert error.location == "[0].repo[1].key"
    assert error.reason == "repository key 1 appears twice"


def test_broken_unknown_backup_type(tmp_path: Path) -> None:
    document = final_document()
    document[0]["backup"][4]["type"] = "snapshot"
    error = collect_error(tmp_path, json.dumps(document))
    assert error.location == "[0].backup[4].type"
    assert error.reason == "expected full, incr or diff, got the string 'snapshot'"


def test_broken_wal_name(tmp_path: Path) -> None:
    document = final_document()
    document[0]["archive"][0]["max"] = "00000001000000000000001a"
    error = collect_error(tmp_path, json.dumps(document))
    assert error.location == "[0].archive[0].max"
    assert error.reason == (
        "'00000001000000000000001a' is not a WAL segment name "
        "(expected 24 upper-case hex digits)"
    )


def test_broken_stanza_not_object(tmp_path: Path) -> None:
    error = collect_error(tmp_path, "[1]")
    assert error.location == "[0]"
    assert error.reason == "expected an object, got 1"


def test_broken_duplicate_stanza(tmp_path: Path) -> None:
    document = final_document() * 2
    error = collect_error(tmp_path, json.dumps(document))
    assert error.location == "[1].name"
    assert error.reason == "stanza 'corpus' appears twice, also at [0]"


def test_broken_duplicate_json_key(tmp_path: Path) -> None:
    error = collect_error(tmp_path, '[{"name": "corpus", "name": "main"}]')
    assert error.reason == "invalid JSON: key 'name' appears twice in one JSON object"


def test_broken_nan(tmp_path: Path) -> None:
    document = json.dumps(final_document()).replace("1796411942}", "NaN}")
    error = collect_error(tmp_path, document)
    assert error.reason == "invalid JSON: NaN is not a JSON number"


def test_broken_invalid_utf8(tmp_path: Path) -> None:
    (tmp_path / "info.json").write_bytes(b'[{"name": "\xff"}]')
    with pytest.raises(CollectorError, match="invalid UTF-8"):
        collect("info.json", "corpus", FINAL_NOW, tmp_path)


def test_input_with_bom_accepted(tmp_path: Path) -> None:
    (tmp_path / "info.json").write_bytes(b"\xef\xbb\xbf" + (DATA / "info-final.json").read_bytes())
    result = collect("info.json", "corpus", FINAL_NOW, tmp_path)
    assert result.facts["backups_incr"] == 4


def test_missing_file_is_evidence_missing(tmp_path: Path) -> None:
    with pytest.raises(EvidenceMissing):
        collect("no-such-info.json", "corpus", FINAL_NOW, tmp_path)


def test_glob_several_matches_rejected(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text("[]")
    (tmp_path / "b.json").write_text("[]")
    with pytest.raises(CollectorError, match=r"pattern matches 2 files \(a.json, b.json\)"):
        collect("*.json", "corpus", FINAL_NOW, tmp_path)


# Declaration and parameters.


def test_params_require_stanza() -> None:
    with pytest.raises(ValidationError):
        PgBackRestInfo.Params(path="info.json")


def test_params_reject_non_string_stanza() -> None:
    with pytest.raises(ValidationError):
        PgBackRestInfo.Params(path="info.json", stanza=1)


def test_params_reject_empty_stanza() -> None:
    with pytest.raises(ValidationError):
        PgBackRestInfo.Params(path="info.json", stanza="")


def test_fact_names_unique() -> None:
    names = PgBackRestInfo.fact_names()
    assert len(names) == len(set(names))


def test_entry_point_loads_collector() -> None:
    (entry,) = entry_points(group="assay.collectors", name="pgbackrest.info")
    assert entry.load() is PgBackRestInfo
    assert PgBackRestInfo.name == "pgbackrest.info"
