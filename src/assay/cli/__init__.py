"""The `assay` command line: parses arguments, calls the library, prints results.

Each command group lives in its own module; this one assembles the app.
"""

from __future__ import annotations

import logging
import os
from typing import Annotated

import typer

from assay.cli import attest, collectors, keys, ledger, run, verify
from assay.cli import check as gate
from assay.cli import init, status
from assay.cli import pack as period_pack
from assay.cli import sample as sampling

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="assay: compliance evidence and policy-as-code. Collect evidence from real tool "
    "outputs, judge controls with CEL, and build signed audit packs.",
)


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"assay {version('assay')}")
        raise typer.Exit()


@app.callback()
def _options(
    show_version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True,
                     help="Print the version of assay and exit."),
    ] = False,
) -> None:
    # The options of `assay` itself; the app's help text is set on the Typer above.
    return None
app.command()(run.run)
app.command()(verify.verify)
app.command("pack")(period_pack.pack)
app.command()(run.lint)
app.command()(attest.attest)
app.command()(init.init)
app.command()(status.status)
app.add_typer(keys.keys_app, name="keys")
app.add_typer(ledger.ledger_app, name="ledger")
app.add_typer(collectors.collectors_app, name="collectors")
app.command("check")(gate.check_command)
app.command("diff")(gate.diff_command)
app.add_typer(gate.baseline_app, name="baseline")
app.add_typer(gate.schema_app, name="schema")
app.command("population")(sampling.population)
app.command("sample")(sampling.sample)
app.command("verify-sample")(sampling.verify_sample)
app.add_typer(sampling.export_app, name="export")


def main() -> None:
    level = os.environ.get("ASSAY_LOG", "WARNING").upper()
    # At the default level a warning reads like the commands' own "error:"
    # lines. ASSAY_LOG=INFO or DEBUG adds the module each message comes from.
    detailed = level in ("DEBUG", "INFO")
    logging.basicConfig(
        level=level,
        format="%(levelname)s %(name)s: %(message)s" if detailed else "%(message)s",
    )
    if not detailed:
        for handler in logging.getLogger().handlers:
            handler.setFormatter(_PlainFormatter())
    app()


class _PlainFormatter(logging.Formatter):
    """Log formatter that writes `warning: MESSAGE`, in lower case like the commands' errors."""

    def format(self, record: logging.LogRecord) -> str:
        return f"{record.levelname.lower()}: {record.getMessage()}"
