"""Generated CEL assertions never crash compilation, the reference scan or evaluation.

compile_expression must return a compiled program or raise ExpressionError
with an offset inside the expression. evaluate, which runs in a worker
process, must return a value or raise ExpressionError.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from assay.policies.cel import CompiledExpression, ExpressionError, compile_expression, evaluate
from fuzz.harness import time_limit
from fuzz.strategies import cel_expressions, hostile_json

FACTS = {
    "k6": {"p99_ms": 96.98, "series": {"a b": [1, 2]}, "count": 141},
    "params": {"latency_p99_ms": 5000, "tenant_roles": ["tenant-reader", "tenant-admin"]},
}


def compile_or_error(expression: str) -> CompiledExpression | None:
    try:
        with time_limit():
            return compile_expression(expression)
    except ExpressionError as error:
        assert str(error).startswith(("invalid CEL", "expression ")), str(error)
        assert 0 <= error.offset <= len(expression), (error.offset, len(expression))
        return None


@given(cel_expressions())
def test_generated_expression_compiles_or_fails_cleanly(expression: str) -> None:
    compile_or_error(expression)


@given(st.text(max_size=60))
def test_arbitrary_text_compiles_or_fails_cleanly(expression: str) -> None:
    compile_or_error(expression)


@given(cel_expressions(), st.sampled_from(["k6", "params"]), hostile_json())
def test_evaluation_returns_or_fails_cleanly(expression: str, name: str, value: object) -> None:
    compiled = compile_or_error(expression)
    if compiled is None:
        return
    facts = dict(FACTS)
    facts[name] = value
    try:
        with time_limit():
            evaluate(compiled, facts, time_limit=5)
    except ExpressionError as error:
        assert str(error).strip()
