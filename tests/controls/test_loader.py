"""Tests of load_workspace on copies of examples/platform, one mutation per test."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assay.catalog.scaffold import library_controls
from assay.config import DEFAULT_LEDGER, LEDGER_ENV, WorkspaceConfig, ledger_url
from assay.controls.loader import Workspace, load_workspace
from assay.controls.yamlsource import MAX_NODES
from assay.errors import ConfigError, WorkspaceErrors
from assay.evidence.collectors.junit import JUnitParams
from assay.evidence.collectors.pgbackrest_info import PgBackRestInfoParams

REPOSITORY = Path(__file__).resolve().parents[2]
EXAMPLE = REPOSITORY / "examples" / "platform"
DATA = REPOSITORY / "tests" / "data" / "controls"

# The example's controls are the library's, in file name order.
EXAMPLE_IDS = [str(item.data["id"]) for item in library_controls()]

LATENCY = "controls/cap-01-latency.yaml"
RETENTION = "controls/bak-03-retention.yaml"
THROUGHPUT = "controls/cap-03-throughput.yaml"
DATA_ISOLATION = "controls/iso-01-data-isolation.yaml"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A fresh copy of the example workspace."""
    workspace = tmp_path / "platform"
    shutil.copytree(EXAMPLE, workspace)
    return workspace


def edit(root: Path, name: str, old: str, new: str) -> str:
    """Replace the one occurrence of `old` in a workspace file and return the new text."""
    path = root / name
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {name}"
    text = text.replace(old, new)
    path.write_text(text)
    return text


def position(text: str, needle: str) -> str:
    """Return "line:col" (both from 1) of the only occurrence of `needle` in `text`."""
    assert text.count(needle) == 1, f"{needle!r} occurs {text.count(needle)} times"
    offset = text.index(needle)
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return f"{line}:{column}"


def load_problems(root: Path) -> list[str]:
    with pytest.raises(WorkspaceErrors) as caught:
        load_workspace(root)
    return caught.value.problems


# The example workspace


def test_example_workspace_loads() -> None:
    workspace = load_workspace(EXAMPLE)

    assert isinstance(workspace, Workspace)
    assert workspace.root == EXAMPLE
    assert workspace.config.name == "Example multi-tenant API platform"
    assert len(workspace.controls) == len(EXAMPLE_IDS)
    assert [loaded.control.id for loaded in workspace.controls] == EXAMPLE_IDS


def test_example_controls_are_compiled() -> None:
    workspace = load_workspace(EXAMPLE)

    for loaded in workspace.controls:
        assert len(loaded.expressions) == len(loaded.control.assert_), loaded.source
        assert set(loaded.params) == {spec.id for spec in loaded.control.evidence}, loaded.source
        assert len(loaded.definition_sha256) == 64


def test_example_params_are_collector_models() -> None:
    by_id = {loaded.control.id: loaded for loaded in load_workspace(EXAMPLE).controls}

    backups = by_id["BAK-01"].params["backups"]
    assert isinstance(backups, PgBackRestInfoParams)
    assert backups.stanza == "corpus"
    tests = by_id["ISO-01"].params["tests"]
    assert isinstance(tests, JUnitParams)
    assert tests.select == "*data_isolation*"
    assert by_id["ISO-01"].source == DATA_ISOLATION


def test_ids_sorted_regardless_of_file_names(root: Path) -> None:
    (root / "controls" / "cap-03-throughput.yaml").rename(root / "controls" / "a-first.yaml")

    workspace = load_workspace(root)

    assert [loaded.control.id for loaded in workspace.controls] == EXAMPLE_IDS


def test_yml_extension_is_loaded(root: Path) -> None:
    (root / "controls" / "cap-03-throughput.yaml").rename(root / "controls" / "cap-03.yml")

    workspace = load_workspace(root)

    assert "controls/cap-03.yml" in [loaded.source for loaded in workspace.controls]


def test_params_digest_ignores_key_order(root: Path) -> None:
    before = load_workspace(root).params_sha256
    edit(root, "assay.yaml", "  latency_p50_ms: 1000\n", "")
    edit(root, "assay.yaml", "  backup_retention_min_days: 30\n",
         "  backup_retention_min_days: 30\n  latency_p50_ms: 1000\n")

    assert load_workspace(root).params_sha256 == before


