"""Collector `json`: facts selected from any JSON or YAML document by JMESPath.

The control names each fact and the JMESPath expression that selects it
(https://jmespath.org/specification.html), for example
`{roles: "roles[].name", admin_count: "length(roles[?admin])"}`.

JSON is read strictly: NaN, Infinity and a key repeated in one object are
rejected. YAML follows the 1.2 core schema, so `NO` stays the text "NO" but
an unquoted `1.10` is the number 1.1; quote a value in the document to keep
its text. An expression that returns null leaves its fact absent with a reason.
Results keep to the JSON domain the ledger stores: integers beyond ±(2**53 - 1)
become strings, and a number too large for a double or text with a lone UTF-16
surrogate (a YAML "\\ud800" escape) is an error.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any, Literal

import jmespath
from jmespath import exceptions as jmespath_errors
from jmespath.functions import Functions
from pydantic import Field, field_validator

from assay.controls.yamlsource import load_document
from assay.errors import CollectorError
from assay.evidence.collectors.base import (
    CollectContext,
    Collected,
    Collector,
    CollectorParams,
    read_input_bytes,
    relative_name,
    resolve_single_input,
)
from assay.evidence.collectors.jsonload import load_strict
from assay.evidence.records import MAX_SAFE_INTEGER

# Fact names are read in assertions as `evidence.name`, so they must be identifiers.
_FACT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_FORMATS = {".json": "json", ".yaml": "yaml", ".yml": "yaml"}
_KNOWN_FUNCTIONS = frozenset(Functions.FUNCTION_TABLE)


class JsonQueryParams(CollectorParams):
    path: str = Field(description="JSON or YAML file, relative to the workspace.")
    facts: dict[str, str] = Field(
        min_length=1,
        description="Map from fact name to the JMESPath expression that selects its value, "
                    "e.g. {admin_count: \"length(roles[?admin])\"}.",
    )
    format: Literal["json", "yaml"] | None = Field(
        default=None,
        description="Document format; by default .json files are JSON and .yaml or .yml files are YAML.",
    )

    @field_validator("facts")
    @classmethod
    def _compile_expressions(cls, facts: dict[str, str]) -> dict[str, str]:
        for name, expression in facts.items():
            if not _FACT_NAME.match(name):
                raise ValueError(
                    f"fact name {name!r} is not an identifier (letters, digits and _, not starting "
                    "with a digit), so assertions could not read it"
                )
            problem = expression_problem(expression)
            if problem:
                raise ValueError(f"fact {name!r}: {problem}")
        return facts


class JsonQuery(Collector):
    name = "json"
    version = "1"
    summary = "Select facts from a JSON or YAML document with JMESPath expressions."
    Params = JsonQueryParams
    facts = ()
    dynamic_facts = True

    def collect(self, params: JsonQueryParams, context: CollectContext) -> Collected:
        path = resolve_single_input(context.workspace, params.path)
        display = relative_name(context.workspace, path)
        document = _load(path, display, params.format)
        facts: dict[str, Any] = {}
        absent: dict[str, str] = {}
        for name, expression in params.facts.items():
            try:
                value = jmespath.search(expression, document)
                if value is None:
                    absent[name] = f"query {expression!r} matched nothing"
                    continue
                facts[name] = json_safe(value)
            except jmespath_errors.JMESPathError as exc:
                raise CollectorError(f"fact {name!r}: query {expression!r} failed: {exc}", path=display) from exc
            except ValueError as exc:
                raise CollectorError(f"fact {name!r}: query {expression!r} returned {exc}", path=display) from exc
            except RecursionError as exc:
                raise CollectorError(f"fact {name!r}: the result is nested too deeply", path=display) from exc
        return Collected(facts=facts, artifacts=[path], absent=absent)


def expression_problem(expression: str) -> str | None:
    """Explain why `expression` is not a usable JMESPath expression, or return None."""
    try:
        parsed = jmespath.compile(expression)
    except jmespath_errors.IncompleteExpressionError:
        return f"invalid JMESPath expression {expression!r}: it ends before the expression is complete"
    except jmespath_errors.LexerError as exc:
        return f"invalid JMESPath expression {expression!r}: {exc.message} at character {exc.lex_position + 1}"
    except jmespath_errors.ParseError as exc:
        return (f"invalid JMESPath expression {expression!r}: unexpected {exc.token_value!r} "
                f"at character {exc.lex_position + 1}")
    # Function names are resolved only when the expression runs; check them now.
    unknown = sorted(_function_names(parsed.parsed) - _KNOWN_FUNCTIONS)
    if unknown:
        return f"unknown JMESPath function {unknown[0]}() in {expression!r}"
    return None


def _function_names(node: Any) -> set[str]:
    names: set[str] = set()
    pending = [node]
    while pending:
        current = pending.pop()
        if not isinstance(current, dict):
            continue
        if current.get("type") == "function_expression":
            names.add(current["value"])
        pending.extend(current.get("children", []))
    return names


def _load(path: Path, display: str, declared: str | None) -> Any:
    kind = declared or _FORMATS.get(path.suffix.lower())
    if kind is None:
        raise CollectorError(
            f"cannot tell the format from the extension {path.suffix!r}; set format: json or format: yaml",
            path=display,
        )
    if kind == "json":
        return load_strict(read_input_bytes(path, display), display, expected="a JSON document")
    document = load_document(path, display, None)
    if document.problems:
        first = document.problems[0]
        reasons = [f"{p.field}: {p.message}" if p.field else p.message for p in document.problems]
        raise CollectorError("; ".join(reasons), path=display, location=f"{first.line}:{first.column}")
    return document.data


def json_safe(value: Any) -> Any:
    """Return `value` with integers beyond ±(2**53 - 1) as strings.

    Raises ValueError for NaN, infinities and text with a lone surrogate.
    """
    if isinstance(value, str):
        return _checked_text(value)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value if abs(value) <= MAX_SAFE_INTEGER else str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value}, a number outside the range of a 64-bit float, which JSON cannot store")
        return value
    if isinstance(value, list):
        return [json_safe(item) for item in value]
    if isinstance(value, dict):
        return {_checked_text(str(key)): json_safe(item) for key, item in value.items()}
    raise ValueError(f"a value of type {type(value).__name__}, which is not JSON")


def _checked_text(text: str) -> str:
    if not text.isascii() and any("\ud800" <= character <= "\udfff" for character in text):
        raise ValueError(f"the text {text[:40]!r}, which contains a lone UTF-16 surrogate that JSON cannot store")
    return text
