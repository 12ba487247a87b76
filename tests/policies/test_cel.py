"""Tests of CEL compilation, fact references, lookup and evaluation."""

from __future__ import annotations

from typing import Any

import pytest

from assay.policies.cel import (
    MAX_EXPRESSION_CHARS,
    MAX_NESTING,
    ExpressionError,
    Reference,
    compile_expression,
    evaluate,
    lookup,
    references,
)


def paths(expression: str) -> list[tuple[str, ...]]:
    return [reference.path for reference in references(expression)]


def evaluate_text(expression: str, variables: dict[str, Any]) -> Any:
    return evaluate(compile_expression(expression), variables)


def evaluation_error(expression: str, variables: dict[str, Any]) -> ExpressionError:
    compiled = compile_expression(expression)
    with pytest.raises(ExpressionError) as caught:
        evaluate(compiled, variables)
    return caught.value


# references


def test_references_dotted_paths() -> None:
    found = references("backups.retention_days >= params.backup_retention_min_days")

    assert found == [
        Reference(("backups", "retention_days"), 0),
        Reference(("params", "backup_retention_min_days"), 26),
    ]


def test_references_text_joins_path() -> None:
    assert references("k6.http.p95_ms < 3")[0].text == "k6.http.p95_ms"


def test_references_string_index() -> None:
    assert paths('k6["p(99)"] < params.latency_p99_ms') == [
        ("k6", "p(99)"),
        ("params", "latency_p99_ms"),
    ]


def test_references_single_quoted_and_chained_index() -> None:
    assert paths("k6['http']['p(95)'].value > 0") == [("k6", "http", "p(95)", "value")]


def test_references_stop_at_escaped_string_index() -> None:
    assert paths('k6["p\\"99"] > 0') == [("k6",)]


def test_references_stop_at_number_index() -> None:
    assert paths("tests.cases[0].name == 'x'") == [("tests", "cases")]


def test_references_method_call_ends_path() -> None:
    assert paths("t.failing_tests.size() == 0") == [("t", "failing_tests")]


def test_references_method_arguments_are_references() -> None:
    assert paths("tests.names.exists_one(n, n == params.name)") == [
        ("tests", "names"),
        ("params", "name"),
    ]


def test_references_function_names_left_out() -> None:
    assert paths("size(tests.failing) == 0 && int(k6.count) > 1") == [
        ("tests", "failing"),
        ("k6", "count"),
    ]


def test_references_macro_variable_left_out() -> None:
    assert paths("l.all(x, x > 0)") == [("l",)]


@pytest.mark.parametrize("macro", ["all", "exists", "exists_one", "map", "filter"])
def test_references_every_macro_binds(macro: str) -> None:
    assert paths(f"tests.cases.{macro}(c, c.passed)") == [("tests", "cases")]


def test_references_nested_macros() -> None:
    expression = "repos.list.all(r, r.backups.exists(b, b.ok && r.name != ''))"

    assert paths(expression) == [("repos", "list")]


def test_references_macro_variable_after_macro() -> None:
    # `e` is bound only inside the all(); after it, `e` names a variable again.
    assert paths("x.all(e, e > 0) && e.count > 1") == [("x",), ("e", "count")]


def test_references_has_marks_guarded() -> None:
    found = references("has(a.b) && a.b > 1")

    assert found == [
        Reference(("a", "b"), 4, guarded=True),
        Reference(("a", "b"), 12, guarded=False),
    ]


def test_references_guard_ends_with_has_parentheses() -> None:
    found = references("(has(a.b) || size(c.d) > 0) && e.f")

    assert [(reference.path, reference.guarded) for reference in found] == [
        (("a", "b"), True),
        (("c", "d"), False),
        (("e", "f"), False),
    ]


def test_references_skip_dotted_string_text() -> None:
    assert paths('"backups.retention_days" == s.name') == [("s", "name")]
    assert paths("s.name == 'a.b.c'") == [("s", "name")]
    assert paths('s.name == """x.y"""') == [("s", "name")]


def test_references_keywords_left_out() -> None:
    assert paths("a.b in [1, 2] && c.d == null && e.f != true") == [
        ("a", "b"),
        ("c", "d"),
        ("e", "f"),
    ]


def test_references_type_names_left_out() -> None:
    assert paths("type(k6.p99_ms) == double && type(t.n) != int") == [
        ("k6", "p99_ms"),
        ("t", "n"),
    ]


