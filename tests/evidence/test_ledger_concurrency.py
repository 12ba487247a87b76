"""Concurrent writers on one ledger produce one linear chain, on SQLite and PostgreSQL."""

import os
import subprocess
import sys
from pathlib import Path

from assay import keys
from assay.evidence.audit import verify_ledger
from assay.evidence.blobs import BlobStore
from assay.evidence.ledger import Ledger
from support.pgserver import create_database
from support.workspace import small_workspace

WORKER = Path(__file__).resolve().parents[1] / "support" / "run_worker.py"


def _run_workers(workspaces: list[Path], runs_each: int, ledger_url: str) -> None:
    env = {**os.environ, "ASSAY_LEDGER": ledger_url, "PYTHONPATH": str(WORKER.parents[1])}
    processes = [
        subprocess.Popen([sys.executable, str(WORKER), str(ws), str(runs_each)], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for ws in workspaces
    ]
    for process in processes:
        _out, err = process.communicate(timeout=600)
        assert process.returncode == 0, err.decode()


def _check_single_chain(ledger_url: str, workspaces: list[Path], expected_runs: int) -> None:
    ledger = Ledger(ledger_url)
    trusted = {}
    for ws in workspaces:
        key = keys.load_signing_key(ws / ".assay" / "signing-key.pem")
        trusted[key.key_id] = key.public
    try:
        # Every workspace stores blobs in its own folder; each folder holds the same inputs.
        report = verify_ledger(ledger, BlobStore(workspaces[0] / "evidence" / "blobs"), trusted)
        runs = ledger.runs()
        order = [r.header_fields()["run"] for r in ledger.records()]
    finally:
        ledger.close()
    assert report.last_seq == report.records
    assert len(runs) == expected_runs
    assert all(run.complete for run in runs)
    assert report.incomplete_runs == set()
    # Writers overlapped: some run's records are not contiguous in the chain.
    switches = sum(1 for a, b in zip(order, order[1:]) if a != b)
    assert switches > expected_runs - 1


def test_four_sqlite_writers_one_chain(tmp_path):
    url = f"sqlite:///{tmp_path / 'shared' / 'ledger.db'}"
    workspaces = [small_workspace(tmp_path / f"ws{i}") for i in range(4)]
    _run_workers(workspaces, 45, url)
    _check_single_chain(url, workspaces, 180)


def test_eight_postgres_writers_one_chain(tmp_path, postgres_url):
    url = create_database(postgres_url, "concurrency")
    workspaces = [small_workspace(tmp_path / f"ws{i}") for i in range(8)]
    _run_workers(workspaces, 40, url)
    _check_single_chain(url, workspaces, 320)
