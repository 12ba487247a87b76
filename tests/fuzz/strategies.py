"""Hypothesis strategies for hostile structured input.

`hostile_json` and `hostile_yaml_values` draw values of every JSON or YAML
kind with the edge cases parsers miss: wrong types, huge and negative
numbers, NaN and infinities, deep nesting, control characters and
non-BMP text. `restructured_json` takes a real document and replaces,
removes or re-types one place in it, so most of the document still looks
like the real format and the change reaches the code behind the first
checks.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from typing import Any

from hypothesis import strategies as st
from ruamel.yaml import YAML

# Text with control characters, line and paragraph separators, a
# byte-order mark, right-to-left marks and astral-plane characters.
awkward_text = st.one_of(
    st.text(max_size=20),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=20),
    st.sampled_from([
        "", " ", "\x00", "\n", "\r\n", "\t", "\u2028", "\ufeff", "\u202e", "\U0001f600",
        "-", "0", "-0", "1e999", "NaN", "Infinity", "null", "true", "yes", "no", "~",
        "2026-12-04T20:15:00Z", "2026-13-45T99:99:99Z", "0000-00-00", "9999-12-31T23:59:59Z",
        "1970-01-01T00:00:00Z", "2026-12-04T20:15:00.123456789+14:00", "P1D", "%s%n",
        "../../etc/passwd", "/dev/zero", "${HOME}", "{{7*7}}", "a" * 300,
    ]),
)

awkward_numbers = st.one_of(
    st.integers(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, -1, 1, 2**31, 2**53, 2**53 + 1, 2**63, 2**64, -(2**63), 10**30]),
    st.floats(),
    st.sampled_from([0.0, -0.0, 5e-324, 1.7976931348623157e308, 1e-300, 0.1, -1e20]),
)

json_scalars = st.one_of(st.none(), st.booleans(), awkward_numbers, awkward_text)


def deep(depth: int, leaf: Any = 0) -> Any:
    value: Any = leaf
    for level in range(depth):
        value = [value] if level % 2 else {"a": value}
    return value


def hostile_json() -> st.SearchStrategy[Any]:
    """Any JSON value, NaN and huge integers included, sometimes nested hundreds deep."""
    nested = st.recursive(
        json_scalars,
        lambda children: st.lists(children, max_size=4)
        | st.dictionaries(awkward_text, children, max_size=4),
        max_leaves=12,
    )
    return st.one_of(nested, st.integers(50, 800).map(deep))


def hostile_yaml_values() -> st.SearchStrategy[Any]:
    """YAML-dumpable values of the wrong type, shape or size (no NaN keys, no surrogates)."""
    text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=30)
    scalars = st.one_of(st.none(), st.booleans(), awkward_numbers, text, awkward_text)
    return st.one_of(
        st.recursive(
            scalars,
            lambda children: st.lists(children, max_size=4)
            | st.dictionaries(text, children, max_size=4),
            max_leaves=12,
        ),
        st.integers(20, 200).map(deep),
    )


def dump_json(value: Any) -> bytes:
    """Serialise like json.dumps, writing NaN and infinities as the tokens Python emits."""
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


def _dump_yaml(value: Any) -> bytes:
    yaml = YAML(typ="safe")
    yaml.default_flow_style = False
    stream = io.StringIO()
    yaml.dump(value, stream)
    return stream.getvalue().encode("utf-8")


@st.composite
def yaml_text(draw: st.DrawFn, values: st.SearchStrategy[Any]) -> bytes:
    """YAML text of a drawn value, in block or flow style, sometimes with a stray YAML feature."""
    value = draw(values)
    style = draw(st.sampled_from(["block", "flow", "json"]))
    if style == "json":
        text = json.dumps(value, ensure_ascii=False, default=str).encode("utf-8", "surrogatepass")
    elif style == "flow":
        yaml = YAML(typ="safe")
        yaml.default_flow_style = True
        stream = io.StringIO()
        yaml.width = 10**6
        yaml.dump(value, stream)
        text = stream.getvalue().encode("utf-8")
    else:
        text = _dump_yaml(value)
    extra = draw(st.sampled_from([
        b"", b"", b"", b"\n---\nsecond: document\n", b"\n&a [*a]\n", b"\nkey: !!python/object:os.system x\n",
        b"\n<<: *missing\n", b"\n? [complex, key]\n: value\n", b"\n\tindented: with tab\n",
        b"\nkey: 1\nkey: 2\n", b"%YAML 1.1\n---\n",
    ]))
    return extra + text if extra.startswith(b"%") else text + extra


def yaml_quoted(text: str) -> str:
    """Return `text` as a YAML double-quoted scalar (JSON string syntax is valid YAML)."""
    return json.dumps(text)


# Pieces of CEL: field paths a control might read, literals of every type,
# operators, macros and functions, including the ones that fail at runtime.
_CEL_ATOMS = [
    "k6.p99_ms", "params.latency_p99_ms", "params.tenant_roles", "k6", "params", "missing.fact",
    "k6['p99_ms']", "k6.series['a b']", "1", "-1", "0", "1.5", "1e308", "1e999", "-9223372036854775808",
    "9223372036854775807", "18446744073709551615u", "true", "false", "null", "'text'", '"\\u0000"',
    "b'\\xff'", "[]", "{}", "[1, 'a', null]", "{'a': 1}", "duration('1h')", "timestamp('2026-12-04T20:15:00Z')",
    "now", "int('x')", "double('nan')", "'\\U0001f600'", "r'\\d+'",
]
_CEL_BINARY = ["<", "<=", ">", ">=", "==", "!=", "&&", "||", "+", "-", "*", "/", "%", " in "]
_CEL_WRAP = ["size({})", "!{}", "-{}", "({})", "{}.all(x, x > 0)", "{}.exists(x, x == 1)",
             "{}.map(x, x * 2)", "{}.filter(x, x != null)", "has({}.a)", "int({})", "string({})",
             "{}.matches('[')", "{}.startsWith('a')", "[{}][0]", "{}[1]", "{} ? 1 : 2",
             "type({})", "dyn({})", "{}.size()", "max({})"]
# Fragments that make an expression invalid or unusual to tokenize.
_CEL_NOISE = ["(", ")", "[", "]", "{", "}", ".", ",", "'", '"', "\\", "?", ":", "#", "@", "\n",
              "\x00", "\u2028", "'''", '"""', "//", "/*", "..", "&&&&", "\U0001f600"]


