"""Create a compliance workspace from the shipped library (`assay init`).

The workspace gets assay.yaml, the library's controls and policy templates,
guides for inputs/ and waivers/, a README for the compliance team, and a
signing key. Existing files are never overwritten: each is skipped and
reported, so running init again only adds what is missing.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from assay import keys
from assay.config import CONFIG_FILE
from assay.errors import UsageError

FRAMEWORKS = ("soc2",)
KEY_DIR = ".assay"
CREATED = "created"
SKIPPED = "skipped"

# Called with CREATED or SKIPPED and the workspace-relative path of each file.
Progress = Callable[[str, str], None]


@dataclass
class ScaffoldResult:
    """Outcome of `scaffold`: workspace-relative paths created and skipped, and the signing key."""

    root: Path
    created: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    signing_key: str | None = None
    key_fingerprint: str | None = None


@dataclass(frozen=True)
class LibraryControl:
    """A control file of the library: its file name, text and parsed fields."""

    name: str
    text: str
    data: dict[str, Any]


def _library(framework: str) -> Traversable:
    if framework not in FRAMEWORKS:
        raise UsageError(f"unknown framework {framework!r}; available: {', '.join(FRAMEWORKS)}")
    return resources.files("assay.catalog").joinpath(framework)


def _read_yaml(text: str) -> Any:
    return YAML(typ="safe", pure=True).load(text)


def library_controls(framework: str = "soc2") -> list[LibraryControl]:
    """Return the library's control files, sorted by file name."""
    folder = _library(framework).joinpath("controls")
    found = []
    for entry in sorted(folder.iterdir(), key=lambda item: item.name):
        if entry.name.endswith(".yaml"):
            text = entry.read_text(encoding="utf-8")
            found.append(LibraryControl(entry.name, text, _read_yaml(text)))
    return found


def library_policies(framework: str = "soc2") -> list[tuple[str, str]]:
    """Return the library's policy templates as (file name, text), sorted by file name."""
    folder = _library(framework).joinpath("policies")
    return [
        (entry.name, entry.read_text(encoding="utf-8"))
        for entry in sorted(folder.iterdir(), key=lambda item: item.name)
        if entry.name.endswith(".md")
    ]


def library_params_text(framework: str = "soc2") -> str:
    """Return params.yaml as written, comments included."""
    return _library(framework).joinpath("params.yaml").read_text(encoding="utf-8")


def library_params(framework: str = "soc2") -> dict[str, Any]:
    """Return the library's params: the defaults of the thresholds its controls read."""
    return dict(_read_yaml(library_params_text(framework)))


def library_input_guide(framework: str = "soc2") -> dict[str, str]:
    """Return inputs.yaml: how to produce each input path the controls name."""
    text = _library(framework).joinpath("inputs.yaml").read_text(encoding="utf-8")
    entries = _read_yaml(text)["inputs"].items()
    return {str(path): " ".join(str(instructions).split()) for path, instructions in entries}


def input_paths(control: LibraryControl) -> list[str]:
    """Return the input paths (path, paths, history, public_key) a control's evidence names."""
    paths: list[str] = []
    for spec in control.data.get("evidence") or []:
        options = spec.get("with") or {}
        for key in ("path", "history", "public_key"):
            if isinstance(options.get(key), str):
                paths.append(options[key])
        paths.extend(str(item) for item in options.get("paths") or [])
    return paths


def scaffold(
    root: Path,
    *,
    framework: str = "soc2",
    key: Path | None = None,
    progress: Progress | None = None,
) -> ScaffoldResult:
    """Create the workspace files under `root`, skipping every file that already exists.

    Without `key`, a new signing key pair is generated into root/.assay
    unless its private key exists already. With `key`, that existing key is
    checked and named in assay.yaml instead. A half-present key pair (a
    public key without its private key) raises KeyFileError before any file
    is written.
    """
    _library(framework)
    if root.exists() and not root.is_dir():
        raise UsageError(f"{root}: exists and is not a folder; choose a folder for the workspace")
    root.mkdir(parents=True, exist_ok=True)
    result = ScaffoldResult(root=root.resolve())

    def report(action: str, relative: str) -> None:
        (result.created if action == CREATED else result.skipped).append(relative)
        if progress is not None:
            progress(action, relative)

    signing_key = _signing_key(result, key, report)
    controls = library_controls(framework)
    files: list[tuple[str, str]] = [
        (CONFIG_FILE, render_config(result.root.name, framework, signing_key, controls)),
        ("README.md", render_readme(framework)),
        (".gitignore", GITIGNORE),
    ]
    files += [(f"controls/{item.name}", item.text) for item in controls]
    files += [(f"policies/{name}", text) for name, text in library_policies(framework)]
    inputs_readme = render_inputs_readme(controls, library_input_guide(framework))
    files.append(("inputs/README.md", inputs_readme))
    files.append(("waivers/README.md", WAIVERS_README))
    for relative, text in files:
        report(CREATED if _write_new(result.root / relative, text) else SKIPPED, relative)
    return result


