"""The `assay` command line: run, lint, keys generate, help texts and their exit codes."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from assay import keys
from assay.cli import app
from support.example_statuses import EXAMPLE_STATUSES

DEMO_NOW = "2026-12-04T21:15:00Z"
DEMO_STATUSES = EXAMPLE_STATUSES
LOAD_TEST_CONTROLS = ("CAP-01", "CAP-02", "CAP-03")
ISOLATION_CONTROLS = ("ISO-01", "ISO-02", "ISO-03")

RunAssay = Callable[..., tuple[Result, Path]]


def table_rows(output: str, first_cells: set[str]) -> dict[str, list[str]]:
    """Return the cells of each rich table row whose first cell is in `first_cells`.

    Rows whose text wraps continue on lines with an empty first cell, and
    only the first line of each row is returned.
    """
    rows = {}
    for line in output.splitlines():
        cells = [cell.strip() for cell in line.split("│")[1:-1]]
        if cells and cells[0] in first_cells:
            rows[cells[0]] = cells
    return rows


def run_results(pack: Path) -> dict[str, dict[str, Any]]:
    """Return the body of each result record of the pack's run, by control id."""
    run = json.loads((pack / "manifest.json").read_bytes())["run"]
    results = {}
    for line in (pack / "records.jsonl").read_bytes().splitlines():
        item = json.loads(line)
        if item["header"]["run"] == run and item["header"]["kind"] == "result":
            results[item["body"]["control"]] = item["body"]
    return results


def statuses(results: dict[str, dict[str, Any]]) -> dict[str, str]:
    return {control: body["status"] for control, body in results.items()}


@pytest.fixture(scope="module")
def demo_run(
    tmp_path_factory: pytest.TempPathFactory,
    make_workspace: Callable[[Path], Path],
    run_assay: RunAssay,
) -> tuple[Result, Path]:
    return run_assay(make_workspace(tmp_path_factory.mktemp("demo")))


def test_run_table_shows_demo_statuses(demo_run: tuple[Result, Path]) -> None:
    result, _pack = demo_run

    rows = table_rows(result.stdout, set(DEMO_STATUSES))

    assert "Controls (Example multi-tenant API platform, scope production)" in result.stdout
    assert {control: cells[3] for control, cells in rows.items()} == DEMO_STATUSES


def test_run_table_shows_readiness(demo_run: tuple[Result, Path]) -> None:
    result, _pack = demo_run

    rows = table_rows(result.stdout, {"Security", "Availability"})

    assert "Readiness by Trust Services category" in result.stdout
    assert rows["Security"] == ["Security", "0 of 33", "0 %", "CC1.1, CC1.2, CC1.3,", "0"]
    assert rows["Availability"] == ["Availability", "0 of 3", "0 %", "A1.1, A1.2, A1.3", "0"]


def test_run_prints_pack_path(demo_run: tuple[Result, Path]) -> None:
    result, pack = demo_run

    assert result.stdout.splitlines()[-1] == f"pack: {pack}"
    assert pack.is_dir()
    assert pack.parent == pack.parents[1] / "reports"


def test_run_records_demo_statuses(demo_run: tuple[Result, Path]) -> None:
    _result, pack = demo_run
    manifest = json.loads((pack / "manifest.json").read_bytes())

    assert manifest["statuses"] == DEMO_STATUSES
    assert statuses(run_results(pack)) == DEMO_STATUSES


def test_run_reports_progress_on_stderr(demo_run: tuple[Result, Path]) -> None:
    result, _pack = demo_run
    lines = result.stderr.splitlines()

    total = len(DEMO_STATUSES)
    assert lines[0] == f"[1/{total}] collecting BAK-01"
    assert f"[{total}/{total}] collecting VUL-01" in lines
    assert "pack:" not in result.stderr


def test_run_honours_assay_now(runner: CliRunner, workspace: Path) -> None:
    result = runner.invoke(app, ["run", str(workspace)], env={"ASSAY_NOW": DEMO_NOW})

    assert result.exit_code == 0, result.output
    pack = Path((workspace / "reports" / "LATEST").read_text().strip())
    assert pack.name.startswith("20261204T211500Z-")
    manifest = json.loads((pack / "manifest.json").read_bytes())
    assert manifest["created_at"] == "2026-12-04T21:15:00.000000Z"
    assert manifest["statuses"] == DEMO_STATUSES


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("yesterday", "not an RFC 3339 timestamp: 'yesterday'"),
        ("2026-12-04T20:15:00", "timestamp has no UTC offset: '2026-12-04T20:15:00'"),
        ("2026-12-04T25:15:00Z", "hour must be in 0..23"),
        ("2026-02-30", "day is out of range for month"),
    ],
)
def test_run_invalid_now_exits_2(
    runner: CliRunner, workspace: Path, value: str, problem: str
) -> None:
    result = runner.invoke(app, ["run", str(workspace), "--now", value])

    assert result.exit_code == 2
    assert result.stderr == (
        f"error: --now: {problem}; use an instant such as 2026-12-04T20:15:00Z\n"
    )
    assert not (workspace / "reports").exists()
    assert not (workspace / "evidence").exists()


