"""Tests of the restic.snapshots and restic.check collectors.

REAL inputs in tests/data/restic, all written by restic 0.14.0 against local
repositories. All but snapshots.json and check.txt were recorded for these
tests with Debian's package 0.14.0-1+b5 (go1.19.8, linux/amd64).

- snapshots.json, check.txt: 5 snapshots of one host, and `restic check` on
  that clean repository.
- snapshots-two-hosts.json: `restic snapshots --json` of a repository with
  hosts app-01 (2 snapshots) and db-01 (1 snapshot). The check-* files below
  come from the same repository.
- snapshots-time-offsets.json: 6 snapshots taken with `restic backup --time`
  under TZ=UTC, Europe/Berlin and America/New_York, so the times carry `Z`,
  `+01:00` and `-05:00`. snapshots-group-by-host.json is the same repository
  with `--group-by host`.
- snapshots-empty.json: `restic snapshots --json` on a new repository (`[]`).
- check-read-data-damaged-pack.txt: `restic check --read-data` after bytes of
  a data pack under data/ were inverted.
- check-damaged-tree-packs.txt: `restic check` after 16 bytes of each pack
  that contains tree blobs were inverted.
- check-missing-pack.txt: `restic check` after a data pack was deleted.
- check-terminal-clean.txt, check-terminal-damaged-pack.txt: the same checks
  captured from a terminal with `script`, with carriage returns, escape
  sequences and the "repository ... opened" line that restic prints only there.
- check-wrong-password.txt, check-no-repository.txt: checks that failed to open
  the repository.

The 16- and 17- files are the shared parser cases for `null` output and for
time precision and offsets. Outputs in the hint and subset tests are written
by hand from the messages in restic's cmd_check.go.

The clock is pinned to 2026-12-04T21:00:00Z. Expected ages and gaps are
computed by hand from the times in the files, after truncation to microseconds.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from assay.errors import CollectorError, EvidenceMissing
from assay.evidence.collectors.base import Collected, CollectContext
from assay.evidence.collectors.restic import ResticCheck, ResticSnapshots

DATA = Path(__file__).resolve().parents[2] / "data" / "restic"
NOW = datetime(2026, 12, 4, 21, 0, tzinfo=UTC)
CASE_NULL = "16-restic-snapshots-json-null.json"
CASE_PRECISION = "17-restic-snapshots-json-time-precision-offsets.json"

NEWEST_ID = "cb0a5ec3a3f7c4e145a0e22985bf937bcf79b7cc9d6be6cc9e0339371b7824c4"
OLDEST_ID = "0806618997910a13c37e0f03cf27f8ede1a89e8f77322f967fb8f4d31c742231"
PRE_RELEASE_ID = "e13243fef2e05e716a8bcb3e2dc0fdf530527ae4fcf8197136c31a39b937ea77"
CASE_NEWEST_ID = "4f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8"
CASE_OLDEST_ID = "9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a0f9e8d"
APP_NEWEST_ID = "4c671d394063538be57dc28c907922f3469f6e0d37fba96490175b265d36a7e1"
APP_OLDEST_ID = "5d373b7029dacb1123125c4d0b6b54350ee8ae4010dc81b8fcb3d10570f671aa"
DB_NEWEST_ID = "7ffc4c609378e0e6e64e83d1b5c6428045b148050644891e34d66c3dff467dbd"
ETC_PATH = "/tmp/restic-work.uhv7/src/etc"
PACK_ID = "82af7208deea22fb98757beead6e046f65f860112675b1edfaab1fb9f9b71b9f"
PACK_MISMATCH = (f"Pack ID does not match, want {PACK_ID}, "
                 "got 843a8cfd6c68805c67e3bbf84a2cdacc44db5c086b25461c77263b58cd0f65a4")


def snapshots(path: str, workspace: Path = DATA, now: datetime = NOW, **filters: Any) -> Collected:
    params = ResticSnapshots.Params(path=path, **filters)
    return ResticSnapshots().collect(params, CollectContext(workspace=workspace, now=now))


def check(path: str, workspace: Path = DATA) -> Collected:
    params = ResticCheck.Params(path=path)
    return ResticCheck().collect(params, CollectContext(workspace=workspace, now=NOW))


def snapshots_error(workspace: Path, content: str | bytes) -> CollectorError:
    target = workspace / "snapshots.json"
    if isinstance(content, bytes):
        target.write_bytes(content)
    else:
        target.write_text(content, encoding="utf-8")
    with pytest.raises(CollectorError) as caught:
        snapshots("snapshots.json", workspace)
    return caught.value


def write_check(workspace: Path, text: str) -> str:
    (workspace / "check.txt").write_text(text, encoding="utf-8")
    return "check.txt"


def check_error(workspace: Path, content: str | bytes) -> CollectorError:
    target = workspace / "check.txt"
    if isinstance(content, bytes):
        target.write_bytes(content)
    else:
        target.write_text(content, encoding="utf-8")
    with pytest.raises(CollectorError) as caught:
        check("check.txt", workspace)
    return caught.value


def real_document(name: str = "snapshots.json") -> list[dict[str, Any]]:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def write_json(workspace: Path, document: Any) -> str:
    (workspace / "snapshots.json").write_text(json.dumps(document), encoding="utf-8")
    return "snapshots.json"


def all_values(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [item for child in value.values() for item in all_values(child)]
    if isinstance(value, list):
        return [item for child in value for item in all_values(child)]
    return [value]


@pytest.fixture(scope="module")
def five() -> Collected:
    return snapshots("snapshots.json")


@pytest.fixture(scope="module")
def offsets() -> Collected:
    return snapshots("snapshots-time-offsets.json")


# snapshots.json: 5 snapshots of corpus-host, all tagged daily, the third also pre-release.
# Times truncated to microseconds: 19:22:09.628047, 19:22:10.815556, 19:22:11.533166,
# 19:22:12.301496 and 19:22:20.571865 on 2026-12-04.


def test_five_counts(five: Collected) -> None:
    assert five.facts["snapshots"] == 5
    assert five.facts["snapshots_total"] == 5
    assert five.facts["hosts"] == ["corpus-host"]
    assert five.facts["tags"] == ["daily", "pre-release"]


def test_five_newest(five: Collected) -> None:
    assert five.facts["newest_id"] == NEWEST_ID
    assert five.facts["newest_time"] == "2026-12-04T19:22:20.571865Z"
    assert five.facts["newest_time_original"] == "2026-12-04T19:22:20.571865364Z"


def test_five_newest_age(five: Collected) -> None:
    # 21:00:00 - 19:22:20.571865 = 1 h 37 min 39.428135 s
    assert five.facts["newest_age_seconds"] == 5859.428135
    assert type(five.facts["newest_age_seconds"]) is float


def test_five_oldest_and_retention(five: Collected) -> None:
    assert five.facts["oldest_id"] == OLDEST_ID
    assert five.facts["oldest_time"] == "2026-12-04T19:22:09.628047Z"
    assert five.facts["oldest_time_original"] == "2026-12-04T19:22:09.628047756Z"
    # 21:00:00 - 19:22:09.628047 = 5870.371953 s, divided in microseconds
    assert five.facts["retention_days"] == 5_870_371_953 / 86_400_000_000


def test_five_max_gap(five: Collected) -> None:
    # Gaps 1.187509, 0.717610, 0.768330 and 8.270369 s.
    assert five.facts["max_gap_seconds"] == 8.270369


def test_five_observed_at_newest(five: Collected) -> None:
    assert five.observed_at == datetime(2026, 12, 4, 19, 22, 20, 571865, tzinfo=UTC)


def test_five_nothing_absent_or_failed(five: Collected) -> None:
    assert five.failures == []
    assert five.absent == {}
    assert five.warnings == []
    assert five.artifacts == [DATA / "snapshots.json"]


def test_five_by_host_matches_top_level(five: Collected) -> None:
    host = five.facts["by_host"]["corpus-host"]
    assert list(five.facts["by_host"]) == ["corpus-host"]
    assert host["snapshots"] == 5
    for name, value in host.items():
        if name != "snapshots":
            assert five.facts[name] == value, name


def test_five_by_tag(five: Collected) -> None:
    assert sorted(five.facts["by_tag"]) == ["daily", "pre-release"]
    assert five.facts["by_tag"]["daily"]["snapshots"] == 5
    pre_release = five.facts["by_tag"]["pre-release"]
    assert pre_release["snapshots"] == 1
    assert pre_release["newest_id"] == PRE_RELEASE_ID
    assert pre_release["newest_time"] == "2026-12-04T19:22:11.533166Z"
    assert "max_gap_seconds" not in pre_release


def test_filter_tag_single_snapshot() -> None:
    result = snapshots("snapshots.json", tag="pre-release")
    assert result.facts["snapshots"] == 1
    assert result.facts["snapshots_total"] == 5
    assert result.facts["newest_id"] == PRE_RELEASE_ID
    assert result.facts["oldest_id"] == PRE_RELEASE_ID
    assert result.absent == {"max_gap_seconds": "host 'corpus-host' has only one snapshot"}
    assert result.failures == []


def test_filter_tag_comma_needs_all() -> None:
    assert snapshots("snapshots.json", tag="daily,pre-release").facts["snapshots"] == 1
    assert snapshots("snapshots.json", tag="daily").facts["snapshots"] == 5


def test_filter_host_match() -> None:
    assert snapshots("snapshots.json", host="corpus-host").facts["snapshots"] == 5


def test_filter_host_no_match_fails() -> None:
    result = snapshots("snapshots.json", host="db-01")
    message = "no snapshots match host 'db-01' (the file has 5 snapshots, hosts: corpus-host)"
    assert result.failures == [message]
    assert result.facts["snapshots"] == 0
    assert result.facts["snapshots_total"] == 5
    assert result.absent["newest_age_seconds"] == message
    assert result.observed_at is None


def test_filter_paths() -> None:
    assert snapshots("snapshots.json", paths=["/tmp/restic-src"]).facts["snapshots"] == 5
    result = snapshots("snapshots.json", paths=["/tmp/restic-src", "/etc"])
    assert result.facts["snapshots"] == 0
    assert result.failures == [
        "no snapshots match paths '/tmp/restic-src', '/etc' "
        "(the file has 5 snapshots, hosts: corpus-host)"
    ]


def test_negative_age_warns() -> None:
    result = snapshots("snapshots.json", now=datetime(2026, 12, 4, 19, 22, 15, tzinfo=UTC))
    assert result.facts["newest_age_seconds"] == -5.571865
    assert result.warnings == [
        "snapshot cb0a5ec3 of host 'corpus-host' was taken at 2026-12-04T19:22:20.571865Z, "
        "after the evaluation time 2026-12-04T19:22:15.000000Z, so its age is negative"
    ]


# Empty repositories: `null` (case 16) and restic 0.14's `[]` mean zero snapshots.


@pytest.mark.parametrize("path", [CASE_NULL, "snapshots-empty.json"])
def test_empty_listing_fails(path: str) -> None:
    result = snapshots(path)
    assert result.failures == ["no snapshots"]
    assert result.facts == {"snapshots": 0, "snapshots_total": 0, "hosts": [], "tags": [],
                            "by_host": {}, "by_tag": {}}
    assert result.observed_at is None


def test_empty_listing_marks_facts_absent() -> None:
    result = snapshots(CASE_NULL)
    assert result.absent["newest_time"] == "no snapshots"
    assert result.absent["max_gap_seconds"] == "no snapshots"
    assert set(result.absent) | set(result.facts) == set(ResticSnapshots.fact_names())


# Case 17: seven fractional digits, a +02:00 offset, and string order that picks the wrong newest.


def test_precision_case_times() -> None:
    result = snapshots(CASE_PRECISION)
    assert result.facts["oldest_id"] == CASE_OLDEST_ID
    assert result.facts["oldest_time"] == "2021-03-27T10:10:00.500000Z"
    assert result.facts["newest_id"] == CASE_NEWEST_ID
    assert result.facts["newest_time"] == "2021-03-27T11:24:35.043908Z"


def test_precision_case_originals_kept() -> None:
    result = snapshots(CASE_PRECISION)
    assert result.facts["oldest_time_original"] == "2021-03-27T12:10:00.5+02:00"
    assert result.facts["newest_time_original"] == "2021-03-27T11:24:35.0439089Z"


def test_precision_case_string_order_differs() -> None:
    strings = [entry["time"] for entry in real_document(CASE_PRECISION)]
    assert max(strings) == "2021-03-27T12:10:00.5+02:00"
    assert snapshots(CASE_PRECISION).facts["newest_id"] == CASE_NEWEST_ID


def test_precision_case_gap_and_observed_at() -> None:
    result = snapshots(CASE_PRECISION)
    # 11:24:35.043908 - 10:10:00.500000 = 1 h 14 min 34.543908 s
    assert result.facts["max_gap_seconds"] == 4474.543908
    assert result.observed_at == datetime(2021, 3, 27, 11, 24, 35, 43908, tzinfo=UTC)


# snapshots-time-offsets.json, in UTC:
#   db-01   2026-11-29 02:30:00 weekly, 12-04 18:45:30 weekly, 12-04 19:00:00 untagged (src/etc)
#   app-01  2026-11-30 02:00:00 daily, 12-01 02:00:05 daily,
#           12-03 02:00:00 daily and pre-release (src/docs and src/etc)


def test_offsets_per_host_newest(offsets: Collected) -> None:
    app = offsets.facts["by_host"]["app-01"]
    db = offsets.facts["by_host"]["db-01"]
    assert app["newest_time"] == "2026-12-03T02:00:00.000000Z"
    assert app["newest_time_original"] == "2026-12-03T03:00:00+01:00"
    assert app["newest_age_seconds"] == 154800  # 1 day 19 h
    assert type(app["newest_age_seconds"]) is int
    assert db["newest_id"] == DB_NEWEST_ID
    assert db["newest_age_seconds"] == 7200


def test_offsets_per_host_oldest(offsets: Collected) -> None:
    app = offsets.facts["by_host"]["app-01"]
    db = offsets.facts["by_host"]["db-01"]
    assert db["oldest_time"] == "2026-11-29T02:30:00.000000Z"
    assert db["oldest_time_original"] == "2026-11-28T21:30:00-05:00"
    assert db["retention_days"] == 498600 / 86400  # 5 days 18 h 30 min
    assert app["retention_days"] == 414000 / 86400  # 4 days 19 h


def test_offsets_per_host_gaps(offsets: Collected) -> None:
    # app-01: 86405 s and 172795 s; db-01: 5 days 16:15:30 = 490530 s, then 870 s.
    assert offsets.facts["by_host"]["app-01"]["max_gap_seconds"] == 172795
    assert offsets.facts["by_host"]["db-01"]["max_gap_seconds"] == 490530


def test_offsets_top_level_is_worst_host(offsets: Collected) -> None:
    assert offsets.facts["newest_id"] == APP_NEWEST_ID
    assert offsets.facts["newest_time"] == "2026-12-03T02:00:00.000000Z"
    assert offsets.facts["newest_age_seconds"] == 154800
    assert offsets.facts["oldest_id"] == APP_OLDEST_ID
    assert offsets.facts["retention_days"] == 414000 / 86400
    assert offsets.facts["max_gap_seconds"] == 490530


def test_offsets_observed_at_overall_newest(offsets: Collected) -> None:
    assert offsets.observed_at == datetime(2026, 12, 4, 19, 0, tzinfo=UTC)


def test_offsets_by_tag(offsets: Collected) -> None:
    assert offsets.facts["tags"] == ["daily", "pre-release", "weekly"]
    weekly = offsets.facts["by_tag"]["weekly"]
    assert weekly["snapshots"] == 2
    assert weekly["newest_time"] == "2026-12-04T18:45:30.000000Z"
    assert weekly["newest_time_original"] == "2026-12-04T13:45:30-05:00"
    assert weekly["max_gap_seconds"] == 490530
    assert offsets.facts["by_tag"]["daily"]["snapshots"] == 3


def test_offsets_untagged_counted(offsets: Collected) -> None:
    assert offsets.facts["snapshots"] == 6
    assert sum(tag["snapshots"] for tag in offsets.facts["by_tag"].values()) == 6


def test_offsets_filter_host() -> None:
    result = snapshots("snapshots-time-offsets.json", host="db-01")
    assert result.facts["snapshots"] == 3
    assert result.facts["hosts"] == ["db-01"]
    assert result.facts["newest_id"] == DB_NEWEST_ID
    assert result.facts["newest_age_seconds"] == 7200


def test_offsets_filter_paths_one_each() -> None:
    result = snapshots("snapshots-time-offsets.json", paths=[ETC_PATH])
    assert result.facts["snapshots"] == 2
    assert result.facts["hosts"] == ["app-01", "db-01"]
    assert result.absent == {
        "max_gap_seconds": "hosts 'app-01', 'db-01' have only one snapshot each"
    }


def test_offsets_filter_host_and_tag_none() -> None:
    result = snapshots("snapshots-time-offsets.json", host="db-01", tag="daily")
    assert result.failures == [
        "no snapshots match host 'db-01' and tag 'daily' "
        "(the file has 6 snapshots, hosts: app-01, db-01)"
    ]


def test_group_by_host_same_facts(offsets: Collected) -> None:
    grouped = snapshots("snapshots-group-by-host.json")
    assert grouped.facts == offsets.facts
    assert grouped.observed_at == offsets.observed_at


def test_two_hosts_worst_host() -> None:
    # app-01 at 20:49:57.419264 and 20:49:58.159043, db-01 at 20:49:58.814709.
    result = snapshots("snapshots-two-hosts.json")
    assert result.facts["by_host"]["app-01"]["snapshots"] == 2
    assert result.facts["by_host"]["db-01"]["snapshots"] == 1
    assert result.facts["newest_time"] == "2026-12-04T20:49:58.159043Z"
    assert result.facts["newest_age_seconds"] == 601.840957
    assert result.absent == {"max_gap_seconds": "host 'db-01' has only one snapshot"}


@pytest.mark.parametrize("path", ["snapshots.json", "snapshots-time-offsets.json",
                                  "snapshots-two-hosts.json", CASE_NULL])
def test_snapshot_facts_declared(path: str) -> None:
    result = snapshots(path)
    assert all(ResticSnapshots.declared(name) for name in result.facts)
    assert all(ResticSnapshots.declared(name) for name in result.absent)
    json.dumps(result.facts, allow_nan=False)


def test_snapshot_facts_safe_integers(offsets: Collected) -> None:
    values = all_values(offsets.facts)
    integers = [v for v in values if isinstance(v, int) and not isinstance(v, bool)]
    assert all(abs(value) <= 2**53 for value in integers)


# Other shapes restic can write.


def test_missing_hostname_and_tags(tmp_path: Path) -> None:
    document = real_document()
    for entry in document:
        del entry["hostname"]
        del entry["tags"]
    result = snapshots(write_json(tmp_path, document), tmp_path)
    assert result.facts["hosts"] == [""]
    assert result.facts["tags"] == []
    assert result.facts["by_tag"] == {}
    assert result.facts["snapshots"] == 5


def test_unsorted_input_sorted_by_time(tmp_path: Path) -> None:
    document = list(reversed(real_document()))
    result = snapshots(write_json(tmp_path, document), tmp_path)
    assert result.facts["newest_id"] == NEWEST_ID
    assert result.facts["max_gap_seconds"] == 8.270369


def test_whole_second_age_is_int(tmp_path: Path) -> None:
    document = real_document()[:1]
    document[0]["time"] = "2026-12-04T20:00:00+01:00"
    result = snapshots(write_json(tmp_path, document), tmp_path)
    assert result.facts["newest_age_seconds"] == 3600 * 2
    assert type(result.facts["newest_age_seconds"]) is int


# Broken inputs raise CollectorError naming the file and the place.


def test_broken_truncated_json(tmp_path: Path) -> None:
    text = (DATA / "snapshots.json").read_text(encoding="utf-8")
    cut = text.index("},{") + 2
    error = snapshots_error(tmp_path, text[:cut])
    assert error.path == "snapshots.json"
    assert error.location == f"1:{cut + 1}"
    assert error.reason == "invalid JSON: Expecting value"


def test_broken_empty_file(tmp_path: Path) -> None:
    error = snapshots_error(tmp_path, "")
    assert error.reason == ("file is empty; expected the JSON array that "
                            "`restic snapshots --json` prints")


def test_broken_time_as_number(tmp_path: Path) -> None:
    error = snapshots_error(tmp_path, '[{"time": 1796415300, "id": "abc", "paths": ["/"]}]')
    assert error.location == "[0].time"
    assert error.reason == "expected an RFC 3339 time string, got 1796415300"


def test_broken_time_without_offset(tmp_path: Path) -> None:
    error = snapshots_error(tmp_path, '[{"time": "2026-12-04T19:22:09", "id": "a", "paths": []}]')
    assert error.location == "[0].time"
    assert error.reason == "timestamp has no UTC offset: '2026-12-04T19:22:09'"


def test_broken_time_text(tmp_path: Path) -> None:
    error = snapshots_error(tmp_path, '[{"time": "yesterday", "id": "a", "paths": []}]')
    assert error.reason == "not an RFC 3339 timestamp: 'yesterday'"


def test_broken_time_invalid_month(tmp_path: Path) -> None:
    error = snapshots_error(tmp_path, '[{"time": "2026-13-04T19:22:09Z", "id": "a", "paths": []}]')
    assert error.location == "[0].time"
    assert error.reason.startswith("invalid time '2026-13-04T19:22:09Z': ")


def test_broken_tags_string(tmp_path: Path) -> None:
    document = real_document()
    document[2]["tags"] = "daily"
    error = snapshots_error(tmp_path, json.dumps(document))
    assert error.location == "[2].tags"
    assert error.reason == "expected an array of strings, got the string 'daily'"


def test_broken_paths_missing(tmp_path: Path) -> None:
    document = real_document()
    del document[1]["paths"]
    error = snapshots_error(tmp_path, json.dumps(document))
    assert error.location == "[1].paths"
    assert error.reason == "required key is missing"


def test_broken_id_missing(tmp_path: Path) -> None:
    document = real_document()
    del document[0]["id"]
    error = snapshots_error(tmp_path, json.dumps(document))
    assert error.location == "[0].id"


def test_broken_duplicate_id(tmp_path: Path) -> None:
    document = real_document()
    document.append(document[0])
    error = snapshots_error(tmp_path, json.dumps(document))
    assert error.location == "[5].id"
    assert error.reason == "snapshot 08066189 appears twice, also at [0]"


def test_broken_object_not_array(tmp_path: Path) -> None:
    error = snapshots_error(tmp_path, "{}")
    assert error.location is None
    assert error.reason == ("expected the JSON array that `restic snapshots --json` prints, "
                            "got an object")


def test_broken_group_mixed_with_snapshot(tmp_path: Path) -> None:
    groups = real_document("snapshots-group-by-host.json")
    error = snapshots_error(tmp_path, json.dumps([groups[0], real_document()[0]]))
    assert error.location == "[1]"
    assert error.reason == "expected a --group-by group like the first entry"


def test_broken_invalid_utf8(tmp_path: Path) -> None:
    error = snapshots_error(tmp_path, b'[\n  {"hostname": "caf\xe9"}\n]')
    assert error.location == "2:20"
    assert error.reason == "invalid UTF-8 (byte 0xe9); save the file as UTF-8"


def test_broken_duplicate_key(tmp_path: Path) -> None:
    error = snapshots_error(tmp_path, '[{"id": "a", "id": "b"}]')
    assert error.reason == "invalid JSON: key 'id' appears twice in one JSON object"


def test_broken_lone_surrogate_escape(tmp_path: Path) -> None:
    # json.loads accepts "\ud800", but facts holding it cannot be canonical JSON.
    document = real_document("snapshots-two-hosts.json")
    text = json.dumps(document).replace('"hostname": "', '"hostname": "\\ud800', 1)
    error = snapshots_error(tmp_path, text)
    assert error.reason == ("invalid JSON: \\ud800 is a lone UTF-16 surrogate, not a Unicode "
                            "character; write the character itself or a surrogate pair")
    assert error.path == "snapshots.json"
    assert error.location == f"1:{text.index('ud800')}"


def test_surrogate_pair_escape_accepted(tmp_path: Path) -> None:
    document = real_document("snapshots-two-hosts.json")
    text = json.dumps(document).replace('"hostname": "', '"hostname": "\\ud83d\\ude00', 1)
    (tmp_path / "snapshots.json").write_text(text, encoding="utf-8")
    collected = snapshots("snapshots.json", tmp_path)
    assert any(host.startswith("\U0001f600") for host in collected.facts["hosts"])


def test_missing_file_is_evidence_missing(tmp_path: Path) -> None:
    with pytest.raises(EvidenceMissing):
        snapshots("absent.json", tmp_path)


@pytest.mark.parametrize("filters", [{"host": ""}, {"tag": ""}, {"paths": []},
                                     {"paths": "/etc"}, {"hosts": "a"}])
def test_params_rejected(filters: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        ResticSnapshots.Params(path="snapshots.json", **filters)


# restic check on real outputs.


def test_check_clean() -> None:
    result = check("check.txt")
    assert result.facts == {"errors_found": False, "no_errors_found_line": True,
                            "error_lines": [], "hint_lines": [], "read_data": "none"}
    assert result.failures == []
    assert result.warnings == []
    assert result.observed_at is None
    assert result.artifacts == [DATA / "check.txt"]


def test_check_clean_no_repository_id() -> None:
    result = check("check.txt")
    assert result.absent == {"repository_id": "the output has no 'repository ... opened' "
                                              "line (restic 0.14.0 prints it only to a terminal)"}


def test_check_terminal_clean() -> None:
    result = check("check-terminal-clean.txt")
    assert result.facts["repository_id"] == "ad7c8a41"
    assert result.facts["errors_found"] is False
    assert result.facts["no_errors_found_line"] is True
    assert result.facts["error_lines"] == []
    assert result.absent == {}


def test_check_read_data_damaged_pack() -> None:
    result = check("check-read-data-damaged-pack.txt")
    assert result.facts["errors_found"] is True
    assert result.facts["no_errors_found_line"] is False
    assert result.facts["error_lines"] == [PACK_MISMATCH, "Fatal: repository contains errors"]
    assert result.facts["read_data"] == "all"
    assert result.failures == []


def test_check_terminal_damaged_pack() -> None:
    result = check("check-terminal-damaged-pack.txt")
    assert result.facts["error_lines"] == [PACK_MISMATCH, "Fatal: repository contains errors"]
    assert result.facts["repository_id"] == "ad7c8a41"
    assert result.facts["read_data"] == "all"


def test_check_damaged_tree_packs() -> None:
    result = check("check-damaged-tree-packs.txt")
    assert result.facts["errors_found"] is True
    assert result.facts["error_lines"] == [
        "error for tree b0dd4801:",
        "decrypting blob b0dd48018cd2d1a7f1538ced7aa475fc24a4932c46000c37b9cce4b1b9fd21a3 "
        "failed: ciphertext verification failed",
        "error for tree 3c1df710:",
        "decrypting blob 3c1df7106e6a924d3e96ee7f031b18d9c86d4a4925c71e6ddf81c56e32de33e9 "
        "failed: ciphertext verification failed",
        "Fatal: repository contains errors",
    ]
    assert result.facts["read_data"] == "none"


def test_check_missing_pack() -> None:
    result = check("check-missing-pack.txt")
    assert result.facts["error_lines"] == [f"pack {PACK_ID}: does not exist",
                                           "Fatal: repository contains errors"]


def test_check_wrong_password() -> None:
    result = check("check-wrong-password.txt")
    assert result.facts["errors_found"] is True
    assert result.facts["error_lines"] == ["Fatal: wrong password or no key found"]
    assert result.failures == []


def test_check_no_repository() -> None:
    result = check("check-no-repository.txt")
    assert result.facts["error_lines"] == [
        "Fatal: unable to open config file: stat /tmp/restic-work.uhv7/missing-repo/config: "
        "no such file or directory",
        "Is there a repository at the following location?",
        "/tmp/restic-work.uhv7/missing-repo",
    ]


@pytest.mark.parametrize("path", ["check.txt", "check-terminal-damaged-pack.txt"])
def test_check_facts_declared(path: str) -> None:
    result = check(path)
    assert all(ResticCheck.declared(name) for name in result.facts)
    assert all(ResticCheck.declared(name) for name in result.absent)


# restic check outputs written by hand from restic's messages.

CLEAN_WITH_DUPLICATE_PACK = """\
using temporary cache in /tmp/restic-check-cache-4211
create exclusive lock for repository
load indexes
pack 82af7208 contained in several indexes: {3c1df710 b0dd4801}
Duplicate packs are non-critical, you can run `restic repair index' to correct this.
check all packs
check snapshots, trees and blobs
[0:00] 100.00%  3 / 3 snapshots
no errors were found
"""

OLD_STYLE_UNREFERENCED_PACK = """\
Create exclusive lock for repository
Load indexes
Check all packs
pack 819a9a52e4f51230afa89aefbf90df37fb70996337ae57e6f7a822959206a85e: not referenced in any index
1 additional files were found in the repo, which likely contain duplicate data.
You can run `restic prune` to correct this.
Check snapshots, trees and blobs
no errors were found
"""


def test_check_hints_not_errors(tmp_path: Path) -> None:
    result = check(write_check(tmp_path, CLEAN_WITH_DUPLICATE_PACK), tmp_path)
    assert result.facts["errors_found"] is False
    assert result.facts["hint_lines"] == [
        "pack 82af7208 contained in several indexes: {3c1df710 b0dd4801}",
        "Duplicate packs are non-critical, you can run `restic repair index' to correct this.",
    ]
    assert result.warnings == []


