"""Tests of the pgbackrest.log collector on real pgBackRest 2.45 logs and hand-made logs.

The real logs in tests/data/pgbackrest/logs were written with the server clock in UTC.
Expected values are read by hand from the lines named in each comment. Ages use
NOW = 2026-12-04T21:00:00Z.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from assay.errors import CollectorError, EvidenceMissing
from assay.evidence.collectors.base import Collected, CollectContext
from assay.evidence.collectors.pgbackrest_log import PgBackRestLog

LOGS = Path(__file__).resolve().parents[2] / "data" / "pgbackrest" / "logs"
NOW = datetime(2026, 12, 4, 21, 0, tzinfo=UTC)
BACKUP_LOG = "corpus-backup.log"
ASYNC_LOG = "corpus-archive-push-async.log"
EXPIRE_LOG = "corpus-expire.log"


def collect(path: str, workspace: Path = LOGS, now: datetime = NOW, **params: Any) -> Collected:
    return PgBackRestLog().collect(PgBackRestLog.Params(path=path, **params),
                                   CollectContext(workspace=workspace, now=now))


def log_line(time: str, message: str, level: str = "INFO", process: str = "00",
             day: str = "2026-12-04") -> str:
    """Format one line as pgBackRest writes it: the level is right-aligned to six characters."""
    return f"{day} {time} P{process} {level:>6}: {message}"


def write_log(workspace: Path, lines: list[str], name: str = "main-archive-push.log") -> str:
    (workspace / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return name


def push_ok(end: str, wal: str, begin: str | None = None, stanza: str = "main") -> list[str]:
    """A synchronous archive-push run that pushed `wal` and ended at `end`."""
    return [
        "-------------------PROCESS START-------------------",
        log_line(begin or end, f"archive-push command begin 2.45: [pg_wal/{wal}] "
                               f"--compress-type=gz --stanza={stanza}"),
        log_line(end, f"pushed WAL file '{wal}' to the archive"),
        log_line(end, "archive-push command end: completed successfully (5ms)"),
    ]


def push_failed(end: str, wal: str, begin: str | None = None) -> list[str]:
    """A synchronous archive-push run that aborted at `end` with error 045."""
    return [
        "-------------------PROCESS START-------------------",
        log_line(begin or end, f"archive-push command begin 2.45: [pg_wal/{wal}] --stanza=main"),
        log_line(end, f"[045]: unable to write '{wal}' to the repository", level="ERROR"),
        log_line(end, "archive-push command end: aborted with exception [045]"),
    ]


def by_command(result: Collected, command: str) -> list[dict[str, Any]]:
    return [run for run in result.facts["runs"] if run["command"] == command]


@pytest.fixture(scope="module")
def merged() -> Collected:
    return collect("*.log")


@pytest.fixture(scope="module")
def backup_only() -> Collected:
    return collect(BACKUP_LOG)


# The real logs: corpus-backup.log has 9 backup runs, each opened by a PROCESS START banner.


def test_backup_counts(merged: Collected) -> None:
    assert len(by_command(merged, "backup")) == 9
    assert merged.facts["backups_completed"] == 6
    assert merged.facts["backups_aborted"] == 3
    assert merged.facts["commands"]["backup"] == {
        "runs": 9, "completed": 6, "aborted": 3, "unfinished": 0,
    }


def test_backup_error_codes(merged: Collected) -> None:
    assert merged.facts["error_codes"] == [62, 68, 82]


def test_backup_results_in_order(merged: Collected) -> None:
    results = [run["result"] for run in by_command(merged, "backup")]
    assert results == ["completed"] * 4 + ["aborted", "aborted", "completed", "aborted",
                                           "completed"]


def test_backup_types(merged: Collected) -> None:
    types = [run["type"] for run in by_command(merged, "backup")]
    assert types == ["full", "incr", "diff"] + ["incr"] * 6


def test_first_full_backup(merged: Collected) -> None:
    first = by_command(merged, "backup")[0]
    # corpus-backup.log lines 2 and 976.
    assert first == {
        "command": "backup", "file": BACKUP_LOG, "line": 2, "version": "2.45",
        "start": "2026-12-04T19:18:58.288000Z",
        "end": "2026-12-04T19:19:02.716000Z", "duration_seconds": 4.428,
        "result": "completed", "type": "full", "stanza": "corpus",
    }


def test_aborted_068(merged: Collected) -> None:
    run = by_command(merged, "backup")[4]
    # corpus-backup.log lines 4846, 4848 and 4849.
    assert run["line"] == 4846
    assert run["start"] == "2026-12-04T19:19:44.570000Z"
    assert run["end"] == "2026-12-04T19:19:45.291000Z"
    assert run["duration_seconds"] == 0.721
    assert run["error_code"] == 68
    assert run["error_message"] == (
        "ERROR: [068]: archive_command '/bin/false' must contain pgbackrest"
    )


def test_aborted_062(merged: Collected) -> None:
    run = by_command(merged, "backup")[5]
    # corpus-backup.log lines 4852 to 4854.
    assert run["line"] == 4852
    assert run["start"] == "2026-12-04T19:19:46.024000Z"
    assert run["end"] == "2026-12-04T19:19:46.025000Z"
    assert run["duration_seconds"] == 0.001
    assert run["error_code"] == 62
    assert run["error_message"] == "ERROR: [062]: stop file exists for stanza corpus"


def test_aborted_082_keeps_hints(merged: Collected) -> None:
    run = by_command(merged, "backup")[7]
    # corpus-backup.log lines 6146 and 6151 to 6155. This run had --archive-timeout=10.
    assert run["line"] == 6146
    assert run["start"] == "2026-12-04T19:20:02.175000Z"
    assert run["end"] == "2026-12-04T19:20:13.604000Z"
    assert run["duration_seconds"] == 11.429
    assert run["error_code"] == 82
    assert run["error_message"] == (
        "ERROR: [082]: WAL segment 000000010000000000000012 was not archived before the "
        "10000ms timeout\n"
        "HINT: check the archive_command to ensure that all options are correct "
        "(especially --stanza).\n"
        "HINT: check the PostgreSQL server log for errors.\n"
        "HINT: run the 'start' command if the stanza was previously stopped."
    )


def test_completed_runs_have_no_error(merged: Collected) -> None:
    for run in merged.facts["runs"]:
        if run["result"] == "completed":
            assert "error_code" not in run
            assert "error_message" not in run


def test_backup_durations(merged: Collected) -> None:
    durations = [run["duration_seconds"] for run in by_command(merged, "backup")]
    # End minus begin of lines 2/976, 979/2265, 2268/3554, 3557/4843, 4846/4849,
    # 4852/4854, 4857/6143, 6146/6155 and 6158/7444.
    assert durations == [4.428, 3.646, 3.546, 3.396, 0.721, 0.001, 2.631, 11.429, 3.096]


def test_last_backup(merged: Collected) -> None:
    assert merged.facts["last_backup_result"] == "completed"
    # corpus-backup.log line 7444.
    assert merged.facts["last_successful_backup_end"] == "2026-12-04T19:20:25.806000Z"
    # 21:00:00.000 - 19:20:25.806 = 1 h 39 min 34.194 s.
    assert merged.facts["last_successful_backup_age_seconds"] == 5974.194


def test_expire_runs(merged: Collected) -> None:
    runs = by_command(merged, "expire")
    # corpus-expire.log: begin and end lines of six runs.
    assert [(run["start"], run["end"]) for run in runs] == [
        ("2026-12-04T19:19:02.716000Z", "2026-12-04T19:19:02.721000Z"),
        ("2026-12-04T19:19:21.360000Z", "2026-12-04T19:19:21.364000Z"),
        ("2026-12-04T19:19:29.638000Z", "2026-12-04T19:19:29.640000Z"),
        ("2026-12-04T19:19:33.172000Z", "2026-12-04T19:19:33.177000Z"),
        ("2026-12-04T19:19:54.592000Z", "2026-12-04T19:19:54.595000Z"),
        ("2026-12-04T19:20:25.806000Z", "2026-12-04T19:20:25.811000Z"),
    ]
    assert [run["duration_seconds"] for run in runs] == [0.005, 0.004, 0.002, 0.005, 0.003, 0.005]
    assert merged.facts["commands"]["expire"] == {
        "runs": 6, "completed": 6, "aborted": 0, "unfinished": 0,
    }


def test_archive_push_counts(merged: Collected) -> None:
    assert merged.facts["commands"]["archive-push:async"] == {
        "runs": 5, "completed": 5, "aborted": 0, "unfinished": 0,
    }
    assert merged.facts["archive_push_completed"] == 5
    assert merged.facts["archive_push_failed"] == 0
    assert merged.facts["archive_pushes_ok"] == 5
    assert merged.facts["archive_pushes_failed"] == 0


def test_async_run_without_type(merged: Collected) -> None:
    run = by_command(merged, "archive-push:async")[0]
    # corpus-archive-push-async.log lines 2 and 5.
    assert run["start"] == "2026-12-04T19:21:27.062000Z"
    assert run["end"] == "2026-12-04T19:21:27.755000Z"
    assert run["duration_seconds"] == 0.693
    assert run["stanza"] == "corpus"
    assert "type" not in run


def test_rpo_real_async_log(merged: Collected) -> None:
    # corpus-archive-push-async.log, "pushed WAL file" lines 4, 10, 16, 22 and 28:
    # 19:21:27.753, 28.445, 29.533, 30.583 and 35.449, so gaps of
    # 0.692, 1.088, 1.050 and 4.866 s. No push failed.
    assert merged.facts["rpo_max_gap_seconds"] == 4.866
    assert merged.facts["rpo_gap_start"] == "2026-12-04T19:21:30.583000Z"
    assert merged.facts["rpo_gap_end"] == "2026-12-04T19:21:35.449000Z"
    # 4.866 s is below the 60 s bound, so it counts as it is.
    assert merged.facts["rpo_seconds"] == 4.866
    assert merged.facts["rpo_window_start"] == "2026-12-04T19:21:30.583000Z"
    assert merged.facts["rpo_window_end"] == "2026-12-04T19:21:35.449000Z"
    assert merged.facts["archive_timeout_seconds"] == 60


def test_last_push_age_real_log(merged: Collected) -> None:
    # 21:00:00.000 - 19:21:35.449 (line 28) = 1 h 38 min 24.551 s.
    assert merged.facts["last_push_age_seconds"] == 5904.551


def test_merged_runs_sorted_by_start(merged: Collected) -> None:
    starts = [run["start"] for run in merged.facts["runs"]]
    assert len(starts) == 20
    assert starts == sorted(starts)
    assert merged.facts["runs"][1]["command"] == "expire"


def test_merged_observed_at(merged: Collected) -> None:
    # corpus-archive-push-async.log line 29, the latest end of the three logs.
    assert merged.observed_at == datetime(2026, 12, 4, 19, 21, 35, 451000, tzinfo=UTC)


def test_merged_clean(merged: Collected) -> None:
    assert merged.failures == []
    assert merged.warnings == []
    assert merged.absent == {}
    assert merged.artifacts == [LOGS / ASYNC_LOG, LOGS / BACKUP_LOG, LOGS / EXPIRE_LOG]


def test_backup_log_alone(backup_only: Collected) -> None:
    assert len(backup_only.facts["runs"]) == 9
    assert list(backup_only.facts["commands"]) == ["backup"]
    # corpus-backup.log line 7444.
    assert backup_only.observed_at == datetime(2026, 12, 4, 19, 20, 25, 806000, tzinfo=UTC)
    assert backup_only.artifacts == [LOGS / BACKUP_LOG]


def test_backup_log_alone_rpo_absent(backup_only: Collected) -> None:
    reason = "no successful WAL push in corpus-backup.log"
    for name in ("rpo_seconds", "rpo_max_gap_seconds", "rpo_gap_start", "last_push_age_seconds"):
        assert backup_only.absent[name] == reason
        assert name not in backup_only.facts
    assert backup_only.facts["archive_pushes_ok"] == 0
    assert backup_only.failures == []


def test_async_log_alone_backups_absent() -> None:
    result = collect(ASYNC_LOG)
    assert result.facts["backups_completed"] == 0
    assert result.absent["last_backup_result"] == "no backup runs in corpus-archive-push-async.log"
    assert result.absent["last_successful_backup_end"] == (
        "no completed backup run in corpus-archive-push-async.log"
    )
    assert result.facts["rpo_seconds"] == 4.866


def test_facts_all_declared(merged: Collected, backup_only: Collected) -> None:
    declared = PgBackRestLog.fact_names()
    for result in (merged, backup_only):
        assert set(result.facts) <= set(declared)
        assert set(result.absent) <= set(declared)
    assert set(merged.facts) == set(declared)


# Time zones: the server writes local time without an offset.


def test_timezone_berlin_shifts_one_hour(merged: Collected) -> None:
    berlin = collect("*.log", timezone="Europe/Berlin")
    assert len(berlin.facts["runs"]) == len(merged.facts["runs"])
    for local, utc in zip(berlin.facts["runs"], merged.facts["runs"], strict=True):
        for key in ("start", "end"):
            shifted = datetime.fromisoformat(utc[key]) - timedelta(hours=1)
            assert datetime.fromisoformat(local[key]) == shifted
        assert local["duration_seconds"] == utc["duration_seconds"]


def test_timezone_berlin_values() -> None:
    berlin = collect("*.log", timezone="Europe/Berlin")
    # 19:18:58.288 in Berlin in December (UTC+1) is 18:18:58.288 UTC.
    assert berlin.facts["runs"][0]["start"] == "2026-12-04T18:18:58.288000Z"
    assert berlin.facts["last_successful_backup_end"] == "2026-12-04T18:20:25.806000Z"
    assert berlin.facts["last_successful_backup_age_seconds"] == 9574.194  # 5974.194 + 3600
    assert berlin.facts["rpo_gap_end"] == "2026-12-04T18:21:35.449000Z"
    assert berlin.facts["rpo_seconds"] == 4.866
    assert berlin.observed_at == datetime(2026, 12, 4, 18, 21, 35, 451000, tzinfo=UTC)


def test_timezone_repeated_hour(tmp_path: Path) -> None:
    # Berlin leaves summer time on 2026-10-25 at 03:00 CEST, so 02:00 to 03:00 occurs twice.
    day = "2026-10-25"
    name = write_log(tmp_path, [
        log_line("02:50:00.000", "backup command begin 2.45: --stanza=main --type=full", day=day),
        log_line("02:10:00.000", "backup command end: completed successfully (1200000ms)", day=day),
    ])
    run = collect(name, tmp_path, timezone="Europe/Berlin").facts["runs"][0]
    # 02:50 CEST (UTC+2) is 00:50Z. The later 02:10 is CET (UTC+1), 01:10Z.
    assert run["start"] == "2026-10-25T00:50:00.000000Z"
    assert run["end"] == "2026-10-25T01:10:00.000000Z"
    assert run["duration_seconds"] == 1200.0


def test_timezone_unknown_rejected() -> None:
    with pytest.raises(ValidationError, match="unknown time zone 'Mars/Olympus'"):
        PgBackRestLog.Params(path="x.log", timezone="Mars/Olympus")


def test_timezone_path_rejected() -> None:
    with pytest.raises(ValidationError, match="unknown time zone"):
        PgBackRestLog.Params(path="x.log", timezone="../../etc/passwd")


# The stanza filter.


def test_stanza_filter_real_logs(merged: Collected) -> None:
    result = collect("*.log", stanza="corpus")
    assert result.facts == merged.facts
    assert result.failures == []


def test_stanza_filter_unknown_fails() -> None:
    result = collect(BACKUP_LOG, stanza="billing")
    assert result.failures == [
        "no pgBackRest command runs for stanza 'billing' in corpus-backup.log; "
        "stanzas present: corpus"
    ]
    assert result.facts["runs"] == []
    assert result.facts["backups_completed"] == 0
    assert result.observed_at is None


def test_stanza_filter_selects(tmp_path: Path) -> None:
    name = write_log(tmp_path, [
        log_line("10:00:00.000", "backup command begin 2.45: --stanza=main --type=full"),
        log_line("10:01:00.000", "backup command end: completed successfully (60000ms)"),
        log_line("10:02:00.000", "backup command begin 2.45: --stanza=reporting --type=full"),
        log_line("10:02:01.000", "[062]: stop file exists for stanza reporting", level="ERROR"),
        log_line("10:02:01.000", "backup command end: aborted with exception [062]"),
        log_line("10:03:00.000", "info command begin 2.45: --output=json"),
        log_line("10:03:00.100", "info command end: completed successfully (100ms)"),
    ])
    main = collect(name, tmp_path, stanza="main")
    assert [run["stanza"] for run in main.facts["runs"]] == ["main"]
    assert main.facts["backups_aborted"] == 0
    assert main.facts["error_codes"] == []
    reporting = collect(name, tmp_path, stanza="reporting")
    assert reporting.facts["last_backup_result"] == "aborted"
    assert reporting.facts["error_codes"] == [62]
    assert reporting.absent["last_successful_backup_end"] == (
        f"no completed backup run in {name} (1 backup runs, none completed)"
    )
    everything = collect(name, tmp_path)
    assert everything.facts["commands"]["info"]["runs"] == 1
    assert "stanza" not in everything.facts["runs"][2]


# The RPO rule, branch by branch. Each push run ends at the time given.


def test_rpo_idle_gap_bounded(tmp_path: Path) -> None:
    name = write_log(tmp_path, [
        *push_ok("10:00:00.000", "000000010000000000000001"),
        *push_ok("10:00:30.000", "000000010000000000000002"),
        *push_ok("10:05:30.000", "000000010000000000000003"),
    ])
    result = collect(name, tmp_path)
    assert result.facts["archive_pushes_ok"] == 3
    assert result.facts["archive_pushes_failed"] == 0
    assert result.facts["rpo_max_gap_seconds"] == 300.0
    assert result.facts["rpo_gap_start"] == "2026-12-04T10:00:30.000000Z"
    assert result.facts["rpo_gap_end"] == "2026-12-04T10:05:30.000000Z"
    # No push failed in the 300 s gap, so it counts as archive_timeout (60 s).
    assert result.facts["rpo_seconds"] == 60.0
    assert result.facts["rpo_window_start"] == "2026-12-04T10:00:30.000000Z"
    assert result.facts["rpo_window_end"] == "2026-12-04T10:05:30.000000Z"


def test_rpo_short_gap_not_raised(tmp_path: Path) -> None:
    name = write_log(tmp_path, [
        *push_ok("10:00:00.000", "000000010000000000000001"),
        *push_ok("10:00:45.250", "000000010000000000000002"),
    ])
    result = collect(name, tmp_path)
    assert result.facts["rpo_max_gap_seconds"] == 45.25
    assert result.facts["rpo_seconds"] == 45.25


def test_rpo_failure_inside_gap(tmp_path: Path) -> None:
    name = write_log(tmp_path, [
        *push_ok("10:00:00.000", "000000010000000000000001"),
        *push_failed("10:02:00.250", "000000010000000000000002", begin="10:02:00.000"),
        *push_ok("10:05:00.000", "000000010000000000000002"),
    ])
    result = collect(name, tmp_path)
    assert result.facts["archive_push_failed"] == 1
    assert result.facts["archive_pushes_failed"] == 1
    assert result.facts["error_codes"] == [45]
    # The failure at 10:02:00.250 lies inside the 10:00:00 to 10:05:00 gap, so all 300 s count.
    assert result.facts["rpo_seconds"] == 300.0
    assert result.facts["rpo_window_start"] == "2026-12-04T10:00:00.000000Z"
    assert result.facts["rpo_window_end"] == "2026-12-04T10:05:00.000000Z"


def test_rpo_failure_at_gap_end(tmp_path: Path) -> None:
    # One async run pushes 01, then fails on 02 and pushes 03 in the same millisecond.
    name = write_log(tmp_path, [
        log_line("10:00:00.000", "archive-push:async command begin 2.45: [/pg/pg_wal] "
                                 "--archive-async --stanza=main"),
        log_line("10:00:00.100", "pushed WAL file '000000010000000000000001' to the archive",
                 level="DETAIL", process="01"),
        log_line("10:03:00.000", "could not push WAL file '000000010000000000000002' to the "
                                 "archive (will be retried): [55] unable to open", level="WARN",
                 process="01"),
        "                                    [FileMissingError] on retry after 0ms",
        log_line("10:03:00.000", "pushed WAL file '000000010000000000000003' to the archive",
                 level="DETAIL", process="02"),
        log_line("10:03:00.010",
                 "archive-push:async command end: completed successfully (180010ms)"),
    ], name="main-archive-push-async.log")
    result = collect(name, tmp_path)
    assert result.facts["archive_pushes_ok"] == 2
    assert result.facts["archive_pushes_failed"] == 1
    assert result.facts["archive_push_failed"] == 0
    # The failure ends the 179.9 s gap, so the gap counts in full.
    assert result.facts["rpo_seconds"] == 179.9
    assert result.facts["rpo_window_end"] == "2026-12-04T10:03:00.000000Z"
    assert result.warnings == []


def test_rpo_async_warning_inside_gap(tmp_path: Path) -> None:
    name = write_log(tmp_path, [
        log_line("10:00:00.000", "archive-push:async command begin 2.45: [/pg/pg_wal] "
                                 "--stanza=main"),
        log_line("10:00:00.100", "pushed WAL file '000000010000000000000001' to the archive",
                 level="DETAIL", process="01"),
        log_line("10:01:00.000", "could not push WAL file '000000010000000000000002' to the "
                                 "archive (will be retried): [55] unable to open", level="WARN",
                 process="01"),
        log_line("10:01:00.010",
                 "archive-push:async command end: completed successfully (60010ms)"),
        log_line("10:04:00.000", "archive-push:async command begin 2.45: [/pg/pg_wal] "
                                 "--stanza=main"),
        log_line("10:04:00.100", "pushed WAL file '000000010000000000000002' to the archive",
                 level="DETAIL", process="01"),
        log_line("10:04:00.110", "archive-push:async command end: completed successfully (110ms)"),
    ])
    result = collect(name, tmp_path)
    # The warning at 10:01:00 lies between the pushes at 10:00:00.100 and 10:04:00.100.
    assert result.facts["rpo_seconds"] == 240.0
    assert result.facts["rpo_max_gap_seconds"] == 240.0
    assert result.facts["archive_pushes_failed"] == 1


def test_rpo_failures_after_last_push(tmp_path: Path) -> None:
    name = write_log(tmp_path, [
        *push_ok("10:00:00.000", "000000010000000000000001"),
        *push_ok("10:00:30.000", "000000010000000000000002"),
        *push_failed("10:01:00.000", "000000010000000000000003"),
        *push_failed("10:03:30.000", "000000010000000000000003"),
    ])
    result = collect(name, tmp_path)
    assert result.facts["rpo_max_gap_seconds"] == 30.0
    # From the last successful push (10:00:30) to the last failure (10:03:30).
    assert result.facts["rpo_seconds"] == 180.0
    assert result.facts["rpo_window_start"] == "2026-12-04T10:00:30.000000Z"
    assert result.facts["rpo_window_end"] == "2026-12-04T10:03:30.000000Z"
    assert result.facts["archive_pushes_failed"] == 2
    # 21:00:00 - 10:00:30 = 39570 s.
    assert result.facts["last_push_age_seconds"] == 39570.0


def test_rpo_failure_before_first_push(tmp_path: Path) -> None:
    name = write_log(tmp_path, [
        *push_failed("10:00:00.500", "000000010000000000000001"),
        *push_ok("10:02:00.000", "000000010000000000000001"),
        *push_ok("10:02:30.000", "000000010000000000000002"),
    ])
    result = collect(name, tmp_path)
    # From the first failure (10:00:00.500) to the first successful push (10:02:00).
    assert result.facts["rpo_seconds"] == 119.5
    assert result.facts["rpo_window_start"] == "2026-12-04T10:00:00.500000Z"
    assert result.facts["rpo_max_gap_seconds"] == 30.0


def test_rpo_timeout_parameter(tmp_path: Path) -> None:
    name = write_log(tmp_path, [
        *push_ok("10:00:00.000", "000000010000000000000001"),
        *push_ok("10:05:00.000", "000000010000000000000002"),
    ])
    result = collect(name, tmp_path, archive_timeout_seconds=120)
    assert result.facts["archive_timeout_seconds"] == 120
    assert result.facts["rpo_seconds"] == 120.0


def test_rpo_timeout_disabled(tmp_path: Path) -> None:
    name = write_log(tmp_path, [
        *push_ok("10:00:00.000", "000000010000000000000001"),
        *push_ok("10:05:00.000", "000000010000000000000002"),
    ])
    result = collect(name, tmp_path, archive_timeout_seconds=0)
    assert result.facts["archive_timeout_seconds"] == 0
    assert result.facts["rpo_seconds"] == 300.0


def test_rpo_begin_line_timeout_ignored(tmp_path: Path) -> None:
    lines = push_ok("10:00:00.000", "000000010000000000000001")
    lines += push_ok("10:05:00.000", "000000010000000000000002")
    lines = [line.replace("--compress-type=gz", "--archive-timeout=10") for line in lines]
    result = collect(write_log(tmp_path, lines), tmp_path)
    assert result.facts["archive_timeout_seconds"] == 60
    assert result.facts["rpo_seconds"] == 60.0


def test_rpo_one_push_absent(tmp_path: Path) -> None:
    name = write_log(tmp_path, push_ok("10:00:00.000", "000000010000000000000001"))
    result = collect(name, tmp_path)
    assert result.absent["rpo_seconds"] == (
        f"only one successful WAL push and no failed push in {name}, so no interval to measure"
    )
    assert result.absent["rpo_max_gap_seconds"] == f"only one successful WAL push in {name}"
    assert result.facts["last_push_age_seconds"] == 39600.0  # 21:00:00 - 10:00:00


def test_rpo_only_failures_absent(tmp_path: Path) -> None:
    name = write_log(tmp_path, [
        *push_failed("10:00:00.000", "000000010000000000000001"),
        *push_failed("10:01:00.000", "000000010000000000000001"),
    ])
    result = collect(name, tmp_path)
    reason = f"no successful WAL push in {name} (2 failed)"
    assert result.absent["rpo_seconds"] == reason
    assert result.absent["last_push_age_seconds"] == reason
    assert result.facts["archive_push_failed"] == 2
    assert result.facts["archive_pushes_ok"] == 0


def test_rpo_stopped_push_run_is_failure(tmp_path: Path) -> None:
    name = write_log(tmp_path, [
        *push_ok("10:00:00.000", "000000010000000000000001"),
        "-------------------PROCESS START-------------------",
        log_line("10:01:00.000", "archive-push command begin 2.45: "
                                 "[pg_wal/000000010000000000000002] --stanza=main"),
        *push_ok("10:04:00.000", "000000010000000000000002"),
        "-------------------PROCESS START-------------------",
        log_line("10:20:00.000", "archive-push command begin 2.45: "
                                 "[pg_wal/000000010000000000000003] --stanza=main"),
    ])
    result = collect(name, tmp_path)
    assert result.facts["commands"]["archive-push"] == {
        "runs": 4, "completed": 2, "aborted": 0, "unfinished": 2,
    }
    # The run begun at 10:01 stopped without an end line: a failure inside the gap.
    # The run begun at 10:20 may still be running when the log was copied: no failure.
    assert result.facts["archive_pushes_failed"] == 1
    assert result.facts["rpo_seconds"] == 240.0


def test_push_counted_once_across_logs(tmp_path: Path) -> None:
    # With archive-async, archive-push reports what archive-push:async pushed before.
    foreground = []
    for time, wal in (("10:00:01.000", "000000010000000000000001"),
                      ("10:03:01.000", "000000010000000000000002")):
        foreground += [
            log_line(time, f"archive-push command begin 2.45: [pg_wal/{wal}] --archive-async "
                           "--stanza=main"),
            log_line(time, f"pushed WAL file '{wal}' to the archive asynchronously"),
            log_line(time, "archive-push command end: completed successfully (900ms)"),
        ]
    write_log(tmp_path, foreground, name="main-archive-push.log")
    background = []
    for begin, pushed, wal in (("10:00:00.000", "10:00:00.400", "000000010000000000000001"),
                               ("10:03:00.000", "10:03:00.400", "000000010000000000000002")):
        background += [
            log_line(begin, "archive-push:async command begin 2.45: [/pg/pg_wal] --stanza=main"),
            log_line(pushed, f"pushed WAL file '{wal}' to the archive", level="DETAIL",
                     process="01"),
            log_line(pushed, "archive-push:async command end: completed successfully (400ms)"),
        ]
    write_log(tmp_path, background, name="main-archive-push-async.log")
    result = collect("main-*.log", tmp_path)
    assert result.facts["archive_push_completed"] == 4
    assert result.facts["archive_pushes_ok"] == 2
    # Each WAL file counts once, at the earlier time that archive-push:async wrote.
    assert result.facts["rpo_gap_start"] == "2026-12-04T10:00:00.400000Z"
    assert result.facts["rpo_gap_end"] == "2026-12-04T10:03:00.400000Z"
    assert result.facts["rpo_max_gap_seconds"] == 180.0


# Hostile and unusual input.


def test_multiline_message_attached(tmp_path: Path) -> None:
    name = write_log(tmp_path, [
        log_line("10:00:00.000", "restore command begin 2.45: --stanza=main --type=time"),
        log_line("10:00:01.000", "[038]: unable to restore while PostgreSQL is running",
                 level="ERROR"),
        "                                    HINT: presence of 'postmaster.pid' in '/pg' "
        "indicates PostgreSQL is running.",
        "                                    HINT: remove 'postmaster.pid' only if PostgreSQL "
        "is not running.",
        log_line("10:00:01.000", "restore command end: aborted with exception [038]"),
    ])
    result = collect(name, tmp_path)
    run = result.facts["runs"][0]
    assert run["type"] == "time"
    assert run["error_code"] == 38
    assert run["error_message"] == (
        "ERROR: [038]: unable to restore while PostgreSQL is running\n"
        "HINT: presence of 'postmaster.pid' in '/pg' indicates PostgreSQL is running.\n"
        "HINT: remove 'postmaster.pid' only if PostgreSQL is not running."
    )
    assert result.warnings == []


def test_error_message_matches_end_code(tmp_path: Path) -> None:
    name = write_log(tmp_path, [
        log_line("10:00:00.000", "backup command begin 2.45: --stanza=main"),
        log_line("10:00:01.000", "[082]: WAL segment 1 was not archived", level="ERROR"),
        log_line("10:00:02.000", "[056]: unable to remove file", level="ERROR", process="01"),
        log_line("10:00:03.000", "backup command end: aborted with exception [082]"),
    ])
    run = collect(name, tmp_path).facts["runs"][0]
    assert run["error_message"] == "ERROR: [082]: WAL segment 1 was not archived"


def test_unfinished_at_end_of_file(tmp_path: Path) -> None:
    name = write_log(tmp_path, [
        log_line("10:00:00.000", "backup command begin 2.45: --stanza=main --type=full"),
        log_line("10:00:05.000", "backup start archive = 000000010000000000000002"),
    ])
    result = collect(name, tmp_path)
    run = result.facts["runs"][0]
    assert run["result"] == "unfinished"
    assert "end" not in run
    assert "duration_seconds" not in run
    assert result.facts["last_backup_result"] == "unfinished"
    assert result.facts["commands"]["backup"]["unfinished"] == 1
    assert result.observed_at is None


def test_begin_closes_open_run(tmp_path: Path) -> None:
    name = write_log(tmp_path, [
        "-------------------PROCESS START-------------------",
        log_line("10:00:00.000", "backup command begin 2.45: --stanza=main --type=full"),
        log_line("10:00:05.000", "backup file /pg/base/1/1255 (768KB, 3%)", level="DETAIL",
                 process="01"),
        "-------------------PROCESS START-------------------",
        log_line("10:10:00.000", "backup command begin 2.45: --stanza=main --type=full"),
        log_line("10:10:04.000", "backup command end: completed successfully (4000ms)"),
    ])
    result = collect(name, tmp_path)
    assert [run["result"] for run in result.facts["runs"]] == ["unfinished", "completed"]
    assert result.facts["backups_completed"] == 1
    assert result.facts["last_backup_result"] == "completed"


def test_helper_process_begin_ignored(tmp_path: Path) -> None:
    name = write_log(tmp_path, [
        log_line("10:00:00.000", "backup command begin 2.45: --stanza=main --type=full"),
        log_line("10:00:01.000", "local command begin 2.45: --process=1", process="01"),
        log_line("10:00:02.000", "local command end: completed successfully", process="01"),
        log_line("10:00:03.000", "backup command end: completed successfully (3000ms)"),
    ])
    result = collect(name, tmp_path)
    assert len(result.facts["runs"]) == 1
    assert result.facts["runs"][0]["duration_seconds"] == 3.0


def test_signal_termination(tmp_path: Path) -> None:
    name = write_log(tmp_path, [
        log_line("10:00:00.000", "backup command begin 2.45: --stanza=main --type=full"),
        log_line("10:00:09.000", "backup command end: terminated on signal [SIGTERM]"),
    ])
    result = collect(name, tmp_path)
    run = result.facts["runs"][0]
    assert run["result"] == "aborted"
    assert run["signal"] == "SIGTERM"
    assert "error_code" not in run
    assert result.facts["error_codes"] == []


def test_unknown_end_counted_aborted(tmp_path: Path) -> None:
    name = write_log(tmp_path, [
        log_line("10:00:00.000", "backup command begin 2.45: --stanza=main"),
        log_line("10:00:09.000", "backup command end: exploded"),
    ])
    result = collect(name, tmp_path)
    run = result.facts["runs"][0]
    assert run["result"] == "aborted"
    assert run["error_message"] == "exploded"
    assert result.warnings == [f"{name}:2: unrecognized command end 'exploded', counted as aborted"]


def test_garbage_lines_one_warning(tmp_path: Path) -> None:
    name = write_log(tmp_path, [
        "garbage before any run",
        "    indented but outside a run",
        log_line("10:00:00.000", "backup command begin 2.45: --stanza=main --type=full"),
        "not indented, inside a run",
        "2026-02-30 10:00:01.000 P00   INFO: no such date",
        log_line("10:00:02.000", "backup command end: completed successfully (2000ms)"),
        "",
        "trailing garbage \x00\x1b[31m",
    ])
    result = collect(name, tmp_path)
    assert result.warnings == [
        f"{name}: skipped 5 lines that are not pgBackRest log lines (first at line 1)"
    ]
    assert result.facts["runs"][0]["result"] == "completed"
    assert result.facts["runs"][0]["duration_seconds"] == 2.0


def test_stray_end_warns(tmp_path: Path) -> None:
    name = write_log(tmp_path, [
        log_line("10:00:00.000", "backup file /pg/base/1/1255 (768KB, 99%)", level="DETAIL",
                 process="01"),
        log_line("10:00:01.000", "backup command end: completed successfully (600000ms)"),
        log_line("10:05:00.000", "expire command begin 2.45: --stanza=main"),
        log_line("10:05:01.000", "expire command end: completed successfully (1000ms)"),
    ])
    result = collect(name, tmp_path)
    assert result.warnings == [
        f"{name}: 1 command end line matches no open run (first at line 2), so the log may "
        "start in the middle of a run"
    ]
    assert result.facts["commands"] == {
        "expire": {"runs": 1, "completed": 1, "aborted": 0, "unfinished": 0},
    }


def test_quoted_option_and_crlf(tmp_path: Path) -> None:
    (tmp_path / "crlf.log").write_bytes(
        b"2026-12-04 10:00:00.000 P00   INFO: backup command begin 2.45: "
        b"--db-include=\"a b\" --stanza=main --type=diff\r\n"
        b"2026-12-04 10:00:01.000 P00   INFO: backup command end: completed successfully\r\n"
    )
    run = collect("crlf.log", tmp_path).facts["runs"][0]
    assert run["type"] == "diff"
    assert run["stanza"] == "main"
    assert run["result"] == "completed"


def test_invalid_utf8_location(tmp_path: Path) -> None:
    (tmp_path / "bad.log").write_bytes(
        b"2026-12-04 10:00:00.000 P00   INFO: backup command begin 2.45: --stanza=main\n"
        b"2026-12-04 10:00:01.000 P00   INFO: caf\xe9\n"
    )
    with pytest.raises(CollectorError) as caught:
        collect("bad.log", tmp_path)
    assert caught.value.path == "bad.log"
    assert caught.value.location == "2:40"
    assert caught.value.reason == "invalid UTF-8 (byte 0xe9); save the file as UTF-8"


def test_empty_file_fails(tmp_path: Path) -> None:
    (tmp_path / "empty.log").write_bytes(b"")
    result = collect("empty.log", tmp_path)
    assert result.failures == ["no pgBackRest command runs in empty.log"]
    assert result.facts["runs"] == []
    assert result.facts["commands"] == {}
    assert result.facts["backups_completed"] == 0
    assert result.observed_at is None
    assert result.absent["last_backup_result"] == "no backup runs in empty.log"


def test_empty_file_in_glob_warns(tmp_path: Path) -> None:
    write_log(tmp_path, push_ok("10:00:00.000", "000000010000000000000001"), name="a.log")
    (tmp_path / "b.log").write_bytes(b"")
    result = collect("*.log", tmp_path)
    assert result.failures == []
    assert result.warnings == ["no pgBackRest command runs in b.log"]


def test_missing_path_is_evidence_missing(tmp_path: Path) -> None:
    with pytest.raises(EvidenceMissing):
        collect("no-such.log", tmp_path)


def test_missing_glob_is_evidence_missing(tmp_path: Path) -> None:
    with pytest.raises(EvidenceMissing):
        collect("logs/*.log", tmp_path)


def test_age_negative_warns() -> None:
    now = datetime(2026, 12, 4, 19, 20, tzinfo=UTC)
    result = collect(BACKUP_LOG, now=now)
    # 19:20:00.000 - 19:20:25.806 (line 7444).
    assert result.facts["last_successful_backup_age_seconds"] == -25.806
    assert result.warnings == [
        "the last successful backup ended at 2026-12-04T19:20:25.806000Z, after the "
        "evaluation time 2026-12-04T19:20:00.000000Z, so its age is negative"
    ]


# Declaration and parameters.


def test_params_defaults() -> None:
    params = PgBackRestLog.Params(path="x.log")
    assert params.timezone == "UTC"
    assert params.stanza is None
    assert params.archive_timeout_seconds == 60


def test_params_reject_negative_timeout() -> None:
    with pytest.raises(ValidationError):
        PgBackRestLog.Params(path="x.log", archive_timeout_seconds=-1)


def test_params_reject_string_timeout() -> None:
    with pytest.raises(ValidationError):
        PgBackRestLog.Params(path="x.log", archive_timeout_seconds="60")


def test_params_reject_unknown_key() -> None:
    with pytest.raises(ValidationError):
        PgBackRestLog.Params(path="x.log", stanzas="main")


def test_fact_names_unique() -> None:
    names = PgBackRestLog.fact_names()
    assert len(names) == len(set(names))


def test_entry_point_loads_collector() -> None:
    (entry,) = entry_points(group="assay.collectors", name="pgbackrest.log")
    assert entry.load() is PgBackRestLog
    assert PgBackRestLog.name == "pgbackrest.log"
