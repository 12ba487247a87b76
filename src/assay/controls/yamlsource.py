"""YAML reading that keeps positions and never lets implicit typing change a value.

Documents are composed into nodes with ruamel.yaml and converted by hand,
guided by the pydantic model they will fill: a `str` field keeps the text as
written (`NO` stays "NO", `1.10` stays "1.10"), a `bool` field accepts only
`true` or `false`, and untyped places (such as `params`) follow the YAML 1.2
core schema. Duplicate keys are rejected with both line numbers, and every
converted value's position is kept so validation errors can name
file:line:col.
"""

from __future__ import annotations

import codecs
import math
import re
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import (
    MappingEndEvent,
    MappingStartEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from assay.evidence.records import MAX_SAFE_INTEGER

Loc = tuple[str | int, ...]

# A document of more nodes than this (aliases counted at every use) is
# rejected, which bounds alias expansion ("billion laughs").
MAX_NODES = 100_000
# Mappings and sequences nested deeper than this are rejected. The check runs
# before composing, because the ruamel.yaml 0.19 composer is recursive and
# raises RecursionError near 900 levels. It runs again while converting, which
# also stops an anchor that contains an alias to itself.
# NOTE: 64 is a chosen bound. Control files nest about five levels.
MAX_DEPTH = 64
MAX_FILE_BYTES = 4 * 1024 * 1024

_INT = re.compile(r"^[-+]?[0-9]+$|^0o[0-7]+$|^0x[0-9a-fA-F]+$")
_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_NULL = {"", "~", "null", "Null", "NULL"}
_TRUE = {"true", "True", "TRUE"}
_FALSE = {"false", "False", "FALSE"}


@dataclass
class Problem:
    """One problem at a place in a file."""

    line: int
    column: int
    field: str
    message: str


@dataclass
class Document:
    """A converted YAML document with the position of every value."""

    path: Path
    display: str
    data: Any
    positions: dict[Loc, tuple[int, int]] = field(default_factory=dict)
    # Position of the key of each mapping entry, under the entry's location.
    key_positions: dict[Loc, tuple[int, int]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    # Lines of the file before the YAML text (front matter starts on line 2).
    line_offset: int = 0

    def position(self, loc: Loc) -> tuple[int, int]:
        """Return the 1-based line and column of `loc`, or of its nearest parent."""
        while loc:
            if loc in self.positions:
                return self.positions[loc]
            loc = loc[:-1]
        return self.positions.get((), (1, 1))

    def format(self, problem: Problem) -> str:
        prefix = f"{self.display}:{problem.line + self.line_offset}:{problem.column}"
        return f"{prefix}: {problem.field}: {problem.message}" if problem.field else f"{prefix}: {problem.message}"

    def add(self, loc: Loc, message: str, *, at_key: bool = False) -> None:
        """Record a problem at the value of `loc`, or at its key when `at_key` is set."""
        if at_key and loc in self.key_positions:
            line, column = self.key_positions[loc]
        else:
            line, column = self.position(loc)
        self.problems.append(Problem(line, column, dotted(loc), message))


def dotted(loc: Loc) -> str:
    """Render a location as `evidence[0].collector`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _lone_surrogate(text: str) -> str | None:
    if text.isascii():
        return None
    return next((c for c in text if "\ud800" <= c <= "\udfff"), None)


class _Converter:
    def __init__(self, document: Document, *, safe_integers: bool = False) -> None:
        self.document = document
        self.nodes = 0
        # Workspace files are hashed as RFC 8785 JSON, which represents integers
        # up to 2**53 - 1 exactly, so a larger one is a problem there.
        self.safe_integers = safe_integers

    def mark(self, node: Node, loc: Loc) -> None:
        self.document.positions[loc] = (node.start_mark.line + 1, node.start_mark.column + 1)

    def convert(self, node: Node, annotation: Any, loc: Loc) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            message = f"document expands to more than {MAX_NODES} nodes (aliases included)"
            raise _TooLarge(loc, message)
        if isinstance(node, (MappingNode, SequenceNode)) and len(loc) + 1 > MAX_DEPTH:
            message = f"document nests deeper than {MAX_DEPTH} levels (aliases included)"
            raise _TooLarge(loc, message)
        self.mark(node, loc)
        annotation = _unwrap_optional(node, annotation)
        if isinstance(node, MappingNode):
            return self.mapping(node, annotation, loc)
        if isinstance(node, SequenceNode):
            item_type = _item_type(annotation)
            return [self.convert(item, item_type, loc + (i,)) for i, item in enumerate(node.value)]
        assert isinstance(node, ScalarNode)
        return self.scalar(node, annotation, loc)

    def mapping(self, node: MappingNode, annotation: Any, loc: Loc) -> dict[str, Any]:
        result: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        model = annotation if _is_model(annotation) else None
        value_type = _value_type(annotation)
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                self.document.add(loc, "mapping keys must be plain strings")
                continue
            key = scalar_text(key_node)
            surrogate = _lone_surrogate(key)
            if surrogate is not None:
                self.document.add(loc, f"key {key[:40]!r} contains {_surrogate_message(surrogate)}")
                continue
            line = key_node.start_mark.line + 1
            if key in first_line:
                self.document.positions[loc + (key,)] = (line, key_node.start_mark.column + 1)
                self.document.add(
                    loc + (key,), f"duplicate key {key!r} (lines {first_line[key] + self.document.line_offset} and {line + self.document.line_offset})"
                )
                continue
            first_line[key] = line
            self.document.key_positions[loc + (key,)] = (line, key_node.start_mark.column + 1)
            if key == "<<" and key_node.style is None:
                self.document.positions[loc + (key,)] = (line, key_node.start_mark.column + 1)
                self.document.add(
                    loc + (key,),
                    "merge keys are a YAML 1.1 feature that assay does not read; write the "
                    "fields out in this mapping (an anchor and alias of a whole value work)",
                )
                continue
            field_type: Any = Any
            if model is not None:
                field_type = _field_annotation(model, key)
            elif value_type is not None:
                field_type = value_type
            result[key] = self.convert(value_node, field_type, loc + (key,))
        return result

    def scalar(self, node: ScalarNode, annotation: Any, loc: Loc) -> Any:
        text = scalar_text(node)
        surrogate = _lone_surrogate(text)
        if surrogate is not None:
            self.document.add(loc, f"text contains {_surrogate_message(surrogate)}")
            return None
        # A plain scalar tagged !!str stays text, so `!!str 1.10` is the
        # string 1.10. ruamel.yaml also tags untagged plain scalars as str,
        # but only text that the core schema reads as text too.
        quoted = node.style in ("'", '"', "|", ">") or _tag(node) == _STR_TAG
        if annotation is str:
            return text
        if annotation is bool:
            if not quoted and text in ("true", "false"):
                return text == "true"
            self.document.add(loc, f"expected true or false, got {text!r}")
            return None
        if quoted:
            return text
        value = core_scalar(text)
        if isinstance(value, float) and not math.isfinite(value):
            self.document.add(loc, f"number {text} is out of the range of a 64-bit float")
            return None
        if self.safe_integers and type(value) is int and abs(value) > MAX_SAFE_INTEGER:
            self.document.add(
                loc, f"integer {text[:40]} is beyond ±(2**53 - 1), the largest that canonical "
                "JSON represents exactly; quote it to keep it as text",
            )
            return None
        return value


def _surrogate_message(surrogate: str) -> str:
    return (f"the lone UTF-16 surrogate \\u{ord(surrogate):04x}, which is not a Unicode "
            "character; write the character itself")


class _TooLarge(Exception):
    def __init__(self, loc: Loc, message: str) -> None:
        super().__init__(message)
        self.loc = loc
        self.message = message


_STR_TAG = "tag:yaml.org,2002:str"


def _tag(node: Node) -> str:
    # ruamel.yaml gives the tag as a str or as a Tag object with a value.
    return str(getattr(node.tag, "value", node.tag))


def scalar_text(node: ScalarNode) -> str:
    """Return a scalar node's text as YAML defines it.

    ruamel.yaml's composer marks each line fold of a folded (`>`) scalar
    with a BEL character (U+0007) in the node's value, for its own
    round-trip constructor to remove. YAML allows no raw BEL in a stream, so
    every one in a folded scalar is such a mark.
    """
    text = str(node.value)
    return text.replace("\a", "") if node.style == ">" else text


def core_scalar(text: str) -> Any:
    """Resolve a plain scalar by the YAML 1.2 core schema.

    NOTE: `.inf` and `.nan` stay text, although the core schema reads them as floats.
    """
    if text in _NULL:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    if _INT.match(text):
        if text.startswith("0o"):
            return int(text[2:], 8)
        if text.startswith("0x"):
            return int(text[2:], 16)
        try:
            return int(text)
        except ValueError:
            # NOTE: int() rejects more than 4300 decimal digits (Python's
            # default limit), so such a scalar stays text.
            return text
    if _FLOAT.match(text) and any(c.isdigit() for c in text):
        return float(text)
    return text


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _field_annotation(model: type[BaseModel], key: str) -> Any:
    for name, info in model.model_fields.items():
        if key in (name, info.alias):
            return info.annotation
    return Any


def _unwrap_optional(node: Node, annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        if isinstance(node, ScalarNode) and node.style is None and str(node.value) in _NULL:
            return Any
        if len(options) == 1:
            return options[0]
        for option in options:
            kind = typing.get_origin(option) or option
            if isinstance(node, MappingNode) and (kind is dict or _is_model(option)):
                return option
            if isinstance(node, SequenceNode) and kind in (list, tuple):
                return option
        if str in options:
            return str
        return Any
    return annotation


def _item_type(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (list, tuple):
        args = typing.get_args(annotation)
        if args:
            return args[0]
    return Any


def _value_type(annotation: Any) -> Any:
    if typing.get_origin(annotation) is dict:
        args = typing.get_args(annotation)
        if len(args) == 2:
            return args[1]
    return None


def load_document(path: Path, display: str, model: type[BaseModel] | None) -> Document:
    """Read one YAML file into a Document guided by `model`.

    Syntax errors, invalid UTF-8, empty files, duplicate keys, non-boolean
    booleans and oversized or too deeply nested documents become problems on
    the document rather than exceptions.
    """
    document = Document(path=path, display=display, data=None)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        document.problems.append(Problem(1, 1, "", f"cannot read file: {exc.strerror}"))
        return document
    if len(raw) > MAX_FILE_BYTES:
        document.problems.append(
            Problem(1, 1, "", f"file is {len(raw)} bytes, over the {MAX_FILE_BYTES}-byte limit")
        )
        return document
    raw = raw.removeprefix(codecs.BOM_UTF8)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        # Count the column in characters, as the YAML positions do.
        line_start = raw.rfind(b"\n", 0, exc.start) + 1
        line = raw.count(b"\n", 0, exc.start) + 1
        column = len(raw[line_start : exc.start].decode("utf-8")) + 1
        document.problems.append(Problem(line, column, "", "invalid UTF-8; save the file as UTF-8"))
        return document
    _parse_into(document, text, model)
    return document


def load_text(text: str, display: str, model: type[BaseModel] | None, *, line_offset: int = 0) -> Document:
    """Parse YAML text embedded in a larger file (front matter) guided by `model`.

    `line_offset` is the number of file lines before the text, so positions
    in messages are those of the file.
    """
    document = Document(path=Path(display), display=display, data=None, line_offset=line_offset)
    _parse_into(document, text, model)
    return document


def _parse_into(document: Document, text: str, model: type[BaseModel] | None) -> None:
    yaml = YAML(typ="rt")
    try:
        too_deep = _first_too_deep(yaml, text)
        nodes = [] if too_deep else list(_compose_all(yaml, text))
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        reason = exc.problem or exc.context or "invalid YAML"
        document.problems.append(Problem(line, column, "", f"invalid YAML: {reason}"))
        return
    except YAMLError as exc:
        document.problems.append(Problem(1, 1, "", f"invalid YAML: {exc}"))
        return
    if too_deep:
        line, column = too_deep
        document.problems.append(
            Problem(line, column, "", f"document nests deeper than {MAX_DEPTH} levels")
        )
        return
    if not nodes:
        document.problems.append(Problem(1, 1, "", "file is empty"))
        return
    if len(nodes) != 1:
        document.problems.append(
            Problem(1, 1, "", f"expected one YAML document, found {len(nodes)}")
        )
        return
    converter = _Converter(document, safe_integers=model is not None)
    try:
        document.data = converter.convert(nodes[0], model if model is not None else Any, ())
    except _TooLarge as exc:
        document.add(exc.loc, exc.message)
    return


def _first_too_deep(yaml: YAML, text: str) -> tuple[int, int] | None:
    """Return the 1-based line and column of the first collection nested past MAX_DEPTH.

    The parser emits events without recursing, so this is safe on any input.
    """
    depth = 0
    for event in yaml.parse(text):
        if isinstance(event, (MappingStartEvent, SequenceStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                return event.start_mark.line + 1, event.start_mark.column + 1
        elif isinstance(event, (MappingEndEvent, SequenceEndEvent)):
            depth -= 1
    return None


def _compose_all(yaml: YAML, text: str) -> Iterator[Node]:
    yield from yaml.compose_all(text)
