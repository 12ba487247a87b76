"""Fixtures shared by the CLI tests and the audit-pack tests: example workspaces and runs."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from assay import keys
from assay.cli import app

EXAMPLE_WORKSPACE = Path(__file__).resolve().parents[1] / "examples" / "platform"

# The example inputs describe 2026-12-04 between 19:19 and 20:01 UTC, so
# judging at this instant gives every control the same status on any day.
DEMO_NOW = "2026-12-04T21:15:00Z"

# Each variable set to None is removed while a command runs, because it would
# override an option or a workspace setting that the tests rely on.
# COLUMNS=80 gives rich the width it uses when stdout is not a terminal.
CLI_ENV: dict[str, str | None] = {
    "ASSAY_SIGNING_KEY": None,
    "ASSAY_LEDGER": None,
    "ASSAY_NOW": None,
    "COLUMNS": "80",
}


@pytest.fixture(scope="session")
def runner() -> CliRunner:
    return CliRunner(env=CLI_ENV)


@pytest.fixture(scope="session")
def make_workspace() -> Callable[[Path], Path]:
    """Return a function that copies the example workspace into a folder and gives it a new key."""

    def make(parent: Path) -> Path:
        workspace = parent / "ws"
        shutil.copytree(EXAMPLE_WORKSPACE, workspace)
        keys.generate(workspace / ".assay")
        return workspace

    return make


@pytest.fixture
def workspace(tmp_path: Path, make_workspace: Callable[[Path], Path]) -> Path:
    return make_workspace(tmp_path)


@pytest.fixture(scope="session")
def run_assay(runner: CliRunner) -> Callable[..., tuple[Result, Path]]:
    """Return a function that runs `assay run WORKSPACE --now DEMO_NOW [OPTIONS]`.

    The function asserts exit 0 and returns the result with the pack path
    read from reports/LATEST.
    """

    def run(workspace: Path, *options: str) -> tuple[Result, Path]:
        result = runner.invoke(app, ["run", str(workspace), "--now", DEMO_NOW, *options])
        assert result.exit_code == 0, result.output
        latest = workspace / "reports" / "LATEST"
        return result, Path(latest.read_text(encoding="utf-8").strip())

    return run


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of a real PostgreSQL server started for this test session on 127.0.0.1."""
    from support.pgserver import postgres_server

    with postgres_server() as (url, _data):
        yield url