def test_check_old_style_hints(tmp_path: Path) -> None:
    result = check(write_check(tmp_path, OLD_STYLE_UNREFERENCED_PACK), tmp_path)
    assert result.facts["errors_found"] is False
    assert len(result.facts["hint_lines"]) == 3
    assert result.facts["no_errors_found_line"] is True


def test_check_read_data_subset(tmp_path: Path) -> None:
    text = CLEAN_WITH_DUPLICATE_PACK.replace(
        "no errors were found",
        "read group #1 of 2 data packs (out of total 5 packs in 3 groups)\nno errors were found")
    assert check(write_check(tmp_path, text), tmp_path).facts["read_data"] == "subset"
    text = CLEAN_WITH_DUPLICATE_PACK.replace(
        "no errors were found", "read 10.0% of packfiles\nno errors were found")
    assert check(write_check(tmp_path, text), tmp_path).facts["read_data"] == "subset"


def test_check_unfinished_fails(tmp_path: Path) -> None:
    text = "using temporary cache in /tmp/restic-check-cache-1\nload indexes\ncheck all packs\n"
    result = check(write_check(tmp_path, text), tmp_path)
    assert result.facts["errors_found"] is False
    assert result.failures == ["the output has neither 'no errors were found' nor a 'Fatal:' "
                               "line, so the check did not finish"]


