"""The CI gate end to end: `assay check`, `baseline`, `schema controls`, `diff`, the example
GitHub workflow and the pre-commit hook."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
import xmlschema
from ruamel.yaml import YAML
from typer.testing import CliRunner, Result

from assay import keys
from assay.cli import app
from assay.controls.model import duration_seconds
from assay.controls.schema import DURATION_PATTERN

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "platform"
SCHEMAS = REPO / "tests" / "data" / "schemas"
NOW = "2026-12-04T21:15:00Z"
BLESSED_AT = "2026-12-04T21:20:00Z"
# Controls of the example that pass at NOW.
PASSING = (
    "cap-01-latency.yaml",
    "bak-01-full-backup.yaml",
    "dr-01-recovery-time.yaml",
    "pol-01-information-security.yaml",
)
SLOW_P99_MS = 6000.25


def copy_example(target: Path, controls: tuple[str, ...] | None = None) -> Path:
    """Copy the example workspace (only `controls` when given) without key, ledger or packs."""
    shutil.copytree(EXAMPLE, target, ignore=shutil.ignore_patterns("evidence", "reports", ".assay"))
    if controls is not None:
        for path in (target / "controls").glob("*.yaml"):
            if path.name not in controls:
                path.unlink()
    return target


def invoke(runner: CliRunner, *args: str, env: dict[str, str] | None = None) -> Result:
    return runner.invoke(app, list(args), env=env)


def slow_down_p99(workspace: Path) -> None:
    path = workspace / "inputs" / "k6-summary.json"
    summary = json.loads(path.read_text(encoding="utf-8"))
    summary["metrics"]["http_req_duration"]["p(99)"] = SLOW_P99_MS
    path.write_text(json.dumps(summary), encoding="utf-8")


def line_of_text(path: Path, text: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, start=1) if text in line)


def git(repo: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Test",
        "GIT_AUTHOR_EMAIL": "test@example.invalid",
        "GIT_COMMITTER_NAME": "Test",
        "GIT_COMMITTER_EMAIL": "test@example.invalid",
    }
    done = subprocess.run(
        ["git", "-C", str(repo), *args], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


@pytest.fixture(scope="module")
def junit_schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(SCHEMAS / "junit-10.xsd"))


@pytest.fixture(scope="module")
def sarif_validator() -> jsonschema.Draft4Validator:
    return jsonschema.Draft4Validator(json.loads((SCHEMAS / "sarif-2.1.0.json").read_bytes()))


@pytest.fixture
def git_workspace(tmp_path: Path) -> tuple[Path, Path]:
    """A git repository whose `compliance/` folder is a workspace of passing controls, with a key."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    workspace = copy_example(repo / "compliance", PASSING)
    keys.generate(workspace / ".assay")
    (repo / ".gitignore").write_text(
        "compliance/evidence/\ncompliance/reports/\ncompliance/.assay/\n", encoding="utf-8"
    )
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "Add the compliance workspace")
    return repo, workspace


# The gate, end to end ------------------------------------------------------------------------


