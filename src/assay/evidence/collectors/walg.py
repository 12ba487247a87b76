"""Collector for `wal-g backup-list --json --detail`: PostgreSQL base backup freshness.

wal-g prints a JSON array with one object per base backup. Each object joins
the fields of wal-g's `BackupTime` struct with those of its
`ExtendedMetadataDto` struct. The first are `backup_name`, `wal_file_name` and
the storage time of the backup's sentinel file, named `time` (or
`modification_time` in some versions). The second are `start_time`,
`finish_time`, `hostname`, `data_dir`, `pg_version`, `start_lsn`, `finish_lsn`,
`is_permanent`, `system_identifier`, `compressed_size` and `uncompressed_size`.
This collector judges backups by `finish_time`, which wal-g records when the
backup finished.

When there is no backup, wal-g logs "No backups found", prints no JSON and
exits with status 0. Depending on the version of its logging library
(wal-g/tracelog), INFO and WARNING lines go to stderr or to stdout, so saved
stdout may contain log lines. They are skipped, WARNING lines become
warnings, and an ERROR, FATAL or PANIC line is a CollectorError. An empty file,
or one with only INFO and WARNING lines, means zero backups, which is a
failure, not a parse error.

wal-g names a full backup `base_<WAL segment>` and a delta backup
`base_<WAL segment>_D_<WAL segment of its base>`, as the backup list in
wal-g's docs/PostgreSQL.md shows. The `--detail` output has no other field
that marks a delta backup, so the `_D_` in the name decides.

Each `*_age_seconds` fact is `context.now` minus that finish time in seconds:
an int when the difference is whole seconds, else a float.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

from assay.errors import CollectorError
from assay.evidence.collectors.base import (
    Collected,
    CollectContext,
    Collector,
    Fact,
    PathParams,
    read_input_bytes,
    relative_name,
    resolve_single_input,
)
from assay.evidence.collectors.jsonload import decode_text, loads_strict
from assay.timeutil import format_instant, parse_instant

MAX_EXACT_INT = 2**53
DELTA_MARKER = "_D_"
AGE = "the evaluation time (now) minus the finish time, in seconds (int when whole, else float)"
EXPECTED = "the JSON array that `wal-g backup-list --json --detail` prints"
# A line that wal-g logs, such as "INFO: 2026/12/04 19:20:25.123456 No backups found".
LOG_LINE = re.compile(
    r"(?P<level>INFO|WARNING|ERROR|DEBUG|FATAL|PANIC): \d{4}/\d{2}/\d{2} \S+ (?P<message>.*)")
FAILED_LEVELS = ("ERROR", "FATAL", "PANIC")


class WalgBackups(Collector):
    """Backup counts, ages, gaps and sizes from `wal-g backup-list --json --detail`."""

    name = "walg.backups"
    version = "1"
    summary = "Freshness, gaps and retention of wal-g PostgreSQL base backups."
    Params = PathParams
    facts = (
        Fact(name="backups", type="int", description="Number of base backups in the list."),
        Fact(name="full_backups", type="int",
             description="Number of full backups: names without _D_."),
        Fact(name="delta_backups", type="int",
             description="Number of delta backups: names with _D_."),
        Fact(name="permanent_backups", type="int",
             description="Number of backups marked is_permanent, which `wal-g delete` keeps."),
        Fact(name="newest_backup_name", type="str",
             description="Name of the backup with the latest finish_time."),
        Fact(name="newest_finish_time", type="timestamp",
             description="Finish time of the newest backup, full or delta, in UTC."),
        Fact(name="newest_age_seconds", type="number", unit="s",
             description=f"Age of the newest backup: {AGE}."),
        Fact(name="newest_full_backup_name", type="str",
             description="Name of the full backup with the latest finish_time."),
        Fact(name="newest_full_finish_time", type="timestamp",
             description="Finish time of the newest full backup, in UTC."),
        Fact(name="newest_full_age_seconds", type="number", unit="s",
             description=f"Age of the newest full backup: {AGE}."),
        Fact(name="oldest_finish_time", type="timestamp",
             description="Finish time of the oldest backup, in UTC."),
        Fact(name="retention_days", type="float", unit="d",
             description="Age of the oldest backup, in days of 86400 s."),
        Fact(name="max_gap_seconds", type="number", unit="s", description="Largest gap between "
             "consecutive finish times, full and delta backups together (needs two backups)."),
        Fact(name="newest_compressed_size_bytes", type="int", unit="B",
             description="compressed_size of the newest backup: the bytes it takes in storage."),
        Fact(name="newest_uncompressed_size_bytes", type="int", unit="B",
             description="uncompressed_size of the newest backup."),
    )

    def collect(self, params: PathParams, context: CollectContext) -> Collected:
        """Read one `wal-g backup-list --json --detail` file and summarise its backups."""
        path = resolve_single_input(context.workspace, params.path)
        display = relative_name(context.workspace, path)
        text = decode_text(read_input_bytes(path, display), display)
        document, log_warnings = _load_document(text, display)
        try:
            backups = _parse_backups(document)
        except _ShapeError as exc:
            raise CollectorError(exc.message, path=display, location=exc.location) from exc
        result = _judge(backups, context.now, path)
        result.warnings[:0] = log_warnings
        return result


class _ShapeError(Exception):
    """A value of the wrong shape or type, at a JSON path such as `[0].finish_time`."""

    def __init__(self, location: str | None, message: str) -> None:
        super().__init__(message)
        self.location = location
        self.message = message


@dataclass(frozen=True)
class _Backup:
    name: str
    finish: datetime
    permanent: bool
    compressed_size: int | None
    uncompressed_size: int | None

    @property
    def is_delta(self) -> bool:
        return DELTA_MARKER in self.name


def _load_document(text: str, display: str) -> tuple[Any, list[str]]:
    """Parse the output without its log lines, and return it with the WARNING lines.

    An output that is empty without its log lines means zero backups.
    """
    json_lines: list[str] = []
    warnings: list[str] = []
    # Split at "\n" only, as json counts lines, so that a U+2028 inside a string stays intact.
    for number, line in enumerate(text.split("\n"), start=1):
        match = LOG_LINE.fullmatch(line.strip())
        if match is None:
            json_lines.append(line)
            continue
        # A blank line in place of the log line keeps the line numbers of JSON errors.
        json_lines.append("")
        if match["level"] in FAILED_LEVELS:
            raise CollectorError(f"wal-g logged {match['level']}: {match['message'][:200]!r}, "
                                 "so the listing failed; fix the cause and list the backups "
                                 "again", path=display, location=str(number))
        if match["level"] == "WARNING":
            warnings.append(f"wal-g logged WARNING: {match['message']}")
    json_text = "\n".join(json_lines)
    if not json_text.strip():
        return [], warnings
    return loads_strict(json_text, display, expected=EXPECTED), warnings


def _describe(value: Any) -> str:
    if value is None or isinstance(value, (bool, int, float)):
        return json.dumps(value)
    if isinstance(value, str):
        return f"the string {value[:40]!r}"
    return "an array" if isinstance(value, list) else "an object"


def _get(container: dict[str, Any], key: str, where: str, hint: str = "") -> tuple[Any, str]:
    path = f"{where}.{key}"
    if key not in container:
        raise _ShapeError(path, f"required key is missing{hint}")
    return container[key], path


def _size(container: dict[str, Any], key: str, where: str) -> int | None:
    if key not in container:
        return None
    value, path = container[key], f"{where}.{key}"
    if not isinstance(value, int) or isinstance(value, bool):
        raise _ShapeError(path, f"expected a size in bytes as an integer, got {_describe(value)}")
    if value < 0 or value > MAX_EXACT_INT:
        raise _ShapeError(path, f"size {value} is outside 0 to 2**53")
    return value


def _finish_time(value: Any, path: str) -> datetime:
    if not isinstance(value, str):
        raise _ShapeError(path, f"expected an RFC 3339 time string, got {_describe(value)}")
    try:
        finish = parse_instant(value)
    except ValueError as exc:
        reason = str(exc)
        if repr(value) not in reason:
            reason = f"invalid time {value!r}: {reason}"
        raise _ShapeError(path, reason) from exc
    # Go writes an unset time.Time as 0001-01-01T00:00:00Z.
    if finish.year == 1:
        raise _ShapeError(path, f"{value!r} is Go's zero time, so wal-g recorded no finish time")
    return finish


# NOTE: no real wal-g output was available, so this reader is tested on a
# hand-written sample that follows wal-g's source, not on a recorded listing.
def _backup(item: Any, where: str) -> _Backup:
    if not isinstance(item, dict):
        raise _ShapeError(where, f"expected a backup object, got {_describe(item)}")
    name, name_path = _get(item, "backup_name", where)
    if not isinstance(name, str) or not name:
        raise _ShapeError(name_path, f"expected a backup name, got {_describe(name)}")
    hint = "; the list needs --detail, so run `wal-g backup-list --json --detail`"
    finish = _finish_time(*_get(item, "finish_time", where, hint))
    # wal-g versions before is_permanent existed leave the key out.
    permanent = item.get("is_permanent", False)
    if not isinstance(permanent, bool):
        raise _ShapeError(f"{where}.is_permanent", f"expected true or false, "
                                                   f"got {_describe(permanent)}")
    return _Backup(
        name=name,
        finish=finish,
        permanent=permanent,
        compressed_size=_size(item, "compressed_size", where),
        uncompressed_size=_size(item, "uncompressed_size", where),
    )


def _parse_backups(document: Any) -> list[_Backup]:
    """Read every backup, rejecting a repeated name."""
    if document is None:
        return []
    if not isinstance(document, list):
        raise _ShapeError(None, f"expected {EXPECTED}, got {_describe(document)}")
    backups: list[_Backup] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(document):
        backup = _backup(item, f"[{index}]")
        if backup.name in seen:
            raise _ShapeError(f"[{index}].backup_name",
                              f"backup {backup.name} appears twice, also at [{seen[backup.name]}]")
        seen[backup.name] = index
        backups.append(backup)
    return backups


def _seconds(delta: timedelta) -> int | float:
    micros = delta // timedelta(microseconds=1)
    whole, fraction = divmod(micros, 1_000_000)
    return whole if fraction == 0 else micros / 1_000_000


def _judge(backups: list[_Backup], now: datetime, source: Path) -> Collected:
    """Build the facts of the listed backups."""
    ordered = sorted(backups, key=lambda backup: (backup.finish, backup.name))
    fulls = [backup for backup in ordered if not backup.is_delta]
    facts: dict[str, Any] = {
        "backups": len(ordered),
        "full_backups": len(fulls),
        "delta_backups": len(ordered) - len(fulls),
        "permanent_backups": sum(backup.permanent for backup in ordered),
    }
    result = Collected(facts=facts, artifacts=[source])
    if not ordered:
        result.failures.append("no backups")
        result.absent.update((fact.name, "no backups") for fact in WalgBackups.facts
                             if fact.name not in facts)
        return result

    newest, oldest = ordered[-1], ordered[0]
    facts.update({
        "newest_backup_name": newest.name,
        "newest_finish_time": format_instant(newest.finish),
        "newest_age_seconds": _seconds(now - newest.finish),
        "oldest_finish_time": format_instant(oldest.finish),
        "retention_days": (now - oldest.finish) / timedelta(days=1),
    })
    result.observed_at = newest.finish

    full_names = ("newest_full_backup_name", "newest_full_finish_time", "newest_full_age_seconds")
    if fulls:
        facts["newest_full_backup_name"] = fulls[-1].name
        facts["newest_full_finish_time"] = format_instant(fulls[-1].finish)
        facts["newest_full_age_seconds"] = _seconds(now - fulls[-1].finish)
    else:
        result.absent.update((name, "the list has delta backups only, no full backup")
                             for name in full_names)
        result.warnings.append("the list has delta backups but no full backup, and a delta "
                               "backup needs its full backup to be restored")

    if len(ordered) >= 2:
        gaps = (later.finish - earlier.finish for earlier, later in pairwise(ordered))
        facts["max_gap_seconds"] = _seconds(max(gaps))
    else:
        result.absent["max_gap_seconds"] = "the list has only one backup"

    for name, size in (("newest_compressed_size_bytes", newest.compressed_size),
                       ("newest_uncompressed_size_bytes", newest.uncompressed_size)):
        if size is None:
            key = name.removeprefix("newest_").removesuffix("_bytes")
            result.absent[name] = (f"backup {newest.name} has no {key} "
                                   "(older wal-g versions omit it)")
        else:
            facts[name] = size

    for backup in ordered:
        if backup.finish > now:
            result.warnings.append(
                f"backup {backup.name} finished at {format_instant(backup.finish)}, after the "
                f"evaluation time {format_instant(now)}, so its age is negative")
    return result