@st.composite
def cel_expressions(draw: st.DrawFn) -> str:
    """A CEL expression built from atoms, operators and macros, sometimes broken on purpose."""
    expression = draw(st.sampled_from(_CEL_ATOMS))
    for _ in range(draw(st.integers(0, 6))):
        if draw(st.booleans()):
            expression = draw(st.sampled_from(_CEL_WRAP)).replace("{}", expression, 1)
        else:
            operator = draw(st.sampled_from(_CEL_BINARY))
            expression = f"{expression} {operator} {draw(st.sampled_from(_CEL_ATOMS))}"
    choice = draw(st.integers(0, 4))
    if choice == 0:
        position = draw(st.integers(0, len(expression)))
        noise = draw(st.sampled_from(_CEL_NOISE))
        expression = expression[:position] + noise + expression[position:]
    elif choice == 1:
        depth = draw(st.integers(1, 400))
        expression = "(" * depth + expression + ")" * depth
    elif choice == 2:
        expression = draw(st.text(max_size=40))
    return expression


# Structural edits of a parsed JSON document.

def _places(value: Any, path: tuple = ()) -> list[tuple]:
    found = [path]
    if isinstance(value, dict):
        for key, child in value.items():
            found.extend(_places(child, (*path, key)))
    elif isinstance(value, list):
        for index, child in enumerate(value[:8]):
            found.extend(_places(child, (*path, index)))
    return found


