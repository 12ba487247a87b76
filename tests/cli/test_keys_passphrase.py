"""Passphrase-encrypted private keys: generation, every loading path, errors and prompts."""

from __future__ import annotations

import fcntl
import logging
import os
import select
import stat
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assay import keys
from assay.cli import app
from assay.errors import KeyFileError
from support.tiny_workspace import CONFIG, FILES_CONTROL, NOW, assay_env, run_assay, tiny_workspace

PASSPHRASE = "correct horse 7 battery"
ENCRYPTED_HEADER = b"-----BEGIN ENCRYPTED PRIVATE KEY-----\n"
PLAIN_HEADER = b"-----BEGIN PRIVATE KEY-----\n"
MANUAL_CONTROL = """\
id: POL-09
title: User access is reviewed every quarter
criteria: [CC6.2]
manual:
  attestation_every: 90d
  role: security-lead
"""
PEOPLE = """\
people:
  alice:
    public_key: people/alice/signing-key.pub.pem
    roles: [security-lead]
"""

runner = CliRunner(env={"ASSAY_SIGNING_KEY": None, "ASSAY_LEDGER": None, "ASSAY_NOW": None,
                        "ASSAY_KEY_PASSPHRASE": None, "COLUMNS": "200"})


@pytest.fixture
def encrypted(tmp_path: Path) -> Path:
    return tiny_workspace(tmp_path / "ws", passphrase=PASSPHRASE.encode())


def private_key_files(folder: Path) -> list[Path]:
    return [folder / keys.PRIVATE_KEY_NAME, folder / keys.PDF_KEY_NAME]


def test_generate_passphrase_encrypts_both_keys(tmp_path: Path) -> None:
    folder = tmp_path / "keys"
    result = runner.invoke(app, ["keys", "generate", "--out", str(folder), "--passphrase"],
                           env={"ASSAY_KEY_PASSPHRASE": PASSPHRASE})

    assert result.exit_code == 0, result.output
    assert PASSPHRASE not in result.output
    for path in private_key_files(folder):
        assert path.read_bytes().startswith(ENCRYPTED_HEADER)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    public = keys.load_public_key((folder / keys.PUBLIC_KEY_NAME).read_bytes(), "public key")
    assert f"fingerprint: {keys.fingerprint(public)}" in result.output


def test_generate_without_passphrase_stays_unencrypted(tmp_path: Path) -> None:
    folder = tmp_path / "keys"
    result = runner.invoke(app, ["keys", "generate", "--out", str(folder)],
                           env={"ASSAY_KEY_PASSPHRASE": PASSPHRASE})

    assert result.exit_code == 0, result.output
    for path in private_key_files(folder):
        assert path.read_bytes().startswith(PLAIN_HEADER)
    assert result.stdout.splitlines()[-1] == (
        "note: ASSAY_KEY_PASSPHRASE is set, but the keys are not encrypted; pass --passphrase "
        "to encrypt them"
    )


def test_generate_passphrase_needs_a_source(tmp_path: Path) -> None:
    folder = tmp_path / "keys"
    result = runner.invoke(app, ["keys", "generate", "--out", str(folder), "--passphrase"])

    assert result.exit_code == 2
    assert "set ASSAY_KEY_PASSPHRASE" in result.output
    assert not folder.exists()


