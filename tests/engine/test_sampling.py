"""Populations and seeded samples: ids, reproducibility, signatures and tamper detection."""

from __future__ import annotations

import copy
import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from assay import keys
from assay.engine.periods import Period, summarise_period
from assay.engine.sampling import (
    build_population,
    check_sample_contents,
    check_sample_signature,
    open_pack,
    rank,
    sample_document,
    select,
    sign_sample,
    summary_from_pack,
)
from assay.errors import AssayError, UsageError, VerificationError
from assay.evidence.blobs import BlobStore
from assay.evidence.ledger import Ledger
from assay.keys import load_signing_key
from assay.reports.period_pack import build_period_pack
from assay.timeutil import format_instant
from engine.test_periods import Q2, LedgerWriter, write_year_ledger

IDS = [f"item-{number:03d}" for number in range(100)]


@pytest.fixture(scope="module")
def year(tmp_path_factory: pytest.TempPathFactory):
    workspace = tmp_path_factory.mktemp("sampling")
    ledger, key, _digests = write_year_ledger(workspace, step=timedelta(days=1))
    pack = build_period_pack(ledger, BlobStore(workspace / "evidence" / "blobs"), key, Q2,
                             "production", workspace / "pack")
    return ledger, key, pack


def test_rank_hash_input() -> None:
    expected = hashlib.sha256("séed".encode() + b"\x00" + b"run-1").hexdigest()
    assert rank("séed", "run-1") == expected


def test_select_same_seed_same_sample() -> None:
    first = select(IDS, "auditor seed 2026", 10)
    second = select(list(reversed(IDS)), "auditor seed 2026", 10)
    assert first == second
    assert len(first) == 10


def test_select_different_seeds_differ() -> None:
    one = {item_id for item_id, _ in select(IDS, "seed one", 10)}
    two = {item_id for item_id, _ in select(IDS, "seed two", 10)}
    assert one != two


def test_select_smallest_ranks_in_order() -> None:
    chosen = select(IDS, "seed", 5)
    ranks = sorted(rank("seed", item_id) for item_id in IDS)
    assert [digest for _, digest in chosen] == ranks[:5]


def test_select_size_above_population_takes_all() -> None:
    chosen = select(IDS[:7], "seed", 50)
    assert sorted(item_id for item_id, _ in chosen) == IDS[:7]


def test_select_rejects_bad_size_and_seed() -> None:
    with pytest.raises(UsageError):
        select(IDS, "seed", 0)
    with pytest.raises(UsageError):
        select(IDS, "", 3)
    with pytest.raises(UsageError):
        select(IDS, "a\x00b", 3)


def test_population_runs_and_evidence(year) -> None:
    ledger, _key, _pack = year
    summary = summarise_period(ledger, Q2, "production")
    runs = build_population(summary, "BK-02", "runs")
    assert len(runs.items) == 91
    assert runs.ids == sorted(runs.ids)
    assert set(runs.ids) == {run.run for run in summary.runs}
    evidence = build_population(summary, "BK-02", "evidence")
    assert evidence.ids[0] == f"{runs.ids[0]}/BK-02/main"
    assert len(evidence.items) == 91
    assert evidence.items[0].detail["artifacts"]


def test_population_unknown_control(year) -> None:
    ledger, _key, _pack = year
    summary = summarise_period(ledger, Q2, "production")
    with pytest.raises(UsageError, match="NOPE-1"):
        build_population(summary, "NOPE-1", "runs")
    with pytest.raises(UsageError, match="--of"):
        build_population(summary, "BK-02", "things")


def test_population_from_pack_matches_ledger(year) -> None:
    ledger, _key, pack = year
    from_ledger = build_population(summarise_period(ledger, Q2, "production"), "LT-01", "evidence")
    source = open_pack(pack)
    from_pack = build_population(summary_from_pack(source, source.period), "LT-01", "evidence")
    assert from_pack.ids == from_ledger.ids


def test_pack_rejects_longer_period(year) -> None:
    _ledger, _key, pack = year
    source = open_pack(pack)
    longer = Period(source.period.start - timedelta(days=1), source.period.end)
    with pytest.raises(UsageError, match="not inside"):
        summary_from_pack(source, longer)


def _events_ledger(tmp_path: Path, *, truncated: bool = False) -> Ledger:
    keys.generate(tmp_path / ".assay")
    key = load_signing_key(tmp_path / ".assay" / "signing-key.pem")
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    writer = LedgerWriter(ledger, key)
    backup = {"start": "2026-04-01T01:00:00Z", "command": "backup", "result": "completed"}
    for number, day in enumerate((2, 3), start=1):
        run, stamp = f"run-{number}", format_instant(datetime(2026, 4, day, tzinfo=UTC))
        archive = {"start": f"2026-04-0{day}T00:30:00Z", "command": "archive-push", "result": "completed"}
        writer.add(run, "production", stamp, "run", {"now": stamp, "workspace": "w", "categories": []})
        writer.add(run, "production", stamp, "evidence", {
            "control": "BK-05", "evidence": "log", "collector": "pgbackrest.log", "status": "ok",
            "facts": {
                # The backup run appears in both runs' logs, so it is one event.
                "runs": [backup, archive],
                "root_logins": {"count": 1, "events": [{"time": stamp, "actor": "root"}],
                                "truncated": truncated},
            },
            "artifacts": [], "observed_at": stamp, "collected_at": stamp,
        })
        writer.add(run, "production", stamp, "result", {
            "control": "BK-05", "status": "pass", "reasons": [], "assertions": [],
            "evidence": ["BK-05/log"], "control_sha256": None, "waiver_sha256": None, "waiver": None,
            "attestation": None, "remediation": None,
        })
        writer.checkpoint(run, "production", stamp)
    writer.flush()
    return ledger


