"""Tests of the pgaudit collector against real PostgreSQL logs and broken inputs.

The three logs in tests/data/audit are REAL: pg15-csvlog-audit-phase2.csv and
pg15-jsonlog-audit-phase2.json were written by PostgreSQL 15.20 with pgAudit
1.7.0 during one session, in two formats. pg15-stderr-pgaudit.log was written
by PostgreSQL 15.18 (Debian 15.18-0+deb12u1) with pgAudit 1.7.0 (Debian
1.7.0-2), run by make-pgaudit-stderr-log.sh in that folder.
"""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from assay.errors import CollectorError, EvidenceMissing
from assay.evidence.collectors.base import CollectContext, Collected
from assay.evidence.collectors.pgaudit import PgAudit, PgAuditParams

DATA_DIR = Path(__file__).resolve().parents[2] / "data" / "audit"
NOW = datetime(2026, 12, 4, 21, 30, tzinfo=UTC)
CSVLOG = "pg15-csvlog-audit-phase2.csv"
JSONLOG = "pg15-jsonlog-audit-phase2.json"
STDERR = "pg15-stderr-pgaudit.log"
PREFIX = "2026-12-04 21:21:42.185 UTC [13293] postgres@auditdb "


def collect(path: str, workspace: Path = DATA_DIR, **params: Any) -> Collected:
    context = CollectContext(workspace=workspace, now=NOW)
    return PgAudit().collect(PgAuditParams(path=path, **params), context)


def write(tmp_path: Path, text: str, name: str = "postgresql.log") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def collect_text(tmp_path: Path, text: str, **params: Any) -> Collected:
    write(tmp_path, text)
    return collect("postgresql.log", workspace=tmp_path, **params)


def collect_error(tmp_path: Path, text: str, **params: Any) -> CollectorError:
    with pytest.raises(CollectorError) as caught:
        collect_text(tmp_path, text, **params)
    return caught.value


def csv_row(message: str, *, severity: str = "LOG", sqlstate: str = "00000",
            user: str = "postgres", time: str = "2026-12-04 19:21:02.741 UTC") -> str:
    """Write one PostgreSQL 15 csvlog row (26 columns) with `message` quoted as csvlog does."""
    quoted = '"' + message.replace('"', '""') + '"'
    return (f'{time},"{user}","auditdb",12674,"[local]",6b13129e.3182,7,"CREATE TABLE",'
            f"2026-12-04 19:21:02 UTC,4/48,765,{severity},{sqlstate},{quoted},,,,,,,,,"
            '"psql","client backend",,0\n')


# The csvlog and jsonlog of one session: the same facts from both


@pytest.fixture(scope="module", params=[CSVLOG, JSONLOG])
def session(request: pytest.FixtureRequest) -> Collected:
    return collect(request.param)


def test_session_records(session: Collected) -> None:
    assert session.facts["records"] == 57


def test_session_by_class(session: Collected) -> None:
    assert session.facts["by_class"] == {
        "DDL": 12, "FUNCTION": 0, "MISC": 0, "MISC_SET": 0, "READ": 20, "ROLE": 11, "WRITE": 14,
    }


def test_session_ddl_statements(session: Collected) -> None:
    # CREATE DATABASE, CREATE EXTENSION, CREATE SCHEMA and two CREATE TABLE,
    # each of which writes 4 or 5 DDL records with one statement_id.
    assert session.facts["ddl_statements"] == 5


def test_session_role_changes(session: Collected) -> None:
    changes = session.facts["role_changes"]
    assert [change["command"] for change in changes] == [
        "CREATE ROLE", "GRANT", "GRANT", "GRANT", "GRANT", "GRANT", "CREATE ROLE", "ALTER ROLE",
        "ALTER ROLE", "DROP ROLE", "REVOKE",
    ]
    assert changes[0] == {
        "time": "2026-12-04T19:21:02.733000Z", "user": "postgres", "database": "auditdb",
        "command": "CREATE ROLE", "object_type": None, "object": None,
        "statement": "CREATE ROLE auditor NOLOGIN;",
    }
    assert changes[2]["statement"] == (
        "GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA crm TO app_rw;")
    assert changes[2]["object_type"] == "TABLE"
    assert changes[10]["statement"] == "REVOKE UPDATE ON crm.customer FROM app_rw"
    assert changes[10]["time"] == "2026-12-04T19:21:03.246000Z"