def _replace(value: Any, path: tuple, new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        copy = dict(value)
        copy[head] = _replace(value[head], rest, new)
        return copy
    copy_list = list(value)
    copy_list[head] = _replace(value[head], rest, new)
    return copy_list


_REMOVE = object()


def _remove(value: Any, path: tuple) -> Any:
    head, rest = path[0], path[1:]
    if rest:
        return _replace(value, (head,), _remove(value[head], rest))
    if isinstance(value, dict):
        return {key: child for key, child in value.items() if key != head}
    return [child for index, child in enumerate(value) if index != head]


@st.composite
def restructured_json(draw: st.DrawFn, document: Any, max_edits: int = 3) -> Any:
    """Return `document` with one to `max_edits` places replaced, removed, re-typed or repeated."""
    for _ in range(draw(st.integers(1, max_edits))):
        places = _places(document)
        path = draw(st.sampled_from(places))
        current = document
        for step in path:
            current = current[step]
        action = draw(st.sampled_from(["replace", "replace", "remove", "wrap", "retype", "grow"]))
        if action == "remove" and path:
            document = _remove(document, path)
            continue
        if action == "wrap":
            new = draw(st.sampled_from([[current], {"value": current}, str(current)]))
        elif action == "retype":
            new = _retype(current, draw(st.integers(0, 3)))
        elif action == "grow" and isinstance(current, list) and current:
            new = current * draw(st.integers(2, 40))
        else:
            new = draw(hostile_json())
        document = _replace(document, path, new)
    return document


def _retype(value: Any, choice: int) -> Any:
    if isinstance(value, bool):
        return ["true", 1, None, "false"][choice]
    if isinstance(value, (int, float)):
        return [str(value), -value if not (isinstance(value, float) and math.isnan(value)) else 0,
                float("nan"), value * 10**12][choice]
    if isinstance(value, str):
        return [value * 50, value.upper(), value[: len(value) // 2], int(value) if value.isdigit() else None][choice]
    if isinstance(value, dict):
        return [list(value.values()), list(value), {}, None][choice]
    if isinstance(value, list):
        return [{str(i): v for i, v in enumerate(value)}, [], value[::-1], None][choice]
    return [0, "", [], {}][choice]


@st.composite
def restructured_ndjson(draw: st.DrawFn, text: bytes) -> bytes:
    """Return JSON-lines `text` with a few lines restructured, removed, repeated or swapped."""
    lines = text.decode("utf-8").splitlines()
    for _ in range(draw(st.integers(1, 3))):
        if not lines:
            break
        index = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["edit", "edit", "edit", "remove", "repeat", "swap"]))
        if action == "remove":
            del lines[index]
        elif action == "repeat":
            lines.insert(index, lines[index])
        elif action == "swap":
            other = draw(st.integers(0, len(lines) - 1))
            lines[index], lines[other] = lines[other], lines[index]
        else:
            try:
                document = json.loads(lines[index])
            except ValueError:
                continue
            edited = draw(restructured_json(document, max_edits=2))
            lines[index] = dump_json(edited).decode("utf-8", "surrogatepass").replace("\n", "\\n")
    return "\n".join(lines).encode("utf-8", "surrogatepass") + b"\n"


@st.composite
def restructured_csv(draw: st.DrawFn, text: bytes) -> bytes:
    """Return CSV `text` with a few cells replaced by hostile values, or rows cut short or extended."""
    rows = list(csv.reader(io.StringIO(text.decode("utf-8"))))
    cell_values = st.one_of(awkward_text, awkward_numbers.map(str))
    for _ in range(draw(st.integers(1, 4))):
        if not rows:
            break
        row_index = draw(st.integers(0, len(rows) - 1))
        row = rows[row_index]
        action = draw(st.sampled_from(["cell", "cell", "cell", "cut", "extend", "remove", "repeat"]))
        if action == "cell" and row:
            row[draw(st.integers(0, len(row) - 1))] = draw(cell_values)
        elif action == "cut":
            rows[row_index] = row[: draw(st.integers(0, len(row)))]
        elif action == "extend":
            row.extend(draw(st.lists(cell_values, min_size=1, max_size=3)))
        elif action == "remove":
            del rows[row_index]
        else:
            rows.insert(row_index, list(row))
    out = io.StringIO()
    csv.writer(out, lineterminator=draw(st.sampled_from(["\n", "\r\n"]))).writerows(rows)
    return out.getvalue().encode("utf-8", "surrogatepass")


_ATTRIBUTE = re.compile(rb'="([^"]*)"')
_XML_VALUES = [b"", b"-1", b"NaN", b"1e999", b"inf", b"0x10", b"1,5", b" 3 ", b"99999999999999999999999",
               b"&amp;", b"&#0;", b"&#x110000;", b"&undefined;", b"\xc3\xa9", b"<", b"]]>"]


@st.composite
def restructured_xml(draw: st.DrawFn, text: bytes) -> bytes:
    """Return XML `text` with attribute values replaced or elements duplicated, removed or nested."""
    for _ in range(draw(st.integers(1, 4))):
        matches = list(_ATTRIBUTE.finditer(text))
        action = draw(st.sampled_from(["attribute", "attribute", "element", "nest", "entity"]))
        if action == "attribute" and matches:
            match = draw(st.sampled_from(matches))
            value = draw(st.sampled_from(_XML_VALUES))
            text = text[: match.start(1)] + value + text[match.end(1):]
        elif action == "element":
            starts = [m.start() for m in re.finditer(rb"<[A-Za-z]", text)]
            if starts:
                start = draw(st.sampled_from(starts))
                end = text.find(b">", start) + 1
                text = text[:end] + text[start:end] * draw(st.integers(0, 3)) + text[end:]
        elif action == "nest":
            depth = draw(st.integers(10, 2000))
            position = text.rfind(b"</")
            if position > 0:
                text = text[:position] + b"<testsuite>" * depth + b"</testsuite>" * depth + text[position:]
        else:
            # An entity expansion bomb and an external entity: both must be rejected.
            doctype = draw(st.sampled_from([
                b'<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>',
                b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/hostname">]>',
            ]))
            declaration_end = text.find(b"?>") + 2 if text.startswith(b"<?xml") else 0
            text = text[:declaration_end] + doctype + text[declaration_end:]
    return text


_NUMBER = re.compile(rb"\d+(?:\.\d+)?")
_LOG_NUMBERS = [b"0", b"-1", b"99999999999999999999", b"1e999", b"NaN", b"", b"00", b"1.5.6"]


@st.composite
def restructured_lines(draw: st.DrawFn, text: bytes) -> bytes:
    """Return log `text` with numbers replaced and lines removed, repeated, swapped or split."""
    lines = text.split(b"\n")
    for _ in range(draw(st.integers(1, 4))):
        if not lines:
            break
        index = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["number", "number", "remove", "repeat", "swap", "split"]))
        line = lines[index]
        if action == "number":
            numbers = list(_NUMBER.finditer(line))
            if numbers:
                match = draw(st.sampled_from(numbers))
                lines[index] = line[: match.start()] + draw(st.sampled_from(_LOG_NUMBERS)) + line[match.end():]
        elif action == "remove":
            del lines[index]
        elif action == "repeat":
            lines.insert(index, line)
        elif action == "swap":
            other = draw(st.integers(0, len(lines) - 1))
            lines[index], lines[other] = lines[other], lines[index]
        else:
            cut = draw(st.integers(0, len(line)))
            lines[index : index + 1] = [line[:cut], line[cut:]]
    return b"\n".join(lines)
