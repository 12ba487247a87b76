"""`assay verify` against the example pack: pinning, tampering and forged re-signing."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import algos, cms, core, tsp
from typer.testing import CliRunner, Result

from assay import keys
from assay.cli import app
from assay.engine import run as run_module
from assay.errors import VerificationError
from assay.evidence.ledger import checkpoint_message
from assay.evidence.timestamp import checkpoint_digest, verify_timestamp
from assay.evidence.records import canonical, record_hash
from assay.keys import SigningKey
from assay.reports import dsse, sshsig
from assay.reports.pack import PREDICATE_TYPE
from evidence.test_timestamp import make_authority, openssl_reply
from support.signed_workspace import NOW as SIGNED_NOW
from support.signed_workspace import signed_workspace

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


def test_verify_resigned_malformed_manifest_exits_4(
    runner: CliRunner, pack_copy: Path, public_key_path: Path, signing_key: SigningKey
) -> None:
    reseal(pack_copy, signing_key, ledger_head=None)

    result = verify(runner, pack_copy, "--key", str(public_key_path))

    assert result.exit_code == 4, result.output
    assert result.stderr == (
        "FAILED: manifest.json: field ledger_head must be an object with seq and hash, not None; "
        "the manifest is signed but malformed, so the pack cannot be verified\n"
    )


runner_without_env = CliRunner(env={"ASSAY_SIGNING_KEY": None, "ASSAY_LEDGER": None, "ASSAY_NOW": None})


def signed_run(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, change: Callable[[dict[str, Any]], None]
) -> Path:
    """Record a run of `workspace` whose evidence record bodies `change` edits; return its pack.

    The pack is written and signed by `assay run` itself, as a signer who
    writes malformed records would.
    """
    original = run_module._evidence_body

    def changed_body(*args: Any) -> dict[str, Any]:
        body = original(*args)
        change(body)
        return body

    monkeypatch.setattr(run_module, "_evidence_body", changed_body)
    result = runner_without_env.invoke(app, ["run", str(workspace), "--now", SIGNED_NOW])
    monkeypatch.undo()
    assert result.exit_code == 0, result.output
    return Path((workspace / "reports" / "LATEST").read_text(encoding="utf-8").strip())


@pytest.fixture
def verification_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv(keys.SIGNING_KEY_ENV, raising=False)
    return signed_workspace(tmp_path / "ws")


def verify_signed(workspace: Path, pack: Path, *options: str) -> Result:
    public_key = workspace / ".assay" / "signing-key.pub.pem"
    return runner_without_env.invoke(app, ["verify", str(pack), "--key", str(public_key), *options])


def rechain(items: list[dict[str, Any]], key: SigningKey) -> dict[str, Any]:
    """Recompute every record's body hash, prev, hash and checkpoint signature; return the new head.

    This is what a holder of the signing key could do to make edited record
    bodies pass the chain checks.
    """
    prev = items[0]["header"]["prev"]
    for item in items:
        header, body = item["header"], item["body"]
        seq = header["seq"]
        if header["kind"] == "checkpoint" and body is not None:
            body["head"], body["size"] = prev, seq - 1
            message = checkpoint_message(run=header["run"], size=seq - 1, head=prev, key_id=key.key_id)
            body["signature"] = base64.b64encode(key.sign(message)).decode("ascii")
        if body is not None:
            header["body_sha256"] = hashlib.sha256(canonical(body)).hexdigest()
        header["prev"] = prev
        item["hash"] = prev = record_hash(canonical(header))
    return {"seq": items[-1]["header"]["seq"], "hash": prev}


@pytest.mark.parametrize(("artifacts", "problem"), [
    ("x", "artifacts is not a list"),
    ([{"path": "inputs/x.json"}], "artifact {'path': 'inputs/x.json'} has no sha256 of 64 lowercase hex digits"),
])
def test_verify_resigned_malformed_artifacts_exits_4(
    runner: CliRunner,
    pack_copy: Path,
    public_key_path: Path,
    signing_key: SigningKey,
    artifacts: object,
    problem: str,
) -> None:
    run = json.loads((pack_copy / "manifest.json").read_bytes())["run"]
    items = read_records(pack_copy)
    evidence = next(
        item["body"] for item in items
        if item["header"]["run"] == run and item["header"]["kind"] == "evidence" and item["body"]["artifacts"]
    )
    evidence["artifacts"] = artifacts
    head = rechain(items, signing_key)
    write_records(pack_copy, items)
    reseal(pack_copy, signing_key, ledger_head=head)

    result = verify(runner, pack_copy, "--key", str(public_key_path))

    name = f"{evidence['control']}/{evidence['evidence']}"
    assert result.exit_code == 4, result.output
    assert result.stderr == f"FAILED: records.jsonl: evidence record {name}: {problem}\n"


def test_reevaluate_observed_at_out_of_range_exits_4(
    verification_workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The offset moves this instant before 0001-01-01T00:00:00Z, so converting it to UTC overflows.
    def shift_observed_at(body: dict[str, Any]) -> None:
        if body["observed_at"] is not None:
            body["observed_at"] = "0001-01-01T00:00:00+01:00"

    pack = signed_run(verification_workspace, monkeypatch, shift_observed_at)

    result = verify_signed(verification_workspace, pack, "--reevaluate")

    assert result.exit_code == 4, result.output
    assert result.stderr == (
        "FAILED: records.jsonl: record seq 4: control TST-01: a record it was judged from is "
        "malformed, so it cannot be re-evaluated (date value out of range)\n"
    )


CHECKPOINT = {"format": "assay-checkpoint", "format_version": 1, "seq": 5, "hash": "ab" * 32}
TIMESTAMP_NONCE = 77


@pytest.fixture(scope="module")
def timestamp_token(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """Return a token of `openssl ts -reply` over CHECKPOINT's digest with TIMESTAMP_NONCE."""
    folder = tmp_path_factory.mktemp("tsa") / "authority"
    make_authority(folder, "Test TSA")
    query = tsp.TimeStampReq({
        "version": "v1",
        "message_imprint": tsp.MessageImprint({
            "hash_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
            "hashed_message": checkpoint_digest(CHECKPOINT),
        }),
        "nonce": TIMESTAMP_NONCE,
        "cert_req": True,
    })
    token: bytes = core.Sequence.load(openssl_reply(folder, query.dump()))[1].dump()
    return token


