"""Collector for Kubernetes API server audit logs (audit.k8s.io/v1 Event objects).

Accepted inputs, plain or gzip (detected by the gzip magic bytes):

* one Event per line, as the log backend writes it (`--audit-log-path`);
* an EventList document, pretty-printed or not, or one EventList per line.

Several files matched by `path` (rotated parts of one log) are read in the
lexical order of their paths.

The API server logs one request up to three times under one auditID, once
per stage: RequestReceived, ResponseStarted (only for long-running requests
such as watch), then ResponseComplete, or Panic when the handler panicked
(Kubernetes documentation, "Auditing"). Events are grouped by auditID, so a
request counts once, and its latest stage in that order describes it. A
request whose log has only RequestReceived or ResponseStarted still counts,
and incomplete_requests lists it with its stage.

Times are RFC 3339 and kept to the microsecond. Memory grows with the number
of distinct auditIDs, because one small record per request is kept until the
end.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import orjson
from pydantic import Field

from assay.errors import CollectorError
from assay.evidence.collectors.base import (
    input_limit,
    fact as _fact,
    CollectContext,
    Collected,
    Collector,
    CollectorParams,
    relative_name,
    resolve_input,
)
from assay.evidence.collectors.jsonload import load_strict
from assay.timeutil import format_instant, parse_instant

# Later stages describe a request better, so each stage has a rank.
STAGE_RANK = {"RequestReceived": 0, "ResponseStarted": 1, "ResponseComplete": 2, "Panic": 3}
COMPLETE_RANK = STAGE_RANK["ResponseComplete"]

SECRET_VERBS = frozenset({
    "get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"
})  # fmt: skip
WRITE_VERBS = frozenset({"create", "update", "patch", "delete", "deletecollection"})
BINDING_RESOURCES = frozenset({"rolebindings", "clusterrolebindings"})
BINDING_WRITE_VERBS = frozenset({"create", "update", "patch"})
RBAC_GROUP = "rbac.authorization.k8s.io"

DEFAULT_PRIVILEGED_ROLES = ("cluster-admin", "admin")
DEFAULT_MAX_LISTED_EVENTS = 1000

_GZIP_MAGIC = b"\x1f\x8b"
_BOM = b"\xef\xbb\xbf"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_EXPECTED = "expected Kubernetes audit events: one audit.k8s.io Event per line, or an EventList"


class K8sAuditParams(CollectorParams):
    """Parameters of the k8s.audit collector."""

    path: str = Field(
        description="Audit log file (plain or gzip), or a glob matching the rotated parts of one "
        "log, relative to the workspace. Parts are read in the lexical order of their paths."
    )
    privileged_roles: list[str] = Field(
        default_factory=lambda: list(DEFAULT_PRIVILEGED_ROLES),
        description="ClusterRole names whose bindings privileged_bindings reports.",
    )
    max_listed_events: int = Field(
        default=DEFAULT_MAX_LISTED_EVENTS,
        gt=0,
        description="Largest number of requests listed in each `events` list of a fact; the "
        "counts include every request.",
    )


_REQUEST_LIST = (
    "{count, events, truncated}: events is a list of requests as {audit_id, time (the "
    "requestReceivedTimestamp), user, verb, resource (with /subresource), namespace, name, "
    "code, ...} sorted by time, at most max_listed_events long, and truncated tells whether "
    "requests were left out."
)
_NOT_REJECTED = "not rejected (no response code, or one below 400)"


class K8sAudit(Collector):
    name = "k8s.audit"
    version = "1"
    summary = (
        "Read Kubernetes API server audit events: requests by verb and user, denials, "
        "privileged role bindings, secret access, impersonation and panics."
    )
    Params = K8sAuditParams
    facts = (
        _fact("requests", "int", "requests", "Distinct auditIDs: each request counts once, "
              "whatever the number of stages logged for it."),
        _fact("events", "int", "events", "Audit events read: lines, or items of EventLists."),
        _fact("by_verb", "map", None, "Map from verb to its number of requests."),
        _fact("by_user", "map", None, "Map from user.username to its number of requests. "
              "Requests without a username (failed authentication) are left out."),
        _fact("denials", "map", None, "Requests answered with code 403: " + _REQUEST_LIST),
        _fact("failed_authentication", "map", None, "Requests answered with code 401: "
              + _REQUEST_LIST + " Each event has source_ips."),
        _fact("panics", "map", None, "Requests logged at the Panic stage: " + _REQUEST_LIST),
        _fact("impersonation", "map", None, "Requests with impersonatedUser: " + _REQUEST_LIST
              + " Each event has impersonated_user."),
        _fact("privileged_bindings", "map", None, "create, update and patch requests on "
              "RoleBindings and ClusterRoleBindings, " + _NOT_REJECTED + ", whose roleRef "
              "(from requestObject, else responseObject) is a ClusterRole named in "
              "privileged_roles: " + _REQUEST_LIST + " Each event has role and subjects."),
        _fact("role_binding_writes_unchecked", "int", "requests", "Writes to RoleBindings or "
              "ClusterRoleBindings whose events carry no roleRef, because the audit policy "
              "logs them at the Metadata level, so privileged_bindings cannot judge them."),
        _fact("secret_access", "map", None, "get, list, watch, create, update, patch, delete "
              "and deletecollection requests on secrets, " + _NOT_REJECTED + ": "
              + _REQUEST_LIST),
        _fact("secret_writes", "int", "requests", "The secret_access requests whose verb is "
              "create, update, patch, delete or deletecollection."),
        _fact("incomplete_requests", "map", None, "Requests logged only at RequestReceived or "
              "ResponseStarted: " + _REQUEST_LIST + " Each event has stage."),
        _fact("first_event_at", "timestamp", None, "Earliest requestReceivedTimestamp or "
              "stageTimestamp, RFC 3339 UTC to the microsecond."),
        _fact("last_event_at", "timestamp", None, "Latest requestReceivedTimestamp or "
              "stageTimestamp, RFC 3339 UTC to the microsecond, which is also the observation "
              "time."),
        _fact("max_request_seconds", "number", "s", "Longest request: stageTimestamp of its "
              "ResponseComplete or Panic event minus its requestReceivedTimestamp. Long-running "
              "requests (watch, exec) last as long as their connection. Absent when no request "
              "has both times."),
        _fact("slowest_request", "map", None, "The request of max_request_seconds as "
              "{audit_id, time, user, verb, resource, namespace, name, code, seconds}."),
    )  # fmt: skip

    def collect(self, params: K8sAuditParams, context: CollectContext) -> Collected:
        """Read every part of one audit log and return its facts."""
        files = resolve_input(context.workspace, params.path)
        reader = _AuditReader()
        for file in files:
            reader.read_file(file, relative_name(context.workspace, file))
        return _build_result(reader, params, files)


# Reading


@dataclass(slots=True)
class _Request:
    """Fields of one request that the facts use, merged from its events."""

    audit_id: str
    rank: int
    verb: str
    user: str | None
    impersonated_user: str | None
    resource: str | None
    subresource: str | None
    namespace: str | None
    name: str | None
    api_group: str | None
    code: int | None
    received: int | None
    completed: int | None
    role_ref: tuple[str | None, str] | None
    subjects: list[str] | None
    source_ips: list[str] | None


@dataclass
class _AuditReader:
    """Reader of audit files that merges their events by auditID."""

    requests: dict[str, _Request] = field(default_factory=dict)
    events: int = 0
    blank_lines: int = 0
    first: int | None = None
    last: int | None = None

    def read_file(self, file: Path, display: str) -> None:
        content_lines = 0
        with _open_binary(file, display) as handle:
            for line_number, line in _numbered_lines(handle, display):
                if not line.strip():
                    self.blank_lines += 1
                    continue
                content_lines += 1
                try:
                    value = orjson.loads(line)
                except orjson.JSONDecodeError:
                    if content_lines == 1 and self._read_document(file, display, line):
                        return
                    value = _parse_failed_line(line, line_number, display)
                self._add_value(value, display, str(line_number))

    def _read_document(self, file: Path, display: str, first_line: bytes) -> bool:
        """Read the whole file as one JSON document, such as a pretty-printed EventList.

        Returns False when the file is not one document, so that the caller
        reports the first line. A parse error is raised instead when the first
        line is only `{` or `[`, which starts a multi-line document.
        """
        try:
            document = load_strict(_read_whole(file, display), display, expected=_EXPECTED)
        except CollectorError:
            if first_line.removeprefix(_BOM).strip() in (b"{", b"["):
                raise
            return False
        self._add_value(document, display, None)
        return True

    def _add_value(self, value: Any, display: str, line: str | None) -> None:
        """Add an Event, or the items of an EventList, found on `line` or in the whole file."""
        if isinstance(value, dict) and value.get("kind") == "EventList":
            items = value.get("items")
            if not isinstance(items, list):
                raise CollectorError(
                    "items: expected the list of events of an EventList", path=display,
                    location=line,
                )
            _check_api_version(value, display, line)
            for index, item in enumerate(items):
                where = f"items[{index}]" if line is None else f"{line}: items[{index}]"
                self._add_event(item, display, where)
            return
        if isinstance(value, list) and line is None:
            for index, item in enumerate(value):
                self._add_event(item, display, f"[{index}]")
            return
        self._add_event(value, display, line)

    def _add_event(self, event: Any, display: str, where: str | None) -> None:
        if not isinstance(event, dict):
            raise CollectorError(
                f"expected an audit Event object, found {_describe(event)}; {_EXPECTED}",
                path=display, location=where,
            )
        kind = event.get("kind", "Event")
        if kind != "Event":
            raise CollectorError(
                f"kind: expected Event or EventList, found {_describe(kind)}",
                path=display, location=where,
            )
        _check_api_version(event, display, where)
        request, stage_time = _parse_event(event, display, where)
        self.events += 1
        for time in (request.received, stage_time):
            if time is None:
                continue
            if self.first is None or time < self.first:
                self.first = time
            if self.last is None or time > self.last:
                self.last = time
        self._merge(request)

    def _merge(self, new: _Request) -> None:
        """Merge an event into its request. A later stage replaces the fields an earlier one set."""
        known = self.requests.get(new.audit_id)
        if known is None:
            self.requests[new.audit_id] = new
            return
        if new.rank < known.rank:
            # An earlier stage read after a later one, so it fills only what is missing.
            new, known = known, new
        new.role_ref = new.role_ref or known.role_ref
        new.subjects = new.subjects or known.subjects
        if known.received is not None and (new.received is None or known.received < new.received):
            new.received = known.received
        self.requests[new.audit_id] = new


def _parse_event(
    event: dict[str, Any], display: str, where: str | None
) -> tuple[_Request, int | None]:
    """Check the fields of one Event that the facts use, and return them with stageTimestamp."""

    def fail(message: str) -> CollectorError:
        return CollectorError(message, path=display, location=where)

    audit_id = event.get("auditID")
    if not isinstance(audit_id, str) or not audit_id:
        raise fail(f"auditID: expected a non-empty string, found {_describe(audit_id)}")
    stage = event.get("stage")
    if not isinstance(stage, str) or stage not in STAGE_RANK:
        raise fail(
            "stage: expected RequestReceived, ResponseStarted, ResponseComplete or Panic, "
            f"found {_describe(stage)}"
        )
    verb = event.get("verb")
    if not isinstance(verb, str):
        raise fail(f"verb: expected a string, found {_describe(verb)}")

    object_ref = event.get("objectRef")
    if object_ref is not None and not isinstance(object_ref, dict):
        raise fail(f"objectRef: expected an object, found {_describe(object_ref)}")
    object_ref = object_ref or {}

    status = event.get("responseStatus")
    if status is not None and not isinstance(status, dict):
        raise fail(f"responseStatus: expected an object, found {_describe(status)}")
    code = (status or {}).get("code")
    if code is not None and type(code) is not int:
        raise fail(f"responseStatus.code: expected an integer, found {_describe(code)}")

    received = _micros(event, "requestReceivedTimestamp", fail)
    stage_time = _micros(event, "stageTimestamp", fail)
    if received is None and stage_time is None:
        raise fail("requestReceivedTimestamp and stageTimestamp are both missing")

    resource = _optional_str(object_ref, "resource", fail)
    role_ref, subjects = _binding_of(event, resource)
    ips = event.get("sourceIPs")
    rank = STAGE_RANK[stage]
    request = _Request(
        audit_id=audit_id,
        rank=rank,
        verb=verb,
        user=_username(event.get("user"), "user", fail),
        impersonated_user=_username(event.get("impersonatedUser"), "impersonatedUser", fail),
        resource=resource,
        subresource=_optional_str(object_ref, "subresource", fail),
        namespace=_optional_str(object_ref, "namespace", fail),
        name=_optional_str(object_ref, "name", fail),
        api_group=_optional_str(object_ref, "apiGroup", fail),
        code=code,
        received=received,
        completed=stage_time if rank >= COMPLETE_RANK else None,
        role_ref=role_ref,
        subjects=subjects,
        source_ips=[ip for ip in ips if isinstance(ip, str)] if isinstance(ips, list) else None,
    )
    return request, stage_time


def _check_api_version(value: dict[str, Any], display: str, where: str | None) -> None:
    api_version = value.get("apiVersion")
    if api_version is not None and not (
        isinstance(api_version, str) and api_version.startswith("audit.k8s.io/")
    ):
        raise CollectorError(
            f"apiVersion: expected audit.k8s.io/v1, found {_describe(api_version)}; {_EXPECTED}",
            path=display, location=where,
        )


def _username(user: Any, key: str, fail: Callable[[str], CollectorError]) -> str | None:
    if user is None:
        return None
    if not isinstance(user, dict):
        raise fail(f"{key}: expected an object, found {_describe(user)}")
    name = user.get("username")
    if name is not None and not isinstance(name, str):
        raise fail(f"{key}.username: expected a string, found {_describe(name)}")
    return name or None


def _optional_str(
    object_ref: dict[str, Any], key: str, fail: Callable[[str], CollectorError]
) -> str | None:
    value = object_ref.get(key)
    if value is not None and not isinstance(value, str):
        raise fail(f"objectRef.{key}: expected a string, found {_describe(value)}")
    return value or None


def _micros(
    event: dict[str, Any], key: str, fail: Callable[[str], CollectorError]
) -> int | None:
    """Convert a timestamp field to microseconds since the Unix epoch, or None when absent."""
    text = event.get(key)
    if text is None:
        return None
    if not isinstance(text, str):
        raise fail(f"{key}: expected an RFC 3339 timestamp, found {_describe(text)}")
    try:
        # The API server writes 2026-12-04T21:00:00.101000Z, and many events share a second.
        fraction = text[20:26]
        if len(text) == 27 and text[19] == "." and text[26] == "Z" and fraction.isdecimal():
            return _epoch_seconds(text[:19]) * 1_000_000 + int(fraction)
        return (parse_instant(text) - _EPOCH) // _MICROSECOND
    except ValueError as exc:
        raise fail(f"{key}: {exc}") from exc


@lru_cache(maxsize=4096)
def _epoch_seconds(second: str) -> int:
    """Convert YYYY-MM-DDTHH:MM:SS in UTC to seconds since the Unix epoch."""
    return (parse_instant(second + "Z") - _EPOCH) // timedelta(seconds=1)


def _binding_of(
    event: dict[str, Any], resource: str | None
) -> tuple[tuple[str | None, str] | None, list[str] | None]:
    """Return ((roleRef kind, name), subjects as kind:name) of a role binding event, if present."""
    if resource not in BINDING_RESOURCES:
        return None, None
    for key in ("requestObject", "responseObject"):
        body = event.get(key)
        if not isinstance(body, dict):
            continue
        role_ref = body.get("roleRef")
        if isinstance(role_ref, dict) and isinstance(role_ref.get("name"), str):
            kind = role_ref.get("kind")
            subjects = body.get("subjects")
            names = None
            if isinstance(subjects, list):
                names = [
                    f"{subject.get('kind')}:{subject.get('name')}"
                    for subject in subjects
                    if isinstance(subject, dict)
                ]
            return (kind if isinstance(kind, str) else None, role_ref["name"]), names
    return None, None


# Input handling


def _open_binary(file: Path, display: str) -> IO[bytes]:
    """Open a file for reading bytes, through gzip when it starts with the gzip magic bytes."""
    try:
        with file.open("rb") as handle:
            magic = handle.read(2)
        if magic == _GZIP_MAGIC:
            return gzip.open(file, "rb")
        return file.open("rb")
    except OSError as exc:
        raise CollectorError(f"cannot read input: {exc.strerror}", path=display) from exc


def _numbered_lines(handle: IO[bytes], display: str) -> Iterator[tuple[int, bytes]]:
    """Yield (line number, line), turning damaged gzip data into a CollectorError."""
    line_number = 0
    try:
        for line in handle:
            line_number += 1
            yield line_number, line
    except (OSError, EOFError, zlib.error) as exc:
        raise CollectorError(
            f"invalid gzip data after line {line_number}: {exc}", path=display
        ) from exc


def _read_whole(file: Path, display: str) -> bytes:
    limit = input_limit()
    with _open_binary(file, display) as handle:
        try:
            data = handle.read(limit + 1)
        except (OSError, EOFError, zlib.error) as exc:
            raise CollectorError(f"invalid gzip data: {exc}", path=display) from exc
    if len(data) > limit:
        raise CollectorError(
            f"a single JSON document over {limit} bytes is not read; write one event per "
            "line instead, or raise max_input_size in assay.yaml",
            path=display,
        )
    return data


def _parse_failed_line(line: bytes, line_number: int, display: str) -> Any:
    """Parse a line orjson rejected with the json module, or raise a CollectorError saying why.

    The json module names the column of the fault. A UTF-8 byte-order mark is
    skipped on line 1.
    """
    if line_number == 1:
        line = line.removeprefix(_BOM)
    line = line.rstrip(b"\r\n")
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CollectorError(
            f"invalid UTF-8 (byte 0x{line[exc.start]:02x}); save the file as UTF-8",
            path=display, location=f"{line_number}:{exc.start + 1}",
        ) from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CollectorError(
            f"invalid JSON: {exc.msg}; {_EXPECTED}",
            path=display, location=f"{line_number}:{exc.colno}",
        ) from exc
    except (ValueError, RecursionError) as exc:
        raise CollectorError(
            f"invalid JSON: {exc}", path=display, location=str(line_number)
        ) from exc


def _describe(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, str):
        return f"a string ({json.dumps(value[:40])})"
    if isinstance(value, list):
        return "a JSON array"
    if isinstance(value, dict):
        return "a JSON object"
    return f"the number {value!r}"


# Facts


class _RequestList:
    """Requests picked out for one fact, listed up to a limit."""

    def __init__(self) -> None:
        self.entries: list[tuple[_Request, dict[str, Any]]] = []

    def add(self, request: _Request, **extra: Any) -> None:
        self.entries.append((request, extra))

    def facts(self, limit: int) -> dict[str, Any]:
        ordered = sorted(
            self.entries, key=lambda item: (_request_time(item[0]), item[0].audit_id)
        )
        return {
            "count": len(ordered),
            "events": [_describe_request(request, **extra) for request, extra in ordered[:limit]],
            "truncated": len(ordered) > limit,
        }


def _request_time(request: _Request) -> int:
    if request.received is not None:
        return request.received
    return request.completed if request.completed is not None else 0


def _format_micros(micros: int) -> str:
    return format_instant(_EPOCH + micros * _MICROSECOND)


def _describe_request(request: _Request, **extra: Any) -> dict[str, Any]:
    resource = request.resource
    if resource is not None and request.subresource is not None:
        resource = f"{resource}/{request.subresource}"
    time = request.received if request.received is not None else request.completed
    return {
        "audit_id": request.audit_id,
        "time": None if time is None else _format_micros(time),
        "user": request.user,
        "verb": request.verb,
        "resource": resource,
        "namespace": request.namespace,
        "name": request.name,
        "code": request.code,
        **extra,
    }


def _rejected(request: _Request) -> bool:
    return request.code is not None and request.code >= 400


def _build_result(reader: _AuditReader, params: K8sAuditParams, files: list[Path]) -> Collected:
    limit = params.max_listed_events
    privileged = frozenset(params.privileged_roles)
    stage_names = {rank: stage for stage, rank in STAGE_RANK.items()}
    lists = {
        name: _RequestList()
        for name in ("denials", "failed_authentication", "panics", "impersonation",
                     "privileged_bindings", "secret_access", "incomplete_requests")
    }  # fmt: skip
    by_verb: Counter[str] = Counter()
    by_user: Counter[str] = Counter()
    secret_writes = 0
    unchecked_bindings = 0
    slowest: tuple[int, _Request] | None = None

    for request in reader.requests.values():
        by_verb[request.verb] += 1
        if request.user:
            by_user[request.user] += 1
        if request.code == 403:
            lists["denials"].add(request)
        if request.code == 401:
            lists["failed_authentication"].add(request, source_ips=request.source_ips)
        if request.rank == STAGE_RANK["Panic"]:
            lists["panics"].add(request)
        if request.impersonated_user is not None:
            lists["impersonation"].add(request, impersonated_user=request.impersonated_user)
        if request.rank < COMPLETE_RANK:
            lists["incomplete_requests"].add(request, stage=stage_names[request.rank])
        if _is_secret_access(request):
            lists["secret_access"].add(request)
            secret_writes += request.verb in WRITE_VERBS
        if _is_binding_write(request):
            if request.role_ref is None:
                unchecked_bindings += 1
            elif request.role_ref[0] in (None, "ClusterRole") and request.role_ref[1] in privileged:
                lists["privileged_bindings"].add(
                    request, role=request.role_ref[1], subjects=request.subjects
                )
        if request.received is not None and request.completed is not None:
            duration = request.completed - request.received
            if slowest is None or duration > slowest[0]:
                slowest = (duration, request)

    facts: dict[str, Any] = {
        "requests": len(reader.requests),
        "events": reader.events,
        "by_verb": dict(sorted(by_verb.items())),
        "by_user": dict(sorted(by_user.items())),
        "role_binding_writes_unchecked": unchecked_bindings,
        "secret_writes": secret_writes,
    }
    for name, request_list in lists.items():
        facts[name] = request_list.facts(limit)

    absent: dict[str, str] = {}
    failures: list[str] = []
    warnings: list[str] = []
    observed_at = None
    if reader.first is not None and reader.last is not None:
        facts["first_event_at"] = _format_micros(reader.first)
        facts["last_event_at"] = _format_micros(reader.last)
        observed_at = _EPOCH + reader.last * _MICROSECOND
    else:
        absent["first_event_at"] = absent["last_event_at"] = "no audit events"
        failures.append("no audit events")
    if slowest is not None:
        seconds = slowest[0] / 1_000_000
        facts["max_request_seconds"] = seconds
        facts["slowest_request"] = _describe_request(slowest[1], seconds=seconds)
    else:
        reason = "no request has both a requestReceivedTimestamp and a final stage time"
        absent["max_request_seconds"] = absent["slowest_request"] = reason
    if reader.blank_lines:
        warnings.append(f"skipped {reader.blank_lines} blank lines")
    return Collected(
        facts=facts,
        artifacts=files,
        observed_at=observed_at,
        absent=absent,
        failures=failures,
        warnings=warnings,
    )


def _is_secret_access(request: _Request) -> bool:
    return (
        request.resource == "secrets"
        and request.api_group is None
        and request.subresource is None
        and request.verb in SECRET_VERBS
        and not _rejected(request)
    )


def _is_binding_write(request: _Request) -> bool:
    return (
        request.resource in BINDING_RESOURCES
        and request.api_group in (None, RBAC_GROUP)
        and request.verb in BINDING_WRITE_VERBS
        and not _rejected(request)
    )
