"""Collector for `pgbackrest info --output=json`: backup freshness of one stanza.

pgBackRest prints a JSON array with one object per stanza. Since pgBackRest 2.33
a stanza may have several repositories. Its `repo` list gives the key and
status of each, and every `backup` and `archive` entry names its repository in
`database.repo-key`. This collector judges each repository on its own and
stores the result under `repos` ("repo1", "repo2", ...). The same fact names at
the top level hold the worst repository's value, so a fresh repository cannot
hide a stale one.

The input's `timestamp.stop` is in Unix seconds. Each `*_stop` fact is an
RFC 3339 UTC string. Each `*_age_seconds` fact is `context.now` minus that stop
time in seconds: an int when the difference is whole seconds, else a float. A stop
after `now` gives a negative age and a warning. pgBackRest marks a backup in
which it detected errors (such as invalid page checksums) with `"error": true`.
Such backups count only in `backups_total` and `backups_with_error`, and no
other count, stop, age, gap or retention fact uses them.

A stanza that is missing, a stanza without repositories and a repository
without a full backup are failures, so the control fails instead of passing on
empty facts or crashing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import Field

from assay.errors import CollectorError
from assay.evidence.collectors.jsonload import load_strict
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
from assay.timeutil import format_instant, from_epoch

BACKUP_TYPES = ("full", "incr", "diff")
MAX_EXACT_INT = 2**53
# A WAL segment name is 24 upper-case hex digits, so string order is WAL order.
WAL_SEGMENT = re.compile(r"[0-9A-F]{24}")

# The function that picks the worst repository's value of each per-repository
# fact for the top level. Stops compare as strings because format_instant
# writes fixed-width UTC.
WORST_OF: dict[str, Any] = {
    **{f"backups_{kind}": min for kind in BACKUP_TYPES},
    **{f"newest_{kind}_stop": min for kind in (*BACKUP_TYPES, "backup")},
    **{f"newest_{kind}_age_seconds": max for kind in (*BACKUP_TYPES, "backup")},
    "oldest_backup_stop": max,
    "retention_days": min,
    "max_backup_gap_seconds": max,
    "archive_min": max,
    "archive_max": min,
}

AGE = "the evaluation time (now) minus the stop time, in seconds (int when whole, else float)"
WORST = "The top level holds the worst repository's value"


def _newest_facts(kind: str, label: str) -> tuple[Fact, ...]:
    return (
        Fact(name=f"newest_{kind}_stop", type="timestamp",
             description=f"Stop time of the newest {label} without error. {WORST}: the oldest."),
        Fact(name=f"newest_{kind}_age_seconds", type="number", unit="s",
             description=f"Age of the newest {label}: {AGE}. {WORST}: the largest."),
    )


class PgBackRestInfoParams(PathParams):
    """Parameters of the pgbackrest.info collector."""

    stanza: str = Field(min_length=1, description="Stanza the control is about.")


class PgBackRestInfo(Collector):
    """Backup counts, ages and WAL archive range of one stanza, per repository."""

    name = "pgbackrest.info"
    version = "1"
    summary = "Backup freshness and retention of one pgBackRest stanza, judged per repository."
    Params = PgBackRestInfoParams
    facts = (
        Fact(name="stanza_found", type="bool", description="True when the output has the stanza."),
        Fact(name="stanzas", type="list", description="Names of all stanzas in the output."),
        Fact(name="status_code", type="int", description="Stanza status code as pgBackRest "
             "writes it, such as 0 ok, 2 no valid backups, or 4 different across repos. "
             "Code 4 means the repositories differ (see `repos`), not that the stanza failed."),
        Fact(name="status_message", type="str", description="Stanza status message."),
        Fact(name="repo_count", type="int", description="Number of repositories of the stanza."),
        Fact(name="backups_total", type="int",
             description="Number of backups over all repositories, errored ones included."),
        Fact(name="backups_with_error", type="int",
             description="Number of backups marked error, summed over all repositories."),
        Fact(name="repos", type="map", description='Per-repository facts keyed "repo1", '
             '"repo2", ...: status_code, status_message, backups_with_error and every fact '
             "below. A fact the repository cannot provide is left out of its map."),
        *(Fact(name=f"backups_{kind}", type="int",
               description=f"Number of {kind} backups without error. {WORST}: the minimum.")
          for kind in BACKUP_TYPES),
        *_newest_facts("full", "full backup"),
        *_newest_facts("incr", "incremental backup"),
        *_newest_facts("diff", "differential backup"),
        *_newest_facts("backup", "backup of any type"),
        Fact(name="oldest_backup_stop", type="timestamp",
             description=f"Stop time of the oldest backup without error. {WORST}: the newest."),
        Fact(name="retention_days", type="float", unit="d", description="Age of the oldest "
             f"backup without error, in days of 86400 s. {WORST}: the smallest."),
        Fact(name="max_backup_gap_seconds", type="number", unit="s", description="Largest gap "
             f"between consecutive backup stop times (needs two backups). {WORST}: the largest."),
        Fact(name="archive_min", type="str", description="Oldest WAL segment in the archive. "
             f"{WORST}: the newest, so the narrowest range."),
        Fact(name="archive_max", type="str",
             description=f"Newest WAL segment in the archive. {WORST}: the oldest."),
    )

    def collect(self, params: PgBackRestInfoParams, context: CollectContext) -> Collected:
        """Read one `pgbackrest info --output=json` file and judge `params.stanza`."""
        files = resolve_input(context.workspace, params.path)
        if len(files) > 1:
            names = ", ".join(relative_name(context.workspace, path) for path in files)
            raise CollectorError(f"pattern matches {len(files)} files ({names}), but this "
                                 "collector reads one, so set path to a single file",
                                 path=params.path)
        display = relative_name(context.workspace, files[0])
        document = _load_json(read_input_bytes(files[0], display), display)
        try:
            return _judge(document, params.stanza, context.now, files[0])
        except _ShapeError as exc:
            raise CollectorError(exc.message, path=display, location=exc.location) from exc


class _ShapeError(Exception):
    """A value of the wrong shape or type, at a JSON path such as `[0].repo[1].key`."""

    def __init__(self, location: str | None, message: str) -> None:
        super().__init__(message)
        self.location = location
        self.message = message


@dataclass
class _Backup:
    label: str
    kind: str
    stop: datetime
    error: bool


@dataclass
class _Repo:
    name: str
    status_code: int
    status_message: str
    backups: list[_Backup] = field(default_factory=list)
    archive_ranges: list[tuple[str | None, str | None]] = field(default_factory=list)


def _load_json(raw: bytes, display: str) -> Any:
    return load_strict(
        raw, display, expected="the JSON array that `pgbackrest info --output=json` prints"
    )


def _describe(value: Any) -> str:
    if value is None or isinstance(value, (bool, int, float)):
        return json.dumps(value)
    if isinstance(value, str):
        return f"the string {value[:40]!r}"
    return "an array" if isinstance(value, list) else "an object"


def _get(container: dict[str, Any], key: str, where: str) -> tuple[Any, str]:
    path = f"{where}.{key}"
    if key not in container:
        raise _ShapeError(path, "required key is missing")
    return container[key], path


def _typed(value: Any, path: str, kind: type | tuple[type, ...], expected: str) -> Any:
    # bool is a subclass of int in Python, but true and false are not JSON numbers.
    if not isinstance(value, kind) or isinstance(value, bool) != (kind is bool):
        raise _ShapeError(path, f"expected {expected}, got {_describe(value)}")
    return value


def _integer(value: Any, path: str) -> int:
    number = _typed(value, path, int, "an integer")
    if abs(number) > MAX_EXACT_INT:
        raise _ShapeError(path, f"integer {number} is outside ±2**53")
    return number


def _stop_time(value: Any, path: str) -> datetime:
    seconds = _typed(value, path, (int, float), "Unix seconds as a number")
    # pgBackRest writes no time before 1970. Rejecting those keeps every formatted
    # year at four digits, which the string comparisons in WORST_OF rely on.
    if seconds < 0:
        raise _ShapeError(path, f"Unix time {seconds!r} is before 1970")
    try:
        return from_epoch(seconds)
    except (OverflowError, OSError, ValueError) as exc:
        raise _ShapeError(path, f"Unix time {seconds!r} is out of range") from exc


def _wal_name(value: Any, path: str) -> str | None:
    if value is None:
        return None
    name = _typed(value, path, str, "a WAL segment name or null")
    if not WAL_SEGMENT.fullmatch(name):
        raise _ShapeError(path, f"{name!r} is not a WAL segment name "
                                "(expected 24 upper-case hex digits)")
    return name


def _status(entry: dict[str, Any], where: str) -> tuple[int, str]:
    status = _typed(*_get(entry, "status", where), dict, "an object")
    code = _integer(*_get(status, "code", f"{where}.status"))
    return code, _typed(*_get(status, "message", f"{where}.status"), str, "a string")


def _repo_of(entry: dict[str, Any], where: str, repos: dict[int, _Repo]) -> _Repo:
    database = _typed(*_get(entry, "database", where), dict, "an object")
    key_value, key_path = _get(database, "repo-key", f"{where}.database")
    key = _integer(key_value, key_path)
    if key not in repos:
        listed = ", ".join(str(known) for known in repos) or "none"
        raise _ShapeError(key_path, f"repository {key} is not in the stanza's repo list "
                                    f"(keys: {listed})")
    return repos[key]


def _entries(stanza: dict[str, Any], key: str, where: str) -> Iterator[tuple[dict[str, Any], str]]:
    """Yield each object of the array `stanza[key]` with its JSON path."""
    items, path = _get(stanza, key, where)
    for index, item in enumerate(_typed(items, path, list, "an array")):
        yield _typed(item, f"{path}[{index}]", dict, "an object"), f"{path}[{index}]"


def _parse_stanza(stanza: dict[str, Any], where: str) -> dict[int, _Repo]:
    """Read the repositories of one stanza with their backups and WAL archive ranges."""
    repos: dict[int, _Repo] = {}
    for entry, path in _entries(stanza, "repo", where):
        key = _integer(*_get(entry, "key", path))
        if key in repos:
            raise _ShapeError(f"{path}.key", f"repository key {key} appears twice")
        repos[key] = _Repo(f"repo{key}", *_status(entry, path))

    for entry, path in _entries(stanza, "backup", where):
        repo = _repo_of(entry, path, repos)
        label = _typed(*_get(entry, "label", path), str, "a string")
        kind, kind_path = _get(entry, "type", path)
        if kind not in BACKUP_TYPES:
            raise _ShapeError(kind_path, f"expected full, incr or diff, got {_describe(kind)}")
        timestamp = _typed(*_get(entry, "timestamp", path), dict, "an object")
        stop = _stop_time(*_get(timestamp, "stop", f"{path}.timestamp"))
        # Versions of pgBackRest before the error flag omit the key.
        error = _typed(entry.get("error", False), f"{path}.error", bool, "true or false")
        repo.backups.append(_Backup(label, kind, stop, error))

    for entry, path in _entries(stanza, "archive", where):
        repo = _repo_of(entry, path, repos)
        low = _wal_name(*_get(entry, "min", path))
        high = _wal_name(*_get(entry, "max", path))
        repo.archive_ranges.append((low, high))
    return repos


def _seconds(delta: timedelta) -> int | float:
    micros = delta // timedelta(microseconds=1)
    whole, fraction = divmod(micros, 1_000_000)
    return whole if fraction == 0 else micros / 1_000_000


def _summarize_repo(repo: _Repo, now: datetime) -> tuple[dict[str, Any], dict[str, str]]:
    """Compute one repository's facts, and the reason for each fact it cannot provide."""
    facts: dict[str, Any] = {"status_code": repo.status_code,
                             "status_message": repo.status_message,
                             "backups_with_error": sum(b.error for b in repo.backups)}
    absent: dict[str, str] = {}
    valid = sorted((b for b in repo.backups if not b.error), key=lambda b: b.stop)

    def put_newest(prefix: str, backups: list[_Backup], reason: str) -> None:
        if backups:
            facts[f"{prefix}_stop"] = format_instant(backups[-1].stop)
            facts[f"{prefix}_age_seconds"] = _seconds(now - backups[-1].stop)
        else:
            absent[f"{prefix}_stop"] = absent[f"{prefix}_age_seconds"] = reason

    for kind in BACKUP_TYPES:
        of_kind = [b for b in valid if b.kind == kind]
        facts[f"backups_{kind}"] = len(of_kind)
        errored = sum(b.error and b.kind == kind for b in repo.backups)
        reason = f"{repo.name} has no {kind} backup"
        if errored:
            reason += f" without error, only {errored} marked error"
        put_newest(f"newest_{kind}", of_kind, reason)

    put_newest("newest_backup", valid, f"{repo.name} has no backup")
    if valid:
        facts["oldest_backup_stop"] = format_instant(valid[0].stop)
        facts["retention_days"] = (now - valid[0].stop) / timedelta(days=1)
    else:
        absent["oldest_backup_stop"] = absent["retention_days"] = f"{repo.name} has no backup"
    if len(valid) >= 2:
        gaps = (_seconds(later.stop - earlier.stop) for earlier, later in zip(valid, valid[1:]))
        facts["max_backup_gap_seconds"] = max(gaps)
    else:
        absent["max_backup_gap_seconds"] = f"{repo.name} has fewer than two backups"

    # NOTE: after a stanza-upgrade the ranges of the old and new database are
    # merged here, although their segment names belong to different clusters.
    lows = [low for low, _ in repo.archive_ranges if low is not None]
    highs = [high for _, high in repo.archive_ranges if high is not None]
    for name, values, pick in (("archive_min", lows, min), ("archive_max", highs, max)):
        if values:
            facts[name] = pick(values)
        else:
            absent[name] = f"{repo.name} has no WAL segment in its archive"
    return facts, absent


