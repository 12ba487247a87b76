"""Auditor sampling and OSCAL export: `assay population`, `assay sample`,
`assay verify-sample` and `assay export oscal`.

Populations and exports read either the workspace's ledger or, with --pack,
a period pack's records.jsonl.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from assay.cli.common import LedgerOption, WorkspaceArg, err, fail, fail_check, out, say
from assay.errors import AssayError, UsageError

if TYPE_CHECKING:
    from assay.engine.periods import PeriodSummary
    from assay.engine.sampling import PackSource

export_app = typer.Typer(no_args_is_help=True, help="Export a period's results in other formats.")

PeriodOption = Annotated[
    Optional[str],
    typer.Option(
        "--period",
        help="START..END as dates or RFC 3339 instants (UTC unless an offset is given). A date START "
        "means its midnight, a date END the end of that day. Default with --pack: the pack's period.",
    ),
]
OfOption = Annotated[
    str,
    typer.Option("--of", help="Population kind: runs, evidence (records) or events (inside evidence facts)."),
]
PackOption = Annotated[
    Optional[Path],
    typer.Option("--pack", help="Period pack folder to read instead of the workspace's ledger."),
]
ScopeOption = Annotated[
    Optional[str], typer.Option(help="Scope to read from the ledger; default: assay.yaml's scope.")
]


def _summary(
    workspace: Path, period: str | None, pack: Path | None, scope: str | None, ledger: str | None
) -> tuple[PeriodSummary, PackSource | None]:
    """Summarise the period from the pack when one is given, else from the workspace's ledger."""
    from assay.config import ledger_url
    from assay.controls.loader import load_config
    from assay.engine.periods import parse_period, summarise_period
    from assay.engine.sampling import open_pack, summary_from_pack
    from assay.evidence.ledger import open_required

    if pack is not None:
        source = open_pack(pack)
        if scope is not None and scope != source.scope:
            raise UsageError(f"--scope {scope}: the pack {pack} is of scope {source.scope}")
        parsed = parse_period(period) if period else source.period
        return summary_from_pack(source, parsed), source
    if period is None:
        raise UsageError("--period is required unless --pack is given")
    parsed = parse_period(period)
    root = workspace.resolve()
    config = load_config(root)
    opened = open_required(ledger_url(root, config, ledger))
    try:
        return summarise_period(opened, parsed, scope or config.scope), None
    finally:
        opened.close()


def population(
    control: Annotated[str, typer.Argument(help="Control id, such as BAK-02.")],
    workspace: WorkspaceArg = Path("."),
    period: PeriodOption = None,
    of: OfOption = "runs",
    pack: PackOption = None,
    scope: ScopeOption = None,
    ledger: LedgerOption = None,
    format_: Annotated[str, typer.Option("--format", help="Output format: text or json.")] = "text",
) -> None:
    """List the complete population of a control over a period, each item with a stable id."""
    from assay.engine.sampling import build_population

    if format_ not in ("text", "json"):
        fail(UsageError(f"--format {format_!r}: expected text or json"))
    try:
        summary, _source = _summary(workspace, period, pack, scope, ledger)
        found = build_population(summary, control, of)
    except AssayError as exc:
        fail(exc)
    if format_ == "json":
        say(json.dumps(found.to_json(), indent=2, sort_keys=True, ensure_ascii=False))
        return
    for item in found.items:
        say(f"{item.id}  {item.run}  {item.time}")
    say(f"{len(found.items)} {of} of {control} in {found.start}..{found.end} (scope {found.scope})")


def sample(
    control: Annotated[str, typer.Argument(help="Control id, such as BAK-02.")],
    workspace: WorkspaceArg = Path("."),
    period: PeriodOption = None,
    size: Annotated[int, typer.Option("--size", help="Number of items to select.")] = ...,  # type: ignore[assignment]
    seed: Annotated[str, typer.Option("--seed", help="Seed text chosen by the auditor.")] = ...,  # type: ignore[assignment]
    of: OfOption = "runs",
    pack: PackOption = None,
    scope: ScopeOption = None,
    ledger: LedgerOption = None,
    out_file: Annotated[
        Optional[Path],
        typer.Option("--out", help="Sample file to write; default with --pack: PACK.sample-CONTROL-OF.json "
                     "beside the pack folder."),
    ] = None,
    key: Annotated[
        Optional[Path], typer.Option("--key", help="Ed25519 private key (PEM) that signs the sample file.")
    ] = None,
) -> None:
    """Select a reproducible sample of a control's population and write it, signed, with the population.

    The sample is the SIZE items with the smallest SHA-256(seed || 0x00 || id).
    """
    from assay.engine.sampling import build_population, sample_document, sample_json_text, sign_sample
    from assay.keys import load_signing_key, load_signing_key_file
    from assay.outputs import write_output

    try:
        if out_file is None and pack is None:
            raise UsageError("--out is required unless --pack is given")
        signer = load_signing_key_file(key) if key is not None else load_signing_key(None)
        summary, source = _summary(workspace, period, pack, scope, ledger)
        found = build_population(summary, control, of)
        document = sign_sample(
            sample_document(found, seed, size, source.manifest_sha256 if source else None), signer
        )
        target = out_file or source.folder.with_name(f"{source.folder.name}.sample-{control}-{of}.json")
        write_output(target, sample_json_text(document))
    except AssayError as exc:
        fail(exc)
    for item in document["selection"]:
        say(f"{item['id']}  {item['run']}  {item['time']}")
    say(f"sample: {len(document['selection'])} of {len(found.items)} {of}, written to {target}")


