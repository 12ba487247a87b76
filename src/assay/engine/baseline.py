"""Recorded runs, and baselines: a scope's blessed results that `assay check` compares against.

`assay baseline bless` takes the latest complete run of a scope and records
each control's status, the SHA-256 of its definition and the SHA-256 of the
workspace params its assertions read. The definition and those params are
recorded too, so that a later check can name what changed. The `baseline` record
is appended in a maintenance run of its own, closed by a checkpoint signed
with the workspace key, as a purge's tombstone is. The same document can be
written to a JSON file and committed, for runners that have no ledger:

    {"format": "assay.baseline", "format_version": 1, "scope", "run",
     "run_now", "run_time", "blessed_at", "workspace", "git_commit",
     "params_sha256", "allow_failures",
     "controls": {ID: {"status", "definition_sha256", "params_sha256", "gate",
                       "source", "definition", "params"}},
     "ledger_record": {"seq", "hash"}}

`ledger_record` is only in the exported file: it names the ledger record the
file was exported from.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from assay.engine.status import MET, Status
from assay.errors import ConfigError, LedgerError, UsageError
from assay.evidence.ledger import Ledger, NewRecord
from assay.evidence.records import StoredRecord, canonical
from assay.keys import SigningKey
from assay.policies.cel import ExpressionError, references
from assay.timeutil import format_instant

BASELINE_FORMAT = "assay.baseline"
BASELINE_VERSION = 1


# Recorded runs --------------------------------------------------------------


@dataclass(frozen=True)
class RecordedRun:
    """A run that `assay run` recorded: the seq and body of its `run` record."""

    run: str
    scope: str
    seq: int
    time: str
    complete: bool
    body: dict[str, Any]

    @property
    def now(self) -> str:
        """The `--now` instant the run judged ages against (RFC 3339)."""
        return str(self.body.get("now") or self.time)


@dataclass
class RunContents:
    """The evidence and result records of one run, by control."""

    run: RecordedRun
    evidence: dict[tuple[str, str], dict[str, Any]]
    results: dict[str, dict[str, Any]]

    def evidence_of(self, control: str) -> dict[str, dict[str, Any]]:
        return {key[1]: body for key, body in self.evidence.items() if key[0] == control}


def recorded_runs(ledger: Ledger) -> list[RecordedRun]:
    """List the runs that have a `run` record, in ledger order.

    Maintenance runs (a baseline, a tombstone, an attestation) have no `run`
    record and are left out.
    """
    complete = ledger.complete_runs()
    runs = []
    for record in ledger.records_of_kind("run"):
        header = record.header_fields()
        runs.append(
            RecordedRun(
                run=header["run"],
                scope=header["scope"],
                seq=record.seq,
                time=header["time"],
                complete=header["run"] in complete,
                body=record.body_fields() or {},
            )
        )
    return runs


def latest_complete_run(ledger: Ledger, scope: str) -> RecordedRun:
    """Return the last complete run of `scope`; raise UsageError when it has none."""
    for run in reversed(recorded_runs(ledger)):
        if run.complete and run.scope == scope:
            return run
    raise UsageError(f"the ledger has no complete run of scope {scope!r}; run `assay run` first")


def read_run(ledger: Ledger, run: RecordedRun) -> RunContents:
    """Read a run's evidence and result records."""
    evidence: dict[tuple[str, str], dict[str, Any]] = {}
    results: dict[str, dict[str, Any]] = {}
    for record in ledger.run_records(run.run):
        kind = record.header_fields()["kind"]
        if kind not in ("evidence", "result"):
            continue
        body = record.body_fields() or {}
        if kind == "evidence":
            evidence[(str(body.get("control")), str(body.get("evidence")))] = body
        else:
            results[str(body.get("control"))] = body
    return RunContents(run, evidence, results)


# Params hashes --------------------------------------------------------------


