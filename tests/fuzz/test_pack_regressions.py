"""Exact hostile packs on which `verify_pack` once raised something other than VerificationError.

Each test alters one file of a pack (re-signing it where the change must
reach a parser behind the signatures) and checks the exact message of the
VerificationError that now rejects it. Found by the properties of
test_packs.py, or by reading the same parsers for the same kind of fault.
"""

from __future__ import annotations

import json
import shutil
import struct
import zipfile
from pathlib import Path
from typing import Any

import pytest

from assay.errors import VerificationError
from assay.keys import SigningKey
from assay.reports import dsse
from assay.reports.pack import PREDICATE_TYPE
from assay.reports.period_pack import zip_pack
from assay.reports.verify import verify_pack
from fuzz.test_packs import INSTANT, built_pack, reseal  # noqa: F401 - built_pack is a fixture

Pack = tuple[Path, SigningKey]
# Deeper than the recursion limit of json.loads, so parsing it raises RecursionError.
DEEP_JSON = b"[" * 100_000 + b"]" * 100_000
MALFORMED = "the manifest is signed but malformed, so the pack cannot be verified"


@pytest.fixture
def copy(built_pack: Pack, tmp_path: Path) -> Path:
    pack, _key = built_pack
    target = tmp_path / pack.name
    shutil.copytree(pack, target)
    return target


def rejection(pack: Path, key: SigningKey) -> str:
    """Run verify_pack, assert it raised VerificationError and return the message."""
    with pytest.raises(VerificationError) as caught:
        verify_pack(pack, pinned_key=key.public)
    return str(caught.value)


def read_manifest(copy: Path) -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads((copy / "manifest.json").read_bytes())
    return manifest


def reseal_manifest(copy: Path, key: SigningKey, manifest: dict[str, Any]) -> None:
    reseal(copy, key, (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode())


def resealed_manifest_files_entry(copy: Path, key: SigningKey, entry: object) -> None:
    manifest = read_manifest(copy)
    manifest["files"].append(entry)
    reseal_manifest(copy, key, manifest)


def member_data_offset(archive: Path, name: str) -> int:
    """Return where the data of member `name` starts: after its 30-byte local header, name and extra field."""
    with zipfile.ZipFile(archive) as handle:
        info = handle.getinfo(name)
    return info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)


def central_header_offset(data: bytes, name: str) -> int:
    """Return the offset of the central directory header of member `name` in the zip bytes `data`."""
    encoded = name.encode()
    position = data.find(b"PK\x01\x02")
    while position != -1:
        name_length = struct.unpack_from("<H", data, position + 28)[0]
        if data[position + 46:position + 46 + name_length] == encoded:
            return position
        position = data.find(b"PK\x01\x02", position + 4)
    raise AssertionError(f"no central directory header for {name}")


def test_manifest_files_entry_string(built_pack: Pack, copy: Path) -> None:
    resealed_manifest_files_entry(copy, built_pack[1], "x")
    index = len(read_manifest(copy)["files"]) - 1
    message = rejection(copy, built_pack[1])
    assert message == (
        f"manifest.json: field files[{index}] must be an object with path, size and sha256, "
        f"not 'x'; {MALFORMED}"
    )


def test_manifest_files_entry_without_path(built_pack: Pack, copy: Path) -> None:
    resealed_manifest_files_entry(copy, built_pack[1], {})
    index = len(read_manifest(copy)["files"]) - 1
    message = rejection(copy, built_pack[1])
    assert message == f"manifest.json: field files[{index}].path must be a string, not None; {MALFORMED}"


# Each case sets one manifest field to a value of the wrong type and names the message.
MANIFEST_FIELD_CASES = [
    ("key_id", 5, "field key_id must be a string, not 5"),
    ("kind", 5, "field kind must be a string, not 5"),
    ("run", ["r"], "field run must be a run id string, not ['r']"),
    ("ledger_head", None, "field ledger_head must be an object with seq and hash, not None"),
    ("ledger_head", {"seq": "3", "hash": "a"}, "field ledger_head.seq must be an integer, not '3'"),
    ("ledger_head", {"seq": True, "hash": "a"}, "field ledger_head.seq must be an integer, not True"),
    ("ledger_head", {"seq": 3, "hash": 5}, "field ledger_head.hash must be a string, not 5"),
    ("statuses", ["met"], "field statuses must be an object mapping control ids to statuses, not ['met']"),
    ("statuses", {"C-1": 1}, "field statuses['C-1'] must be a status string, not 1"),
    ("pdf_certificate_sha256", 5, "field pdf_certificate_sha256 must be null or 64 lowercase hex digits, not 5"),
    ("files", {}, "field files must be a list of file entries, not {}"),
]


