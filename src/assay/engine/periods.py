"""Summarise each control over a period of time, from the ledger alone.

A period is half-open, [start, end). `parse_period` reads START..END: a date
START means its UTC midnight, and a date END means the end of that day, so
the period ends at the next day's UTC midnight. An instant without an offset
is read as UTC.

Which runs count:

* Only complete runs (closed by a checkpoint at or before the ledger's last
  checkpoint) of the requested scope count. Records after the last
  checkpoint belong to no signed chain and are ignored.
* A run's time is the latest `observed_at` among its evidence records.
  When none of its evidence has an `observed_at`, the run's time is the
  `now` of its run record. A run belongs to the period when its time is at
  or after start and before end.

Per control, over the runs in the period in time order (ties by ledger seq):

* `counted` is the number of runs whose result status is not
  `not_applicable`, and `share_met` is the number of those that are met
  (pass or waived) divided by `counted`, or None when `counted` is 0.
* A window not met opens at the time of a run that is not met after a met
  run (or at the first run), and closes at the time of the next met run.
  A window still open after the last run closes at the period end and is
  marked open. `not_applicable` runs neither open nor close a window.
* The definition in force at a run is the body of the latest `control`
  record of this scope, before the run's result, whose `definition_sha256`
  is the result's `control_sha256`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from assay.engine.readiness import CategoryReadiness, ControlOutcome, evidence_basis, readiness
from assay.engine.status import MET, Status
from assay.errors import UsageError
from assay.evidence.ledger import Ledger
from assay.evidence.records import canonical
from assay.timeutil import format_instant, parse_instant

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Period:
    """A half-open interval [start, end) of aware UTC datetimes."""

    start: datetime
    end: datetime

    def contains(self, instant: datetime) -> bool:
        return self.start <= instant < self.end


def _parse_bound(text: str, *, is_end: bool) -> datetime:
    text = text.strip()
    if _DATE.match(text):
        midnight = datetime.fromisoformat(text).replace(tzinfo=UTC)
        return midnight + timedelta(days=1) if is_end else midnight
    instant = parse_instant(text, require_offset=False)
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    return instant


def parse_period(text: str) -> Period:
    """Parse START..END (dates or RFC 3339 instants); raise UsageError when it is invalid."""
    start_text, sep, end_text = text.partition("..")
    if not sep or not start_text.strip() or not end_text.strip():
        raise UsageError(f"--period {text!r}: expected START..END, such as 2026-04-01..2026-06-30")
    try:
        start = _parse_bound(start_text, is_end=False)
        end = _parse_bound(end_text, is_end=True)
    except ValueError as exc:
        raise UsageError(f"--period {text!r}: {exc}; use dates or RFC 3339 instants") from exc
    if end <= start:
        raise UsageError(f"--period {text!r}: the end is not after the start")
    return Period(start, end)


@dataclass
class EvidenceUse:
    """One evidence record behind a result: its facts and stored artifacts."""

    evidence: str
    collector: str
    status: str
    observed_at: str | None
    facts: dict[str, Any] | None
    artifacts: list[dict[str, Any]]


@dataclass
class ControlRun:
    """A control's result in one run of the period."""

    run: str
    time: str
    seq: int
    status: str
    reasons: list[str]
    control_sha256: str | None
    waiver_sha256: str | None
    waiver: dict[str, Any] | None
    attestation: dict[str, Any] | None
    evidence: list[EvidenceUse]


@dataclass
class Window:
    """A stretch of time in which a control was not met; `end` is the period end when `open`."""

    start: str
    end: str
    duration_seconds: float
    open: bool
    first_run: str
    runs: int


@dataclass
class InForce:
    """A waiver, attestation or definition seen in the period's results, with when it applied."""

    key: str
    detail: dict[str, Any] | None
    first_time: str
    last_time: str
    runs: int


@dataclass
class ControlPeriod:
    """One control over the period."""

    control: str
    title: str
    criteria: list[str]
    runs: list[ControlRun]
    counted: int
    met: int
    share_met: float | None
    windows: list[Window]
    waivers: list[InForce]
    attestations: list[InForce]
    definitions: list[InForce]

    @property
    def status(self) -> Status:
        """The period status: pass when every counted run was met, fail otherwise."""
        if self.counted == 0:
            return Status.NOT_APPLICABLE if self.runs else Status.MISSING
        return Status.PASS if self.met == self.counted else Status.FAIL


@dataclass
class PeriodRun:
    """A complete run that belongs to the period."""

    run: str
    time: str
    now: str
    first_seq: int
    checkpoint_seq: int