def _find_stanza(document: Any, stanza_name: str) -> tuple[list[str], str, dict[str, Any] | None]:
    """Return the names of all stanzas, and the JSON path and object of the requested one."""
    if not isinstance(document, list):
        raise _ShapeError(None, "expected a JSON array of stanzas as `pgbackrest info "
                                f"--output=json` prints, got {_describe(document)}")
    names: list[str] = []
    found: tuple[str, dict[str, Any] | None] = ("", None)
    for index, item in enumerate(document):
        entry = _typed(item, f"[{index}]", dict, "an object")
        name, name_path = _get(entry, "name", f"[{index}]")
        names.append(_typed(name, name_path, str, "a string"))
        if name == stanza_name and found[1] is not None:
            raise _ShapeError(name_path, f"stanza {name!r} appears twice, also at {found[0]}")
        if name == stanza_name:
            found = (f"[{index}]", entry)
    return names, *found


def _judge(document: Any, stanza_name: str, now: datetime, source: Path) -> Collected:
    """Build the facts of `stanza_name` from the parsed output."""
    names, where, stanza = _find_stanza(document, stanza_name)
    if stanza is None:
        if names:
            message = f"stanza {stanza_name!r} not found; present: {', '.join(names)}"
        else:
            message = f"pgBackRest reported no stanzas (expected: {stanza_name})"
        absent = {name: message for name in PgBackRestInfo.fact_names()
                  if name not in ("stanza_found", "stanzas")}
        return Collected(facts={"stanza_found": False, "stanzas": names}, artifacts=[source],
                         absent=absent, failures=[message])

    status_code, status_message = _status(stanza, where)
    repos = _parse_stanza(stanza, where)
    backups = [backup for repo in repos.values() for backup in repo.backups]
    per_repo = {repo.name: _summarize_repo(repo, now) for repo in repos.values()}
    facts: dict[str, Any] = {
        "stanza_found": True, "stanzas": names,
        "status_code": status_code, "status_message": status_message,
        "repo_count": len(repos), "backups_total": len(backups),
        "backups_with_error": sum(backup.error for backup in backups),
        "repos": {name: repo_facts for name, (repo_facts, _) in per_repo.items()},
    }
    result = Collected(facts=facts, artifacts=[source])
    valid_stops = [backup.stop for backup in backups if not backup.error]
    result.observed_at = max(valid_stops) if valid_stops else None

    if not repos:
        message = f"stanza {stanza_name!r} lists no repositories"
        result.absent.update((name, message) for name in WORST_OF)
        result.failures.append(message)
        return result
    for fact_name, pick in WORST_OF.items():
        reasons = [absent[fact_name] for _, absent in per_repo.values() if fact_name in absent]
        if reasons:
            result.absent[fact_name] = "; ".join(reasons)
        else:
            facts[fact_name] = pick(repo_facts[fact_name] for repo_facts, _ in per_repo.values())

    for repo in repos.values():
        repo_absent = per_repo[repo.name][1]
        if "newest_full_stop" in repo_absent:
            result.failures.append(
                f"stanza {stanza_name!r}: {repo_absent['newest_full_stop']} "
                f"(repository status {repo.status_code}: {repo.status_message})")
        for backup in repo.backups:
            if not backup.error and backup.stop > now:
                result.warnings.append(
                    f"backup {backup.label} in {repo.name} stopped at "
                    f"{format_instant(backup.stop)}, after the evaluation time "
                    f"{format_instant(now)}, so its age is negative")
    return result
