"""Collector for pgAudit records in PostgreSQL server logs (csvlog, jsonlog or stderr).

pgAudit writes each audit record as a log message that starts with `AUDIT: `
and continues as one CSV row:

    AUDIT: SESSION|OBJECT,statement_id,substatement_id,class,command,
           object_type,object_name,statement,parameter[,rows]

The `rows` field is there when `pgaudit.log_rows` is on (pgAudit 1.7 and
later). A statement that contains a comma, a quote or a line break is quoted
as in RFC 4180, so the message is parsed with the csv module. The server log
around it has one of three formats, which `format` names. With `auto`, the
first line that is not blank decides: `{` starts jsonlog, a timestamp
followed by a comma starts csvlog, and any other line starts a stderr log.

* csvlog: one CSV row per message. PostgreSQL 13 writes 24 columns, 14 and
  later 26, and 12 and earlier 23. Quoted fields may span lines.
* jsonlog (PostgreSQL 15 and later): one JSON object per line.
* stderr: each message starts with the `log_line_prefix` text. PostgreSQL
  writes each further line of a message on a line that starts with a tab, so
  such lines are joined back with line breaks and that one tab removed.
  DETAIL, HINT, STATEMENT and CONTEXT lines are separate messages with the
  same prefix. The prefix needs %m, %t or %n for the times.

In every format the severities must be the English words (LOG, ERROR,
FATAL), as a server with lc_messages set to English or C writes them.

Times are read as PostgreSQL writes them (`2026-12-04 19:21:01.564 UTC`, in
`log_timezone`). The zone abbreviations UTC, UCT, GMT and Z and numeric
offsets such as +03 or -0330 are converted directly. Any other abbreviation
needs the `log_timezone` parameter.

Denied statements and failed logins come from the server's own ERROR and
FATAL messages, not from pgAudit. A statement that fails the table privilege
check has no AUDIT record: PostgreSQL 15 with pgAudit 1.7 writes only the
ERROR and its STATEMENT. A denied statement is an ERROR with SQLSTATE 42501
(insufficient_privilege). A failed login is a FATAL with SQLSTATE 28P01
(invalid_password) or 28000 (invalid_authorization_specification). A stderr
log without %e in its prefix has no SQLSTATE, so there the English message
texts decide.

Several files matched by `path` are read in the lexical order of their paths,
as the parts of one server's log. Files that start with the gzip magic bytes
are decompressed. Memory stays small on large logs. It grows with the number
of open sessions and ROLE records and with the number of distinct objects
read or written.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import chain
from pathlib import Path
from typing import IO, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from assay.errors import CollectorError
from assay.evidence.collectors.streams import MAX_STREAM_BYTES, read_stream
from assay.evidence.collectors.base import (
    fact as _fact,
    CollectContext,
    Collected,
    Collector,
    CollectorParams,
    relative_name,
    resolve_input,
)
from assay.timeutil import format_instant

try:
    import orjson
except ImportError:  # pragma: no cover - exercised only where orjson is missing
    orjson = None  # type: ignore[assignment]

# The log_line_prefix that Debian's pg_createcluster writes into the
# postgresql.conf it creates (postgresql-common 248, createcluster.conf).
# PostgreSQL's own default is '%m [%p] '.
DEBIAN_LOG_LINE_PREFIX = "%m [%p] %q%u@%d "

# The classes of pgaudit.log. by_class always has these keys.
AUDIT_CLASSES = ("READ", "WRITE", "FUNCTION", "ROLE", "DDL", "MISC", "MISC_SET")
AUDIT_MARK = "AUDIT: "
REDACTED = "<redacted>"
# The key of a message without a user name, as PostgreSQL writes %u then.
UNKNOWN_USER = "[unknown]"

# Column counts of csvlog rows: PostgreSQL 12 and earlier, 13, and 14 and later.
CSVLOG_COLUMNS = (23, 24, 26)
# Positions of the csvlog columns read here, which are the same in all three layouts.
_CSV_TIME, _CSV_USER, _CSV_DATABASE, _CSV_PID = 0, 1, 2, 3
_CSV_SESSION, _CSV_SEVERITY, _CSV_SQLSTATE, _CSV_MESSAGE = 5, 11, 12, 13

SQLSTATE_INSUFFICIENT_PRIVILEGE = "42501"
# invalid_authorization_specification and invalid_password.
SQLSTATES_FAILED_LOGIN = frozenset({"28000", "28P01"})

# English texts of the FATAL messages of failed logins, for stderr logs without
# %e: "password authentication failed for user", "no pg_hba.conf entry for
# host", "pg_hba.conf rejects connection for host", "role ... is not permitted
# to log in", and role "..." does not exist.
_FAILED_LOGIN_TEXT = re.compile(
    r'\w+ authentication failed for user "|no pg_hba\.conf entry for |'
    r'pg_hba\.conf rejects connection for |role ".*" (?:is not permitted to log in|does not exist)'
)
# The user a failed login names in its message.
_LOGIN_USER = re.compile(r'(?:user|role) "((?:[^"]|"")*)"')
_DENIED_TEXT = "permission denied"

# A PostgreSQL log time (%m or %t): date, time, optional milliseconds, zone.
_PG_TIME = re.compile(
    r"(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))? ([A-Za-z]+|[+-]\d{2}(?::?\d{2})?)"
)
_UTC_NAMES = frozenset({"UTC", "UCT", "GMT", "Z"})
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TIME_CACHE_LIMIT = 100_000

_BOM = b"\xef\xbb\xbf"
_CSVLOG_START = re.compile(rb"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)? [^,\s]+,")

LogFormat = Literal["auto", "csvlog", "jsonlog", "stderr"]


class PgAuditParams(CollectorParams):
    """Parameters of the pgaudit collector."""

    path: str = Field(
        description="PostgreSQL server log (plain or gzip), or a glob matching the parts of one "
        "server's log, relative to the workspace. Parts are read in the lexical order of their "
        "paths."
    )
    format: LogFormat = Field(
        default="auto",
        description="Log format: csvlog, jsonlog, stderr, or auto to detect it from the first "
        "line that is not blank.",
    )
    log_line_prefix: str = Field(
        default=DEBIAN_LOG_LINE_PREFIX,
        description="The server's log_line_prefix setting, for stderr logs. It must contain %m, "
        "%t or %n. The default is the one Debian's postgresql-common sets.",
    )
    log_timezone: str | None = Field(
        default=None,
        description="IANA name of the server's log_timezone (such as Europe/Berlin). Needed "
        "only when the log writes times with a zone abbreviation other than UTC or GMT.",
    )
    max_bytes: int = Field(
        default=MAX_STREAM_BYTES,
        gt=0,
        description="Largest input read, in bytes, summed over all parts "
        "(for gzip parts, the decompressed bytes).",
    )

    @field_validator("log_timezone")
    @classmethod
    def _known_zone(cls, name: str | None) -> str | None:
        if name is None:
            return None
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {name!r}; use an IANA name such as "
                             "'Europe/Berlin' or 'UTC'") from exc
        return name


class PgAudit(Collector):
    name = "pgaudit"
    version = "1"
    summary = "Read pgAudit records from PostgreSQL csvlog, jsonlog or stderr logs."
    Params = PgAuditParams
    facts = (
        _fact("records", "int", "records", "pgAudit records (AUDIT: messages), SESSION and "
              "OBJECT together. One statement may write several."),
        _fact("by_class", "map", None, "Map from pgAudit class (READ, WRITE, FUNCTION, ROLE, "
              "DDL, MISC, MISC_SET, and any other class found) to its number of records. The "
              "seven classes are always present."),
        _fact("ddl_statements", "int", "statements", "Statements with DDL records: records of "
              "one session with the same statement_id count once."),
        _fact("role_changes", "list", None, "Every ROLE record (GRANT, REVOKE, CREATE/ALTER/"
              "DROP ROLE), in log order, as {time, user, database, command, object_type, object, "
              "statement}. object is null when pgAudit names none. statement is \"<redacted>\" "
              "when it contains the text PASSWORD in any letter case."),
        _fact("reads_by_object", "map", None, "Map from object name to READ accesses: one per "
              "object and substatement, however many SESSION and OBJECT records name it. "
              "Records without an object name are not counted."),
        _fact("writes_by_object", "map", None, "Map from object name to WRITE accesses, "
              "counted as reads_by_object counts reads."),
        _fact("failed_logins", "int", "logins", "FATAL messages of failed logins: SQLSTATE "
              "28P01 or 28000, such as 'password authentication failed for user'. In stderr "
              "logs without %e in log_line_prefix, the English texts of those messages."),
        _fact("failed_logins_by_user", "map", None, "Map from the user a failed login named "
              "to its number of failed logins."),
        _fact("denied_statements", "int", "statements", "ERROR messages with SQLSTATE 42501 "
              "(insufficient_privilege), such as 'permission denied for table'. pgAudit writes "
              "no record of a statement that fails its privilege check. In stderr logs without "
              "%e in log_line_prefix, ERROR messages that start with 'permission denied'."),
        _fact("denied_by_user", "map", None, "Map from user to denied statements."),
        _fact("first_record_at", "timestamp", None, "Earliest pgAudit record time, RFC 3339 "
              "UTC."),
        _fact("last_record_at", "timestamp", None, "Latest pgAudit record time, RFC 3339 UTC, "
              "which is also the observation time."),
    )  # fmt: skip

    def collect(self, params: PgAuditParams, context: CollectContext) -> Collected:
        """Read every part of one server log and return the facts of its pgAudit records."""
        files = resolve_input(context.workspace, params.path)
        displays = [relative_name(context.workspace, file) for file in files]
        _check_total_size(files, displays, params.max_bytes, params.path)

        zone = ZoneInfo(params.log_timezone) if params.log_timezone else None
        audit = _AuditState()
        reader = _LogReader(params, _TimeParser(zone), audit)
        budget = params.max_bytes
        for file, display in zip(files, displays, strict=True):
            budget -= reader.read_file(file, display, budget)
        if reader.messages == 0:
            display = displays[0] if len(displays) == 1 else params.path
            raise CollectorError(
                "file is empty; expected a PostgreSQL server log (csvlog, jsonlog or stderr)",
                path=display,
            )
        return audit.result(files, params.path, reader.warnings())


def _check_total_size(files: list[Path], displays: list[str], limit: int, pattern: str) -> None:
    total = 0
    for file, display in zip(files, displays, strict=True):
        try:
            total += file.stat().st_size
        except OSError as exc:
            raise CollectorError(f"cannot read input: {exc.strerror}", path=display) from exc
    if total > limit:
        raise CollectorError(
            f"input is {total} bytes, over the max_bytes limit of {limit}; "
            "raise max_bytes to read it",
            path=pattern,
        )


# Times


class _TimeParser:
    """Convert PostgreSQL log times to aware UTC datetimes, caching whole seconds."""

    def __init__(self, zone: ZoneInfo | None) -> None:
        self.zone = zone
        self.cache: dict[str, datetime] = {}

    def parse(self, text: str) -> datetime:
        """Parse `YYYY-MM-DD HH:MM:SS[.fff] ZONE` or epoch seconds (%n); raise ValueError."""
        match = _PG_TIME.fullmatch(text)
        if match is None:
            return self._parse_epoch(text)
        date, clock, fraction, zone = match.groups()
        key = f"{date} {clock} {zone}"
        whole = self.cache.get(key)
        if whole is None:
            if len(self.cache) >= _TIME_CACHE_LIMIT:
                self.cache.clear()
            whole = self.cache[key] = self._convert(datetime.fromisoformat(f"{date}T{clock}"),
                                                    zone, text)
        if fraction is None:
            return whole
        return whole + timedelta(microseconds=int(fraction.ljust(6, "0")))

    def _convert(self, local: datetime, zone: str, text: str) -> datetime:
        if zone in _UTC_NAMES:
            return local.replace(tzinfo=UTC)
        if zone[0] in "+-":
            digits = zone[1:].replace(":", "").ljust(4, "0")
            offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
            sign = 1 if zone[0] == "+" else -1
            return (local - sign * offset).replace(tzinfo=UTC)
        if self.zone is None:
            raise ValueError(
                f"time {text!r} names the zone abbreviation {zone}, which is ambiguous; set the "
                "log_timezone parameter to the server's log_timezone (an IANA name such as "
                "Europe/Berlin), or set log_timezone = 'UTC' on the server"
            )
        # In the hour that repeats when daylight saving time ends, the
        # abbreviation distinguishes the two readings.
        for fold in (0, 1):
            aware = local.replace(tzinfo=self.zone, fold=fold)
            if aware.tzname() == zone:
                return aware.astimezone(UTC)
        raise ValueError(
            f"time {text!r} names the zone abbreviation {zone}, which log_timezone "
            f"{self.zone.key} does not use at that time"
        )

    @staticmethod
    def _parse_epoch(text: str) -> datetime:
        # Epoch seconds up to the year 9999 have at most 12 digits.
        if re.fullmatch(r"\d{1,12}(?:\.\d{1,6})?", text) is None:
            raise ValueError(f"not a PostgreSQL log time: {text!r}")
        seconds, _, fraction = text.partition(".")
        micros = int(seconds) * 1_000_000 + int(fraction.ljust(6, "0") or 0)
        return _EPOCH + timedelta(microseconds=micros)


# One log message, whatever the format


@dataclass(slots=True)
class _Message:
    """One server log message: where it starts and the fields the facts need."""

    line: int
    time: str | None
    user: str | None
    database: str | None
    session: str | None  # session id (%c), else the process id, else None
    severity: str
    sqlstate: str | None
    text: str


# The audit state


@dataclass
class _Session:
    """Per-session state that pairs the records of one statement."""

    last_ddl_statement: str | None = None
    access_statement: str | None = None
    accesses: set[tuple[str, str, str]] = field(default_factory=set)


class _AuditState:
    """Counters of the pgAudit records and related messages of all parts read so far."""

    def __init__(self) -> None:
        self.records = 0
        self.by_class: Counter[str] = Counter({name: 0 for name in AUDIT_CLASSES})
        self.ddl_statements = 0
        self.role_changes: list[dict[str, Any]] = []
        self.reads: Counter[str] = Counter()
        self.writes: Counter[str] = Counter()
        self.failed_logins: Counter[str] = Counter()
        self.failed_login_count = 0
        self.denied: Counter[str] = Counter()
        self.denied_count = 0
        self.first: datetime | None = None
        self.last: datetime | None = None
        self.sessions: dict[str | None, _Session] = {}

    def add(self, message: _Message, display: str, times: _TimeParser) -> None:
        """Count one message: a pgAudit record, a denied statement, a failed login or neither."""
        text = message.text
        if text.startswith(AUDIT_MARK):
            self._add_record(message, display, times)
        elif message.severity == "ERROR" and _is_denied(message):
            self.denied_count += 1
            self.denied[message.user or UNKNOWN_USER] += 1
        elif message.severity == "FATAL" and _is_failed_login(message):
            self.failed_login_count += 1
            self.failed_logins[_login_user(message)] += 1
        elif text.startswith(("disconnection: ", "connection received: ")):
            # The session ended, or a new one reuses a process id (stderr logs without %c).
            self.sessions.pop(message.session, None)

    def _add_record(self, message: _Message, display: str, times: _TimeParser) -> None:
        where = str(message.line)
        fields = _audit_fields(message.text[len(AUDIT_MARK):], display, where)
        (audit_type, statement_id, substatement_id, audit_class, command, object_type,
         object_name, statement) = fields[:8]
        if audit_type not in ("SESSION", "OBJECT"):
            raise CollectorError(
                f"pgAudit record type {audit_type!r} is neither SESSION nor OBJECT",
                path=display, location=where,
            )
        if message.time is None:
            raise CollectorError("pgAudit record has no time", path=display, location=where)
        instant = _parse_time(times, message.time, display, where)
        if self.first is None or instant < self.first:
            self.first = instant
        if self.last is None or instant > self.last:
            self.last = instant

        self.records += 1
        self.by_class[audit_class] += 1
        session = self.sessions.get(message.session)
        if session is None:
            session = self.sessions[message.session] = _Session()

        if audit_class == "DDL" and session.last_ddl_statement != statement_id:
            session.last_ddl_statement = statement_id
            self.ddl_statements += 1
        elif audit_class == "ROLE":
            self.role_changes.append({
                "time": format_instant(instant),
                "user": message.user,
                "database": message.database,
                "command": command,
                "object_type": object_type or None,
                "object": object_name or None,
                "statement": REDACTED if "password" in statement.lower() else statement,
            })
        elif audit_class in ("READ", "WRITE") and object_name:
            if session.access_statement != statement_id:
                session.access_statement = statement_id
                session.accesses.clear()
            key = (substatement_id, audit_class, object_name)
            if key not in session.accesses:
                session.accesses.add(key)
                counter = self.reads if audit_class == "READ" else self.writes
                counter[object_name] += 1

    def result(self, files: list[Path], pattern: str, warnings: list[str]) -> Collected:
        """Build the facts from the counters."""
        facts: dict[str, Any] = {
            "records": self.records,
            "by_class": dict(sorted(self.by_class.items())),
            "ddl_statements": self.ddl_statements,
            "role_changes": self.role_changes,
            "reads_by_object": dict(sorted(self.reads.items())),
            "writes_by_object": dict(sorted(self.writes.items())),
            "failed_logins": self.failed_login_count,
            "failed_logins_by_user": dict(sorted(self.failed_logins.items())),
            "denied_statements": self.denied_count,
            "denied_by_user": dict(sorted(self.denied.items())),
        }
        absent: dict[str, str] = {}
        failures: list[str] = []
        if self.first is None or self.last is None:
            reason = "the log has no pgAudit records"
            absent["first_record_at"] = absent["last_record_at"] = reason
            failures.append(
                f"no pgAudit records in {pattern}: check that shared_preload_libraries "
                "contains pgaudit and that pgaudit.log names the classes to audit"
            )
        else:
            facts["first_record_at"] = format_instant(self.first)
            facts["last_record_at"] = format_instant(self.last)
        return Collected(facts=facts, artifacts=files, observed_at=self.last, absent=absent,
                         failures=failures, warnings=warnings)


def _audit_fields(text: str, display: str, where: str) -> list[str]:
    """Split the CSV row after `AUDIT: ` into its 9 or 10 fields."""
    try:
        rows = list(csv.reader([text], strict=True))
    except csv.Error as exc:
        raise CollectorError(
            f"invalid CSV in a pgAudit record: {exc}", path=display, location=where
        ) from exc
    fields = rows[0] if len(rows) == 1 else []
    if len(fields) not in (9, 10):
        raise CollectorError(
            f"pgAudit record has {len(fields)} fields; pgAudit writes 9 (10 with "
            "pgaudit.log_rows): type, statement_id, substatement_id, class, command, "
            "object_type, object_name, statement, parameter[, rows]",
            path=display, location=where,
        )
    return fields


def _is_denied(message: _Message) -> bool:
    if message.sqlstate is not None:
        return message.sqlstate == SQLSTATE_INSUFFICIENT_PRIVILEGE
    return message.text.startswith(_DENIED_TEXT)


def _is_failed_login(message: _Message) -> bool:
    if message.sqlstate is not None:
        return message.sqlstate in SQLSTATES_FAILED_LOGIN
    return _FAILED_LOGIN_TEXT.match(message.text) is not None


def _login_user(message: _Message) -> str:
    """Return the user a failed login names in its message, else the session's user."""
    match = _LOGIN_USER.search(message.text)
    if match is not None:
        return match[1].replace('""', '"')
    return message.user or UNKNOWN_USER


