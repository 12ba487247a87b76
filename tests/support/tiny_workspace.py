"""Self-contained workspaces for fault tests: assay.yaml, controls written here, inputs, a key."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from assay import keys

NOW = "2026-12-04T20:15:00Z"
CONFIG = """\
name: Fault test workspace
framework: soc2
categories: [security]
scope: test
signing_key: .assay/signing-key.pem
"""
# A control passing when every listed document exists and is non-empty.
FILES_CONTROL = """\
id: {id}
title: Document {id} is present
criteria: [CC5.3]
evidence:
  - id: docs
    collector: files
    with: {{paths: [{path}]}}
assert:
  - name: document present
    expr: docs.all_present
"""
# A control passing when the program exits with code 0.
COMMAND_CONTROL = """\
id: {id}
title: Program of {id} succeeds
criteria: [CC7.1]
evidence:
  - id: probe
    collector: command
    with: {{argv: {argv}, timeout_seconds: {timeout}}}
assert:
  - name: program succeeded
    expr: probe.exit_code == 0
"""
# A control reading one JSON document.
JSON_CONTROL = """\
id: {id}
title: Document {id} parses
criteria: [CC7.2]
evidence:
  - id: doc
    collector: json
    with: {{path: {path}, facts: {{name: name}}}}
assert:
  - name: name present
    expr: doc.name == "ok"
"""


def tiny_workspace(root: Path, *, controls: dict[str, str] | None = None, ledger: str | None = None,
                   passphrase: bytes | None = None) -> Path:
    """Create a workspace under `root` with the given control files (name -> YAML) and a key.

    Without `controls`, it contains two `files` controls, DOC-01 and DOC-02,
    over docs/one.txt and docs/two.txt.
    """
    root.mkdir(parents=True, exist_ok=True)
    (root / "controls").mkdir()
    (root / "docs").mkdir()
    (root / "docs" / "one.txt").write_text("first policy\n", encoding="utf-8")
    (root / "docs" / "two.txt").write_text("second policy\n", encoding="utf-8")
    if controls is None:
        controls = {
            "doc-01.yaml": FILES_CONTROL.format(id="DOC-01", path="docs/one.txt"),
            "doc-02.yaml": FILES_CONTROL.format(id="DOC-02", path="docs/two.txt"),
        }
    for name, text in controls.items():
        (root / "controls" / name).write_text(text, encoding="utf-8")
    config = CONFIG if ledger is None else CONFIG + f"ledger: {ledger}\n"
    (root / "assay.yaml").write_text(config, encoding="utf-8")
    keys.generate(root / ".assay", passphrase=passphrase)
    return root


def assay_env(**extra: str) -> dict[str, str]:
    """Return this process's environment without ASSAY_* variables, plus `extra`."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("ASSAY_")}
    env.update(extra)
    return env


def run_assay(*args: str, env: dict[str, str] | None = None, timeout: float = 300,
              **popen: object) -> subprocess.CompletedProcess[str]:
    """Run `python -m assay ARGS` with stdin closed and return its result, output as text."""
    return subprocess.run(
        [sys.executable, "-m", "assay", *args], env=env if env is not None else assay_env(),
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout, check=False,
        **popen,  # type: ignore[arg-type]
    )