def test_references_type_name_with_field_is_variable() -> None:
    assert paths("list.size_bytes > 0") == [("list", "size_bytes")]


def test_references_comment_left_out() -> None:
    assert paths("a.b > 1 // the limit in c.d, don't change it") == [("a", "b")]


def test_references_ternary() -> None:
    assert paths("a.ok ? b.n : c.n") == [("a", "ok"), ("b", "n"), ("c", "n")]


def test_references_unexpected_character() -> None:
    with pytest.raises(ExpressionError) as caught:
        references("a.b @ 1")

    assert str(caught.value) == "invalid CEL: unexpected character '@'"
    assert caught.value.offset == 4


# compile_expression


def test_compile_keeps_source_and_references() -> None:
    compiled = compile_expression("tests.failed == 0")

    assert compiled.source == "tests.failed == 0"
    assert compiled.references == (Reference(("tests", "failed"), 0),)


def test_compile_syntax_error_names_offset() -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_expression("a.b >")

    assert str(caught.value).startswith("invalid CEL: Syntax error: ")
    assert "<input>" not in str(caught.value)
    assert caught.value.offset == 5


def test_compile_syntax_error_on_second_line() -> None:
    expression = "a.b == 1 &&\n  c.d >"
    with pytest.raises(ExpressionError) as caught:
        compile_expression(expression)

    assert caught.value.offset == len(expression)


def test_compile_error_at_input_zero_uses_real_position() -> None:
    # The cel package reports this error first at <input>:0:0, which once
    # gave offset -1; the inner has() at column 9 is the real place.
    with pytest.raises(ExpressionError) as caught:
        compile_expression("has(has(k6.(p99_ms.a).a).size()")

    assert str(caught.value) == "invalid CEL: invalid argument to has() macro"
    assert caught.value.offset == 8


def test_compile_unterminated_string() -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_expression('a.name == "abc')

    assert str(caught.value) == "invalid CEL: unexpected character '\"'"
    assert caught.value.offset == 10


def test_compile_accepts_comment_with_apostrophe() -> None:
    compiled = compile_expression("a.b > 1 // don't lower this")

    assert compiled.references == (Reference(("a", "b"), 0),)
    assert evaluate(compiled, {"a": {"b": 2}}) is True


def test_compile_rejects_overlong_expression() -> None:
    expression = "a.b == " + "1 + " * 1100 + "1"
    assert len(expression) > MAX_EXPRESSION_CHARS

    with pytest.raises(ExpressionError) as caught:
        compile_expression(expression)

    assert str(caught.value) == (
        f"expression is {len(expression)} characters, over the {MAX_EXPRESSION_CHARS} limit"
    )


def test_compile_accepts_expression_at_length_limit() -> None:
    expression = 'a.b == "' + "x" * (MAX_EXPRESSION_CHARS - 9) + '"'
    assert len(expression) == MAX_EXPRESSION_CHARS

    compiled = compile_expression(expression)

    assert compiled.references == (Reference(("a", "b"), 0),)


def test_compile_rejects_deep_nesting() -> None:
    depth = MAX_NESTING + 1
    expression = "(" * depth + "a.b" + ")" * depth

    with pytest.raises(ExpressionError) as caught:
        compile_expression(expression)

    assert str(caught.value) == f"expression nests deeper than {MAX_NESTING} levels"


def test_compile_nesting_counts_brackets() -> None:
    half = MAX_NESTING // 2 + 1
    expression = "[" * half + "{1: " * half + "2" + "}" * half + "]" * half + " == []"

    with pytest.raises(ExpressionError) as caught:
        compile_expression(expression)

    assert "nests deeper than" in str(caught.value)


def test_compile_accepts_nesting_at_limit() -> None:
    expression = "(" * MAX_NESTING + "a.b" + ")" * MAX_NESTING + " == 1"

    compiled = compile_expression(expression)

    assert evaluate(compiled, {"a": {"b": 1}}) is True


def test_compile_ignores_parentheses_in_strings() -> None:
    expression = 'k6["' + "(" * (MAX_NESTING + 5) + '"] == 1'

    compiled = compile_expression(expression)

    assert compiled.references[0].path == ("k6", "(" * (MAX_NESTING + 5))


# lookup


FACTS: dict[str, Any] = {
    "backups": {"retention_days": 31, "repos": {"repo1": {"ok": True}}, "note": None},
    "params": {"limit": 30},
    "k6": {"p(99)": 4.5, "checks": [1, 2]},
}


