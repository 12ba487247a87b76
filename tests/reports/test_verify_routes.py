"""Every route of VERIFY.md run as written, `--trusted-keys` pinning and `--checkpoint`."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from assay import keys
from assay.cli import app

LINUX_HEADING = "## Without assay: Linux (OpenSSL 3 and GNU coreutils)"
MACOS_HEADING = "## Without assay: macOS (OpenSSH ssh-keygen and shasum)"
# The offline routes that check each signature file. SHA256SUMS lists every
# other file, so a change to any of those fails both offline routes.
SIGNATURE_ROUTES = {
    "SHA256SUMS.sig": {"linux"},
    "manifest.sshsig": {"macos"},
    "manifest.sig": set(),
    "attestation.dsse.json": set(),
}
EVIDENCE_BLOB = "evidence blob"
CHANGED_FILES = [
    EVIDENCE_BLOB,
    "SHA256SUMS",
    "manifest.json",
    "records.jsonl",
    "report.pdf",
    "report.md",
    "report.html",
    "VERIFY.md",
    "public-key.pem",
    "public-key.pub",
    "allowed_signers",
    *SIGNATURE_ROUTES,
]

needs_route_tools = pytest.mark.skipif(
    any(shutil.which(tool) is None for tool in ("openssl", "sha256sum", "ssh-keygen", "shasum")),
    reason="VERIFY.md's routes need openssl, sha256sum, ssh-keygen and shasum on PATH",
)


def sh_blocks(pack: Path) -> dict[str, list[str]]:
    """Return the lines of each ```sh block in VERIFY.md, by the heading above it."""
    text = (pack / "VERIFY.md").read_text(encoding="utf-8")
    blocks = {}
    for match in re.finditer(r"^(## [^\n]*)\n(?:(?!^## ).)*?^```sh\n(.*?)^```$", text, re.MULTILINE | re.DOTALL):
        blocks[match.group(1)] = match.group(2).splitlines()
    return blocks


def run_block(pack: Path, lines: list[str]) -> list[subprocess.CompletedProcess[str]]:
    return [
        subprocess.run(line, shell=True, cwd=pack, capture_output=True, text=True, timeout=60, check=False)
        for line in lines
    ]


def relative_name(pack: Path, name: str) -> str:
    if name == EVIDENCE_BLOB:
        blob = sorted((pack / "evidence" / "sha256").iterdir())[0]
        return blob.relative_to(pack).as_posix()
    return name


def flip_middle_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def verify(runner: CliRunner, pack: Path, *options: str) -> Result:
    return runner.invoke(app, ["verify", str(pack), *options])


def test_verify_md_has_two_sh_blocks(demo_pack: Path) -> None:
    blocks = sh_blocks(demo_pack)

    assert list(blocks) == [LINUX_HEADING, MACOS_HEADING]
    assert blocks[LINUX_HEADING] == [
        "openssl pkeyutl -verify -pubin -inkey public-key.pem -rawin -in SHA256SUMS "
        "-sigfile SHA256SUMS.sig",
        "sha256sum -c SHA256SUMS",
    ]
    assert blocks[MACOS_HEADING] == [
        "ssh-keygen -Y verify -f allowed_signers -I assay-signer -n assay-pack@example.invalid "
        "-s manifest.sshsig < SHA256SUMS",
        "shasum -a 256 -c SHA256SUMS",
    ]


@needs_route_tools
def test_routes_pass_on_good_pack(demo_pack: Path) -> None:
    blocks = sh_blocks(demo_pack)
    listed = [line.split("  ", 1)[1] for line in (demo_pack / "SHA256SUMS").read_text().splitlines()]

    openssl, sha256sum = run_block(demo_pack, blocks[LINUX_HEADING])
    ssh_keygen, shasum = run_block(demo_pack, blocks[MACOS_HEADING])

    for result in (openssl, sha256sum, ssh_keygen, shasum):
        assert result.returncode == 0, result.args + result.stdout + result.stderr
    assert "Signature Verified Successfully" in openssl.stdout
    assert 'Good "assay-pack@example.invalid" signature for assay-signer' in ssh_keygen.stdout
    for name in listed:
        assert f"{name}: OK" in sha256sum.stdout.splitlines()
        assert f"{name}: OK" in shasum.stdout.splitlines()


@needs_route_tools
@pytest.mark.parametrize("name", CHANGED_FILES)
def test_changed_byte_fails_routes(
    runner: CliRunner, pack_copy: Path, public_key_path: Path, name: str
) -> None:
    relative = relative_name(pack_copy, name)
    blocks = sh_blocks(pack_copy)
    flip_middle_byte(pack_copy / relative)
    expected_routes = SIGNATURE_ROUTES.get(relative, {"linux", "macos"})

    linux = run_block(pack_copy, blocks[LINUX_HEADING])
    macos = run_block(pack_copy, blocks[MACOS_HEADING])
    assay = verify(runner, pack_copy, "--key", str(public_key_path))

    assert assay.exit_code == 4, assay.output
    assert relative in assay.stderr
    assert any(result.returncode != 0 for result in linux) == ("linux" in expected_routes)
    assert any(result.returncode != 0 for result in macos) == ("macos" in expected_routes)
    if relative not in SIGNATURE_ROUTES and relative != "SHA256SUMS":
        # The digest tools name the changed file, but the signature tools check SHA256SUMS only.
        assert f"{relative}: FAILED" in linux[1].stdout.splitlines()
        assert f"{relative}: FAILED" in macos[1].stdout.splitlines()


def test_verify_trusted_keys_accepts_any_match(
    runner: CliRunner, demo_pack: Path, public_key_path: Path, tmp_path: Path
) -> None:
    trusted = tmp_path / "trusted"
    _private, other_public = keys.generate(tmp_path / "other")
    trusted.mkdir()
    shutil.copyfile(other_public, trusted / "other.pem")
    shutil.copyfile(public_key_path, trusted / "signer.pem")

    result = verify(runner, demo_pack, "--trusted-keys", str(trusted))

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == f"verified: {demo_pack}"


def test_verify_trusted_keys_rejects_other_signer(
    runner: CliRunner, demo_pack: Path, public_key_path: Path, tmp_path: Path
) -> None:
    trusted = tmp_path / "trusted"
    _private, other_public = keys.generate(tmp_path / "other")
    trusted.mkdir()
    shutil.copyfile(other_public, trusted / "other.pem")
    signer = keys.fingerprint(keys.load_public_key(public_key_path.read_bytes(), "test"))

    result = verify(runner, demo_pack, "--trusted-keys", str(trusted))

    assert result.exit_code == 4
    assert result.stderr == (
        f"FAILED: public-key.pem: the pack was signed by {signer}, not by any of the 1 trusted "
        f"keys in {trusted}\n"
    )


def test_verify_trusted_keys_empty_exits_5(
    runner: CliRunner, demo_pack: Path, tmp_path: Path
) -> None:
    result = verify(runner, demo_pack, "--trusted-keys", str(tmp_path))

    assert result.exit_code == 5
    assert result.stderr == f"FAILED: {tmp_path}: no trusted public keys (*.pem) found\n"


def test_verify_trusted_keys_and_key_exits_2(
    runner: CliRunner, demo_pack: Path, public_key_path: Path, tmp_path: Path
) -> None:
    result = verify(runner, demo_pack, "--key", str(public_key_path), "--trusted-keys", str(tmp_path))

    assert result.exit_code == 2
    assert result.stderr == "error: give only one of --key, --fingerprint and --trusted-keys\n"


def export_checkpoint(runner: CliRunner, workspace: Path, out: Path) -> dict[str, object]:
    result = runner.invoke(app, ["ledger", "checkpoint", str(workspace), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return json.loads(out.read_bytes())


def test_verify_checkpoint_of_same_run(
    runner: CliRunner, demo_pack: Path, public_key_path: Path, tmp_path: Path
) -> None:
    checkpoint = export_checkpoint(runner, demo_pack.parents[1], tmp_path / "checkpoint.json")

    result = verify(
        runner, demo_pack, "--key", str(public_key_path), "--checkpoint", str(tmp_path / "checkpoint.json")
    )

    assert result.exit_code == 0, result.output
    expected = f"ok: records extend the checkpoint in {tmp_path / 'checkpoint.json'} at seq {checkpoint['seq']}"
    assert expected in result.stdout.splitlines()


def test_verify_checkpoint_extended_by_later_run(
    runner: CliRunner,
    demo_pack: Path,
    public_key_path: Path,
    tmp_path: Path,
    run_assay: Callable[..., tuple[Result, Path]],
) -> None:
    export_checkpoint(runner, demo_pack.parents[1], tmp_path / "checkpoint.json")
    workspace = tmp_path / "ws"
    shutil.copytree(demo_pack.parents[1], workspace)
    _result, later = run_assay(workspace, "--now", "2026-12-05T09:00:00Z")

    result = verify(
        runner, later, "--key", str(public_key_path), "--checkpoint", str(tmp_path / "checkpoint.json")
    )

    assert later.name.startswith("20261205T090000Z-")
    assert result.exit_code == 0, result.output


def test_verify_checkpoint_of_rebuilt_ledger_exits_4(
    runner: CliRunner,
    demo_pack: Path,
    public_key_path: Path,
    tmp_path: Path,
    run_assay: Callable[..., tuple[Result, Path]],
) -> None:
    # The same workspace, key and inputs with a ledger rebuilt from scratch at
    # another time: every record hash differs from the original chain.
    checkpoint = export_checkpoint(runner, demo_pack.parents[1], tmp_path / "checkpoint.json")
    workspace = tmp_path / "ws"
    shutil.copytree(demo_pack.parents[1], workspace)
    shutil.rmtree(workspace / "reports")
    for ledger_file in (workspace / "evidence").glob("ledger.db*"):
        ledger_file.unlink()
    _result, rebuilt = run_assay(workspace, "--now", "2026-12-04T22:15:00Z")

    result = verify(
        runner, rebuilt, "--key", str(public_key_path), "--checkpoint", str(tmp_path / "checkpoint.json")
    )

    seq = checkpoint["seq"]
    assert result.exit_code == 4, result.output
    assert result.stderr.startswith(f"FAILED: records.jsonl: record seq {seq}: hash ")
    assert result.stderr.endswith("is not the exported checkpoint's " + str(checkpoint["hash"])[:16] + "...; the chain does not extend it\n")


def test_verify_checkpoint_with_altered_signature_exits_4(
    runner: CliRunner, demo_pack: Path, public_key_path: Path, tmp_path: Path
) -> None:
    path = tmp_path / "checkpoint.json"
    checkpoint = export_checkpoint(runner, demo_pack.parents[1], path)
    checkpoint["body"]["signature"] = "A" * 88  # type: ignore[index]
    path.write_text(json.dumps(checkpoint), encoding="utf-8")

    result = verify(runner, demo_pack, "--key", str(public_key_path), "--checkpoint", str(path))

    assert result.exit_code == 4, result.output
    assert result.stderr == (
        f"FAILED: {path}: the checkpoint's body does not match the body_sha256 of its header; "
        "the file was altered, so use the checkpoint file as it was exported\n"
    )


def test_verify_forged_checkpoint_signature_exits_4(
    runner: CliRunner, demo_pack: Path, public_key_path: Path, tmp_path: Path
) -> None:
    from assay.evidence.records import canonical, record_hash, sha256_hex

    path = tmp_path / "checkpoint.json"
    checkpoint = export_checkpoint(runner, demo_pack.parents[1], path)
    body, header = checkpoint["body"], checkpoint["header"]
    body["signature"] = "A" * 86 + "=="  # type: ignore[index]
    header["body_sha256"] = sha256_hex(canonical(body))  # type: ignore[index]
    checkpoint["hash"] = record_hash(canonical(header))
    path.write_text(json.dumps(checkpoint), encoding="utf-8")

    result = verify(runner, demo_pack, "--key", str(public_key_path), "--checkpoint", str(path))

    assert result.exit_code == 4, result.output
    assert result.stderr.startswith(
        f"FAILED: {path}: checkpoint signature does not verify with key SHA256:"
    )


def test_verify_follows_latest_pointer(
    runner: CliRunner, demo_pack: Path, public_key_path: Path
) -> None:
    result = verify(runner, demo_pack.parent / "LATEST", "--key", str(public_key_path))

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"checking {demo_pack}, which LATEST names"
    assert lines[-1] == f"verified: {demo_pack}"