def _write_new(path: Path, text: str) -> bool:
    """Write `text` to a new file, or return False, leaving the file untouched, if `path` exists."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with path.open("x", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
    except FileExistsError:
        return False
    return True


def _signing_key(result: ScaffoldResult, key: Path | None, report: Progress) -> str:
    """Check the given key or generate one; return the signing_key setting for assay.yaml."""
    if key is not None:
        path = key.resolve()
        result.key_fingerprint = keys.fingerprint(keys.load_signing_key_file(path).public)
        inside = path.is_relative_to(result.root)
        result.signing_key = path.relative_to(result.root).as_posix() if inside else str(path)
        return result.signing_key
    private = result.root / KEY_DIR / keys.PRIVATE_KEY_NAME
    result.signing_key = f"{KEY_DIR}/{keys.PRIVATE_KEY_NAME}"
    # Key generation also writes the PDF signing key and certificate that
    # sign report.pdf, so they are listed with the Ed25519 pair.
    names = (keys.PRIVATE_KEY_NAME, keys.PUBLIC_KEY_NAME, keys.PDF_KEY_NAME, keys.PDF_CERT_NAME)
    if private.exists():
        for name in names:
            if (result.root / KEY_DIR / name).exists():
                report(SKIPPED, f"{KEY_DIR}/{name}")
        return result.signing_key
    private_path, _public_path = keys.generate(result.root / KEY_DIR)
    result.key_fingerprint = keys.fingerprint(keys.load_signing_key_file(private_path).public)
    for name in names:
        if (result.root / KEY_DIR / name).exists():
            report(CREATED, f"{KEY_DIR}/{name}")
    return result.signing_key


def manual_roles(controls: list[LibraryControl]) -> list[str]:
    """Return the roles the library's manual controls ask for, sorted."""
    roles = {(item.data.get("manual") or {}).get("role") for item in controls}
    return sorted(role for role in roles if role)


def render_config(
    name: str, framework: str, signing_key: str, controls: list[LibraryControl]
) -> str:
    """Write assay.yaml: commented settings and the library's params."""
    params = "".join(
        f"  {line}\n" if line.strip() else "\n" for line in _params_body(framework).splitlines()
    )
    # JSON strings are valid YAML, so json.dumps quotes any name safely.
    quoted_name = json.dumps(name or "My service")
    roles = ", ".join(manual_roles(controls)) or "none"
    roles_comment = textwrap.fill(
        "People who sign attestations of manual controls with `assay attest --by NAME`. "
        f"The library's manual controls ask for these roles: {roles}.",
        width=76, initial_indent="# ", subsequent_indent="# ", break_on_hyphens=False,
    )
    return f"""\
# Settings of this assay workspace. `assay lint` checks this file and every
# control. The README of this folder lists the daily commands.

# Name shown in reports and audit packs.
name: {quoted_name}
# Control framework of the library in controls/.
framework: {framework}
# Trust Services categories in scope. Security is always in scope. Add
# confidentiality, processing_integrity or privacy when your commitments to
# customers cover them. Every criterion of a category in scope counts
# toward readiness, including criteria that no control covers yet.
categories: [security, availability]
# Recorded on every ledger record: an environment, tenant or system.
scope: production
# Ed25519 private key (PEM) that signs each run's checkpoint. Keep it out of
# version control. CI can pass its PEM text in ASSAY_SIGNING_KEY instead.
signing_key: {json.dumps(signing_key)}
# Folder of public keys whose checkpoint signatures the ledger accepts. The
# first run adds the signing key's public key, and `assay keys rotate` adds new ones.
trusted_keys: keys/trusted
# Ledger URL. The default is SQLite at evidence/ledger.db in this folder. A
# team with several CI runners can share PostgreSQL instead.
# ledger: postgresql://assay@db.example.internal/assay
# Largest evidence file a collector reads whole (default 256MiB). Raise it
# when a JSON or XML report is larger; streaming collectors such as
# k6.stream take their own max_bytes parameter instead.
# max_input_size: 512MiB

{roles_comment}
# people:
#   alice:
#     public_key: keys/people/alice.pub.pem
#     roles: [security-lead]
#   bob:
#     public_key: keys/people/bob.pub.pem
#     roles: [compliance-lead]

# Thresholds the controls read as params.NAME.
params:
{params}"""


