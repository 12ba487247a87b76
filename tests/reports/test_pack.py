"""The pack `assay run` writes: its files, their hashes, VERIFY.md's offline route and escaping."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import Result

from assay import keys
from assay.controls.loader import load_workspace

TOP_LEVEL_FILES = {
    "manifest.json",
    "manifest.sig",
    "SHA256SUMS",
    "SHA256SUMS.sig",
    "manifest.sshsig",
    "attestation.dsse.json",
    "public-key.pem",
    "public-key.pub",
    "allowed_signers",
    "VERIFY.md",
    "report.md",
    "report.html",
    "report.pdf",
    "records.jsonl",
}
UNLISTED_FILES = {
    "SHA256SUMS",
    "SHA256SUMS.sig",
    "manifest.sig",
    "manifest.sshsig",
    "attestation.dsse.json",
}
# Inputs of the example workspace. The pack stores each one as evidence/sha256/<its SHA-256>.
# Every file in these folders of the example workspace is read by some control.
EVIDENCE_FOLDERS = ("inputs", "policies")


def example_inputs(workspace: Path) -> set[str]:
    """Return the SHA-256 of every file the example's controls read."""
    files = [
        path for folder in EVIDENCE_FOLDERS for path in (workspace / folder).rglob("*")
        if path.is_file()
    ]
    # runbooks/ also contains runbooks that no control reads: count only those a
    # `files` source names.
    for loaded in load_workspace(workspace).controls:
        for spec in loaded.control.evidence:
            patterns = spec.with_.get("paths") or []
            files += [path for pattern in patterns for path in workspace.glob(pattern)]
    return {hashlib.sha256(path.read_bytes()).hexdigest() for path in files}


needs_offline_tools = pytest.mark.skipif(
    shutil.which("openssl") is None or shutil.which("sha256sum") is None,
    reason="VERIFY.md's offline route needs openssl and sha256sum on PATH",
)


def pack_files(pack: Path) -> set[str]:
    return {p.relative_to(pack).as_posix() for p in pack.rglob("*") if p.is_file()}


def sums_entries(pack: Path) -> dict[str, str]:
    entries = {}
    for line in (pack / "SHA256SUMS").read_text(encoding="utf-8").splitlines():
        digest, name = line.split("  ", 1)
        entries[name] = digest
    return entries


def offline_commands(pack: Path) -> list[str]:
    """Return the lines of the ```sh block in the pack's VERIFY.md."""
    text = (pack / "VERIFY.md").read_text(encoding="utf-8")
    match = re.search(r"^```sh\n(.*?)^```$", text, re.MULTILINE | re.DOTALL)
    assert match is not None, "VERIFY.md has no ```sh block"
    return match.group(1).splitlines()


def run_offline(pack: Path, command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, shell=True, cwd=pack, capture_output=True, text=True, timeout=60, check=False
    )


def test_pack_has_every_file(demo_pack: Path) -> None:
    files = pack_files(demo_pack)
    blobs = {name for name in files if name.startswith("evidence/sha256/")}

    assert files - blobs == TOP_LEVEL_FILES
    assert len(blobs) == len(example_inputs(demo_pack.parents[1]))


def test_pack_stores_each_input_once(demo_pack: Path) -> None:
    expected = {"evidence/sha256/" + digest for digest in example_inputs(demo_pack.parents[1])}

    assert {name for name in pack_files(demo_pack) if name.startswith("evidence/")} == expected


def test_pack_blob_names_are_their_sha256(demo_pack: Path) -> None:
    blobs = sorted((demo_pack / "evidence" / "sha256").iterdir())

    assert blobs
    for blob in blobs:
        assert blob.name == hashlib.sha256(blob.read_bytes()).hexdigest()