def test_norway_control_loads(root: Path) -> None:
    shutil.copy(DATA / "nordic-replication.yaml", root / "controls" / "dr-04.yaml")
    # The policy ids are the country codes YAML 1.1 would turn into booleans.
    for code in ("SE", "NO", "DK", "FI"):
        (root / "policies" / f"{code}.md").write_text(f"---\ntitle: Policy {code}\n---\n", encoding="utf-8")

    by_id = {loaded.control.id: loaded.control for loaded in load_workspace(root).controls}

    assert by_id["DR-04"].owner == "NO"
    assert by_id["DR-04"].policies == ["SE", "NO", "DK", "FI"]


# Workspace-level problems


def test_missing_config_is_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_workspace(tmp_path)

    assert not isinstance(caught.value, WorkspaceErrors)
    assert str(caught.value) == (
        f"{tmp_path / 'assay.yaml'}: not found; is {tmp_path} an assay workspace?"
    )


def test_no_control_files(root: Path) -> None:
    shutil.rmtree(root / "controls")

    assert load_problems(root) == ["controls/: no control files (*.yaml) found"]


def test_problems_across_files_reported_together(root: Path) -> None:
    config = edit(root, "assay.yaml", "scope: production", "scop: production")
    latency = edit(root, LATENCY, "collector: k6.summary", "collector: k6.sumary")
    retention = edit(root, RETENTION, "criteria: [A1.2, A1.3]", "criteria: [A1.2, CC99]")

    with pytest.raises(WorkspaceErrors) as caught:
        load_workspace(root)
    problems = caught.value.problems

    assert (
        f"assay.yaml:{position(config, 'scop:')}: scop: unknown field (did you mean 'scope'?)"
    ) in problems
    assert (
        f"{LATENCY}:{position(latency, 'k6.sumary')}: evidence[0].collector: "
        "unknown collector 'k6.sumary' (did you mean 'k6.summary'?)"
    ) in problems
    assert (
        f"{RETENTION}:{position(retention, '[A1.2, CC99]')}: criteria: "
        "'CC99' is not a SOC 2 criterion id such as CC6.1 or A1.2"
    ) in problems
    assert len(problems) == 3
    assert str(caught.value).startswith("3 problems in the workspace:\n")


def test_one_problem_message_is_singular(root: Path) -> None:
    edit(root, LATENCY, "collector: k6.summary", "collector: k6.sumary")

    with pytest.raises(WorkspaceErrors) as caught:
        load_workspace(root)

    assert str(caught.value).startswith("1 problem in the workspace:\n")


def test_unknown_collector(root: Path) -> None:
    text = edit(root, "controls/bak-01-full-backup.yaml",
                "collector: pgbackrest.info", "collector: pgbackrest.inf")

    assert load_problems(root) == [
        f"controls/bak-01-full-backup.yaml:{position(text, 'pgbackrest.inf')}: "
        "evidence[0].collector: unknown collector 'pgbackrest.inf' "
        "(did you mean 'pgbackrest.info'?)"
    ]


def test_unknown_collector_position_is_value() -> None:
    # Line 8 of bak-01 is "    collector: pgbackrest.info": the value starts at column 16.
    text = (EXAMPLE / "controls" / "bak-01-full-backup.yaml").read_text()

    assert position(text, "pgbackrest.info") == "8:16"


def test_duplicate_control_id(root: Path) -> None:
    shutil.copy(root / "controls" / "bak-01-full-backup.yaml", root / "controls" / "zz-copy.yaml")

    assert load_problems(root) == [
        "controls/zz-copy.yaml:1:5: id: duplicate control id 'BAK-01', "
        "also in controls/bak-01-full-backup.yaml"
    ]