def test_run_invalid_assay_now_exits_2(runner: CliRunner, workspace: Path) -> None:
    result = runner.invoke(app, ["run", str(workspace)], env={"ASSAY_NOW": "soon"})

    assert result.exit_code == 2
    assert result.stderr.startswith("error: --now: not an RFC 3339 timestamp: 'soon'")


def test_keys_generate_writes_private_key_0600(runner: CliRunner, tmp_path: Path) -> None:
    out_dir = tmp_path / "keys"

    result = runner.invoke(app, ["keys", "generate", "--out", str(out_dir)])

    assert result.exit_code == 0, result.output
    private_path = out_dir / "signing-key.pem"
    public_path = out_dir / "signing-key.pub.pem"
    assert stat.S_IMODE(private_path.stat().st_mode) == 0o600
    public_key = keys.load_public_key(public_path.read_bytes(), str(public_path))
    assert result.stdout.splitlines() == [
        f"private key: {private_path} (mode 0600, keep it secret)",
        f"public key:  {public_path}",
        f"fingerprint: {keys.fingerprint(public_key)}",
        f"PDF signing key: {out_dir / 'signing-key.p256.pem'} (mode 0600), "
        f"certificate {out_dir / 'signing-cert.pem'}",
    ]


def test_keys_generate_ignores_signing_key_env(runner: CliRunner, tmp_path: Path) -> None:
    # ASSAY_SIGNING_KEY selects the key `assay run` signs with. The printed
    # fingerprint must still be the one of the key just written.
    other_private, _other_public = keys.generate(tmp_path / "other")
    out_dir = tmp_path / "keys"

    result = runner.invoke(
        app,
        ["keys", "generate", "--out", str(out_dir)],
        env={"ASSAY_SIGNING_KEY": other_private.read_text()},
    )

    assert result.exit_code == 0, result.output
    public_path = out_dir / "signing-key.pub.pem"
    public_key = keys.load_public_key(public_path.read_bytes(), str(public_path))
    assert f"fingerprint: {keys.fingerprint(public_key)}" in result.stdout.splitlines()


def test_keys_generate_keeps_existing_key(runner: CliRunner, tmp_path: Path) -> None:
    out_dir = tmp_path / "keys"
    first = runner.invoke(app, ["keys", "generate", "--out", str(out_dir)])
    assert first.exit_code == 0, first.output
    private_path = out_dir / "signing-key.pem"
    original = private_path.read_bytes()

    second = runner.invoke(app, ["keys", "generate", "--out", str(out_dir)])

    assert second.exit_code == 2
    assert second.stderr == (
        f"error: {private_path}: already exists; remove it or choose another --out directory\n"
    )
    assert private_path.read_bytes() == original


def test_run_rejects_group_readable_key(runner: CliRunner, workspace: Path) -> None:
    key_path = workspace.resolve() / ".assay" / "signing-key.pem"
    key_path.chmod(0o644)

    result = runner.invoke(app, ["run", str(workspace), "--now", DEMO_NOW])

    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {key_path}: private key is readable by group or others (mode 0644); "
        f"run `chmod 600 {key_path}`\n"
    )
    assert not (workspace / "reports").exists()


@pytest.mark.parametrize("mode", [0o644, 0o600])
def test_run_with_public_key_says_so(runner: CliRunner, workspace: Path, mode: int) -> None:
    public = workspace.resolve() / ".assay" / "signing-key.pub.pem"
    public.chmod(mode)

    result = runner.invoke(app, ["run", str(workspace), "--now", DEMO_NOW, "--key", str(public)])

    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {public}: is a public key; pass the private key file (for example "
        "signing-key.pem, not signing-key.pub.pem)\n"
    )


def test_lint_example_exits_0(runner: CliRunner, workspace: Path) -> None:
    result = runner.invoke(app, ["lint", str(workspace)])

    assert result.exit_code == 0, result.output
    assert result.stdout == f"{len(DEMO_STATUSES)} controls OK in {workspace.resolve()}\n"
    assert not (workspace / "evidence").exists()


def test_lint_broken_control_exits_2(runner: CliRunner, workspace: Path) -> None:
    control = workspace / "controls" / "cap-01-latency.yaml"
    lines = control.read_text(encoding="utf-8").splitlines(keepends=True)
    number = next(i for i, line in enumerate(lines, 1) if "collector: k6.summary" in line)
    column = lines[number - 1].index("k6.summary") + 1
    lines[number - 1] = lines[number - 1].replace("k6.summary", "k6.sumary")
    control.write_text("".join(lines), encoding="utf-8")

    result = runner.invoke(app, ["lint", str(workspace)])

    assert result.exit_code == 2
    assert result.stderr == (
        "error: 1 problem in the workspace:\n"
        f"controls/cap-01-latency.yaml:{number}:{column}: evidence[0].collector: "
        "unknown collector 'k6.sumary' (did you mean 'k6.summary'?)\n"
    )