def test_sha256sums_lists_every_file_but_signatures(demo_pack: Path) -> None:
    entries = sums_entries(demo_pack)

    assert set(entries) == pack_files(demo_pack) - UNLISTED_FILES
    for name, digest in entries.items():
        assert hashlib.sha256((demo_pack / name).read_bytes()).hexdigest() == digest, name


def test_sha256sums_is_sorted_by_name(demo_pack: Path) -> None:
    names = list(sums_entries(demo_pack))

    assert names == sorted(names)


def test_manifest_lists_files_and_run(demo_pack: Path, public_key_path: Path) -> None:
    manifest = json.loads((demo_pack / "manifest.json").read_bytes())
    public_key = keys.load_public_key(public_key_path.read_bytes(), str(public_key_path))

    assert manifest["format"] == "assay-pack"
    assert manifest["format_version"] == 1
    assert manifest["created_at"] == "2026-12-04T21:15:00.000000Z"
    assert manifest["scope"] == "production"
    assert manifest["workspace"] == "Example multi-tenant API platform"
    assert manifest["key_id"] == keys.fingerprint(public_key)
    assert demo_pack.name == f"20261204T211500Z-{manifest['run'][:8]}"
    listed = {entry["path"]: entry for entry in manifest["files"]}
    assert set(listed) == pack_files(demo_pack) - UNLISTED_FILES - {"manifest.json"}
    for name, entry in listed.items():
        data = (demo_pack / name).read_bytes()
        assert entry["size"] == len(data), name
        assert entry["sha256"] == hashlib.sha256(data).hexdigest(), name


def test_signatures_verify_with_signer_key(demo_pack: Path, public_key_path: Path) -> None:
    public_key = keys.load_public_key(public_key_path.read_bytes(), str(public_key_path))

    for signed, signature in (("manifest.json", "manifest.sig"), ("SHA256SUMS", "SHA256SUMS.sig")):
        message = (demo_pack / signed).read_bytes()
        assert keys.signature_valid(public_key, (demo_pack / signature).read_bytes(), message)
    assert (demo_pack / "public-key.pem").read_bytes() == public_key_path.read_bytes()


def test_report_pdf_is_pdf(demo_pack: Path) -> None:
    assert (demo_pack / "report.pdf").read_bytes().startswith(b"%PDF-")


def test_report_md_shows_readiness(demo_pack: Path) -> None:
    report = (demo_pack / "report.md").read_text(encoding="utf-8")

    assert "| Security | 0 of 33 | 0 % | CC1.1, CC1.2, CC1.3, CC1.4, " in report
    assert "| Availability | 0 of 3 | 0 % | A1.1, A1.2, A1.3 |" in report
    assert "| CAP-01 | API latency stays within target under load | A1.1 | **pass** |" in report
    missing_row = (
        "| KEY-01 | Customer data encryption keys rotate automatically | CC6.1, C1.1 | **missing** |"
    )
    assert missing_row in report


def test_verify_md_names_signer(demo_pack: Path, public_key_path: Path) -> None:
    public_key = keys.load_public_key(public_key_path.read_bytes(), str(public_key_path))

    assert f"    {keys.fingerprint(public_key)}\n" in (demo_pack / "VERIFY.md").read_text()


def test_run_pack_verify_md_points_to_period_packs(demo_pack: Path) -> None:
    text = (demo_pack / "VERIFY.md").read_text(encoding="utf-8")
    section = text.split("## For auditors: sampling", 1)[1].split("##", 1)[0]

    assert "Sampling works on period packs" in section
    assert "assay population" not in text


def test_run_leaves_no_partial_folder(demo_pack: Path) -> None:
    reports = demo_pack.parent

    assert sorted(p.name for p in reports.iterdir()) == sorted([demo_pack.name, "LATEST"])
    assert not list(reports.glob(".*.partial"))


def test_latest_names_pack(demo_pack: Path) -> None:
    latest = demo_pack.parent / "LATEST"

    assert latest.read_text(encoding="utf-8") == f"{demo_pack}\n"