def test_gate_through_git_repository(
    runner: CliRunner,
    git_workspace: tuple[Path, Path],
    tmp_path: Path,
    junit_schema: xmlschema.XMLSchema,
    sarif_validator: jsonschema.Draft4Validator,
) -> None:
    repo, workspace = git_workspace
    ws = str(workspace)
    control = workspace / "controls" / "cap-01-latency.yaml"
    config = workspace / "assay.yaml"
    k6_input = workspace / "inputs" / "k6-summary.json"
    original_k6 = k6_input.read_bytes()
    original_config = config.read_bytes()

    # A passing run, recorded and blessed.
    ran = invoke(runner, "run", ws, "--now", NOW, "--no-pack")
    assert ran.exit_code == 0, ran.output
    blessed = invoke(
        runner,
        "baseline",
        "bless",
        ws,
        "--now",
        BLESSED_AT,
        "--out",
        str(workspace / "baseline.json"),
    )
    assert blessed.exit_code == 0, blessed.output
    assert "4 controls (pass 4)" in blessed.output
    baseline = json.loads((workspace / "baseline.json").read_text(encoding="utf-8"))
    assert baseline["git_commit"] == git(repo, "rev-parse", "HEAD")
    clean = invoke(runner, "check", ws, "--now", NOW)
    assert clean.exit_code == 0, clean.output
    assert "gate passed" in clean.output

    # An input change that breaks CAP-01 is a regression.
    slow_down_p99(workspace)
    junit_path = tmp_path / "reports" / "assay-junit.xml"
    sarif_path = tmp_path / "reports" / "assay.sarif"
    broken = invoke(
        runner,
        "check",
        ws,
        "--now",
        NOW,
        "--output",
        f"junit={junit_path}",
        "--output",
        f"sarif={sarif_path}",
    )
    assert broken.exit_code == 1, broken.output
    assert "blocks: regression: pass in the baseline, fail now" in broken.output
    assert f"k6.p99_ms = {SLOW_P99_MS}" in broken.output

    junit_schema.validate(str(junit_path))
    cases = {
        case.get("name", "").split()[0]: case
        for case in ET.parse(junit_path).getroot().iter("testcase")
    }
    assert cases["CAP-01"].find("failure") is not None
    assert [name for name, case in cases.items() if len(case)] == ["CAP-01"]

    sarif = json.loads(sarif_path.read_text(encoding="utf-8"))
    assert list(sarif_validator.iter_errors(sarif)) == []
    results = sarif["runs"][0]["results"]
    assert [result["ruleId"] for result in results] == ["CAP-01"]
    location = results[0]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "compliance/controls/cap-01-latency.yaml"
    assert location["region"]["startLine"] == line_of_text(
        control, "k6.p99_ms < params.latency_p99_ms"
    )
    k6_input.write_bytes(original_k6)

    # Deleting a control fails the gate.
    removed_text = control.read_bytes()
    control.unlink()
    removed = invoke(runner, "check", ws, "--now", NOW)
    assert removed.exit_code == 1, removed.output
    assert "blocks: removed since the baseline, where it was pass" in removed.output
    control.write_bytes(removed_text)

    # Lowering a threshold is a definition change, although CAP-01 still passes.
    config.write_text(
        original_config.decode().replace("latency_p99_ms: 5000", "latency_p99_ms: 4000"),
        encoding="utf-8",
    )
    lowered = invoke(runner, "check", ws, "--now", NOW, "--format", "json")
    assert lowered.exit_code == 1, lowered.output
    document = json.loads(lowered.stdout)
    lt01 = next(item for item in document["controls"] if item["id"] == "CAP-01")
    assert lt01["status"] == "pass"
    assert lt01["gate_reasons"] == [
        "definition changed since the baseline: params.latency_p99_ms (5000 -> 4000)"
    ]

    # The fix: the threshold is back, and the gate passes again.
    config.write_bytes(original_config)
    fixed = invoke(runner, "check", ws, "--now", NOW)
    assert fixed.exit_code == 0, fixed.output

    # A change the team accepts passes once a run of it is blessed.
    config.write_text(
        original_config.decode().replace("latency_p99_ms: 5000", "latency_p99_ms: 4000"),
        encoding="utf-8",
    )
    assert invoke(runner, "run", ws, "--now", NOW, "--no-pack").exit_code == 0
    assert invoke(runner, "baseline", "bless", ws, "--now", BLESSED_AT).exit_code == 0
    accepted = invoke(runner, "check", ws, "--now", NOW)
    assert accepted.exit_code == 0, accepted.output


def test_check_records_nothing(runner: CliRunner, tmp_path: Path) -> None:
    workspace = copy_example(tmp_path / "ws", PASSING)

    result = invoke(runner, "check", str(workspace), "--now", NOW)

    assert result.exit_code == 0, result.output
    assert not (workspace / "evidence").exists()
    assert not (workspace / "reports").exists()
    assert "baseline: none blessed for scope production" in result.output


def test_check_leaves_ledger_and_blobs_alone(runner: CliRunner, tmp_path: Path) -> None:
    workspace = copy_example(tmp_path / "ws", PASSING)
    keys.generate(workspace / ".assay")
    assert invoke(runner, "run", str(workspace), "--now", NOW, "--no-pack").exit_code == 0
    log_before = invoke(runner, "ledger", "log", str(workspace)).output
    blobs_before = sorted(p.name for p in (workspace / "evidence" / "blobs").rglob("*"))
    slow_down_p99(workspace)

    result = invoke(runner, "check", str(workspace), "--now", NOW)

    assert result.exit_code == 1, result.output
    assert invoke(runner, "ledger", "log", str(workspace)).output == log_before
    assert sorted(p.name for p in (workspace / "evidence" / "blobs").rglob("*")) == blobs_before
    assert not (workspace / "reports").exists()


