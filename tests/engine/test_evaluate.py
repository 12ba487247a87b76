from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from assay.controls.model import Control
from assay.controls.loader import LoadedControl
from assay.engine.evaluate import EvidenceOutcome, check_freshness, judge
from assay.engine.readiness import category_of, readiness
from assay.engine.status import Status, worst
from assay.evidence.collectors.base import Collected
from assay.policies.cel import compile_expression

NOW = datetime(2026, 12, 4, 20, 15, tzinfo=UTC)


def _loaded(*exprs: str, max_age: str | None = None) -> LoadedControl:
    control = Control.model_validate({
        "id": "LT-01", "title": "latency", "criteria": ["A1.1"], "max_age": max_age,
        "evidence": [{"id": "k6", "collector": "k6.summary", "with": {"path": "x.json"}}],
        "assert": [{"name": f"a{i}", "expr": e} for i, e in enumerate(exprs)],
    })
    return LoadedControl(control, "controls/lt-01.yaml", [compile_expression(e) for e in exprs], {})


def _evidence(facts: dict, **extra) -> EvidenceOutcome:
    collected = Collected(facts=facts, artifacts=[Path("x.json")], **extra)
    return EvidenceOutcome(id="k6", collector="k6.summary", status="ok", collected=collected)


def test_all_assertions_true_pass():
    result = judge(_loaded("k6.p99_ms < 5000"), [_evidence({"p99_ms": 96.9})], {})
    assert result.status is Status.PASS


def test_false_assertion_fails_with_facts_read():
    result = judge(_loaded("k6.p99_ms < params.limit"), [_evidence({"p99_ms": 6000.5})], {"limit": 5000})
    assert result.status is Status.FAIL
    assert result.reasons == ["a0: false (k6.p99_ms = 6000.5, params.limit = 5000)"]


def test_absent_fact_is_error_naming_available_facts():
    result = judge(_loaded("k6.p99_ms < 5000"), [_evidence({"p95_ms": 455.12, "requests": 1200})], {})
    assert result.status is Status.ERROR
    assert result.assertions[0].message == "k6.p99_ms not present; available: p95_ms, requests"


def test_absent_fact_uses_collector_reason():
    reason = "p(99) not present for http_req_duration; available: avg, min, med, max, p(90), p(95)"
    evidence = _evidence({"p95_ms": 455.12}, absent={"p99_ms": reason})
    result = judge(_loaded("k6.p99_ms < 5000"), [evidence], {})
    assert result.status is Status.ERROR
    assert result.assertions[0].message == f"k6.p99_ms not present: {reason}"


def test_absent_fact_inside_or_never_passes():
    result = judge(_loaded("k6.p99_ms < 5000 || true"), [_evidence({"p95_ms": 1.0})], {})
    assert result.status is Status.ERROR


def test_has_guard_allows_absent_fact():
    result = judge(_loaded("!has(k6.p99_ms) || k6.p99_ms < 5000"), [_evidence({"p95_ms": 1.0})], {})
    assert result.status is Status.PASS


def test_non_boolean_result_is_error():
    result = judge(_loaded("k6.p99_ms"), [_evidence({"p99_ms": 1.5})], {})
    assert result.status is Status.ERROR
    assert result.assertions[0].message == "expression returned 1.5, not true or false"


def test_integral_float_judged_as_recorded():
    # The ledger records 2.0 as 2, so the run judges the same int that a
    # re-evaluation from the record judges.
    result = judge(_loaded("type(k6.n) == int && type(params.limit) == int"),
                   [_evidence({"n": 2.0})], {"limit": 10.0})
    assert result.status is Status.PASS


def test_type_mismatch_is_error():
    result = judge(_loaded("k6.name > 3"), [_evidence({"name": "x"})], {})
    assert result.status is Status.ERROR
    assert result.assertions[0].message.startswith("evaluation failed")


def test_missing_evidence_makes_control_missing():
    evidence = EvidenceOutcome(id="k6", collector="k6.summary", status="missing", message="x.json: no such file")
    result = judge(_loaded("k6.p99_ms < 5000"), [evidence], {})
    assert result.status is Status.MISSING
    assert result.assertions[0].outcome == "skipped"


