"""`assay run`: collect every control's evidence, judge it, record it, close the run."""

from __future__ import annotations

import getpass
import logging
import os
import re
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from assay import __version__
from assay.controls.loader import LoadedControl, Workspace
from assay.controls.waivers import LoadedWaiver, waivers_in_force
from assay.engine.attestations import recorded_attestations
from assay.engine.evaluate import ControlResult, EvidenceOutcome, check_freshness
from assay.engine.judging import judge_control
from assay.engine.readiness import CategoryReadiness, evidence_basis, readiness
from assay.errors import CollectorError, EvidenceMissing
from assay.evidence import collectors
from assay.evidence.blobs import BlobStore
from assay.evidence.collectors.base import (
    MAX_INPUT_BYTES,
    CollectContext,
    limited_input,
    relative_name,
)
from assay.evidence.ledger import Ledger, NewRecord
from assay.evidence.records import StoredRecord
from assay.faults import fault_point
from assay.keys import SigningKey
from assay.timeutil import format_instant

logger = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
SECRET_OPTION_WORDS = ("password", "secret", "token", "key")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass
class RunOutcome:
    """A recorded run: its results, readiness, ledger records and warnings."""

    run_id: str
    now: datetime
    scope: str
    workspace: Workspace
    results: list[ControlResult]
    readiness: list[CategoryReadiness]
    records: list[StoredRecord]
    artifacts: dict[str, Path]
    # Waivers in force that expire soon, one line each.
    warnings: list[str] = field(default_factory=list)

    @property
    def checkpoint(self) -> StoredRecord:
        return self.records[-1]


def redact_argv(argv: list[str]) -> list[str]:
    """Replace values of options whose names suggest a secret with "***"."""
    redacted: list[str] = []
    hide_next = False
    for arg in argv:
        if hide_next:
            redacted.append("***")
            hide_next = False
            continue
        name, sep, _ = arg.partition("=")
        secret = name.startswith("-") and any(w in name.lower() for w in SECRET_OPTION_WORDS)
        if secret and sep:
            redacted.append(f"{name}=***")
        else:
            redacted.append(arg)
            hide_next = secret and not sep
    return redacted


def _git_commit(root: Path) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True, text=True, timeout=10, check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


def collect_evidence(
    loaded: LoadedControl, context: CollectContext
) -> list[EvidenceOutcome]:
    """Run every collector of one control; a failing collector becomes an outcome, not an exception.

    NOTE: only the `command` collector has a wall-clock limit (its
    timeout_seconds). The others read regular files of bounded size
    (resolve_input rejects FIFOs and devices), so they end, but a read
    stuck on a hung network file system, or a plugin collector that hangs,
    blocks the run. Run `assay run` under a job timeout in CI.
    """
    outcomes: list[EvidenceOutcome] = []
    for spec in loaded.control.evidence:
        collector = collectors.get(spec.collector)()
        outcome = EvidenceOutcome(id=spec.id, collector=spec.collector, status="ok")
        try:
            with limited_input(context.max_input_bytes):
                outcome.collected = collector.collect(loaded.params[spec.id], context)
        except EvidenceMissing as exc:
            outcome.status, outcome.message = "missing", str(exc)
        except CollectorError as exc:
            outcome.status, outcome.message = "error", str(exc)
        except Exception as exc:  # noqa: BLE001 - one broken collector must not stop the run
            logger.exception("collector %s failed on control %s", spec.collector, loaded.control.id)
            outcome.status = "error"
            outcome.message = f"collector {spec.collector} failed: {type(exc).__name__}: {exc}"
        outcomes.append(outcome)
    return outcomes