def test_check_from_ledger_replays_latest_run(runner: CliRunner, tmp_path: Path) -> None:
    workspace = copy_example(tmp_path / "ws", PASSING)
    keys.generate(workspace / ".assay")
    assert invoke(runner, "run", str(workspace), "--now", NOW, "--no-pack").exit_code == 0
    slow_down_p99(workspace)

    result = invoke(runner, "check", str(workspace), "--from-ledger", "--format", "json")

    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["source"] == "ledger"
    assert document["now"] == "2026-12-04T21:15:00.000000Z"
    assert document["summary"]["statuses"] == {"pass": 4}


def test_check_strict_fails_known_failure(runner: CliRunner, tmp_path: Path) -> None:
    workspace = copy_example(tmp_path / "ws", (*PASSING, "cap-02-error-rate.yaml"))
    keys.generate(workspace / ".assay")
    assert invoke(runner, "run", str(workspace), "--now", NOW, "--no-pack").exit_code == 0
    assert invoke(runner, "baseline", "bless", str(workspace), "--allow-failures").exit_code == 0

    tolerant = invoke(runner, "check", str(workspace), "--from-ledger")
    strict = invoke(runner, "check", str(workspace), "--from-ledger", "--strict")

    assert tolerant.exit_code == 0, tolerant.output
    assert strict.exit_code == 1, strict.output
    assert "blocks: fail, and --strict fails every control that is not met" in strict.output


WAIVER = """\
control: CAP-02
scope: production
justification: The error budget of the load test is being renegotiated.
owner: platform-team
approver: head-of-engineering
created: 2026-12-01
expires: "2026-12-31T00:00:00Z"
remediation: Retry idempotent requests once before reporting an error.
"""


def test_check_applies_waiver_in_force(runner: CliRunner, tmp_path: Path) -> None:
    workspace = copy_example(tmp_path / "ws", ("cap-01-latency.yaml", "cap-02-error-rate.yaml"))
    (workspace / "waivers").mkdir()
    (workspace / "waivers" / "cap-02.yaml").write_text(WAIVER, encoding="utf-8")

    waived = invoke(runner, "check", str(workspace), "--now", NOW, "--format", "json")
    expired = invoke(runner, "check", str(workspace), "--now", "2027-01-02T00:00:00Z")

    assert waived.exit_code == 0, waived.output
    statuses = {item["id"]: item["status"] for item in json.loads(waived.stdout)["controls"]}
    assert statuses == {"CAP-01": "pass", "CAP-02": "waived"}
    assert expired.exit_code == 1, expired.output
    assert "blocks: fail, and no baseline is blessed for this scope" in expired.output


def test_check_baseline_file(runner: CliRunner, tmp_path: Path) -> None:
    workspace = copy_example(tmp_path / "ws", PASSING)
    keys.generate(workspace / ".assay")
    baseline = tmp_path / "baseline.json"
    assert invoke(runner, "run", str(workspace), "--now", NOW, "--no-pack").exit_code == 0
    assert (
        invoke(runner, "baseline", "bless", str(workspace), "--out", str(baseline)).exit_code == 0
    )
    shutil.rmtree(workspace / "evidence")
    slow_down_p99(workspace)

    result = invoke(runner, "check", str(workspace), "--now", NOW, "--baseline", str(baseline))

    assert result.exit_code == 1, result.output
    assert f"baseline: {baseline}" in result.output
    assert "regression: pass in the baseline, fail now" in result.output


