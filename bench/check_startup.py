"""Measure how long `assay check --from-ledger` takes on the example workspace, start to exit.

The script copies examples/platform to a temporary folder, gives it a
signing key, records one run at the pinned demo instant, and blesses it as
the baseline. It then times, each as a new process:

* `python -c pass`: the interpreter's own start-up, the floor;
* `assay check --from-ledger WORKSPACE`: loading the workspace, reading the
  latest run and the baseline from the ledger, judging and printing.

It prints every sample, the median of each and their difference, and the
modules that a `python -X importtime` run of the check imports from a list
of heavy packages that the check must not need.

    .venv/bin/python bench/check_startup.py [--repeat 9]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "platform"
DEMO_NOW = "2026-12-04T21:15:00Z"
# Packages that only `assay run` (packs: WeasyPrint, Jinja) or a PostgreSQL
# ledger (psycopg) need.
HEAVY = ("weasyprint", "psycopg", "jinja2", "pydyf", "fontTools")


def assay_command() -> list[str]:
    return [sys.executable, "-m", "assay"]


def timed(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(
        argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False
    )
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(argv)} exited {done.returncode}: {done.stderr.decode()}")
    return elapsed


def heavy_imports(argv: list[str], env: dict[str, str]) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", *argv[1:]],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    found = set()
    for line in done.stderr.splitlines():
        if not line.startswith("import time:"):
            continue
        module = line.rsplit("|", 1)[-1].strip()
        if module.split(".")[0] in HEAVY:
            found.add(module.split(".")[0])
    return sorted(found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9, help="samples of each command (default 9)")
    args = parser.parse_args()

    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("ASSAY_NOW", "ASSAY_LEDGER", "ASSAY_SIGNING_KEY")
    }
    with tempfile.TemporaryDirectory() as temporary:
        workspace = Path(temporary) / "ws"
        shutil.copytree(EXAMPLE, workspace)
        setup = [
            ["keys", "generate", "--out", str(workspace / ".assay")],
            ["run", str(workspace), "--now", DEMO_NOW, "--no-pack"],
            ["baseline", "bless", str(workspace), "--allow-failures", "--now", DEMO_NOW],
        ]
        for step in setup:
            subprocess.run([*assay_command(), *step], env=env, check=True, capture_output=True)

        floor_argv = [sys.executable, "-c", "pass"]
        check_argv = [*assay_command(), "check", "--from-ledger", str(workspace)]
        timed(check_argv, env)  # warm the file cache and the bytecode cache
        floor = [timed(floor_argv, env) for _ in range(args.repeat)]
        check = [timed(check_argv, env) for _ in range(args.repeat)]
        heavy = heavy_imports(check_argv, env)

    print(
        f"machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    print("python -c pass:        " + " ".join(f"{value:.3f}" for value in floor))
    print("check --from-ledger:   " + " ".join(f"{value:.3f}" for value in check))
    floor_median = statistics.median(floor)
    check_median = statistics.median(check)
    print(f"median python -c pass: {floor_median:.3f} s")
    print(f"median check:          {check_median:.3f} s")
    print(f"check minus start-up:  {check_median - floor_median:.3f} s")
    print(f"heavy imports on the check's path: {', '.join(heavy) or 'none'}")


if __name__ == "__main__":
    main()