def verify_sample(
    pack: Annotated[Path, typer.Argument(help="Period pack folder the sample was drawn from.")],
    sample_file: Annotated[Path, typer.Argument(help="Sample file written by `assay sample`.")],
    key: Annotated[
        Optional[Path], typer.Option(help="The pack signer's public key (PEM), obtained out of band.")
    ] = None,
    fingerprint: Annotated[
        Optional[str], typer.Option(help="The pack signer's key fingerprint, SHA256:...")
    ] = None,
    trusted_keys: Annotated[
        Optional[Path], typer.Option(help="Folder of trusted public keys (*.pem) for the pack.")
    ] = None,
    sample_key: Annotated[
        Optional[Path],
        typer.Option(help="Public key (PEM) of the sample's signer; default: the pack's signer."),
    ] = None,
) -> None:
    """Verify a pack, then a sample file against it: signature, population and selection.

    Exits 4 when the pack or the sample was altered or signed by another key,
    5 when it could not be checked, and 2 when no signer is pinned.
    """
    from assay.engine.sampling import check_sample_contents, check_sample_signature, open_pack, read_sample
    from assay.keys import fingerprint as key_fingerprint
    from assay.keys import load_public_key
    from assay.reports.verify import pin_from_options, verify_pack

    if not any(option is not None for option in (key, fingerprint, trusted_keys)):
        fail(UsageError("pin the pack's signer with --key PUBLIC.pem, --fingerprint SHA256:... or "
                        "--trusted-keys DIR"))
    try:
        pin = pin_from_options(key, fingerprint, trusted_keys)
        report = verify_pack(pack, pin=pin)
        if sample_key is not None:
            try:
                sampler = load_public_key(sample_key.read_bytes(), str(sample_key))
            except OSError as exc:
                raise UsageError(f"{sample_key}: cannot read the key: {exc.strerror}") from exc
            expected = {key_fingerprint(sampler): sampler}
        else:
            expected = {report.key_id: pin.keys.get(report.key_id)}
        document = read_sample(sample_file)
        signer = check_sample_signature(document, sample_file, expected)
        checks = [f"{sample_file.name} is signed by {signer}"]
        checks += check_sample_contents(document, sample_file, open_pack(pack))
    except AssayError as exc:
        fail_check(exc)
    for check in report.checks + checks:
        out.print(f"ok: {check}", markup=False, soft_wrap=True)
    say(f"verified: {pack} and {sample_file}")


@export_app.command("oscal")
def export_oscal(
    workspace: WorkspaceArg = Path("."),
    period: PeriodOption = None,
    pack: PackOption = None,
    scope: ScopeOption = None,
    ledger: LedgerOption = None,
    out_file: Annotated[
        Optional[Path],
        typer.Option("--out", help="OSCAL JSON file to write; without it, standard output."),
    ] = None,
) -> None:
    """Write the OSCAL 1.1.2 assessment results of a period: one finding per control."""
    from assay.outputs import write_output
    from assay.reports.oscal import assessment_results, to_json_text

    try:
        summary, _source = _summary(workspace, period, pack, scope, ledger)
        if not summary.runs:
            raise AssayError(f"no complete run of scope {summary.scope} falls in {summary.start}..{summary.end}")
        text = to_json_text(assessment_results(summary))
        if out_file is not None:
            write_output(out_file, text)
    except AssayError as exc:
        fail(exc)
    if out_file is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        err.print(f"oscal: {len(summary.controls)} findings", markup=False, soft_wrap=True)
        return
    say(f"oscal: {out_file} ({len(summary.controls)} findings)")