def test_check_baseline_file_of_other_scope(runner: CliRunner, tmp_path: Path) -> None:
    workspace = copy_example(tmp_path / "ws", PASSING)
    keys.generate(workspace / ".assay")
    baseline = tmp_path / "baseline.json"
    assert invoke(runner, "run", str(workspace), "--now", NOW, "--no-pack").exit_code == 0
    assert (
        invoke(runner, "baseline", "bless", str(workspace), "--out", str(baseline)).exit_code == 0
    )

    result = invoke(
        runner, "check", str(workspace), "--scope", "staging", "--baseline", str(baseline)
    )

    assert result.exit_code == 2
    assert (
        "the baseline is of scope 'production', and this check is of scope 'staging'"
        in result.output
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--format", "xml"), "--format 'xml': choose one of human, json, junit, sarif, github"),
        (("--output", "junit"), "--output 'junit': write FORMAT=PATH"),
        (("--output", "pdf=out.pdf"), "unknown format 'pdf'"),
        (
            ("--output", "json=a.json", "--output", "junit=a.json"),
            "a.json is named by another --output",
        ),
        (("--from-ledger",), "has no ledger yet; run `assay run` first"),
        (("--baseline", "absent.json"), "absent.json: cannot read the baseline"),
    ],
)
def test_check_usage_errors_exit_2(
    runner: CliRunner, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    workspace = copy_example(tmp_path / "ws", PASSING)

    result = invoke(runner, "check", str(workspace), "--now", NOW, *args)

    assert result.exit_code == 2
    assert message in result.output


def test_check_invalid_workspace_exits_2(runner: CliRunner, tmp_path: Path) -> None:
    workspace = copy_example(tmp_path / "ws", PASSING)
    (workspace / "controls" / "bad.yaml").write_text("id: BAD-01\n", encoding="utf-8")

    result = invoke(runner, "check", str(workspace), "--now", NOW)

    assert result.exit_code == 2
    assert "controls/bad.yaml" in result.output


# baseline and diff --------------------------------------------------------------------------


def test_baseline_show_human_and_json(runner: CliRunner, tmp_path: Path) -> None:
    workspace = copy_example(tmp_path / "ws", PASSING)
    keys.generate(workspace / ".assay")
    assert invoke(runner, "run", str(workspace), "--now", NOW, "--no-pack").exit_code == 0
    assert invoke(runner, "baseline", "bless", str(workspace), "--now", BLESSED_AT).exit_code == 0

    human = invoke(runner, "baseline", "show", str(workspace))
    as_json = invoke(runner, "baseline", "show", str(workspace), "--format", "json")

    assert human.exit_code == 0, human.output
    assert "baseline of scope production: ledger record seq" in human.output
    assert "blessed 2026-12-04T21:20:00.000000Z" in human.output
    document = json.loads(as_json.stdout)
    assert document["format"] == "assay.baseline"
    assert sorted(document["controls"]) == ["BAK-01", "CAP-01", "DR-01", "POL-01"]


def test_baseline_show_without_baseline_exits_2(runner: CliRunner, tmp_path: Path) -> None:
    workspace = copy_example(tmp_path / "ws", PASSING)
    keys.generate(workspace / ".assay")
    assert invoke(runner, "run", str(workspace), "--now", NOW, "--no-pack").exit_code == 0

    result = invoke(runner, "baseline", "show", str(workspace))

    assert result.exit_code == 2
    assert "no baseline is blessed for scope 'production'" in result.output


def test_baseline_bless_without_ledger_exits_2(runner: CliRunner, tmp_path: Path) -> None:
    workspace = copy_example(tmp_path / "ws", PASSING)

    result = invoke(runner, "baseline", "bless", str(workspace))

    assert result.exit_code == 2
    assert "has no ledger yet; run `assay run` first" in result.output
    assert not (workspace / "evidence").exists()


def test_baseline_bless_untrusted_key_exits_2(runner: CliRunner, tmp_path: Path) -> None:
    workspace = copy_example(tmp_path / "ws", PASSING)
    keys.generate(workspace / ".assay")
    assert invoke(runner, "run", str(workspace), "--now", NOW, "--no-pack").exit_code == 0
    other, _public = keys.generate(tmp_path / "other")

    result = invoke(runner, "baseline", "bless", str(workspace), "--key", str(other))

    assert result.exit_code == 2
    assert "is not among the trusted keys" in result.output


def test_diff_previous_latest(runner: CliRunner, tmp_path: Path) -> None:
    workspace = copy_example(tmp_path / "ws", PASSING)
    keys.generate(workspace / ".assay")
    assert invoke(runner, "run", str(workspace), "--now", NOW, "--no-pack").exit_code == 0
    slow_down_p99(workspace)
    assert invoke(runner, "run", str(workspace), "--now", NOW, "--no-pack").exit_code == 0

    human = invoke(runner, "diff", "previous", "latest", str(workspace))
    as_json = invoke(runner, "diff", "previous", "latest", str(workspace), "--format", "json")

    assert human.exit_code == 0, human.output
    assert "CAP-01:" in human.output
    assert f"k6.p99_ms: 96.98411832017293 -> {SLOW_P99_MS}" in human.output
    assert "1 of 4 controls changed" in human.output
    document = json.loads(as_json.stdout)
    assert [item["control"] for item in document["controls"]] == ["CAP-01"]
    assert document["controls"][0]["status_before"] == "pass"
    assert document["controls"][0]["status_after"] == "fail"


def test_diff_unknown_run_exits_2(runner: CliRunner, tmp_path: Path) -> None:
    workspace = copy_example(tmp_path / "ws", PASSING)
    keys.generate(workspace / ".assay")
    assert invoke(runner, "run", str(workspace), "--now", NOW, "--no-pack").exit_code == 0

    result = invoke(runner, "diff", "latest", "ffffffff", str(workspace))

    assert result.exit_code == 2
    assert "no run in the ledger has an id starting with 'ffffffff'" in result.output


# schema -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def control_validator() -> jsonschema.Draft202012Validator:
    result = CliRunner().invoke(app, ["schema", "controls"])
    assert result.exit_code == 0, result.output
    schema = json.loads(result.stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def plain_yaml(path: Path) -> object:
    return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    "path", sorted((EXAMPLE / "controls").glob("*.yaml")), ids=lambda p: p.name
)
def test_schema_accepts_example_control(
    control_validator: jsonschema.Draft202012Validator, path: Path
) -> None:
    errors = [
        f"{list(e.absolute_path)}: {e.message}"
        for e in control_validator.iter_errors(plain_yaml(path))
    ]

    assert errors == []


def test_schema_yaml_names_and_descriptions(
    control_validator: jsonschema.Draft202012Validator,
) -> None:
    schema = control_validator.schema

    assert "assert" in schema["properties"]
    assert "assert_" not in schema["properties"]
    evidence = schema["$defs"]["EvidenceSpec"]
    assert "with" in evidence["properties"]
    assert (
        evidence["properties"]["collector"]["description"]
        == "Registered collector name, e.g. `pgbackrest.info`."
    )
    assert "k6.summary" in evidence["properties"]["collector"]["examples"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"criteria": ["X9.9"]}, "does not match"),
        ({"max_age": "26 hours"}, "is not valid under any of the given schemas"),
        ({"gate": "maybe"}, "is not one of"),
        ({"severity": "high"}, "Additional properties are not allowed"),
        (
            {"evidence": [{"id": "k6", "collector": "k6.summary", "with": {"file": "x.json"}}]},
            "Additional properties are not allowed ('file' was unexpected)",
        ),
        (
            {"evidence": [{"id": "k6", "collector": "k6.summary", "with": {}}]},
            "'path' is a required property",
        ),
        (
            {"evidence": [{"id": "bad id", "collector": "k6.summary", "with": {"path": "x"}}]},
            "does not match",
        ),
    ],
)
def test_schema_rejects_invalid_control(
    control_validator: jsonschema.Draft202012Validator, change: dict, message: str
) -> None:
    control = plain_yaml(EXAMPLE / "controls" / "cap-01-latency.yaml")
    assert isinstance(control, dict)
    control.update(change)

    errors = [error.message for error in control_validator.iter_errors(control)]

    assert any(message in error for error in errors), errors


