"""The PostgreSQL ledger server stops (fast shutdown) between two controls of `assay run`.

The run pauses at the fault point run.after_control (ASSAY_FAULT_PAUSE) so
the server stops at a known place: after the first control's records were
committed and before the second control's.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from assay.evidence.ledger import Ledger
from assay.faults import PAUSE_ENV, PAUSED_FILE, RESUME_FILE
from support.pgserver import _as_server_user, create_database, pg_bin, postgres_server
from support.tiny_workspace import NOW, assay_env, run_assay, tiny_workspace

PASSWORD = "s3cret-ledger-pw"
LATER = "2026-12-04T21:15:00Z"


def pg_ctl(data: Path, action: str, url: str) -> None:
    """Stop (fast shutdown) or start the test server of `url` whose data directory is `data`."""
    binaries = pg_bin()
    assert binaries is not None
    if action == "stop":
        argv = [str(binaries / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]
    else:
        # The options postgres_server started the server with.
        port = urlsplit(url).port
        options = (f"-c listen_addresses=127.0.0.1 -p {port} -k {data.parent} -c fsync=off "
                   "-c max_connections=50")
        argv = [str(binaries / "pg_ctl"), "-D", str(data), "-o", options,
                "-l", str(data.parent / "server.log"), "-w", "-t", "60", "start"]
    subprocess.run(_as_server_user(argv), check=True, capture_output=True)


def wait_for(path: Path, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 240
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def test_server_stop_between_controls(tmp_path: Path) -> None:
    with postgres_server() as (server_url, data):
        plain_url = create_database(server_url, "stop_test")
        # The server trusts every local connection, so the password only has to stay out of messages.
        url = plain_url.replace("postgresql://postgres@", f"postgresql://postgres:{PASSWORD}@", 1)
        workspace = tiny_workspace(tmp_path / "ws", ledger=url)
        first = run_assay("run", str(workspace), "--now", NOW, "--no-pack")
        assert first.returncode == 0, first.stderr

        pause = tmp_path / "pause"
        pause.mkdir()
        env = assay_env(**{PAUSE_ENV: f"run.after_control:{pause}"})
        process = subprocess.Popen(
            [sys.executable, "-m", "assay", "run", str(workspace), "--now", LATER, "--no-pack"],
            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True,
        )
        try:
            wait_for(pause / PAUSED_FILE, process)
            pg_ctl(data, "stop", url)
            (pause / RESUME_FILE).touch()
            _stdout, stderr = process.communicate(timeout=240)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()

        port = urlsplit(url).port
        assert process.returncode == 2
        assert "Traceback" not in stderr
        assert PASSWORD not in stderr
        last = stderr.strip().splitlines()[-1]
        assert last.startswith(
            f"error: cannot append to ledger postgresql+psycopg://postgres:***@127.0.0.1:{port}/stop_test: "
        )

        pg_ctl(data, "start", url)
        verified = run_assay("ledger", "verify", str(workspace))
        assert verified.returncode == 0, verified.stdout + verified.stderr
        ledger = Ledger(url)
        try:
            runs = ledger.runs()
        finally:
            ledger.close()
        assert [run.complete for run in runs] == [True, False]
        # The first control of the stopped run was committed before the stop.
        assert sum(runs[1].statuses.values()) == 1
        log = run_assay("ledger", "log", str(workspace), env=assay_env(COLUMNS="200"))
        assert log.returncode == 0, log.stderr
        row = next(line for line in log.stdout.splitlines() if runs[1].run[:12] in line)
        assert "incomplete" in row

        again = run_assay("run", str(workspace), "--now", LATER, "--no-pack")
        assert again.returncode == 0, again.stderr
        verified = run_assay("ledger", "verify", str(workspace))
        assert verified.returncode == 0, verified.stdout + verified.stderr
