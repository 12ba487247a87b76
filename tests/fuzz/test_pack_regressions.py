"""Exact inputs on which `verify_pack` raises something other than VerificationError.

Each test is a strict xfail: it records a fault in assay/reports/verify.py,
archive.py, sshsig.py or dsse.py, and starts to fail once the fault is fixed, which
is the signal to remove its mark and its entry in test_packs.KNOWN_FAULTS.
"""

from __future__ import annotations

import json
import shutil
import zipfile
import zlib
from pathlib import Path

import pytest

from assay.errors import VerificationError
from assay.keys import SigningKey
from assay.reports.period_pack import zip_pack
from assay.reports.verify import verify_pack
from fuzz.test_packs import INSTANT, built_pack, reseal  # noqa: F401 - built_pack is a fixture

Pack = tuple[Path, SigningKey]


@pytest.fixture
def copy(built_pack: Pack, tmp_path: Path) -> Path:
    pack, _key = built_pack
    target = tmp_path / pack.name
    shutil.copytree(pack, target)
    return target


def resealed_manifest_files_entry(copy: Path, key: SigningKey, entry: object) -> None:
    manifest = json.loads((copy / "manifest.json").read_bytes())
    manifest["files"].append(entry)
    reseal(copy, key, (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode())


@pytest.mark.xfail(strict=True, raises=TypeError,
                   reason="verify._check_files indexes each manifest files entry as a dict")
def test_manifest_files_entry_string(built_pack: Pack, copy: Path) -> None:
    resealed_manifest_files_entry(copy, built_pack[1], "x")
    with pytest.raises(VerificationError):
        verify_pack(copy, pinned_key=built_pack[1].public)


@pytest.mark.xfail(strict=True, raises=KeyError,
                   reason="verify._check_files reads entry['path'] without checking it exists")
def test_manifest_files_entry_without_path(built_pack: Pack, copy: Path) -> None:
    resealed_manifest_files_entry(copy, built_pack[1], {})
    with pytest.raises(VerificationError):
        verify_pack(copy, pinned_key=built_pack[1].public)


@pytest.mark.xfail(strict=True, raises=TypeError,
                   reason="verify._check_records merges record.body_fields() into a dict "
                          "before verify_chain has checked the body hash")
def test_record_body_list(built_pack: Pack, copy: Path) -> None:
    lines = (copy / "records.jsonl").read_bytes().splitlines()
    first = json.loads(lines[0])
    first["body"] = [None]
    lines[0] = json.dumps(first).encode()
    (copy / "records.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    reseal(copy, built_pack[1])
    with pytest.raises(VerificationError):
        verify_pack(copy, pinned_key=built_pack[1].public)


@pytest.mark.xfail(strict=True, raises=zipfile.BadZipFile,
                   reason="archive._read_index does not catch a CRC mismatch of SHA256SUMS")
def test_zip_sums_crc_mismatch(built_pack: Pack, copy: Path) -> None:
    archive = copy.with_name(copy.name + ".zip")
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_STORED) as handle:
        for path in sorted(p for p in copy.rglob("*") if p.is_file()):
            handle.write(path, f"{copy.name}/{path.relative_to(copy).as_posix()}")
    data = bytearray(archive.read_bytes())
    data[data.find((copy / "SHA256SUMS").read_bytes()[:64])] ^= 1
    archive.write_bytes(bytes(data))
    with pytest.raises(VerificationError):
        verify_pack(archive, pinned_key=built_pack[1].public)


@pytest.mark.xfail(strict=True, raises=zlib.error,
                   reason="archive._read_index does not catch invalid deflate data in SHA256SUMS")
def test_zip_sums_invalid_deflate_data(built_pack: Pack, copy: Path) -> None:
    archive = zip_pack(copy, INSTANT)
    with zipfile.ZipFile(archive) as handle:
        info = handle.getinfo(f"{copy.name}/SHA256SUMS")
    data = bytearray(archive.read_bytes())
    # The member's data starts after its 30-byte local header, name and extra field.
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    data[start:start + 4] = b"\xff\xff\xff\xff"
    archive.write_bytes(bytes(data))
    with pytest.raises(VerificationError):
        verify_pack(archive, pinned_key=built_pack[1].public)


@pytest.mark.xfail(strict=True, raises=TypeError,
                   reason="verify._check_records puts manifest['run'] in a set without checking "
                          "it is a string")
def test_manifest_run_list(built_pack: Pack, copy: Path) -> None:
    manifest = json.loads((copy / "manifest.json").read_bytes())
    manifest["run"] = [manifest["run"]]
    reseal(copy, built_pack[1], (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode())
    with pytest.raises(VerificationError):
        verify_pack(copy, pinned_key=built_pack[1].public)


@pytest.mark.xfail(strict=True, raises=zlib.error,
                   reason="archive._extract_member catches BadZipFile, OSError and EOFError "
                          "but not zlib.error")
def test_zip_member_invalid_deflate_data(built_pack: Pack, copy: Path) -> None:
    archive = zip_pack(copy, INSTANT)
    with zipfile.ZipFile(archive) as handle:
        info = handle.getinfo(f"{copy.name}/report.html")
    data = bytearray(archive.read_bytes())
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    data[start:start + 4] = b"\xff\xff\xff\xff"
    archive.write_bytes(bytes(data))
    with pytest.raises(VerificationError):
        verify_pack(archive, pinned_key=built_pack[1].public)


@pytest.mark.xfail(strict=True, raises=ValueError,
                   reason="sshsig._dearmor catches binascii.Error, but base64.b64decode raises "
                          "plain ValueError for a non-ASCII character")
def test_sshsig_non_ascii_byte(built_pack: Pack, copy: Path) -> None:
    armored = (copy / "manifest.sshsig").read_bytes()
    lines = armored.split(b"\n")
    lines[1] = b"\xd5" + lines[1][1:]
    (copy / "manifest.sshsig").write_bytes(b"\n".join(lines))
    with pytest.raises(VerificationError):
        verify_pack(copy, pinned_key=built_pack[1].public)


@pytest.mark.xfail(strict=True, raises=ValueError,
                   reason="dsse._b64 catches binascii.Error, but base64.b64decode raises plain "
                          "ValueError for a non-ASCII character")
def test_attestation_payload_non_ascii(built_pack: Pack, copy: Path) -> None:
    envelope = json.loads((copy / "attestation.dsse.json").read_bytes())
    envelope["payload"] = "\u2028" + envelope["payload"]
    (copy / "attestation.dsse.json").write_text(json.dumps(envelope), encoding="utf-8")
    with pytest.raises(VerificationError):
        verify_pack(copy, pinned_key=built_pack[1].public)


@pytest.mark.xfail(strict=True, raises=AttributeError,
                   reason="verify._check_records calls .get on manifest['ledger_head'] without "
                          "checking it is an object")
def test_manifest_ledger_head_null(built_pack: Pack, copy: Path) -> None:
    manifest = json.loads((copy / "manifest.json").read_bytes())
    manifest["ledger_head"] = None
    reseal(copy, built_pack[1], (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode())
    with pytest.raises(VerificationError):
        verify_pack(copy, pinned_key=built_pack[1].public)
