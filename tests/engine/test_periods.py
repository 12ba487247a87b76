"""Period summaries over a synthetic ledger whose windows and shares are worked out by hand."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert

from assay import keys
from assay.engine.periods import Period, parse_period, summarise_period
from assay.errors import UsageError
from assay.evidence.blobs import BlobStore
from assay.evidence.ledger import Ledger, checkpoint_message, records_table
from assay.evidence.records import GENESIS_PREV, build_record
from assay.keys import SigningKey, load_signing_key
from assay.timeutil import format_instant

YEAR_START = datetime(2026, 1, 1, tzinfo=UTC)
# Q2 2026 as `--period 2026-04-01..2026-06-30` reads it.
Q2 = Period(datetime(2026, 4, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC))
LATENCY_BAD = (datetime(2026, 5, 10, 6, tzinfo=UTC), datetime(2026, 5, 11, 12, tzinfo=UTC))
BACKUP_BAD = (datetime(2026, 6, 6, tzinfo=UTC), datetime(2026, 6, 7, 18, tzinfo=UTC))
BACKUP_BAD_AT_END = datetime(2026, 6, 30, 18, tzinfo=UTC)
WAIVED = (datetime(2026, 4, 1, tzinfo=UTC), datetime(2026, 4, 15, tzinfo=UTC))
DEFINITION_CHANGE = datetime(2026, 5, 20, tzinfo=UTC)
STAGING_SECRET = "staging-only-secret-value"
STAGING_FILE = "inputs/staging-only-k6.json"


class LedgerWriter:
    """Append records to a ledger in large transactions, bypassing the collectors."""

    def __init__(self, ledger: Ledger, key: SigningKey) -> None:
        self.ledger, self.key = ledger, key
        self.seq, self.prev = ledger.head()
        self.rows: list[dict[str, object]] = []

    def add(self, run: str, scope: str, time: str, kind: str, body: dict[str, object]) -> None:
        self.seq += 1
        record = build_record(seq=self.seq, prev=self.prev, time=time, run=run, scope=scope,
                              kind=kind, body=body)
        self.rows.append({"seq": record.seq, "run": run, "scope": scope, "kind": kind, "time": time,
                          "prev": self.prev, "hash": record.hash, "header": record.header,
                          "body": record.body})
        self.prev = record.hash

    def checkpoint(self, run: str, scope: str, time: str) -> None:
        size = self.seq
        message = checkpoint_message(run=run, size=size, head=self.prev, key_id=self.key.key_id)
        self.add(run, scope, time, "checkpoint", {
            "run": run, "size": size, "head": self.prev, "key_id": self.key.key_id,
            "signature": base64.b64encode(self.key.sign(message)).decode(),
        })

    def flush(self) -> None:
        with self.ledger.engine.begin() as connection:
            for start in range(0, len(self.rows), 5000):
                connection.execute(insert(records_table), self.rows[start:start + 5000])
        self.rows = []


def _definition(control: str, version: int) -> dict[str, object]:
    criteria = {"LT-01": ["A1.1"], "BK-02": ["A1.2"], "POL-01": ["CC1.1"]}[control]
    collector = {"LT-01": "k6.summary", "BK-02": "pgbackrest.info", "POL-01": "policy.documents"}
    return {"id": control, "title": f"{control} title v{version}", "criteria": criteria,
            "evidence": [{"id": "main", "collector": collector[control]}]}


def _times(start: datetime, end: datetime, step: timedelta) -> Iterator[datetime]:
    when = start
    while when < end:
        yield when
        when += step


def write_year_ledger(workspace: Path, step: timedelta = timedelta(hours=6)) -> tuple[Ledger, SigningKey, dict[str, str]]:
    """Write a year of runs of scope production (and staging, 3 h later) every `step`.

    Returns the ledger, the signing key, and the blob SHA-256 of each artifact
    by name ("latency-ok", "latency-bad", "backup", "policy", "staging").
    """
    keys.generate(workspace / ".assay")
    key = load_signing_key(workspace / ".assay" / "signing-key.pem")
    ledger = Ledger(f"sqlite:///{workspace / 'evidence' / 'ledger.db'}")
    blobs = BlobStore(workspace / "evidence" / "blobs")
    sources = workspace / "sources"
    sources.mkdir(parents=True)
    digests = {}
    for name, text in [("latency-ok", '{"p99_ms": 420}'), ("latency-bad", '{"p99_ms": 9100}'),
                       ("backup", "pgbackrest info"), ("policy", "# policy"),
                       ("staging", STAGING_SECRET)]:
        (sources / name).write_text(text, encoding="utf-8")
        digests[name] = blobs.put_file(sources / name)[0]
    writer = LedgerWriter(ledger, key)
    definitions: dict[str, str] = {}
    count = 0
    for when in _times(YEAR_START, YEAR_START + timedelta(days=365), step):
        count += 1
        _production_run(writer, when, count, digests, definitions)
        _staging_run(writer, when + timedelta(hours=3), count, digests)
        if len(writer.rows) > 20000:
            writer.flush()
    # An incomplete run in Q2 (no checkpoint) that must count for nothing.
    when = datetime(2026, 4, 20, 1, tzinfo=UTC)
    writer.add("incomplete-run", "production", format_instant(when), "run", {"now": format_instant(when)})
    writer.flush()
    # Close the ledger with one more checkpointed run, so the head is a checkpoint.
    _production_run(writer, YEAR_START + timedelta(days=366), count + 1, digests, definitions)
    writer.flush()
    return ledger, key, digests


def _production_run(writer: LedgerWriter, when: datetime, number: int, digests: dict[str, str],
                    definitions: dict[str, str]) -> None:
    run, stamp = f"prod-{number:06d}", format_instant(when)
    writer.add(run, "production", stamp, "run", {
        "now": stamp, "scope": "production", "workspace": "Synthetic platform",
        "categories": ["availability", "security"],
    })
    for control in ("BK-02", "LT-01", "POL-01"):
        version = 2 if control == "LT-01" and when >= DEFINITION_CHANGE else 1
        definition = _definition(control, version)
        from assay.evidence.records import canonical, sha256_hex

        sha = sha256_hex(canonical(definition))
        if definitions.get(control) != sha:
            writer.add(run, "production", stamp, "control", {
                "control": control, "definition": definition, "definition_sha256": sha,
            })
            definitions[control] = sha
        status, facts, artifact, observed, waiver = _outcome(control, when, digests)
        writer.add(run, "production", stamp, "evidence", {
            "control": control, "evidence": "main", "collector": definition["evidence"][0]["collector"],
            "status": "ok", "facts": facts,
            "artifacts": [{"path": f"inputs/{control.lower()}.json", "size": 10, "sha256": artifact}],
            "observed_at": observed, "collected_at": stamp,
        })
        writer.add(run, "production", stamp, "result", {
            "control": control, "status": status, "reasons": [] if status == "pass" else [f"{control} {status}"],
            "assertions": [], "evidence": [f"{control}/main"], "control_sha256": sha,
            "waiver_sha256": "ab" * 32 if waiver else None, "waiver": waiver, "attestation": None,
            "remediation": None,
        })
    writer.checkpoint(run, "production", stamp)


def _outcome(control: str, when: datetime, digests: dict[str, str]):
    stamp = format_instant(when)
    if control == "LT-01":
        bad = LATENCY_BAD[0] <= when <= LATENCY_BAD[1]
        facts = {"p99_ms": 9100 if bad else 420}
        return ("fail" if bad else "pass"), facts, digests["latency-bad" if bad else "latency-ok"], stamp, None
    if control == "BK-02":
        bad = BACKUP_BAD[0] <= when <= BACKUP_BAD[1] or when == BACKUP_BAD_AT_END
        facts = {"newest_incr_age_seconds": 90000 if bad else 1800}
        return ("fail" if bad else "pass"), facts, digests["backup"], stamp, None
    waived = WAIVED[0] <= when < WAIVED[1]
    waiver = {"file": "waivers/pol-01.yaml", "expires": "2026-04-15", "approver": "cto",
              "real_status": "fail"} if waived else None
    # Policy evidence has no observed_at, so the run's `now` dates it.
    return ("waived" if waived else "pass"), {"documents": 3}, digests["policy"], None, waiver


def _staging_run(writer: LedgerWriter, when: datetime, number: int, digests: dict[str, str]) -> None:
    run, stamp = f"stag-{number:06d}", format_instant(when)
    writer.add(run, "staging", stamp, "run", {"now": stamp, "scope": "staging",
                                              "workspace": "Synthetic platform", "categories": []})
    writer.add(run, "staging", stamp, "evidence", {
        "control": "LT-01", "evidence": "main", "collector": "k6.summary", "status": "ok",
        "facts": {"p99_ms": 77, "note": STAGING_SECRET},
        "artifacts": [{"path": STAGING_FILE, "size": 25, "sha256": digests["staging"]}],
        "observed_at": stamp, "collected_at": stamp,
    })
    writer.add(run, "staging", stamp, "result", {
        "control": "LT-01", "status": "fail", "reasons": [STAGING_SECRET], "assertions": [],
        "evidence": ["LT-01/main"], "control_sha256": None, "waiver_sha256": None, "waiver": None,
        "attestation": None, "remediation": None,
    })
    writer.checkpoint(run, "staging", stamp)


@pytest.fixture(scope="module")
def year_ledger(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Ledger, SigningKey, dict[str, str]]:
    workspace = tmp_path_factory.mktemp("year")
    ledger, key, digests = write_year_ledger(workspace)
    return workspace, ledger, key, digests


def test_parse_period_dates() -> None:
    period = parse_period("2026-04-01..2026-06-30")
    assert period.start == datetime(2026, 4, 1, tzinfo=UTC)
    assert period.end == datetime(2026, 7, 1, tzinfo=UTC)


def test_parse_period_instants_and_offsets() -> None:
    period = parse_period("2026-04-01T02:00:00+02:00..2026-04-02T12:00:00")
    assert period.start == datetime(2026, 4, 1, 0, tzinfo=UTC)
    assert period.end == datetime(2026, 4, 2, 12, tzinfo=UTC)


@pytest.mark.parametrize("text", ["2026-04-01", "2026-06-30..2026-04-01", "x..2026-04-01", ".."])
def test_parse_period_rejects_invalid(text: str) -> None:
    with pytest.raises(UsageError):
        parse_period(text)


def test_quarter_runs_and_shares(year_ledger) -> None:
    _workspace, ledger, _key, _digests = year_ledger
    summary = summarise_period(ledger, Q2, "production")
    # 91 days of Q2, four runs a day; the incomplete run does not count.
    assert len(summary.runs) == 364
    assert summary.runs[0].time == "2026-04-01T00:00:00.000000Z"
    assert summary.runs[-1].time == "2026-06-30T18:00:00.000000Z"
    controls = {c.control: c for c in summary.controls}
    assert sorted(controls) == ["BK-02", "LT-01", "POL-01"]
    # LT-01: 05-10 06:00 to 05-11 12:00 inclusive is 6 failing runs.
    assert (controls["LT-01"].met, controls["LT-01"].counted) == (358, 364)
    # BK-02: the weekend 06-06 00:00 to 06-07 18:00 is 8 runs, plus 06-30 18:00.
    assert (controls["BK-02"].met, controls["BK-02"].counted) == (355, 364)
    assert controls["BK-02"].share_met == pytest.approx(355 / 364)
    # Waived runs count as met.
    assert controls["POL-01"].share_met == 1.0


def test_quarter_windows(year_ledger) -> None:
    _workspace, ledger, _key, _digests = year_ledger
    controls = {c.control: c for c in summarise_period(ledger, Q2, "production").controls}
    latency = controls["LT-01"].windows
    assert [(w.start, w.end, w.duration_seconds, w.open, w.runs) for w in latency] == [
        ("2026-05-10T06:00:00.000000Z", "2026-05-11T18:00:00.000000Z", 36 * 3600.0, False, 6),
    ]
    backup = controls["BK-02"].windows
    assert [(w.start, w.end, w.duration_seconds, w.open, w.runs) for w in backup] == [
        ("2026-06-06T00:00:00.000000Z", "2026-06-08T00:00:00.000000Z", 48 * 3600.0, False, 8),
        ("2026-06-30T18:00:00.000000Z", "2026-07-01T00:00:00.000000Z", 6 * 3600.0, True, 1),
    ]
    assert controls["POL-01"].windows == []


def test_quarter_waivers_and_definitions(year_ledger) -> None:
    _workspace, ledger, _key, _digests = year_ledger
    controls = {c.control: c for c in summarise_period(ledger, Q2, "production").controls}
    waivers = controls["POL-01"].waivers
    assert len(waivers) == 1
    # 04-01 00:00 to 04-14 18:00: 14 days of four runs.
    assert (waivers[0].first_time, waivers[0].last_time, waivers[0].runs) == (
        "2026-04-01T00:00:00.000000Z", "2026-04-14T18:00:00.000000Z", 56)
    assert waivers[0].detail is not None and waivers[0].detail["approver"] == "cto"
    definitions = controls["LT-01"].definitions
    assert [d.detail["definition"]["title"] for d in definitions] == ["LT-01 title v1", "LT-01 title v2"]
    assert definitions[1].first_time == "2026-05-20T00:00:00.000000Z"
    assert controls["LT-01"].title == "LT-01 title v2"


def test_run_time_uses_now_without_observed_at(year_ledger) -> None:
    _workspace, ledger, _key, _digests = year_ledger
    # POL-01's evidence has no observed_at, but LT-01's does; a one-hour
    # period around one run holds exactly that run.
    period = parse_period("2026-04-01T00:00:00Z..2026-04-01T01:00:00Z")
    summary = summarise_period(ledger, period, "production")
    assert [run.run for run in summary.runs] == ["prod-000361"]


def test_other_scope_is_separate(year_ledger) -> None:
    _workspace, ledger, _key, _digests = year_ledger
    summary = summarise_period(ledger, Q2, "staging")
    assert len(summary.runs) == 364
    assert [c.control for c in summary.controls] == ["LT-01"]
    assert summary.controls[0].share_met == 0.0
