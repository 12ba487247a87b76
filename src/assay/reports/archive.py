"""Safe extraction of a zipped pack (`assay pack --zip`) for `assay verify`.

A zip from outside is checked against its own SHA256SUMS and manifest.json
before any file is written: member names, links, duplicates, the file list,
sizes, member count and expanded size. Only then are the members extracted,
each read with a byte budget of its declared size, into a folder the caller
owns. The signatures and digests are verified later on that folder, so these
checks keep a hostile archive from writing outside the folder or exhausting
the disk or memory. They do not decide whether the pack is authentic.
"""

from __future__ import annotations

import json
import lzma
import stat
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from assay import sizes
from assay.errors import UsageError, VerificationError
from assay.reports.pack import MANIFEST, SIGNATURE_FILES, SUMS

# Sum of the members' uncompressed sizes, in bytes, above which a zipped
# pack is rejected before extraction. `assay verify --max-expanded-size`
# (`verify_pack(max_expanded_bytes=...)`) sets another limit.
MAX_EXPANDED_BYTES = 1024**3
# Number of members above which a zipped pack is rejected.
MAX_MEMBERS = 10_000
# manifest.json and SHA256SUMS are read into memory before extraction, so
# each may be at most this many bytes.
MAX_INDEX_BYTES = 16 * 1024**2
_CHUNK = 1024**2
# The exceptions zipfile raises while it reads a damaged member. A CRC
# mismatch or bad header raises BadZipFile. Bad deflate, bzip2 or LZMA data
# raises zlib.error, OSError or LZMAError, and a truncated stream EOFError.
# A local file name that is not UTF-8 raises UnicodeDecodeError, and an
# unknown compression method NotImplementedError. Encrypted members are
# rejected before they are read.
_MEMBER_READ_ERRORS = (
    zipfile.BadZipFile, zlib.error, lzma.LZMAError, OSError, EOFError, UnicodeDecodeError,
    NotImplementedError,
)
# Bit 0 of a zip member's general purpose flags marks it as encrypted.
_ENCRYPTED_FLAG = 0x1

def parse_size(text: str, option: str = "--max-expanded-size") -> int:
    """Parse a size such as `2GiB` or `500MB` (see assay.sizes); raise UsageError naming `option`."""
    try:
        return sizes.parse_size(text)
    except sizes.SizeError as exc:
        raise UsageError(f"{option} {exc}") from None


def _error_name(exc: BaseException) -> str:
    """Return the qualified name of a read error, such as zipfile.BadZipFile or zlib.error."""
    kind = type(exc)
    return kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"


def _reject(entry: str, reason: str) -> VerificationError:
    return VerificationError(f"{entry}: {reason}, so the zipped pack was not extracted")


def _member_path(info: zipfile.ZipInfo) -> PurePosixPath:
    name = info.filename
    if "\\" in name or name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise _reject(name, "absolute path or backslash in a member name")
    path = PurePosixPath(name)
    if not path.parts:
        raise _reject(repr(name), "empty member name")
    if any(part in ("..", "") for part in path.parts) or path.is_absolute():
        raise _reject(name, "member path leaves the pack folder")
    # The high 16 bits of external_attr hold a Unix st_mode. A mode without
    # file type bits (as `assay pack --zip` writes) is a regular file.
    mode = info.external_attr >> 16
    if info.flag_bits & _ENCRYPTED_FLAG:
        raise _reject(name, "member is encrypted, and `assay pack --zip` never encrypts")
    if stat.S_ISLNK(mode):
        raise _reject(name, "member is a symbolic link")
    if stat.S_IFMT(mode) and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise _reject(name, "member is not a regular file (hard link, device or other special file)")
    return path


