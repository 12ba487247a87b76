"""Fixtures shared by the CLI tests and the audit-pack tests: example workspaces and runs."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
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


# Settings that a CI machine may export for assay itself. Each test that
# needs one sets it, so the suite starts without them: an exported key or
# ledger URL would otherwise change what every command signs and writes.
OUTSIDE_SETTINGS = (
    "ASSAY_SIGNING_KEY", "ASSAY_PDF_SIGNING_KEY", "ASSAY_PDF_CERTIFICATE", "ASSAY_KEY_PASSPHRASE",
    "ASSAY_LEDGER", "ASSAY_NOW",
)


def pytest_configure(config: pytest.Config) -> None:
    for name in OUTSIDE_SETTINGS:
        os.environ.pop(name, None)


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


# Hypothesis profiles. The default one keeps the suite fast and reproducible:
# derandomize draws the same examples on every run and no example database is
# written. HYPOTHESIS_PROFILE=fuzz (used by `make fuzz`) runs thousands of
# random examples per property instead (ASSAY_FUZZ_EXAMPLES sets how many).
# Tests that pass max_examples to @settings keep their own count under both
# profiles.
settings.register_profile(
    "default-assay", max_examples=25, deadline=None, derandomize=True, database=None,
    print_blob=True,
)
settings.register_profile(
    "fuzz", max_examples=int(os.environ.get("ASSAY_FUZZ_EXAMPLES", "2000")), deadline=None,
    print_blob=True, suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default-assay"))