def test_session_password_statement_redacted(session: Collected) -> None:
    # pgAudit wrote "CREATE ROLE break_glass_admin LOGIN PASSWORD <REDACTED>".
    change = session.facts["role_changes"][6]
    assert change["command"] == "CREATE ROLE"
    assert change["statement"] == "<redacted>"
    assert "break_glass_admin" not in json.dumps(change)


def test_session_reads_by_object(session: Collected) -> None:
    # OBJECT and SESSION records of one substatement count once.
    assert session.facts["reads_by_object"] == {"crm.customer": 5, "crm.ticket": 2}


def test_session_writes_by_object(session: Collected) -> None:
    assert session.facts["writes_by_object"] == {
        "billing.tenant": 4, "crm.customer": 3, "crm.ticket": 4,
    }


def test_session_failed_logins(session: Collected) -> None:
    assert session.facts["failed_logins"] == 2
    assert session.facts["failed_logins_by_user"] == {"ghost_user": 1, "svc_api": 1}


def test_session_denied_statements(session: Collected) -> None:
    assert session.facts["denied_statements"] == 1
    assert session.facts["denied_by_user"] == {"svc_reporting": 1}


def test_session_record_times(session: Collected) -> None:
    assert session.facts["first_record_at"] == "2026-12-04T19:21:01.568000Z"
    assert session.facts["last_record_at"] == "2026-12-04T19:21:35.123000Z"
    assert session.observed_at == datetime(2026, 12, 4, 19, 21, 35, 123000, tzinfo=UTC)


def test_session_clean(session: Collected) -> None:
    assert session.warnings == []
    assert session.failures == []
    assert session.absent == {}


def test_session_formats_agree() -> None:
    assert collect(CSVLOG).facts == collect(JSONLOG).facts


@pytest.mark.parametrize(("path", "log_format"), [(CSVLOG, "csvlog"), (JSONLOG, "jsonlog")])
def test_session_format_given(path: str, log_format: str) -> None:
    assert collect(path, format=log_format).facts == collect(path).facts


def test_session_facts_declared(session: Collected) -> None:
    for name in session.facts:
        assert PgAudit.declared(name) is not None, name


def test_session_facts_are_json(session: Collected) -> None:
    assert json.loads(json.dumps(session.facts)) == session.facts


# The real stderr log


@pytest.fixture(scope="module")
def stderr_log() -> Collected:
    return collect(STDERR)


def test_stderr_counts(stderr_log: Collected) -> None:
    assert stderr_log.facts["records"] == 43
    assert stderr_log.facts["by_class"] == {
        "DDL": 13, "FUNCTION": 1, "MISC": 2, "MISC_SET": 0, "READ": 5, "ROLE": 18, "WRITE": 4,
    }
    assert stderr_log.facts["ddl_statements"] == 6


def test_stderr_multiline_statement_joined(stderr_log: Collected) -> None:
    # The GRANT spans three lines, the last two indented with a tab in the
    # SQL; PostgreSQL adds one more tab to each continuation line.
    grant = stderr_log.facts["role_changes"][11]
    assert grant["command"] == "GRANT"
    assert grant["statement"] == 'GRANT SELECT\n\tON crm.ticket\n\tTO "Prüfer <&> Team";'


def test_stderr_markup_and_non_ascii_kept(stderr_log: Collected) -> None:
    created = stderr_log.facts["role_changes"][10]
    assert created["statement"] == 'CREATE ROLE "Prüfer <&> Team" NOLOGIN;'


def test_stderr_passwords_redacted(stderr_log: Collected) -> None:
    changes = stderr_log.facts["role_changes"]
    redacted = [index for index, change in enumerate(changes)
                if change["statement"] == "<redacted>"]
    # CREATE ROLE svc_api, CREATE ROLE svc_reporting, ALTER ROLE svc_api
    # PASSWORD, and the CREATE ROLE break_glass written over three lines.
    assert redacted == [1, 2, 8, 12]
    assert "PASSWORD" not in json.dumps(stderr_log.facts).upper()


def test_stderr_role_change_fields(stderr_log: Collected) -> None:
    changes = stderr_log.facts["role_changes"]
    assert len(changes) == 18
    assert changes[-1] == {
        "time": "2026-12-04T21:21:42.399000Z", "user": "postgres", "database": "auditdb",
        "command": "DROP ROLE", "object_type": None, "object": None,
        "statement": "DROP ROLE svc_reporting;",
    }