def test_schema_duration_pattern_matches_model() -> None:
    for text in ("90s", "30m", "26h", "7d", "2w", "0s", "26H", "1.5h", "h", "26 h", "26hh"):
        try:
            duration_seconds(text)
            accepted = True
        except ValueError:
            accepted = False
        assert (re.fullmatch(DURATION_PATTERN.strip("^$"), text) is not None) == accepted, text


# Integrations -------------------------------------------------------------------------------


def workflow_steps() -> list[dict]:
    workflow = YAML(typ="safe", pure=True).load(
        (REPO / "examples" / "ci" / "github-workflow.yml").read_text()
    )
    assert isinstance(workflow, dict)
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


def test_github_workflow_commands_run(
    runner: CliRunner,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    junit_schema: xmlschema.XMLSchema,
    sarif_validator: jsonschema.Draft4Validator,
) -> None:
    steps = workflow_steps()
    commands = [
        line.strip()
        for step in steps
        if "run" in step
        for line in step["run"].splitlines()
        if line.strip().startswith("assay ")
    ]
    uploads = [
        step
        for step in steps
        if str(step.get("uses", "")).startswith("github/codeql-action/upload-sarif@")
    ]
    assert len(commands) == 1
    assert "--format github" in commands[0]
    assert len(uploads) == 1
    sarif_file = uploads[0]["with"]["sarif_file"]
    assert f"--output sarif={sarif_file}" in commands[0]

    workspace = copy_example(tmp_path / "ws")
    keys.generate(workspace / ".assay")
    assert invoke(runner, "run", str(workspace), "--now", NOW, "--no-pack").exit_code == 0
    blessed = invoke(
        runner,
        "baseline",
        "bless",
        str(workspace),
        "--allow-failures",
        "--out",
        str(workspace / "assay-baseline.json"),
    )
    assert blessed.exit_code == 0, blessed.output
    monkeypatch.chdir(workspace)

    for command in commands:
        argv = shlex.split(command)[1:]
        result = invoke(runner, *argv, env={"ASSAY_NOW": NOW})
        assert result.exit_code == 0, result.output

    annotations = [line for line in result.stdout.splitlines() if line.startswith("::")]
    assert annotations
    assert all(line.startswith("::notice file=controls/") for line in annotations)
    assert result.stdout.splitlines()[-1].startswith("assay check: gate passed")
    junit_schema.validate(str(workspace / "assay-junit.xml"))
    assert (
        list(sarif_validator.iter_errors(json.loads((workspace / sarif_file).read_bytes()))) == []
    )


