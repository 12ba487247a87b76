"""Small workspaces for ledger tests, built from the example platform's inputs."""

from __future__ import annotations

import shutil
from pathlib import Path

from assay import keys

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "platform"
NOW = "2026-12-04T20:15:00Z"


def small_workspace(root: Path, *, ledger: str | None = None) -> Path:
    """Create a two-control workspace with a signing key under `root`; return it."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(EXAMPLE / "inputs", root / "inputs")
    # The controls cite the policies they implement, which must exist.
    shutil.copytree(EXAMPLE / "policies", root / "policies")
    (root / "controls").mkdir()
    for name in ("cap-01-latency.yaml", "bak-01-full-backup.yaml"):
        shutil.copy(EXAMPLE / "controls" / name, root / "controls" / name)
    config = (EXAMPLE / "assay.yaml").read_text(encoding="utf-8")
    if ledger is not None:
        config += f"ledger: {ledger}\n"
    (root / "assay.yaml").write_text(config, encoding="utf-8")
    keys.generate(root / ".assay")
    return root
