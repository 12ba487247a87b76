"""`assay check`: judge a workspace as `assay run` does, record nothing, and gate on a baseline.

Evidence is either collected afresh (no ledger record, no blob, no pack, no
signing key) or replayed from the evidence records of the latest complete
run of the scope (`--from-ledger`). Either way every control is judged with
the current control definitions and params, then compared with the scope's
blessed baseline:

* with a baseline, a control blocks the build when it regressed: it was
  pass or waived in the baseline and is fail, error, missing or manual now.
  It also blocks when it was removed, or when its definition or the params
  its assertions read changed. New controls and improvements are reported
  and do not block;
* without a baseline, every control that is not met blocks;
* `strict` also blocks every control that is not met;
* a control whose gate is `warn` does not block: what would block it is
  reported as a warning. The exception is a control whose baseline gate is
  `fail`: relaxed to `warn` since the baseline, it still blocks on that
  definition change.

Not-applicable controls never block on their status.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from assay.controls.loader import LoadedControl, Workspace
from assay.engine.baseline import (
    Baseline,
    BaselineControl,
    RunContents,
    params_sha256,
    referenced_params,
)
from assay.engine.diff import ABSENT, ValueChange, compare_values
from assay.engine.evaluate import ControlResult, EvidenceOutcome, check_freshness
from assay.engine.judging import judge_control
from assay.engine.run import collect_evidence
from assay.engine.status import MET, Status
from assay.evidence.collectors.base import MAX_INPUT_BYTES, CollectContext, Collected
from assay.evidence.records import StoredRecord
from assay.timeutil import parse_instant

# Kinds of status change since the baseline.
NEW = "new"
REMOVED = "removed"
REGRESSION = "regression"
IMPROVEMENT = "improvement"
UNCHANGED = "unchanged"
CHANGED = "changed"

# Statuses a regression ends in. not_applicable is not among them, because a
# control becomes not applicable only through a definition change.
NOT_MET = frozenset({Status.FAIL, Status.ERROR, Status.MISSING, Status.MANUAL})


# Judging ----------------------------------------------------------------------


def _collects(loaded: LoadedControl) -> bool:
    return loaded.control.not_applicable is None and loaded.control.manual is None


def collect_results(
    workspace: Workspace, *, now: datetime, scope: str, attestations: list[StoredRecord]
) -> list[ControlResult]:
    """Collect and judge every control without recording anything.

    `attestations` are the `attestation` records of complete runs (empty
    without a ledger, which leaves manual controls `manual`).
    """
    context = CollectContext(
        workspace=workspace.root, now=now, allow_command=workspace.config.allow_command,
        max_input_bytes=workspace.config.max_input_bytes or MAX_INPUT_BYTES,
    )
    results = []
    for loaded in workspace.controls:
        outcomes = collect_evidence(loaded, context) if _collects(loaded) else []
        for outcome in outcomes:
            check_freshness(loaded, outcome, now)
        results.append(
            judge_control(
                loaded, outcomes, workspace, scope=scope, now=now, attestations=attestations
            )
        )
    return results


def replay_results(
    workspace: Workspace,
    contents: RunContents,
    *,
    now: datetime,
    scope: str,
    attestations: list[StoredRecord],
) -> list[ControlResult]:
    """Judge every control of the workspace from the evidence records of a recorded run.

    Freshness is judged again against `now` with the current `max_age`.
    Evidence the run did not record, or recorded with another collector or
    other collector parameters than the control now names, is `missing`.
    """
    results = []
    for loaded in workspace.controls:
        outcomes = []
        if _collects(loaded):
            recorded = contents.evidence_of(loaded.control.id)
            for spec in loaded.control.evidence:
                outcome = _recorded_outcome(
                    loaded, spec.id, spec.collector, recorded.get(spec.id), contents
                )
                check_freshness(loaded, outcome, now)
                outcomes.append(outcome)
        results.append(
            judge_control(
                loaded, outcomes, workspace, scope=scope, now=now, attestations=attestations
            )
        )
    return results


def _recorded_outcome(
    loaded: LoadedControl,
    evidence_id: str,
    collector: str,
    body: dict[str, Any] | None,
    contents: RunContents,
) -> EvidenceOutcome:
    outcome = EvidenceOutcome(id=evidence_id, collector=collector, status="missing")
    run = contents.run.run[:12]
    collect_hint = "run `assay check` without --from-ledger to collect it"
    if body is None:
        outcome.message = f"run {run} recorded no evidence {evidence_id!r}; {collect_hint}"
        return outcome
    params = loaded.params.get(evidence_id)
    current_with = params.model_dump(mode="json") if params is not None else None
    if body.get("collector") != collector or body.get("with") != current_with:
        outcome.message = (
            f"run {run} recorded evidence {evidence_id!r} with another collector or other "
            f"parameters than the control names now; {collect_hint}"
        )
        return outcome
    outcome.status = str(body.get("status"))
    outcome.message = body.get("message")
    facts = body.get("facts")
    if facts is not None:
        observed = body.get("observed_at")
        outcome.collected = Collected(
            facts=facts,
            artifacts=[],
            observed_at=parse_instant(observed) if observed else None,
            absent=body.get("absent") or {},
            failures=body.get("failures") or [],
            warnings=body.get("warnings") or [],
        )
    return outcome


# Gating -----------------------------------------------------------------------


@dataclass
class ControlVerdict:
    """One control's status, its change since the baseline, and whether it blocks the build.

    `loaded` and `result` are None for a control removed since the baseline;
    `entry` is None for a control the baseline does not have.
    """

    control_id: str
    loaded: LoadedControl | None
    result: ControlResult | None
    entry: BaselineControl | None
    change: str | None
    gate: str
    definition_changes: list[ValueChange] = field(default_factory=list)
    # Why the control blocks the build, or would block it under `gate: fail`.
    reasons: list[str] = field(default_factory=list)

    @property
    def status(self) -> Status | None:
        return self.result.status if self.result is not None else None

    @property
    def blocking(self) -> bool:
        return bool(self.reasons) and self.gate == "fail"

    @property
    def warning(self) -> bool:
        return bool(self.reasons) and self.gate == "warn"

    @property
    def met(self) -> bool:
        return self.status in MET

    @property
    def title(self) -> str:
        if self.loaded is not None:
            return self.loaded.control.title
        definition = self.entry.definition if self.entry is not None else None
        return str((definition or {}).get("title", ""))

    @property
    def source(self) -> str | None:
        """The control's file relative to the workspace (from the baseline for a removed control)."""
        if self.loaded is not None:
            return self.loaded.source
        return self.entry.source if self.entry is not None else None


