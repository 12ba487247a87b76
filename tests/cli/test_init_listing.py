"""`assay init` lists every file it creates or skips, including the PDF signing key pair."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner, Result

from assay import keys
from assay.cli import app

PDF_KEY = f".assay/{keys.PDF_KEY_NAME}"
PDF_CERTIFICATE = f".assay/{keys.PDF_CERT_NAME}"
# Each variable set to None is removed while a command runs. COLUMNS=200
# keeps each listed path on one line.
ENV: dict[str, str | None] = {
    "ASSAY_SIGNING_KEY": None, "ASSAY_LEDGER": None, "ASSAY_NOW": None,
    "ASSAY_KEY_PASSPHRASE": None, "COLUMNS": "200",
}

runner = CliRunner(env=ENV)


def init(*args: str) -> Result:
    result = runner.invoke(app, ["init", *args])
    assert result.exit_code == 0, result.output
    return result


def listed(result: Result, action: str) -> list[str]:
    """Return the paths of the progress lines `created PATH` or `skipped PATH (...)` on stderr."""
    suffix = "" if action == "created" else " (exists, left unchanged)"
    paths = []
    for line in result.stderr.splitlines():
        if line.startswith(f"{action} ") and line.endswith(suffix):
            paths.append(line.removeprefix(f"{action} ").removesuffix(suffix))
    return paths


def files_under(root: Path) -> set[str]:
    return {path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file()}


def summary_count(result: Result) -> int:
    match = re.search(r"^Created (\d+) files? in ", result.stdout, re.MULTILINE)
    assert match is not None, result.stdout
    return int(match.group(1))


def test_init_lists_pdf_key_files(tmp_path: Path) -> None:
    root = tmp_path / "ws"

    result = init(str(root))

    created = listed(result, "created")
    assert PDF_KEY in created
    assert PDF_CERTIFICATE in created
    assert (root / PDF_KEY).is_file()
    assert (root / PDF_CERTIFICATE).is_file()
    assert f"PDF signing key and certificate: {PDF_KEY}, {PDF_CERTIFICATE}" in result.stdout


def test_init_listing_matches_files_on_disk(tmp_path: Path) -> None:
    root = tmp_path / "ws"

    result = init(str(root))

    created = listed(result, "created")
    assert len(created) == len(set(created))
    assert set(created) == files_under(root)
    assert summary_count(result) == len(created)


def test_init_again_lists_pdf_key_files_skipped(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    first = init(str(root))
    pdf_key_before = (root / PDF_KEY).read_bytes()

    second = init(str(root))

    assert listed(second, "created") == []
    skipped = listed(second, "skipped")
    assert PDF_KEY in skipped
    assert PDF_CERTIFICATE in skipped
    assert sorted(skipped) == sorted(listed(first, "created"))
    assert f"  {PDF_KEY}" in second.stdout.splitlines()
    assert f"  {PDF_CERTIFICATE}" in second.stdout.splitlines()
    assert "PDF signing key and certificate:" not in second.stdout
    assert (root / PDF_KEY).read_bytes() == pdf_key_before


def test_init_with_key_lists_no_pdf_files(tmp_path: Path) -> None:
    key_folder = tmp_path / "keys"
    keys.generate(key_folder)
    root = tmp_path / "ws"

    result = init(str(root), "--key", str(key_folder / keys.PRIVATE_KEY_NAME))

    created = listed(result, "created")
    assert PDF_KEY not in created
    assert PDF_CERTIFICATE not in created
    assert set(created) == files_under(root)
    assert "PDF signing key and certificate:" not in result.stdout


def test_init_keeps_old_key_without_pdf_pair(tmp_path: Path) -> None:
    # A workspace whose key folder predates the PDF signing key: init keeps
    # the Ed25519 key as it is and creates no PDF key pair beside it.
    root = tmp_path / "ws"
    keys.generate(root / ".assay")
    (root / PDF_KEY).unlink()
    (root / PDF_CERTIFICATE).unlink()

    result = init(str(root))

    assert PDF_KEY not in listed(result, "created") + listed(result, "skipped")
    assert PDF_CERTIFICATE not in listed(result, "created") + listed(result, "skipped")
    assert not (root / PDF_KEY).exists()
    assert set(listed(result, "created")) | set(listed(result, "skipped")) == files_under(root)
