"""Record RUNS runs of a workspace, one after another: `run_worker.py WORKSPACE RUNS`.

Used by the concurrency tests, which start several of these at once on one
ledger; the ledger URL comes from the workspace or ASSAY_LEDGER.
"""

from __future__ import annotations

import sys
from pathlib import Path

from assay.commands import run_command
from assay.timeutil import parse_now


def main() -> None:
    workspace, runs = Path(sys.argv[1]), int(sys.argv[2])
    now = parse_now("2026-12-04T20:15:00Z")
    for _ in range(runs):
        run_command(workspace, now, None, None, None, pack=False)


if __name__ == "__main__":
    main()
