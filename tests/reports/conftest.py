"""The example workspace's pack, built once per test module because PDF rendering takes seconds."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import Result


@pytest.fixture(scope="module")
def demo_pack(
    tmp_path_factory: pytest.TempPathFactory,
    make_workspace: Callable[[Path], Path],
    run_assay: Callable[..., tuple[Result, Path]],
) -> Path:
    """Return the pack of one run of the example workspace. Tests must not change it."""
    workspace = make_workspace(tmp_path_factory.mktemp("demo"))
    _result, pack = run_assay(workspace)
    return pack


@pytest.fixture
def pack_copy(demo_pack: Path, tmp_path: Path) -> Path:
    """Return a copy of the demo pack that a test may alter."""
    copy = tmp_path / "pack"
    shutil.copytree(demo_pack, copy)
    return copy


@pytest.fixture
def public_key_path(demo_pack: Path) -> Path:
    """Return the demo signer's public key, as the auditor would have obtained it."""
    return demo_pack.parents[1] / ".assay" / "signing-key.pub.pem"