@dataclass
class PeriodSummary:
    """Everything a period pack reports, as plain JSON-ready data."""

    workspace: str | None
    scope: str
    start: str
    end: str
    head_seq: int
    head_hash: str
    head_time: str | None
    categories: list[str]
    runs: list[PeriodRun]
    controls: list[ControlPeriod]
    readiness: list[CategoryReadiness]
    # Record seqs whose bodies the pack includes: the period's runs, and the
    # control and tombstone records those runs' results depend on.
    body_seqs: set[int] = field(default_factory=set)
    # Artifact SHA-256 -> size (None for a file attached to an attestation,
    # whose size is not recorded), for every artifact of the period's results.
    artifacts: dict[str, int | None] = field(default_factory=dict)
    # Artifact SHA-256 values deleted on purpose (a tombstone record names them).
    purged: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        data = {
            name: value for name, value in asdict(self).items()
            if name not in ("body_seqs", "readiness", "controls")
        }
        data["controls"] = [
            {**asdict(control), "status": control.status.value} for control in self.controls
        ]
        data["readiness"] = [item.to_json() for item in self.readiness]
        return data


@dataclass
class _PendingRun:
    seq: int
    now: str | None = None
    categories: list[str] = field(default_factory=list)
    workspace: str | None = None
    seqs: list[int] = field(default_factory=list)
    evidence: dict[str, dict[str, Any]] = field(default_factory=dict)
    results: list[tuple[int, dict[str, Any]]] = field(default_factory=list)


def _last_checkpoint(ledger: Ledger) -> tuple[int, str, str] | None:
    checkpoints = ledger.records_of_kind("checkpoint")
    if not checkpoints:
        return None
    last = checkpoints[-1]
    return last.seq, last.hash, str(last.header_fields()["time"])


