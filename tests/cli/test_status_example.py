"""`assay status` on the example workspace after a run, against a table worked out by hand.

The per-control table, with the input value that decides each row, is in
tests/support/example_statuses.py.
"""

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from assay import keys
from assay.catalog import criteria
from assay.cli import app
from support.example_statuses import EXAMPLE_STATUSES

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "platform"
NOW = "2026-12-04T21:15:00Z"
runner = CliRunner(env={"ASSAY_SIGNING_KEY": None, "ASSAY_LEDGER": None, "ASSAY_NOW": None,
                        "COLUMNS": "200"})

CONTROLS = EXAMPLE_STATUSES

# No criterion is met: each has at least one control above that is missing,
# manual or failing. For example CC5.3 needs all of POL-01 to POL-10, and
# CC8.1 needs CHG-01, whose CI results the platform never exported. No
# criterion is a coverage gap, because the library covers every security
# and availability criterion.
CATEGORIES = [
    {
        "category": "security", "criteria_met": [], "criteria_in_scope": 33,
        "criteria_not_met": criteria.ids_in_category("security"), "coverage_gaps": [],
        "criteria_not_applicable": [], "readiness_ratio": 0.0, "status": "Not started",
    },
    {
        "category": "availability", "criteria_met": [], "criteria_in_scope": 3,
        "criteria_not_met": ["A1.1", "A1.2", "A1.3"], "coverage_gaps": [],
        "criteria_not_applicable": [], "readiness_ratio": 0.0, "status": "Not started",
    },
]


def _by_status() -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for control, status in sorted(CONTROLS.items()):
        grouped.setdefault(status, []).append(control)
    return grouped


def test_status_matches_hand_computed_table(tmp_path: Path):
    workspace = tmp_path / "ws"
    shutil.copytree(EXAMPLE, workspace)
    keys.generate(workspace / ".assay")
    assert runner.invoke(app, ["run", str(workspace), "--now", NOW, "--no-pack"]).exit_code == 0

    result = runner.invoke(app, ["status", str(workspace), "--now", NOW, "--format", "json"])

    assert result.exit_code == 0, result.output
    status = json.loads(result.stdout)
    assert {item["control"]: item["status"] for item in status["controls"]} == CONTROLS
    assert status["controls_by_status"] == _by_status()
    fields = list(CATEGORIES[0])
    categories = [{name: item[name] for name in fields} for item in status["categories"]]
    assert categories == CATEGORIES
    assert status["coverage_gaps"] == []
    assert {row["state"] for row in status["criteria"]} == {"not met"}
