"""The CEL evaluation time limit: hostile expressions end as errors, quickly."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from assay.controls.loader import LoadedControl
from assay.controls.model import Control
from assay.engine.evaluate import EvidenceOutcome, judge
from assay.engine.status import Status
from assay.evidence.collectors.base import Collected
from assay.policies import cel
from assay.policies.cel import EVALUATION_TIME_LIMIT, ExpressionError, compile_expression, evaluate

# Generous for a loaded 2-core machine: the limit is 1 s, and a restart of the
# worker process takes a fraction of a second more.
ENDS_WITHIN = 15.0


def generated_list(length: int) -> str:
    return "[" + ",".join(str(number) for number in range(length)) + "]"


def nested_all(levels: int, length: int = 150) -> str:
    """Build `[...].all(a, [...].all(b, ... a + b >= 0))`: length**levels steps."""
    names = "abcdefgh"[:levels]
    body = " + ".join(names) + " >= 0"
    for name in reversed(names):
        body = f"{generated_list(length)}.all({name}, {body})"
    return body


def test_time_limit_default_is_one_second() -> None:
    assert EVALUATION_TIME_LIMIT == 1.0


def test_nested_comprehensions_time_out() -> None:
    compiled = compile_expression(nested_all(4))
    started = time.monotonic()

    with pytest.raises(ExpressionError) as caught:
        evaluate(compiled, {})

    assert time.monotonic() - started < ENDS_WITHIN
    assert str(caught.value) == "evaluation exceeded the time limit of 1 s"


def test_string_building_times_out() -> None:
    # 120**3 string concatenations, far more than 0.05 s of work.
    items = generated_list(120)
    compiled = compile_expression(
        f'{items}.all(a, {items}.all(b, {items}.all(c, size("xxxxxxxx" + string(a) + string(b) + string(c)) > 0)))'
    )

    with pytest.raises(ExpressionError, match="time limit"):
        evaluate(compiled, {}, time_limit=0.05)


def test_string_repetition_not_supported() -> None:
    # cel 0.10 has neither `string * int` nor a repeat() function, so a
    # string can only grow through a comprehension, which the limit covers.
    with pytest.raises(ExpressionError, match="evaluation failed"):
        evaluate(compile_expression('size("ab" * 1000000000) > 0'), {})


def test_time_limit_overridable() -> None:
    compiled = compile_expression(nested_all(2, 20))

    assert evaluate(compiled, {}, time_limit=30.0) is True


def test_evaluation_works_after_timeout() -> None:
    with pytest.raises(ExpressionError, match="time limit"):
        evaluate(compile_expression(nested_all(4)), {})

    assert evaluate(compile_expression("x.y > 3"), {"x": {"y": 5}}) is True


def test_evaluation_errors_still_reported() -> None:
    with pytest.raises(ExpressionError, match="division by zero"):
        evaluate(compile_expression("x / 0 == 1"), {"x": 1})


def test_worker_killed_externally_restarts() -> None:
    evaluate(compile_expression("true"), {})
    process = cel._worker._process
    assert process is not None
    process.kill()
    process.wait()

    assert evaluate(compile_expression("x == 1"), {"x": 1}) is True


def _loaded(expression: str) -> LoadedControl:
    control = Control.model_validate({
        "id": "LT-01", "title": "latency", "criteria": ["A1.1"],
        "evidence": [{"id": "k6", "collector": "k6.summary", "with": {"path": "x.json"}}],
        "assert": [{"name": "a0", "expr": expression}],
    })
    return LoadedControl(control, "controls/lt-01.yaml", [compile_expression(expression)], {})


def _evidence(facts: dict[str, object]) -> EvidenceOutcome:
    collected = Collected(facts=facts, artifacts=[Path("x.json")])
    return EvidenceOutcome(id="k6", collector="k6.summary", status="ok", collected=collected)


def test_hostile_assertion_judged_error() -> None:
    evidence = _evidence({"p99_ms": 1.0})

    result = judge(_loaded(f"k6.p99_ms < 5 && {nested_all(4)}"), [evidence], {})

    assert result.status is Status.ERROR
    assert "time limit" in result.assertions[0].message


def test_missing_fact_in_or_still_error() -> None:
    evidence = _evidence({"p95_ms": 1.0})

    result = judge(_loaded("k6.p99_ms < 5000 || true"), [evidence], {})

    assert result.status is Status.ERROR
    assert result.assertions[0].outcome == "error"
    assert "p99_ms" in result.assertions[0].message