@dataclass
class GateReport:
    """The outcome of `assay check`: every control's verdict and the build's."""

    workspace: Workspace
    scope: str
    now: datetime
    # "collected", or "ledger" when replayed from `replayed_run`.
    source: str
    baseline: Baseline | None
    baseline_origin: str | None
    strict: bool
    verdicts: list[ControlVerdict]
    replayed_run: str | None = None

    @property
    def failed(self) -> bool:
        return any(verdict.blocking for verdict in self.verdicts)

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

    @property
    def blocking(self) -> list[ControlVerdict]:
        return [verdict for verdict in self.verdicts if verdict.blocking]

    @property
    def warnings(self) -> list[ControlVerdict]:
        return [verdict for verdict in self.verdicts if verdict.warning]

    def count(self, change: str) -> int:
        return sum(1 for verdict in self.verdicts if verdict.change == change)


def gate_results(
    workspace: Workspace,
    results: list[ControlResult],
    baseline: Baseline | None,
    *,
    strict: bool,
) -> list[ControlVerdict]:
    """Compare `results` with `baseline` and decide, control by control, what blocks the build.

    Returns the workspace's controls in id order, then the controls removed
    since the baseline.
    """
    verdicts = []
    params = workspace.config.params
    for result in results:
        loaded = result.loaded
        entry = baseline.controls.get(loaded.control.id) if baseline is not None else None
        verdicts.append(_verdict(loaded, result, entry, baseline is not None, params, strict))
    if baseline is not None:
        present = {result.control_id for result in results}
        for control_id, entry in sorted(baseline.controls.items()):
            if control_id not in present:
                verdicts.append(
                    ControlVerdict(
                        control_id,
                        None,
                        None,
                        entry,
                        REMOVED,
                        entry.gate,
                        reasons=[f"removed since the baseline, where it was {entry.status}"],
                    )
                )
    return verdicts


