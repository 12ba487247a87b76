"""A small valid workspace as bytes, for the workspace-file fuzz tests."""

from __future__ import annotations

CONFIG = b"""\
name: "Fuzz workspace"
framework: soc2
categories: [security, availability]
scope: production
params:
  latency_p99_ms: 5000
  tenant_roles: [tenant-reader, tenant-admin]
"""

CONTROL = b"""\
id: FZ-01
title: API latency stays within target
description: >
  The k6 load test keeps the 99th percentile under its target.
criteria: [A1.1]
owner: platform-team
policies: [access-control]
evidence:
  - id: k6
    collector: k6.summary
    with: {path: inputs/k6-summary.json}
assert:
  - name: p99 latency under target
    expr: k6.p99_ms < params.latency_p99_ms && size(params.tenant_roles) > 0
remediation: Find the slow endpoints and run the load test again.
"""

WAIVER = b"""\
control: FZ-01
scope: production
justification: the new gateway is being rolled out
owner: platform-team
approver: security-lead
created: 2026-11-20T09:00:00+02:00
expires: 2026-12-10T18:00:00+02:00
remediation: finish the gateway rollout and rerun the load test
"""

POLICY = b"""\
---
title: Access Control Policy
policy_id: access-control
owner: security-engineering
version: "2.4"
approver: Chief Technology Officer
approved_at: 2026-05-11
next_review: 2027-05-11
controls: [FZ-01]
---

# Access Control Policy

Access is granted by role.
"""

FILES = {
    "assay.yaml": CONFIG,
    "controls/fz-01.yaml": CONTROL,
    "waivers/fz-01.yaml": WAIVER,
    "policies/access-control.md": POLICY,
}