def _parse_time(times: _TimeParser, text: str, display: str, where: str) -> datetime:
    try:
        return times.parse(text)
    except ValueError as exc:
        raise CollectorError(str(exc), path=display, location=where) from exc
    except OverflowError as exc:
        # A time near year 1 or 9999 can leave datetime's range once its
        # zone offset or fraction is applied.
        raise CollectorError(f"time {text!r} is out of the range of years 1 to 9999",
                             path=display, location=where) from exc


# Reading


class _LogReader:
    """Reads the parts of one server log and passes each message to the audit state."""

    def __init__(self, params: PgAuditParams, times: _TimeParser, audit: _AuditState) -> None:
        self.format = params.format
        self.log_line_prefix = params.log_line_prefix
        self._prefix: _PrefixPattern | None = None
        self.times = times
        self.audit = audit
        self.messages = 0
        self.unmatched_lines = 0
        self.first_unmatched = ""
        self.empty_parts: list[str] = []
        self.display = ""

    @property
    def prefix(self) -> _PrefixPattern:
        """The log_line_prefix pattern, compiled when the first stderr part is read."""
        if self._prefix is None:
            self._prefix = _PrefixPattern(self.log_line_prefix)
        return self._prefix

    def warnings(self) -> list[str]:
        warnings = []
        if self.unmatched_lines:
            lines = "line" if self.unmatched_lines == 1 else "lines"
            warnings.append(
                f"skipped {self.unmatched_lines} {lines} with neither the log_line_prefix "
                f"{self.log_line_prefix!r} nor a leading tab (first at {self.first_unmatched})"
            )
        if self._prefix is not None:
            warnings.extend(self._prefix.warnings)
        for display in self.empty_parts:
            warnings.append(f"{display} contains no log messages")
        return warnings

    def read_file(self, path: Path, display: str, budget: int) -> int:
        """Read one part and return its size in bytes (decompressed for gzip)."""
        self.display = display
        return read_stream(
            path, display,
            lambda handle, compressed: self._read(handle, budget, compressed=compressed),
        )

    def _read(self, handle: IO[bytes], budget: int, *, compressed: bool) -> int:
        counter = _NumberedLines(handle, budget, self.display, compressed=compressed)
        lines = iter(counter)
        head: list[tuple[int, bytes]] = []
        for number, line in lines:
            head.append((number, line))
            if line.strip():
                break
        log_format = self.format
        if log_format == "auto":
            log_format = _detect_format(head[-1][1] if head else b"")
        numbered = chain(head, lines)

        messages_before = self.messages
        unmatched_before = self.unmatched_lines
        if log_format == "jsonlog":
            messages = self._jsonlog_messages(numbered)
        elif log_format == "csvlog":
            messages = self._csvlog_messages(numbered)
        else:
            messages = self._stderr_messages(numbered)
        add = self.audit.add
        display, times = self.display, self.times
        for message in messages:
            self.messages += 1
            add(message, display, times)
        if self.messages == messages_before:
            if log_format == "stderr" and self.unmatched_lines > unmatched_before:
                detected = ("it is neither csvlog nor jsonlog, and "
                            if self.format == "auto" else "")
                raise CollectorError(
                    f"unknown log format: {detected}no line starts with the log_line_prefix "
                    f"{self.log_line_prefix!r}. Set log_line_prefix to the server's setting, "
                    "or format to csvlog or jsonlog",
                    path=display,
                )
            self.empty_parts.append(display)
        return counter.size if compressed else handle.tell()

    # jsonlog

    def _jsonlog_messages(self, lines: Iterator[tuple[int, bytes]]) -> Iterator[_Message]:
        display = self.display
        for number, line in lines:
            if not line.strip():
                continue
            record = _load_json_line(line, number, display)
            if type(record) is not dict:
                raise CollectorError(
                    "expected a JSON object (one jsonlog message per line)",
                    path=display, location=str(number),
                )
            yield _Message(
                line=number,
                time=_json_text(record, "timestamp", number, display, required=True),
                user=_json_text(record, "user", number, display),
                database=_json_text(record, "dbname", number, display),
                session=_json_session(record),
                severity=_json_text(record, "error_severity", number, display, required=True)
                or "",
                sqlstate=_json_text(record, "state_code", number, display) or "00000",
                text=_json_text(record, "message", number, display) or "",
            )

    # csvlog

    def _csvlog_messages(self, lines: Iterator[tuple[int, bytes]]) -> Iterator[_Message]:
        display = self.display
        decoded = _decoded_lines(lines, display)
        reader = csv.reader(decoded, strict=True)
        while True:
            start = reader.line_num + 1
            try:
                row = next(reader, None)
            except csv.Error as exc:
                hint = (" (the file may be truncated)"
                        if "unexpected end of data" in str(exc) else "")
                raise CollectorError(
                    f"invalid CSV: {exc}{hint}", path=display, location=str(start)
                ) from exc
            if row is None:
                return
            if not row:
                continue
            if len(row) not in CSVLOG_COLUMNS:
                raise CollectorError(
                    f"row has {len(row)} fields, but PostgreSQL csvlog rows have 26 "
                    "(PostgreSQL 14 and later), 24 (13) or 23 (12 and earlier), so the row "
                    "may be truncated or the file is not a csvlog file",
                    path=display, location=str(start),
                )
            yield _Message(
                line=start,
                time=row[_CSV_TIME] or None,
                user=row[_CSV_USER] or None,
                database=row[_CSV_DATABASE] or None,
                session=row[_CSV_SESSION] or row[_CSV_PID] or None,
                severity=row[_CSV_SEVERITY],
                sqlstate=row[_CSV_SQLSTATE] or "00000",
                text=row[_CSV_MESSAGE],
            )

    # stderr

    def _stderr_messages(self, lines: Iterator[tuple[int, bytes]]) -> Iterator[_Message]:
        display = self.display
        prefix = self.prefix
        match_line = prefix.regex.match
        pending: _Message | None = None
        continuation: list[str] = []
        for number, text in _decoded_numbered_lines(lines, display):
            body = text.rstrip("\r\n")
            if body.startswith("\t") and pending is not None:
                continuation.append(body[1:])
                continue
            match = match_line(body)
            if pending is not None:
                if continuation:
                    pending.text = "\n".join([pending.text, *continuation])
                    continuation = []
                yield pending
                pending = None
            if match is None:
                if body.strip():
                    self.unmatched_lines += 1
                    if self.unmatched_lines == 1:
                        self.first_unmatched = f"{display}:{number}"
                continue
            pending = prefix.message(match, number)
        if pending is not None:
            if continuation:
                pending.text = "\n".join([pending.text, *continuation])
            yield pending


