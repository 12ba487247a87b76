"""Altered audit packs, folders and zips, never crash `verify_pack`.

A pack is built once from a one-control workspace. Each example alters one
file of a copy. Without re-signing, verification must fail with
VerificationError or VerificationUnavailable. Re-signed with the pack's own
key, so that the change reaches the manifest, record and evidence parsers,
it must either verify or fail with one of those errors. Zipped packs with
altered bytes or hostile member names must be rejected the same way.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import warnings
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from assay import keys
from assay.cli import app
from assay.errors import VerificationError, VerificationUnavailable
from assay.keys import SigningKey
from assay.reports import dsse, sshsig
from assay.reports.pack import PREDICATE_TYPE
from assay.reports.period_pack import zip_pack
from assay.reports.verify import VerifyReport, verify_pack
from fuzz.harness import scratch_workspace, time_limit, write_files
from fuzz.mutations import mutated
from fuzz.samples import DATA
from fuzz.strategies import awkward_text, dump_json, restructured_json, restructured_ndjson
from fuzz.workspace_files import FILES

NOW = "2026-12-04T20:15:00Z"
INSTANT = datetime(2026, 12, 4, 20, 15, tzinfo=UTC)
VERIFY_ERRORS = (VerificationError, VerificationUnavailable)
# The module-scoped pack is read, never changed, so reusing it across examples is safe.
fixture_settings = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def built_pack(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SigningKey]:
    root = tmp_path_factory.mktemp("fuzz-pack") / "ws"
    files = dict(FILES)
    files["assay.yaml"] = FILES["assay.yaml"] + b'signing_key: ".assay/signing-key.pem"\n'
    files["inputs/k6-summary.json"] = (DATA / "k6" / "k6-summary-export-default.json").read_bytes()
    write_files(root, files)
    keys.generate(root / ".assay")
    runner = CliRunner(env={"ASSAY_SIGNING_KEY": None, "ASSAY_LEDGER": None, "ASSAY_NOW": None})
    result = runner.invoke(app, ["run", str(root), "--now", NOW])
    assert result.exit_code == 0, result.output
    pack = Path((root / "reports" / "LATEST").read_text(encoding="utf-8").strip())
    return pack, keys.load_signing_key_file(root / ".assay" / "signing-key.pem")


def pack_files(pack: Path) -> list[str]:
    return sorted(path.relative_to(pack).as_posix() for path in pack.rglob("*") if path.is_file())


def verify(pack: Path, key: SigningKey) -> VerifyReport | Exception:
    try:
        with time_limit():
            return verify_pack(pack, pinned_key=key.public)
    except VERIFY_ERRORS as error:
        assert str(error).strip(), f"{type(error).__name__} with an empty message"
        return error


def reseal(pack: Path, key: SigningKey, manifest_bytes: bytes | None = None) -> None:
    """Sign the pack again as it is now, as a holder of the signing key could.

    The file entries of manifest.json are recomputed unless `manifest_bytes`
    is given, which is then signed as it is.
    """
    if manifest_bytes is None:
        manifest = json.loads((pack / "manifest.json").read_bytes())
        manifest["files"] = [
            {"path": entry["path"], "sha256": hashlib.sha256((pack / entry["path"]).read_bytes()).hexdigest(),
             "size": (pack / entry["path"]).stat().st_size}
            for entry in manifest["files"]
        ]
        manifest_bytes = (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()
    (pack / "manifest.json").write_bytes(manifest_bytes)
    (pack / "manifest.sig").write_bytes(key.sign(manifest_bytes))
    digests = {
        name: hashlib.sha256((pack / name).read_bytes()).hexdigest()
        for name in pack_files(pack)
        if name not in ("SHA256SUMS", "SHA256SUMS.sig", "manifest.sig", "manifest.sshsig",
                        "attestation.dsse.json")
    }
    sums = "".join(f"{digest}  {path}\n" for path, digest in sorted(digests.items())).encode()
    (pack / "SHA256SUMS").write_bytes(sums)
    (pack / "SHA256SUMS.sig").write_bytes(key.sign(sums))
    (pack / "manifest.sshsig").write_text(sshsig.sign(key.private, sums, sshsig.PACK_NAMESPACE))
    try:
        predicate = {k: v for k, v in json.loads(manifest_bytes).items() if k != "files"}
    except (ValueError, AttributeError, RecursionError):
        predicate = {}
    try:
        statement = dsse.statement(sorted(digests.items()), PREDICATE_TYPE, predicate)
        envelope = dsse.sign_statement(key, statement)
    except ValueError:
        # A generated manifest may hold values that canonical JSON rejects.
        statement = dsse.statement(sorted(digests.items()), PREDICATE_TYPE, {})
        envelope = dsse.sign_statement(key, statement)
    (pack / "attestation.dsse.json").write_bytes(envelope)


def test_built_pack_verifies(built_pack: tuple[Path, SigningKey]) -> None:
    pack, key = built_pack
    assert isinstance(verify(pack, key), VerifyReport)
    with scratch_workspace() as root:
        copy = root / pack.name
        shutil.copytree(pack, copy)
        reseal(copy, key)
        # The re-signing helper alone must keep the pack valid, or the
        # re-signed properties below would test nothing.
        assert isinstance(verify(copy, key), VerifyReport)


@fixture_settings
@given(data=st.data())
def test_altered_file_fails_verification(built_pack: tuple[Path, SigningKey], data: st.DataObject) -> None:
    pack, key = built_pack
    name = data.draw(st.sampled_from(pack_files(pack)), label="file")
    original = (pack / name).read_bytes()
    content = data.draw(mutated(original), label="content")
    if content == original:
        return
    with scratch_workspace() as root:
        copy = root / pack.name
        shutil.copytree(pack, copy)
        (copy / name).write_bytes(content)
        result = verify(copy, key)
    # manifest.sshsig and attestation.dsse.json are armored text and JSON, so a
    # change of whitespace in them may leave the signature itself intact.
    if name not in ("manifest.sshsig", "attestation.dsse.json"):
        assert not isinstance(result, VerifyReport), f"{name} was altered but the pack verifies"


@fixture_settings
@given(data=st.data())
def test_resealed_manifest_fails_cleanly(built_pack: tuple[Path, SigningKey], data: st.DataObject) -> None:
    pack, key = built_pack
    manifest = json.loads((pack / "manifest.json").read_bytes())
    edited = data.draw(restructured_json(manifest), label="manifest")
    with scratch_workspace() as root:
        copy = root / pack.name
        shutil.copytree(pack, copy)
        reseal(copy, key, dump_json(edited))
        verify(copy, key)


def parsed_records(content: bytes) -> list[object] | None:
    """Return the JSON value of each line of a records.jsonl, or None when one is not JSON."""
    try:
        return [json.loads(line) for line in content.split(b"\n") if line.strip()]
    except ValueError:
        return None


@fixture_settings
@given(data=st.data())
def test_resealed_records_fail_cleanly(built_pack: tuple[Path, SigningKey], data: st.DataObject) -> None:
    pack, key = built_pack
    original = (pack / "records.jsonl").read_bytes()
    if data.draw(st.booleans(), label="bytes"):
        content = data.draw(mutated(original), label="records")
    else:
        content = data.draw(restructured_ndjson(original), label="records")
    with scratch_workspace() as root:
        copy = root / pack.name
        shutil.copytree(pack, copy)
        (copy / "records.jsonl").write_bytes(content)
        reseal(copy, key)
        result = verify(copy, key)
    # records.jsonl is read as JSON, so a change of spacing or key order alone may verify.
    if parsed_records(content) != parsed_records(original):
        assert not isinstance(result, VerifyReport), "altered records.jsonl verifies after re-signing"


@fixture_settings
@given(data=st.data())
def test_altered_zip_fails_cleanly(built_pack: tuple[Path, SigningKey], data: st.DataObject) -> None:
    pack, key = built_pack
    with scratch_workspace() as root:
        copy = root / pack.name
        shutil.copytree(pack, copy)
        archive = zip_pack(copy, INSTANT)
        original = archive.read_bytes()
        content = data.draw(mutated(original), label="zip")
        archive.write_bytes(content)
        result = verify(archive, key)
    # A change in the zip's own metadata (a timestamp, an extra field) may
    # leave every member intact, so the pack may still verify: verify()
    # has already checked that nothing else escaped.
    assert result is not None


member_names = st.one_of(
    awkward_text,
    st.sampled_from(["../evil", "/abs/path", "a/../../b", "C:\\x", "a\\..\\b", "./manifest.json",
                     "manifest.json/", "pack//x", "pack/\x00x", "pack/" + "a" * 300, "pack/.",
                     "MANIFEST.JSON", "pack/manifest.json"]),
)


@fixture_settings
@given(data=st.data())
def test_zip_with_hostile_members_rejected(built_pack: tuple[Path, SigningKey], data: st.DataObject) -> None:
    pack, key = built_pack
    entries: list[tuple[zipfile.ZipInfo, bytes]] = [
        (zipfile.ZipInfo(f"{pack.name}/{name}"), (pack / name).read_bytes()) for name in pack_files(pack)
    ]
    for _ in range(data.draw(st.integers(1, 3), label="changes")):
        name = data.draw(member_names, label="member")
        info = zipfile.ZipInfo(name) if name else zipfile.ZipInfo("x")
        if data.draw(st.booleans(), label="symlink"):
            info.external_attr = (0o120777 << 16)
        entries.append((info, data.draw(st.binary(max_size=64), label="data")))
    with scratch_workspace() as root:
        archive = root / "pack.zip"
        with warnings.catch_warnings(), zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as handle:
            # zipfile warns when it writes a duplicate name, which is one of the hostile cases.
            warnings.simplefilter("ignore", UserWarning)
            for info, content in entries:
                handle.writestr(info, content)
        result = verify(archive, key)
        escaped = [path for path in root.parent.iterdir() if path.name in ("evil", "b")]
    assert not escaped, f"extraction wrote outside its folder: {escaped}"
    assert not isinstance(result, VerifyReport), "a zip with extra members verifies"
