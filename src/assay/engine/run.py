"""`assay run`: collect every control's evidence, judge it, record it, close the run."""

from __future__ import annotations

import getpass
import logging
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from assay import __version__
from assay.controls.loader import LoadedControl, Workspace
from assay.engine.evaluate import ControlResult, EvidenceOutcome, check_freshness, judge
from assay.engine.readiness import CategoryReadiness, readiness
from assay.errors import AssayError, CollectorError, EvidenceMissing
from assay.evidence import collectors
from assay.evidence.blobs import BlobStore
from assay.evidence.collectors.base import CollectContext, relative_name
from assay.evidence.ledger import Ledger, NewRecord
from assay.evidence.records import StoredRecord
from assay.faults import fault_point
from assay.keys import SigningKey
from assay.timeutil import format_instant

logger = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
SECRET_OPTION_WORDS = ("password", "secret", "token", "key")


@dataclass
class RunOutcome:
    """A recorded run: its results, readiness and ledger records."""

    run_id: str
    now: datetime
    scope: str
    workspace: Workspace
    results: list[ControlResult]
    readiness: list[CategoryReadiness]
    records: list[StoredRecord]
    artifacts: dict[str, Path]

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
    """Run every collector of one control; a failing collector becomes an outcome, not an exception."""
    outcomes: list[EvidenceOutcome] = []
    for spec in loaded.control.evidence:
        collector = collectors.get(spec.collector)()
        outcome = EvidenceOutcome(id=spec.id, collector=spec.collector, status="ok")
        try:
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
    """
    run_id = uuid.uuid4().hex
    stamp = format_instant(now)
    context = CollectContext(
        workspace=workspace.root, now=now, allow_command=workspace.config.allow_command
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
    results: list[ControlResult] = []
    artifacts: dict[str, Path] = {}
    total = len(workspace.controls)
    for index, loaded in enumerate(workspace.controls, start=1):
        control = loaded.control
        if progress is not None:
            progress(f"collecting {control.id}", index, total)
        entries: list[NewRecord] = []
        if recorded_definitions.get(control.id) != loaded.definition_sha256:
            entries.append(NewRecord("control", {
                "control": control.id, "source": loaded.source,
                "definition": loaded.definition(), "definition_sha256": loaded.definition_sha256,
            }))
        outcomes = [] if control.not_applicable else collect_evidence(loaded, context)
        fault_point("run.after_collect")
        for outcome in outcomes:
            check_freshness(loaded, outcome, now)
            entries.append(NewRecord("evidence", _evidence_body(
                loaded, outcome, blobs, workspace.root, stamp, provenance_base, artifacts
            )))
        result = judge(loaded, outcomes, params)
        results.append(result)
        entries.append(NewRecord("result", {
            "control": control.id, "status": result.status.value, "reasons": result.reasons,
            "assertions": [a.to_json() for a in result.assertions],
            "evidence": [f"{control.id}/{o.id}" for o in outcomes],
            "control_sha256": loaded.definition_sha256, "params_sha256": workspace.params_sha256,
            "waiver_sha256": None,
        }))
        record(entries)
        fault_point("run.after_control")
    if progress is not None:
        progress("signing the run's checkpoint", total, total)
    stored.append(ledger.checkpoint(run=run_id, scope=scope, time=stamp, key=key))
    fault_point("run.after_checkpoint")
    ready = readiness(
        workspace.config.categories,
        ((r.loaded.control.criteria, r.status) for r in results),
    )
    return RunOutcome(run_id, now, scope, workspace, results, ready, stored, artifacts)


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
            try:
                digest, size = blobs.put_file(path)
            except AssayError as exc:
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