def test_stderr_objects(stderr_log: Collected) -> None:
    # Only OBJECT records name objects here, because pgaudit.log_relation is off.
    assert stderr_log.facts["reads_by_object"] == {"crm.customer": 1}
    assert stderr_log.facts["writes_by_object"] == {"crm.customer": 1}


def test_stderr_failed_logins_and_denials(stderr_log: Collected) -> None:
    assert stderr_log.facts["failed_logins"] == 2
    assert stderr_log.facts["failed_logins_by_user"] == {"ghost_user": 1, "svc_api": 1}
    assert stderr_log.facts["denied_statements"] == 1
    assert stderr_log.facts["denied_by_user"] == {"svc_reporting": 1}


def test_stderr_times(stderr_log: Collected) -> None:
    assert stderr_log.facts["first_record_at"] == "2026-12-04T21:21:42.112000Z"
    assert stderr_log.facts["last_record_at"] == "2026-12-04T21:21:42.399000Z"
    assert stderr_log.warnings == []
    assert stderr_log.failures == []


def test_stderr_format_given(stderr_log: Collected) -> None:
    assert collect(STDERR, format="stderr").facts == stderr_log.facts


def test_stderr_parts_merged(tmp_path: Path, stderr_log: Collected) -> None:
    lines = (DATA_DIR / STDERR).read_text(encoding="utf-8").splitlines(keepends=True)
    # Split before a line that starts a message, not inside one.
    split = next(index for index in range(60, len(lines)) if not lines[index].startswith("\t"))
    write(tmp_path, "".join(lines[:split]), "postgresql-1.log")
    (tmp_path / "postgresql-2.log.gz").write_bytes(
        gzip.compress("".join(lines[split:]).encode("utf-8")))
    result = collect("postgresql-*", workspace=tmp_path)
    assert result.facts == stderr_log.facts


# Multi-line messages and quoting


def test_stderr_continuation_lines(tmp_path: Path) -> None:
    text = (PREFIX + 'LOG:  AUDIT: SESSION,1,1,ROLE,GRANT,TABLE,,"GRANT SELECT,\n'
            "\t\tUPDATE ON a, b\n"
            '\tTO ""x, y""",<none>\n')
    result = collect_text(tmp_path, text)
    statement = result.facts["role_changes"][0]["statement"]
    assert statement == 'GRANT SELECT,\n\tUPDATE ON a, b\nTO "x, y"'


def test_stderr_stray_lines_warn(tmp_path: Path) -> None:
    text = ("waiting for server to start.... done\n"
            + PREFIX + "LOG:  AUDIT: SESSION,1,1,MISC,SET,,,SET x = 1,<none>\n")
    result = collect_text(tmp_path, text)
    assert result.facts["records"] == 1
    assert result.warnings == [
        "skipped 1 line with neither the log_line_prefix '%m [%p] %q%u@%d ' nor a leading tab "
        "(first at postgresql.log:1)"
    ]


def test_stderr_custom_prefix_with_sqlstate(tmp_path: Path) -> None:
    prefix = "%t [%p]: [%l-1] session=%c,user=%u,db=%d,app=%a,client=%h,state=%e "
    head = "2026-12-04 19:00:00 UTC [42]: [3-1] session=6b13129e.3186,user=svc,db=appdb,app=psql,"
    text = (head + "client=127.0.0.1,state=42501 ERROR:  must be owner of table t\n"
            + head + "client=127.0.0.1,state=00000 LOG:  AUDIT: SESSION,1,1,READ,SELECT,TABLE,"
            "public.t,SELECT 1,<none>\n")
    result = collect_text(tmp_path, text, log_line_prefix=prefix)
    # With %e the SQLSTATE decides, so "must be owner" counts as a denial.
    assert result.facts["denied_statements"] == 1
    assert result.facts["denied_by_user"] == {"svc": 1}
    assert result.facts["reads_by_object"] == {"public.t": 1}
    assert result.facts["first_record_at"] == "2026-12-04T19:00:00.000000Z"


def test_stderr_epoch_prefix(tmp_path: Path) -> None:
    text = "1796414400.250 [42] LOG:  AUDIT: SESSION,1,1,MISC,SET,,,SET x = 1,<none>\n"
    result = collect_text(tmp_path, text, log_line_prefix="%n [%p] ")
    assert result.facts["first_record_at"] == "2026-12-04T20:00:00.250000Z"


