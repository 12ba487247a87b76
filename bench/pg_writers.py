"""Concurrent writer processes for the PostgreSQL benchmark.

The parent starts one process per writer with the `spawn` start method, so
no database connection is inherited. Each writer builds its records and
connects, reports that it is ready, waits for the start event, appends its
runs and reports `time.monotonic()` at its end. On Linux that clock is
shared by all processes, so the parent can time the batch from the start
event to the last end.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from evidence_data import make_run_bodies

SCOPE = "platform"
STAMP = "2026-12-04T20:15:00Z"


@dataclass(frozen=True)
class WriterTask:
    """Work of one writer process: `runs` runs of `records_per_run` records."""

    mode: str  # "ledger" for assay's Ledger, "raw" for the psycopg baseline
    url: str
    writer: int
    runs: int
    records_per_run: int


def run_writer(task: WriterTask, start: Any, results: Any) -> None:
    """Append the task's runs once `start` is set.

    Puts ("ready", writer, None) on `results` before waiting, and
    ("done", writer, end time) after the last commit.
    """
    from assay.evidence.ledger import Ledger, NewRecord
    from assay.evidence.records import canonical
    from raw_chain import PostgresChain

    plans = []
    for index in range(task.runs):
        bodies = make_run_bodies(task.writer * 1_000_003 + index, task.records_per_run, STAMP)
        run = f"{task.writer:04x}{index:028x}"
        if task.mode == "ledger":
            plans.append((run, [NewRecord("evidence", body) for body in bodies]))
        else:
            plans.append((run, [canonical(body) for body in bodies]))

    if task.mode == "ledger":
        ledger = Ledger(task.url)
        # One head query opens the pooled connection before timing starts.
        ledger.head()

        def append(run: str, payload: Any) -> None:
            ledger.append(run=run, scope=SCOPE, time=STAMP, entries=payload)

        close = ledger.close
    else:
        chain = PostgresChain(task.url)

        def append(run: str, payload: Any) -> None:
            chain.append(run, SCOPE, STAMP, "evidence", payload)

        close = chain.close

    try:
        results.put(("ready", task.writer, None))
        start.wait()
        for run, payload in plans:
            append(run, payload)
        ended = time.monotonic()
    finally:
        close()
    results.put(("done", task.writer, ended))
