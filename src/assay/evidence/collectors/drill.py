"""Collector for restore drill records: measured recovery time and verified data.

`scripts/restore_drill.py` backs up a throw-away PostgreSQL cluster with
pgBackRest, stops it, restores the backup into a new data directory and checks
that the rows written after the backup came back through WAL replay. It writes
one JSON record per drill (`restore-drill.json`), format version 1:

    format                    "assay-restore-drill"
    version                   1
    tool, tool_version        "pgbackrest" and its version ("2.45"), or null if unknown
    postgres_version          server version ("15.18 (Debian 15.18-0+deb12u1)"), or null
    stanza                    pgBackRest stanza of the drill
    backup_label              label of the restored full backup, or null
    started_at                when the drill began to stop the primary (t0)
    restore_command_ended_at  when `pgbackrest restore` returned
    ready_at                  when the restored server accepted connections on
                              127.0.0.1, had left recovery and held the expected data
    restore_command_seconds   duration of `pgbackrest restore`
    rto_seconds               ready_at - started_at
    data_verified             true when the row count and the marker row matched
    rows_expected, rows_found rows written, and rows found after the restore (or null)
    error                     optional: why the drill failed, or null
    steps                     [{"step", "started_at", "ended_at", "exit_code"}] in run order
    logs                      the drill's pgBackRest and PostgreSQL logs, as file names
                              relative to the record's folder

Instants are RFC 3339 strings and durations are seconds as JSON numbers.
backup_label, the fields from started_at to rto_seconds, and rows_found are
null when the drill failed before reaching them. A step with a non-zero
exit_code failed. A record with data_verified false fails the control with
"restore drill did not verify the data: STEP failed (ERROR)".

`rto_seconds` runs until PostgreSQL accepts connections after WAL replay and
promotion and the data is checked, not until the restore command ends, so it
is always at least `restore_command_seconds`. The collector checks that the
record agrees with itself: rto_seconds must equal ready_at - started_at within
1 ms, the restore command must lie between started_at and ready_at, a verified
drill must have every field and no failed step, and a failed drill must name
its failed step. A hand-edited record that breaks one of these rules raises
CollectorError naming the field.

`path` may be a glob matching several records. All of them are checked and
counted in `drills`, and the newest drill, by ready_at or for a failed drill
by the end of its last step, gives the other facts and `observed_at`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from assay.errors import CollectorError
from assay.evidence.collectors.base import (
    Collected,
    CollectContext,
    Collector,
    Fact,
    PathParams,
    read_input_bytes,
    relative_name,
    resolve_input,
)
from assay.evidence.collectors.jsonload import load_strict
from assay.timeutil import format_instant, parse_instant

RECORD_FORMAT = "assay-restore-drill"
RECORD_VERSION = 1
# A record from scripts/restore_drill.py lists fourteen steps and six logs in
# about 3 KB, so this limit leaves ample room.
MAX_RECORD_BYTES = 1024 * 1024
# The drill script derives every duration from the two instants it writes, so
# only rounding separates them. One millisecond leaves room for a record
# written by another tool that rounds to milliseconds.
TOLERANCE_SECONDS = 0.001
# Fields that a drill with data_verified true must have.
VERIFIED_FIELDS = ("backup_label", "started_at", "restore_command_ended_at", "ready_at",
                   "restore_command_seconds", "rto_seconds", "rows_found")
# Wording for pydantic error types, as "expected ...".
EXPECTED_BY_ERROR = {
    "float_type": "a number",
    "int_type": "an integer",
    "bool_type": "true or false",
    "string_type": "a string",
    "list_type": "an array",
    "model_type": "an object",
    "dict_type": "an object",
    "greater_than_equal": "a number >= 0",
    "string_too_short": "a non-empty string",
}


def _describe(value: Any) -> str:
    if value is None or isinstance(value, (bool, int, float)):
        return json.dumps(value)
    if isinstance(value, str):
        return f"the string {value[:40]!r}"
    return "an array" if isinstance(value, list) else "an object"


def _instant(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError(f"expected an RFC 3339 timestamp string, got {_describe(value)}")
    return parse_instant(value)


Instant = Annotated[datetime, BeforeValidator(_instant)]
Seconds = Annotated[float, Field(ge=0)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class DrillStep(_Model):
    """One step of a drill as the script ran it."""

    step: str = Field(min_length=1)
    started_at: Instant
    ended_at: Instant
    exit_code: int


class DrillRecord(_Model):
    """A version 1 drill record. The module docstring describes each field."""

    format: str
    version: int
    tool: str
    tool_version: str | None
    postgres_version: str | None
    stanza: str
    backup_label: str | None
    started_at: Instant | None
    restore_command_ended_at: Instant | None
    ready_at: Instant | None
    restore_command_seconds: Seconds | None
    rto_seconds: Seconds | None
    data_verified: bool
    rows_expected: int = Field(ge=0)
    rows_found: int | None = Field(ge=0)
    error: str | None = None
    steps: list[DrillStep]
    logs: list[str]

    def failed_steps(self) -> list[str]:
        return [step.step for step in self.steps if step.exit_code != 0]

    def ended_at(self) -> datetime:
        """Return ready_at, or for a drill that never got ready the end of its last step."""
        if self.ready_at is not None:
            return self.ready_at
        # A record without ready_at has a failed step (checked on loading), so steps is not empty.
        return max(step.ended_at for step in self.steps)


class RestoreDrillParams(PathParams):
    """Parameters of the drill.restore collector."""

    path: str = Field(description="Drill record (restore-drill.json) relative to the workspace, "
                                  "or a glob matching several; the newest drill gives the facts.")


class RestoreDrill(Collector):
    """Recovery time and data check of the newest restore drill."""

    name = "drill.restore"
    version = "1"
    summary = ("Measured recovery time (RTO) and verified data of a PostgreSQL restore drill "
               "run by scripts/restore_drill.py.")
    Params = RestoreDrillParams
    facts = (
        Fact(name="rto_seconds", type="number", unit="s", description="Recovery time of the "
             "newest drill: from stopping the primary until the restored server accepted "
             "connections after WAL replay and promotion and held the expected rows. Not the "
             "duration of the restore command, which is only part of it."),
        Fact(name="restore_command_seconds", type="number", unit="s",
             description="Duration of the `pgbackrest restore` command of the newest drill."),
        Fact(name="data_verified", type="bool", description="True when the newest drill found "
             "every row and the marker row written after the backup, so WAL replay worked."),
        Fact(name="drill_started_at", type="timestamp",
             description="When the newest drill began to stop the primary (start of the RTO)."),
        Fact(name="drill_age_seconds", type="number", unit="s", description="The evaluation "
             "time (now) minus the newest drill's ready_at, in seconds (int when whole, "
             "else float)."),
        Fact(name="drills", type="int", description="Number of drill records that path matches."),
        Fact(name="failed_steps", type="list",
             description="Names of the newest drill's steps that exited non-zero."),
        Fact(name="tool_version", type="str", description="pgBackRest version of the drill."),
        Fact(name="postgres_version", type="str",
             description="PostgreSQL version of the drill's servers."),
    )

    def collect(self, params: RestoreDrillParams, context: CollectContext) -> Collected:
        """Read every record that `params.path` matches and return the newest drill's facts."""
        files = resolve_input(context.workspace, params.path)
        drills = [_load(context.workspace, path) for path in files]
        # Files come sorted by name, so of two drills that ended at the same
        # instant the one with the later name wins.
        ranked = max(enumerate(drills), key=lambda item: (item[1].record.ended_at(), item[0]))
        newest = ranked[1]
        result = _facts(newest, len(drills), context)
        result.artifacts += [drill.path for drill in drills if drill is not newest]
        return result