def run_workspace(
    workspace: Workspace,
    *,
    ledger: Ledger,
    blobs: BlobStore,
    key: SigningKey,
    now: datetime,
    scope: str,
    progress: Progress | None = None,
) -> RunOutcome:
    """Collect, judge and record every control of `workspace`, closing with a signed checkpoint.

    The run record opens the run, each control's evidence and result are
    appended in one transaction, and the checkpoint closes the run. A run
    interrupted before its checkpoint stays in the chain as incomplete, and
    evaluation and packs ignore it.

    A waiver in force is recorded (a `waiver` record) in the first complete
    run in which it is in force, in the transaction of its control. Manual
    controls are judged by the `attestation` records of complete runs.
    """
    run_id = uuid.uuid4().hex
    stamp = format_instant(now)
    context = CollectContext(
        workspace=workspace.root, now=now, allow_command=workspace.config.allow_command,
        max_input_bytes=workspace.config.max_input_bytes or MAX_INPUT_BYTES,
    )
    params = workspace.config.params
    provenance_base = {
        "host": socket.gethostname(),
        "user": _user(),
        "command": redact_argv(sys.argv),
    }
    stored: list[StoredRecord] = []

    def record(entries: list[NewRecord]) -> None:
        stored.extend(ledger.append(run=run_id, scope=scope, time=stamp, entries=entries))

    record([NewRecord("run", {
        "tool": "assay", "tool_version": __version__, "workspace": workspace.config.name,
        "git_commit": _git_commit(workspace.root), "now": stamp, "scope": scope,
        "categories": sorted({"security", *workspace.config.categories}),
        "params": params,
    })])
    fault_point("run.after_run_record")
    recorded_definitions = _recorded_definitions(ledger)
    recorded_waivers = _recorded_waivers(ledger)
    attestation_records = recorded_attestations(ledger)
    results: list[ControlResult] = []
    artifacts: dict[str, Path] = {}
    warnings: list[str] = []
    total = len(workspace.controls)
    for index, loaded in enumerate(workspace.controls, start=1):
        control = loaded.control
        if progress is not None:
            action = "checking attestations of" if control.manual is not None else "collecting"
            progress(f"{action} {control.id}", index, total)
        entries: list[NewRecord] = []
        if recorded_definitions.get(control.id) != loaded.definition_sha256:
            entries.append(NewRecord("control", {
                "control": control.id, "source": loaded.source,
                "definition": loaded.definition(), "definition_sha256": loaded.definition_sha256,
            }))
        waivers = waivers_in_force(workspace.waivers, control.id, scope, now)
        for waiver in waivers:
            if waiver.sha256 not in recorded_waivers:
                entries.append(NewRecord("waiver", waiver.record_body()))
                recorded_waivers.add(waiver.sha256)
            warning = waiver.expiry_warning(now)
            if warning is not None:
                warnings.append(warning)
                if progress is not None:
                    progress(f"warning: {warning}", index, total)
                else:
                    logger.warning("%s", warning)
        collect = control.not_applicable is None and control.manual is None
        outcomes = collect_evidence(loaded, context) if collect else []
        fault_point("run.after_collect")
        for outcome in outcomes:
            check_freshness(loaded, outcome, now)
            entries.append(NewRecord("evidence", _evidence_body(
                loaded, outcome, blobs, workspace.root, stamp, provenance_base, artifacts
            )))
        result = judge_control(
            loaded, outcomes, workspace, scope=scope, now=now, attestations=attestation_records
        )
        _add_attached_file(result, blobs, artifacts)
        results.append(result)
        entries.append(NewRecord("result", _result_body(result, outcomes, workspace)))
        record(entries)
        fault_point("run.after_control")
    if progress is not None:
        progress("signing the run's checkpoint", total, total)
    stored.append(ledger.checkpoint(run=run_id, scope=scope, time=stamp, key=key))
    fault_point("run.after_checkpoint")
    ready = readiness(
        workspace.config.categories,
        ((r.loaded.control.criteria, r.status, evidence_basis(r.loaded.control)) for r in results),
    )
    return RunOutcome(run_id, now, scope, workspace, results, ready, stored, artifacts, warnings)


