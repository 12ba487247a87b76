"""`assay verify` against the example pack: pinning, tampering and forged re-signing."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from assay import keys
from assay.cli import app
from assay.evidence.records import canonical, record_hash
from assay.keys import SigningKey
from assay.reports import dsse, sshsig
from assay.reports.pack import PREDICATE_TYPE

# Placeholder for the first file under evidence/sha256/, whose name is a
# SHA-256 known only once the pack is built.
EVIDENCE_BLOB = "evidence blob"
PACK_FILES = [
    EVIDENCE_BLOB,
    "report.md",
    "report.html",
    "report.pdf",
    "records.jsonl",
    "manifest.json",
    "SHA256SUMS",
    "SHA256SUMS.sig",
    "manifest.sig",
    "manifest.sshsig",
    "attestation.dsse.json",
    "public-key.pem",
    "public-key.pub",
    "allowed_signers",
    "VERIFY.md",
]


def pack_file(pack: Path, name: str) -> str:
    """Return the pack-relative path of `name` from PACK_FILES, resolving EVIDENCE_BLOB."""
    if name == EVIDENCE_BLOB:
        blob = sorted((pack / "evidence" / "sha256").iterdir())[0]
        return blob.relative_to(pack).as_posix()
    return name


def flip_middle_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def verify(runner: CliRunner, pack: Path, *pin: str) -> Result:
    return runner.invoke(app, ["verify", str(pack), *pin])


def reseal(pack: Path, key: SigningKey, **manifest_changes: Any) -> None:
    """Sign the pack again as it is now, as a holder of the signing key could.

    Recomputes every file entry of manifest.json, applies `manifest_changes`,
    rewrites SHA256SUMS, signs both files with `key` and writes
    manifest.sshsig and attestation.dsse.json again.
    """
    manifest = json.loads((pack / "manifest.json").read_bytes())
    files = []
    for entry in manifest["files"]:
        data = (pack / entry["path"]).read_bytes()
        files.append(
            {"path": entry["path"], "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
        )
    manifest["files"] = files
    manifest.update(manifest_changes)
    manifest_bytes = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
    (pack / "manifest.json").write_bytes(manifest_bytes)
    (pack / "manifest.sig").write_bytes(key.sign(manifest_bytes))

    digests = {entry["path"]: entry["sha256"] for entry in files}
    digests["manifest.json"] = hashlib.sha256(manifest_bytes).hexdigest()
    sums = "".join(f"{digest}  {path}\n" for path, digest in sorted(digests.items()))
    (pack / "SHA256SUMS").write_bytes(sums.encode())
    (pack / "SHA256SUMS.sig").write_bytes(key.sign(sums.encode()))
    (pack / "manifest.sshsig").write_text(
        sshsig.sign(key.private, sums.encode(), sshsig.PACK_NAMESPACE)
    )
    predicate = {name: value for name, value in manifest.items() if name != "files"}
    document = dsse.statement(sorted(digests.items()), PREDICATE_TYPE, predicate)
    (pack / "attestation.dsse.json").write_bytes(dsse.sign_statement(key, document))


def read_records(pack: Path) -> list[dict[str, Any]]:
    lines = (pack / "records.jsonl").read_bytes().splitlines()
    return [json.loads(line) for line in lines]


def write_records(pack: Path, items: list[dict[str, Any]]) -> None:
    (pack / "records.jsonl").write_bytes(b"".join(canonical(item) + b"\n" for item in items))


def run_record_index(
    pack: Path, items: list[dict[str, Any]], kind: str, control: str | None
) -> int:
    """Return the index in `items` of the pack's run record of `kind` (and `control`)."""
    run = json.loads((pack / "manifest.json").read_bytes())["run"]
    for index, item in enumerate(items):
        header = item["header"]
        if header["run"] != run or header["kind"] != kind:
            continue
        if control is None or item["body"]["control"] == control:
            return index
    raise AssertionError(f"no {kind} record for {control} in the run {run}")


@pytest.fixture
def signing_key(demo_pack: Path, monkeypatch: pytest.MonkeyPatch) -> SigningKey:
    monkeypatch.delenv(keys.SIGNING_KEY_ENV, raising=False)
    return keys.load_signing_key(demo_pack.parents[1] / ".assay" / "signing-key.pem")


