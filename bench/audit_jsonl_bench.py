"""Measure the audit.jsonl collector's throughput and peak memory on a large audit log.

The script writes a deterministic JSON-lines audit log of about 1 GiB (about
5 million events of about 200 bytes) to a temporary folder. One event in a
thousand is written up to 5 s late, after later events, as a buffered writer
would, so the collector takes its path that sorts the times. Then it runs,
each in its own child process so that peak RSS is measured per run:

* `baseline`: a bare loop that reads the file line by line and calls
  `orjson.loads` on each line, and nothing else;
* `collector`: `AuditJsonl().collect(...)` on the same file, with the
  default fields and two required actions;
* `chain` (with --chain only): the collector verifying a hash chain of the
  sha256-canonical-without-hash scheme. The log is then written with
  `prev_hash` and `hash` keys, so its lines are longer.

It prints each run's wall-clock seconds, MiB/s, CPU seconds and peak RSS
(ru_maxrss of the child). Then it prints the throughput ratio collector /
baseline from the fastest run of each kind, by wall clock and by CPU time,
where 1.0 means as fast as the bare parse loop. On a machine that other work
shares, the CPU ratio varies less. orjson must be installed.

    .venv/bin/python bench/audit_jsonl_bench.py [--size-mib 1024] [--repeat 2] [--chain]
        [--keep DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ACTORS = tuple(f"user{number:03d}@example.invalid" for number in range(200)) + (
    "svc-billing", "svc-export", "",
)  # fmt: skip
ACTIONS = ("user.login", "user.logout", "invoice.view", "invoice.create", "invoice.delete",
           "role.grant", "role.revoke", "audit.export", "file.download", "settings.update")
TENANTS = tuple(f"tenant-{number:02d}" for number in range(40))
RESULTS = ("success",) * 17 + ("failure", "failure", "denied")
START = datetime(2026, 11, 4, tzinfo=UTC)


def generate(path: Path, size_bytes: int, *, chained: bool) -> int:
    """Write a log of at least `size_bytes` and return its number of lines.

    Values come from a linear congruential generator with a fixed seed, so
    every run writes the same bytes.
    """
    state = 20261204

    def uniform() -> float:
        nonlocal state
        state = (state * 6364136223846793005 + 1442695040888963407) % 2**64
        return (state >> 11) / 2**53

    canonical = None
    if chained:
        from assay.evidence.records import canonical

    lines = 0
    written = 0
    clock_ms = 0
    previous = "0" * 64
    with path.open("w", encoding="utf-8", newline="\n") as out:
        chunk: list[str] = []
        while written < size_bytes:
            clock_ms += 1 + int(uniform() * 900)
            moment = clock_ms - (int(uniform() * 5000) if uniform() < 0.001 else 0)
            stamp = (START + timedelta(milliseconds=moment)).isoformat(timespec="milliseconds")
            stamp = stamp.replace("+00:00", "Z")
            record = {
                "time": stamp,
                "actor": ACTORS[int(uniform() * len(ACTORS))],
                "action": ACTIONS[int(uniform() * len(ACTIONS))],
                "target": f"invoice/2026-{int(uniform() * 100000):05d}",
                "tenant": TENANTS[int(uniform() * len(TENANTS))],
                "result": RESULTS[int(uniform() * len(RESULTS))],
                "request_id": f"{int(uniform() * 2**63):016x}",
                "source_ip": "127.0.0.1",
            }
            if canonical is not None:
                record["prev_hash"] = previous
                previous = hashlib.sha256(canonical(record)).hexdigest()
                record["hash"] = previous
            text = json.dumps(record, separators=(",", ":")) + "\n"
            chunk.append(text)
            written += len(text)
            lines += 1
            if len(chunk) >= 10_000:
                out.write("".join(chunk))
                chunk = []
        out.write("".join(chunk))
    return lines


def _baseline(path: str) -> Callable[[], dict[str, object]]:
    import orjson

    def run() -> dict[str, object]:
        count = 0
        with open(path, "rb") as handle:
            for line in handle:
                orjson.loads(line)
                count += 1
        return {"lines": count}

    return run


def _collector(path: str, chained: bool) -> Callable[[], dict[str, object]]:
    from assay.evidence.collectors.audit_jsonl import AuditJsonl, AuditJsonlParams
    from assay.evidence.collectors.base import CollectContext

    file = Path(path)
    context = CollectContext(workspace=file.parent, now=datetime.now(UTC))
    chain = {"hash_field": "hash", "prev_field": "prev_hash"} if chained else {}
    params = AuditJsonlParams(path=file.name, required_actions=["role.grant", "audit.export"],
                              **chain)

    def run() -> dict[str, object]:
        result = AuditJsonl().collect(params, context)
        keep = ("events", "malformed_lines", "max_gap_seconds", "out_of_order_events",
                "actor_ratio", "chain_verified")
        return {key: result.facts[key] for key in keep if key in result.facts}

    return run


def _child(kind: str, path: str) -> None:
    """Run one measurement and print its JSON result on stdout.

    Imports happen before the clock starts, so the seconds are those of the
    reading work alone. The peak RSS includes the imported modules.
    """
    run = _baseline(path) if kind == "baseline" else _collector(path, kind == "chain")
    start, cpu_start = time.perf_counter(), time.process_time()
    outcome = run()
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    # ru_maxrss is in KiB on Linux.
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": elapsed, "cpu_seconds": cpu, "peak_rss_kib": peak_kib,
                      "outcome": outcome}))


def _measure(kind: str, path: Path) -> dict[str, object]:
    completed = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(path)],
        check=True, capture_output=True, text=True,
    )
    return json.loads(completed.stdout)


def _run_kinds(path: Path, kinds: tuple[str, ...], repeat: int) -> dict[str, dict[str, object]]:
    size = path.stat().st_size
    best: dict[str, dict[str, object]] = {}
    for _ in range(repeat):
        for kind in kinds:
            run = _measure(kind, path)
            mib_per_second = size / 2**20 / run["seconds"]
            print(f"{kind:9} {run['seconds']:7.2f} s {mib_per_second:7.1f} MiB/s "
                  f"CPU {run['cpu_seconds']:7.2f} s "
                  f"peak RSS {run['peak_rss_kib'] / 1024:7.1f} MiB  {run['outcome']}")
            if kind not in best or run["seconds"] < best[kind]["seconds"]:
                best[kind] = run
            cpu_kind = f"{kind} cpu"
            if cpu_kind not in best or run["cpu_seconds"] < best[cpu_kind]["cpu_seconds"]:
                best[cpu_kind] = run
    return best


def _print_ratio(best: dict[str, dict[str, object]], kind: str) -> None:
    wall = best["baseline"]["seconds"] / best[kind]["seconds"]
    cpu = best["baseline cpu"]["cpu_seconds"] / best[f"{kind} cpu"]["cpu_seconds"]
    print(f"throughput ratio {kind}/baseline: {wall:.2f} by wall clock, {cpu:.2f} by CPU time")


def _write(path: Path, size_mib: int, *, chained: bool) -> None:
    start = time.perf_counter()
    lines = generate(path, size_mib * 1024 * 1024, chained=chained)
    size = path.stat().st_size
    print(f"wrote {path}: {size / 2**20:.0f} MiB, {lines} lines "
          f"in {time.perf_counter() - start:.1f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024, help="Log size to write, in MiB.")
    parser.add_argument(
        "--repeat", type=int, default=2, help="Runs of each kind. The fastest run counts."
    )
    parser.add_argument("--chain", action="store_true",
                        help="Also measure hash chain verification on a chained log.")
    parser.add_argument("--keep", type=Path, help="Write the logs in this folder and keep them.")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return 0

    try:
        import orjson  # noqa: F401
    except ImportError:
        print("orjson is not installed; run: .venv/bin/pip install orjson", file=sys.stderr)
        return 2

    folder = args.keep or Path(tempfile.mkdtemp(prefix="audit-jsonl-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    plain = folder / "audit.jsonl"
    chained = folder / "audit-chained.jsonl"
    try:
        _write(plain, args.size_mib, chained=False)
        print(f"python {platform.python_version()}, {platform.machine()}, "
              f"{os.cpu_count()} CPUs")
        best = _run_kinds(plain, ("baseline", "collector"), args.repeat)
        _print_ratio(best, "collector")
        print(f"collector peak RSS: {best['collector']['peak_rss_kib'] / 1024:.1f} MiB")
        if args.chain:
            _write(chained, args.size_mib, chained=True)
            best = _run_kinds(chained, ("baseline", "chain"), args.repeat)
            _print_ratio(best, "chain")
            print(f"chain peak RSS: {best['chain']['peak_rss_kib'] / 1024:.1f} MiB")
    finally:
        if args.keep is None:
            plain.unlink(missing_ok=True)
            chained.unlink(missing_ok=True)
            folder.rmdir()
    return 0


if __name__ == "__main__":
    sys.exit(main())