def test_controls_checked_despite_config_problem(root: Path) -> None:
    config = edit(root, "assay.yaml", "categories: [security, availability]",
                  "categories: [security, avail]")
    text = edit(root, THROUGHPUT, "k6.requests_per_second", "k6s.requests_per_second")

    problems = load_problems(root)

    assert len(problems) == 2
    assert problems[0].startswith(f"assay.yaml:{position(config, 'avail]')}: categories[1]: ")
    assert problems[1].startswith(
        f"{THROUGHPUT}:{position(text, 'k6s.requests')}: assert[0].expr: "
        "'k6s.requests_per_second' names no evidence id of this control"
    )


# Control file shape


def test_empty_control_file(root: Path) -> None:
    (root / "controls" / "empty.yaml").write_text("")

    assert load_problems(root) == ["controls/empty.yaml:1:1: file is empty"]


def test_null_control_file(root: Path) -> None:
    (root / "controls" / "empty.yaml").write_text("~\n")

    assert load_problems(root) == ["controls/empty.yaml:1:1: file is empty"]


def test_control_file_that_is_list(root: Path) -> None:
    (root / "controls" / "list.yaml").write_text("- id: BK-09\n  title: A list\n")

    assert load_problems(root) == [
        "controls/list.yaml:1:1: expected a mapping of fields, got a list"
    ]


def test_control_file_that_is_text(root: Path) -> None:
    (root / "controls" / "text.yaml").write_text("just a sentence\n")

    assert load_problems(root) == [
        "controls/text.yaml:1:1: expected a mapping of fields, got text"
    ]


def test_unknown_field_suggests_name(root: Path) -> None:
    text = edit(root, THROUGHPUT, "assert:", "asert:")

    assert load_problems(root) == [
        f"{THROUGHPUT}:{position(text, 'asert:')}: asert: unknown field (did you mean 'assert'?)"
    ]


def test_unknown_field_without_close_name(root: Path) -> None:
    text = edit(root, THROUGHPUT, "criteria: [A1.1]", "criteria: [A1.1]\nfrequency: daily")

    assert load_problems(root) == [
        f"{THROUGHPUT}:{position(text, 'frequency:')}: frequency: unknown field"
    ]


def test_unknown_field_in_evidence(root: Path) -> None:
    text = edit(root, THROUGHPUT, "    with: {path", "    query: rps\n    with: {path")

    assert load_problems(root) == [
        f"{THROUGHPUT}:{position(text, 'query:')}: evidence[0].query: unknown field"
    ]


def test_missing_required_field(root: Path) -> None:
    edit(root, THROUGHPUT, "title: API sustains the target request rate\n", "")

    assert load_problems(root) == [f"{THROUGHPUT}:1:1: title: required field is missing"]


def test_bad_criterion(root: Path) -> None:
    text = edit(root, THROUGHPUT, "criteria: [A1.1]", "criteria: [CC99]")

    assert load_problems(root) == [
        f"{THROUGHPUT}:{position(text, '[CC99]')}: criteria: "
        "'CC99' is not a SOC 2 criterion id such as CC6.1 or A1.2"
    ]


def test_bad_max_age(root: Path) -> None:
    text = edit(root, RETENTION, "max_age: 26h", "max_age: 26 hours")

    assert load_problems(root) == [
        f"{RETENTION}:{position(text, '26 hours')}: max_age: invalid duration '26 hours'; "
        "write a number and a unit: 90s, 30m, 26h, 7d, 2w"
    ]


def test_bad_control_id(root: Path) -> None:
    edit(root, THROUGHPUT, "id: CAP-03", "id: lt03")

    problems = load_problems(root)

    assert len(problems) == 1
    assert problems[0].startswith(f"{THROUGHPUT}:1:5: id: String should match pattern")


def test_bad_gate(root: Path) -> None:
    text = edit(root, THROUGHPUT, "criteria: [A1.1]", "criteria: [A1.1]\ngate: no")

    assert load_problems(root) == [
        f"{THROUGHPUT}:{position(text, 'no')}: gate: Input should be 'fail' or 'warn'"
    ]


def test_duplicate_key_in_control(root: Path) -> None:
    shutil.copy(DATA / "duplicate-evidence-key.yaml", root / "controls" / "ac-07.yaml")

    problems = load_problems(root)

    assert len(problems) == 1
    assert "duplicate key 'evidence' (lines 4 and 8)" in problems[0]
    assert problems[0] == (
        "controls/ac-07.yaml:8:1: evidence: duplicate key 'evidence' (lines 4 and 8)"
    )