def test_stderr_failed_login_texts(tmp_path: Path) -> None:
    head = "2026-12-04 19:00:00.000 UTC [7] "
    text = (head + 'bob@db FATAL:  no pg_hba.conf entry for host "127.0.0.1", user "bob", '
            'database "db", no encryption\n'
            + head + 'eve@db FATAL:  role "eve" is not permitted to log in\n'
            + head + 'ann@db FATAL:  Peer authentication failed for user "ann"\n'
            + head + 'db@db FATAL:  database "nope" does not exist\n')
    result = collect_text(tmp_path, text)
    assert result.facts["failed_logins"] == 3
    assert result.facts["failed_logins_by_user"] == {"ann": 1, "bob": 1, "eve": 1}


def test_prefix_without_time_rejected(tmp_path: Path) -> None:
    error = collect_error(tmp_path, "[1] LOG:  x\n", log_line_prefix="[%p] ")
    assert "has no %m, %t or %n" in error.reason


def test_prefix_without_session_warns(tmp_path: Path) -> None:
    text = "2026-12-04 19:00:00 UTC LOG:  AUDIT: SESSION,1,1,MISC,SET,,,SET x = 1,<none>\n"
    result = collect_text(tmp_path, text, log_line_prefix="%t ")
    assert result.facts["records"] == 1
    assert "neither %c nor %p" in result.warnings[0]


def test_csv_quoted_statement_with_newlines(tmp_path: Path) -> None:
    statement = 'GRANT SELECT\n  ON crm.ticket TO "Prüfer <&> Team", app_ro;'
    message = 'AUDIT: SESSION,6,1,ROLE,GRANT,TABLE,,"' + statement.replace('"', '""') + '",<none>,0'
    result = collect_text(tmp_path, csv_row(message))
    assert result.facts["role_changes"][0]["statement"] == statement


def test_csv_lowercase_password_redacted(tmp_path: Path) -> None:
    message = "AUDIT: SESSION,1,1,ROLE,ALTER ROLE,,,alter role x with password <REDACTED>,<none>,0"
    result = collect_text(tmp_path, csv_row(message))
    assert result.facts["role_changes"][0]["statement"] == "<redacted>"


def test_csv_nine_field_records(tmp_path: Path) -> None:
    # pgAudit before 1.7, or with pgaudit.log_rows off, writes no rows field.
    message = ("AUDIT: OBJECT,1,1,WRITE,UPDATE,TABLE,crm.customer,"
               "UPDATE crm.customer SET x = 1,<none>")
    result = collect_text(tmp_path, csv_row(message))
    assert result.facts["writes_by_object"] == {"crm.customer": 1}


def test_csv_older_column_count(tmp_path: Path) -> None:
    # PostgreSQL 13 writes 24 columns: no leader_pid or query_id.
    row = csv_row("AUDIT: SESSION,1,1,DDL,CREATE TABLE,TABLE,t,CREATE TABLE t (),<none>")
    result = collect_text(tmp_path, row.rsplit(",", 2)[0] + "\n")
    assert result.facts["ddl_statements"] == 1


def test_time_zone_abbreviation_needs_log_timezone(tmp_path: Path) -> None:
    row = csv_row("AUDIT: SESSION,1,1,MISC,SET,,,SET x = 1,<none>",
                  time="2026-12-04 20:21:02.741 CET")
    error = collect_error(tmp_path, row)
    assert "set the log_timezone parameter" in error.reason
    assert error.location == "1"
    result = collect_text(tmp_path, row, log_timezone="Europe/Berlin")
    assert result.facts["first_record_at"] == "2026-12-04T19:21:02.741000Z"


def test_time_zone_abbreviation_picks_fold(tmp_path: Path) -> None:
    # 02:30 happens twice in Berlin on 2026-10-25: first in CEST, then in CET.
    rows = (csv_row("AUDIT: SESSION,1,1,MISC,SET,,,SET x = 1,<none>",
                    time="2026-10-25 02:30:00.000 CEST")
            + csv_row("AUDIT: SESSION,2,1,MISC,SET,,,SET x = 2,<none>",
                      time="2026-10-25 02:30:00.000 CET"))
    result = collect_text(tmp_path, rows, log_timezone="Europe/Berlin")
    assert result.facts["first_record_at"] == "2026-10-25T00:30:00.000000Z"
    assert result.facts["last_record_at"] == "2026-10-25T01:30:00.000000Z"


