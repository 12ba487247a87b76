"""`assay collectors`: list, describe and try collectors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from assay.cli.common import NowOption, err, fail, out, parse_now_option
from assay.errors import AssayError, CollectorError, EvidenceMissing

collectors_app = typer.Typer(no_args_is_help=True, help="List, describe and try evidence collectors.")


@collectors_app.command("list")
def collectors_list() -> None:
    """List every registered collector (built-in and installed plug-ins)."""
    from assay.evidence import collectors

    table = Table(title="Collectors")
    table.add_column("Name")
    table.add_column("Version")
    table.add_column("Reads")
    try:
        for name, cls in collectors.available().items():
            table.add_row(escape(name), escape(cls.version), escape(cls.summary))
    except AssayError as exc:
        fail(exc)
    out.print(table)


@collectors_app.command("show")
def collectors_show(
    name: Annotated[str, typer.Argument(help="Collector name, e.g. k6.summary.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the declaration as JSON.")] = False,
) -> None:
    """Show a collector's parameters and the facts it produces."""
    from assay.evidence.collectors.catalog import describe

    try:
        info = describe(name)
    except AssayError as exc:
        fail(exc)
    if as_json:
        out.print_json(json.dumps(info))
        return
    out.print(f"{info['name']} (version {info['version']}): {info['summary']}", markup=False, soft_wrap=True)
    params = Table(title="Parameters")
    for column in ("Name", "Type", "Required", "Description"):
        params.add_column(column)
    for param in info["parameters"]:
        params.add_row(escape(param["name"]), escape(param["type"]),
                       "yes" if param["required"] else "no", escape(param["description"]))
    out.print(params)
    facts = Table(title="Facts")
    for column in ("Fact", "Type", "Unit", "Meaning"):
        facts.add_column(column)
    for fact in info["facts"]:
        facts.add_row(escape(fact["name"]), fact["type"], escape(fact["unit"] or ""),
                      escape(fact["description"]))
    out.print(facts)


@collectors_app.command("run")
def collectors_run(
    name: Annotated[str, typer.Argument(help="Collector name, e.g. junit.")],
    with_: Annotated[
        Optional[list[str]],
        typer.Option("--with", help="Collector parameter as KEY=VALUE; repeat for several."),
    ] = None,
    workspace: Annotated[
        Path, typer.Option(help="Folder that relative input paths are resolved against.")
    ] = Path("."),
    now: NowOption = None,
) -> None:
    """Run one collector and print its facts as JSON, to try an input before writing assertions.

    Exits 3 with the reason when the input cannot be collected.
    """
    from assay.evidence import collectors
    from assay.evidence.collectors.base import CollectContext
    from assay.evidence.collectors.catalog import parse_with

    try:
        cls = collectors.get(name)
        params = parse_with(cls, with_ or [])
        context = CollectContext(workspace=workspace.resolve(), now=parse_now_option(now))
        collected = cls().collect(params, context)
    except CollectorError as exc:
        hint = ""
        if isinstance(exc, EvidenceMissing):
            hint = f" (relative paths are read from {workspace.resolve()}; set --workspace)"
        err.print(f"error: {exc}{hint}", markup=False, soft_wrap=True)
        raise typer.Exit(exc.exit_code) from None
    except AssayError as exc:
        fail(exc)
    document = {
        "facts": collected.facts,
        "absent": collected.absent,
        "failures": collected.failures,
        "warnings": collected.warnings,
        "observed_at": collected.observed_at.isoformat() if collected.observed_at else None,
        "artifacts": [str(path) for path in collected.artifacts],
    }
    out.print(json.dumps(document, indent=2, ensure_ascii=False), markup=False, soft_wrap=True,
              highlight=False)


@collectors_app.command("docs")
def collectors_docs() -> None:
    """Print docs/collectors.md, generated from every collector's declarations."""
    from assay.evidence.collectors.catalog import docs_markdown

    out.print(docs_markdown(), markup=False, soft_wrap=True, end="")