def test_load_encrypted_key_with_passphrase(encrypted: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(keys.PASSPHRASE_ENV, PASSPHRASE)
    loaded = keys.load_signing_key_file(encrypted / ".assay" / keys.PRIVATE_KEY_NAME)

    public = keys.load_public_key((encrypted / ".assay" / keys.PUBLIC_KEY_NAME).read_bytes(), "pub")
    assert loaded.key_id == keys.fingerprint(public)
    assert loaded.pdf is not None


def test_load_encrypted_key_without_passphrase(encrypted: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(keys.PASSPHRASE_ENV, raising=False)
    path = encrypted / ".assay" / keys.PRIVATE_KEY_NAME
    with pytest.raises(KeyFileError) as raised:
        keys.load_signing_key_file(path)

    assert str(raised.value) == (
        f"{path}: the private key is encrypted and there is no terminal to ask for its "
        "passphrase; set ASSAY_KEY_PASSPHRASE to the passphrase (it is unset or empty)"
    )


def test_group_readable_encrypted_key_rejected(encrypted: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(keys.PASSPHRASE_ENV, PASSPHRASE)
    path = encrypted / ".assay" / keys.PRIVATE_KEY_NAME
    path.chmod(0o640)
    with pytest.raises(KeyFileError, match="readable by group or others"):
        keys.load_signing_key_file(path)


def test_run_signs_with_encrypted_keys(encrypted: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    result = runner.invoke(app, ["run", str(encrypted), "--now", NOW],
                           env={"ASSAY_KEY_PASSPHRASE": PASSPHRASE})

    assert result.exit_code == 0, result.output
    assert PASSPHRASE not in result.output
    assert PASSPHRASE not in caplog.text
    # No warning about an unsigned PDF: the encrypted PDF key was loaded.
    assert "report.pdf is not signed" not in caplog.text
    latest = Path((encrypted / "reports" / "LATEST").read_text(encoding="utf-8").strip())
    assert b"/ByteRange" in (latest / "report.pdf").read_bytes()
    verified = runner.invoke(app, ["verify", str(latest), "--key",
                                   str(encrypted / ".assay" / keys.PUBLIC_KEY_NAME)])
    assert verified.exit_code == 0, verified.output


def test_run_without_passphrase_exits_2(encrypted: Path) -> None:
    done = run_assay("run", str(encrypted), "--now", NOW)

    key = encrypted / ".assay" / keys.PRIVATE_KEY_NAME
    assert done.returncode == 2
    assert done.stderr == (
        f"error: {key}: the private key is encrypted and there is no terminal to ask for its "
        "passphrase; set ASSAY_KEY_PASSPHRASE to the passphrase (it is unset or empty)\n"
    )
    assert not (encrypted / "evidence").exists()


def test_run_wrong_passphrase_exits_2(encrypted: Path) -> None:
    wrong = "not the passphrase 42"
    done = run_assay("run", str(encrypted), "--now", NOW, env=assay_env(ASSAY_KEY_PASSPHRASE=wrong))

    key = encrypted / ".assay" / keys.PRIVATE_KEY_NAME
    assert done.returncode == 2
    assert done.stderr == (
        f"error: {key}: wrong passphrase for the encrypted private key (passphrase from "
        "ASSAY_KEY_PASSPHRASE); set ASSAY_KEY_PASSPHRASE to the passphrase the key was created with\n"
    )
    assert wrong not in done.stdout + done.stderr


def test_signing_key_variable_may_hold_encrypted_pem(encrypted: Path) -> None:
    pem = (encrypted / ".assay" / keys.PRIVATE_KEY_NAME).read_text(encoding="ascii")
    (encrypted / ".assay" / keys.PRIVATE_KEY_NAME).unlink()

    without = run_assay("run", str(encrypted), "--now", NOW, "--no-pack",
                        env=assay_env(ASSAY_SIGNING_KEY=pem))
    assert without.returncode == 2
    assert without.stderr.startswith("error: ASSAY_SIGNING_KEY: the private key is encrypted")

    done = run_assay("run", str(encrypted), "--now", NOW, "--no-pack",
                     env=assay_env(ASSAY_SIGNING_KEY=pem, ASSAY_KEY_PASSPHRASE=PASSPHRASE))
    assert done.returncode == 0, done.stderr
    assert PASSPHRASE not in done.stdout + done.stderr


def test_rotate_keeps_encryption(encrypted: Path) -> None:
    env = {"ASSAY_KEY_PASSPHRASE": PASSPHRASE}
    first = runner.invoke(app, ["run", str(encrypted), "--now", NOW, "--no-pack"], env=env)
    assert first.exit_code == 0, first.output

    rotated = runner.invoke(app, ["keys", "rotate", str(encrypted)], env=env)

    assert rotated.exit_code == 0, rotated.output
    assert PASSPHRASE not in rotated.output
    assert (encrypted / ".assay" / keys.PRIVATE_KEY_NAME).read_bytes().startswith(ENCRYPTED_HEADER)
    retired = list((encrypted / ".assay").glob("signing-key.pem.retired-*"))
    assert len(retired) == 1
    assert retired[0].read_bytes().startswith(ENCRYPTED_HEADER)
    second = runner.invoke(app, ["run", str(encrypted), "--now", NOW, "--no-pack"], env=env)
    assert second.exit_code == 0, second.output
    verified = runner.invoke(app, ["ledger", "verify", str(encrypted)])
    assert verified.exit_code == 0, verified.output


def test_rotate_without_passphrase_exits_2(encrypted: Path) -> None:
    rotated = runner.invoke(app, ["keys", "rotate", str(encrypted)])

    assert rotated.exit_code == 2
    assert "set ASSAY_KEY_PASSPHRASE" in rotated.output
    assert list((encrypted / ".assay").glob("*.retired-*")) == []


def _attest_workspace(root: Path) -> Path:
    tiny_workspace(root, passphrase=PASSPHRASE.encode())
    (root / "controls" / "pol-09.yaml").write_text(MANUAL_CONTROL, encoding="utf-8")
    keys.generate(root / "people" / "alice", passphrase=PASSPHRASE.encode())
    config = root / "assay.yaml"
    config.write_text(config.read_text(encoding="utf-8") + PEOPLE, encoding="utf-8")
    return root


def test_attest_with_encrypted_key(tmp_path: Path) -> None:
    root = _attest_workspace(tmp_path / "ws")
    person_key = root / "people" / "alice" / keys.PRIVATE_KEY_NAME
    args = ["attest", "POL-09", str(root), "--by", "alice", "--note", "reviewed 41 accounts",
            "--key", str(person_key), "--now", NOW]

    wrong = runner.invoke(app, args, env={"ASSAY_KEY_PASSPHRASE": "wrong words"})
    assert wrong.exit_code == 2
    assert f"error: {person_key}: wrong passphrase" in wrong.output

    done = runner.invoke(app, args, env={"ASSAY_KEY_PASSPHRASE": PASSPHRASE})
    assert done.exit_code == 0, done.output
    assert "attested POL-09 by alice" in done.output
    assert PASSPHRASE not in done.output


def _controlling_terminal() -> None:
    # Runs in the child after its stdin became the pty's secondary end:
    # a new session whose controlling terminal is that pty, as in a login shell.
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def _wait_for_hidden_input(primary: int) -> None:
    # getpass switches echo off with TCSAFLUSH, which discards input typed
    # before that, so the passphrase is written only once echo is off.
    deadline = time.monotonic() + 60
    while termios.tcgetattr(primary)[3] & termios.ECHO:
        assert time.monotonic() < deadline, "the prompt never switched echo off"
        time.sleep(0.01)


def _converse(argv: list[str], env: dict[str, str], answers: list[tuple[bytes, bytes]]) -> tuple[int, bytes]:
    """Run `argv` on a pseudo-terminal, answering each prompt in turn; return exit code and transcript."""
    primary, secondary = os.openpty()
    process = subprocess.Popen(argv, stdin=secondary, stdout=secondary, stderr=secondary, env=env,
                               preexec_fn=_controlling_terminal, close_fds=True)
    os.close(secondary)
    transcript = b""
    pending = list(answers)
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline:
            readable, _, _ = select.select([primary], [], [], 1)
            if not readable:
                continue
            try:
                chunk = os.read(primary, 4096)
            except OSError:
                break  # EIO: every process holding the secondary end has exited
            if not chunk:
                break
            transcript += chunk
            if pending and transcript.rstrip().endswith(pending[0][0]):
                _wait_for_hidden_input(primary)
                os.write(primary, pending.pop(0)[1] + b"\n")
        code = process.wait(timeout=60)
    finally:
        os.close(primary)
        if process.poll() is None:
            process.kill()
            process.wait()
    assert pending == [], transcript.decode(errors="replace")
    return code, transcript


def test_prompts_on_terminal(tmp_path: Path) -> None:
    folder = tmp_path / "ws" / ".assay"
    secret = PASSPHRASE.encode()
    code, transcript = _converse(
        [sys.executable, "-m", "assay", "keys", "generate", "--out", str(folder), "--passphrase"],
        assay_env(),
        [(b"Passphrase for the new private keys:", secret), (b"Repeat for confirmation:", secret)],
    )
    assert code == 0, transcript.decode(errors="replace")
    assert secret not in transcript
    for path in private_key_files(folder):
        assert path.read_bytes().startswith(ENCRYPTED_HEADER)

    root = tmp_path / "ws"
    (root / "controls").mkdir()
    (root / "controls" / "doc-01.yaml").write_text(
        FILES_CONTROL.format(id="DOC-01", path="assay.yaml"), encoding="utf-8"
    )
    (root / "assay.yaml").write_text(CONFIG, encoding="utf-8")
    # One prompt: the PDF key, encrypted with the same passphrase, reuses the answer.
    key = folder / keys.PRIVATE_KEY_NAME
    code, transcript = _converse(
        [sys.executable, "-m", "assay", "run", str(root), "--now", NOW, "--no-pack"],
        assay_env(), [(f"Passphrase for {key}:".encode(), secret)],
    )
    assert code == 0, transcript.decode(errors="replace")
    assert secret not in transcript
    assert transcript.count(b"Passphrase for") == 1
    assert b"DOC-01" in transcript


def test_plain_key_ignores_passphrase_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    workspace = tiny_workspace(tmp_path / "ws")
    monkeypatch.setenv(keys.PASSPHRASE_ENV, PASSPHRASE)

    loaded = keys.load_signing_key_file(workspace / ".assay" / keys.PRIVATE_KEY_NAME)

    assert loaded.pdf is not None