def test_numeric_zone_offset(tmp_path: Path) -> None:
    row = csv_row("AUDIT: SESSION,1,1,MISC,SET,,,SET x = 1,<none>",
                  time="2026-12-04 22:21:02.741 +03")
    result = collect_text(tmp_path, row)
    assert result.facts["first_record_at"] == "2026-12-04T19:21:02.741000Z"


def test_unknown_log_timezone_rejected() -> None:
    with pytest.raises(ValidationError, match="unknown time zone"):
        PgAuditParams(path="x", log_timezone="Mars/Olympus")


def test_no_audit_records_fails(tmp_path: Path) -> None:
    result = collect_text(tmp_path, csv_row("connection received: host=[local]"))
    assert result.facts["records"] == 0
    assert result.facts["by_class"]["ROLE"] == 0
    assert result.absent["first_record_at"] == "the log has no pgAudit records"
    assert result.failures == [
        "no pgAudit records in postgresql.log: check that shared_preload_libraries contains "
        "pgaudit and that pgaudit.log names the classes to audit"
    ]
    assert result.observed_at is None


def test_fatal_permission_denied_not_a_statement(tmp_path: Path) -> None:
    rows = (csv_row('permission denied for database "auditdb"', severity="FATAL",
                    sqlstate="42501")
            + csv_row("AUDIT: SESSION,1,1,MISC,SET,,,SET x = 1,<none>"))
    result = collect_text(tmp_path, rows)
    assert result.facts["denied_statements"] == 0
    assert result.facts["failed_logins"] == 0


def test_ddl_statements_per_session(tmp_path: Path) -> None:
    # The same statement_id in two sessions counts twice.
    row = csv_row("AUDIT: SESSION,1,1,DDL,CREATE TABLE,TABLE,t,CREATE TABLE t (),<none>")
    other = row.replace("6b13129e.3182", "6b13129e.3190")
    result = collect_text(tmp_path, row + row + other)
    assert result.facts["ddl_statements"] == 2


# Broken inputs


def test_broken_empty_file(tmp_path: Path) -> None:
    error = collect_error(tmp_path, "")
    assert error.reason == (
        "file is empty; expected a PostgreSQL server log (csvlog, jsonlog or stderr)")
    assert error.path == "postgresql.log"


def test_broken_unknown_format(tmp_path: Path) -> None:
    error = collect_error(tmp_path, "name,age\nalice,42\n")
    assert error.reason == (
        "unknown log format: it is neither csvlog nor jsonlog, and no line starts with the "
        "log_line_prefix '%m [%p] %q%u@%d '. Set log_line_prefix to the server's setting, or "
        "format to csvlog or jsonlog")


def test_broken_format_value_rejected() -> None:
    with pytest.raises(ValidationError):
        PgAuditParams(path="x", format="syslog")


def test_broken_truncated_csv_row(tmp_path: Path) -> None:
    text = (DATA_DIR / CSVLOG).read_text(encoding="utf-8")
    # Cut inside the quoted message of the multi-line INSERT (its row starts on line 28).
    cut = text.index("('tenant-a','Example User Two'")
    error = collect_error(tmp_path, text[:cut])
    assert error.reason == "invalid CSV: unexpected end of data (the file may be truncated)"
    assert error.location == "28"


def test_broken_short_csv_row(tmp_path: Path) -> None:
    text = csv_row("AUDIT: SESSION,1,1,MISC,SET,,,SET x = 1,<none>")
    error = collect_error(tmp_path, text + text.split(',"psql"')[0] + "\n")
    assert error.location == "2"
    assert error.reason.startswith("row has 22 fields, but PostgreSQL csvlog rows have 26")


def test_broken_invalid_json_line(tmp_path: Path) -> None:
    lines = (DATA_DIR / JSONLOG).read_text(encoding="utf-8").splitlines(keepends=True)
    lines[4] = lines[4][:40] + "\n"
    error = collect_error(tmp_path, "".join(lines), format="jsonlog")
    # The cut leaves the timestamp string, which starts at column 14, open.
    assert error.location == "5:14"
    assert error.reason.startswith("invalid JSON: Unterminated string starting at")


