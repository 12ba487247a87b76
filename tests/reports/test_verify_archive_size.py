"""`assay verify --max-expanded-size`: the limit on a zipped pack's uncompressed size."""

from __future__ import annotations

import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from assay.cli import app
from assay.errors import UsageError
from assay.reports.archive import parse_size
from assay.reports.period_pack import zip_pack
from support.signed_workspace import NOW, signed_workspace

runner = CliRunner(env={"ASSAY_SIGNING_KEY": None, "ASSAY_LEDGER": None, "ASSAY_NOW": None,
                        "COLUMNS": "200"})


@pytest.fixture(scope="module")
def zipped(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Return a workspace and its zipped pack."""
    workspace = signed_workspace(tmp_path_factory.mktemp("size") / "ws")
    result = runner.invoke(app, ["run", str(workspace), "--now", NOW])
    assert result.exit_code == 0, result.output
    pack = Path((workspace / "reports" / "LATEST").read_text(encoding="utf-8").strip())
    return workspace, zip_pack(pack, datetime(2026, 12, 5, tzinfo=UTC))


def expanded_size(archive: Path) -> int:
    with zipfile.ZipFile(archive) as handle:
        return sum(info.file_size for info in handle.infolist())


def verify(workspace: Path, archive: Path, *options: str) -> Result:
    public_key = workspace / ".assay" / "signing-key.pub.pem"
    return runner.invoke(app, ["verify", str(archive), "--key", str(public_key), *options])


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("1048576", 1048576),
        ("512B", 512),
        ("2GiB", 2 * 1024**3),
        ("500MB", 500_000_000),
        ("3 kib", 3 * 1024),
        ("1TB", 1000**4),
    ],
)
def test_parse_size_units(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "2XB", "1.5GiB", "-1", "GiB", "0"])
def test_parse_size_rejects_malformed(text: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_size(text)

    assert str(caught.value).startswith(f"--max-expanded-size {text!r}: ")


def test_low_limit_rejects_zip(zipped: tuple[Path, Path]) -> None:
    workspace, archive = zipped
    total = expanded_size(archive)

    result = verify(workspace, archive, "--max-expanded-size", "1KiB")

    assert result.exit_code == 4, result.output
    assert result.stderr == (
        f"FAILED: {archive}: expands to {total} bytes, over the limit of 1024 bytes (raise it with "
        "--max-expanded-size), so the zipped pack was not extracted\n"
    )


def test_limit_at_exact_size_accepts_zip(zipped: tuple[Path, Path]) -> None:
    workspace, archive = zipped
    total = expanded_size(archive)

    exact = verify(workspace, archive, "--max-expanded-size", str(total))
    below = verify(workspace, archive, "--max-expanded-size", str(total - 1))

    assert exact.exit_code == 0, exact.output
    assert (
        f"ok: {archive.name} is within the expanded size limit of {total} bytes and extracts safely"
    ) in exact.stdout.splitlines()
    assert below.exit_code == 4, below.output


def test_higher_limit_accepts_zip(zipped: tuple[Path, Path]) -> None:
    workspace, archive = zipped

    result = verify(workspace, archive, "--max-expanded-size", "2GiB")

    assert result.exit_code == 0, result.output
    assert (
        f"ok: {archive.name} is within the expanded size limit of {2 * 1024**3} bytes and extracts safely"
    ) in result.stdout.splitlines()


def test_malformed_limit_exits_2(zipped: tuple[Path, Path]) -> None:
    workspace, archive = zipped

    result = verify(workspace, archive, "--max-expanded-size", "2 gigs")

    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: --max-expanded-size '2 gigs': invalid size; write a whole number")