def _read_index(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    if info.file_size > MAX_INDEX_BYTES:
        raise _reject(info.filename, f"larger than {MAX_INDEX_BYTES} bytes")
    try:
        with archive.open(info) as stream:
            data = stream.read(MAX_INDEX_BYTES + 1)
    except _MEMBER_READ_ERRORS as exc:
        raise _reject(info.filename, f"cannot be read ({_error_name(exc)}: {exc})") from exc
    if len(data) != info.file_size:
        raise _reject(info.filename, "size does not match the size the archive declares")
    return data


def _listed_sizes(archive: zipfile.ZipFile, files: dict[str, zipfile.ZipInfo]) -> dict[str, int | None]:
    """Return each file the pack lists, with its manifest size (None when the manifest gives none)."""
    for required in (MANIFEST, SUMS):
        if required not in files:
            raise _reject(required, "missing from the zipped pack")
    sums_text = _read_index(archive, files[SUMS]).decode("utf-8", "replace")
    listed: dict[str, int | None] = {}
    for number, line in enumerate(sums_text.splitlines(), start=1):
        name = line[66:] if len(line) > 66 and line[64:66] == "  " else None
        if name is None:
            raise _reject(f"{SUMS}:{number}", "not a `sha256sum` line")
        listed[name] = None
    manifest_bytes = _read_index(archive, files[MANIFEST])
    try:
        manifest = json.loads(manifest_bytes)
    except (ValueError, RecursionError) as exc:
        # json.loads raises RecursionError on arrays or objects nested too deeply.
        raise _reject(MANIFEST, f"not valid JSON ({exc})") from exc
    entries = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(entries, list):
        raise _reject(MANIFEST, "not a pack manifest with a `files` list")
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
            raise _reject(MANIFEST, f"files[{index}] is not an object with a string `path`")
        size = entry.get("size")
        # bool is a subclass of int, but `true` is no size.
        valid_size = isinstance(size, int) and not isinstance(size, bool)
        listed[entry["path"]] = size if valid_size else None
    return listed


def extract_pack(
    zip_path: Path,
    target: Path,
    *,
    max_expanded_bytes: int = MAX_EXPANDED_BYTES,
    max_members: int = MAX_MEMBERS,
) -> Path:
    """Check the zipped pack `zip_path`, extract it under `target` and return the pack folder.

    Raises VerificationError naming the first offending member.
    """
    try:
        archive = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        # ValueError includes the UnicodeDecodeError of a member name flagged as UTF-8 that is not.
        raise VerificationError(f"{zip_path}: not a readable zip archive ({exc})") from exc
    with archive:
        infos = archive.infolist()
        if len(infos) > max_members:
            raise _reject(
                str(zip_path), f"{len(infos)} members, over the limit of {max_members}"
            )
        total = sum(info.file_size for info in infos)
        if total > max_expanded_bytes:
            raise _reject(
                str(zip_path),
                f"expands to {total} bytes, over the limit of {max_expanded_bytes} bytes "
                "(raise it with --max-expanded-size)",
            )
        files = _check_members(infos)
        listed = _listed_sizes(archive, files)
        allowed = set(listed) | SIGNATURE_FILES | {MANIFEST, SUMS}
        for name in sorted(set(files) - allowed):
            raise _reject(
                files[name].filename, f"in the zipped pack but not listed in {SUMS} or {MANIFEST}"
            )
        for name in sorted(set(listed) - set(files)):
            raise _reject(name, f"listed in the pack's {SUMS} or {MANIFEST} but missing from the zip")
        for name, size in sorted(listed.items()):
            if size is not None and files[name].file_size != size:
                raise _reject(
                    files[name].filename,
                    f"the zip declares {files[name].file_size} bytes, {MANIFEST} {size}",
                )
        root = _root_of(infos)
        folder = target / root if root else target
        for name, info in sorted(files.items()):
            _extract_member(archive, info, folder / name)
    return folder


def _root_of(infos: list[zipfile.ZipInfo]) -> str:
    """Return the single top-level folder all members share ("" when there is none)."""
    tops = {PurePosixPath(info.filename).parts[0] for info in infos}
    if len(tops) == 1 and all(len(PurePosixPath(i.filename).parts) > 1 or i.is_dir() for i in infos):
        return tops.pop()
    return ""


def _check_members(infos: list[zipfile.ZipInfo]) -> dict[str, zipfile.ZipInfo]:
    """Check each member's path and type; return the files keyed by their path inside the pack."""
    paths = [_member_path(info) for info in infos]
    root = _root_of(infos)
    files: dict[str, zipfile.ZipInfo] = {}
    seen: set[str] = set()
    for info, path in zip(infos, paths, strict=True):
        key = path.as_posix().rstrip("/")
        if key.casefold() in seen:
            raise _reject(info.filename, "member name appears more than once (ignoring case)")
        seen.add(key.casefold())
        if info.is_dir():
            continue
        inside = PurePosixPath(*path.parts[1:]) if root else path
        files[inside.as_posix()] = info
    return files


def _extract_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, destination: Path) -> None:
    """Write one member, failing when it expands past its declared size."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    try:
        with archive.open(info) as source, destination.open("xb") as sink:
            while chunk := source.read(_CHUNK):
                written += len(chunk)
                if written > info.file_size:
                    raise _reject(info.filename, "expands past the size the archive declares")
                sink.write(chunk)
    except _MEMBER_READ_ERRORS as exc:
        raise VerificationError(
            f"{info.filename}: cannot be extracted ({_error_name(exc)}: {exc})"
        ) from exc
    if written != info.file_size:
        raise _reject(info.filename, "size does not match the size the archive declares")
