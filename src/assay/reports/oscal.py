"""OSCAL 1.1.2 assessment results of a period, built from a period summary.

The mapping:

* The document contains one result for the period: `start` and `end` are the
  period bounds, and `reviewed-controls` includes every control with a
  result in the period.
* Each control gets one finding whose target is the control id (type
  `objective-id`). A control whose period status is `pass` is `satisfied`.
  Every other status is `not-satisfied`, with reason `fail` for fail, error
  and missing and `other` for not_applicable and manual. The assay status is
  kept in the prop `assay-status`.
* Each distinct evidence artifact of a control's runs gets one observation,
  related to that control's finding. Its relevant evidence points at
  `evidence/sha256/<hex>`, the artifact's path inside the period pack, and
  `collected` is the time of the first run that used it.
* Every UUID is a version 5 UUID derived from the scope, the period and the
  item, so the same ledger and period give the same document.

OSCAL requires `import-ap`, a reference to an assessment plan. assay has no
assessment plan, so `import-ap` points at a back-matter resource that
describes the period pack in its place.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from assay.engine.periods import ControlPeriod, PeriodSummary

OSCAL_VERSION = "1.1.2"
# Namespace of the props that assay defines; props without `ns` must be OSCAL's own.
PROP_NAMESPACE = "https://assay.example.invalid/ns/oscal"
UUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, PROP_NAMESPACE)
FAIL_STATUSES = frozenset({"fail", "error", "missing"})


def _uuid(*parts: str) -> str:
    return str(uuid.uuid5(UUID_NAMESPACE, "\x00".join(parts)))


def _prop(name: str, value: str) -> dict[str, str]:
    return {"name": name, "ns": PROP_NAMESPACE, "value": value}


def finding_status(status: str) -> dict[str, str]:
    """Map an assay period status to an OSCAL objective status."""
    if status == "pass":
        return {"state": "satisfied"}
    return {"state": "not-satisfied", "reason": "fail" if status in FAIL_STATUSES else "other"}


def assessment_results(summary: PeriodSummary) -> dict[str, Any]:
    """Build the OSCAL assessment-results document of `summary` as JSON-ready data."""
    key = (summary.scope, summary.start, summary.end, summary.head_hash)
    plan_uuid = _uuid(*key, "assessment-plan")
    observations: list[dict[str, Any]] = []
    findings: list[dict[str, Any]] = []
    for control in summary.controls:
        related = _observations(control, key)
        observations.extend(related)
        findings.append(_finding(control, key, [item["uuid"] for item in related]))
    result: dict[str, Any] = {
        "uuid": _uuid(*key, "result"),
        "title": f"Period {summary.start} to {summary.end}, scope {summary.scope}",
        "description": (
            f"Controls of scope {summary.scope} judged by assay over {len(summary.runs)} complete runs "
            f"in the period [{summary.start}, {summary.end}), read from the ledger up to seq "
            f"{summary.head_seq} ({summary.head_hash})."
        ),
        "start": summary.start,
        "end": summary.end,
        "props": [_prop("ledger-head-hash", summary.head_hash), _prop("runs", str(len(summary.runs)))],
        "reviewed-controls": {"control-selections": [{
            "include-controls": [{"control-id": control.control} for control in summary.controls],
        }]},
    }
    if observations:
        result["observations"] = observations
    if findings:
        result["findings"] = findings
    return {"assessment-results": {
        "uuid": _uuid(*key, "assessment-results"),
        "metadata": {
            "title": f"assay assessment results: {summary.workspace or summary.scope}",
            # The last checkpoint's time, so the document does not depend on the wall clock.
            "last-modified": summary.head_time or summary.end,
            "version": summary.head_hash,
            "oscal-version": OSCAL_VERSION,
        },
        "import-ap": {
            "href": f"#{plan_uuid}",
            "remarks": "assay has no assessment plan; the resource describes the period pack instead.",
        },
        "results": [result],
        "back-matter": {"resources": [{
            "uuid": plan_uuid,
            "title": "assay period pack",
            "description": (
                f"The signed period pack of scope {summary.scope} over [{summary.start}, {summary.end}), "
                "built with `assay pack --period`; the evidence hrefs are paths inside it."
            ),
        }]},
    }}


def _observations(control: ControlPeriod, key: tuple[str, ...]) -> list[dict[str, Any]]:
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for run in control.runs:
        for use in run.evidence:
            for artifact in use.artifacts:
                digest = artifact["sha256"]
                item = seen.get((use.evidence, digest))
                if item is None:
                    seen[(use.evidence, digest)] = {
                        "evidence": use, "digest": digest, "path": artifact.get("path"),
                        "first": run.time, "last": run.time, "runs": 1,
                    }
                else:
                    item["last"] = run.time
                    item["runs"] += 1
    observations = []
    for (evidence, digest), item in sorted(seen.items(), key=lambda entry: (entry[1]["first"], entry[0])):
        use = item["evidence"]
        observations.append({
            "uuid": _uuid(*key, "observation", control.control, evidence, digest),
            "title": f"{control.control} evidence {evidence}",
            "description": (
                f"Artifact {item['path'] or digest} collected by {use.collector} for evidence "
                f"{evidence} of {control.control}, used by {item['runs']} runs from {item['first']} "
                f"to {item['last']}."
            ),
            "props": [_prop("collector", use.collector), _prop("sha256", digest)],
            "methods": ["TEST"],
            "relevant-evidence": [{
                "href": f"evidence/sha256/{digest}",
                "description": f"SHA-256 {digest}",
                "props": [_prop("sha256", digest)],
            }],
            "collected": item["first"],
        })
    return observations


def _finding(control: ControlPeriod, key: tuple[str, ...], observation_uuids: list[str]) -> dict[str, Any]:
    status = control.status.value
    share = "none counted" if control.share_met is None else f"{control.share_met:.4f}"
    finding: dict[str, Any] = {
        "uuid": _uuid(*key, "finding", control.control),
        "title": f"{control.control}: {control.title or control.control}",
        "description": (
            f"{control.control} was {status} over the period: {control.met} of {control.counted} "
            f"counted runs met (share {share}), with {len(control.windows)} windows not met."
        ),
        "props": [_prop("assay-status", status)],
        "target": {
            "type": "objective-id",
            "target-id": control.control,
            "status": finding_status(status),
        },
    }
    if observation_uuids:
        finding["related-observations"] = [{"observation-uuid": item} for item in observation_uuids]
    return finding


def to_json_text(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