def test_collector_error_makes_control_error():
    evidence = EvidenceOutcome(id="k6", collector="k6.summary", status="error", message="x.json:1:2: bad")
    result = judge(_loaded("k6.p99_ms < 5000"), [evidence], {})
    assert result.status is Status.ERROR
    assert result.reasons == ["k6: x.json:1:2: bad"]


def test_collector_failure_fails_control_without_error():
    evidence = _evidence({"stanza_found": False}, failures=["pgBackRest reported no stanzas (expected: main)"])
    result = judge(_loaded("k6.newest_full_age_seconds < 10"), [evidence], {})
    assert result.status is Status.FAIL
    assert result.reasons == ["k6: pgBackRest reported no stanzas (expected: main)"]


def test_stale_evidence_is_error():
    loaded = _loaded("k6.p99_ms < 5000", max_age="26h")
    evidence = _evidence({"p99_ms": 1.0}, observed_at=NOW - timedelta(hours=27))
    check_freshness(loaded, evidence, NOW)
    result = judge(loaded, [evidence], {})
    assert result.status is Status.ERROR
    assert "older than max_age 26h" in result.reasons[0]


def test_fresh_evidence_at_limit_passes():
    loaded = _loaded("k6.p99_ms < 5000", max_age="26h")
    evidence = _evidence({"p99_ms": 1.0}, observed_at=NOW - timedelta(hours=26))
    check_freshness(loaded, evidence, NOW)
    assert judge(loaded, [evidence], {}).status is Status.PASS


def test_evidence_from_after_now_is_error():
    # No max_age: an age that comes out negative must not pass "recent enough".
    loaded = _loaded("k6.age_seconds <= 3600")
    evidence = _evidence({"age_seconds": -86400}, observed_at=NOW + timedelta(days=1))
    check_freshness(loaded, evidence, NOW)
    result = judge(loaded, [evidence], {})
    assert result.status is Status.ERROR
    assert result.reasons == [
        "evidence 'k6' was observed at 2026-12-05T20:15:00.000000Z, 24.0 h after the run's "
        "time 2026-12-04T20:15:00.000000Z; check --now and the clock of this host"
    ]


def test_evidence_minutes_ahead_allowed():
    loaded = _loaded("k6.p99_ms < 5000", max_age="26h")
    evidence = _evidence({"p99_ms": 1.0}, observed_at=NOW + timedelta(seconds=300))
    check_freshness(loaded, evidence, NOW)
    assert judge(loaded, [evidence], {}).status is Status.PASS


def test_worst_order():
    assert worst([Status.PASS, Status.MISSING, Status.FAIL]) is Status.FAIL
    assert worst([Status.MISSING, Status.ERROR]) is Status.ERROR
    assert worst([]) is Status.PASS


@pytest.mark.parametrize(
    ("criterion", "category"),
    [("CC6.1", "security"), ("A1.2", "availability"), ("C1.1", "confidentiality"),
     ("PI1.3", "processing_integrity"), ("P4.3", "privacy")],
)
def test_category_of_prefix(criterion, category):
    assert category_of(criterion) == category


def test_readiness_needs_every_control_of_a_criterion_met():
    result = readiness(
        ["availability"],
        [(["A1.1"], Status.PASS), (["A1.1", "A1.2"], Status.FAIL), (["A1.3"], Status.WAIVED),
         (["CC6.1"], Status.PASS), (["C1.1"], Status.PASS)],
    )
    by_name = {item.category: item for item in result}
    assert set(by_name) == {"security", "availability"}
    assert by_name["availability"].criteria_met == ["A1.3"]
    assert by_name["availability"].criteria_not_met == ["A1.1", "A1.2"]
    # Every security criterion of the catalog is in scope; only CC6.1 has a control.
    assert by_name["security"].criteria_met == ["CC6.1"]
    assert by_name["security"].total == 33
    assert len(by_name["security"].coverage_gaps) == 32


def test_readiness_not_applicable_out_of_scope():
    result = readiness([], [(["CC7.2"], Status.NOT_APPLICABLE)])
    assert result[0].criteria_not_applicable == ["CC7.2"]
    assert result[0].total == 32
    assert "CC7.2" not in result[0].criteria_not_met