@needs_offline_tools
def test_offline_route_passes_on_good_pack(demo_pack: Path) -> None:
    commands = offline_commands(demo_pack)
    assert len(commands) == 2
    assert commands[0].startswith("openssl pkeyutl -verify ")
    assert commands[1] == "sha256sum -c SHA256SUMS"

    signature = run_offline(demo_pack, commands[0])
    sums = run_offline(demo_pack, commands[1])

    assert signature.returncode == 0, signature.stdout + signature.stderr
    assert "Signature Verified Successfully" in signature.stdout
    assert sums.returncode == 0, sums.stdout + sums.stderr
    for name in sums_entries(demo_pack):
        assert f"{name}: OK" in sums.stdout.splitlines()


@needs_offline_tools
def test_offline_route_catches_rewritten_sums(pack_copy: Path) -> None:
    # After an evidence file and its SHA256SUMS line are both rewritten,
    # `sha256sum -c` passes, so only the signature check can catch the edit.
    blob = sorted((pack_copy / "evidence" / "sha256").iterdir())[0]
    name = blob.relative_to(pack_copy).as_posix()
    blob.write_bytes(blob.read_bytes() + b"\n")
    sums_path = pack_copy / "SHA256SUMS"
    old_digest = sums_entries(pack_copy)[name]
    new_digest = hashlib.sha256(blob.read_bytes()).hexdigest()
    sums_path.write_text(sums_path.read_text().replace(f"{old_digest}  ", f"{new_digest}  "))
    commands = offline_commands(pack_copy)

    signature = run_offline(pack_copy, commands[0])
    sums = run_offline(pack_copy, commands[1])

    assert signature.returncode != 0
    assert "Signature Verified Successfully" not in signature.stdout
    assert sums.returncode == 0, sums.stdout + sums.stderr


@needs_offline_tools
def test_offline_route_names_altered_pdf(pack_copy: Path) -> None:
    pdf = pack_copy / "report.pdf"
    data = bytearray(pdf.read_bytes())
    data[len(data) // 2] ^= 0x01
    pdf.write_bytes(bytes(data))
    commands = offline_commands(pack_copy)

    signature = run_offline(pack_copy, commands[0])
    sums = run_offline(pack_copy, commands[1])

    assert signature.returncode == 0, signature.stdout + signature.stderr
    assert sums.returncode != 0
    assert "report.pdf: FAILED" in sums.stdout.splitlines()
    assert "report.md: OK" in sums.stdout.splitlines()


HOSTILE_TITLE = 'Latency <img src="http://127.0.0.1:9/x.png"> <script>alert(1)</script> ok'


def test_report_escapes_control_text(
    workspace: Path,
    run_assay: Callable[..., tuple[Result, Path]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    control = workspace / "controls" / "cap-01-latency.yaml"
    text = control.read_text(encoding="utf-8")
    text = text.replace(
        "title: API latency stays within target under load", f"title: '{HOSTILE_TITLE}'"
    )
    text = re.sub(
        r"description: >\n(  .*\n)+",
        "description: '<script>document.title=1</script><img src=\"http://127.0.0.1:9/d.png\">'\n",
        text,
    )
    assert HOSTILE_TITLE in text
    control.write_text(text, encoding="utf-8")

    with caplog.at_level(logging.WARNING):
        _result, pack = run_assay(workspace)

    html = (pack / "report.html").read_text(encoding="utf-8")
    assert "Latency &lt;img src=&#34;http://127.0.0.1:9/x.png&#34;&gt;" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img" not in html
    assert "<script" not in html
    assert "127.0.0.1:9/d.png" not in html
    markdown = (pack / "report.md").read_text(encoding="utf-8")
    assert '&lt;img src="http://127.0.0.1:9/x.png"&gt;' in markdown
    assert "<script>" not in markdown
    blocked = [r.getMessage() for r in caplog.records if "blocked URL" in r.getMessage()]
    assert blocked == []