def test_broken_json_line_not_object(tmp_path: Path) -> None:
    error = collect_error(tmp_path, '{"timestamp": "2026-12-04 19:21:01.564 UTC", '
                          '"error_severity": "LOG", "message": "x"}\n[1, 2]\n')
    assert error.location == "2"
    assert error.reason == "expected a JSON object (one jsonlog message per line)"


def test_broken_json_missing_timestamp(tmp_path: Path) -> None:
    error = collect_error(tmp_path, '{"error_severity": "LOG", "message": "x"}\n')
    assert error.reason == "jsonlog message has no 'timestamp' key"


@pytest.mark.parametrize("path", [CSVLOG, JSONLOG, STDERR])
def test_broken_invalid_utf8(tmp_path: Path, path: str) -> None:
    data = (DATA_DIR / path).read_bytes().replace("ünïcødé".encode(), b"\xff", 1)
    (tmp_path / "postgresql.log").write_bytes(data)
    with pytest.raises(CollectorError) as caught:
        collect("postgresql.log", workspace=tmp_path)
    line = data[: data.index(b"\xff")].count(b"\n") + 1
    column = data.index(b"\xff") - data.rfind(b"\n", 0, data.index(b"\xff"))
    assert caught.value.location == f"{line}:{column}"
    assert caught.value.reason.startswith("invalid UTF-8 (byte 0xff)")


def test_broken_audit_field_count(tmp_path: Path) -> None:
    error = collect_error(tmp_path, csv_row("AUDIT: SESSION,1,1,READ"))
    assert error.location == "1"
    assert error.reason.startswith("pgAudit record has 4 fields; pgAudit writes 9")


def test_broken_audit_type(tmp_path: Path) -> None:
    error = collect_error(tmp_path, csv_row("AUDIT: OTHER,1,1,READ,SELECT,,,SELECT 1,<none>"))
    assert error.reason == "pgAudit record type 'OTHER' is neither SESSION nor OBJECT"


def test_broken_audit_csv(tmp_path: Path) -> None:
    error = collect_error(tmp_path, csv_row('AUDIT: SESSION,1,1,READ,SELECT,,,"SELECT 1,<none>'))
    assert error.reason == "invalid CSV in a pgAudit record: unexpected end of data"


def test_broken_time(tmp_path: Path) -> None:
    error = collect_error(tmp_path, csv_row("AUDIT: SESSION,1,1,MISC,SET,,,SET x,<none>",
                                            time="yesterday"), format="csvlog")
    assert error.reason == "not a PostgreSQL log time: 'yesterday'"


@pytest.mark.parametrize("time", ["999999999999", "9999-12-31 23:59:59.999 -01",
                                  "0001-01-01 00:00:00 +01"])
def test_broken_time_out_of_range(tmp_path: Path, time: str) -> None:
    # datetime raised OverflowError once the epoch, offset or fraction was applied.
    error = collect_error(tmp_path, csv_row("AUDIT: SESSION,1,1,MISC,SET,,,SET x,<none>",
                                            time=time), format="csvlog")
    assert error.reason == f"time {time!r} is out of the range of years 1 to 9999"
    assert error.location == "1"


def test_broken_epoch_of_5000_digits(tmp_path: Path) -> None:
    error = collect_error(tmp_path, csv_row("AUDIT: SESSION,1,1,MISC,SET,,,SET x,<none>",
                                            time="9" * 5000), format="csvlog")
    assert error.reason == f"not a PostgreSQL log time: {'9' * 5000!r}"


def test_broken_gzip(tmp_path: Path) -> None:
    data = gzip.compress((DATA_DIR / STDERR).read_bytes())
    (tmp_path / "postgresql.log.gz").write_bytes(data[:200])
    with pytest.raises(CollectorError) as caught:
        collect("postgresql.log.gz", workspace=tmp_path)
    assert caught.value.reason == "gzip data ends early; the file is truncated"


def test_broken_over_max_bytes() -> None:
    with pytest.raises(CollectorError) as caught:
        collect(STDERR, max_bytes=1000)
    assert "over the max_bytes limit of 1000" in caught.value.reason


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(EvidenceMissing):
        collect("postgresql-*.csv", workspace=tmp_path)


def test_collector_registered() -> None:
    from assay.evidence import collectors

    assert collectors.get("pgaudit") is PgAudit
    assert PgAudit.name == "pgaudit"
