"""assay.yaml's max_input_size: the largest evidence file a collector reads whole."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assay.cli import app
from assay.config import WorkspaceConfig
from support.tiny_workspace import JSON_CONTROL, NOW, tiny_workspace

runner = CliRunner(env={"ASSAY_SIGNING_KEY": None, "ASSAY_LEDGER": None, "ASSAY_NOW": None,
                        "COLUMNS": "200"})


def _workspace(tmp_path: Path, setting: str | None) -> Path:
    workspace = tiny_workspace(
        tmp_path / "ws",
        controls={"doc-01.yaml": JSON_CONTROL.format(id="DOC-01", path="inputs/big.json")},
    )
    (workspace / "inputs").mkdir()
    # 3000 bytes: over 2KiB, under 4KiB.
    document = {"name": "ok", "padding": "x" * (3000 - 29)}
    (workspace / "inputs" / "big.json").write_text(json.dumps(document), encoding="utf-8")
    assert (workspace / "inputs" / "big.json").stat().st_size == 3000
    if setting is not None:
        with (workspace / "assay.yaml").open("a", encoding="utf-8") as config:
            config.write(f"max_input_size: {setting}\n")
    return workspace


def _check(workspace: Path) -> dict:
    result = runner.invoke(app, ["check", str(workspace), "--now", NOW, "--format", "json"])
    return json.loads(result.stdout)


def _control(report: dict) -> dict:
    return next(item for item in report["controls"] if item["id"] == "DOC-01")


def test_file_over_limit_is_error(tmp_path: Path):
    control = _control(_check(_workspace(tmp_path, "2KiB")))

    assert control["status"] == "error"
    assert (
        "inputs/big.json: input is 3000 bytes, over the 2048-byte limit for this format; "
        "raise max_input_size in assay.yaml to read it"
    ) in " ".join(control["reasons"])


def test_raised_limit_reads_file(tmp_path: Path):
    control = _control(_check(_workspace(tmp_path, "4KiB")))

    assert control["status"] == "pass"


def test_default_limit_reads_file(tmp_path: Path):
    control = _control(_check(_workspace(tmp_path, None)))

    assert control["status"] == "pass"


@pytest.mark.parametrize(("value", "expected"), [
    ("512MiB", 512 * 1024**2), ("2GB", 2 * 1000**3), (4096, 4096), (None, None),
])
def test_setting_parsed(value: str | int | None, expected: int | None):
    config = WorkspaceConfig(name="x", max_input_size=value)

    assert config.max_input_bytes == expected


def test_invalid_setting_named(tmp_path: Path):
    workspace = _workspace(tmp_path, "ten parsecs")

    result = runner.invoke(app, ["check", str(workspace), "--now", NOW])

    assert result.exit_code == 2
    assert "assay.yaml" in result.output
    assert "max_input_size" in result.output
    assert "invalid size" in result.output
