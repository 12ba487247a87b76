"""Collectors that could hang: a program that never exits, and inputs that are FIFOs.

Each test runs assay in a subprocess with a timeout, or guards a blocking
call with a thread that unblocks it, so that without the protection the test
fails instead of hanging.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from assay.errors import CollectorError
from assay.evidence.collectors.base import read_input_bytes, resolve_input
from assay.evidence.collectors.streams import read_stream
from assay.evidence.ledger import Ledger
from support.tiny_workspace import (
    COMMAND_CONTROL,
    FILES_CONTROL,
    JSON_CONTROL,
    NOW,
    run_assay,
    tiny_workspace,
)

# Seconds after which a blocked open of a FIFO is released by opening its
# writing end, so a test whose protection is missing fails instead of hanging.
RESCUE_AFTER_SECONDS = 30


def results_of(workspace: Path) -> dict[str, dict]:
    """Return the last result body and evidence body of each control, by control id."""
    ledger = Ledger(f"sqlite:///{workspace / 'evidence' / 'ledger.db'}")
    try:
        found: dict[str, dict] = {}
        for record in ledger.records():
            header = record.header_fields()
            body = record.body_fields() or {}
            if header["kind"] in ("result", "evidence"):
                found.setdefault(body["control"], {})[header["kind"]] = body
        return found
    finally:
        ledger.close()


def test_never_exiting_program_times_out(tmp_path: Path) -> None:
    pid_file = tmp_path / "program.pid"
    argv = json.dumps(["/bin/sh", "-c", f'echo $$ > "{pid_file}"; exec sleep 100000'])
    workspace = tiny_workspace(tmp_path / "ws", controls={
        "cmd-01.yaml": COMMAND_CONTROL.format(id="CMD-01", argv=argv, timeout=1),
        "doc-01.yaml": FILES_CONTROL.format(id="DOC-01", path="docs/one.txt"),
    })

    done = run_assay("run", str(workspace), "--now", NOW, "--no-pack", timeout=240)

    assert done.returncode == 0, done.stderr
    results = results_of(workspace)
    assert results["CMD-01"]["evidence"]["status"] == "error"
    assert results["CMD-01"]["evidence"]["message"] == "timed out after 1 s"
    assert results["CMD-01"]["result"]["status"] == "error"
    assert results["DOC-01"]["result"]["status"] == "pass"
    # The program was killed with its process group, not left running.
    with pytest.raises(ProcessLookupError):
        os.kill(int(pid_file.read_text(encoding="ascii")), 0)


def test_fifo_input_is_error_not_hang(tmp_path: Path) -> None:
    workspace = tiny_workspace(tmp_path / "ws", controls={
        "doc-03.yaml": JSON_CONTROL.format(id="DOC-03", path="docs/pipe.json"),
        "doc-01.yaml": FILES_CONTROL.format(id="DOC-01", path="docs/one.txt"),
    })
    os.mkfifo(workspace / "docs" / "pipe.json")

    done = run_assay("run", str(workspace), "--now", NOW, "--no-pack", timeout=240)

    assert done.returncode == 0, done.stderr
    results = results_of(workspace)
    assert results["DOC-03"]["evidence"]["status"] == "error"
    assert results["DOC-03"]["evidence"]["message"] == (
        "docs/pipe.json: is a FIFO (named pipe), not a regular file; point the collector at a regular file"
    )
    assert results["DOC-01"]["result"]["status"] == "pass"


def test_glob_matching_fifo_names_it(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "a.log").write_text("x\n", encoding="utf-8")
    os.mkfifo(tmp_path / "logs" / "b.log")

    with pytest.raises(CollectorError) as raised:
        resolve_input(tmp_path, "logs/*.log")

    assert str(raised.value) == (
        "logs/*.log: matches logs/b.log, which is a FIFO (named pipe), not a regular file; "
        "point the collector at a regular file"
    )


def test_glob_skips_folders(tmp_path: Path) -> None:
    (tmp_path / "logs" / "old").mkdir(parents=True)
    (tmp_path / "logs" / "a.log").write_text("x\n", encoding="utf-8")

    assert resolve_input(tmp_path, "logs/*") == [(tmp_path / "logs" / "a.log").resolve()]


@contextmanager
def rescued(fifo: Path) -> Iterator[None]:
    """Open `fifo` for writing after RESCUE_AFTER_SECONDS unless the block ends first.

    A reader blocked in open() then gets end of file, so a missing
    protection shows up as a failed assertion, not a hung test run.
    """
    finished = threading.Event()

    def rescue() -> None:
        if finished.wait(RESCUE_AFTER_SECONDS):
            return
        descriptor = os.open(fifo, os.O_WRONLY)
        os.close(descriptor)

    thread = threading.Thread(target=rescue, daemon=True)
    thread.start()
    try:
        yield
    finally:
        finished.set()
        thread.join()


def test_read_input_bytes_rejects_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "input.json"
    os.mkfifo(fifo)

    with rescued(fifo), pytest.raises(CollectorError) as raised:
        read_input_bytes(fifo, "input.json")

    assert str(raised.value) == (
        "input.json: is a FIFO (named pipe), not a regular file; point the collector at a regular file"
    )


def test_read_stream_rejects_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "audit.log"
    os.mkfifo(fifo)

    with rescued(fifo), pytest.raises(CollectorError) as raised:
        read_stream(fifo, "audit.log", lambda handle, compressed: len(handle.read()))

    assert str(raised.value) == (
        "audit.log: is a FIFO (named pipe), not a regular file; point the collector at a regular file"
    )


def test_read_input_bytes_reads_regular_file(tmp_path: Path) -> None:
    path = tmp_path / "input.json"
    path.write_bytes(b'{"name": "ok"}')

    assert read_input_bytes(path, "input.json") == b'{"name": "ok"}'
    with pytest.raises(CollectorError, match="over the 4-byte limit"):
        read_input_bytes(path, "input.json", limit=4)


def test_files_collector_describe_rejects_fifo(tmp_path: Path) -> None:
    # The files collector globs, keeps what is_file() accepts, then opens
    # each match: a FIFO swapped in between must not block the open.
    from assay.evidence.collectors.files import _describe

    fifo = tmp_path / "policy.md"
    os.mkfifo(fifo)

    with rescued(fifo), pytest.raises(CollectorError) as raised:
        _describe(fifo, "docs/policy.md")

    assert str(raised.value) == (
        "docs/policy.md: is a FIFO (named pipe), not a regular file; point the collector at a "
        "regular file"
    )


def test_blob_store_rejects_fifo(tmp_path: Path) -> None:
    from assay.evidence.blobs import BlobStore

    fifo = tmp_path / "artifact.json"
    os.mkfifo(fifo)

    with rescued(fifo), pytest.raises(CollectorError, match="is a FIFO"):
        BlobStore(tmp_path / "blobs").put_file(fifo)

    assert not list((tmp_path / "blobs").glob("*/*"))
