"""A three-control workspace for pack verification tests, independent of examples/platform.

TST-01 reads a k6 summary (observed at 2026-12-04T20:00:20Z) under a max_age
of 26h, TST-02 reads a JSON document through JMESPath, TST-03 is not
applicable, and TST-04 is a manual control that no one has attested.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from assay import keys

K6_SUMMARY = Path(__file__).resolve().parents[1] / "data" / "k6" / "k6-v1.5-machine-readable-summary.json"
# An instant at which the k6 summary is fresh under max_age 26h.
NOW = "2026-12-04T21:15:00Z"

CONFIG = """\
name: "Verification test workspace"
scope: production
signing_key: ".assay/signing-key.pem"
params:
  latency_p95_ms: 3000
  max_admins: 2
"""

CONTROLS = {
    "tst-01-latency.yaml": """\
id: TST-01
title: API latency under load
criteria: [A1.1]
max_age: 26h
evidence:
  - id: load
    collector: k6.summary
    with: {path: inputs/k6-summary.json}
assert:
  - name: p95 latency under target
    expr: load.p95_ms < params.latency_p95_ms
  - name: requests were made
    expr: load.requests > 0
""",
    "tst-02-admins.yaml": """\
id: TST-02
title: Few administrators
criteria: [CC6.1]
evidence:
  - id: roles
    collector: json
    with:
      path: inputs/roles.json
      facts: {admin_count: "length(roles[?admin])"}
assert:
  - name: at most max_admins administrators
    expr: roles.admin_count <= params.max_admins
""",
    "tst-03-excluded.yaml": """\
id: TST-03
title: Physical access
criteria: [CC6.4]
not_applicable: The service runs only on a cloud provider's hardware.
""",
    "tst-04-review.yaml": """\
id: TST-04
title: Yearly access review
criteria: [CC6.2]
manual:
  attestation_every: 365d
""",
}

ROLES = {"roles": [{"name": "alice", "admin": True}, {"name": "bob", "admin": False}]}


def signed_workspace(root: Path) -> Path:
    """Create the workspace with a new signing key (and PDF key) under `root`; return it."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "assay.yaml").write_text(CONFIG, encoding="utf-8")
    (root / "controls").mkdir()
    for name, text in CONTROLS.items():
        (root / "controls" / name).write_text(text, encoding="utf-8")
    (root / "inputs").mkdir()
    shutil.copyfile(K6_SUMMARY, root / "inputs" / "k6-summary.json")
    (root / "inputs" / "roles.json").write_text(json.dumps(ROLES), encoding="utf-8")
    keys.generate(root / ".assay")
    return root