@pytest.fixture
def other_key_dir(tmp_path: Path) -> Path:
    keys.generate(tmp_path / "other-key")
    return tmp_path / "other-key"


def test_verify_with_key(runner: CliRunner, demo_pack: Path, public_key_path: Path) -> None:
    result = verify(runner, demo_pack, "--key", str(public_key_path))

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    fingerprint = keys.fingerprint(keys.load_public_key(public_key_path.read_bytes(), "test"))
    assert lines[0] == f"ok: signer is the pinned key {fingerprint}"
    assert "ok: manifest.sig and SHA256SUMS.sig verify" in lines
    assert "ok: manifest.sshsig verifies in the namespace assay-pack@example.invalid" in lines
    listed = len((demo_pack / "SHA256SUMS").read_bytes().splitlines())
    assert f"ok: {listed} files match their SHA-256 and size; no file is unlisted" in lines
    assert "ok: attestation.dsse.json verifies and names every file of SHA256SUMS" in lines
    assert "ok: public-key.pub and allowed_signers contain the signer's key" in lines
    records = len((demo_pack / "records.jsonl").read_bytes().splitlines())
    assert lines[-4].startswith(f"ok: records chain verifies up to seq {records} (")
    blobs = len(list((demo_pack / "evidence" / "sha256").iterdir()))
    artifacts = lines[-3].removeprefix("ok: ").removesuffix(" evidence artifacts of the run are present")
    assert int(artifacts) >= blobs
    assert lines[-2].startswith("ok: report.pdf: PDF signature AssayReportSignature is intact")
    assert lines[-1] == f"verified: {demo_pack}"
    assert result.stderr == ""


def test_verify_with_fingerprint(
    runner: CliRunner, demo_pack: Path, public_key_path: Path
) -> None:
    fingerprint = keys.fingerprint(keys.load_public_key(public_key_path.read_bytes(), "test"))

    result = verify(runner, demo_pack, "--fingerprint", fingerprint)

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == f"verified: {demo_pack}"


def test_verify_without_pin_exits_2(runner: CliRunner, demo_pack: Path) -> None:
    result = verify(runner, demo_pack)

    assert result.exit_code == 2
    assert result.stderr == (
        "error: pin the signer with --key PUBLIC.pem, --fingerprint SHA256:... or --trusted-keys "
        "DIR; the key inside a pack proves nothing about who should have signed it\n"
    )
    assert result.stdout == ""


def test_verify_with_key_and_fingerprint_exits_2(
    runner: CliRunner, demo_pack: Path, public_key_path: Path
) -> None:
    fingerprint = keys.fingerprint(keys.load_public_key(public_key_path.read_bytes(), "test"))

    result = verify(runner, demo_pack, "--key", str(public_key_path), "--fingerprint", fingerprint)

    assert result.exit_code == 2
    assert result.stderr == "error: give only one of --key, --fingerprint and --trusted-keys\n"


def test_verify_missing_key_file_exits_5(
    runner: CliRunner, demo_pack: Path, tmp_path: Path
) -> None:
    missing = tmp_path / "absent.pem"

    result = verify(runner, demo_pack, "--key", str(missing))

    assert result.exit_code == 5
    assert result.stderr == f"FAILED: {missing}: cannot read the key: No such file or directory\n"


@pytest.mark.parametrize("content", ["directory", "not a key", "private key"])
def test_verify_unreadable_key_exits_5(
    runner: CliRunner, demo_pack: Path, tmp_path: Path, content: str
) -> None:
    key_path = tmp_path / "pinned.pem"
    if content == "directory":
        key_path.mkdir()
    elif content == "not a key":
        key_path.write_text("-----BEGIN PUBLIC KEY-----\nnonsense\n-----END PUBLIC KEY-----\n")
    else:
        private_path, _public_path = keys.generate(tmp_path / "keys")
        shutil.copyfile(private_path, key_path)

    result = verify(runner, demo_pack, "--key", str(key_path))

    assert result.exit_code == 5
    assert result.stderr.startswith(f"FAILED: {key_path}: ")


