"""Collectors for restic: snapshot freshness and `restic check` results.

`restic.snapshots` reads the output of `restic snapshots --json`: a JSON array
of snapshots, or of groups when `--group-by` was given. restic 0.14.0 prints
`[]` for an empty repository, and `null` (what Go prints for a nil list) is
read the same way: zero snapshots, which is a failure. Snapshot times are
RFC 3339 with up to nine fractional digits and any UTC offset, so they are
compared as parsed instants, never as strings. Each `*_time` fact is UTC with
microseconds, and the string restic wrote is kept in the matching `*_original`
fact.

A restic repository often contains the snapshots of several hosts. The
freshness facts are computed per host (`by_host`), and each top-level fact is
the worst host's value, so a fresh host cannot hide a stale one. Ages are
`context.now` minus the snapshot time in seconds: an int when the difference
is whole seconds, else a float.

`restic.check` reads the text that `restic check` prints, stdout and stderr
together, from a pipe or from a terminal capture.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

from pydantic import Field

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
from assay.evidence.collectors.jsonload import decode_text, load_strict
from assay.timeutil import format_instant, parse_instant

AGE = "the evaluation time (now) minus the snapshot time, in seconds (int when whole, else float)"
WORST = "At the top level it is the worst host's value"

# The facts of one group of snapshots (one host, or one tag): the keys of each
# `by_host` and `by_tag` entry.
GROUP_FACT_NAMES = (
    "snapshots", "newest_time", "newest_time_original", "newest_id", "newest_age_seconds",
    "oldest_time", "oldest_time_original", "oldest_id", "retention_days", "max_gap_seconds",
)


class _ShapeError(Exception):
    """A value of the wrong shape or type, at a JSON path such as `[2].time`."""

    def __init__(self, location: str | None, message: str) -> None:
        super().__init__(message)
        self.location = location
        self.message = message


def _describe(value: Any) -> str:
    if value is None or isinstance(value, (bool, int, float)):
        return json.dumps(value)
    if isinstance(value, str):
        return f"the string {value[:40]!r}"
    return "an array" if isinstance(value, list) else "an object"


def _seconds(delta: timedelta) -> int | float:
    micros = delta // timedelta(microseconds=1)
    whole, fraction = divmod(micros, 1_000_000)
    return whole if fraction == 0 else micros / 1_000_000


# restic.snapshots


class ResticSnapshotsParams(PathParams):
    """Parameters of the restic.snapshots collector."""

    host: str | None = Field(
        default=None, min_length=1,
        description="Only snapshots of this host, as restic's --host.",
    )
    tag: str | None = Field(
        default=None, min_length=1,
        description="Only snapshots with this tag. Several tags separated by commas must "
                    "all be present, as restic's --tag a,b.",
    )
    paths: list[str] | None = Field(
        default=None, min_length=1,
        description="Only snapshots that include every one of these paths, as restic's --path.",
    )


@dataclass(frozen=True)
class _Snapshot:
    id: str
    time: datetime
    time_original: str
    hostname: str
    tags: tuple[str, ...]
    paths: tuple[str, ...]


def _group_facts(label: str) -> tuple[Fact, ...]:
    """Declare the per-host facts whose top-level value is the worst host's."""
    return (
        Fact(name="newest_time", type="timestamp", description="Time of the newest snapshot, "
             f"in UTC. {WORST}: the oldest of the per-host newest times."),
        Fact(name="newest_time_original", type="str",
             description="The newest_time snapshot's time as restic wrote it."),
        Fact(name="newest_id", type="str", description="ID of the newest_time snapshot."),
        Fact(name="newest_age_seconds", type="number", unit="s",
             description=f"Age of the newest snapshot: {AGE}. {WORST}: the largest."),
        Fact(name="oldest_time", type="timestamp", description="Time of the oldest snapshot, "
             f"in UTC. {WORST}: the newest of the per-host oldest times."),
        Fact(name="oldest_time_original", type="str",
             description="The oldest_time snapshot's time as restic wrote it."),
        Fact(name="oldest_id", type="str", description="ID of the oldest_time snapshot."),
        Fact(name="retention_days", type="float", unit="d", description="Age of the oldest "
             f"snapshot, in days of 86400 s. {WORST}: the smallest."),
        Fact(name="max_gap_seconds", type="number", unit="s", description="Largest gap between "
             f"consecutive snapshot times of one {label} (needs two snapshots). "
             f"{WORST}: the largest."),
    )