def _verdict(
    loaded: LoadedControl,
    result: ControlResult,
    entry: BaselineControl | None,
    has_baseline: bool,
    params: dict[str, Any],
    strict: bool,
) -> ControlVerdict:
    status = result.status
    gates = {loaded.control.gate} | ({entry.gate} if entry is not None else set())
    verdict = ControlVerdict(
        loaded.control.id,
        loaded,
        result,
        entry,
        change=_change(status, entry) if has_baseline else None,
        gate="fail" if "fail" in gates else "warn",
    )
    not_met = status not in MET and status is not Status.NOT_APPLICABLE
    if not has_baseline:
        if not_met:
            verdict.reasons.append(f"{status.value}, and no baseline is blessed for this scope")
        return verdict
    if entry is not None:
        verdict.definition_changes = definition_changes(entry, loaded, params)
        if verdict.definition_changes:
            changed = ", ".join(describe_change(change) for change in verdict.definition_changes)
            verdict.reasons.append(f"definition changed since the baseline: {changed}")
        if verdict.change == REGRESSION:
            verdict.reasons.append(
                f"regression: {entry.status} in the baseline, {status.value} now"
            )
    if strict and not_met and verdict.change != REGRESSION:
        verdict.reasons.append(f"{status.value}, and --strict fails every control that is not met")
    return verdict


def _change(status: Status, entry: BaselineControl | None) -> str:
    if entry is None:
        return NEW
    if entry.status == status.value:
        return UNCHANGED
    if entry.met and status in NOT_MET:
        return REGRESSION
    if not entry.met and status in MET:
        return IMPROVEMENT
    return CHANGED


def definition_changes(
    entry: BaselineControl, loaded: LoadedControl, params: dict[str, Any]
) -> list[ValueChange]:
    """Return what differs between the blessed and the current definition and params.

    Definition paths are written as in the file (`assert[2].expr`), params
    paths as in assertions (`params.latency_p99_ms`). A hash that differs
    while the recorded definition is unknown is reported as the path
    `definition`.
    """
    changes: list[ValueChange] = []
    if entry.definition_sha256 != loaded.definition_sha256:
        if entry.definition is not None:
            changes.extend(compare_values(entry.definition, loaded.definition()))
        if not changes:
            changes.append(
                ValueChange("definition", entry.definition_sha256, loaded.definition_sha256)
            )
    current = referenced_params([item.expr for item in loaded.control.assert_], params)
    if entry.params_sha256 != params_sha256(current):
        params_changes = compare_values(entry.params, current, "params")
        changes.extend(
            params_changes or [ValueChange("params", entry.params_sha256, params_sha256(current))]
        )
    return changes


MAX_SHOWN_VALUE = 40


def describe_change(change: ValueChange) -> str:
    """Word one changed path for a message: `params.x (5000 -> 4000)`, `assert[1] added`."""
    if change.kind == "added":
        return f"{change.path} added"
    if change.kind == "removed":
        return f"{change.path} removed"
    before, after = _short(change.before), _short(change.after)
    if before is None or after is None:
        return change.path
    return f"{change.path} ({before} -> {after})"


def _short(value: Any) -> str | None:
    if value is ABSENT or isinstance(value, (dict, list)):
        return None
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= MAX_SHOWN_VALUE else None
