"""Judge one control after collection: attestations, assertions, then the waiver in force.

`assay run` and `assay check` both call this, so a recorded run and a gate
check can never judge the same evidence differently.
"""

from __future__ import annotations

from datetime import datetime

from assay.controls.loader import LoadedControl, Workspace
from assay.controls.waivers import waivers_in_force
from assay.engine.attestations import review_attestations
from assay.engine.evaluate import ControlResult, EvidenceOutcome, apply_waiver, judge
from assay.evidence.records import StoredRecord


def judge_control(
    loaded: LoadedControl,
    outcomes: list[EvidenceOutcome],
    workspace: Workspace,
    *,
    scope: str,
    now: datetime,
    attestations: list[StoredRecord],
) -> ControlResult:
    """Return the control's result at `now` in `scope`.

    A manual control is judged by the attestation records; any other by its
    evidence outcomes and assertions. The waiver in force that expires last,
    if any, then turns a result that is not met into `waived`.
    """
    control = loaded.control
    review = None
    if control.manual is not None:
        review = review_attestations(attestations, control, workspace.people, now)
    result = judge(loaded, outcomes, workspace.config.params, attestations=review)
    waivers = waivers_in_force(workspace.waivers, control.id, scope, now)
    return apply_waiver(result, waivers[0] if waivers else None)