class ResticSnapshots(Collector):
    """Snapshot counts, ages, gaps and retention from `restic snapshots --json`."""

    name = "restic.snapshots"
    version = "1"
    summary = "Freshness, gaps and retention of restic snapshots, judged per host."
    Params = ResticSnapshotsParams
    facts = (
        Fact(name="snapshots", type="int",
             description="Number of snapshots that match the host, tag and paths filters."),
        Fact(name="snapshots_total", type="int",
             description="Number of snapshots in the file, before filtering."),
        Fact(name="hosts", type="list", description="Sorted host names of matching snapshots."),
        Fact(name="tags", type="list", description="Sorted tags of matching snapshots."),
        *_group_facts("host"),
        Fact(name="by_host", type="map", description="Facts per host name: snapshots, "
             "newest_time, newest_time_original, newest_id, newest_age_seconds, oldest_time, "
             "oldest_time_original, oldest_id, retention_days and max_gap_seconds. "
             "max_gap_seconds is left out for a host with one snapshot."),
        Fact(name="by_tag", type="map", description="The same facts as by_host per tag, over "
             "the matching snapshots that carry the tag, across hosts. Untagged snapshots "
             "appear in no entry."),
    )

    def collect(self, params: ResticSnapshotsParams, context: CollectContext) -> Collected:
        """Read one `restic snapshots --json` file and summarise the matching snapshots."""
        path = resolve_single_input(context.workspace, params.path)
        display = relative_name(context.workspace, path)
        document = load_strict(
            read_input_bytes(path, display), display,
            expected="the JSON array that `restic snapshots --json` prints",
        )
        try:
            snapshots = _parse_snapshots(document)
        except _ShapeError as exc:
            raise CollectorError(exc.message, path=display, location=exc.location) from exc
        return _judge_snapshots(snapshots, params, context.now, path)


def _get(container: dict[str, Any], key: str, where: str) -> tuple[Any, str]:
    path = f"{where}.{key}"
    if key not in container:
        raise _ShapeError(path, "required key is missing")
    return container[key], path