@pytest.mark.parametrize(("field_name", "value", "expected"), MANIFEST_FIELD_CASES)
def test_manifest_field_wrong_type(
    built_pack: Pack, copy: Path, field_name: str, value: object, expected: str
) -> None:
    manifest = read_manifest(copy)
    manifest[field_name] = value
    reseal_manifest(copy, built_pack[1], manifest)
    assert rejection(copy, built_pack[1]) == f"manifest.json: {expected}; {MALFORMED}"


# Each case replaces one field of the first files entry.
FILES_ENTRY_CASES = [
    ("size", True, "field files[0].size must be a byte count (an integer of 0 or more), not True"),
    ("size", -1, "field files[0].size must be a byte count (an integer of 0 or more), not -1"),
    ("size", "10", "field files[0].size must be a byte count (an integer of 0 or more), not '10'"),
    ("sha256", "ABC", "field files[0].sha256 must be 64 lowercase hex digits, not 'ABC'"),
    ("sha256", None, "field files[0].sha256 must be 64 lowercase hex digits, not None"),
]


@pytest.mark.parametrize(("field_name", "value", "expected"), FILES_ENTRY_CASES)
def test_manifest_files_entry_wrong_type(
    built_pack: Pack, copy: Path, field_name: str, value: object, expected: str
) -> None:
    manifest = read_manifest(copy)
    manifest["files"][0][field_name] = value
    reseal_manifest(copy, built_pack[1], manifest)
    assert rejection(copy, built_pack[1]) == f"manifest.json: {expected}; {MALFORMED}"


def test_period_manifest_runs_not_list(built_pack: Pack, copy: Path) -> None:
    manifest = read_manifest(copy)
    manifest["kind"] = "period"
    manifest["runs"] = manifest["run"]
    reseal_manifest(copy, built_pack[1], manifest)
    message = rejection(copy, built_pack[1])
    assert message == (
        f"manifest.json: field runs must be a list of run ids, not {manifest['run']!r}; {MALFORMED}"
    )


def test_period_manifest_run_id_not_string(built_pack: Pack, copy: Path) -> None:
    manifest = read_manifest(copy)
    manifest["kind"] = "period"
    manifest["runs"] = [manifest["run"], 7]
    reseal_manifest(copy, built_pack[1], manifest)
    assert rejection(copy, built_pack[1]) == f"manifest.json: field runs[1] must be a run id string, not 7; {MALFORMED}"


def test_manifest_nested_too_deeply(built_pack: Pack, copy: Path) -> None:
    reseal(copy, built_pack[1], DEEP_JSON)
    message = rejection(copy, built_pack[1])
    assert message.startswith("manifest.json: not valid JSON (maximum recursion depth exceeded")


