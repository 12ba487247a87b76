import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from assay.errors import CollectorError
from assay.evidence.collectors.base import CollectContext
from assay.evidence.collectors.files import Files, FilesParams

NOW = datetime(2026, 12, 4, 20, 15, tzinfo=UTC)


def collect(workspace: Path, *paths: str):
    return Files().collect(FilesParams(paths=list(paths)), CollectContext(workspace=workspace, now=NOW))


@pytest.fixture()
def workspace(tmp_path: Path) -> Path:
    runbooks = tmp_path / "runbooks"
    runbooks.mkdir()
    (runbooks / "incident-response.md").write_text("# Incident response\n", encoding="utf-8")
    (runbooks / "scaling.md").write_text("# Scaling\n", encoding="utf-8")
    (runbooks / "empty.md").write_bytes(b"")
    return tmp_path


def test_present_files_hashed(workspace):
    collected = collect(workspace, "runbooks/incident-response.md", "runbooks/scaling.md")
    entry = collected.facts["by_file"]["runbooks/scaling.md"]
    assert collected.facts["files"] == 2
    assert collected.facts["all_present"] is True
    assert entry["size_bytes"] == 10
    assert entry["sha256"] == hashlib.sha256(b"# Scaling\n").hexdigest()
    assert collected.failures == []


def test_missing_glob_fails(workspace):
    collected = collect(workspace, "runbooks/scaling.md", "runbooks/database-maintenance.md")
    assert collected.facts["missing"] == ["runbooks/database-maintenance.md"]
    assert collected.failures == ["no file matches 'runbooks/database-maintenance.md'"]
    assert collected.facts["all_present"] is False


def test_empty_file_fails(workspace):
    collected = collect(workspace, "runbooks/*.md")
    assert collected.facts["empty"] == ["runbooks/empty.md"]
    assert collected.failures == ["runbooks/empty.md is empty"]


def test_path_outside_workspace_rejected(workspace):
    with pytest.raises(CollectorError, match="inside the workspace"):
        collect(workspace, "../etc/passwd")


def test_symlink_outside_workspace_rejected(workspace, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside") / "secret.md"
    outside.write_text("secret", encoding="utf-8")
    (workspace / "runbooks" / "link.md").symlink_to(outside)
    with pytest.raises(CollectorError, match="outside the workspace"):
        collect(workspace, "runbooks/link.md")