def summarise_period(
    ledger: Ledger, period: Period, scope: str, progress: Progress | None = None
) -> PeriodSummary:
    """Read the ledger up to its last checkpoint and summarise every control of `scope` over `period`."""
    head = _last_checkpoint(ledger)
    if head is None:
        raise UsageError("the ledger has no complete run (no checkpoint), so there is nothing to pack")
    head_seq, head_hash, head_time = head
    pending: dict[str, _PendingRun] = {}
    kept: list[tuple[datetime, _PendingRun, str]] = []
    definitions: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    tombstones: dict[str, int] = {}
    step = max(head_seq // 20, 1)
    for record in ledger.records(1, head_seq):
        if progress is not None and record.seq % step == 0:
            progress("reading the ledger", record.seq, head_seq)
        header = record.header_fields()
        kind = header["kind"]
        if kind == "tombstone":
            tombstones[str((record.body_fields() or {}).get("sha256"))] = record.seq
            continue
        if header["scope"] != scope:
            continue
        run_id = header["run"]
        if kind == "checkpoint":
            run = pending.pop(run_id, None)
            if run is not None:
                run.seqs.append(record.seq)
                when = _run_time(run)
                if when is not None and period.contains(when):
                    kept.append((when, run, run_id))
            continue
        run = pending.setdefault(run_id, _PendingRun(seq=record.seq))
        run.seqs.append(record.seq)
        body = record.body_fields() or {}
        if kind == "run":
            run.now = body.get("now")
            run.categories = list(body.get("categories") or [])
            run.workspace = body.get("workspace")
        elif kind == "evidence":
            run.evidence[f"{body.get('control')}/{body.get('evidence')}"] = body
        elif kind == "result":
            run.results.append((record.seq, body))
        elif kind == "control":
            definitions.setdefault(str(body.get("definition_sha256")), []).append((record.seq, body))
    kept.sort(key=lambda item: (item[0], item[1].seq))
    return _summarise(period, scope, (head_seq, head_hash, head_time), kept, definitions, tombstones)


def _run_time(run: _PendingRun) -> datetime | None:
    observed = [
        parse_instant(str(body["observed_at"]))
        for body in run.evidence.values() if body.get("observed_at")
    ]
    if observed:
        return max(observed)
    return parse_instant(run.now) if run.now else None


def _definition_before(
    definitions: dict[str, list[tuple[int, dict[str, Any]]]], sha256: str | None, seq: int
) -> tuple[int, dict[str, Any]] | None:
    found = None
    for record_seq, body in definitions.get(str(sha256), []):
        if record_seq < seq:
            found = (record_seq, body)
    return found


def _summarise(
    period: Period,
    scope: str,
    head: tuple[int, str, str],
    kept: list[tuple[datetime, _PendingRun, str]],
    definitions: dict[str, list[tuple[int, dict[str, Any]]]],
    tombstones: dict[str, int],
) -> PeriodSummary:
    summary = PeriodSummary(
        workspace=None, scope=scope, start=format_instant(period.start),
        end=format_instant(period.end), head_seq=head[0], head_hash=head[1], head_time=head[2],
        categories=[], runs=[], controls=[], readiness=[],
    )
    per_control: dict[str, list[ControlRun]] = {}
    latest_definition: dict[str, dict[str, Any]] = {}
    for when, run, run_id in kept:
        stamp = format_instant(when)
        summary.runs.append(PeriodRun(run_id, stamp, str(run.now), run.seqs[0], run.seqs[-1]))
        summary.body_seqs.update(run.seqs)
        summary.workspace = run.workspace
        summary.categories = run.categories
        for result_seq, body in run.results:
            control_id = str(body.get("control"))
            uses = []
            for name in body.get("evidence") or []:
                evidence = run.evidence.get(name)
                if evidence is None:
                    continue
                artifacts = list(evidence.get("artifacts") or [])
                for artifact in artifacts:
                    summary.artifacts[artifact["sha256"]] = artifact["size"]
                uses.append(EvidenceUse(
                    str(evidence.get("evidence")), str(evidence.get("collector")),
                    str(evidence.get("status")), evidence.get("observed_at"), evidence.get("facts"),
                    artifacts,
                ))
            definition = _definition_before(definitions, body.get("control_sha256"), result_seq)
            if definition is not None:
                summary.body_seqs.add(definition[0])
                latest_definition[control_id] = definition[1]
            per_control.setdefault(control_id, []).append(ControlRun(
                run_id, stamp, result_seq, str(body.get("status")), list(body.get("reasons") or []),
                body.get("control_sha256"), body.get("waiver_sha256"), body.get("waiver"),
                body.get("attestation"), uses,
            ))
            attached = (body.get("attestation") or {}).get("attached") or {}
            if isinstance(attached.get("sha256"), str) and _SHA256.match(attached["sha256"]):
                summary.artifacts.setdefault(attached["sha256"], None)
    for digest in sorted(summary.artifacts):
        if digest in tombstones:
            summary.purged.append(digest)
            summary.body_seqs.add(tombstones[digest])
    for control_id in sorted(per_control):
        summary.controls.append(_control_period(
            control_id, per_control[control_id], period, definitions,
            latest_definition.get(control_id),
        ))
    summary.readiness = readiness(summary.categories, [
        ControlOutcome(control.criteria, control.status,
                       evidence_basis((latest_definition.get(control.control) or {}).get("definition") or {}))
        for control in summary.controls
    ])
    return summary


def _control_period(
    control_id: str,
    runs: list[ControlRun],
    period: Period,
    definitions: dict[str, list[tuple[int, dict[str, Any]]]],
    latest: dict[str, Any] | None,
) -> ControlPeriod:
    definition = (latest or {}).get("definition") or {}
    counted = [run for run in runs if run.status != Status.NOT_APPLICABLE.value]
    met = sum(1 for run in counted if run.status in MET)
    return ControlPeriod(
        control=control_id,
        title=str(definition.get("title") or ""),
        criteria=list(definition.get("criteria") or []),
        runs=runs,
        counted=len(counted),
        met=met,
        share_met=met / len(counted) if counted else None,
        windows=not_met_windows(runs, period.end),
        waivers=_in_force(runs, lambda run: run.waiver_sha256, lambda run: run.waiver),
        attestations=_in_force(
            runs, lambda run: canonical_key(run.attestation) if run.attestation else None,
            lambda run: run.attestation,
        ),
        definitions=_in_force(
            runs, lambda run: run.control_sha256,
            lambda run: (_definition_before(definitions, run.control_sha256, run.seq) or (0, None))[1],
        ),
    )


def not_met_windows(runs: list[ControlRun], period_end: datetime) -> list[Window]:
    """Return the windows in which `runs` (in time order) were not met; see the module docstring."""
    windows: list[Window] = []
    opened: ControlRun | None = None
    count = 0
    for run in runs:
        if run.status == Status.NOT_APPLICABLE.value:
            continue
        if run.status in MET:
            if opened is not None:
                windows.append(_window(opened, run.time, count, open_=False))
                opened = None
            continue
        if opened is None:
            opened, count = run, 0
        count += 1
    if opened is not None:
        windows.append(_window(opened, format_instant(period_end), count, open_=True))
    return windows


def _window(first: ControlRun, end: str, runs: int, *, open_: bool) -> Window:
    seconds = (parse_instant(end) - parse_instant(first.time)).total_seconds()
    return Window(first.time, end, seconds, open_, first.run, runs)


def _in_force(
    runs: list[ControlRun],
    key_of: Callable[[ControlRun], str | None],
    detail_of: Callable[[ControlRun], dict[str, Any] | None] | None,
) -> list[InForce]:
    found: dict[str, InForce] = {}
    for run in runs:
        key = key_of(run)
        if key is None:
            continue
        item = found.get(key)
        if item is None:
            detail = detail_of(run) if detail_of is not None else None
            found[key] = InForce(key, detail, run.time, run.time, 1)
        else:
            item.last_time = run.time
            item.runs += 1
    return list(found.values())


def canonical_key(value: Any) -> str:
    """Return a stable text key for a JSON value (its canonical JSON)."""
    return canonical(value).decode()


def to_json_text(summary: PeriodSummary) -> str:
    """Serialise a summary as sorted, indented JSON."""
    return json.dumps(summary.to_json(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
