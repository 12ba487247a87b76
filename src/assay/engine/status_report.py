"""The status report behind `assay status`: readiness of the latest complete run.

Once a run is recorded, the report reads the ledger only. It takes the
latest complete run of the workspace's scope that judged controls (runs of `assay attest` and other
runs without result records are skipped), and the control definitions those
results name by SHA-256. A run without its checkpoint counts for nothing.
Before any such run, every control is reported as its definition implies:
`manual`, `not_applicable`, or `missing` for everything else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from assay.catalog import criteria as catalog
from assay.config import WorkspaceConfig, ledger_url
from assay.controls.loader import load_config, load_workspace
from assay.controls.waivers import EXPIRY_WARNING_DAYS
from assay.engine.readiness import (
    CategoryReadiness,
    ControlOutcome,
    evidence_basis,
    readiness,
)
from assay.engine.status import Status
from assay.evidence.ledger import Ledger, RunSummary, open_existing
from assay.evidence.records import StoredRecord
from assay.timeutil import format_instant, parse_instant

# Order in which statuses are listed: what needs work first.
STATUS_ORDER = (
    Status.FAIL, Status.ERROR, Status.MISSING, Status.MANUAL, Status.WAIVED, Status.PASS,
    Status.NOT_APPLICABLE,
)
NO_RUN_REASON = "no complete run recorded yet"


@dataclass
class RunInfo:
    """The run a report is built from."""

    run: str
    now: str
    first_seq: int
    last_seq: int

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class ControlStatus:
    """One control as the report shows it."""

    control: str
    title: str
    status: Status
    criteria: list[str]
    basis: str
    reasons: list[str] = field(default_factory=list)
    waiver: dict[str, Any] | None = None
    attestation: dict[str, Any] | None = None
    manual: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "control": self.control, "title": self.title, "status": self.status.value,
            "criteria": self.criteria, "evidenced": self.basis, "reasons": self.reasons,
            "waiver": self.waiver, "attestation": self.attestation,
        }


@dataclass
class WaiverNotice:
    """A waiver that applied to a control in the run, with its time left at the report's `now`."""

    control: str
    file: str
    approver: str
    expires: str
    real_status: str | None
    days_left: float
    expiring_soon: bool
    expired: bool

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class AttestationNotice:
    """A manual control's attestation: who signed, until when, and whether one is due."""

    control: str
    by: str | None
    expires: str | None
    days_left: float | None
    due: bool
    state: str  # "in force", "expires soon", "expired" or "none"

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class StatusReport:
    """Everything `assay status` shows, in table or JSON form."""

    workspace: str
    scope: str
    now: datetime
    run: RunInfo | None
    categories: list[CategoryReadiness]
    controls: list[ControlStatus]
    waivers: list[WaiverNotice]
    attestations: list[AttestationNotice]
    warnings: list[str]

    def controls_by_status(self) -> dict[str, list[str]]:
        """Map each status present, in STATUS_ORDER, to its control ids."""
        grouped: dict[str, list[str]] = {}
        for status in STATUS_ORDER:
            ids = [item.control for item in self.controls if item.status is status]
            if ids:
                grouped[status.value] = ids
        return grouped

    def coverage_gaps(self) -> list[dict[str, str]]:
        return [
            {
                "criterion": criterion, "category": item.category,
                "title": catalog.title_of(criterion),
            }
            for item in self.categories
            for criterion in item.coverage_gaps
        ]

    def criteria_rows(self) -> list[dict[str, Any]]:
        """Return every criterion in scope: met or not, evidence basis and citing controls."""
        citing: dict[str, list[str]] = {}
        for control in self.controls:
            for criterion in control.criteria:
                citing.setdefault(criterion, []).append(control.control)
        rows = []
        for item in self.categories:
            met = set(item.criteria_met)
            for criterion in catalog.ids_in_category(item.category):
                if criterion in item.criteria_not_applicable:
                    state = "not applicable"
                elif criterion in item.coverage_gaps:
                    state = "gap"
                else:
                    state = "met" if criterion in met else "not met"
                rows.append({
                    "criterion": criterion,
                    "category": item.category,
                    "title": catalog.title_of(criterion),
                    "state": state,
                    "evidenced": item.evidenced.get(criterion, "none"),
                    "controls": citing.get(criterion, []),
                })
        return rows

    def to_json(self) -> dict[str, Any]:
        return {
            "workspace": self.workspace,
            "scope": self.scope,
            "now": format_instant(self.now),
            "run": self.run.to_json() if self.run is not None else None,
            "categories": [item.to_json() for item in self.categories],
            "coverage_gaps": self.coverage_gaps(),
            "controls_by_status": self.controls_by_status(),
            "controls": [item.to_json() for item in self.controls],
            "criteria": self.criteria_rows(),
            "waivers": [item.to_json() for item in self.waivers],
            "attestations": [item.to_json() for item in self.attestations],
            "warnings": self.warnings,
        }


def build_status(workspace_dir: Path, now: datetime, ledger_option: str | None) -> StatusReport:
    """Build the status report of a workspace from its ledger, judged at `now`."""
    root = workspace_dir.resolve()
    config = load_config(root)
    found = _latest_run(root, config, ledger_option)
    warnings: list[str] = []
    if found is None:
        run, controls = None, _controls_without_run(root)
    else:
        summary, records, definitions = found
        run = RunInfo(summary.run, _run_now(records, summary), summary.first_seq, summary.last_seq)
        controls = _controls_of_run(records, definitions, warnings)
    for control in controls:
        unknown = [c for c in control.criteria if not catalog.is_known(c)]
        if unknown:
            warnings.append(
                f"{control.control} cites {', '.join(unknown)}, which the SOC 2 catalog does not "
                "list, so readiness ignores them"
            )
    categories = readiness(
        config.categories,
        (ControlOutcome(c.criteria, c.status, c.basis) for c in controls),
    )
    waivers = _waiver_notices(controls, now)
    attestations = _attestation_notices(controls, now)
    warnings += _expiry_warnings(waivers, attestations)
    return StatusReport(
        workspace=config.name, scope=config.scope, now=now, run=run, categories=categories,
        controls=controls, waivers=waivers, attestations=attestations, warnings=warnings,
    )


