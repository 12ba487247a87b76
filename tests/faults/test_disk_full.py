"""A full disk during `assay run`, simulated with a file size limit (RLIMIT_FSIZE).

With SIGXFSZ ignored, a write past the limit fails with EFBIG, as a write to
a full file system fails with ENOSPC. The limit applies per file, so each
test chooses it to let the ledger writes through and stop one chosen write:
a blob in one test, the pack in the other. In the pack test the ledger is on
PostgreSQL, whose server process writes it without the limit.
"""

from __future__ import annotations

import resource
import signal
import subprocess
from pathlib import Path

import pytest

from assay.errors import CollectorError
from assay.evidence.blobs import BlobStore
from assay.evidence.ledger import Ledger
from support.pgserver import create_database, postgres_server
from support.tiny_workspace import NOW, assay_env, run_assay, tiny_workspace

LATER = "2026-12-04T21:15:00Z"


def limited_to(size: int):
    """Return a preexec_fn that caps the size of any file the child writes at `size` bytes."""

    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))

    return apply


def run_limited(workspace: Path, size: int, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run_assay("run", str(workspace), "--now", LATER, env=env, preexec_fn=limited_to(size))


def packs(workspace: Path) -> list[str]:
    return sorted(p.name for p in (workspace / "reports").iterdir() if p.is_dir())


def last_line(stderr: str) -> str:
    return stderr.strip().splitlines()[-1]


def test_blob_write_past_limit_stops_run(tmp_path: Path) -> None:
    workspace = tiny_workspace(tmp_path / "ws")
    first = run_assay("run", str(workspace), "--now", NOW)
    assert first.returncode == 0, first.stderr
    latest_before = (workspace / "reports" / "LATEST").read_text(encoding="utf-8")
    # Larger than the limit below, while the ledger files stay far under it.
    big = workspace / "docs" / "two.txt"
    big.write_bytes(b"policy text\n" * 300_000)

    done = run_limited(workspace, 1024 * 1024, assay_env())

    blobs = workspace / "evidence" / "blobs"
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert last_line(done.stderr) == (
        f"error: cannot store {big.resolve()} in the blob store {blobs}: File too large (EFBIG); "
        "free space on that file system (or raise its quota or file size limit) and run again"
    )
    # No temporary or partial blob is left; every stored blob is whole.
    stored = [p for p in blobs.rglob("*") if p.is_file()]
    assert [p.name for p in stored if p.name.startswith(".incoming-")] == []
    assert all(p.stat().st_size < 1024 * 1024 for p in stored)
    # The run is recorded as incomplete and the ledger still verifies.
    ledger = Ledger(f"sqlite:///{workspace / 'evidence' / 'ledger.db'}")
    try:
        assert [run.complete for run in ledger.runs()] == [True, False]
    finally:
        ledger.close()
    verified = run_assay("ledger", "verify", str(workspace))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert (workspace / "reports" / "LATEST").read_text(encoding="utf-8") == latest_before
    assert len(packs(workspace)) == 1

    big.write_text("second policy\n", encoding="utf-8")
    again = run_assay("run", str(workspace), "--now", LATER)
    assert again.returncode == 0, again.stderr


@pytest.fixture
def postgres_url() -> str:
    with postgres_server() as (url, _data):
        yield create_database(url, "disk_full")


def test_pack_write_past_limit_leaves_no_pack(tmp_path: Path, postgres_url: str) -> None:
    workspace = tiny_workspace(tmp_path / "ws", ledger=postgres_url)
    first = run_assay("run", str(workspace), "--now", NOW)
    assert first.returncode == 0, first.stderr
    latest_before = (workspace / "reports" / "LATEST").read_text(encoding="utf-8")
    first_pack = packs(workspace)
    pdf_size = (Path(latest_before.strip()) / "report.pdf").stat().st_size
    # Blobs here are a few bytes; report.pdf, the largest pack file, is cut short.
    limit = pdf_size // 2

    done = run_limited(workspace, limit, assay_env())

    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    line = last_line(done.stderr)
    assert line.startswith(f"error: cannot write the pack {workspace / 'reports'}/")
    assert "File too large (EFBIG)" in line
    assert "no pack was written for it" in line
    # The run itself is complete; its pack is absent, partial folder included.
    ledger = Ledger(postgres_url)
    try:
        assert [run.complete for run in ledger.runs()] == [True, True]
    finally:
        ledger.close()
    assert packs(workspace) == first_pack
    assert [p.name for p in (workspace / "reports").iterdir() if p.name.startswith(".")] == []
    assert (workspace / "reports" / "LATEST").read_text(encoding="utf-8") == latest_before
    verified = run_assay("ledger", "verify", str(workspace))
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_unreadable_blob_source_is_collector_error(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs")
    missing = tmp_path / "gone.txt"

    with pytest.raises(CollectorError) as raised:
        store.put_file(missing)

    assert str(raised.value) == f"{missing}: cannot read the file to store: No such file or directory"
    assert not (tmp_path / "blobs").exists()
