"""`assay verify PACK.zip`: hostile archives are rejected before anything is extracted."""

from __future__ import annotations

import stat
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assay.cli import app
from assay.errors import VerificationError
from assay.keys import load_public_key
from assay.reports.archive import extract_pack
from assay.reports.period_pack import zip_pack
from assay.reports.verify import verify_pack

INSTANT = datetime(2026, 12, 1, tzinfo=timezone.utc)
Member = tuple[zipfile.ZipInfo, bytes]


@pytest.fixture
def good_zip(pack_copy: Path) -> Path:
    return zip_pack(pack_copy, INSTANT)


def members(archive_path: Path) -> list[Member]:
    with zipfile.ZipFile(archive_path) as archive:
        return [(info, archive.read(info)) for info in archive.infolist()]


def write_zip(path: Path, entries: list[Member]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for info, data in entries:
            archive.writestr(info, data)
    return path


def member(name: str, data: bytes = b"x", mode: int = stat.S_IFREG | 0o644) -> Member:
    info = zipfile.ZipInfo(name, (2026, 12, 1, 0, 0, 0))
    info.external_attr = mode << 16
    return info, data


def rejected(zip_path: Path, tmp_path: Path, **limits: int) -> str:
    """Run extract_pack, assert it raised and wrote nothing, and return the message."""
    target = tmp_path / "extracted"
    target.mkdir()
    with pytest.raises(VerificationError) as caught:
        extract_pack(zip_path, target, **limits)
    assert list(target.iterdir()) == []
    return str(caught.value)


def test_good_zip_verifies(good_zip: Path, public_key_path: Path) -> None:
    key = load_public_key(public_key_path.read_bytes(), str(public_key_path))

    report = verify_pack(good_zip, pinned_key=key)

    assert any("match their SHA-256" in check for check in report.checks)


def test_cli_good_zip_exit_0(runner: CliRunner, good_zip: Path, public_key_path: Path) -> None:
    result = runner.invoke(app, ["verify", str(good_zip), "--key", str(public_key_path)])

    assert result.exit_code == 0, result.output


def test_cli_hostile_zip_exit_4(
    runner: CliRunner, good_zip: Path, public_key_path: Path, tmp_path: Path
) -> None:
    hostile = write_zip(tmp_path / "hostile.zip", [*members(good_zip), member("pack/../../evil.txt")])

    result = runner.invoke(app, ["verify", str(hostile), "--key", str(public_key_path)])

    assert result.exit_code == 4, result.output
    assert "pack/../../evil.txt" in result.output
    assert not (tmp_path.parent / "evil.txt").exists()


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (member("pack/../evil.txt"), "leaves the pack folder"),
        (member("/tmp/evil.txt"), "absolute path"),
        (member("pack\\..\\evil.txt"), "backslash"),
        (member("pack/link", b"/etc/passwd", stat.S_IFLNK | 0o777), "symbolic link"),
        (member("pack/fifo", b"", stat.S_IFIFO | 0o644), "not a regular file"),
        (member("pack/unlisted.txt"), "not listed"),
    ],
    ids=["dot-dot", "absolute", "backslash", "symlink", "special-file", "unlisted"],
)
def test_hostile_member_rejected(
    good_zip: Path, tmp_path: Path, extra: Member, expected: str
) -> None:
    hostile = write_zip(tmp_path / "hostile.zip", [*members(good_zip), extra])

    message = rejected(hostile, tmp_path)

    assert expected in message
    assert extra[0].filename in message


def test_duplicate_name_rejected(good_zip: Path, tmp_path: Path) -> None:
    entries = members(good_zip)
    report = next(entry for entry in entries if entry[0].filename == "pack/report.md")
    with pytest.warns(UserWarning, match="Duplicate name"):
        hostile = write_zip(tmp_path / "hostile.zip", [*entries, report])

    message = rejected(hostile, tmp_path)

    assert "pack/report.md" in message
    assert "more than once" in message


def test_missing_listed_file_rejected(good_zip: Path, tmp_path: Path) -> None:
    entries = [entry for entry in members(good_zip) if entry[0].filename != "pack/report.md"]
    hostile = write_zip(tmp_path / "hostile.zip", entries)

    message = rejected(hostile, tmp_path)

    assert "report.md" in message
    assert "missing from the zip" in message


def test_size_mismatch_rejected(good_zip: Path, tmp_path: Path) -> None:
    entries = [
        (info, data + b"appended") if info.filename == "pack/report.md" else (info, data)
        for info, data in members(good_zip)
    ]
    hostile = write_zip(tmp_path / "hostile.zip", entries)

    message = rejected(hostile, tmp_path)

    assert "report.md" in message
    assert "manifest.json" in message


def test_expanded_size_limit(good_zip: Path, tmp_path: Path) -> None:
    message = rejected(good_zip, tmp_path, max_expanded_bytes=1024)

    assert "over the limit of 1024 bytes" in message


def test_zip_bomb_rejected(good_zip: Path, tmp_path: Path) -> None:
    # 64 MiB of zeros compresses to about 64 KiB.
    bomb = member("pack/zeros.bin", bytes(64 * 1024**2))
    hostile = write_zip(tmp_path / "hostile.zip", [*members(good_zip), bomb])

    message = rejected(hostile, tmp_path, max_expanded_bytes=32 * 1024**2)

    assert "over the limit" in message


def test_member_count_limit(good_zip: Path, tmp_path: Path) -> None:
    message = rejected(good_zip, tmp_path, max_members=3)

    assert "over the limit of 3" in message


def test_not_a_zip_rejected(tmp_path: Path, public_key_path: Path) -> None:
    fake = tmp_path / "fake.zip"
    fake.write_bytes(b"not a zip archive")
    key = load_public_key(public_key_path.read_bytes(), str(public_key_path))

    with pytest.raises(VerificationError, match="not a readable zip archive"):
        verify_pack(fake, pinned_key=key)


def test_tampered_content_fails_after_extraction(
    good_zip: Path, tmp_path: Path, public_key_path: Path
) -> None:
    entries = [
        (info, data.replace(b"a", b"b", 1)) if info.filename == "pack/report.md" else (info, data)
        for info, data in members(good_zip)
    ]
    hostile = write_zip(tmp_path / "hostile.zip", entries)
    key = load_public_key(public_key_path.read_bytes(), str(public_key_path))

    with pytest.raises(VerificationError, match="report.md: SHA-256 does not match"):
        verify_pack(hostile, pinned_key=key)


def test_extraction_stays_in_target(good_zip: Path, tmp_path: Path) -> None:
    target = tmp_path / "extracted"
    target.mkdir()

    folder = extract_pack(good_zip, target)

    assert folder == target / "pack"
    assert (folder / "manifest.json").is_file()
    extracted = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert all(path.is_relative_to(target) or path.is_relative_to(good_zip.parent) for path in extracted)


