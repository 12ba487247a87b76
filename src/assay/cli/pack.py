"""`assay pack`: the signed audit pack of a period, built from the ledger."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from assay.cli.common import LedgerOption, WorkspaceArg, err, fail, say
from assay.errors import AssayError


def pack(
    workspace: WorkspaceArg = Path("."),
    period: Annotated[
        str,
        typer.Option(
            "--period",
            help="START..END as dates or RFC 3339 instants (UTC unless an offset is given). "
            "A date START means its midnight, a date END the end of that day.",
        ),
    ] = ...,  # type: ignore[assignment]
    scope: Annotated[Optional[str], typer.Option(help="Scope to pack; default: assay.yaml's scope.")] = None,
    zip_: Annotated[bool, typer.Option("--zip", help="Also write the pack as PACK.zip.")] = False,
    out: Annotated[
        Optional[Path], typer.Option("--out", help="Pack folder; default: reports/period-START-END-SCOPE.")
    ] = None,
    ledger: LedgerOption = None,
) -> None:
    """Build a signed audit pack of every complete run in a period, from the ledger."""
    from assay.config import BLOBS_DIR, ledger_url
    from assay.controls.loader import load_config
    from assay.engine.periods import parse_period
    from assay.evidence.blobs import BlobStore
    from assay.evidence.ledger import open_required
    from assay.keys import load_signing_key
    from assay.reports.period_pack import build_period_pack, pack_name, zip_pack

    def progress(message: str, done: int, total: int) -> None:
        err.print(f"[{done}/{total}] {message}", markup=False, soft_wrap=True)

    try:
        parsed = parse_period(period)
        root = workspace.resolve()
        config = load_config(root)
        key = load_signing_key(root / config.signing_key if config.signing_key else None)
        chosen_scope = scope or config.scope
        target = out or root / config.reports / pack_name(parsed, chosen_scope)
        opened = open_required(ledger_url(root, config, ledger))
        try:
            folder = build_period_pack(
                opened, BlobStore(root / BLOBS_DIR), key, parsed, chosen_scope, target,
                progress=progress,
            )
        finally:
            opened.close()
        if zip_:
            say(f"zip: {zip_pack(folder, parsed.end)}")
    except AssayError as exc:
        fail(exc)
    say(f"pack: {folder}")
