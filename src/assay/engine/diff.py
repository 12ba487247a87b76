"""`assay diff`: what changed between two recorded runs, per control and per fact.

Facts are compared as flattened paths written the way a CEL assertion reads
them: `k6.p99_ms`, `backups.backups[0].label`,
`policies.by_document["information-security"].approved`. A path present in
one run only is reported as added or removed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from assay.engine.baseline import RecordedRun, RunContents, read_run, recorded_runs
from assay.errors import UsageError
from assay.evidence.ledger import Ledger

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Marks a path that one side does not have; never a fact value, since facts are JSON.
ABSENT: Any = object()


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Flatten nested maps and lists into {path: leaf value}.

    Map keys that are identifiers are joined with dots, other keys are
    written as `["key"]`, and list items as `[index]`. An empty map or list is
    a leaf, so that it still shows up in a comparison.
    """
    flat: dict[str, Any] = {}
    if isinstance(value, dict) and value:
        for key in sorted(value, key=str):
            flat.update(flatten(value[key], _join(prefix, str(key))))
    elif isinstance(value, list) and value:
        for index, item in enumerate(value):
            flat.update(flatten(item, f"{prefix}[{index}]"))
    else:
        flat[prefix] = value
    return flat


def _join(prefix: str, key: str) -> str:
    if _IDENTIFIER.match(key):
        return f"{prefix}.{key}" if prefix else key
    escaped = key.replace("\\", "\\\\").replace('"', '\\"')
    return f'{prefix}["{escaped}"]'


@dataclass(frozen=True)
class ValueChange:
    """One path whose value differs; `before` or `after` is ABSENT when that side lacks it."""

    path: str
    before: Any
    after: Any

    @property
    def kind(self) -> str:
        if self.before is ABSENT:
            return "added"
        if self.after is ABSENT:
            return "removed"
        return "changed"

    def to_json(self) -> dict[str, Any]:
        item: dict[str, Any] = {"path": self.path, "change": self.kind}
        if self.before is not ABSENT:
            item["before"] = self.before
        if self.after is not ABSENT:
            item["after"] = self.after
        return item


def compare_values(before: Any, after: Any, prefix: str = "") -> list[ValueChange]:
    """Return the flattened paths whose values differ between `before` and `after`, sorted."""
    old = flatten(before, prefix)
    new = flatten(after, prefix)
    changes = []
    for path in sorted(set(old) | set(new)):
        left = old.get(path, ABSENT)
        right = new.get(path, ABSENT)
        if left is ABSENT or right is ABSENT or not _same(left, right):
            changes.append(ValueChange(path, left, right))
    return changes


def _same(left: Any, right: Any) -> bool:
    # Python compares True == 1 and 1 == 1.0 as equal. A fact turning from 1
    # into true is a change. One turning from 1 into 1.0 is not, because
    # canonical JSON writes 1.0 as 1.
    return (
        type(left) is type(right)
        and left == right
        or (
            isinstance(left, (int, float))
            and isinstance(right, (int, float))
            and not isinstance(left, bool)
            and not isinstance(right, bool)
            and left == right
        )
    )


@dataclass
class EvidenceChange:
    """The differences of one evidence source of a control between the runs."""

    evidence: str
    status_before: str | None
    status_after: str | None
    facts: list[ValueChange] = field(default_factory=list)


@dataclass
class ControlDiff:
    """One control's differences; a status is None when the control is not in that run."""

    control: str
    status_before: str | None
    status_after: str | None
    definition_changed: bool
    evidence: list[EvidenceChange] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return (
            self.status_before != self.status_after
            or self.definition_changed
            or any(e.status_before != e.status_after or e.facts for e in self.evidence)
        )

    @property
    def fact_changes(self) -> list[ValueChange]:
        return [change for item in self.evidence for change in item.facts]