@dataclass
class _Drill:
    path: Path
    display: str
    record: DrillRecord


def _load(workspace: Path, path: Path) -> _Drill:
    """Parse one record and check that its fields agree.

    Raises CollectorError naming the file and the field at fault.
    """
    display = relative_name(workspace, path)
    document = load_strict(
        read_input_bytes(path, display, MAX_RECORD_BYTES), display,
        expected="a restore drill record, the JSON object that scripts/restore_drill.py writes",
    )
    if not isinstance(document, dict):
        raise CollectorError(f"expected a JSON object (a restore drill record), got "
                             f"{_describe(document)}", path=display)
    if document.get("format") != RECORD_FORMAT:
        raise CollectorError(
            f'expected "{RECORD_FORMAT}", got {_describe(document.get("format"))}; this '
            "collector reads the record that scripts/restore_drill.py writes",
            path=display, location="format")
    version = document.get("version")
    if type(version) is not int or version != RECORD_VERSION:
        raise CollectorError(f"unsupported version {_describe(version)}; this collector reads "
                             f"version {RECORD_VERSION}", path=display, location="version")
    try:
        record = DrillRecord.model_validate(document)
    except ValidationError as exc:
        location, message = _explain(exc)
        raise CollectorError(message, path=display, location=location) from exc
    problem = _inconsistency(record)
    if problem is not None:
        raise CollectorError(problem[1], path=display, location=problem[0])
    _check_log_names(record, display)
    return _Drill(path, display, record)


