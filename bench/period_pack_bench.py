"""Measure building one quarter's period pack from a year of hourly runs.

The script writes a synthetic ledger of hourly runs over 2026 with the writer
of tests/engine/test_periods.py: 8,760 runs of scope production with three
controls each, and as many runs of scope staging. It then builds the pack of
Q2 2026 for scope production in a child process and prints its seconds and
peak RSS (ru_maxrss of the child).

    .venv/bin/python bench/period_pack_bench.py [--keep DIR]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

CHILD = """
import sys
from pathlib import Path
sys.path.insert(0, {tests!r})
from assay.evidence.blobs import BlobStore
from assay.evidence.ledger import Ledger
from assay.keys import load_signing_key
from assay.reports.period_pack import build_period_pack
from engine.test_periods import Q2
workspace = Path({workspace!r})
ledger = Ledger(f"sqlite:///{{workspace / 'evidence' / 'ledger.db'}}")
key = load_signing_key(workspace / ".assay" / "signing-key.pem")
build_period_pack(ledger, BlobStore(workspace / "evidence" / "blobs"), key, Q2, "production",
                  workspace / "pack")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="write the ledger and pack here and keep them")
    args = parser.parse_args()
    from engine.test_periods import write_year_ledger

    folder = args.keep or Path(tempfile.mkdtemp(prefix="period-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    write_year_ledger(folder, step=timedelta(hours=1))
    print(f"ledger: {time.perf_counter() - started:.1f} s to write a year of hourly runs")
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", CHILD.format(tests=str(ROOT / "tests"), workspace=str(folder))],
                   check=True)
    seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    pack = folder / "pack"
    size = sum(p.stat().st_size for p in pack.rglob("*") if p.is_file())
    print(f"pack: {seconds:.1f} s, peak RSS {peak_kib / 1024:.0f} MiB, {size / 2**20:.1f} MiB on disk")


if __name__ == "__main__":
    main()
