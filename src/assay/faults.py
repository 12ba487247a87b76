"""Named fault points for crash and outage tests.

When the environment variable ASSAY_FAULT names a point, the process kills
itself with SIGKILL on reaching it, which is how the test suite proves that a
crash at that moment leaves a ledger that still verifies.

When ASSAY_FAULT_PAUSE is `POINT:FOLDER`, the process creates FOLDER/paused
on reaching POINT and waits until FOLDER/resume exists, so a test can stop
a database server or fill a disk at a known place in a run. The wait ends
after PAUSE_MAX_SECONDS even without FOLDER/resume, so a broken test cannot
leave a process waiting for ever.

With neither variable set, a fault point costs two dictionary lookups.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

FAULT_ENV = "ASSAY_FAULT"
PAUSE_ENV = "ASSAY_FAULT_PAUSE"
PAUSED_FILE = "paused"
RESUME_FILE = "resume"
PAUSE_MAX_SECONDS = 300.0
_PAUSE_POLL_SECONDS = 0.05


def fault_point(name: str) -> None:
    """Kill this process with SIGKILL if ASSAY_FAULT equals `name`; pause if ASSAY_FAULT_PAUSE names it."""
    if os.environ.get(FAULT_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
    pause = os.environ.get(PAUSE_ENV)
    if pause:
        point, _sep, folder = pause.partition(":")
        if point == name and folder:
            _pause(Path(folder))


def _pause(folder: Path) -> None:
    (folder / PAUSED_FILE).write_text(f"{os.getpid()}\n", encoding="ascii")
    deadline = time.monotonic() + PAUSE_MAX_SECONDS
    while not (folder / RESUME_FILE).exists() and time.monotonic() < deadline:
        time.sleep(_PAUSE_POLL_SECONDS)