def test_lookup_present_value() -> None:
    assert lookup(FACTS, ("backups", "retention_days")) == (True, 31, "")
    assert lookup(FACTS, ("backups", "repos", "repo1", "ok")) == (True, True, "")
    assert lookup(FACTS, ("k6", "p(99)")) == (True, 4.5, "")


def test_lookup_present_null() -> None:
    assert lookup(FACTS, ("backups", "note")) == (True, None, "")


def test_lookup_missing_key_names_prefix() -> None:
    assert lookup(FACTS, ("backups", "retention")) == (False, None, "backups.retention")
    assert lookup(FACTS, ("backups", "repos", "repo2", "ok")) == (
        False,
        None,
        "backups.repos.repo2",
    )


def test_lookup_missing_root() -> None:
    assert lookup(FACTS, ("tests", "failed")) == (False, None, "tests")


def test_lookup_stops_at_non_map() -> None:
    assert lookup(FACTS, ("k6", "checks", "first")) == (True, [1, 2], "")
    assert lookup(FACTS, ("backups", "retention_days", "unit")) == (True, 31, "")


def test_lookup_empty_path_is_facts() -> None:
    assert lookup(FACTS, ()) == (True, FACTS, "")


# evaluate


def test_evaluate_true_and_false() -> None:
    assert evaluate_text("backups.retention_days >= params.limit", FACTS) is True
    assert evaluate_text('k6["p(99)"] > 5.0', FACTS) is False


def test_evaluate_macro() -> None:
    assert evaluate_text("k6.checks.all(c, c > 0)", FACTS) is True


def test_evaluate_missing_key() -> None:
    error = evaluation_error("backups.retention > 1", FACTS)

    assert str(error) == "evaluation failed: no such key 'retention'"
    assert isinstance(error.__cause__, KeyError)


def test_evaluate_undefined_variable() -> None:
    error = evaluation_error("tests.failed == 0", FACTS)

    assert str(error) == "evaluation failed: Undefined variable or function: 'tests'"


def test_evaluate_type_mismatch() -> None:
    error = evaluation_error('backups.retention_days > "30"', FACTS)

    assert str(error) == (
        "evaluation failed: No such overload: the operation is not defined for the given "
        "operand types"
    )
    assert isinstance(error.__cause__, TypeError)


def test_evaluate_string_plus_int() -> None:
    error = evaluation_error("a.b + 1 == 2", {"a": {"b": "1"}})

    assert str(error) == "evaluation failed: Unsupported operation: string + int"


def test_evaluate_division_by_zero() -> None:
    error = evaluation_error("a.b / a.zero > 1", {"a": {"b": 1, "zero": 0}})

    assert str(error) == "evaluation failed: division by zero in CEL expression"
    assert isinstance(error.__cause__, ZeroDivisionError)


def test_evaluate_modulo_by_zero() -> None:
    error = evaluation_error("a.b % a.zero == 0", {"a": {"b": 1, "zero": 0}})

    assert str(error) == "evaluation failed: modulo by zero in CEL expression"


def test_evaluate_integer_overflow() -> None:
    error = evaluation_error("a.b + 1 > 0", {"a": {"b": 2**63 - 1}})

    assert str(error).startswith("evaluation failed: Arithmetic overflow")
    assert isinstance(error.__cause__, OverflowError)


def test_evaluate_index_out_of_range() -> None:
    error = evaluation_error("k6.checks[5] > 0", FACTS)

    assert str(error) == "evaluation failed: index out of bounds: 5"
    assert isinstance(error.__cause__, IndexError)


def test_evaluate_bad_conversion() -> None:
    error = evaluation_error("int(a.b) > 0", {"a": {"b": "many"}})

    assert str(error).startswith("evaluation failed: Function 'int' error")


def test_evaluate_unconvertible_value() -> None:
    error = evaluation_error("a.b == 1", {"a": {"b": object()}})

    assert str(error).startswith("evaluation failed: Conversion Error")


def test_evaluate_missing_field_inside_or_passes() -> None:
    # The cel package lets a missing field pass inside `||`, which is why the
    # engine checks every reference with lookup() before evaluating.
    compiled = compile_expression("a.missing || true")

    assert evaluate(compiled, {"a": {}}) is True
    assert lookup({"a": {}}, compiled.references[0].path) == (False, None, "a.missing")