def _json_path(location: tuple[int | str, ...]) -> str:
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        elif path:
            path += f".{part}"
        else:
            path = str(part)
    return path


def _explain_one(error: Any) -> str:
    kind = error["type"]
    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden":
        return f"unknown key; a version {RECORD_VERSION} drill record has no such field"
    if kind == "value_error":
        return str(error["ctx"]["error"])
    expected = EXPECTED_BY_ERROR.get(kind)
    if expected is None:
        return f"{error['msg']}, got {_describe(error['input'])}"
    return f"expected {expected}, got {_describe(error['input'])}"


def _explain(exc: ValidationError) -> tuple[str, str]:
    """Return the JSON path of the first problem and a message naming every problem."""
    errors = exc.errors()
    first = errors[0]
    message = _explain_one(first)
    if len(errors) > 1:
        others = "; ".join(f"{_json_path(e['loc'])}: {_explain_one(e)}" for e in errors[1:6])
        more = f" and {len(errors) - 6} more" if len(errors) > 6 else ""
        message += f" (also {others}{more})"
    return _json_path(first["loc"]), message


def _inconsistency(record: DrillRecord) -> tuple[str, str] | None:
    """Return (field, message) for the first rule of the module docstring the record breaks."""
    for index, step in enumerate(record.steps):
        if step.ended_at < step.started_at:
            return f"steps[{index}].ended_at", (
                f"step {step.step!r} ended at {format_instant(step.ended_at)}, before it started "
                f"at {format_instant(step.started_at)}")
    pairs = (("ready_at", "rto_seconds"), ("restore_command_ended_at", "restore_command_seconds"))
    for instant, seconds in pairs:
        if getattr(record, instant) is None and getattr(record, seconds) is not None:
            return instant, f"is null while {seconds} is set; a record sets both or neither"
        if getattr(record, seconds) is None and getattr(record, instant) is not None:
            return seconds, f"is null while {instant} is set; a record sets both or neither"
    if record.ready_at is not None and record.started_at is None:
        return "started_at", "is null while ready_at is set; rto_seconds starts at started_at"

    if record.data_verified:
        problem = _verified_inconsistency(record)
    elif not record.failed_steps():
        problem = ("data_verified", "is false, but no step has a non-zero exit_code, so the "
                                    "record does not say which step failed")
    else:
        problem = None
    return problem or _timing_inconsistency(record)


def _verified_inconsistency(record: DrillRecord) -> tuple[str, str] | None:
    for name in VERIFIED_FIELDS:
        if getattr(record, name) is None:
            return name, "is null, but data_verified is true; a verified drill records it"
    if record.rows_found != record.rows_expected:
        return "rows_found", (f"is {record.rows_found}, but rows_expected is "
                              f"{record.rows_expected} and data_verified is true")
    for index, step in enumerate(record.steps):
        if step.exit_code != 0:
            return f"steps[{index}].exit_code", (
                f"step {step.step!r} exited with status {step.exit_code}, but data_verified "
                "is true")
    return None