def test_record_body_list(built_pack: Pack, copy: Path) -> None:
    lines = (copy / "records.jsonl").read_bytes().splitlines()
    first = json.loads(lines[0])
    first["body"] = [None]
    lines[0] = json.dumps(first).encode()
    (copy / "records.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    reseal(copy, built_pack[1])
    assert rejection(copy, built_pack[1]) == "records.jsonl:1: record seq 1: the body is not a JSON object"


def test_record_header_run_list(built_pack: Pack, copy: Path) -> None:
    # The run of each header was once looked up in a set before verify_chain checked the header.
    lines = (copy / "records.jsonl").read_bytes().splitlines()
    first = json.loads(lines[0])
    first["header"]["run"] = [first["header"]["run"]]
    lines[0] = json.dumps(first).encode()
    (copy / "records.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    reseal(copy, built_pack[1])
    assert rejection(copy, built_pack[1]) == "records.jsonl: record seq 1: stored hash is not the hash of the header"


def test_record_header_kind_list(built_pack: Pack, copy: Path) -> None:
    # check_record once looked the kind up in a frozenset, which raised TypeError for a list.
    lines = (copy / "records.jsonl").read_bytes().splitlines()
    first = json.loads(lines[0])
    kind = first["header"]["kind"]
    first["header"]["kind"] = [kind]
    lines[0] = json.dumps(first).encode()
    (copy / "records.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    reseal(copy, built_pack[1])
    assert rejection(copy, built_pack[1]) == f"records.jsonl: record seq 1: unknown kind [{kind!r}]"


def test_record_line_nested_too_deeply(built_pack: Pack, copy: Path) -> None:
    lines = (copy / "records.jsonl").read_bytes().splitlines()
    lines[0] = DEEP_JSON
    (copy / "records.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    reseal(copy, built_pack[1])
    message = rejection(copy, built_pack[1])
    assert message.startswith("records.jsonl:1: not a record line (maximum recursion depth exceeded")


def test_manifest_run_list(built_pack: Pack, copy: Path) -> None:
    manifest = read_manifest(copy)
    run = manifest["run"]
    manifest["run"] = [run]
    reseal_manifest(copy, built_pack[1], manifest)
    assert rejection(copy, built_pack[1]) == f"manifest.json: field run must be a run id string, not [{run!r}]; {MALFORMED}"


def test_manifest_ledger_head_null(built_pack: Pack, copy: Path) -> None:
    manifest = read_manifest(copy)
    manifest["ledger_head"] = None
    reseal_manifest(copy, built_pack[1], manifest)
    message = rejection(copy, built_pack[1])
    assert message == f"manifest.json: field ledger_head must be an object with seq and hash, not None; {MALFORMED}"


def test_sshsig_non_ascii_byte(built_pack: Pack, copy: Path) -> None:
    armored = (copy / "manifest.sshsig").read_bytes()
    lines = armored.split(b"\n")
    lines[1] = b"\xd5" + lines[1][1:]
    (copy / "manifest.sshsig").write_bytes(b"\n".join(lines))
    assert rejection(copy, built_pack[1]) == (
        "manifest.sshsig: SSHSIG signature of SHA256SUMS is invalid: armored signature is not "
        "valid base64 (string argument should contain only ASCII characters)"
    )


def test_attestation_payload_non_ascii(built_pack: Pack, copy: Path) -> None:
    envelope = json.loads((copy / "attestation.dsse.json").read_bytes())
    envelope["payload"] = "\u2028" + envelope["payload"]
    (copy / "attestation.dsse.json").write_text(json.dumps(envelope), encoding="utf-8")
    assert rejection(copy, built_pack[1]) == (
        "attestation.dsse.json: payload is not valid base64 (string argument should contain only "
        "ASCII characters)"
    )


def test_attestation_signature_non_ascii(built_pack: Pack, copy: Path) -> None:
    envelope = json.loads((copy / "attestation.dsse.json").read_bytes())
    envelope["signatures"][0]["sig"] = "\u00e9" + envelope["signatures"][0]["sig"]
    (copy / "attestation.dsse.json").write_text(json.dumps(envelope), encoding="utf-8")
    assert rejection(copy, built_pack[1]) == (
        "attestation.dsse.json: sig is not valid base64 (string argument should contain only "
        "ASCII characters)"
    )


def test_attestation_nested_too_deeply(built_pack: Pack, copy: Path) -> None:
    (copy / "attestation.dsse.json").write_bytes(DEEP_JSON)
    message = rejection(copy, built_pack[1])
    assert message.startswith("attestation.dsse.json: not valid JSON (maximum recursion depth exceeded")


def test_attestation_subject_not_list(built_pack: Pack, copy: Path) -> None:
    predicate = {key: value for key, value in read_manifest(copy).items() if key != "files"}
    statement = dsse.statement([], PREDICATE_TYPE, predicate)
    statement["subject"] = 5
    (copy / "attestation.dsse.json").write_bytes(dsse.sign_statement(built_pack[1], statement))
    assert rejection(copy, built_pack[1]) == "attestation.dsse.json: the statement's subject is not a list"


def test_zip_sums_crc_mismatch(built_pack: Pack, copy: Path) -> None:
    archive = copy.with_name(copy.name + ".zip")
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_STORED) as handle:
        for path in sorted(p for p in copy.rglob("*") if p.is_file()):
            handle.write(path, f"{copy.name}/{path.relative_to(copy).as_posix()}")
    data = bytearray(archive.read_bytes())
    data[data.find((copy / "SHA256SUMS").read_bytes()[:64])] ^= 1
    archive.write_bytes(bytes(data))
    assert rejection(archive, built_pack[1]) == (
        f"{copy.name}/SHA256SUMS: cannot be read (zipfile.BadZipFile: Bad CRC-32 for file "
        f"'{copy.name}/SHA256SUMS'), so the zipped pack was not extracted"
    )


def test_zip_sums_invalid_deflate_data(built_pack: Pack, copy: Path) -> None:
    archive = zip_pack(copy, INSTANT)
    start = member_data_offset(archive, f"{copy.name}/SHA256SUMS")
    data = bytearray(archive.read_bytes())
    data[start:start + 4] = b"\xff\xff\xff\xff"
    archive.write_bytes(bytes(data))
    assert rejection(archive, built_pack[1]) == (
        f"{copy.name}/SHA256SUMS: cannot be read (zlib.error: Error -3 while decompressing data: "
        "invalid block type), so the zipped pack was not extracted"
    )


def test_zip_member_invalid_deflate_data(built_pack: Pack, copy: Path) -> None:
    archive = zip_pack(copy, INSTANT)
    start = member_data_offset(archive, f"{copy.name}/report.html")
    data = bytearray(archive.read_bytes())
    data[start:start + 4] = b"\xff\xff\xff\xff"
    archive.write_bytes(bytes(data))
    assert rejection(archive, built_pack[1]) == (
        f"{copy.name}/report.html: cannot be extracted (zlib.error: Error -3 while decompressing "
        "data: invalid block type)"
    )


def test_zip_unknown_compression_method(built_pack: Pack, copy: Path) -> None:
    archive = zip_pack(copy, INSTANT)
    data = bytearray(archive.read_bytes())
    # The compression method is at offset 10 of a central directory header.
    position = central_header_offset(bytes(data), f"{copy.name}/SHA256SUMS")
    struct.pack_into("<H", data, position + 10, 99)
    archive.write_bytes(bytes(data))
    assert rejection(archive, built_pack[1]) == (
        f"{copy.name}/SHA256SUMS: cannot be read (NotImplementedError: That compression method "
        "is not supported), so the zipped pack was not extracted"
    )


def test_zip_encrypted_member(built_pack: Pack, copy: Path) -> None:
    archive = zip_pack(copy, INSTANT)
    data = bytearray(archive.read_bytes())
    # Bit 0 of the flags at offset 8 of a central directory header marks an encrypted member.
    position = central_header_offset(bytes(data), f"{copy.name}/manifest.json")
    data[position + 8] |= 0x01
    archive.write_bytes(bytes(data))
    assert rejection(archive, built_pack[1]) == (
        f"{copy.name}/manifest.json: member is encrypted, and `assay pack --zip` never encrypts, "
        "so the zipped pack was not extracted"
    )


def test_zip_member_name_not_utf8(built_pack: Pack, copy: Path) -> None:
    (copy / "caf\u00e9.txt").write_bytes(b"x")
    archive = zip_pack(copy, INSTANT)
    # zipfile sets the UTF-8 flag for the non-ASCII name, whose bytes are then made invalid UTF-8.
    data = archive.read_bytes().replace("caf\u00e9".encode(), b"caf\xff\xfe")
    archive.write_bytes(data)
    message = rejection(archive, built_pack[1])
    assert message.startswith(f"{archive}: not a readable zip archive ('utf-8' codec can't decode byte 0xff")


def test_zip_empty_member_name(built_pack: Pack, copy: Path, tmp_path: Path) -> None:
    archive = tmp_path / "pack.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        for path in sorted(p for p in copy.rglob("*") if p.is_file()):
            handle.write(path, f"{copy.name}/{path.relative_to(copy).as_posix()}")
        handle.writestr(zipfile.ZipInfo(""), b"x")
    assert rejection(archive, built_pack[1]) == "'': empty member name, so the zipped pack was not extracted"


def test_zip_manifest_nested_too_deeply(built_pack: Pack, copy: Path) -> None:
    (copy / "manifest.json").write_bytes(DEEP_JSON)
    archive = zip_pack(copy, INSTANT)
    message = rejection(archive, built_pack[1])
    assert message.startswith("manifest.json: not valid JSON (maximum recursion depth exceeded")


def test_zip_manifest_files_entry_path_not_string(built_pack: Pack, copy: Path) -> None:
    manifest = read_manifest(copy)
    manifest["files"].append({"path": 1, "size": 1})
    (copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    archive = zip_pack(copy, INSTANT)
    index = len(manifest["files"]) - 1
    assert rejection(archive, built_pack[1]) == (
        f"manifest.json: files[{index}] is not an object with a string `path`, so the zipped pack "
        "was not extracted"
    )
