"""SIGKILL at named fault points: the ledger still verifies, the killed run is
incomplete (or absent, when no record of it was committed), and the next run
completes."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from assay import keys
from assay.evidence.audit import verify_ledger
from assay.evidence.blobs import BlobStore
from assay.evidence.ledger import Ledger
from support.workspace import small_workspace

WORKER = Path(__file__).resolve().parents[1] / "support" / "run_worker.py"

# Fault point -> state of the killed run: "absent" when it died before its
# first commit, "incomplete" when records but no checkpoint were committed,
# "complete" when the checkpoint was committed before the kill.
RUN_FAULTS = {
    "ledger.before_insert": "absent",
    "ledger.during_insert": "absent",
    "ledger.before_commit": "absent",
    "ledger.after_commit": "incomplete",
    "run.after_run_record": "incomplete",
    "blob.before_write": "incomplete",
    "blob.during_write": "incomplete",
    "blob.before_fsync": "incomplete",
    "blob.before_rename": "incomplete",
    "blob.after_rename": "incomplete",
    "run.after_collect": "incomplete",
    "run.after_control": "incomplete",
    "checkpoint.before_sign": "incomplete",
    "checkpoint.after_sign": "incomplete",
    "run.after_checkpoint": "complete",
}


def _run(workspace: Path, fault: str | None) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "PYTHONPATH": str(WORKER.parents[1])}
    env.pop("ASSAY_FAULT", None)
    if fault is not None:
        env["ASSAY_FAULT"] = fault
    return subprocess.run([sys.executable, str(WORKER), str(workspace), "1"], env=env,
                          capture_output=True, timeout=120, check=False)


def _verify(workspace: Path):
    ledger = Ledger(f"sqlite:///{workspace / 'evidence' / 'ledger.db'}")
    key = keys.load_signing_key(workspace / ".assay" / "signing-key.pem")
    try:
        report = verify_ledger(ledger, BlobStore(workspace / "evidence" / "blobs"), {key.key_id: key.public})
        runs = ledger.runs()
    finally:
        ledger.close()
    return report, runs


@pytest.mark.parametrize(("fault", "expected"), sorted(RUN_FAULTS.items()))
def test_kill_at_fault_point_leaves_verifiable_ledger(tmp_path, fault, expected):
    workspace = small_workspace(tmp_path / "ws")
    assert _run(workspace, None).returncode == 0

    killed = _run(workspace, fault)
    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()

    _report, runs = _verify(workspace)
    if expected == "absent":
        assert len(runs) == 1
    else:
        assert len(runs) == 2
        assert runs[1].complete is (expected == "complete")

    assert _run(workspace, None).returncode == 0
    report, runs = _verify(workspace)
    assert runs[-1].complete
    assert report.complete_runs == {run.run for run in runs if run.complete}
    assert len(report.complete_runs) == 3 if expected == "complete" else 2


PACK_FAULTS = ["pack.before_write", "pack.after_reports", "pack.before_seal", "pack.before_rename",
               "pack.after_rename"]


def _assay_run(workspace: Path, fault: str | None) -> subprocess.CompletedProcess[bytes]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("ASSAY_")}
    if fault is not None:
        env["ASSAY_FAULT"] = fault
    return subprocess.run(
        [sys.executable, "-m", "assay", "run", str(workspace), "--now", "2026-12-04T20:15:00Z"],
        env=env, capture_output=True, timeout=300, check=False,
    )


def _complete_packs(workspace: Path) -> list[Path]:
    return sorted(p for p in (workspace / "reports").iterdir() if p.is_dir() and not p.name.startswith("."))


@pytest.mark.parametrize("fault", PACK_FAULTS)
def test_kill_while_packing_leaves_no_pack_looking_complete(tmp_path, fault):
    workspace = small_workspace(tmp_path / "ws")

    killed = _assay_run(workspace, fault)
    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()

    _report, runs = _verify(workspace)
    assert [run.complete for run in runs] == [True]
    packs = _complete_packs(workspace) if (workspace / "reports").exists() else []
    if fault == "pack.after_rename":
        assert len(packs) == 1
    else:
        assert packs == []

    done = _assay_run(workspace, None)
    assert done.returncode == 0, done.stderr.decode()
    latest = Path((workspace / "reports" / "LATEST").read_text(encoding="utf-8").strip())
    public = workspace / ".assay" / "signing-key.pub.pem"
    verified = subprocess.run(
        [sys.executable, "-m", "assay", "verify", str(latest), "--key", str(public)],
        capture_output=True, timeout=120, check=False,
    )
    assert verified.returncode == 0, verified.stderr.decode()
