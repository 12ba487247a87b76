"""Find type mistakes in assertions before any evidence is collected.

Two kinds of mistake are found. The first is a value that is not true or
false where CEL needs one: the whole assertion (`k6.p95_ms + 1`) or an
operand of `&&`, `||` or `!`. The second is a number compared with a string
(`k6.p95_ms < "500"`). CEL converts neither, so `assay run` reports an
error, or for `==` and `!=` a result that never changes.

The `cel` package (common-expression-language 0.10) compiles and evaluates
expressions but has no type checker that takes declared variable types, so
this module parses the expression's tokens itself. A subexpression gets a
type only when it is certain: a literal, a fact whose collector declares its
type, a param that the framework library's params.yaml declares, or an
operator or function whose result type is fixed. Everything else is unknown,
and a check that involves an unknown type reports nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from assay.evidence.collectors.base import Collector, FactType
from assay.policies.cel import MACROS, ExpressionError, Token, tokenize

# The type of a subexpression: "number", "string", "bool", "null", "list"
# or "map", or None when it is not certain.
CelType = str | None

# The CEL type of each collector fact type. A timestamp fact is RFC 3339
# text, but it is left unknown so that no message depends on how a
# collector writes it.
_FACT_TYPES: dict[FactType, CelType] = {
    "int": "number", "float": "number", "number": "number", "str": "string",
    "bool": "bool", "list": "list", "map": "map", "timestamp": None,
}
_KINDS = {
    "number": "a number", "string": "a string", "bool": "true or false", "null": "null",
    "list": "a list", "map": "a map",
}
# Functions and methods whose result type does not depend on their arguments.
_RESULT_TYPES: dict[str, CelType] = {
    "has": "bool", "all": "bool", "exists": "bool", "exists_one": "bool",
    "startsWith": "bool", "endsWith": "bool", "contains": "bool", "matches": "bool",
    "size": "number", "int": "number", "uint": "number", "double": "number",
    "string": "string", "map": "list", "filter": "list",
}
_ORDERING = {"<", "<=", ">", ">="}
_RELATIONS = _ORDERING | {"==", "!=", "in"}
_NUMBER = re.compile(r"^-?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?$")


@dataclass(frozen=True)
class _Node:
    """A parsed subexpression: its type and where its text starts and ends."""

    type: CelType
    start: int
    end: int
    # What declared the type of a fact or param reference, for messages.
    origin: str = ""
    # The value of a plain string literal.
    text_value: str | None = None


class _Unparsed(Exception):
    """The expression has a form this parser does not follow; nothing is reported for it."""


def param_types(params: Mapping[str, Any], library_defaults: Mapping[str, Any]) -> dict[str, CelType]:
    """Return the type of each param that the library's params.yaml declares.

    A param is typed by its library default, and only while the value in
    assay.yaml is of the same kind. Another kind is reported at assay.yaml
    already, and a param the library does not declare stays unknown.
    """
    types: dict[str, CelType] = {}
    for name, default in library_defaults.items():
        if name in params and _value_type(params[name]) == _value_type(default):
            types[name] = _value_type(default)
    return types


def _value_type(value: Any) -> CelType:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "map"
    return "null" if value is None else None


def type_problems(
    expression: str,
    collector_of: Mapping[str, type[Collector]],
    params: Mapping[str, CelType],
) -> list[str]:
    """Return a message for each type mistake in `expression`, an assertion that compiles.

    `collector_of` maps each evidence id of the control to its collector, and
    `params` maps param names to their declared types (see param_types).
    """
    try:
        checker = _Checker(expression, collector_of, params)
        result = checker.parse()
    except (_Unparsed, ExpressionError):
        return []
    except RecursionError:
        # About a thousand chained `?:` exceed Python's recursion limit. The
        # loader rejects expressions that long (MAX_EXPRESSION_CHARS) before
        # this check runs, so only other callers can reach this branch.
        return []
    if result.type is not None and result.type != "bool":
        checker.problems.append(
            f"{expression!r} returns {_describe(result)}, not true or false, so `assay run` "
            "judges it an error; make it a condition, for example a comparison with a param"
        )
    return checker.problems


def _describe(node: _Node) -> str:
    kind = _KINDS[node.type or ""]
    return f"{kind} ({node.origin})" if node.origin else kind


class _Checker:
    """A recursive-descent parser of CEL that types each subexpression and records mistakes.

    It follows the CEL grammar's precedence: `?:`, `||`, `&&`, relations,
    `+ -`, `* / %`, unary `! -`, then member access, calls and index.
    """

    def __init__(
        self,
        expression: str,
        collector_of: Mapping[str, type[Collector]],
        params: Mapping[str, CelType],
    ) -> None:
        self.source = expression
        self.tokens: list[Token] = tokenize(expression)
        self.position = 0
        self.collector_of = collector_of
        self.params = params
        # Variables bound by the comprehension macros being parsed (`x` in `.all(x, ...)`).
        self.bound: list[str] = []
        self.problems: list[str] = []

    def parse(self) -> _Node:
        node = self._conditional()
        if self.position != len(self.tokens):
            raise _Unparsed
        return node

    def _peek(self, ahead: int = 0) -> str:
        index = self.position + ahead
        return self.tokens[index].text if index < len(self.tokens) else ""

    def _take(self, expected: str | None = None) -> Token:
        if self.position >= len(self.tokens):
            raise _Unparsed
        token = self.tokens[self.position]
        if expected is not None and token.text != expected:
            raise _Unparsed
        self.position += 1
        return token

    def _text(self, node: _Node) -> str:
        return self.source[node.start:node.end]

    def _conditional(self) -> _Node:
        condition = self._logical("||")
        if self._peek() != "?":
            return condition
        self._take("?")
        when_true = self._logical("||")
        self._take(":")
        when_false = self._conditional()
        same = when_true.type if when_true.type == when_false.type else None
        return _Node(same, condition.start, when_false.end)

    def _logical(self, operator: str) -> _Node:
        operand = self._logical_operand(operator)
        if self._peek() != operator:
            return operand
        self._check_condition(operand, operator)
        while self._peek() == operator:
            self._take(operator)
            right = self._logical_operand(operator)
            self._check_condition(right, operator)
            operand = _Node("bool", operand.start, right.end)
        return operand

    def _logical_operand(self, operator: str) -> _Node:
        return self._logical("&&") if operator == "||" else self._relation()

    def _check_condition(self, operand: _Node, operator: str) -> None:
        if operand.type is not None and operand.type != "bool":
            self.problems.append(
                f"{self._text(operand)!r} is {_describe(operand)}, not true or false, which "
                f"{operator!r} needs; make it a condition, for example a comparison with a param"
            )

    def _relation(self) -> _Node:
        left = self._additive()
        while self._peek() in _RELATIONS:
            operator = self._take().text
            right = self._additive()
            node = _Node("bool", left.start, right.end)
            if operator != "in":
                self._check_comparison(left, operator, right, node)
            left = node
        return left

    def _check_comparison(self, left: _Node, operator: str, right: _Node, node: _Node) -> None:
        if {left.type, right.type} != {"number", "string"}:
            return
        text = self._text(node)
        if operator in _ORDERING:
            consequence = "which CEL cannot order, so evaluating it is an error"
        else:
            outcome = "false" if operator == "==" else "true"
            consequence = f"which CEL never finds equal, so {operator!r} is always {outcome}"
        self.problems.append(
            f"{text!r} compares {_describe(left)} with {_describe(right)}, {consequence}; "
            f"{self._comparison_fix(left, right, node)}"
        )

    def _comparison_fix(self, left: _Node, right: _Node, node: _Node) -> str:
        """Suggest the comparison without quotes when the string is a number written in quotes."""
        string = left if left.type == "string" else right
        if string.text_value is not None and _NUMBER.match(string.text_value.strip()):
            fixed = (
                self.source[node.start:string.start]
                + string.text_value.strip()
                + self.source[string.end:node.end]
            )
            return f"write the number without quotes: {fixed}"
        return "make both sides numbers or both strings"

    def _additive(self) -> _Node:
        left = self._multiplicative()
        while self._peek() in ("+", "-"):
            operator = self._take().text
            right = self._multiplicative()
            left = _Node(_arithmetic_type(operator, left, right), left.start, right.end)
        return left

    def _multiplicative(self) -> _Node:
        left = self._unary()
        while self._peek() in ("*", "/", "%"):
            operator = self._take().text
            right = self._unary()
            left = _Node(_arithmetic_type(operator, left, right), left.start, right.end)
        return left

    def _unary(self) -> _Node:
        operators: list[Token] = []
        while self._peek() in ("!", "-"):
            operators.append(self._take())
        node = self._member()
        for operator in reversed(operators):
            if operator.text == "!":
                self._check_condition(node, "!")
                node = _Node("bool", operator.offset, node.end)
            else:
                node = _Node("number" if node.type == "number" else None, operator.offset, node.end)
        return node

    def _member(self) -> _Node:
        node = self._primary()
        while self._peek() in (".", "["):
            if self._take().text == "[":
                self._conditional()
                end = self._take("]")
                node = _Node(None, node.start, end.offset + 1)
                continue
            name = self._take()
            if name.kind != "ident":
                raise _Unparsed
            if self._peek() == "(":
                end, result = self._call(name.text, method=True)
                node = _Node(result, node.start, end)
            else:
                node = _Node(None, node.start, name.offset + len(name.text))
        return node

    def _call(self, name: str, *, method: bool) -> tuple[int, CelType]:
        """Parse a call's arguments from its `(`; return the end offset and the result type."""
        self._take("(")
        binds = method and name in MACROS and self._peek(1) == ","
        if binds:
            self.bound.append(self._take().text)
            self._take(",")
        try:
            while self._peek() != ")":
                self._conditional()
                if self._peek() != ")":
                    self._take(",")
        finally:
            if binds:
                self.bound.pop()
        end = self._take(")")
        return end.offset + 1, _RESULT_TYPES.get(name)

    def _primary(self) -> _Node:
        token = self._take()
        start = token.offset
        if token.kind == "number":
            return _Node("number", start, start + len(token.text))
        if token.kind == "string":
            return self._string(token)

        if token.text == "(":
            inner = self._conditional()
            end = self._take(")").offset + 1
            return _Node(inner.type, start, end, origin=inner.origin, text_value=inner.text_value)
        if token.text == "[":
            end = self._sequence("]", pairs=False)
            return _Node("list", start, end)
        if token.text == "{":
            end = self._sequence("}", pairs=True)
            return _Node("map", start, end)
        if token.kind != "ident":
            raise _Unparsed

        if token.text in ("true", "false"):
            return _Node("bool", start, start + len(token.text))
        if token.text == "null":
            return _Node("null", start, start + len(token.text))

        if self._peek() == "(":
            end, result = self._call(token.text, method=False)
            return _Node(result, start, end)
        if self._peek() == "{":
            # A message literal such as `Type{field: value}`.
            end = self._sequence_after_brace()
            return _Node(None, start, end)
        return self._reference(token)

    def _string(self, token: Token) -> _Node:
        end = token.offset + len(token.text)
        text = token.text
        if text[:1] in "bB" or text[:2].lower() in ("rb", "br"):
            return _Node(None, token.offset, end)
        raw = text[:1] in "rR"
        body = text[1:] if raw else text
        quote = body[:3] if body[:3] in ('"""', "'''") else body[:1]
        value = body[len(quote):-len(quote)]
        plain = value if raw or "\\" not in value else None
        return _Node("string", token.offset, end, text_value=plain)

    def _sequence(self, closer: str, *, pairs: bool) -> int:
        """Parse list items or map entries up to `closer`; return the end offset."""
        while self._peek() != closer:
            self._conditional()
            if pairs:
                self._take(":")
                self._conditional()
            if self._peek() != closer:
                self._take(",")
        return self._take(closer).offset + 1

    def _sequence_after_brace(self) -> int:
        self._take("{")
        while self._peek() != "}":
            self._take()
            self._take(":")
            self._conditional()
            if self._peek() != "}":
                self._take(",")
        return self._take("}").offset + 1

    def _reference(self, token: Token) -> _Node:
        """Parse a dotted path such as `k6.p95_ms` and type it from the declarations.

        An index such as `k6["p95_ms"]` is parsed by _member and stays unknown.
        """
        path = [token.text]
        end = token.offset + len(token.text)
        while self._peek() == "." and self._peek(2) != "(":
            field = self.tokens[self.position + 1] if self.position + 1 < len(self.tokens) else None
            if field is None or field.kind != "ident":
                break
            self.position += 2
            path.append(field.text)
            end = field.offset + len(field.text)
        node_type, origin = self._declared(tuple(path))
        return _Node(node_type, token.offset, end, origin=origin)

    def _declared(self, path: tuple[str, ...]) -> tuple[CelType, str]:
        """Return the declared type of a variable path and what declared it."""
        if len(path) != 2 or path[0] in self.bound:
            return None, ""
        root, name = path
        if root == "params":
            param_type = self.params.get(name)
            return param_type, f"param {name!r}" if param_type else ""
        collector = self.collector_of.get(root)
        if collector is None or collector.dynamic_facts:
            return None, ""
        fact = collector.declared(name)
        if fact is None:
            return None, ""
        fact_type = _FACT_TYPES[fact.type]
        return fact_type, f"fact {name!r} of {collector.name}" if fact_type else ""


def _arithmetic_type(operator: str, left: _Node, right: _Node) -> CelType:
    if left.type == "number" and right.type == "number":
        return "number"
    if operator == "+" and left.type == right.type and left.type in ("string", "list"):
        return left.type
    return None