def _result_body(
    result: ControlResult, outcomes: list[EvidenceOutcome], workspace: Workspace
) -> dict[str, Any]:
    loaded = result.loaded
    control = loaded.control
    waiver: LoadedWaiver | None = result.waiver
    waiver_summary = None
    if waiver is not None and result.waived_status is not None:
        waiver_summary = {**waiver.summary(), "real_status": result.waived_status.value}
    return {
        "control": control.id, "status": result.status.value, "reasons": result.reasons,
        "assertions": [a.to_json() for a in result.assertions],
        "evidence": [f"{control.id}/{o.id}" for o in outcomes],
        "control_sha256": loaded.definition_sha256, "params_sha256": workspace.params_sha256,
        "waiver_sha256": waiver.sha256 if waiver is not None else None,
        "waiver": waiver_summary,
        "attestation": result.attestation.summary() if result.attestation is not None else None,
        "remediation": result.remediation,
    }


def _add_attached_file(result: ControlResult, blobs: BlobStore, artifacts: dict[str, Path]) -> None:
    """Add the file attached to the attestation in force to the run's artifacts.

    The pack copies every artifact, so it then contains the attached file.
    """
    attached = result.attestation.attached if result.attestation is not None else None
    digest = attached.get("sha256") if attached else None
    if isinstance(digest, str) and _SHA256.match(digest) and blobs.has(digest):
        artifacts[digest] = blobs.path_for(digest)


def _recorded_waivers(ledger: Ledger) -> set[str]:
    """Return the SHA-256 of every waiver recorded by a complete run."""
    complete = ledger.complete_runs()
    recorded: set[str] = set()
    for record in ledger.records_of_kind("waiver"):
        if record.header_fields()["run"] in complete:
            recorded.add(str((record.body_fields() or {}).get("sha256")))
    return recorded


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


def _recorded_definitions(ledger: Ledger) -> dict[str, str]:
    latest: dict[str, str] = {}
    for record in ledger.records_of_kind("control"):
        body = record.body_fields() or {}
        latest[str(body.get("control"))] = str(body.get("definition_sha256"))
    return latest


def _evidence_body(
    loaded: LoadedControl,
    outcome: EvidenceOutcome,
    blobs: BlobStore,
    root: Path,
    stamp: str,
    provenance_base: dict[str, Any],
    artifacts: dict[str, Path],
) -> dict[str, Any]:
    collector = collectors.get(outcome.collector)
    stored_artifacts = []
    collected = outcome.collected
    if collected is not None:
        for path in collected.artifacts:
            # A file that cannot be read makes this evidence `error`. A blob
            # store that cannot be written (LedgerError: a full disk) stops the
            # run, which stays incomplete, because later writes would fail too.
            try:
                digest, size = blobs.put_file(path)
            except CollectorError as exc:
                outcome.status, outcome.message = "error", str(exc)
                break
            artifacts[digest] = blobs.path_for(digest)
            stored_artifacts.append({"path": relative_name(root, path), "size": size, "sha256": digest})
    spec = next(s for s in loaded.control.evidence if s.id == outcome.id)
    observed = collected.observed_at if collected is not None else None
    return {
        "control": loaded.control.id,
        "evidence": outcome.id,
        "collector": outcome.collector,
        "collector_version": collector.version,
        "with": loaded.params[outcome.id].model_dump(mode="json"),
        "status": outcome.status,
        "message": outcome.message,
        "stale": outcome.stale,
        "facts": collected.facts if collected is not None else None,
        "absent": collected.absent if collected is not None else {},
        "failures": collected.failures if collected is not None else [],
        "warnings": collected.warnings if collected is not None else [],
        "artifacts": stored_artifacts,
        "observed_at": format_instant(observed) if observed is not None else None,
        "collected_at": stamp,
        "provenance": {**provenance_base, "input": spec.with_.get("path")},
    }
