"""Collector for pgBackRest log files: command runs, their results and the WAL archive RPO.

pgBackRest writes one log file per stanza and command (`corpus-backup.log`,
`corpus-archive-push-async.log`, ...). Each line reads
`YYYY-MM-DD HH:MM:SS.mmm PNN LEVEL: message` in the server's local time
without an offset, so the `timezone` parameter names the zone to convert from.
A message longer than one line continues on the following lines, indented
past the prefix. In pgBackRest 2.45 logs the main process (P00) writes a begin
and an end line around every command run:

    ... P00   INFO: backup command begin 2.45: --stanza=corpus --type=full ...
    ... P00  ERROR: [082]: WAL segment ... was not archived before the 10000ms timeout
    ... P00   INFO: backup command end: aborted with exception [082]

Each file is parsed on its own and the runs of all matched files are merged.
A begin line while a run of the same file is still open closes that run as
"unfinished", and so does the end of the file. Only P00 begin and end lines
frame runs, because helper processes (P01, ...) write into the same file.

WAL archiving is read from `archive-push` runs (one WAL file each, the file
PostgreSQL's archive_command passed) and from `archive-push:async` runs (a
"pushed WAL file '...' to the archive" line per file). The recovery point
rule is stated in the description of the `rpo_seconds` fact.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from assay.evidence.collectors.base import (
    Collected,
    CollectContext,
    Collector,
    CollectorParams,
    Fact,
    read_input_bytes,
    relative_name,
    resolve_input,
)
from assay.evidence.collectors.jsonload import decode_text
from assay.timeutil import format_instant

# A log line: local timestamp with milliseconds, process id, level and message.
LOG_LINE = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2}) (?P<time>\d{2}:\d{2}:\d{2}\.\d{3}) "
    r"P(?P<process>\d{2,}) +(?P<level>ASSERT|ERROR|WARN|INFO|DETAIL|DEBUG|TRACE): ?(?P<message>.*)"
)
# pgBackRest writes this banner when a process opens the log file.
PROCESS_START = re.compile(r"-+PROCESS START-+")
COMMAND_NAME = r"(?P<command>[a-z][a-z0-9-]*(?::[a-z]+)?)"
BEGIN = re.compile(COMMAND_NAME + r" command begin(?: (?P<version>\S+):)?(?P<arguments>.*)")
END = re.compile(COMMAND_NAME + r" command end: (?P<outcome>.*)")
COMPLETED = re.compile(r"completed successfully(?: \(\d+ms\))?")
ABORTED = re.compile(r"aborted with exception \[(?P<code>\d+)\]")
SIGNALED = re.compile(r"terminated on signal \[(?P<signal>[A-Z0-9]+)\]")
ERROR_CODE = re.compile(r"\[(?P<code>\d+)\]:")
# Command parameters come first on a begin line, in brackets: `[pg_wal/0000...]`.
PARAMETERS = re.compile(r"\s*\[(?P<parameters>[^\]]*)\]")
# Written by archive-push:async for each WAL file, and by archive-push ("... asynchronously").
PUSHED = re.compile(r"pushed WAL file '(?P<file>[^']+)' to the archive")
# Written by archive-push:async (pgBackRest 2.x C code) when one WAL file failed.
PUSH_WARNING = re.compile(r"could not push WAL file '(?P<file>[^']+)' to the archive")

ARCHIVE_PUSH = "archive-push"
ARCHIVE_PUSH_ASYNC = "archive-push:async"
DEFAULT_ARCHIVE_TIMEOUT = 60
# The largest archive_timeout PostgreSQL accepts (INT_MAX / 2).
MAX_ARCHIVE_TIMEOUT = 1073741823

_RPO_FACTS = ("rpo_seconds", "rpo_window_start", "rpo_window_end")
_GAP_FACTS = ("rpo_max_gap_seconds", "rpo_gap_start", "rpo_gap_end")


class PgBackRestLogParams(CollectorParams):
    """Parameters of the pgbackrest.log collector."""

    path: str = Field(description="pgBackRest log file or glob, relative to the workspace. "
                      "Every matched file is read and their runs are merged, for example the "
                      "backup, archive-push-async and expire logs of one stanza.")
    timezone: str = Field(default="UTC", min_length=1, description="IANA time zone name (such "
                          "as Europe/Berlin) of the server that wrote the logs. pgBackRest "
                          "writes local time without an offset, and this zone converts it to "
                          "UTC.")
    stanza: str | None = Field(default=None, min_length=1, description="Count only runs whose "
                               "begin line has this --stanza option. By default every run "
                               "counts.")
    archive_timeout_seconds: int = Field(
        default=DEFAULT_ARCHIVE_TIMEOUT, ge=0, le=MAX_ARCHIVE_TIMEOUT,
        description="PostgreSQL's archive_timeout setting of the server, in seconds. It bounds "
                    "the data at risk in an interval without failed WAL pushes (see "
                    "rpo_seconds). 0 means archive_timeout is disabled, so no bound applies.")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {name!r}; use an IANA name such as "
                             "'Europe/Berlin' or 'UTC'") from exc
        return name


RPO_RULE = (
    "Measured recovery point: the largest number of seconds that written data may have waited "
    "without reaching the archive, judged from the log. The log is cut into intervals. There is "
    "one between each two consecutive successful WAL pushes. When pushes failed before the "
    "first successful push, one more runs from the first failure to that push. When pushes "
    "failed after the last successful push, one more runs from that push to the last failure. "
    "An interval that contains a failed push (its end included) counts with its full length. "
    "An interval without a failed push counts as at most archive_timeout_seconds. The reason is "
    "that PostgreSQL switches to a new WAL segment at the latest archive_timeout after a write "
    "and then calls archive_command, so when no push failed, no written data waited longer than "
    "that plus the time of the push itself. A longer interval without a failed push means the "
    "database wrote nothing. With archive_timeout_seconds 0 every interval counts in full. "
    "rpo_seconds is the largest value over all intervals. A failed push is an aborted "
    "archive-push or archive-push:async run, an archive-push run whose log stops before the "
    "next run begins, or a 'could not push WAL file' warning. Absent without a successful push, "
    "or with one successful push and no failed push. Caution: if archive_command stops calling "
    "pgBackRest, nothing is logged, so such a period looks idle here."
)


class PgBackRestLog(Collector):
    """Command runs, backup results and the measured WAL archive RPO from pgBackRest logs."""

    name = "pgbackrest.log"
    version = "1"
    summary = ("Command runs, backup results and the WAL archive recovery point from "
               "pgBackRest log files.")
    Params = PgBackRestLogParams
    facts = (
        Fact(name="runs", type="list", description="Every command run, sorted by start. Each is "
             "a map: command, file, line (of the begin line), version, start, end, "
             "duration_seconds (end minus start, to the millisecond), result (completed, "
             "aborted or unfinished when no end line follows), error_code (the exception "
             "number of an aborted run), error_message (the whole ERROR line with its "
             "continuation lines, joined by newlines), signal (of a run terminated on a "
             "signal), type (the --type option) and stanza (the --stanza option). Times are "
             "RFC 3339 UTC. A key that does not apply is left out."),
        Fact(name="commands", type="map", description="Map from command name (backup, expire, "
             "archive-push:async, ...) to {runs, completed, aborted, unfinished} counts."),
        Fact(name="backups_completed", type="int",
             description="Number of backup runs that completed."),
        Fact(name="backups_aborted", type="int", description="Number of backup runs that aborted."),
        Fact(name="error_codes", type="list", description="Distinct exception numbers of "
             "aborted runs of any command, ascending (82 for [082])."),
        Fact(name="last_backup_result", type="str", description="Result of the backup run "
             "that started last: completed, aborted or unfinished."),
        Fact(name="last_successful_backup_end", type="timestamp", description="End time of "
             "the latest completed backup run, RFC 3339 UTC."),
        Fact(name="last_successful_backup_age_seconds", type="float", unit="s",
             description="The evaluation time (now) minus last_successful_backup_end."),
        Fact(name="archive_push_completed", type="int", description="Number of archive-push "
             "and archive-push:async runs that completed."),
        Fact(name="archive_push_failed", type="int", description="Number of archive-push and "
             "archive-push:async runs that aborted."),
        Fact(name="archive_pushes_ok", type="int", description="Number of WAL files pushed to the "
             "archive: one per completed archive-push run and one per \"pushed WAL file\" line "
             "of archive-push:async runs. A file named by several runs counts once, at its "
             "earliest time, so the archive-push and archive-push-async logs of one server "
             "can be merged."),
        Fact(name="archive_pushes_failed", type="int", description="Number of failed WAL pushes as "
             "rpo_seconds counts them: aborted archive-push and archive-push:async runs, "
             "archive-push runs whose log stops before the next run begins, and \"could not "
             "push WAL file\" warnings."),
        Fact(name="archive_timeout_seconds", type="int", unit="s", description="PostgreSQL's "
             "archive_timeout used as the bound in rpo_seconds, from the "
             "archive_timeout_seconds parameter (default 60), because pgBackRest logs do not "
             "record it. pgBackRest's own --archive-timeout option on begin lines is a "
             "different setting (how long a command waits for a WAL file to reach the "
             "archive) and is not used."),
        Fact(name="rpo_seconds", type="float", unit="s", description=RPO_RULE),
        Fact(name="rpo_window_start", type="timestamp", description="Start of the interval "
             "that gives rpo_seconds (the earliest on a tie), RFC 3339 UTC."),
        Fact(name="rpo_window_end", type="timestamp",
             description="End of the interval that gives rpo_seconds, RFC 3339 UTC."),
        Fact(name="rpo_max_gap_seconds", type="float", unit="s", description="Largest time "
             "between two consecutive successful WAL pushes, failed or not, with no bound "
             "applied. Absent with fewer than two successful pushes."),
        Fact(name="rpo_gap_start", type="timestamp", description="Successful push that opens "
             "the gap of rpo_max_gap_seconds (the earliest on a tie), RFC 3339 UTC."),
        Fact(name="rpo_gap_end", type="timestamp", description="Successful push that closes "
             "the gap of rpo_max_gap_seconds, RFC 3339 UTC."),
        Fact(name="last_push_age_seconds", type="float", unit="s", description="The "
             "evaluation time (now) minus the last successful WAL push: the data at risk if "
             "the server were lost now, unless it wrote nothing since that push."),
    )  # fmt: skip

    def collect(self, params: PgBackRestLogParams, context: CollectContext) -> Collected:
        """Parse every matched log file, merge their runs and compute the facts."""
        files = resolve_input(context.workspace, params.path)
        zone = ZoneInfo(params.timezone)
        logs: list[_FileLog] = []
        for file in files:
            display = relative_name(context.workspace, file)
            text = decode_text(read_input_bytes(file, display), display)
            logs.append(_parse_log(text, display, zone))
        return _summarize(logs, params, context.now, files)


@dataclass
class _Run:
    """One command run, from its begin line to its end line or the end of its file."""

    command: str
    file: str
    line: int
    version: str | None
    start: datetime
    options: dict[str, str | None]
    parameters: list[str]
    last_time: datetime
    end: datetime | None = None
    result: str = "unfinished"
    error_code: int | None = None
    signal: str | None = None
    end_outcome: str | None = None
    # True when another begin line followed in the same file, so the process
    # stopped without logging its end. False when the file ends first.
    superseded: bool = False
    errors: list[list[str]] = field(default_factory=list)
    pushed: list[tuple[str, datetime]] = field(default_factory=list)
    push_warnings: list[datetime] = field(default_factory=list)

    @property
    def stanza(self) -> str | None:
        return self.options.get("stanza")

    def error_message(self) -> str | None:
        """Return the ERROR message that matches the end code, else the last one."""
        messages = ["\n".join(lines) for lines in self.errors]
        for text in reversed(messages):
            code = ERROR_CODE.search(text)
            if code is not None and int(code["code"]) == self.error_code:
                return text
        return messages[-1] if messages else None


@dataclass
class _FileLog:
    """The runs of one file and the lines that could not be read."""

    display: str
    runs: list[_Run] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    stray_ends: list[int] = field(default_factory=list)
    unknown_outcomes: list[str] = field(default_factory=list)


def _local_to_utc(local: datetime, zone: ZoneInfo, previous: datetime | None) -> datetime:
    """Convert a local log time to UTC.

    In the hour that repeats when daylight saving time ends, a local time
    names two instants. The earlier one is taken unless it lies before the
    previous line of the file, because log lines are written in time order.
    """
    first = local.replace(tzinfo=zone).astimezone(UTC)
    if previous is not None and first < previous:
        second = local.replace(tzinfo=zone, fold=1).astimezone(UTC)
        if second >= previous:
            return second
    return first


def _parse_arguments(text: str) -> tuple[list[str], dict[str, str | None]]:
    """Split the part of a begin line after the version into parameters and options."""
    parameters: list[str] = []
    bracket = PARAMETERS.match(text)
    if bracket is not None:
        parameters = [item.strip() for item in bracket["parameters"].split(",") if item.strip()]
        text = text[bracket.end():]
    # pgBackRest quotes option values that contain a space: --db-include="a b".
    try:
        tokens = shlex.split(text)
    except ValueError:
        tokens = text.split()
    options: dict[str, str | None] = {}
    for token in tokens:
        if token.startswith("--"):
            name, sep, value = token[2:].partition("=")
            options[name] = value if sep else None
    return parameters, options


def _finish(run: _Run, at: datetime, outcome: str, log: _FileLog, number: int) -> None:
    run.end = at
    run.last_time = at
    if COMPLETED.fullmatch(outcome):
        run.result = "completed"
        return
    run.result = "aborted"
    if (aborted := ABORTED.fullmatch(outcome)) is not None:
        run.error_code = int(aborted["code"])
    elif (signaled := SIGNALED.fullmatch(outcome)) is not None:
        run.signal = signaled["signal"]
    else:
        run.end_outcome = outcome
        log.unknown_outcomes.append(f"{log.display}:{number}: unrecognized command end "
                                    f"{outcome[:80]!r}, counted as aborted")


def _parse_log(text: str, display: str, zone: ZoneInfo) -> _FileLog:
    """Read the command runs of one decoded log file."""
    log = _FileLog(display)
    run: _Run | None = None
    # Lines of the last message of the open run, which continuation lines extend.
    message: list[str] | None = None
    previous: datetime | None = None

    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.rstrip("\r")
        if not line.strip():
            continue
        match = LOG_LINE.fullmatch(line)
        if match is None:
            if run is not None and message is not None and line[0] in " \t":
                message.append(line.strip())
            elif PROCESS_START.fullmatch(line.strip()):
                message = None
            else:
                log.skipped.append(number)
            continue
        try:
            local = datetime.fromisoformat(f"{match['date']}T{match['time']}")
        except ValueError:
            log.skipped.append(number)
            continue
        instant = _local_to_utc(local, zone, previous)
        previous = instant
        level, body = match["level"], match["message"]

        if match["process"] == "00":
            if (begin := BEGIN.fullmatch(body)) is not None:
                if run is not None:
                    run.superseded = True
                parameters, options = _parse_arguments(begin["arguments"])
                run = _Run(begin["command"], display, number, begin["version"], instant,
                           options, parameters, instant)
                log.runs.append(run)
                message = []
                continue
            if (end := END.fullmatch(body)) is not None:
                if run is not None and run.command == end["command"]:
                    _finish(run, instant, end["outcome"], log, number)
                    run = None
                else:
                    log.stray_ends.append(number)
                message = None
                continue

        if run is None:
            message = None
            continue
        run.last_time = instant
        message = [f"{level}: {body}"]
        if level in ("ERROR", "ASSERT"):
            run.errors.append(message)
        if (pushed := PUSHED.match(body)) is not None:
            run.pushed.append((pushed["file"], instant))
        elif level == "WARN" and PUSH_WARNING.match(body) is not None:
            run.push_warnings.append(instant)
    return log


def _seconds(delta: timedelta) -> float:
    return (delta // timedelta(microseconds=1)) / 1_000_000


def _run_facts(run: _Run) -> dict[str, Any]:
    facts: dict[str, Any] = {"command": run.command, "file": run.file, "line": run.line}
    if run.version is not None:
        facts["version"] = run.version
    facts["start"] = format_instant(run.start)
    if run.end is not None:
        facts["end"] = format_instant(run.end)
        facts["duration_seconds"] = _seconds(run.end - run.start)
    facts["result"] = run.result
    if run.error_code is not None:
        facts["error_code"] = run.error_code
    message = run.error_message() or run.end_outcome
    if run.result == "aborted" and message is not None:
        facts["error_message"] = message
    if run.signal is not None:
        facts["signal"] = run.signal
    for option in ("type", "stanza"):
        value = run.options.get(option)
        if value is not None:
            facts[option] = value
    return facts


def _command_counts(runs: list[_Run]) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    for run in runs:
        entry = counts.setdefault(run.command,
                                  {"runs": 0, "completed": 0, "aborted": 0, "unfinished": 0})
        entry["runs"] += 1
        entry[run.result] += 1
    return dict(sorted(counts.items()))


def _wal_events(runs: list[_Run]) -> tuple[list[datetime], list[datetime]]:
    """Return the times of successful WAL pushes (one per WAL file) and of failed pushes."""
    first_push: dict[str, datetime] = {}
    unnamed: list[datetime] = []
    failures: list[datetime] = []

    def add_push(name: str | None, at: datetime) -> None:
        if name is None:
            unnamed.append(at)
        elif name not in first_push or at < first_push[name]:
            first_push[name] = at

    for run in runs:
        if run.command not in (ARCHIVE_PUSH, ARCHIVE_PUSH_ASYNC):
            continue
        if run.command == ARCHIVE_PUSH_ASYNC:
            for name, at in run.pushed:
                add_push(name, at)
        elif run.result == "completed" and run.end is not None:
            # archive-push takes one WAL file from archive_command, such as pg_wal/0000...
            name = run.pushed[0][0] if run.pushed else None
            if name is None and run.parameters:
                name = PurePosixPath(run.parameters[0]).name or None
            add_push(name, run.end)
        failures.extend(run.push_warnings)
        if run.result == "aborted" and run.end is not None:
            failures.append(run.end)
        elif run.result == "unfinished" and run.superseded:
            failures.append(run.last_time)
    return sorted([*first_push.values(), *unnamed]), sorted(failures)


@dataclass
class _Interval:
    start: datetime
    end: datetime
    failed: bool

    @property
    def length(self) -> float:
        return _seconds(self.end - self.start)


def _intervals(pushes: list[datetime], failures: list[datetime]) -> list[_Interval]:
    """Cut the log into the intervals the RPO rule judges (see RPO_RULE)."""
    intervals: list[_Interval] = []
    before = [at for at in failures if at <= pushes[0]]
    if before:
        intervals.append(_Interval(before[0], pushes[0], failed=True))
    for earlier, later in zip(pushes, pushes[1:]):
        failed = any(earlier < at <= later for at in failures)
        intervals.append(_Interval(earlier, later, failed))
    after = [at for at in failures if at > pushes[-1]]
    if after:
        intervals.append(_Interval(pushes[-1], after[-1], failed=True))
    return intervals


def _recovery_point(pushes: list[datetime], failures: list[datetime], timeout: int,
                    logs: str) -> tuple[dict[str, Any], dict[str, str]]:
    """Compute the rpo_* facts, and the reason for each one the log cannot provide."""
    facts: dict[str, Any] = {}
    absent: dict[str, str] = {}
    if not pushes:
        reason = f"no successful WAL push in {logs}"
        if failures:
            reason += f" ({len(failures)} failed)"
        absent.update(dict.fromkeys((*_RPO_FACTS, *_GAP_FACTS, "last_push_age_seconds"), reason))
        return facts, absent

    # Pushes are already sorted, so max() keeps the earliest gap on a tie.
    if len(pushes) >= 2:
        start, end = max(zip(pushes, pushes[1:]), key=lambda pair: pair[1] - pair[0])
        facts["rpo_max_gap_seconds"] = _seconds(end - start)
        facts["rpo_gap_start"] = format_instant(start)
        facts["rpo_gap_end"] = format_instant(end)
    else:
        absent.update(dict.fromkeys(_GAP_FACTS, f"only one successful WAL push in {logs}"))

    intervals = _intervals(pushes, failures)
    if not intervals:
        absent.update(dict.fromkeys(_RPO_FACTS, f"only one successful WAL push and no failed "
                                                f"push in {logs}, so no interval to measure"))
        return facts, absent

    def at_risk(interval: _Interval) -> float:
        if interval.failed or timeout == 0:
            return interval.length
        return min(interval.length, float(timeout))

    worst = max(intervals, key=at_risk)
    facts["rpo_seconds"] = at_risk(worst)
    facts["rpo_window_start"] = format_instant(worst.start)
    facts["rpo_window_end"] = format_instant(worst.end)
    return facts, absent


def _select_stanza(runs: list[_Run], stanza: str | None, logs: str) -> tuple[list[_Run], list[str]]:
    """Keep the runs of `stanza`, and return the failure when none is left."""
    if stanza is None or not runs:
        return runs, []
    selected = [run for run in runs if run.stanza == stanza]
    if selected:
        return selected, []
    present = sorted({run.stanza for run in runs if run.stanza is not None})
    listed = ", ".join(present) if present else "none"
    return [], [f"no pgBackRest command runs for stanza {stanza!r} in {logs}; "
                f"stanzas present: {listed}"]


def _backup_facts(
    runs: list[_Run], now: datetime, logs: str
) -> tuple[dict[str, Any], dict[str, str], list[str]]:
    backups = [run for run in runs if run.command == "backup"]
    completed = [run for run in backups if run.result == "completed" and run.end is not None]
    facts: dict[str, Any] = {
        "backups_completed": len(completed),
        "backups_aborted": sum(run.result == "aborted" for run in backups),
    }
    absent: dict[str, str] = {}
    warnings: list[str] = []
    if backups:
        facts["last_backup_result"] = backups[-1].result
    else:
        absent["last_backup_result"] = f"no backup runs in {logs}"
    if completed:
        last_end = max(run.end for run in completed if run.end is not None)
        facts["last_successful_backup_end"] = format_instant(last_end)
        facts["last_successful_backup_age_seconds"] = _seconds(now - last_end)
        if last_end > now:
            warnings.append(f"the last successful backup ended at {format_instant(last_end)}, "
                            f"after the evaluation time {format_instant(now)}, so its age "
                            "is negative")
    else:
        reason = f"no completed backup run in {logs}"
        if backups:
            reason += f" ({len(backups)} backup runs, none completed)"
        absent["last_successful_backup_end"] = reason
        absent["last_successful_backup_age_seconds"] = reason
    return facts, absent, warnings


def _file_warnings(logs: Iterable[_FileLog], several: bool) -> list[str]:
    warnings: list[str] = []
    for log in logs:
        if log.skipped:
            count = len(log.skipped)
            noun = "line" if count == 1 else "lines"
            warnings.append(f"{log.display}: skipped {count} {noun} that are not pgBackRest log "
                            f"lines (first at line {log.skipped[0]})")
        if log.stray_ends:
            count = len(log.stray_ends)
            noun = "line matches" if count == 1 else "lines match"
            warnings.append(f"{log.display}: {count} command end {noun} no open run (first at "
                            f"line {log.stray_ends[0]}), so the log may start in the middle "
                            "of a run")
        warnings.extend(log.unknown_outcomes)
        if several and not log.runs:
            warnings.append(f"no pgBackRest command runs in {log.display}")
    return warnings


def _summarize(logs: list[_FileLog], params: PgBackRestLogParams, now: datetime,
               files: list[Path]) -> Collected:
    """Build the facts from the runs of every file."""
    names = ", ".join(log.display for log in logs)
    all_runs = sorted((run for log in logs for run in log.runs),
                      key=lambda run: (run.start, run.file, run.line))
    failures: list[str] = [] if all_runs else [f"no pgBackRest command runs in {names}"]
    runs, stanza_failures = _select_stanza(all_runs, params.stanza, names)
    failures.extend(stanza_failures)

    facts: dict[str, Any] = {
        # NOTE: a log of weeks of archive-push runs contains one run per WAL file, so
        # this list can reach tens of thousands of entries.
        "runs": [_run_facts(run) for run in runs],
        "commands": _command_counts(runs),
    }
    backup_facts, absent, warnings = _backup_facts(runs, now, names)
    facts.update(backup_facts)
    facts["error_codes"] = sorted({run.error_code for run in runs if run.error_code is not None})

    pushing = [run for run in runs if run.command in (ARCHIVE_PUSH, ARCHIVE_PUSH_ASYNC)]
    facts["archive_push_completed"] = sum(run.result == "completed" for run in pushing)
    facts["archive_push_failed"] = sum(run.result == "aborted" for run in pushing)
    pushes, push_failures = _wal_events(runs)
    facts["archive_pushes_ok"] = len(pushes)
    facts["archive_pushes_failed"] = len(push_failures)
    facts["archive_timeout_seconds"] = params.archive_timeout_seconds
    rpo_facts, rpo_absent = _recovery_point(pushes, push_failures,
                                            params.archive_timeout_seconds, names)
    facts.update(rpo_facts)
    absent.update(rpo_absent)
    if pushes:
        facts["last_push_age_seconds"] = _seconds(now - pushes[-1])
        if pushes[-1] > now:
            warnings.append(f"the last successful WAL push was at {format_instant(pushes[-1])}, "
                            f"after the evaluation time {format_instant(now)}, so its age "
                            "is negative")

    warnings[:0] = _file_warnings(logs, several=len(logs) > 1)
    ends = [run.end for run in runs if run.end is not None]
    return Collected(facts=facts, artifacts=files, observed_at=max(ends) if ends else None,
                     absent=absent, failures=failures, warnings=warnings)