def test_population_events_deduplicated(tmp_path: Path) -> None:
    ledger = _events_ledger(tmp_path)
    summary = summarise_period(ledger, Q2, "production")
    events = build_population(summary, "BK-05", "events")
    # One shared backup, two archive pushes, two root logins.
    assert len(events.items) == 5
    facts = sorted(item.detail["fact"] for item in events.items)
    assert facts == ["root_logins.events", "root_logins.events", "runs", "runs", "runs"]
    from assay.evidence.records import canonical

    for item in events.items:
        assert item.id == hashlib.sha256(canonical(item.detail["event"])).hexdigest()


def test_population_events_truncated_rejected(tmp_path: Path) -> None:
    ledger = _events_ledger(tmp_path, truncated=True)
    summary = summarise_period(ledger, Q2, "production")
    with pytest.raises(AssayError, match="truncated"):
        build_population(summary, "BK-05", "events")


def _signed_sample(year, size: int = 10) -> tuple[dict, object, Path]:
    _ledger, key, pack = year
    source = open_pack(pack)
    population = build_population(summary_from_pack(source, source.period), "BK-02", "runs")
    document = sign_sample(sample_document(population, "seed", size, source.manifest_sha256), key)
    return document, key, pack


def test_sample_verifies_against_pack(year) -> None:
    document, key, pack = _signed_sample(year)
    path = pack.parent / "sample.json"
    assert check_sample_signature(document, path, {key.key_id: key.public}) == key.key_id
    checks = check_sample_contents(document, path, open_pack(pack))
    assert any("population of 91 runs" in check for check in checks)
    assert len(document["selection"]) == 10


def test_sample_size_above_population(year) -> None:
    document, _key, pack = _signed_sample(year, size=500)
    assert len(document["selection"]) == 91
    check_sample_contents(document, pack.parent / "sample.json", open_pack(pack))


def test_sample_altered_signature_fails(year) -> None:
    document, key, pack = _signed_sample(year)
    altered = copy.deepcopy(document)
    altered["seed"] = "another seed"
    with pytest.raises(VerificationError, match="does not verify"):
        check_sample_signature(altered, pack.parent / "sample.json", {key.key_id: key.public})


def test_sample_other_signer_rejected(year, tmp_path: Path) -> None:
    document, _key, pack = _signed_sample(year)
    keys.generate(tmp_path)
    other = load_signing_key(tmp_path / "signing-key.pem")
    with pytest.raises(VerificationError, match="not by the pinned signer"):
        check_sample_signature(document, pack.parent / "sample.json", {other.key_id: other.public})


def test_sample_population_item_removed(year) -> None:
    document, key, pack = _signed_sample(year)
    unsigned = {name: value for name, value in document.items() if name not in ("signature", "signer")}
    removed = unsigned["population"]["ids"].pop(40)
    unsigned["population"]["count"] -= 1
    resigned = sign_sample(unsigned, key)
    path = pack.parent / "sample.json"
    check_sample_signature(resigned, path, {key.key_id: key.public})
    with pytest.raises(VerificationError, match="missing from the file: 1 ") as caught:
        check_sample_contents(resigned, path, open_pack(pack))
    assert removed in str(caught.value)


def test_sample_selection_altered(year) -> None:
    document, key, pack = _signed_sample(year)
    unsigned = {name: value for name, value in document.items() if name not in ("signature", "signer")}
    chosen = {item["id"] for item in unsigned["selection"]}
    replacement = next(item_id for item_id in unsigned["population"]["ids"] if item_id not in chosen)
    unsigned["selection"][0] = {**unsigned["selection"][0], "id": replacement}
    with pytest.raises(VerificationError, match="selection"):
        check_sample_contents(sign_sample(unsigned, key), pack.parent / "sample.json", open_pack(pack))


def test_sample_other_pack_rejected(year) -> None:
    document, _key, pack = _signed_sample(year)
    altered = {**document, "pack_manifest_sha256": "0" * 64}
    with pytest.raises(VerificationError, match="manifest.json"):
        check_sample_contents(altered, pack.parent / "sample.json", open_pack(pack))


@pytest.mark.parametrize("part, value, message", [
    ("period", ["2026-01-01"], "period must be an object"),
    ("population", ["ids"], "population.ids must be a list of strings"),
    ("population", {"ids": 5}, "population.ids must be a list of strings"),
    ("population", {"ids": [["nested"]]}, "population.ids must be a list of strings"),
    ("selection", "all", "selection must be a list of objects"),
    ("selection", [1, 2], "selection must be a list of objects"),
], ids=repr)
def test_signed_sample_of_wrong_shape_rejected(year, part, value, message) -> None:
    document, key, pack = _signed_sample(year)
    unsigned = {name: item for name, item in document.items() if name not in ("signature", "signer")}
    unsigned[part] = value
    with pytest.raises(VerificationError, match=message):
        check_sample_contents(sign_sample(unsigned, key), pack.parent / "sample.json", open_pack(pack))
