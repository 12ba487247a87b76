"""A git-based evidence locker for comparison: one commit per run, one JSON file per record."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

# Fixed identity and dates make commits independent of the user's git setup.
_GIT_ENV = {
    "GIT_AUTHOR_NAME": "assay bench",
    "GIT_AUTHOR_EMAIL": "bench@localhost",
    "GIT_COMMITTER_NAME": "assay bench",
    "GIT_COMMITTER_EMAIL": "bench@localhost",
    "GIT_AUTHOR_DATE": "2026-12-04T20:15:00Z",
    "GIT_COMMITTER_DATE": "2026-12-04T20:15:00Z",
    "GIT_CONFIG_NOSYSTEM": "1",
}


class GitLocker:
    """A repository at `path` that stores each run as `runs/<run>/<seq>.json`.

    With `durable`, git fsyncs objects, refs and the index (core.fsync=all
    with core.fsyncMethod=batch). Otherwise git keeps its default, which in
    git 2.39 (`man git-config`) fsyncs pack files only, so the loose objects
    and refs of a fresh commit can be lost in a crash. Automatic `git gc` stays on but runs in the
    foreground, so its time counts in the commit that starts it.
    """

    def __init__(self, path: Path, *, durable: bool) -> None:
        self.path = path
        self.env = {**os.environ, **_GIT_ENV, "HOME": str(path.parent)}
        path.mkdir(parents=True)
        self._git("init", "-q", "-b", "main")
        self._git("config", "gc.autoDetach", "false")
        self._git("config", "commit.gpgSign", "false")
        if durable:
            self._git("config", "core.fsync", "all")
            self._git("config", "core.fsyncMethod", "batch")

    def _git(self, *args: str) -> str:
        completed = subprocess.run(
            ["git", *args], cwd=self.path, env=self.env, check=True, capture_output=True, text=True
        )
        return completed.stdout

    def commit_run(self, run: str, first_seq: int, bodies: Sequence[bytes]) -> None:
        """Write the run's records as files, then `git add` and `git commit` them."""
        folder = self.path / "runs" / run
        folder.mkdir(parents=True)
        for offset, body in enumerate(bodies):
            (folder / f"{first_seq + offset:09d}.json").write_bytes(body)
        self._git("add", "--", f"runs/{run}")
        self._git("commit", "-q", "-m", f"Record run {run}")

    def fsck_seconds(self) -> float:
        """Run `git fsck --full` and return its wall time in seconds."""
        started = time.perf_counter()
        self._git("fsck", "--full", "--no-progress")
        return time.perf_counter() - started

    def commit_count(self) -> int:
        return int(self._git("rev-list", "--count", "HEAD"))