def test_invalid_yaml_in_control(root: Path) -> None:
    text = edit(root, THROUGHPUT, "title: API sustains", "title: API: sustains")

    problems = load_problems(root)

    line, column = position(text, ": sustains").split(":")
    assert problems == [f"{THROUGHPUT}:{line}:{column}: invalid YAML: mapping values are not "
                        "allowed here"]


def test_invalid_utf8_in_control(root: Path) -> None:
    path = root / THROUGHPUT
    path.write_bytes(path.read_bytes().replace(b"API sustains", b"API \xfesustains"))

    assert load_problems(root) == [f"{THROUGHPUT}:2:12: invalid UTF-8; save the file as UTF-8"]


def test_alias_bomb_in_control(root: Path) -> None:
    anchors = ["    l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 9):
        anchors.append(f"    l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * 10)}]")
    edit(root, THROUGHPUT, "    with: {path: inputs/k6-summary.json}",
         "    with:\n      path: inputs/k6-summary.json\n      bomb:\n" + "\n".join(
             "  " + line for line in anchors))

    problems = load_problems(root)

    assert len(problems) == 1
    assert problems[0].endswith(
        f"document expands to more than {MAX_NODES} nodes (aliases included)"
    )
    assert problems[0].startswith(f"{THROUGHPUT}:")


# Evidence and collector parameters


def test_junit_path_number_asks_for_quotes(root: Path) -> None:
    text = edit(root, "controls/chg-01-ci-tests.yaml",
                'with: {path: "inputs/junit-ci*.xml"}', "with: {path: 1.10}")

    assert load_problems(root) == [
        f"controls/chg-01-ci-tests.yaml:{position(text, '1.10')}: "
        "evidence[0].with.path: expected text, got 1.1; quote the value to keep it as written "
        "(YAML reads an unquoted 1.10 as the number 1.1)"
    ]


def test_junit_quoted_path_is_text(root: Path) -> None:
    edit(root, "controls/chg-01-ci-tests.yaml",
         'with: {path: "inputs/junit-ci*.xml"}', "with: {path: '1.10'}")

    by_id = {loaded.control.id: loaded for loaded in load_workspace(root).controls}

    assert by_id["CHG-01"].params["tests"].path == "1.10"  # type: ignore[attr-defined]


def test_pgbackrest_missing_stanza(root: Path) -> None:
    text = edit(root, "controls/bak-01-full-backup.yaml",
                "with: {path: inputs/pgbackrest-info.json, stanza: corpus}",
                "with: {path: inputs/pgbackrest-info.json}")

    assert load_problems(root) == [
        f"controls/bak-01-full-backup.yaml:{position(text, '{path')}: "
        "evidence[0].with.stanza: required field is missing"
    ]


def test_collector_unknown_param_suggests_name(root: Path) -> None:
    text = edit(root, THROUGHPUT, "with: {path: inputs", "with: {paht: inputs")

    assert load_problems(root) == [
        f"{THROUGHPUT}:{position(text, '{paht')}: evidence[0].with.path: "
        "required field is missing",
        f"{THROUGHPUT}:{position(text, 'paht')}: evidence[0].with.paht: "
        "unknown field (did you mean 'path'?)",
    ]


def test_evidence_id_params_reserved(root: Path) -> None:
    text = edit(root, THROUGHPUT, "  - id: k6", "  - id: params")
    edit(root, THROUGHPUT, "k6.requests_per_second", "params.throughput_min_rps")

    where = position(text, "params\n")
    assert load_problems(root) == [
        f"{THROUGHPUT}:{where}: evidence[0].id: "
        "'params' is reserved for the workspace params"
    ]


def test_duplicate_evidence_id(root: Path) -> None:
    text = edit(root, THROUGHPUT, "    with: {path: inputs/k6-summary.json}\n",
                "    with: {path: inputs/k6-summary.json}\n"
                "  - id: k6\n    collector: k6.summary\n    with: {path: inputs/other.json}\n")

    line = text.splitlines().index("  - id: k6", 6) + 1
    assert load_problems(root) == [
        f"{THROUGHPUT}:{line}:9: evidence[1].id: duplicate evidence id 'k6'"
    ]


def test_control_without_evidence(root: Path) -> None:
    path = root / "controls" / "na.yaml"
    path.write_text("id: NA-01\ntitle: Not in scope yet\ncriteria: [CC1.1]\n")

    assert load_problems(root) == [
        "controls/na.yaml:1:1: evidence: "
        "a control needs evidence, or not_applicable with a justification"
    ]


# Assertions


def test_bad_cel_syntax(root: Path) -> None:
    text = edit(root, THROUGHPUT, "expr: k6.requests_per_second > params.throughput_min_rps",
                "expr: k6.requests_per_second >")

    problems = load_problems(root)

    assert len(problems) == 1
    prefix = f"{THROUGHPUT}:{position(text, 'k6.requests')}: assert[0].expr: "
    assert problems[0].startswith(prefix + "invalid CEL:")
    assert problems[0].endswith("(at character 25 of the expression)")


def test_cel_unexpected_character(root: Path) -> None:
    text = edit(root, THROUGHPUT, "k6.requests_per_second > params",
                "k6.requests_per_second @ params")

    assert load_problems(root) == [
        f"{THROUGHPUT}:{position(text, 'k6.requests')}: assert[0].expr: "
        "invalid CEL: unexpected character '@' (at character 24 of the expression)"
    ]


def test_evidence_id_typo_suggests_declared(root: Path) -> None:
    text = edit(root, RETENTION, "expr: backups.retention_days", "expr: backup.retention_days")

    assert load_problems(root) == [
        f"{RETENTION}:{position(text, 'backup.retention')}: assert[0].expr: "
        "'backup.retention_days' names no evidence id of this control "
        "(did you mean 'backups'?); declared: backups"
    ]


def test_macro_variable_used_outside_macro(root: Path) -> None:
    text = edit(root, THROUGHPUT, "params.throughput_min_rps",
                "params.throughput_min_rps && [1].all(r, r > 0) && r > 0")

    assert load_problems(root) == [
        f"{THROUGHPUT}:{position(text, 'k6.requests')}: assert[0].expr: "
        "'r' names no evidence id of this control; declared: k6"
    ]


def test_unknown_param(root: Path) -> None:
    text = edit(root, THROUGHPUT, "params.throughput_min_rps", "params.nope")

    assert load_problems(root) == [
        f"{THROUGHPUT}:{position(text, 'k6.requests')}: assert[0].expr: "
        "unknown param 'nope' in assay.yaml"
    ]


def test_unknown_param_suggests_name(root: Path) -> None:
    text = edit(root, THROUGHPUT, "params.throughput_min_rps", "params.throughput_min_rp")

    assert load_problems(root) == [
        f"{THROUGHPUT}:{position(text, 'k6.requests')}: assert[0].expr: "
        "unknown param 'throughput_min_rp' in assay.yaml (did you mean 'throughput_min_rps'?)"
    ]


def test_param_index_form_checked(root: Path) -> None:
    edit(root, THROUGHPUT, "params.throughput_min_rps", 'params["nope"]')

    problems = load_problems(root)

    assert len(problems) == 1
    assert problems[0].endswith("unknown param 'nope' in assay.yaml")


def test_evidence_without_assertion(root: Path) -> None:
    edit(root, THROUGHPUT,
         "assert:\n  - name: throughput above target\n"
         "    expr: k6.requests_per_second > params.throughput_min_rps\n", "")

    assert load_problems(root) == [
        f"{THROUGHPUT}:1:1: assert: a control with evidence needs at least one assertion"
    ]


def test_comment_in_expression_is_accepted(root: Path) -> None:
    edit(root, THROUGHPUT, "expr: k6.requests_per_second > params.throughput_min_rps",
         "expr: |\n      k6.requests_per_second > params.throughput_min_rps  // don't lower it")

    by_id = {loaded.control.id: loaded for loaded in load_workspace(root).controls}

    assert [ref.text for ref in by_id["CAP-03"].expressions[0].references] == [
        "k6.requests_per_second",
        "params.throughput_min_rps",
    ]


# ledger_url


def test_ledger_default_is_in_workspace(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(LEDGER_ENV, raising=False)
    config = WorkspaceConfig(name="x")

    assert ledger_url(root, config, None) == f"sqlite:///{root / DEFAULT_LEDGER}"


def test_ledger_precedence(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = WorkspaceConfig(name="x", ledger="sqlite:////srv/config.db")
    monkeypatch.setenv(LEDGER_ENV, "sqlite:////srv/env.db")

    assert ledger_url(root, config, "sqlite:////srv/option.db") == "sqlite:////srv/option.db"
    assert ledger_url(root, config, None) == "sqlite:////srv/env.db"
    monkeypatch.delenv(LEDGER_ENV)
    assert ledger_url(root, config, None) == "sqlite:////srv/config.db"


def test_ledger_relative_sqlite_path(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(LEDGER_ENV, raising=False)
    config = WorkspaceConfig(name="x", ledger="sqlite:///evidence/other.db")

    assert ledger_url(root, config, None) == f"sqlite:///{root / 'evidence/other.db'}"


def test_ledger_other_urls_unchanged(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(LEDGER_ENV, raising=False)
    config = WorkspaceConfig(name="x")

    assert ledger_url(root, config, "sqlite:///:memory:") == "sqlite:///:memory:"
    assert ledger_url(root, config, "postgresql://db/assay") == "postgresql://db/assay"


def test_unknown_criterion_rejected(root: Path) -> None:
    path = root / LATENCY
    path.write_text(path.read_text(encoding="utf-8").replace("criteria: [A1.1]", "criteria: [A1.9]"),
                    encoding="utf-8")
    problems = load_problems(root)
    matching = [p for p in problems if "criteria[0]: 'A1.9' is not a SOC 2 criterion" in p]
    assert len(matching) == 1, problems
    assert matching[0].startswith(f"{LATENCY}:")


def test_cited_policy_missing_rejected(root: Path) -> None:
    path = root / "controls" / "bak-04-recovery-point.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("policies: [backup-and-recovery]",
                                                             "policies: [backup-and-recovery-2]"),
                    encoding="utf-8")
    problems = load_problems(root)
    assert any("policies[0]: cites policy 'backup-and-recovery-2', which is not in policies/ "
               "(did you mean 'backup-and-recovery'?)" in p for p in problems), problems


def test_malformed_policy_front_matter_rejected(root: Path) -> None:
    (root / "policies" / "broken.md").write_text("---\ntitle: a\ntitle: b\n---\n", encoding="utf-8")
    problems = load_problems(root)
    assert "policies/broken.md:3:1: title: duplicate key 'title' (lines 2 and 3)" in problems


@pytest.mark.parametrize(("old", "new", "message"), [
    ("throughput_min_rps: 100", "throughput_min_rps: lots",
     "params.throughput_min_rps: expected a number, as the library's controls read it "
     "(default 100), not 'lots'"),
    ("throughput_min_rps: 100", "throughput_min_rps: true",
     "params.throughput_min_rps: expected a number, as the library's controls read it "
     "(default 100), not True"),
    ("tenant_roles: [tenant-reader, tenant-writer, tenant-admin]", "tenant_roles: tenant-reader",
     "params.tenant_roles: expected a list, as the library's controls read it (default "
     "['tenant-reader', 'tenant-writer', 'tenant-admin']), not 'tenant-reader'"),
])
def test_library_param_of_another_kind(root: Path, old: str, new: str, message: str):
    edit(root, "assay.yaml", old, new)

    with pytest.raises(WorkspaceErrors) as raised:
        load_workspace(root)

    assert len(raised.value.problems) == 1
    assert raised.value.problems[0].startswith("assay.yaml:")
    assert raised.value.problems[0].endswith(message)


def test_library_param_float_for_int_accepted(root: Path):
    edit(root, "assay.yaml", "throughput_min_rps: 100", "throughput_min_rps: 150.5")

    assert load_workspace(root).config.params["throughput_min_rps"] == 150.5
