"""`assay status` on the example workspace after a run, against a table worked out by hand."""

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from assay import keys
from assay.cli import app

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "platform"
NOW = "2026-12-04T21:15:00Z"
runner = CliRunner(env={"ASSAY_SIGNING_KEY": None, "ASSAY_LEDGER": None, "ASSAY_NOW": None,
                        "COLUMNS": "200"})

# Worked out from the controls' criteria and the statuses at NOW:
# CC1.1 and CC2.2 (POL-01 pass), CC7.3 (AUD-02 pass), CC7.4 (POL-04 and
# RB-01 pass), CC7.5 (RB-01 pass) and CC8.1 (POL-05 pass) are met. CC5.3 is
# not, because POL-03's policy review is overdue; CC6.1 is not, because the
# isolation suites fail (ISO-01..03) or are missing (ISO-04) and CloudTrail
# shows logging stopped (AUD-03); CC6.3 and CC7.2 are not, because the
# cluster audit log shows a cluster-admin binding (AUD-04). Availability:
# A1.1 fails on error rate and throughput (LT-02, LT-03, LT-04) and memory
# growth (MEM-01), A1.2 on incremental frequency (BK-02), retention (BK-03)
# and restic retention (BK-06), A1.3 on retention (BK-03).
SECURITY_MET = ["CC1.1", "CC2.2", "CC7.3", "CC7.4", "CC7.5", "CC8.1"]
SECURITY_NOT_MET_WITH_CONTROLS = ["CC5.3", "CC6.1", "CC6.3", "CC7.2"]
AVAILABILITY_NOT_MET = ["A1.1", "A1.2", "A1.3"]
FAILING = ["AUD-03", "AUD-04", "BK-02", "BK-03", "BK-06", "ISO-01", "ISO-02", "ISO-03", "LT-02",
           "LT-03", "LT-04", "MEM-01", "POL-03"]


def test_status_matches_hand_computed_table(tmp_path: Path):
    workspace = tmp_path / "ws"
    shutil.copytree(EXAMPLE, workspace)
    keys.generate(workspace / ".assay")
    assert runner.invoke(app, ["run", str(workspace), "--now", NOW, "--no-pack"]).exit_code == 0

    result = runner.invoke(app, ["status", str(workspace), "--now", NOW, "--format", "json"])

    assert result.exit_code == 0, result.output
    status = json.loads(result.stdout)
    categories = {item["category"]: item for item in status["categories"]}
    security = categories["security"]
    assert security["criteria_met"] == SECURITY_MET
    assert security["criteria_in_scope"] == 33
    judged = [c for c in security["criteria_not_met"] if c not in security["coverage_gaps"]]
    assert judged == SECURITY_NOT_MET_WITH_CONTROLS
    assert len(security["coverage_gaps"]) == 33 - 6 - 4
    assert security["status"] == "In progress"
    availability = categories["availability"]
    assert availability["criteria_met"] == []
    assert availability["criteria_not_met"] == AVAILABILITY_NOT_MET
    assert availability["status"] == "Not started"
    assert status["controls_by_status"]["fail"] == FAILING
    assert status["controls_by_status"]["missing"] == ["ISO-04"]
    assert len(status["controls_by_status"]["pass"]) == 15