def _string(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise _ShapeError(path, f"expected a string, got {_describe(value)}")
    return value


def _strings(value: Any, path: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise _ShapeError(path, f"expected an array of strings, got {_describe(value)}")
    return tuple(_string(item, f"{path}[{index}]") for index, item in enumerate(value))


def _snapshot(item: Any, where: str) -> _Snapshot:
    if not isinstance(item, dict):
        raise _ShapeError(where, f"expected a snapshot object, got {_describe(item)}")
    time_text, time_path = _get(item, "time", where)
    if not isinstance(time_text, str):
        raise _ShapeError(time_path,
                          f"expected an RFC 3339 time string, got {_describe(time_text)}")
    try:
        time = parse_instant(time_text)
    except ValueError as exc:
        reason = str(exc)
        if repr(time_text) not in reason:
            reason = f"invalid time {time_text!r}: {reason}"
        raise _ShapeError(time_path, reason) from exc
    snapshot_id = _string(*_get(item, "id", where))
    if not snapshot_id:
        raise _ShapeError(f"{where}.id", "snapshot ID is empty")
    # restic leaves out `hostname` and `tags` when they are empty.
    hostname = _string(item.get("hostname", ""), f"{where}.hostname")
    tags = item.get("tags")
    return _Snapshot(
        id=snapshot_id,
        time=time,
        time_original=time_text,
        hostname=hostname,
        tags=() if tags is None else _strings(tags, f"{where}.tags"),
        paths=_strings(*_get(item, "paths", where)),
    )


def _is_group(item: Any) -> bool:
    return isinstance(item, dict) and "group_key" in item and "snapshots" in item


def _parse_snapshots(document: Any) -> list[_Snapshot]:
    """Read the snapshots of a plain or `--group-by` listing, rejecting a repeated ID."""
    if document is None:
        return []
    if not isinstance(document, list):
        raise _ShapeError(None, "expected the JSON array that `restic snapshots --json` "
                                f"prints, got {_describe(document)}")
    grouped = bool(document) and _is_group(document[0])
    entries: list[tuple[Any, str]] = []
    for index, item in enumerate(document):
        if _is_group(item) != grouped:
            kind = "a --group-by group" if grouped else "a snapshot"
            raise _ShapeError(f"[{index}]", f"expected {kind} like the first entry")
        if not grouped:
            entries.append((item, f"[{index}]"))
            continue
        members, members_path = item["snapshots"], f"[{index}].snapshots"
        if not isinstance(members, list):
            raise _ShapeError(members_path, f"expected an array, got {_describe(members)}")
        entries.extend((member, f"{members_path}[{n}]") for n, member in enumerate(members))

    snapshots: list[_Snapshot] = []
    seen: dict[str, str] = {}
    for item, where in entries:
        snapshot = _snapshot(item, where)
        if snapshot.id in seen:
            raise _ShapeError(f"{where}.id", f"snapshot {snapshot.id[:8]} appears twice, "
                                             f"also at {seen[snapshot.id]}")
        seen[snapshot.id] = where
        snapshots.append(snapshot)
    return snapshots


def _matches(snapshot: _Snapshot, params: ResticSnapshotsParams) -> bool:
    if params.host is not None and snapshot.hostname != params.host:
        return False
    if params.tag is not None:
        required_tags = [tag.strip() for tag in params.tag.split(",") if tag.strip()]
        if not all(tag in snapshot.tags for tag in required_tags):
            return False
    return params.paths is None or all(path in snapshot.paths for path in params.paths)


def _filter_text(params: ResticSnapshotsParams) -> str:
    parts = []
    if params.host is not None:
        parts.append(f"host {params.host!r}")
    if params.tag is not None:
        parts.append(f"tag {params.tag!r}")
    if params.paths is not None:
        parts.append("paths " + ", ".join(repr(path) for path in params.paths))
    return " and ".join(parts)


def _summarize(snapshots: list[_Snapshot], now: datetime) -> dict[str, Any]:
    """Compute the GROUP_FACT_NAMES facts of a non-empty group of snapshots."""
    ordered = sorted(snapshots, key=lambda snapshot: (snapshot.time, snapshot.id))
    newest, oldest = ordered[-1], ordered[0]
    facts: dict[str, Any] = {
        "snapshots": len(ordered),
        "newest_time": format_instant(newest.time),
        "newest_time_original": newest.time_original,
        "newest_id": newest.id,
        "newest_age_seconds": _seconds(now - newest.time),
        "oldest_time": format_instant(oldest.time),
        "oldest_time_original": oldest.time_original,
        "oldest_id": oldest.id,
        "retention_days": (now - oldest.time) / timedelta(days=1),
    }
    if len(ordered) >= 2:
        gaps = (later.time - earlier.time for earlier, later in pairwise(ordered))
        facts["max_gap_seconds"] = _seconds(max(gaps))
    return facts


def _worst_of_hosts(by_host: dict[str, dict[str, Any]]) -> tuple[dict[str, Any], dict[str, str]]:
    """Pick each top-level fact from the host with the worst value, and explain a missing gap."""
    facts: dict[str, Any] = {}
    # format_instant writes fixed-width UTC, so these strings sort in time order.
    stalest = min(by_host.items(), key=lambda item: (item[1]["newest_time"], item[0]))[1]
    for name in ("newest_time", "newest_time_original", "newest_id", "newest_age_seconds"):
        facts[name] = stalest[name]
    shortest = max(by_host.items(), key=lambda item: (item[1]["oldest_time"], item[0]))[1]
    for name in ("oldest_time", "oldest_time_original", "oldest_id", "retention_days"):
        facts[name] = shortest[name]

    absent: dict[str, str] = {}
    single = [host for host, host_facts in by_host.items() if "max_gap_seconds" not in host_facts]
    if len(single) == 1:
        absent["max_gap_seconds"] = f"host {single[0]!r} has only one snapshot"
    elif single:
        names = ", ".join(repr(host) for host in single)
        absent["max_gap_seconds"] = f"hosts {names} have only one snapshot each"
    else:
        facts["max_gap_seconds"] = max(host_facts["max_gap_seconds"]
                                       for host_facts in by_host.values())
    return facts, absent


def _judge_snapshots(snapshots: list[_Snapshot], params: ResticSnapshotsParams, now: datetime,
                     source: Path) -> Collected:
    """Build the facts of the snapshots that match the filters."""
    matching = [snapshot for snapshot in snapshots if _matches(snapshot, params)]
    hosts = sorted({snapshot.hostname for snapshot in matching})
    tags = sorted({tag for snapshot in matching for tag in snapshot.tags})
    facts: dict[str, Any] = {
        "snapshots": len(matching), "snapshots_total": len(snapshots),
        "hosts": hosts, "tags": tags, "by_host": {}, "by_tag": {},
    }
    result = Collected(facts=facts, artifacts=[source])

    if not matching:
        if snapshots:
            all_hosts = ", ".join(sorted({snapshot.hostname for snapshot in snapshots}))
            message = (f"no snapshots match {_filter_text(params)} (the file has "
                       f"{len(snapshots)} snapshots, hosts: {all_hosts})")
        else:
            message = "no snapshots"
        result.failures.append(message)
        result.absent.update((name, message) for name in GROUP_FACT_NAMES if name != "snapshots")
        return result

    by_host = {host: _summarize([s for s in matching if s.hostname == host], now) for host in hosts}
    facts["by_host"] = by_host
    facts["by_tag"] = {tag: _summarize([s for s in matching if tag in s.tags], now) for tag in tags}
    worst, absent = _worst_of_hosts(by_host)
    facts.update(worst)
    result.absent.update(absent)
    result.observed_at = max(snapshot.time for snapshot in matching)

    for snapshot in sorted(matching, key=lambda snapshot: snapshot.time):
        if snapshot.time > now:
            result.warnings.append(
                f"snapshot {snapshot.id[:8]} of host {snapshot.hostname!r} was taken at "
                f"{format_instant(snapshot.time)}, after the evaluation time "
                f"{format_instant(now)}, so its age is negative")
    return result


# restic.check

# Progress and step lines that restic check prints on a clean run. Older restic
# releases capitalised the step lines ("Load indexes", as in restic's FAQ), so
# they match in any case.
# NOTE: only restic 0.14.0 output was run through these patterns. The lines of
# later releases come from reading restic's cmd_check.go, so a progress line
# that a release adds and this list lacks counts as an error line.
_PROGRESS_LINES = [re.compile(pattern, re.IGNORECASE) for pattern in (
    r"using temporary cache in .*",
    r"created new cache in .*",
    r"found \d+ old cache director(y|ies) in .*",
    r"repository [0-9a-f]+ opened .*",
    r"enter password for repository:.*",
    r"create exclusive lock for repository",
    r"load indexes",
    r"check all packs",
    r"check snapshots, trees and blobs",
    r"read all (filtered )?data",
    r"read group #\d+ of .*",
    r"read \d+(\.\d+)?% of .*",
    r"read \d+ bytes .*",
    r"\[\d+:\d{2}(:\d{2})?\] .*",
    r"duration: .*",
    r"no errors were found",
)]

# Lines restic itself calls non-critical: the check still passes (exit 0).
_HINT_LINES = [re.compile(pattern, re.IGNORECASE) for pattern in (
    r"pack [0-9a-f]+ contained in several indexes.*",
    r"pack [0-9a-f]+ contains a mix of tree and data blobs",
    r"pack [0-9a-f]+: not referenced in any index",
    r"index [0-9a-f]+ has old format",
    r"\d+ additional files were found in the repo, which likely contain duplicate data\.",
    r".*\bnon-critical\b.*",
    r"(you can )?run `restic (rebuild-index|repair index|prune)[`']? to correct this\.?",
)]

# Lines that show the output comes from `restic check`.
_CHECK_MARKERS = re.compile(
    r"(create exclusive lock for repository|load indexes|check all packs"
    r"|check snapshots, trees and blobs|no errors were found|fatal: .*"
    r"|using temporary cache in .*restic-check-cache-.*)",
    re.IGNORECASE,
)
_REPOSITORY_OPENED = re.compile(r"repository ([0-9a-f]+) opened\b", re.IGNORECASE)
_READ_ALL = re.compile(r"read all (filtered )?data", re.IGNORECASE)
_READ_SUBSET = re.compile(r"read (group #\d+|\d+(\.\d+)?%|\d+ bytes) ", re.IGNORECASE)
# Terminal control sequences, such as the ESC [2K that clears a progress line.
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class ResticCheck(Collector):
    """Errors and hints that `restic check` reported."""

    name = "restic.check"
    version = "1"
    summary = "Whether `restic check` found errors in the repository, with the lines it printed."
    Params = PathParams
    facts = (
        Fact(name="errors_found", type="bool", description="True when the output has any line "
             "that is neither progress nor a hint, such as 'error:', 'Fatal:', 'error for "
             "tree' or 'Pack ID does not match'. Conservative: an unrecognised line counts."),
        Fact(name="no_errors_found_line", type="bool",
             description="True when restic printed 'no errors were found'."),
        Fact(name="error_lines", type="list",
             description="The lines counted by errors_found, in file order."),
        Fact(name="hint_lines", type="list", description="Lines restic calls non-critical, "
             "such as 'pack ... contained in several indexes' or packs not referenced in any "
             "index. They do not set errors_found."),
        Fact(name="read_data", type="str", description="'all' when restic read all pack data "
             "(--read-data), 'subset' for --read-data-subset, 'none' when it read none."),
        Fact(name="repository_id", type="str", description="Short repository ID from the "
             "'repository ... opened' line, which restic 0.14.0 prints only to a terminal."),
    )

    def collect(self, params: PathParams, context: CollectContext) -> Collected:
        """Read one saved `restic check` output and classify its lines."""
        path = resolve_single_input(context.workspace, params.path)
        display = relative_name(context.workspace, path)
        text = decode_text(read_input_bytes(path, display), display)
        return _judge_check(text, display, path)


def _check_lines(text: str, display: str) -> list[str]:
    """Split the output into stripped, non-empty lines, checking that restic check wrote it."""
    # splitlines also splits at the carriage returns of a terminal's progress lines.
    lines = [_ANSI_ESCAPE.sub("", line).strip() for line in text.splitlines()]
    lines = [line for line in lines if line]
    expected = ("expected the output of `restic check`, with lines such as 'load indexes', "
                "'check all packs' and 'no errors were found', or a 'Fatal:' line")
    if not lines:
        raise CollectorError(f"file is empty; {expected} (restic check --quiet prints "
                             "nothing on success, so save its output without --quiet)",
                             path=display)
    if lines[0].startswith("{") and '"message_type"' in lines[0]:
        raise CollectorError("this is `restic check --json` output, but this collector reads "
                             "the text output of `restic check`", path=display, location="1")
    if not any(_CHECK_MARKERS.fullmatch(line) for line in lines):
        raise CollectorError(f"no `restic check` output found: {expected}", path=display)
    return lines


def _judge_check(text: str, display: str, source: Path) -> Collected:
    """Build the facts of one `restic check` output."""
    lines = _check_lines(text, display)
    error_lines: list[str] = []
    hint_lines: list[str] = []
    for line in lines:
        if any(pattern.fullmatch(line) for pattern in _PROGRESS_LINES):
            continue
        if any(pattern.fullmatch(line) for pattern in _HINT_LINES):
            hint_lines.append(line)
        else:
            error_lines.append(line)

    no_errors_line = any(line.lower() == "no errors were found" for line in lines)
    has_fatal = any(line.startswith("Fatal:") for line in lines)
    if any(_READ_ALL.fullmatch(line) for line in lines):
        read_data = "all"
    elif any(_READ_SUBSET.match(line) for line in lines):
        read_data = "subset"
    else:
        read_data = "none"
    facts: dict[str, Any] = {
        "errors_found": bool(error_lines),
        "no_errors_found_line": no_errors_line,
        "error_lines": error_lines,
        "hint_lines": hint_lines,
        "read_data": read_data,
    }
    result = Collected(facts=facts, artifacts=[source])

    repository_ids = sorted({match[1] for line in lines
                             if (match := _REPOSITORY_OPENED.match(line))})
    if len(repository_ids) > 1:
        raise CollectorError(f"the output names several repositories ({', '.join(repository_ids)});"
                             " save the output of one check per file", path=display)
    if repository_ids:
        facts["repository_id"] = repository_ids[0]
    else:
        result.absent["repository_id"] = ("the output has no 'repository ... opened' line "
                                          "(restic 0.14.0 prints it only to a terminal)")

    if not no_errors_line and not has_fatal:
        result.failures.append("the output has neither 'no errors were found' nor a 'Fatal:' "
                               "line, so the check did not finish")
    if no_errors_line and error_lines:
        result.warnings.append(f"restic printed 'no errors were found', but {len(error_lines)} "
                               f"other line(s) are not progress or hints, so errors_found is "
                               f"true; first: {error_lines[0]!r}")
    return result