def _detect_format(first_line: bytes) -> str:
    line = first_line.removeprefix(_BOM).lstrip()
    if line.startswith(b"{"):
        return "jsonlog"
    if _CSVLOG_START.match(line):
        return "csvlog"
    return "stderr"


class _NumberedLines:
    """Numbered lines of a binary stream, rejecting a stream past the byte budget."""

    def __init__(self, handle: IO[bytes], budget: int, display: str, *, compressed: bool) -> None:
        self.handle = handle
        self.budget = budget
        self.display = display
        self.compressed = compressed
        self.size = 0

    def __iter__(self) -> Iterator[tuple[int, bytes]]:
        for number, line in enumerate(self.handle, start=1):
            self.size += len(line)
            if self.size > self.budget:
                what = "decompressed input" if self.compressed else "input"
                raise CollectorError(
                    f"{what} passes the max_bytes limit; raise max_bytes to read it",
                    path=self.display, location=str(number),
                )
            yield number, line


def _decode_line(line: bytes, number: int, display: str) -> str:
    if number == 1 and line.startswith(_BOM):
        line = line[len(_BOM):]
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CollectorError(
            f"invalid UTF-8 (byte 0x{line[exc.start]:02x}). PostgreSQL writes each message "
            "in the encoding of its database, so this reads only logs whose databases all "
            "use UTF8",
            path=display, location=f"{number}:{exc.start + 1}",
        ) from exc


