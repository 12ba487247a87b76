"""Collector `files`: documents that must exist and be non-empty (runbooks,
architecture and security documents), with their sizes, hashes and times."""

from __future__ import annotations

import glob
import hashlib
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import Field

from assay.errors import CollectorError
from assay.evidence.collectors.base import (
    Collected,
    CollectContext,
    Collector,
    CollectorParams,
    Fact,
    relative_name,
)
from assay.evidence.regular_files import open_regular_file
from assay.timeutil import format_instant

_CHUNK = 1024 * 1024


class FilesParams(CollectorParams):
    paths: list[str] = Field(
        min_length=1,
        description="Files or globs relative to the workspace; each must match at least one non-empty file.",
    )


class Files(Collector):
    name = "files"
    version = "1"
    summary = "Check that documents matching globs exist and are non-empty, with their SHA-256."
    Params = FilesParams
    facts = (
        Fact(name="files", type="int", unit="files", description="Files matched by all the globs together."),
        Fact(name="missing", type="list", description="Globs that matched no file."),
        Fact(name="empty", type="list", description="Matched files of zero bytes (workspace-relative paths)."),
        Fact(name="all_present", type="bool",
             description="True when every glob matched at least one file and no matched file is empty."),
        Fact(name="by_file", type="map",
             description="Map from workspace-relative path to {size_bytes, sha256, modified_at}. "
                         "modified_at is the file system's modification time, which a git "
                         "checkout sets to the checkout time, not the document's last edit."),
    )

    def collect(self, params: FilesParams, context: CollectContext) -> Collected:
        root = context.workspace.resolve()
        by_file: dict[str, dict[str, Any]] = {}
        missing: list[str] = []
        artifacts: list[Path] = []
        for pattern in params.paths:
            if Path(pattern).is_absolute() or ".." in Path(pattern).parts:
                raise CollectorError("paths must stay inside the workspace", path=pattern)
            matched = sorted(Path(p) for p in glob.glob(str(root / pattern), recursive=True))
            matched = [p for p in matched if p.is_file()]
            if not matched:
                missing.append(pattern)
            for path in matched:
                resolved = path.resolve()
                if not resolved.is_relative_to(root):
                    raise CollectorError("resolves outside the workspace (a symbolic link?)", path=pattern)
                name = relative_name(root, resolved)
                if name in by_file:
                    continue
                by_file[name] = _describe(resolved, name)
                artifacts.append(resolved)
        empty = sorted(name for name, info in by_file.items() if info["size_bytes"] == 0)
        failures = [f"no file matches {pattern!r}" for pattern in missing]
        failures += [f"{name} is empty" for name in empty]
        facts = {
            "files": len(by_file),
            "missing": missing,
            "empty": empty,
            "all_present": not missing and not empty,
            "by_file": by_file,
        }
        return Collected(facts=facts, artifacts=artifacts, failures=failures)


def _describe(path: Path, name: str) -> dict[str, Any]:
    digest = hashlib.sha256()
    # open_regular_file checks the opened descriptor, so a FIFO swapped in
    # after the glob's is_file() check is rejected instead of blocking.
    with open_regular_file(path, name) as handle:
        try:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
            stat = os.fstat(handle.fileno())
        except OSError as exc:
            raise CollectorError(f"cannot read file: {exc.strerror}", path=name) from exc
    modified = datetime.fromtimestamp(stat.st_mtime, tz=UTC)
    return {"size_bytes": stat.st_size, "sha256": digest.hexdigest(), "modified_at": format_instant(modified)}