def test_verify_resigned_format_version_exits_5(
    runner: CliRunner, pack_copy: Path, public_key_path: Path, signing_key: SigningKey
) -> None:
    reseal(pack_copy, signing_key, format_version=2)

    result = verify(runner, pack_copy, "--key", str(public_key_path))

    assert result.exit_code == 5
    assert result.stderr == (
        "FAILED: manifest.json: pack format version 2 is not supported "
        "(this assay reads version 1)\n"
    )


def test_reseal_helper_keeps_pack_valid(
    runner: CliRunner, pack_copy: Path, public_key_path: Path, signing_key: SigningKey
) -> None:
    # The forgery tests below rely on reseal() producing a pack that verifies
    # when nothing else changed.
    reseal(pack_copy, signing_key)

    result = verify(runner, pack_copy, "--key", str(public_key_path))

    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("name", PACK_FILES)
def test_verify_flipped_byte_exits_4(
    runner: CliRunner, pack_copy: Path, public_key_path: Path, name: str
) -> None:
    relative = pack_file(pack_copy, name)
    flip_middle_byte(pack_copy / relative)

    result = verify(runner, pack_copy, "--key", str(public_key_path))

    assert result.exit_code == 4, result.output
    assert result.stderr.startswith("FAILED: ")
    assert relative in result.stderr
    assert "verified:" not in result.stdout


@pytest.mark.parametrize("name", PACK_FILES)
def test_verify_deleted_file_exits_4(
    runner: CliRunner, pack_copy: Path, public_key_path: Path, name: str
) -> None:
    relative = pack_file(pack_copy, name)
    (pack_copy / relative).unlink()

    result = verify(runner, pack_copy, "--key", str(public_key_path))

    assert result.exit_code == 4, result.output
    assert result.stderr.startswith(f"FAILED: {relative}: missing from the pack")


@pytest.mark.parametrize("relative", ["notes.txt", ".hidden", "evidence/sha256/extra"])
def test_verify_unlisted_file_exits_4(
    runner: CliRunner, pack_copy: Path, public_key_path: Path, relative: str
) -> None:
    (pack_copy / relative).write_text("added after signing\n")

    result = verify(runner, pack_copy, "--key", str(public_key_path))

    assert result.exit_code == 4, result.output
    assert result.stderr == f"FAILED: {relative}: in the pack but not listed in SHA256SUMS\n"


def test_verify_other_pinned_key_exits_4(
    runner: CliRunner, demo_pack: Path, public_key_path: Path, other_key_dir: Path
) -> None:
    other_public = other_key_dir / "signing-key.pub.pem"

    result = verify(runner, demo_pack, "--key", str(other_public))

    assert result.exit_code == 4
    pack_fingerprint = keys.fingerprint(keys.load_public_key(public_key_path.read_bytes(), "test"))
    other_fingerprint = keys.fingerprint(keys.load_public_key(other_public.read_bytes(), "test"))
    assert result.stderr == (
        f"FAILED: public-key.pem: the pack was signed by {pack_fingerprint}, not by the pinned "
        f"signer {other_fingerprint}\n"
    )