def _decoded_lines(lines: Iterator[tuple[int, bytes]], display: str) -> Iterator[str]:
    for number, line in lines:
        yield _decode_line(line, number, display)


def _decoded_numbered_lines(
    lines: Iterator[tuple[int, bytes]], display: str
) -> Iterator[tuple[int, str]]:
    for number, line in lines:
        yield number, _decode_line(line, number, display)


def _load_json_line(line: bytes, number: int, display: str) -> Any:
    """Parse one jsonlog line, with the json module's message and column on failure."""
    if orjson is not None:
        try:
            return orjson.loads(line)
        except orjson.JSONDecodeError:
            pass
    text = _decode_line(line, number, display).rstrip("\r\n")
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CollectorError(
            f"invalid JSON: {exc.msg}; expected one jsonlog message (a JSON object) per line",
            path=display, location=f"{number}:{exc.colno}",
        ) from exc
    except RecursionError as exc:
        raise CollectorError(
            "invalid JSON: nested too deeply to parse", path=display, location=str(number)
        ) from exc
    try:
        json.dumps(record, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise CollectorError(
            "invalid JSON: lone UTF-16 surrogate in a \\u escape, which encodes no character",
            path=display, location=str(number),
        ) from exc
    return record


def _json_text(record: dict[str, Any], key: str, number: int, display: str, *,
               required: bool = False) -> str | None:
    value = record.get(key)
    if value is None:
        if required:
            raise CollectorError(f"jsonlog message has no {key!r} key",
                                 path=display, location=str(number))
        return None
    if type(value) is not str:
        raise CollectorError(f"jsonlog key {key!r} is not a string",
                             path=display, location=str(number))
    return value


def _json_session(record: dict[str, Any]) -> str | None:
    session = record.get("session_id")
    if type(session) is str and session:
        return session
    pid = record.get("pid")
    return None if pid is None else str(pid)


# log_line_prefix

# Escapes of log_line_prefix, as the postgresql.conf.sample of PostgreSQL 15
# lists them, and the text they write. Escapes not listed here (%a, %u, %d,
# %r, %h, %b, %i, %v) write text without line breaks.
_NUMBER = r"\d+"
_PG_TIME_TEXT = r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d{3})? \S+"
_ESCAPE_PATTERNS = {
    "m": _PG_TIME_TEXT,
    "t": _PG_TIME_TEXT,
    "n": r"\d+\.\d{3}",
    "p": _NUMBER,
    "P": r"\d*",
    "l": _NUMBER,
    "x": _NUMBER,
    "c": r"[0-9a-f]+\.[0-9a-f]+",
    "e": r"[0-9A-Z]{5}",
    "Q": r"-?\d+",
    "s": _PG_TIME_TEXT,
}
# Escapes whose values the facts use, and the group names they get.
_ESCAPE_GROUPS = {"m": "time", "t": "time", "n": "time", "u": "user", "d": "database",
                  "p": "pid", "c": "session", "e": "sqlstate"}
