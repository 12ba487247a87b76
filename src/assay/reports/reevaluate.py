"""`assay verify --reevaluate`: judge every control of a pack again from the pack's records alone.

Each result record of the pack's run (or of every run of a period pack) is
judged again. The control is rebuilt from its `control` record, and the
params from the `run` record. The evidence outcomes are rebuilt from the
run's `evidence` records: facts, absent facts, failures, status and observed
time. Freshness is checked again
against the `now` of the run record, not the current clock. Then
`assay.engine.evaluate.judge`, the code `assay run` judges with, recomputes
each assertion's outcome and the status, and both are compared with the
result record. Nothing is read from a workspace.

Not re-evaluated, and reported as such: manual controls (their attestations
are checked against the public keys of the workspace's people, which the pack
does not carry), and controls whose definition or evidence records have their
bodies withheld. Waivers are not checked again: a result recorded as
`waived` is compared through the status its waiver summary records as the
real one.

The ledger stores integral floats as integers (RFC 8785 writes 250.0 as
250). `judge` converts facts and params to that recorded form before
evaluating, both in the run and here, so the two see the same values.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from assay.controls.loader import LoadedControl
from assay.controls.model import Control
from assay.engine.evaluate import EvidenceOutcome, check_freshness, judge
from assay.engine.status import MET, Status
from assay.errors import VerificationError
from assay.evidence.collectors.base import Collected
from assay.evidence.records import canonical
from assay.policies.cel import ExpressionError, compile_expression
from assay.timeutil import format_instant, parse_instant

RECORDS = "records.jsonl"


@dataclass
class ReevaluationReport:
    """Counts of a re-evaluation that found no mismatch."""

    controls: int = 0
    assertions: int = 0
    runs: int = 0
    # (control id, reason) of each result that could not be re-evaluated.
    skipped: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class _Record:
    seq: int
    header: dict[str, Any]
    body: dict[str, Any] | None


@dataclass
class _Run:
    run_id: str
    body: dict[str, Any] | None = None
    evidence: dict[str, dict[str, Any]] = field(default_factory=dict)
    results: list[_Record] = field(default_factory=list)
    withheld: int = 0


def _read_records(pack: Path) -> list[_Record]:
    records = []
    with (pack / RECORDS).open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                item = json.loads(line)
                header = item["header"]
                body = item["body"]
                if not isinstance(header, dict) or not isinstance(body, (dict, type(None))):
                    raise TypeError("header or body is not a JSON object")
                records.append(_Record(int(header["seq"]), header, body))
            except (ValueError, KeyError, TypeError, OverflowError, RecursionError) as exc:
                raise VerificationError(f"{RECORDS}:{number}: not a record line ({exc})") from exc
    return records


def reevaluate_pack(pack: Path, manifest: dict[str, Any]) -> ReevaluationReport:
    """Re-evaluate every result record of the runs `manifest` names, from the pack folder `pack`.

    The pack must already have passed `verify_pack`'s checks, so its records
    are authentic. Raises VerificationError at the first result whose status
    or assertion outcomes differ from the recomputed ones.
    """
    if manifest.get("kind") == "period":
        run_ids = [str(run) for run in manifest.get("runs") or []]
    else:
        run_ids = [str(manifest.get("run"))]
    runs = {run_id: _Run(run_id) for run_id in run_ids}
    # definition_sha256 -> (seq, body) of every control record whose body the pack includes.
    definitions: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for record in _read_records(pack):
        kind = record.header.get("kind")
        if kind == "control" and record.body is not None:
            digest = str(record.body.get("definition_sha256"))
            definitions.setdefault(digest, []).append((record.seq, record.body))
        run = runs.get(str(record.header.get("run")))
        if run is None:
            continue
        if record.body is None:
            run.withheld += 1
        elif kind == "run":
            run.body = record.body
        elif kind == "evidence":
            run.evidence[f"{record.body.get('control')}/{record.body.get('evidence')}"] = record.body
        elif kind == "result":
            run.results.append(record)

    report = ReevaluationReport()
    for run in runs.values():
        if run.body is None:
            for result in run.results:
                report.skipped.append((_control_of(result), "the body of its run record is withheld"))
            continue
        report.runs += 1
        for result in run.results:
            try:
                _reevaluate_result(result, run, definitions, report)
            except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
                # The records are signed, so a malformed one was written by the signer.
                # OverflowError comes from an instant whose UTC offset moves it
                # outside the years 1 to 9999.
                raise VerificationError(
                    f"{RECORDS}: record seq {result.seq}: control {_control_of(result)}: a record "
                    f"it was judged from is malformed, so it cannot be re-evaluated ({exc})"
                ) from exc
    return report


def _control_of(record: _Record) -> str:
    return str((record.body or {}).get("control"))


def _mismatch(record: _Record, message: str) -> VerificationError:
    return VerificationError(
        f"{RECORDS}: record seq {record.seq}: control {_control_of(record)}: {message}; "
        "the recorded result does not follow from the recorded evidence"
    )


def _reevaluate_result(
    record: _Record,
    run: _Run,
    definitions: dict[str, list[tuple[int, dict[str, Any]]]],
    report: ReevaluationReport,
) -> None:
    body = record.body or {}
    control_id = _control_of(record)
    assert run.body is not None
    digest = str(body.get("control_sha256"))
    recorded = [item for seq, item in definitions.get(digest, []) if seq < record.seq]
    if not recorded:
        report.skipped.append((control_id, f"the body of its control record ({digest[:16]}...) is withheld"))
        return
    definition = recorded[-1].get("definition")
    if hashlib.sha256(canonical(definition)).hexdigest() != digest:
        raise _mismatch(record, f"its control record's definition does not hash to {digest}")
    try:
        control = Control.model_validate(definition)
    except ValidationError as exc:
        report.skipped.append((control_id, f"this assay cannot read its recorded definition ({exc.error_count()} errors)"))
        return
    if control.id != control_id:
        raise _mismatch(record, f"its control_sha256 names the definition of control {control.id}")
    if control.manual is not None:
        report.skipped.append(
            (control_id, "manual control: its attestations are checked against the public keys "
                         "of the workspace's people, which the pack does not contain")
        )
        return
    try:
        expressions = [compile_expression(assertion.expr) for assertion in control.assert_]
    except ExpressionError as exc:
        report.skipped.append((control_id, f"this assay cannot compile an assertion ({exc})"))
        return
    loaded = LoadedControl(control=control, source=str(recorded[-1].get("source")),
                           expressions=expressions, params={})

    params = run.body.get("params") or {}
    params_digest = hashlib.sha256(canonical(params)).hexdigest()
    if body.get("params_sha256") != params_digest:
        raise _mismatch(
            record, f"params_sha256 {body.get('params_sha256')} is not the hash of the run's params "
                    f"({params_digest})"
        )

    collects = control.not_applicable is None
    expected_names = [f"{control_id}/{spec.id}" for spec in control.evidence] if collects else []
    if list(body.get("evidence") or []) != expected_names:
        raise _mismatch(
            record, f"the result names evidence {body.get('evidence')}, the definition {expected_names}"
        )
    now = parse_instant(str(run.body.get("now")))
    outcomes = []
    for name in expected_names:
        evidence = run.evidence.get(name)
        if evidence is None:
            if run.withheld:
                report.skipped.append((control_id, f"the body of its evidence record {name} is withheld"))
                return
            raise _mismatch(record, f"the run has no evidence record {name}")
        outcomes.append(_outcome(record, evidence, loaded, now))

    result = judge(loaded, outcomes, params)
    _compare_assertions(record, body, result.assertions)
    _compare_status(record, body, result.status)
    report.controls += 1
    report.assertions += len(result.assertions)


def _outcome(record: _Record, evidence: dict[str, Any], loaded: LoadedControl, now: datetime) -> EvidenceOutcome:
    """Rebuild the outcome the run judged from an evidence record, checking its freshness again."""
    collected = None
    if evidence.get("facts") is not None:
        observed = evidence.get("observed_at")
        collected = Collected(
            facts=evidence["facts"],
            artifacts=[],
            observed_at=parse_instant(observed) if observed is not None else None,
            absent=dict(evidence.get("absent") or {}),
            failures=list(evidence.get("failures") or []),
            warnings=list(evidence.get("warnings") or []),
        )
    outcome = EvidenceOutcome(
        id=str(evidence.get("evidence")),
        collector=str(evidence.get("collector")),
        status=str(evidence.get("status")),
        collected=collected,
        message=evidence.get("message"),
    )
    check_freshness(loaded, outcome, now)
    if outcome.stale != evidence.get("stale"):
        raise _mismatch(
            record,
            f"evidence {outcome.id}: recorded stale {evidence.get('stale')!r}, recomputed "
            f"{outcome.stale!r} at the run's now {format_instant(now)}",
        )
    return outcome


def _compare_assertions(record: _Record, body: dict[str, Any], recomputed: list[Any]) -> None:
    stored = list(body.get("assertions") or [])
    for index, outcome in enumerate(recomputed):
        entry = stored[index] if index < len(stored) else None
        if not isinstance(entry, dict) or entry.get("name") != outcome.name:
            recorded_name = entry.get("name") if isinstance(entry, dict) else None
            raise _mismatch(
                record,
                f"assertion {index + 1} is recorded as {recorded_name!r}, the definition has {outcome.name!r}",
            )
        if entry.get("outcome") != outcome.outcome:
            raise _mismatch(
                record,
                f"assertion {outcome.name!r}: recorded {entry.get('outcome')}, recomputed {outcome.outcome}",
            )
        if entry.get("facts") != outcome.facts:
            raise _mismatch(record, f"assertion {outcome.name!r}: the recorded facts read differ from the evidence")
    if len(stored) > len(recomputed):
        raise _mismatch(
            record, f"{len(stored)} assertion outcomes are recorded, the definition has {len(recomputed)}"
        )


def _compare_status(record: _Record, body: dict[str, Any], recomputed: Status) -> None:
    status = body.get("status")
    waiver = body.get("waiver")
    if isinstance(waiver, dict):
        # A waiver turns a status that is not met into `waived` and records the real one.
        real = waiver.get("real_status")
        if status != Status.WAIVED.value:
            raise _mismatch(record, f"recorded status {status} with a waiver, not waived")
        if real != recomputed.value:
            raise _mismatch(record, f"recorded status without the waiver {real}, recomputed {recomputed.value}")
        if recomputed in MET or recomputed is Status.NOT_APPLICABLE:
            raise _mismatch(record, f"recorded as waived, but its recomputed status {recomputed.value} is met")
        return
    if status != recomputed.value:
        raise _mismatch(record, f"recorded status {status}, recomputed {recomputed.value}")


__all__ = ["ReevaluationReport", "reevaluate_pack"]
