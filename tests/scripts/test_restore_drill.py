"""End-to-end test of scripts/restore_drill.py against real PostgreSQL and pgBackRest.

The drill runs once per module into a temporary folder. The tests read its
record with the drill.restore collector, and then record it in a ledger
through `assay run`. Durations depend on the machine, so the tests check only
that they are positive and consistent, never their size.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from assay import keys
from assay.commands import run_command
from assay.config import LEDGER_ENV
from assay.engine.status import Status
from assay.evidence.collectors.base import CollectContext
from assay.evidence.collectors.drill import RestoreDrill
from assay.evidence.ledger import Ledger
from support.pgserver import REQUIRE_ENV, pg_bin

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "restore_drill.py"
RECORD = "restore-drill.json"


def missing_tools() -> list[str]:
    missing = []
    if shutil.which("pgbackrest") is None:
        missing.append("pgbackrest (apt-get install pgbackrest)")
    if pg_bin() is None:
        missing.append("PostgreSQL binaries (apt-get install postgresql-15)")
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            missing.append("runuser (apt-get install util-linux)")
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            missing.append("the postgres user, which runs the servers when tests run as root")
    return missing


@pytest.fixture(scope="module")
def drill_output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Run the drill once and return the folder with its record and logs."""
    missing = missing_tools()
    if missing:
        message = "restore drill needs " + ", ".join(missing)
        if os.environ.get(REQUIRE_ENV):
            pytest.fail(f"{message}; {REQUIRE_ENV} is set, so the drill must run")
        pytest.skip(message)
    out = tmp_path_factory.mktemp("drill") / "out"
    binaries = pg_bin()
    assert binaries is not None
    completed = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(out), "--rows", "20000",
         "--pg-bin", str(binaries)],
        capture_output=True, text=True, timeout=900, check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return out


@pytest.fixture(scope="module")
def record(drill_output: Path) -> dict[str, Any]:
    return json.loads((drill_output / RECORD).read_text(encoding="utf-8"))


def test_drill_record_verified(record: dict[str, Any]) -> None:
    assert record["format"] == "assay-restore-drill"
    assert record["data_verified"] is True
    assert record["rows_expected"] == 20000
    assert record["rows_found"] == 20000
    assert record["error"] is None
    assert [step["exit_code"] for step in record["steps"]] == [0] * len(record["steps"])


def test_drill_steps_in_order(record: dict[str, Any]) -> None:
    names = [step["step"] for step in record["steps"]]
    assert names.index("backup") < names.index("write-more-data") < names.index("stop-primary")
    assert names.index("stop-primary") < names.index("restore") < names.index("verify-data")


def test_drill_keeps_logs(drill_output: Path, record: dict[str, Any]) -> None:
    assert "logs/pgbackrest/drill-restore.log" in record["logs"]
    assert "logs/postgresql-restored.log" in record["logs"]
    for name in record["logs"]:
        assert (drill_output / name).is_file(), name


def test_drill_replayed_archived_wal(drill_output: Path) -> None:
    server_log = (drill_output / "logs" / "postgresql-restored.log").read_text(encoding="utf-8")
    assert "from archive" in server_log
    assert "archive recovery complete" in server_log


def test_collector_reads_drill(drill_output: Path, record: dict[str, Any]) -> None:
    params = RestoreDrill.Params(path=f"out/{RECORD}")
    context = CollectContext(workspace=drill_output.parent, now=datetime.now(UTC))
    collected = RestoreDrill().collect(params, context)
    facts = collected.facts
    assert facts["rto_seconds"] > 0
    assert facts["restore_command_seconds"] > 0
    assert facts["rto_seconds"] >= facts["restore_command_seconds"]
    assert facts["data_verified"] is True
    assert facts["rto_seconds"] == record["rto_seconds"]
    assert facts["drill_age_seconds"] >= 0
    assert collected.failures == []


def write_workspace(workspace: Path) -> None:
    (workspace / "controls").mkdir(parents=True)
    (workspace / "assay.yaml").write_text(textwrap.dedent("""\
        name: Restore drill test
        categories: [availability]
        scope: drill-test
        signing_key: .assay/signing-key.pem
        """), encoding="utf-8")
    (workspace / "controls" / "dr-01-restore-drill.yaml").write_text(textwrap.dedent("""\
        id: DR-01
        title: A restore drill recovered the database within an hour
        criteria: [A1.3]
        owner: database-team
        evidence:
          - id: drill
            collector: drill.restore
            with: {path: drills/*/restore-drill.json}
        assert:
          - name: recovered within an hour with every row
            expr: drill.rto_seconds < 3600 && drill.data_verified
        """), encoding="utf-8")
    keys.generate(workspace / ".assay")


def test_drill_recorded_in_ledger(
    drill_output: Path, record: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(LEDGER_ENV, raising=False)
    workspace = tmp_path / "ws"
    shutil.copytree(drill_output, workspace / "drills" / "first")
    write_workspace(workspace)

    outcome, pack = run_command(workspace, datetime.now(UTC), None, None, None, pack=False)

    assert pack is None
    assert [result.status for result in outcome.results] == [Status.PASS]
    ledger = Ledger(f"sqlite:///{workspace / 'evidence' / 'ledger.db'}")
    try:
        evidence = [stored.body_fields() for stored in ledger.records_of_kind("evidence")]
    finally:
        ledger.close()
    assert len(evidence) == 1
    body = evidence[0]
    assert body is not None
    assert body["control"] == "DR-01"
    assert body["collector"] == "drill.restore"
    assert body["facts"]["rto_seconds"] == record["rto_seconds"]
    assert body["facts"]["data_verified"] is True
    assert body["observed_at"] == record["ready_at"]
    stored_paths = [artifact["path"] for artifact in body["artifacts"]]
    assert stored_paths[0] == f"drills/first/{RECORD}"
    assert f"drills/first/{record['logs'][0]}" in stored_paths