def hook() -> dict:
    hooks = YAML(typ="safe", pure=True).load(
        (REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8")
    )
    assert isinstance(hooks, list)
    assert [item["id"] for item in hooks] == ["assay-lint"]
    return hooks[0]


def test_pre_commit_hook_shape() -> None:
    item = hook()

    assert item["entry"] == "assay lint"
    assert item["pass_filenames"] is False
    assert item["language"] == "python"
    pattern = re.compile(item["files"])
    for path in ("controls/cap-01.yaml", "controls/cap-01.yml", "waivers/w-1.yaml", "assay.yaml"):
        assert pattern.search(path), path
    for path in ("inputs/k6.json", "docs/assay.yaml", "controls/notes.md", "x/controls/a.yaml"):
        assert not pattern.search(path), path


def test_pre_commit_hook_entry_runs(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace = copy_example(tmp_path / "ws")
    monkeypatch.chdir(workspace)
    argv = shlex.split(hook()["entry"])
    assert argv[0] == "assay"

    controls = len(list((workspace / "controls").glob("*.yaml")))
    good = invoke(runner, *argv[1:])
    (workspace / "controls" / "bad.yaml").write_text("id: BAD-01\n", encoding="utf-8")
    bad = invoke(runner, *argv[1:])

    assert good.exit_code == 0, good.output
    assert f"{controls} controls OK" in good.output
    assert bad.exit_code == 2
    assert "controls/bad.yaml:1:1: title: required field is missing" in bad.output


def test_pre_commit_runs_hook(tmp_path: Path) -> None:
    # pre-commit installs a `language: python` hook from its repository with
    # pip, which needs the network. So the test runs the same hook as a local
    # `system` hook, which runs the installed assay. pre-commit still applies
    # `files` and `pass_filenames` as it does to the published hook.
    repo = copy_example(tmp_path / "repo")
    git(repo, "init", "-q")
    local = {**hook(), "language": "system"}
    config = {"repos": [{"repo": "local", "hooks": [local]}]}
    (repo / ".pre-commit-config.yaml").write_text(json.dumps(config), encoding="utf-8")
    git(repo, "add", "-A")
    env = {
        **os.environ,
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    env = {key: value for key, value in env.items() if not key.startswith("ASSAY_")}

    def pre_commit(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pre_commit", "run", *args],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )

    passed = pre_commit("--all-files")
    skipped = pre_commit("--files", "inputs/k6-summary.json")
    (repo / "controls" / "bad.yaml").write_text("id: BAD-01\n", encoding="utf-8")
    git(repo, "add", "controls/bad.yaml")
    failed = pre_commit("--files", "controls/bad.yaml")

    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert re.search(r"assay lint\.+Passed", passed.stdout), passed.stdout
    assert skipped.returncode == 0, skipped.stdout + skipped.stderr
    assert re.search(r"assay lint\.+\(no files to check\)Skipped", skipped.stdout), skipped.stdout
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "controls/bad.yaml:1:1: title: required field is missing" in failed.stdout