def _params_body(framework: str) -> str:
    """Return params.yaml without its opening comment, which describes the file itself."""
    lines = library_params_text(framework).splitlines()
    start = 0
    while start < len(lines) and lines[start].startswith("#"):
        start += 1
    return "\n".join(lines[start:]).lstrip("\n")


def render_inputs_readme(controls: list[LibraryControl], guide: dict[str, str]) -> str:
    """Write inputs/README.md: which file each control reads, and how to produce it."""
    lines = _inputs_section(controls, guide)
    lines += _manual_section(controls)
    lines += _policies_section(controls)
    return "\n".join(lines) + "\n"


def _inputs_section(controls: list[LibraryControl], guide: dict[str, str]) -> list[str]:
    readers: dict[str, set[str]] = {}
    for item in controls:
        for path in input_paths(item):
            if not path.startswith("policies/"):
                readers.setdefault(path, set()).add(str(item.data["id"]))
    lines = [
        "# Inputs",
        "",
        "Each automated control reads one or more files: the saved output of a",
        "tool, copied here by CI or by a scheduled job before `assay run`. Until",
        "its file exists, a control is reported `missing`. A path with `*` is a",
        "glob. Where a control does not apply to your system (for example wal-g",
        "when you back up with pgBackRest), set `not_applicable:` with the reason",
        "in its file under controls/ instead of leaving it missing.",
        "",
        "| input | read by | how to produce it |",
        "| --- | --- | --- |",
    ]
    for path in sorted(readers):
        instructions = guide.get(path, "see the control's description")
        lines.append(f"| `{path}` | {', '.join(sorted(readers[path]))} | {instructions} |")
    return lines


def _manual_section(controls: list[LibraryControl]) -> list[str]:
    lines = [
        "",
        "## Manual controls",
        "",
        "These controls read no input. Each passes while a person named under",
        "`people` in assay.yaml, holding the role below, has a signed attestation",
        "in force: `assay attest CONTROL --by NAME --key KEY --note TEXT`",
        "(add `--file` to attach minutes or a report).",
        "",
        "| control | title | role | renewed every |",
        "| --- | --- | --- | --- |",
    ]
    for item in controls:
        spec = item.data.get("manual")
        if spec:
            role = spec.get("role") or "any person"
            every = spec["attestation_every"]
            lines.append(f"| {item.data['id']} | {item.data['title']} | {role} | {every} |")
    return lines


def _policies_section(controls: list[LibraryControl]) -> list[str]:
    readers = sorted(
        str(item.data["id"]) for item in controls
        if any(path.startswith("policies/") for path in input_paths(item))
    )
    text = (
        f"The controls {', '.join(readers)} read the policy documents in policies/, not files "
        "here. " + ADOPTION_RULE
    )
    return ["", "## Policies", "", *textwrap.wrap(text, width=72, break_on_hyphens=False)]


# The rule by which a policy template becomes evidence, applied by
# assay.engine.evaluate.no_document_evidence.
ADOPTION_RULE = (
    "Each template there starts with approver, approved_at and next_review empty: it is no "
    "evidence yet, and its control is missing. Once any of the three is filled in, the team "
    "has adopted the policy and its control judges it as written: it passes while the policy "
    "is approved by someone other than its owner, on a past approved_at, and its review is "
    "not overdue; an approver without a date, a review date that has passed, or an approval "
    "by the owner fails."
)