def _latest_run(
    root: Path, config: WorkspaceConfig, option: str | None
) -> tuple[RunSummary, list[StoredRecord], dict[str, dict[str, Any]]] | None:
    ledger = open_existing(ledger_url(root, config, option))
    if ledger is None:
        return None
    try:
        # A run is complete once its checkpoint is recorded, so the latest
        # complete run is the one whose checkpoint comes last in the chain.
        candidates = [
            summary for summary in ledger.runs()
            if summary.complete and summary.scope == config.scope and summary.statuses
        ]
        if not candidates:
            return None
        latest = max(candidates, key=lambda summary: summary.last_seq)
        records = ledger.run_records(latest.run)
        definitions: dict[str, dict[str, Any]] = {}
        for record in ledger.records_of_kind("control"):
            body = record.body_fields() or {}
            definitions[str(body.get("definition_sha256"))] = body.get("definition") or {}
    finally:
        ledger.close()
    return latest, records, definitions


def _run_now(records: list[StoredRecord], summary: RunSummary) -> str:
    for record in records:
        if record.header_fields()["kind"] == "run":
            return str((record.body_fields() or {}).get("now", summary.time))
    return summary.time


def _controls_of_run(
    records: list[StoredRecord], definitions: dict[str, dict[str, Any]], warnings: list[str]
) -> list[ControlStatus]:
    controls = []
    for record in records:
        if record.header_fields()["kind"] != "result":
            continue
        body = record.body_fields() or {}
        control_id = str(body.get("control"))
        definition = definitions.get(str(body.get("control_sha256")))
        if definition is None:
            warnings.append(
                f"the ledger holds no definition of {control_id} with the SHA-256 its result "
                "names, so its criteria are unknown"
            )
            definition = {}
        controls.append(ControlStatus(
            control=control_id,
            title=str(definition.get("title", "")),
            status=Status(body.get("status")),
            criteria=list(definition.get("criteria") or []),
            basis=evidence_basis(definition),
            reasons=list(body.get("reasons") or []),
            waiver=body.get("waiver"),
            attestation=body.get("attestation"),
            manual=definition.get("manual") is not None,
        ))
    controls.sort(key=lambda item: item.control)
    return controls


def _controls_without_run(root: Path) -> list[ControlStatus]:
    controls = []
    for loaded in load_workspace(root).controls:
        control = loaded.control
        if control.not_applicable is not None:
            status, reasons = Status.NOT_APPLICABLE, [control.not_applicable]
        elif control.manual is not None:
            status, reasons = Status.MANUAL, [f"{NO_RUN_REASON}; no attestation recorded"]
        else:
            status, reasons = Status.MISSING, [NO_RUN_REASON]
        controls.append(ControlStatus(
            control=control.id, title=control.title, status=status,
            criteria=list(control.criteria), basis=evidence_basis(control), reasons=reasons,
            manual=control.manual is not None,
        ))
    return controls


def _days_left(expires: str, now: datetime) -> float:
    return round((parse_instant(expires) - now) / timedelta(days=1), 2)


def _waiver_notices(controls: list[ControlStatus], now: datetime) -> list[WaiverNotice]:
    notices = []
    for control in controls:
        waiver = control.waiver
        if not waiver or not waiver.get("expires"):
            continue
        left = _days_left(str(waiver["expires"]), now)
        notices.append(WaiverNotice(
            control=control.control, file=str(waiver.get("file")),
            approver=str(waiver.get("approver")), expires=str(waiver["expires"]),
            real_status=waiver.get("real_status"), days_left=left,
            expiring_soon=0 < left <= EXPIRY_WARNING_DAYS, expired=left <= 0,
        ))
    return notices


def _attestation_notices(controls: list[ControlStatus], now: datetime) -> list[AttestationNotice]:
    notices = []
    for control in controls:
        if not control.manual:
            continue
        attestation = control.attestation or {}
        expires = attestation.get("expires")
        if not expires:
            notices.append(AttestationNotice(control.control, None, None, None, True, "none"))
            continue
        left = _days_left(str(expires), now)
        if left <= 0:
            state = "expired"
        elif left <= EXPIRY_WARNING_DAYS:
            state = "expires soon"
        else:
            state = "in force"
        notices.append(AttestationNotice(
            control=control.control, by=attestation.get("by"), expires=str(expires),
            days_left=left, due=state != "in force", state=state,
        ))
    return notices


def _expiry_warnings(
    waivers: list[WaiverNotice], attestations: list[AttestationNotice]
) -> list[str]:
    warnings = []
    for waiver in waivers:
        if waiver.expired:
            warnings.append(
                f"waiver {waiver.file} for {waiver.control} expired at {waiver.expires}; "
                "the next run reports the control's real status"
            )
        elif waiver.expiring_soon:
            warnings.append(
                f"waiver {waiver.file} for {waiver.control} expires in {waiver.days_left:g} days "
                f"(at {waiver.expires})"
            )
    for notice in attestations:
        if notice.state == "expired":
            warnings.append(f"the attestation of {notice.control} expired at {notice.expires}")
        elif notice.state == "expires soon":
            warnings.append(
                f"the attestation of {notice.control} expires in {notice.days_left:g} days "
                f"(at {notice.expires})"
            )
    return warnings