def test_verify_resigned_by_other_key_exits_4(
    runner: CliRunner, pack_copy: Path, public_key_path: Path, other_key_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(keys.SIGNING_KEY_ENV, raising=False)
    other = keys.load_signing_key(other_key_dir / "signing-key.pem")
    reseal(pack_copy, other)

    result = verify(runner, pack_copy, "--key", str(public_key_path))

    assert result.exit_code == 4
    assert result.stderr == "FAILED: manifest.json: signature in manifest.sig does not verify\n"


def test_verify_resigned_with_other_public_key_exits_4(
    runner: CliRunner, pack_copy: Path, public_key_path: Path, other_key_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(keys.SIGNING_KEY_ENV, raising=False)
    other = keys.load_signing_key(other_key_dir / "signing-key.pem")
    shutil.copyfile(other_key_dir / "signing-key.pub.pem", pack_copy / "public-key.pem")
    reseal(pack_copy, other, key_id=other.key_id)

    result = verify(runner, pack_copy, "--key", str(public_key_path))

    assert result.exit_code == 4
    assert result.stderr.startswith(
        f"FAILED: public-key.pem: the pack was signed by {other.key_id}, not by the pinned signer"
    )


def test_verify_pack_run_with_other_key_exits_4(
    runner: CliRunner,
    demo_pack: Path,
    public_key_path: Path,
    other_key_dir: Path,
    tmp_path: Path,
    run_assay: Callable[..., tuple[Result, Path]],
) -> None:
    # A whole new run signs every file and the ledger checkpoint with the other key.
    workspace = tmp_path / "ws"
    shutil.copytree(demo_pack.parents[1], workspace)
    # The forger controls the copy, so the forger's key becomes its trusted key.
    shutil.rmtree(workspace / "keys" / "trusted")
    _result, forged = run_assay(workspace, "--key", str(other_key_dir / "signing-key.pem"))

    result = verify(runner, forged, "--key", str(public_key_path))
    other_result = verify(runner, forged, "--key", str(other_key_dir / "signing-key.pub.pem"))

    assert result.exit_code == 4
    assert "FAILED: public-key.pem: the pack was signed by" in result.stderr
    assert "not by the pinned signer" in result.stderr
    assert other_result.exit_code == 0, other_result.output


def test_verify_resigned_record_body_edit_exits_4(
    runner: CliRunner, pack_copy: Path, public_key_path: Path, signing_key: SigningKey
) -> None:
    # A key holder turns the failing CAP-02 result into a pass and signs the
    # pack again. The record header still commits to the old body.
    items = read_records(pack_copy)
    index = run_record_index(pack_copy, items, "result", "CAP-02")
    assert items[index]["body"]["status"] == "fail"
    items[index]["body"]["status"] = "pass"
    items[index]["body"]["reasons"] = []
    write_records(pack_copy, items)
    reseal(pack_copy, signing_key)

    result = verify(runner, pack_copy, "--key", str(public_key_path))

    seq = items[index]["header"]["seq"]
    assert result.exit_code == 4
    assert result.stderr == (
        f"FAILED: records.jsonl: record seq {seq}: body does not match body_sha256 in the header\n"
    )


def test_verify_resigned_record_rehash_exits_4(
    runner: CliRunner, pack_copy: Path, public_key_path: Path, signing_key: SigningKey
) -> None:
    # The key holder also updates body_sha256 and the record hash, so the
    # next record's prev no longer matches.
    items = read_records(pack_copy)
    index = run_record_index(pack_copy, items, "result", "CAP-02")
    item = items[index]
    item["body"]["status"] = "pass"
    item["header"]["body_sha256"] = hashlib.sha256(canonical(item["body"])).hexdigest()
    item["hash"] = record_hash(canonical(item["header"]))
    write_records(pack_copy, items)
    reseal(pack_copy, signing_key)

    result = verify(runner, pack_copy, "--key", str(public_key_path))

    next_seq = item["header"]["seq"] + 1
    assert result.exit_code == 4
    assert result.stderr == (
        f"FAILED: records.jsonl: record seq {next_seq}: prev does not match the hash of the "
        "record before it\n"
    )


@pytest.mark.parametrize(("kind", "control"), [("result", "CAP-02"), ("checkpoint", None)])
def test_verify_resigned_withheld_run_body_exits_4(
    runner: CliRunner,
    pack_copy: Path,
    public_key_path: Path,
    signing_key: SigningKey,
    kind: str,
    control: str | None,
) -> None:
    # A withheld body keeps every record hash, so without a check a key holder
    # could hide a record of the run and still match the ledger's head.
    items = read_records(pack_copy)
    index = run_record_index(pack_copy, items, kind, control)
    items[index]["body"] = None
    write_records(pack_copy, items)
    reseal(pack_copy, signing_key)

    result = verify(runner, pack_copy, "--key", str(public_key_path))

    seq = items[index]["header"]["seq"]
    assert result.exit_code == 4, result.output
    assert result.stderr.startswith(f"FAILED: records.jsonl: record seq {seq}: ")


def test_verify_resigned_other_run_id_exits_4(
    runner: CliRunner, pack_copy: Path, public_key_path: Path, signing_key: SigningKey
) -> None:
    reseal(pack_copy, signing_key, run="0" * 32)

    result = verify(runner, pack_copy, "--key", str(public_key_path))

    assert result.exit_code == 4, result.output
    assert result.stderr == "FAILED: records.jsonl: the last record is not the run's checkpoint\n"