@dataclass
class RunDiff:
    """Every control of two runs, changed or not, in control id order."""

    before: RecordedRun
    after: RecordedRun
    controls: list[ControlDiff]

    @property
    def changed(self) -> list[ControlDiff]:
        return [item for item in self.controls if item.changed]

    def to_json(self) -> dict[str, Any]:
        return {
            "format": "assay.diff",
            "format_version": 1,
            "before": _run_json(self.before),
            "after": _run_json(self.after),
            "controls": [
                {
                    "control": item.control,
                    "status_before": item.status_before,
                    "status_after": item.status_after,
                    "definition_changed": item.definition_changed,
                    "evidence": [
                        {
                            "evidence": change.evidence,
                            "status_before": change.status_before,
                            "status_after": change.status_after,
                            "facts": [fact.to_json() for fact in change.facts],
                        }
                        for change in item.evidence
                        if change.status_before != change.status_after or change.facts
                    ],
                }
                for item in self.changed
            ],
            "unchanged": [item.control for item in self.controls if not item.changed],
        }


def _run_json(run: RecordedRun) -> dict[str, Any]:
    return {"run": run.run, "scope": run.scope, "time": run.time, "seq": run.seq}


def resolve_run(ledger: Ledger, text: str, scope: str) -> RecordedRun:
    """Find a complete run by id, unique id prefix, `latest` or `previous`.

    `latest` and `previous` are the last and second-to-last complete runs of
    `scope`. An id or prefix may name a run of any scope. Raises UsageError
    when nothing matches, a prefix is ambiguous or the run is incomplete.
    """
    runs = recorded_runs(ledger)
    if text in ("latest", "previous"):
        complete = [run for run in runs if run.complete and run.scope == scope]
        from_end = 1 if text == "latest" else 2
        if len(complete) < from_end:
            raise UsageError(
                f"{text}: scope {scope!r} has {len(complete)} complete runs, so there is no {text} "
                "run; run `assay run` first or pass --scope"
            )
        return complete[-from_end]
    if not text:
        raise UsageError(
            "a run id must not be empty; give a run id, a unique prefix, latest or previous"
        )
    matches = [run for run in runs if run.run.startswith(text.lower())]
    if not matches:
        raise UsageError(
            f"no run in the ledger has an id starting with {text!r}; see `assay ledger log`"
        )
    if len(matches) > 1:
        listed = ", ".join(run.run[:12] for run in matches[:5])
        raise UsageError(
            f"run id prefix {text!r} matches {len(matches)} runs ({listed}); give more characters"
        )
    run = matches[0]
    if not run.complete:
        raise UsageError(
            f"run {run.run} is incomplete (it has no checkpoint), so it counts for nothing; "
            "choose a complete run"
        )
    return run


def diff_runs(ledger: Ledger, before: RecordedRun, after: RecordedRun) -> RunDiff:
    """Compare two recorded runs control by control, evidence by evidence, fact by fact."""
    old = read_run(ledger, before)
    new = read_run(ledger, after)
    controls = sorted(set(old.results) | set(new.results))
    return RunDiff(before, after, [_diff_control(control, old, new) for control in controls])


def _diff_control(control: str, old: RunContents, new: RunContents) -> ControlDiff:
    old_result = old.results.get(control)
    new_result = new.results.get(control)
    definition_changed = (
        old_result is not None
        and new_result is not None
        and old_result.get("control_sha256") != new_result.get("control_sha256")
    )
    item = ControlDiff(
        control,
        old_result.get("status") if old_result else None,
        new_result.get("status") if new_result else None,
        definition_changed,
    )
    old_evidence = old.evidence_of(control)
    new_evidence = new.evidence_of(control)
    for evidence in sorted(set(old_evidence) | set(new_evidence)):
        left = old_evidence.get(evidence)
        right = new_evidence.get(evidence)
        facts = compare_values(
            left.get("facts") if left else None,
            right.get("facts") if right else None,
            evidence,
        )
        # A side without facts flattens to {evidence: None}; that is not a fact.
        facts = [fact for fact in facts if fact.path != evidence or _is_value(fact)]
        item.evidence.append(
            EvidenceChange(
                evidence,
                left.get("status") if left else None,
                right.get("status") if right else None,
                facts,
            )
        )
    return item


def _is_value(change: ValueChange) -> bool:
    return not (change.before in (None, ABSENT) and change.after in (None, ABSENT))