def _timing_inconsistency(record: DrillRecord) -> tuple[str, str] | None:
    # Durations compare as float seconds, because a hand-edited duration such
    # as 1e300 does not fit in a timedelta.
    started, ready = record.started_at, record.ready_at
    rto, restore_seconds = record.rto_seconds, record.restore_command_seconds
    if rto is not None and started is not None and ready is not None:
        measured = (ready - started).total_seconds()
        if abs(rto - measured) > TOLERANCE_SECONDS:
            return "rto_seconds", (
                f"is {rto}, but ready_at - started_at is {measured} s; "
                "the two must agree within 1 ms")
        if restore_seconds is not None and rto < restore_seconds:
            return "rto_seconds", (
                f"is {rto}, less than restore_command_seconds {restore_seconds}; the restore "
                "command runs inside the recovery time")
    ended = record.restore_command_ended_at
    if ended is not None and restore_seconds is not None:
        if started is None:
            return "started_at", "is null while restore_command_ended_at is set"
        available = (ended - started).total_seconds()
        if restore_seconds > available + TOLERANCE_SECONDS:
            return "restore_command_seconds", (
                f"is {restore_seconds}, but restore_command_ended_at is only {available} s "
                f"after started_at, so the restore command would have started before the drill")
        if ready is not None and ready < ended:
            return "ready_at", (f"is {format_instant(ready)}, before restore_command_ended_at "
                                f"{format_instant(ended)}")
    return None


def _check_log_names(record: DrillRecord, display: str) -> None:
    for index, name in enumerate(record.logs):
        pure = PurePosixPath(name)
        if not name or pure.is_absolute() or ".." in pure.parts or "\\" in name:
            raise CollectorError(
                f"log name {name!r} must be a path relative to the record's folder, "
                "with forward slashes and without '..'", path=display, location=f"logs[{index}]")


def _log_artifacts(drill: _Drill, workspace: Path, warnings: list[str]) -> list[Path]:
    """Return the newest drill's log files, with a warning for each one that is missing."""
    root = workspace.resolve()
    found: list[Path] = []
    for name in drill.record.logs:
        log = (drill.path.parent / name).resolve()
        if not log.is_relative_to(root):
            raise CollectorError(f"log {name!r} resolves outside the workspace; keep the drill's "
                                 "logs inside it", path=drill.display, location="logs")
        if log.is_file():
            found.append(log)
        else:
            warnings.append(f"log {name!r} listed in {drill.display} does not exist")
    return found


def _seconds(delta: timedelta) -> int | float:
    micros = delta // timedelta(microseconds=1)
    whole, fraction = divmod(micros, 1_000_000)
    return whole if fraction == 0 else micros / 1_000_000


def _facts(drill: _Drill, count: int, context: CollectContext) -> Collected:
    """Build the facts of the newest drill, whose record and logs are the artifacts.

    `count` is the number of records that the path matched.
    """
    record = drill.record
    failed = record.failed_steps()
    facts: dict[str, Any] = {
        "data_verified": record.data_verified,
        "drills": count,
        "failed_steps": failed,
    }
    result = Collected(facts=facts, artifacts=[drill.path], observed_at=record.ended_at())
    result.artifacts += _log_artifacts(drill, context.workspace, result.warnings)

    if failed:
        reason = f"the restore drill in {drill.display} failed at step {failed[0]}"
    else:
        reason = f"the restore drill in {drill.display} does not record it"
    optional = {
        "rto_seconds": record.rto_seconds,
        "restore_command_seconds": record.restore_command_seconds,
        "drill_started_at": format_instant(record.started_at) if record.started_at else None,
        "drill_age_seconds": _seconds(context.now - record.ready_at) if record.ready_at else None,
        "tool_version": record.tool_version,
        "postgres_version": record.postgres_version,
    }
    for name, value in optional.items():
        if value is None:
            result.absent[name] = reason
        else:
            facts[name] = value

    if not record.data_verified:
        detail = f" ({record.error})" if record.error else ""
        result.failures.append(
            f"restore drill did not verify the data: {', '.join(failed)} failed{detail}")
    if record.ready_at is not None and record.ready_at > context.now:
        result.warnings.append(
            f"the restore drill in {drill.display} was ready at {format_instant(record.ready_at)}, "
            f"after the evaluation time {format_instant(context.now)}, so its age is negative")
    return result
