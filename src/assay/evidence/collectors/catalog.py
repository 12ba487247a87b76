"""Describe registered collectors: parameters and facts, for the CLI and docs/collectors.md."""

from __future__ import annotations

import json
import typing
from typing import Any

from pydantic import BaseModel

from assay.controls.yamlsource import core_scalar, load_text
from assay.errors import UsageError
from assay.evidence import collectors
from assay.evidence.collectors.base import Collector

DOCS_HEADER = """\
# Collectors

This page is generated from the collectors' own declarations by
`assay collectors docs > docs/collectors.md`; a test fails when it is out of
date. Facts carry their unit in the name (`_ms`, `_seconds`, `_bytes`,
`_ratio`). A name with `*` stands for a family of facts, and the keys below a
`map` fact are data (suite names, tags, repositories).
"""


def parameters(cls: type[Collector]) -> list[dict[str, Any]]:
    """List a collector's parameters: name, type, required, default, description."""
    result = []
    for name, info in cls.Params.model_fields.items():
        result.append({
            "name": info.alias or name,
            "type": _type_name(info.annotation),
            "required": info.is_required(),
            "default": None if info.is_required() else info.get_default(call_default_factory=True),
            "description": info.description or "",
        })
    return result


def _type_name(annotation: Any) -> str:
    if annotation is None:
        return "any"
    origin = typing.get_origin(annotation)
    if origin is None:
        return getattr(annotation, "__name__", str(annotation))
    if origin in (list, dict, tuple):
        inner_types = ", ".join(_type_name(a) for a in typing.get_args(annotation))
        return f"{origin.__name__}[{inner_types}]"
    if origin is typing.Literal:
        return " | ".join(repr(a) for a in typing.get_args(annotation))
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    inner = " | ".join(_type_name(a) for a in args)
    if len(args) < len(typing.get_args(annotation)):
        return f"{inner} (optional)"
    return inner


def describe(name: str) -> dict[str, Any]:
    """Return a collector's declaration as a JSON-ready dict."""
    cls = collectors.get(name)
    return {
        "name": name,
        "version": cls.version,
        "summary": cls.summary,
        "module": cls.__module__,
        "parameters": parameters(cls),
        "facts": [fact.model_dump() for fact in cls.facts],
        "dynamic_facts": cls.dynamic_facts,
    }


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def docs_markdown() -> str:
    """Render docs/collectors.md from every registered collector's declaration."""
    parts = [DOCS_HEADER]
    for name in collectors.names():
        info = describe(name)
        parts.append(f"\n## `{name}`\n\n{_cell(info['summary'])}\n")
        parts.append("\n| parameter | type | required | default | description |\n| --- | --- | --- | --- | --- |\n")
        for param in info["parameters"]:
            default = "" if param["required"] else f"`{json.dumps(param['default'])}`"
            parts.append(
                f"| `{param['name']}` | {_cell(param['type'])} | {'yes' if param['required'] else 'no'} "
                f"| {default} | {_cell(param['description'])} |\n"
            )
        if info["dynamic_facts"]:
            parts.append("\nThe control chooses this collector's facts, so they are not listed.\n")
            continue
        parts.append("\n| fact | type | unit | meaning |\n| --- | --- | --- | --- |\n")
        for fact in info["facts"]:
            parts.append(
                f"| `{fact['name']}` | {fact['type']} | {fact['unit'] or ''} | {_cell(fact['description'])} |\n"
            )
    return "".join(parts)


def parse_with(cls: type[Collector], pairs: list[str]) -> BaseModel:
    """Build a collector's parameters from `KEY=VALUE` strings.

    A value for a text parameter is kept as written; any other value is read
    as a YAML 1.2 scalar (numbers, true/false, null).
    """
    raw: dict[str, Any] = {}
    fields = {info.alias or name: info for name, info in cls.Params.model_fields.items()}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--with {pair!r}: expected KEY=VALUE")
        if key in raw:
            raise UsageError(f"--with {key}: given twice")
        info = fields.get(key)
        keeps_text = info is not None and str in _plain_types(info.annotation)
        if value.startswith(("[", "{")):
            raw[key] = _flow_value(key, value, info)
        else:
            raw[key] = value if keeps_text else core_scalar(value)
    from pydantic import ValidationError

    try:
        return cls.Params.model_validate(raw)
    except ValidationError as exc:
        problems = []
        unknown = False
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"]) or "parameters"
            message = error["msg"]
            if error["type"] == "extra_forbidden":
                unknown = True
                message = f"unknown parameter{collectors.suggest(where, fields)}"
            elif error["type"] == "missing":
                message = "required parameter is missing"
            problems.append(f"--with {where}: {message}")
        if unknown:
            problems.append(f"the parameters are {', '.join(fields)}")
        raise UsageError("; ".join(problems)) from exc


def _flow_value(key: str, value: str, info: Any) -> Any:
    """Read a YAML flow list or mapping (`[a, b]`, `{k: v}`) typed by the parameter's annotation."""
    from pydantic import create_model

    holder = create_model("WithValue", value=(info.annotation if info is not None else Any, ...))
    document = load_text(f"value: {value}", f"--with {key}", holder)
    if document.problems:
        raise UsageError(f"--with {key}: {document.problems[0].message}")
    return document.data["value"]


def _plain_types(annotation: Any) -> set[Any]:
    args = typing.get_args(annotation)
    return set(args) if args else {annotation}