def referenced_params(expressions: Iterable[str], params: dict[str, Any]) -> dict[str, Any]:
    """Return the workspace params that `expressions` read, by name.

    An expression that reads `params` as a whole (`params[name]` with a
    computed name) reads every param. Names the params do not define are left
    out; `assay lint` reports them.
    """
    names: set[str] = set()
    for expression in expressions:
        try:
            found = references(expression)
        except ExpressionError:
            # The expression does not tokenize, so its param references are
            # unknown and every param counts.
            return dict(params)
        for reference in found:
            if reference.path[0] != "params":
                continue
            if len(reference.path) == 1:
                return dict(params)
            names.add(reference.path[1])
    return {name: params[name] for name in sorted(names) if name in params}


def params_sha256(params: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON (RFC 8785) of a params map."""
    return hashlib.sha256(canonical(params)).hexdigest()


def assertion_expressions(definition: dict[str, Any]) -> list[str]:
    """Return the `expr` of every assertion of a recorded control definition."""
    return [str(item.get("expr", "")) for item in definition.get("assert") or []]


# The baseline document ------------------------------------------------------


class _Document(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class BaselineControl(_Document):
    """One control as blessed: its status and what its definition and params were."""

    status: str = Field(description="Status in the blessed run: pass, waived, fail, ...")
    definition_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    params_sha256: str = Field(
        pattern=r"^[0-9a-f]{64}$",
        description="SHA-256 of the params the control's assertions read.",
    )
    gate: Literal["fail", "warn"] = "fail"
    source: str | None = Field(
        default=None, description="The control's file, relative to the workspace."
    )
    definition: dict[str, Any] | None = None
    params: dict[str, Any] = Field(default_factory=dict)

    @property
    def met(self) -> bool:
        return self.status in MET


class LedgerRecordRef(_Document):
    """The ledger record that an exported baseline was copied from."""

    seq: int
    hash: str


class Baseline(_Document):
    """A scope's blessed baseline, as recorded in the ledger and exported to a file."""

    format: Literal["assay.baseline"] = BASELINE_FORMAT
    format_version: Literal[1] = BASELINE_VERSION
    scope: str
    run: str
    run_now: str
    run_time: str
    blessed_at: str
    workspace: str
    git_commit: str | None = None
    params_sha256: str = Field(description="SHA-256 of all workspace params in the blessed run.")
    allow_failures: bool = False
    controls: dict[str, BaselineControl]
    ledger_record: LedgerRecordRef | None = None

    def record_body(self) -> dict[str, Any]:
        """Return the body of the `baseline` ledger record: the document less `ledger_record`."""
        return self.model_dump(mode="json", exclude={"ledger_record"})

    def document(self) -> dict[str, Any]:
        """Return the document to export, `ledger_record` included when known."""
        return self.model_dump(mode="json", exclude_none=False)

    @property
    def origin(self) -> str:
        if self.ledger_record is not None:
            return f"ledger record seq {self.ledger_record.seq}"
        return "baseline file"


def baseline_from_record(record: StoredRecord) -> Baseline:
    """Parse a `baseline` ledger record."""
    body = record.body_fields() or {}
    try:
        baseline = Baseline.model_validate(body)
    except ValidationError as exc:
        raise LedgerError(
            f"baseline record seq {record.seq} is not a valid baseline: {_first_error(exc)}"
        ) from exc
    return baseline.model_copy(
        update={"ledger_record": LedgerRecordRef(seq=record.seq, hash=record.hash)}
    )


def read_baseline_file(path: Path) -> Baseline:
    """Read a file written by `assay baseline bless --out`; raise ConfigError when invalid."""
    try:
        data = json.loads(path.read_bytes())
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the baseline: {exc.strerror}") from exc
    except ValueError as exc:
        raise ConfigError(f"{path}: not a JSON baseline file ({exc})") from exc
    if not isinstance(data, dict) or data.get("format") != BASELINE_FORMAT:
        raise ConfigError(
            f'{path}: not an assay baseline file (expected "format": "{BASELINE_FORMAT}"); '
            "export one with `assay baseline bless --out FILE`"
        )
    if data.get("format_version") != BASELINE_VERSION:
        raise ConfigError(
            f"{path}: baseline format version {data.get('format_version')!r} is not supported; "
            f"this assay reads version {BASELINE_VERSION}"
        )
    try:
        return Baseline.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{path}: invalid baseline: {_first_error(exc)}") from exc


def write_baseline_file(baseline: Baseline, path: Path) -> None:
    """Write `baseline` as indented JSON with sorted keys, so that diffs of the file stay small."""
    text = json.dumps(baseline.document(), indent=2, sort_keys=True, ensure_ascii=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n", encoding="utf-8")


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"])
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{where}: {error['msg']}{more}" if where else f"{error['msg']}{more}"


def latest_baseline(ledger: Ledger, scope: str) -> Baseline | None:
    """Return the last baseline of `scope` recorded by a complete run, or None."""
    complete = ledger.complete_runs()
    for record in reversed(ledger.records_of_kind("baseline")):
        header = record.header_fields()
        if header["scope"] == scope and header["run"] in complete:
            return baseline_from_record(record)
    return None


# Blessing -------------------------------------------------------------------


MET_OR_NOT_APPLICABLE = MET | {Status.NOT_APPLICABLE}


def build_baseline(
    ledger: Ledger, run: RecordedRun, *, now: datetime, allow_failures: bool
) -> Baseline:
    """Build the baseline of a recorded run from its result records and control definitions.

    Raises UsageError when a control of the run is not met (fail, error,
    missing, manual) and `allow_failures` is false.
    """
    contents = read_run(ledger, run)
    if not contents.results:
        raise UsageError(f"run {run.run} recorded no result; there is nothing to bless")
    not_met = sorted(
        f"{control} ({body.get('status')})"
        for control, body in contents.results.items()
        if body.get("status") not in MET_OR_NOT_APPLICABLE
    )
    if not_met and not allow_failures:
        raise UsageError(
            f"run {run.run[:12]} of scope {run.scope!r} has controls that are not met: "
            f"{', '.join(not_met)}; fix them and run again, or pass --allow-failures to bless "
            "them as known failures"
        )
    definitions = _recorded_definitions(ledger)
    run_params = run.body.get("params") or {}
    controls: dict[str, BaselineControl] = {}
    for control, body in sorted(contents.results.items()):
        digest = str(body.get("control_sha256"))
        recorded = definitions.get(digest)
        if recorded is None:
            raise LedgerError(
                f"run {run.run} judged control {control} with definition {digest}, but the "
                "ledger has no control record of that definition"
            )
        definition = recorded["definition"]
        params = referenced_params(assertion_expressions(definition), run_params)
        controls[control] = BaselineControl(
            status=str(body.get("status")),
            definition_sha256=digest,
            params_sha256=params_sha256(params),
            gate=definition.get("gate", "fail"),
            source=recorded.get("source"),
            definition=definition,
            params=params,
        )
    return Baseline(
        scope=run.scope,
        run=run.run,
        run_now=run.now,
        run_time=run.time,
        blessed_at=format_instant(now),
        workspace=str(run.body.get("workspace", "")),
        git_commit=run.body.get("git_commit"),
        params_sha256=params_sha256(run_params),
        allow_failures=allow_failures,
        controls=controls,
    )


def _recorded_definitions(ledger: Ledger) -> dict[str, dict[str, Any]]:
    definitions: dict[str, dict[str, Any]] = {}
    for record in ledger.records_of_kind("control"):
        body = record.body_fields() or {}
        definitions[str(body.get("definition_sha256"))] = body
    return definitions


def bless(
    ledger: Ledger,
    *,
    scope: str,
    key: SigningKey,
    now: datetime,
    allow_failures: bool = False,
) -> Baseline:
    """Record the latest complete run of `scope` as its baseline; return the recorded baseline.

    The `baseline` record is appended in a maintenance run of its own and
    closed by a checkpoint signed with `key`.
    """
    run = latest_complete_run(ledger, scope)
    baseline = build_baseline(ledger, run, now=now, allow_failures=allow_failures)
    maintenance_run = uuid.uuid4().hex
    stamp = format_instant(now)
    stored = ledger.append(
        run=maintenance_run,
        scope=scope,
        time=stamp,
        entries=[NewRecord("baseline", baseline.record_body())],
    )
    ledger.checkpoint(run=maintenance_run, scope=scope, time=stamp, key=key)
    record = stored[0]
    return baseline.model_copy(
        update={"ledger_record": LedgerRecordRef(seq=record.seq, hash=record.hash)}
    )
