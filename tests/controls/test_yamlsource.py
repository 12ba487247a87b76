"""Tests of the model-guided YAML reader: types, positions and rejected input."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from assay.controls.model import Control
from assay.controls.yamlsource import (
    MAX_DEPTH,
    MAX_NODES,
    Document,
    core_scalar,
    dotted,
    load_document,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "controls"


class Replication(BaseModel):
    """A small model with the field types the reader treats specially."""

    title: str
    version: str | None = None
    jurisdictions: list[str] = []
    automated: bool | None = None
    params: dict[str, Any] = {}


def load_text(tmp_path: Path, text: str, model: type[BaseModel] | None = Replication) -> Document:
    path = tmp_path / "document.yaml"
    path.write_text(text, encoding="utf-8")
    return load_document(path, "document.yaml", model)


def load_bytes(tmp_path: Path, raw: bytes, model: type[BaseModel] | None = Replication) -> Document:
    path = tmp_path / "document.yaml"
    path.write_bytes(raw)
    return load_document(path, "document.yaml", model)


def messages(document: Document) -> list[str]:
    return [document.format(problem) for problem in document.problems]


# YAML 1.1 reads NO, yes and on as booleans, and YAML reads a plain 1.10 as the
# float 1.1. A str field keeps each as written, and a bool field takes only true or false.


def test_norway_in_string_list_stays_text(tmp_path: Path) -> None:
    document = load_text(tmp_path, "title: Replication\njurisdictions: [SE, NO, DK, FI]\n")

    assert document.problems == []
    assert document.data["jurisdictions"] == ["SE", "NO", "DK", "FI"]


def test_norway_in_control_file_stays_text() -> None:
    document = load_document(DATA / "nordic-replication.yaml", "controls/dr.yaml", Control)

    assert document.problems == []
    control = Control.model_validate(document.data)
    assert control.owner == "NO"
    assert control.policies == ["SE", "NO", "DK", "FI"]


@pytest.mark.parametrize("text", ["NO", "no", "off", "yes", "on", "y"])
def test_yaml11_booleans_stay_text(tmp_path: Path, text: str) -> None:
    document = load_text(tmp_path, f"title: {text}\n")

    assert document.problems == []
    assert document.data["title"] == text


@pytest.mark.parametrize("text", ["yes", "no", "on", "off", "y", "n", "True", "FALSE", "1", "0"])
def test_bool_field_rejects_non_boolean(tmp_path: Path, text: str) -> None:
    document = load_text(tmp_path, f"title: DR-04\nautomated: {text}\n")

    assert messages(document) == [
        f"document.yaml:2:12: automated: expected true or false, got {text!r}"
    ]
    assert document.data["automated"] is None


@pytest.mark.parametrize("text", ['"true"', "'false'"])
def test_bool_field_rejects_quoted_boolean(tmp_path: Path, text: str) -> None:
    document = load_text(tmp_path, f"title: DR-04\nautomated: {text}\n")

    assert len(document.problems) == 1
    assert "expected true or false" in document.problems[0].message


@pytest.mark.parametrize(("text", "expected"), [("true", True), ("false", False)])
def test_bool_field_accepts_true_and_false(tmp_path: Path, text: str, expected: bool) -> None:
    document = load_text(tmp_path, f"title: DR-04\nautomated: {text}\n")

    assert document.problems == []
    assert document.data["automated"] is expected


def test_optional_bool_field_accepts_null(tmp_path: Path) -> None:
    document = load_text(tmp_path, "title: DR-04\nautomated: null\n")

    assert document.problems == []
    assert document.data["automated"] is None


def test_version_in_str_field_keeps_text(tmp_path: Path) -> None:
    document = load_text(tmp_path, "title: DR-04\nversion: 1.10\n")

    assert document.problems == []
    assert document.data["version"] == "1.10"


def test_version_in_untyped_dict_is_float(tmp_path: Path) -> None:
    document = load_text(tmp_path, "title: DR-04\nparams: {version: 1.10, enabled: yes}\n")

    assert document.problems == []
    assert document.data["params"]["version"] == 1.1
    assert isinstance(document.data["params"]["version"], float)
    # YAML 1.2 has no `yes` boolean, so it stays text.
    assert document.data["params"]["enabled"] == "yes"


def test_quoted_value_in_untyped_dict_stays_text(tmp_path: Path) -> None:
    document = load_text(tmp_path, "title: DR-04\nparams: {version: '1.10', count: \"7\"}\n")

    assert document.data["params"] == {"version": "1.10", "count": "7"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7", 7),
        ("-7", -7),
        ("0o17", 15),
        ("0x1F", 31),
        ("1.5", 1.5),
        ("1e3", 1000.0),
        ("true", True),
        ("False", False),
        ("null", None),
        ("~", None),
        ("", None),
        ("yes", "yes"),
        ("NO", "NO"),
        ("0017", 17),
        ("+7", 7),
        ("1_000", "1_000"),
        ("12:30", "12:30"),
        (".", "."),
    ],
)
def test_core_scalar_follows_yaml12(text: str, expected: Any) -> None:
    value = core_scalar(text)

    assert value == expected
    assert type(value) is type(expected)


def test_str_field_keeps_number_text_as_written(tmp_path: Path) -> None:
    document = load_text(tmp_path, "title: 007\nversion: 1e3\n")

    assert document.data == {"title": "007", "version": "1e3"}


# Duplicate keys


def test_duplicate_key_names_both_lines() -> None:
    path = DATA / "duplicate-evidence-key.yaml"
    document = load_document(path, "controls/ac-07.yaml", Control)

    assert messages(document) == [
        "controls/ac-07.yaml:8:1: evidence: duplicate key 'evidence' (lines 4 and 8)"
    ]


def test_duplicate_key_never_keeps_last_value() -> None:
    document = load_document(DATA / "duplicate-evidence-key.yaml", "controls/ac-07.yaml", Control)

    evidence_ids = [spec["id"] for spec in document.data["evidence"]]
    assert evidence_ids == ["reviews"]
    assert "backups" not in evidence_ids


def test_duplicate_key_in_nested_mapping(tmp_path: Path) -> None:
    document = load_text(tmp_path, "title: x\nparams:\n  limit: 1\n  other: 2\n  limit: 3\n")

    assert messages(document) == [
        "document.yaml:5:3: params.limit: duplicate key 'limit' (lines 3 and 5)"
    ]


# Positions


def test_positions_are_one_based(tmp_path: Path) -> None:
    document = load_text(tmp_path, "title: x\njurisdictions:\n  - SE\n  - NO\n")

    assert document.position(("title",)) == (1, 8)
    assert document.position(("jurisdictions",)) == (3, 3)
    assert document.position(("jurisdictions", 1)) == (4, 5)


def test_position_falls_back_to_parent(tmp_path: Path) -> None:
    document = load_text(tmp_path, "title: x\nparams: {a: 1}\n")

    assert document.position(("params", "missing", "deeper")) == (2, 9)


def test_key_position_of_each_entry(tmp_path: Path) -> None:
    document = load_text(tmp_path, "title: x\nparams:\n  limit: 1\n")

    assert document.key_positions[("params",)] == (2, 1)
    assert document.key_positions[("params", "limit")] == (3, 3)


def test_problem_at_key_uses_key_position(tmp_path: Path) -> None:
    document = load_text(tmp_path, "title: x\nparams:\n  limit: 1\n")

    document.add(("params",), "at the key", at_key=True)
    document.add(("params",), "at the value")

    assert messages(document) == [
        "document.yaml:2:1: params: at the key",
        "document.yaml:3:3: params: at the value",
    ]


def test_dotted_renders_indexes() -> None:
    assert dotted(("evidence", 0, "with", "stanza")) == "evidence[0].with.stanza"
    assert dotted(()) == ""


# Rejected files


def test_invalid_yaml_reports_position(tmp_path: Path) -> None:
    document = load_text(tmp_path, "title: x\nversion: a: b\n")

    assert messages(document) == [
        "document.yaml:2:11: invalid YAML: mapping values are not allowed here"
    ]
    assert document.data is None


def test_unclosed_flow_sequence_is_invalid_yaml(tmp_path: Path) -> None:
    document = load_text(tmp_path, "title: x\njurisdictions: [SE, NO\n")

    assert len(document.problems) == 1
    assert document.problems[0].message.startswith("invalid YAML: ")
    assert document.problems[0].line == 3


# Values that parse as YAML but cannot be hashed as RFC 8785 JSON once the
# workspace runs, so loading reports them.


def test_lone_surrogate_escape_rejected(tmp_path: Path) -> None:
    document = load_text(tmp_path, 'title: "a\\ud800"\n')

    assert messages(document) == [
        "document.yaml:1:8: title: text contains the lone UTF-16 surrogate \\ud800, which is not "
        "a Unicode character; write the character itself"
    ]


def test_lone_surrogate_in_key_rejected(tmp_path: Path) -> None:
    document = load_text(tmp_path, 'title: x\nparams: {"\\udc00": 1}\n')

    assert messages(document) == [
        "document.yaml:2:9: params: key '\\udc00' contains the lone UTF-16 surrogate \\udc00, "
        "which is not a Unicode character; write the character itself"
    ]


def test_integer_beyond_two_to_53_rejected(tmp_path: Path) -> None:
    document = load_text(tmp_path, "title: x\nparams:\n  system_id: 9007199254740992\n")

    assert messages(document) == [
        "document.yaml:3:14: params.system_id: integer 9007199254740992 is beyond ±(2**53 - 1), "
        "the largest that canonical JSON represents exactly; quote it to keep it as text"
    ]


def test_integer_beyond_two_to_53_kept_without_model(tmp_path: Path) -> None:
    document = load_text(tmp_path, "system_id: 9007199254740992\n", model=None)

    assert document.problems == []
    assert document.data == {"system_id": 9007199254740992}


def test_float_beyond_double_rejected(tmp_path: Path) -> None:
    document = load_text(tmp_path, "title: x\nparams:\n  ratio: 1e999\n")

    assert messages(document) == [
        "document.yaml:3:10: params.ratio: number 1e999 is out of the range of a 64-bit float"
    ]


def test_integer_of_5000_digits_stays_text() -> None:
    # int() rejects more than 4300 digits with ValueError, which once escaped.
    assert core_scalar("9" * 5000) == "9" * 5000


def test_invalid_utf8_reports_position(tmp_path: Path) -> None:
    document = load_bytes(tmp_path, b"title: x\nversion: 1.\xff\n")

    assert messages(document) == ["document.yaml:2:12: invalid UTF-8; save the file as UTF-8"]


def test_invalid_utf8_column_counts_characters(tmp_path: Path) -> None:
    # "Säk" is three characters in four bytes, so the bad byte is character 11.
    document = load_bytes(tmp_path, "title: Säk".encode() + b"\xff\n")

    assert messages(document) == ["document.yaml:1:11: invalid UTF-8; save the file as UTF-8"]


def test_invalid_utf8_after_byte_order_mark(tmp_path: Path) -> None:
    document = load_bytes(tmp_path, b"\xef\xbb\xbftitle: x\nversion: \xff\n")

    assert messages(document) == ["document.yaml:2:10: invalid UTF-8; save the file as UTF-8"]


def test_byte_order_mark_is_ignored(tmp_path: Path) -> None:
    document = load_bytes(tmp_path, b"\xef\xbb\xbftitle: x\n")

    assert document.problems == []
    assert document.data == {"title": "x"}


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"])
def test_file_without_document_is_empty(tmp_path: Path, text: str) -> None:
    document = load_text(tmp_path, text, Control)

    assert messages(document) == ["document.yaml:1:1: file is empty"]
    assert document.data is None


@pytest.mark.parametrize("text", ["~\n", "---\n", "null\n"])
def test_null_document_loads_as_none(tmp_path: Path, text: str) -> None:
    # The loader reports a null document as an empty file.
    document = load_text(tmp_path, text, Control)

    assert document.problems == []
    assert document.data is None


def test_two_documents_rejected(tmp_path: Path) -> None:
    document = load_text(tmp_path, "title: a\n---\ntitle: b\n")

    assert messages(document) == ["document.yaml:1:1: expected one YAML document, found 2"]


def test_oversized_file_rejected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("assay.controls.yamlsource.MAX_FILE_BYTES", 16)
    document = load_text(tmp_path, "title: a long enough title\n")

    assert messages(document) == [
        "document.yaml:1:1: file is 27 bytes, over the 16-byte limit"
    ]


def test_unreadable_file(tmp_path: Path) -> None:
    document = load_document(tmp_path / "absent.yaml", "absent.yaml", Control)

    assert messages(document) == ["absent.yaml:1:1: cannot read file: No such file or directory"]


def alias_bomb(levels: int) -> str:
    """Build anchors where each level lists the previous one ten times: 10**levels leaves."""
    lines = ["title: bomb", "params:", "  l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, levels + 1):
        previous = f"*l{level - 1}"
        lines.append(f"  l{level}: &l{level} [{', '.join([previous] * 10)}]")
    return "\n".join(lines) + "\n"


def test_alias_bomb_rejected_quickly(tmp_path: Path) -> None:
    started = time.monotonic()
    document = load_text(tmp_path, alias_bomb(9))
    elapsed = time.monotonic() - started

    assert len(document.problems) == 1
    assert document.problems[0].message == (
        f"document expands to more than {MAX_NODES} nodes (aliases included)"
    )
    assert document.problems[0].field.startswith("params.l")
    assert document.data is None
    # A full expansion would build 10**9 nodes. The node limit stops it early, so
    # 10 seconds is a loose bound meant to fail only when the limit is not applied.
    assert elapsed < 10


def test_small_alias_expansion_accepted(tmp_path: Path) -> None:
    document = load_text(tmp_path, alias_bomb(2))

    assert document.problems == []
    assert len(document.data["params"]["l2"]) == 10
    assert document.data["params"]["l2"][0][0] == ["x"] * 10


def test_recursive_alias_rejected(tmp_path: Path) -> None:
    document = load_text(tmp_path, "title: x\nparams: &loop\n  again: *loop\n")

    assert len(document.problems) == 1
    assert document.problems[0].message == (
        f"document nests deeper than {MAX_DEPTH} levels (aliases included)"
    )
    # The anchored mapping starts at the anchor on line 2.
    assert (document.problems[0].line, document.problems[0].column) == (2, 9)


def test_deep_nesting_rejected_before_composing(tmp_path: Path) -> None:
    depth = 5000
    document = load_text(tmp_path, "title: x\nparams: {a: " + "[" * depth + "]" * depth + "}\n")

    # The mapping under params is level 2, so the first list past the limit
    # opens at column 13 + (MAX_DEPTH - 2).
    assert messages(document) == [
        f"document.yaml:2:{13 + MAX_DEPTH - 2}: document nests deeper than {MAX_DEPTH} levels"
    ]


def test_nesting_at_limit_accepted(tmp_path: Path) -> None:
    depth = MAX_DEPTH - 2
    document = load_text(tmp_path, "title: x\nparams: {a: " + "[" * depth + "]" * depth + "}\n")

    assert document.problems == []


def test_non_scalar_key_rejected(tmp_path: Path) -> None:
    document = load_text(tmp_path, "title: x\nparams: {[a, b]: 1}\n")

    assert messages(document) == ["document.yaml:2:9: params: mapping keys must be plain strings"]


def test_without_model_follows_core_schema(tmp_path: Path) -> None:
    document = load_text(tmp_path, "a: 1.10\nb: NO\nc: [true, 3]\n", model=None)

    assert document.problems == []
    assert document.data == {"a": 1.1, "b": "NO", "c": [True, 3]}


@pytest.mark.parametrize("text, expected", [
    ("title: >\n  one\n  two\n\n  three\n", "one two\nthree\n"),
    ("title: >-\n  Restore drills\n  run monthly.\n", "Restore drills run monthly."),
    ("title: >+\n  a\n  b\n\n", "a b\n\n"),
    ("title: |\n  a\n  b\n", "a\nb\n"),
    ('title: "bell \\a kept"\n', "bell \x07 kept"),
], ids=["folded", "folded-strip", "folded-keep", "literal", "double-quoted-escape"])
def test_folded_scalar_has_no_fold_marks(tmp_path: Path, text: str, expected: str) -> None:
    # ruamel.yaml marks each fold of a `>` scalar with U+0007 for its own
    # constructor to remove; the loaded text must be what YAML defines.
    document = load_text(tmp_path, text)
    assert messages(document) == []
    assert document.data["title"] == expected


def test_library_controls_load_without_fold_marks() -> None:
    from assay.catalog.scaffold import library_controls
    from assay.controls.yamlsource import load_text as load_yaml_text

    folded = [item for item in library_controls() if "description: >" in item.text]
    assert folded
    for item in folded:
        data = load_yaml_text(item.text, item.name, None).data
        assert "\x07" not in data["description"], item.name


@pytest.mark.parametrize("text, expected", [
    ("params:\n  version: !!str 1.10\n", "1.10"),
    ("params:\n  version: !!str 0x1F\n", "0x1F"),
    ("params:\n  version: 1.10\n", 1.1),
    ("params:\n  version: !!str yes\n", "yes"),
], ids=["float-text", "hex-text", "untagged-float", "word"])
def test_str_tag_keeps_plain_scalar_text(tmp_path: Path, text: str, expected: Any) -> None:
    document = load_text(tmp_path, "title: t\n" + text)
    assert messages(document) == []
    assert document.data["params"]["version"] == expected


def test_merge_key_explained(tmp_path: Path) -> None:
    document = load_text(tmp_path, "title: t\nparams:\n  base: &b {x: 1}\n  other:\n    <<: *b\n")
    assert messages(document) == [
        "document.yaml:5:5: params.other.<<: merge keys are a YAML 1.1 feature that assay does "
        "not read; write the fields out in this mapping (an anchor and alias of a whole value "
        "work)"
    ]


def test_quoted_merge_key_is_a_plain_key(tmp_path: Path) -> None:
    document = load_text(tmp_path, "title: t\nparams:\n  '<<': 1\n")
    assert messages(document) == []
    assert document.data["params"] == {"<<": 1}