_ESCAPE = re.compile(r"%(-?\d+)?(.)", re.DOTALL)


class _PrefixPattern:
    """A regular expression for the lines that a log_line_prefix starts.

    Each escape becomes a group. Text escapes (%u, %d, %a, ...) match as few
    characters as they can, and the line must continue with a severity, a
    colon and two spaces, as PostgreSQL writes it. %q makes the rest of the
    prefix optional, because processes outside a session stop there.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        pattern, used = _prefix_pattern(text)
        self.regex = re.compile(
            pattern + r"(?P<severity>[A-Z]+[0-9]?):  (?P<text>.*)", re.DOTALL
        )
        if "time" not in used:
            raise CollectorError(
                f"log_line_prefix {text!r} has no %m, %t or %n, so the log's messages have no "
                "times; set log_line_prefix to the server's setting"
            )

        self.warnings: list[str] = []
        if "session" not in used and "pid" not in used:
            self.warnings.append(
                f"log_line_prefix {text!r} has neither %c nor %p, so the records of concurrent "
                "sessions cannot be told apart; ddl_statements and the *_by_object counts may "
                "merge records of different sessions"
            )
        self.has_sqlstate = "sqlstate" in used

    def message(self, match: re.Match[str], line: int) -> _Message:
        groups = match.groupdict()
        session = groups.get("session") or groups.get("pid")
        return _Message(
            line=line,
            time=groups.get("time"),
            user=groups.get("user") or None,
            database=groups.get("database") or None,
            session=session,
            severity=groups["severity"],
            sqlstate=groups.get("sqlstate") if self.has_sqlstate else None,
            text=groups["text"],
        )


def _prefix_pattern(text: str) -> tuple[str, set[str]]:
    """Translate a log_line_prefix to a regular expression and the group names it uses."""
    parts: list[str] = []
    optional = 0
    used: set[str] = set()
    position = 0
    for match in _ESCAPE.finditer(text):
        parts.append(re.escape(text[position:match.start()]))
        position = match.end()
        padding, escape = match.groups()
        if escape == "%":
            parts.append("%")
            continue
        if escape == "q":
            parts.append("(?:")
            optional += 1
            continue

        pattern = _ESCAPE_PATTERNS.get(escape, r"[^\n]*?")
        group = _ESCAPE_GROUPS.get(escape)
        if group is not None and group not in used:
            used.add(group)
            pattern = f"(?P<{group}>{pattern})"
        else:
            pattern = f"(?:{pattern})"
        parts.append(f" *{pattern} *" if padding else pattern)
    parts.append(re.escape(text[position:]))
    parts.append(")?" * optional)
    return "".join(parts), used
