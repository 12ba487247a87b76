"""Deterministic evidence bodies for the ledger benchmarks.

Each body has the shape that `assay.engine.run._evidence_body` writes, and
its `facts` are a nested dict of about 1 KiB of canonical JSON modelled on a
load-test summary and a backup report: integers, floats, strings and short
lists. A seeded generator makes every body different, and repeatable across
runs of the script.
"""

from __future__ import annotations

import random
from typing import Any

# Every float drawn below is at least 1e-4 and at most 2**53 in magnitude, so
# `canonical()` encodes it with orjson. Smaller floats, such as an error rate
# of 2e-05, would go through the slower `rfc8785` package.
_REGIONS = ("eu-west-1", "eu-central-1", "us-east-2")


def make_facts(rng: random.Random) -> dict[str, Any]:
    """Build one facts dict of about 1 KiB of canonical JSON."""
    durations = sorted(round(rng.uniform(2.0, 900.0), 3) for _ in range(7))
    requests = rng.randint(50_000, 900_000)
    failed = rng.randint(1, 400)
    return {
        "scenario": f"tenant-isolation-{rng.randint(1, 40)}",
        "tags": ["nightly", rng.choice(_REGIONS), f"build-{rng.randint(1000, 9999)}"],
        "http_req_duration_ms": {
            "min": durations[0],
            "med": durations[2],
            "avg": round(sum(durations) / 7, 4),
            "p(90)": durations[4],
            "p(95)": durations[5],
            "p(99)": durations[6],
            "max": round(durations[6] * rng.uniform(1.1, 3.0), 3),
        },
        "http_reqs": {"count": requests, "rate_per_s": round(requests / 600.0, 3)},
        "http_req_failed": {"fails": failed, "passes": requests - failed,
                            "rate": round(max(failed / requests, 1e-4), 6)},
        "checks": [
            {"name": "status is 200", "passes": requests - failed, "fails": failed},
            {"name": "tenant header matches", "passes": requests, "fails": 0},
            {"name": "body has no foreign rows", "passes": requests, "fails": 0},
        ],
        "thresholds": {
            "http_req_duration_ms p(95)<500": durations[5] < 500,
            "http_req_failed rate<0.01": failed / requests < 0.01,
        },
        "vus": {"min": 1, "max": rng.choice((50, 100, 200)), "mean": round(rng.uniform(20, 50), 2)},
        "data_received_bytes": rng.randint(10**8, 10**10),
        "data_sent_bytes": rng.randint(10**7, 10**9),
        "backup": {
            "stanza": "main",
            "last_full_label": f"20261204-{rng.randint(100000, 235959)}F",
            "age_hours": round(rng.uniform(0.5, 30.0), 2),
            "database_size_bytes": rng.randint(10**9, 10**12),
            "repo_size_bytes": rng.randint(10**8, 10**11),
            "compression_ratio": round(rng.uniform(2.0, 9.0), 3),
            "wal_archive": {"min": f"00000001000000{rng.randint(10, 99)}000000A1",
                            "max": f"00000001000000{rng.randint(10, 99)}000000F7"},
            "encrypted": True,
        },
        "duration_s": round(rng.uniform(30.0, 900.0), 1),
        "operator_note": "weekly restore drill passed; no manual steps",
    }


def make_body(rng: random.Random, index: int, stamp: str) -> dict[str, Any]:
    """Build one evidence body around fresh facts; `index` numbers the control."""
    return {
        "control": f"SEC-{index % 97:03d}",
        "evidence": "load-summary",
        "collector": "k6_summary",
        "collector_version": "1.2.0",
        "with": {"path": "inputs/k6-summary.json", "max_age": "PT26H"},
        "status": "ok",
        "message": None,
        "stale": False,
        "facts": make_facts(rng),
        "absent": {},
        "failures": [],
        "warnings": [],
        # No artifacts, so that verify_ledger checks no blob files and its
        # time is the chain verification alone.
        "artifacts": [],
        "observed_at": "2026-12-04T19:19:00Z",
        "collected_at": stamp,
        "provenance": {"host": "bench-host", "user": "bench", "command": ["assay", "run"],
                       "input": "inputs/k6-summary.json"},
    }


def make_run_bodies(seed: int, count: int, stamp: str) -> list[dict[str, Any]]:
    """Build the `count` evidence bodies of one run."""
    rng = random.Random(seed)
    return [make_body(rng, index, stamp) for index in range(count)]