@pytest.mark.parametrize(
    "command",
    [[], ["run"], ["verify"], ["lint"], ["keys"], ["keys", "generate"]],
    ids=["assay", "run", "verify", "lint", "keys", "keys-generate"],
)
def test_help_exits_0(runner: CliRunner, command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])

    assert result.exit_code == 0, result.output
    assert "Usage:" in result.stdout
    assert result.stderr == ""


def test_run_survives_truncated_k6_json(
    workspace: Path, run_assay: RunAssay
) -> None:
    k6_path = workspace / "inputs" / "k6-summary.json"
    truncated = k6_path.read_bytes()[:300]
    k6_path.write_bytes(truncated)
    with pytest.raises(json.JSONDecodeError) as parse_error:
        json.loads(truncated)
    where = f"inputs/k6-summary.json:{parse_error.value.lineno}:{parse_error.value.colno}"

    _result, pack = run_assay(workspace)

    results = run_results(pack)
    for control in LOAD_TEST_CONTROLS:
        assert results[control]["status"] == "error"
        assert f"{where}: invalid JSON" in results[control]["reasons"][0]
    others = {c: s for c, s in DEMO_STATUSES.items() if c not in LOAD_TEST_CONTROLS}
    assert {c: s for c, s in statuses(results).items() if c in others} == others


def test_run_survives_empty_k6_json(workspace: Path, run_assay: RunAssay) -> None:
    (workspace / "inputs" / "k6-summary.json").write_bytes(b"")

    _result, pack = run_assay(workspace)

    results = run_results(pack)
    for control in LOAD_TEST_CONTROLS:
        assert results[control]["status"] == "error"
        assert "inputs/k6-summary.json: file is empty" in results[control]["reasons"][0]
    others = {c: s for c, s in DEMO_STATUSES.items() if c not in LOAD_TEST_CONTROLS}
    assert {c: s for c, s in statuses(results).items() if c in others} == others


def test_run_survives_json_junit_file(workspace: Path, run_assay: RunAssay) -> None:
    junit_path = workspace / "inputs" / "junit-tenant-isolation.xml"
    junit_path.write_bytes((workspace / "inputs" / "k6-summary.json").read_bytes())

    _result, pack = run_assay(workspace)

    results = run_results(pack)
    for control in ISOLATION_CONTROLS:
        assert results[control]["status"] == "error"
        assert "inputs/junit-tenant-isolation.xml:1:1: " in results[control]["reasons"][0]
    others = {c: s for c, s in DEMO_STATUSES.items() if c not in ISOLATION_CONTROLS}
    assert {c: s for c, s in statuses(results).items() if c in others} == others


def test_run_prints_brackets_in_titles(workspace: Path, run_assay: RunAssay) -> None:
    # Rich reads [word] in a string as a style tag, and an unmatched [/word]
    # raises MarkupError.
    control = workspace / "controls" / "cap-01-latency.yaml"
    text = control.read_text(encoding="utf-8")
    control.write_text(
        text.replace(
            "title: API latency stays within target under load",
            "title: API latency [p95] stays low [/bold]",
        ),
        encoding="utf-8",
    )

    result, _pack = run_assay(workspace)

    # The title cell wraps over the row's first lines.
    lines = result.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("│ CAP-01 "))
    title = " ".join(line.split("│")[2].strip() for line in lines[start:start + 3])
    assert title.startswith("API latency [p95] stays low [/bold]")


def test_installed_assay_runs_and_verifies(workspace: Path) -> None:
    assay = Path(sys.executable).with_name("assay")
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("ASSAY_") and name != "COLUMNS"
    }

    run = subprocess.run(
        [str(assay), "run", str(workspace), "--now", DEMO_NOW],
        capture_output=True, text=True, env=environment, timeout=120, check=False,
    )
    pack = Path((workspace / "reports" / "LATEST").read_text().strip())
    public_key = workspace / ".assay" / "signing-key.pub.pem"
    verify = subprocess.run(
        [str(assay), "verify", str(pack), "--key", str(public_key)],
        capture_output=True, text=True, env=environment, timeout=120, check=False,
    )

    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[-1] == f"pack: {pack}"
    assert verify.returncode == 0, verify.stderr
    assert verify.stdout.splitlines()[-1] == f"verified: {pack}"


def test_version_option(runner: CliRunner) -> None:
    from importlib.metadata import version

    result = runner.invoke(app, ["--version"])

    assert result.exit_code == 0
    assert result.stdout == f"assay {version('assay')}\n"


def test_warnings_read_like_errors() -> None:
    import logging

    from assay.cli import _PlainFormatter

    record = logging.LogRecord("assay.reports.pack", logging.WARNING, __file__, 1,
                               "report.pdf is not signed: %s", ("reason",), None)
    assert _PlainFormatter().format(record) == "warning: report.pdf is not signed: reason"