def render_readme(framework: str) -> str:
    """Write the workspace README for the compliance team."""
    return f"""\
# Compliance workspace

This folder holds the {framework.upper()} controls of the system, the evidence
behind them, and the signed record of every check. It was created by
`assay init` and belongs to the team now: edit any file.

## What each folder contains

| path | contents |
| --- | --- |
| `assay.yaml` | name, Trust Services categories in scope, scope, signing key, people who attest, and the thresholds (`params`) the controls use |
| `controls/` | one control per file: the evidence it reads and the assertions that evidence must satisfy, or `manual:` for a control a person attests |
| `policies/` | policy templates, each not adopted (approver, approved_at and next_review empty) until the team adapts and approves it |
| `inputs/` | tool outputs the controls read, with `inputs/README.md` listing which file each control expects |
| `waivers/` | approved, time-limited exceptions for controls that are not met (see `waivers/README.md`) |
| `runbooks/` | incident response and disaster recovery runbooks that IR-01 checks for |
| `attestations/` | signed attestations of manual controls (written by `assay attest`) |
| `evidence/` | the ledger (`ledger.db`) and stored evidence files, written by `assay run` |
| `reports/` | signed audit packs, written by `assay run` |
| `keys/trusted/` | public keys whose signatures the ledger accepts |
| `.assay/` | this workspace's private signing key, which must never be committed |

## First steps

1. Set `name` and `categories` in `assay.yaml`, and adjust `params` to the
   commitments you make to customers.
2. Adapt each policy in `policies/` to how the company works, then have it
   approved: fill in `approver`, `approved_at` and `next_review`.
3. Make CI copy each tool output named in `inputs/README.md` into `inputs/`.
4. For a control that does not apply, set `not_applicable:` with the reason.
5. List the people who attest manual controls under `people` in
   `assay.yaml`, and have them attest.

Until evidence arrives, nothing is claimed: every control that reads
evidence is `missing`, and every manual control is `manual`. A policy
template counts as evidence only once it is adopted: while `approver`,
`approved_at` and `next_review` are all empty its control stays `missing`.
After any of them is filled in, the policy is judged as written: an
approver without an approval date, an approval by the policy's own owner,
or a review date that has passed fails. Runbooks and the risk register
count once at least one of the files their control names exists; a control
that finds some of its files but not all fails.

## Daily commands

| command | what it does |
| --- | --- |
| `assay lint` | check `assay.yaml`, every control and every waiver |
| `assay run` | collect evidence, judge every control, record the run and write a signed audit pack |
| `assay status` | readiness per category, coverage gaps, controls by status, waivers and attestations due |
| `assay status --format json` | the same, as JSON for dashboards |
| `assay attest CONTROL --by NAME --key KEY --note TEXT` | record a person's signed attestation of a manual control |
| `assay ledger verify` | check every record and signature of the ledger |
| `assay verify PACK --key PUBLIC.pem` | check an audit pack against a pinned public key |

Every command has `--help`.
"""


GITIGNORE = """\
# The private keys in .assay/ (the Ed25519 signing key, the PDF signing key
# and keys retired by `assay keys rotate`) stay out of version control.
/.assay/
"""

WAIVERS_README = """\
# Waivers

A waiver is an approved, time-limited exception: while it is in force, a
control that is not met is reported `waived` and counts as met for
readiness. A control that passes stays `pass`. Each waiver is one YAML file
in this folder, and `assay lint` checks it.

A waiver is in force for its `scope` from `created` until `expires`.
`assay run` and `assay status` warn when one expires within 14 days, and
after it expires the control's real status shows again. Editing a waiver
file makes it a new waiver, recorded again in the ledger.

An example, to copy into a file such as `BAK-03-retention.yaml` (remove the
leading `# `):

```yaml
# control: BAK-03
# scope: production
# justification: >
#   The new backup repository started on 2026-11-20 and has 30 days of
#   backups from 2026-12-20 on.
# owner: database-team
# approver: security-lead          # must not be the owner
# created: 2026-11-20
# expires: 2026-12-21T00:00:00Z    # an instant with an offset, not a date
# remediation: >
#   Nothing to change: retention grows by itself. Delete this waiver once
#   BAK-03 passes.
```
"""