def test_check_unknown_line_counts_as_error(tmp_path: Path) -> None:
    text = CLEAN_WITH_DUPLICATE_PACK.replace("check all packs\n",
                                             "check all packs\nsomething unexpected\n")
    result = check(write_check(tmp_path, text), tmp_path)
    assert result.facts["errors_found"] is True
    assert result.facts["error_lines"] == ["something unexpected"]
    assert result.warnings == [
        "restic printed 'no errors were found', but 1 other line(s) are not progress or hints, "
        "so errors_found is true; first: 'something unexpected'"
    ]


def test_check_not_restic_output(tmp_path: Path) -> None:
    error = check_error(tmp_path, "hello\nworld\n")
    assert type(error) is CollectorError
    assert error.reason == (
        "no `restic check` output found: expected the output of `restic check`, with lines "
        "such as 'load indexes', 'check all packs' and 'no errors were found', or a 'Fatal:' line"
    )


def test_check_empty_file(tmp_path: Path) -> None:
    error = check_error(tmp_path, "\n\n")
    assert error.reason.startswith("file is empty; expected the output of `restic check`")


def test_check_json_output_rejected(tmp_path: Path) -> None:
    error = check_error(tmp_path, '{"message_type":"summary","num_errors":0}\n')
    assert error.location == "1"
    assert "restic check --json" in error.reason


def test_check_invalid_utf8(tmp_path: Path) -> None:
    error = check_error(tmp_path, b"load indexes\ncheck all packs\npack \xff: does not exist\n")
    assert error.location == "3:6"
    assert error.reason == "invalid UTF-8 (byte 0xff); save the file as UTF-8"


def test_check_several_repositories(tmp_path: Path) -> None:
    opened = "opened (repository version 2) successfully\nno errors were found\n"
    text = f"repository ad7c8a41 {opened}repository 1a2b3c4d {opened}"
    error = check_error(tmp_path, text)
    assert error.reason == ("the output names several repositories (1a2b3c4d, ad7c8a41); "
                            "save the output of one check per file")


def test_check_missing_file(tmp_path: Path) -> None:
    with pytest.raises(EvidenceMissing):
        check("check.txt", tmp_path)

