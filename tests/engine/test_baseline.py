"""Baselines: blessing a recorded run, reading it back from the ledger and from a file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from assay import keys
from assay.commands import run_command
from assay.engine.baseline import (
    BASELINE_FORMAT,
    bless,
    latest_baseline,
    latest_complete_run,
    params_sha256,
    read_baseline_file,
    recorded_runs,
    referenced_params,
    write_baseline_file,
)
from assay.errors import ConfigError, UsageError
from assay.evidence.audit import verify_ledger
from assay.evidence.blobs import BlobStore
from assay.evidence.ledger import Ledger, NewRecord
from assay.timeutil import parse_now

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "platform"
NOW = parse_now("2026-12-04T21:15:00Z")
BLESSED_AT = parse_now("2026-12-04T21:20:00Z")


def small_workspace(root: Path, controls: tuple[str, ...]) -> Path:
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("evidence", "reports", ".assay"))
    for path in (root / "controls").glob("*.yaml"):
        if path.name not in controls:
            path.unlink()
    keys.generate(root / ".assay")
    return root


@pytest.fixture
def passing(tmp_path: Path) -> Path:
    """A workspace whose two controls pass at NOW, with one recorded run."""
    workspace = small_workspace(tmp_path / "ws", ("cap-01-latency.yaml", "bak-01-full-backup.yaml"))
    run_command(workspace, NOW, None, None, None, pack=False)
    return workspace


@pytest.fixture
def failing(tmp_path: Path) -> Path:
    """A workspace with a control that fails at NOW (CAP-02), with one recorded run."""
    workspace = small_workspace(tmp_path / "ws", ("cap-01-latency.yaml", "cap-02-error-rate.yaml"))
    run_command(workspace, NOW, None, None, None, pack=False)
    return workspace


def open_ledger(workspace: Path) -> Ledger:
    return Ledger(f"sqlite:///{workspace / 'evidence' / 'ledger.db'}")


def signing_key(workspace: Path) -> keys.SigningKey:
    return keys.load_signing_key_file(workspace / ".assay" / "signing-key.pem")


def test_bless_records_statuses_and_hashes(passing: Path) -> None:
    ledger = open_ledger(passing)
    run = latest_complete_run(ledger, "production")

    baseline = bless(ledger, scope="production", key=signing_key(passing), now=BLESSED_AT)

    assert baseline.run == run.run
    assert baseline.scope == "production"
    assert baseline.blessed_at == "2026-12-04T21:20:00.000000Z"
    assert baseline.run_now == "2026-12-04T21:15:00.000000Z"
    assert sorted(baseline.controls) == ["BAK-01", "CAP-01"]
    lt01 = baseline.controls["CAP-01"]
    assert lt01.status == "pass"
    assert lt01.gate == "fail"
    assert lt01.source == "controls/cap-01-latency.yaml"
    assert lt01.params == {"latency_p50_ms": 1000, "latency_p95_ms": 3000, "latency_p99_ms": 5000}
    assert lt01.params_sha256 == params_sha256(lt01.params)
    assert lt01.definition is not None
    assert lt01.definition["id"] == "CAP-01"
    ledger.close()


def test_bless_appends_maintenance_run_with_checkpoint(passing: Path) -> None:
    ledger = open_ledger(passing)
    head_before, _hash = ledger.head()

    baseline = bless(ledger, scope="production", key=signing_key(passing), now=BLESSED_AT)

    assert baseline.ledger_record is not None
    assert baseline.ledger_record.seq == head_before + 1
    records = list(ledger.records(head_before + 1))
    headers = [record.header_fields() for record in records]
    assert [header["kind"] for header in headers] == ["baseline", "checkpoint"]
    assert headers[0]["run"] == headers[1]["run"]
    assert headers[0]["run"] in ledger.complete_runs()
    assert headers[0]["scope"] == "production"
    assert records[0].body_fields() == baseline.record_body()
    ledger.close()


def test_bless_keeps_ledger_verifiable(passing: Path) -> None:
    ledger = open_ledger(passing)
    key = signing_key(passing)
    bless(ledger, scope="production", key=key, now=BLESSED_AT)

    report = verify_ledger(
        ledger, BlobStore(passing / "evidence" / "blobs"), {key.key_id: key.public}
    )

    assert report.checkpoints == 2
    assert not report.incomplete_runs
    ledger.close()


def test_bless_is_not_listed_as_recorded_run(passing: Path) -> None:
    ledger = open_ledger(passing)
    bless(ledger, scope="production", key=signing_key(passing), now=BLESSED_AT)

    assert len(recorded_runs(ledger)) == 1
    ledger.close()


def test_bless_rejects_run_with_failures(failing: Path) -> None:
    ledger = open_ledger(failing)

    with pytest.raises(UsageError) as raised:
        bless(ledger, scope="production", key=signing_key(failing), now=BLESSED_AT)

    assert "has controls that are not met: CAP-02 (fail)" in str(raised.value)
    assert "--allow-failures" in str(raised.value)
    assert latest_baseline(ledger, "production") is None
    ledger.close()


def test_bless_allow_failures_records_known_failure(failing: Path) -> None:
    ledger = open_ledger(failing)

    baseline = bless(
        ledger, scope="production", key=signing_key(failing), now=BLESSED_AT, allow_failures=True
    )

    assert baseline.allow_failures
    assert baseline.controls["CAP-02"].status == "fail"
    ledger.close()


def test_bless_without_complete_run_raises(passing: Path) -> None:
    ledger = open_ledger(passing)

    with pytest.raises(UsageError, match="no complete run of scope 'staging'"):
        bless(ledger, scope="staging", key=signing_key(passing), now=BLESSED_AT)
    ledger.close()


def test_bless_skips_incomplete_run(passing: Path) -> None:
    ledger = open_ledger(passing)
    complete = latest_complete_run(ledger, "production")
    ledger.append(
        run="f" * 32,
        scope="production",
        time="2026-12-04T21:16:00.000000Z",
        entries=[NewRecord("run", {"now": "2026-12-04T21:16:00.000000Z"})],
    )

    baseline = bless(ledger, scope="production", key=signing_key(passing), now=BLESSED_AT)

    assert baseline.run == complete.run
    ledger.close()


def test_latest_baseline_is_per_scope(passing: Path) -> None:
    run_command(passing, NOW, None, "staging", None, pack=False)
    ledger = open_ledger(passing)
    key = signing_key(passing)
    production = bless(ledger, scope="production", key=key, now=BLESSED_AT)
    staging = bless(ledger, scope="staging", key=key, now=BLESSED_AT)

    assert latest_baseline(ledger, "production") == production
    assert latest_baseline(ledger, "staging") == staging
    assert production.run != staging.run
    assert latest_baseline(ledger, "other") is None
    ledger.close()


def test_latest_baseline_ignores_incomplete_run(passing: Path) -> None:
    ledger = open_ledger(passing)
    blessed = bless(ledger, scope="production", key=signing_key(passing), now=BLESSED_AT)
    body = blessed.record_body() | {"run": "e" * 32}
    ledger.append(
        run="d" * 32,
        scope="production",
        time="2026-12-04T21:30:00.000000Z",
        entries=[NewRecord("baseline", body)],
    )

    assert latest_baseline(ledger, "production") == blessed
    ledger.close()


def test_baseline_file_round_trip(passing: Path, tmp_path: Path) -> None:
    ledger = open_ledger(passing)
    blessed = bless(ledger, scope="production", key=signing_key(passing), now=BLESSED_AT)
    ledger.close()
    path = tmp_path / "out" / "assay-baseline.json"

    write_baseline_file(blessed, path)

    document = json.loads(path.read_text(encoding="utf-8"))
    assert document["format"] == BASELINE_FORMAT
    assert document["format_version"] == 1
    assert document["ledger_record"] == {
        "seq": blessed.ledger_record.seq,
        "hash": blessed.ledger_record.hash,
    }
    assert read_baseline_file(path) == blessed


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "not a JSON baseline file"),
        ('{"format": "assay.checkpoint"}', "not an assay baseline file"),
        ('{"format": "assay.baseline", "format_version": 2}', "format version 2 is not supported"),
        (
            '{"format": "assay.baseline", "format_version": 1, "scope": "production"}',
            "invalid baseline: run",
        ),
    ],
)
def test_read_baseline_file_rejects_invalid(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "baseline.json"
    path.write_text(content, encoding="utf-8")

    with pytest.raises(ConfigError, match=message):
        read_baseline_file(path)


def test_read_baseline_file_missing(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the baseline"):
        read_baseline_file(tmp_path / "absent.json")


def test_referenced_params_only_read_names() -> None:
    params = {"a": 1, "b": 2, "c": 3}

    assert referenced_params(["x.y < params.a", 'params["b"] > 0 && x.z'], params) == {
        "a": 1,
        "b": 2,
    }


def test_referenced_params_guarded_and_unknown() -> None:
    params = {"a": 1}

    assert referenced_params(["has(params.a) && params.missing > 0"], params) == {"a": 1}


def test_referenced_params_whole_map_when_indexed() -> None:
    params = {"a": 1, "b": 2}

    assert referenced_params(["params[x.name] > 0"], params) == params


def test_referenced_params_none_read() -> None:
    assert referenced_params(["x.ok"], {"a": 1}) == {}
