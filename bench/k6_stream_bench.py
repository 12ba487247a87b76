"""Measure the k6.stream collector's throughput and peak memory on a large stream.

The script writes a deterministic k6 `--out json` stream of about 1 GiB
(about 4.3 million Point lines) to a temporary folder, then runs, each in its
own child process so that peak RSS is measured per run:

* `baseline`: a bare loop that reads the file line by line and calls
  `orjson.loads` on each line, and nothing else;
* `collector`: `K6Stream().collect(...)` on the same file.

It prints each run's seconds, MiB/s and peak RSS (ru_maxrss of the child),
then the throughput ratio collector / baseline (1.0 means as fast as the bare
parse loop). orjson must be installed (`pip install orjson`).

    .venv/bin/python bench/k6_stream_bench.py [--size-mib 1024] [--repeat 2] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

NAMES = ("GET /api/items", "GET /api/items/{id}", "POST /api/orders")
STATUS = {"GET /api/items": "200", "GET /api/items/{id}": "200", "POST /api/orders": "201"}
METRICS = (
    ("vus", "gauge", "default"),
    ("vus_max", "gauge", "default"),
    ("http_reqs", "counter", "default"),
    ("http_req_duration", "trend", "time"),
    ("http_req_blocked", "trend", "time"),
    ("http_req_connecting", "trend", "time"),
    ("http_req_tls_handshaking", "trend", "time"),
    ("http_req_sending", "trend", "time"),
    ("http_req_waiting", "trend", "time"),
    ("http_req_receiving", "trend", "time"),
    ("http_req_failed", "rate", "default"),
    ("checks", "rate", "default"),
    ("group_duration", "trend", "time"),
    ("orders_created", "counter", "default"),
    ("data_sent", "counter", "data"),
    ("data_received", "counter", "data"),
    ("iteration_duration", "trend", "time"),
    ("iterations", "counter", "default"),
)
HTTP_TIMINGS = (
    "http_req_duration", "http_req_blocked", "http_req_connecting", "http_req_tls_handshaking",
    "http_req_sending", "http_req_waiting", "http_req_receiving",
)  # fmt: skip


def _time(nanoseconds: int) -> str:
    """Format nanoseconds after 2026-12-04T20:00:00Z the way k6 (Go RFC3339Nano) does."""
    seconds, fraction = divmod(nanoseconds, 1_000_000_000)
    minutes, second = divmod(seconds, 60)
    hours, minute = divmod(minutes, 60)
    text = f"2026-12-04T{20 + hours:02d}:{minute:02d}:{second:02d}"
    digits = f"{fraction:09d}".rstrip("0")
    return f"{text}.{digits}Z" if digits else f"{text}Z"


def _point(metric: str, nanoseconds: int, value: float | int, tags: str) -> str:
    return (
        f'{{"metric":"{metric}","type":"Point","data":{{"time":"{_time(nanoseconds)}",'
        f'"value":{value},"tags":{tags}}}}}\n'
    )


def generate(path: Path, size_bytes: int) -> tuple[int, int]:
    """Write a stream of at least `size_bytes` and return its (lines, Point lines).

    Values come from a linear congruential generator with a fixed seed, so
    every run writes the same bytes.
    """
    state = 20261204

    def uniform() -> float:
        nonlocal state
        state = (state * 6364136223846793005 + 1442695040888963407) % 2**64
        return (state >> 11) / 2**53

    lines = points = 0
    written = 0
    clock = 2_000_000_000
    with path.open("w", encoding="utf-8", newline="\n") as out:
        for name, type_, contains in METRICS:
            out.write(json.dumps({
                "type": "Metric",
                "data": {"name": name, "type": type_, "contains": contains,
                         "thresholds": [], "submetrics": None},
                "metric": name,
            }, separators=(",", ":")) + "\n")  # fmt: skip
            lines += 1
        iteration = 0
        next_second = 0
        while written < size_bytes:
            chunk = []
            if clock >= next_second:
                chunk.append(_point("vus", clock, 4, "{}"))
                chunk.append(_point("vus_max", clock, 4, "{}"))
                next_second += 1_000_000_000
            scenario = "ramp" if iteration % 5 else "soak"
            group = f"::g{iteration % 7}"
            plain = f'{{"group":"{group}","scenario":"{scenario}"}}'
            scenario_only = f'{{"scenario":"{scenario}"}}'
            iteration_start = clock
            for name in NAMES:
                clock += 1_000_000 + int(uniform() * 9_000_000)
                failed = 1 if uniform() < 0.03 else 0
                status = "500" if failed else STATUS[name]
                method, _, route = name.partition(" ")
                tags = (
                    f'{{"expected_response":"{"false" if failed else "true"}","group":"{group}",'
                    f'"method":"{method}","name":"{name}",'
                    f'"scenario":"{scenario}","status":"{status}",'
                    f'"url":"http://127.0.0.1:18080{route}"}}'
                )
                chunk.append(_point("http_reqs", clock, 1, tags))
                duration = 5 + 40 * uniform() ** 3 * (8 if uniform() < 0.01 else 1)
                for metric in HTTP_TIMINGS:
                    value = duration if metric == "http_req_duration" else duration * uniform() / 4
                    chunk.append(_point(metric, clock, repr(value), tags))
                chunk.append(_point("http_req_failed", clock, failed, tags))
                check_tags = f'{{"check":"status is {STATUS[name]}",{plain[1:]}'
                chunk.append(_point("checks", clock, 0 if failed else 1, check_tags))
                if name == "POST /api/orders" and not failed:
                    chunk.append(_point("orders_created", clock, 1, plain))
            elapsed_ms = repr((clock - iteration_start) / 1e6)
            sent = 180 + int(uniform() * 200)
            received = 900 + int(uniform() * 4000)
            chunk.append(_point("group_duration", clock, elapsed_ms, plain))
            chunk.append(_point("data_sent", clock, sent, scenario_only))
            chunk.append(_point("data_received", clock, received, scenario_only))
            chunk.append(_point("iteration_duration", clock, elapsed_ms, scenario_only))
            chunk.append(_point("iterations", clock, 1, scenario_only))
            text = "".join(chunk)
            out.write(text)
            written += len(text)
            lines += len(chunk)
            points += len(chunk)
            iteration += 1
    return lines, points


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


def _collector(path: str) -> Callable[[], dict[str, object]]:
    from datetime import UTC, datetime

    from assay.evidence.collectors.base import CollectContext
    from assay.evidence.collectors.k6_stream import K6Stream, K6StreamParams

    file = Path(path)
    context = CollectContext(workspace=file.parent, now=datetime.now(UTC))

    def run() -> dict[str, object]:
        result = K6Stream().collect(K6StreamParams(path=file.name), context)
        keep = ("points", "requests", "p95_ms", "p99_ms", "error_rate_ratio")
        return {key: result.facts.get(key) for key in keep}

    return run


def _child(kind: str, path: str) -> None:
    """Run one measurement and print its JSON result on stdout.

    Imports happen before the clock starts, so the seconds are those of the
    reading work alone. The peak RSS includes the imported modules.
    """
    run = _baseline(path) if kind == "baseline" else _collector(path)
    start = time.perf_counter()
    outcome = run()
    elapsed = time.perf_counter() - start
    # ru_maxrss is in KiB on Linux.
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": elapsed, "peak_rss_kib": peak_kib, "outcome": outcome}))


def _measure(kind: str, path: Path) -> dict[str, object]:
    completed = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(path)],
        check=True, capture_output=True, text=True,
    )
    return json.loads(completed.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024, help="Stream size to write, in MiB.")
    parser.add_argument(
        "--repeat", type=int, default=2, help="Runs of each kind. The fastest run counts."
    )
    parser.add_argument("--keep", type=Path, help="Write the stream in this folder and keep it.")
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

    folder = args.keep or Path(tempfile.mkdtemp(prefix="k6-stream-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "k6-out.ndjson"
    try:
        start = time.perf_counter()
        lines, points = generate(path, args.size_mib * 1024 * 1024)
        size = path.stat().st_size
        print(f"wrote {path}: {size / 2**20:.0f} MiB, {lines} lines, {points} Point lines "
              f"in {time.perf_counter() - start:.1f} s")
        print(f"python {platform.python_version()}, {platform.machine()}, "
              f"{os.cpu_count()} CPUs")

        best: dict[str, dict[str, object]] = {}
        for _ in range(args.repeat):
            for kind in ("baseline", "collector"):
                run = _measure(kind, path)
                mib_per_second = size / 2**20 / run["seconds"]
                print(f"{kind:9} {run['seconds']:7.2f} s {mib_per_second:7.1f} MiB/s "
                      f"peak RSS {run['peak_rss_kib'] / 1024:7.1f} MiB  {run['outcome']}")
                if kind not in best or run["seconds"] < best[kind]["seconds"]:
                    best[kind] = run
        ratio = best["baseline"]["seconds"] / best["collector"]["seconds"]
        peak = max(run["peak_rss_kib"] for run in best.values()) / 1024
        print(f"throughput ratio collector/baseline: {ratio:.2f} (goal >= 0.5)")
        print(f"collector peak RSS: {best['collector']['peak_rss_kib'] / 1024:.1f} MiB "
              f"(goal < 200 MiB); largest of both: {peak:.1f} MiB")
    finally:
        if args.keep is None:
            path.unlink(missing_ok=True)
            folder.rmdir()
    return 0


if __name__ == "__main__":
    sys.exit(main())