def stamped_checkpoint(token: bytes, **fields: Any) -> dict[str, Any]:
    stamp = {"tsa": "http://127.0.0.1/tsa", "nonce": str(TIMESTAMP_NONCE),
             "token": base64.b64encode(token).decode("ascii")}
    return {**CHECKPOINT, **fields, "timestamp": stamp}


def timestamp_rejection(document: dict[str, Any]) -> str:
    with pytest.raises(VerificationError) as caught:
        verify_timestamp(document, Path("checkpoint.json"))
    return str(caught.value)


def test_timestamp_token_verifies(timestamp_token: bytes) -> None:
    verified = verify_timestamp(stamped_checkpoint(timestamp_token), Path("checkpoint.json"))

    assert verified.tsa_subject == "Common Name: Test TSA"


def test_timestamp_malformed_certificate_rejected(timestamp_token: bytes) -> None:
    certificate = cms.ContentInfo.load(timestamp_token)["content"]["certificates"][0].chosen.dump()
    data = bytearray(timestamp_token)
    # 0x63 is an [APPLICATION 3] tag, which no CertificateChoices alternative has.
    data[timestamp_token.index(certificate)] = 0x63

    message = timestamp_rejection(stamped_checkpoint(bytes(data)))

    assert message.startswith(
        "checkpoint.json: timestamp: not an RFC 3161 timestamp token (Value [APPLICATION 3] did "
        "not match the class and tag of any of the alternatives in asn1crypto.cms.CertificateChoices"
    )


def test_timestamp_unknown_digest_algorithm_rejected(timestamp_token: bytes) -> None:
    token = cms.ContentInfo.load(timestamp_token)
    token["content"]["signer_infos"][0]["digest_algorithm"] = {"algorithm": "1.2.3.4"}

    message = timestamp_rejection(stamped_checkpoint(token.dump(force=True)))

    assert message == (
        "checkpoint.json: timestamp: the token's CMS signature cannot be checked (AttributeError: "
        "module 'cryptography.hazmat.primitives.hashes' has no attribute '1.2.3.4')"
    )


def test_timestamp_two_signer_infos_rejected(timestamp_token: bytes) -> None:
    token = cms.ContentInfo.load(timestamp_token)
    signer_info = token["content"]["signer_infos"][0]
    token["content"]["signer_infos"] = cms.SignerInfos([signer_info, signer_info])

    message = timestamp_rejection(stamped_checkpoint(token.dump(force=True)))

    assert message == (
        "checkpoint.json: timestamp: the token's CMS signature cannot be checked "
        "(CMSExtractionError: signer_infos should contain exactly one entry)"
    )


def test_timestamp_checkpoint_with_nan_rejected(timestamp_token: bytes) -> None:
    # json.loads reads NaN, which RFC 8785 cannot write, so the checkpoint has no digest.
    document = stamped_checkpoint(timestamp_token, note=float("nan"))

    message = timestamp_rejection(document)

    assert message == (
        "checkpoint.json: the checkpoint has a value outside canonical JSON (value cannot be "
        "canonicalised: nan is not representable in JCS)"
    )
