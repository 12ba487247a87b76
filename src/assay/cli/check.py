"""`assay check`, `assay baseline bless|show`, `assay schema controls` and `assay diff`.

`check` writes nothing to the workspace: it opens an existing ledger to read
the baseline, attestations and (with --from-ledger) recorded evidence, and
never creates one.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from assay.cli.common import LedgerOption, NowOption, WorkspaceArg, fail, out, parse_now_option, say
from assay.errors import AssayError, KeyFileError, UsageError

if TYPE_CHECKING:
    from assay.config import WorkspaceConfig
    from assay.engine.baseline import Baseline
    from assay.engine.check import GateReport
    from assay.evidence.ledger import Ledger
    from assay.keys import SigningKey

ScopeOption = Annotated[
    Optional[str],
    typer.Option("--scope", help="Scope whose runs and baseline to use; default: assay.yaml."),
]

baseline_app = typer.Typer(
    no_args_is_help=True, help="Bless a run as a scope's baseline for `assay check`, and show it."
)
schema_app = typer.Typer(
    no_args_is_help=True, help="Print JSON Schemas of assay's files, for editors."
)


def _parse_outputs(outputs: list[str]) -> list[tuple[str, Path]]:
    from assay.reports.ci_formats import FORMATS

    parsed = []
    seen: set[Path] = set()
    for item in outputs:
        fmt, sep, path = item.partition("=")
        if not sep or not path:
            raise UsageError(f"--output {item!r}: write FORMAT=PATH, e.g. junit=assay-junit.xml")
        if fmt not in FORMATS:
            raise UsageError(
                f"--output {item!r}: unknown format {fmt!r}; choose one of {', '.join(FORMATS)}"
            )
        target = Path(path)
        if target.resolve() in seen:
            raise UsageError(f"--output {item!r}: {path} is named by another --output")
        seen.add(target.resolve())
        parsed.append((fmt, target))
    return parsed


def check_workspace(
    workspace_dir: Path,
    *,
    now_option: str | None,
    ledger_option: str | None,
    scope_option: str | None,
    from_ledger: bool,
    baseline_file: Path | None,
    strict: bool,
) -> GateReport:
    """Judge the workspace, compare it with its baseline and return the report; records nothing."""
    from assay.controls.loader import load_workspace
    from assay.engine import check
    from assay.engine.attestations import recorded_attestations
    from assay.engine.baseline import (
        latest_baseline,
        latest_complete_run,
        read_baseline_file,
        read_run,
    )
    from assay.config import ledger_url
    from assay.evidence.ledger import open_existing
    from assay.timeutil import parse_instant

    workspace = load_workspace(workspace_dir)
    scope = scope_option or workspace.config.scope
    baseline: Baseline | None = None
    if baseline_file is not None:
        baseline = read_baseline_file(baseline_file)
        if baseline.scope != scope:
            raise UsageError(
                f"{baseline_file}: the baseline is of scope {baseline.scope!r}, and this check is of "
                f"scope {scope!r}; pass --scope {baseline.scope} or another baseline file"
            )
    ledger = open_existing(ledger_url(workspace.root, workspace.config, ledger_option))
    if ledger is None and from_ledger:
        raise UsageError(
            f"--from-ledger: {workspace.root} has no ledger yet; run `assay run` first, or check "
            "without --from-ledger to collect the evidence"
        )
    try:
        attestations = recorded_attestations(ledger) if ledger is not None else []
        origin = str(baseline_file) if baseline_file is not None else None
        if baseline is None and ledger is not None:
            baseline = latest_baseline(ledger, scope)
            origin = baseline.origin if baseline is not None else None
        replayed = None
        if from_ledger:
            assert ledger is not None
            run = latest_complete_run(ledger, scope)
            now = parse_now_option(now_option) if now_option else parse_instant(run.now)
            results = check.replay_results(
                workspace, read_run(ledger, run), now=now, scope=scope, attestations=attestations
            )
            replayed = run.run
        else:
            now = parse_now_option(now_option)
            results = check.collect_results(
                workspace, now=now, scope=scope, attestations=attestations
            )
    finally:
        if ledger is not None:
            ledger.close()
    verdicts = check.gate_results(workspace, results, baseline, strict=strict)
    return check.GateReport(
        workspace=workspace,
        scope=scope,
        now=now,
        source="ledger" if from_ledger else "collected",
        baseline=baseline,
        baseline_origin=origin,
        strict=strict,
        verdicts=verdicts,
        replayed_run=replayed,
    )


def check_command(
    workspace: WorkspaceArg = Path("."),
    now: NowOption = None,
    ledger: LedgerOption = None,
    scope: ScopeOption = None,
    from_ledger: Annotated[
        bool,
        typer.Option(
            "--from-ledger",
            help="Judge the evidence recorded by the scope's latest complete run instead of "
            "collecting it; ages are judged at that run's --now unless --now is given.",
        ),
    ] = False,
    baseline: Annotated[
        Optional[Path],
        typer.Option(
            "--baseline",
            help="Baseline file exported by `assay baseline bless --out`; default: the scope's "
            "latest baseline in the ledger.",
        ),
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Fail on every control that is not met.")
    ] = False,
    output_format: Annotated[
        str, typer.Option("--format", help="Format on stdout: human, json, junit, sarif or github.")
    ] = "human",
    outputs: Annotated[
        Optional[list[str]],
        typer.Option(
            "--output",
            help="Also write FORMAT=PATH (repeatable), e.g. --output junit=assay-junit.xml.",
        ),
    ] = None,
) -> None:
    """Judge every control without recording anything, and fail on regressions against the baseline.

    Exits 1 when a control blocks: it was pass or waived in the baseline and
    is not met now, it was removed, or its definition or the params it reads
    changed since the baseline. Without a baseline every control that is not
    met blocks. Controls with `gate: warn` are reported as warnings and do
    not block, unless the baseline recorded them with `gate: fail`.
    """
    from assay.outputs import write_output
    from assay.reports.ci_formats import FORMATS, render, render_human

    try:
        if output_format not in FORMATS:
            raise UsageError(f"--format {output_format!r}: choose one of {', '.join(FORMATS)}")
        targets = _parse_outputs(outputs or [])
        report = check_workspace(
            workspace,
            now_option=now,
            ledger_option=ledger,
            scope_option=scope,
            from_ledger=from_ledger,
            baseline_file=baseline,
            strict=strict,
        )
        for fmt, path in targets:
            write_output(path, render(report, fmt), "--output")
    except AssayError as exc:
        fail(exc)
    if output_format == "human":
        render_human(report, out)
    else:
        sys.stdout.write(render(report, output_format))
        sys.stdout.flush()
    raise typer.Exit(report.exit_code)


# baseline -----------------------------------------------------------------------------


def _open_for_baseline(
    workspace_dir: Path, ledger_option: str | None
) -> tuple[Path, WorkspaceConfig, Ledger]:
    from assay.config import ledger_url
    from assay.controls.loader import load_config
    from assay.evidence.ledger import open_existing

    root = workspace_dir.resolve()
    config = load_config(root)
    ledger = open_existing(ledger_url(root, config, ledger_option))
    if ledger is None:
        raise UsageError(f"{root} has no ledger yet; run `assay run` first")
    return root, config, ledger


def _signing_key(root: Path, config: WorkspaceConfig, key_option: Path | None) -> SigningKey:
    from assay.keys import load_signing_key, trusted_key_name

    key_path = key_option or (root / config.signing_key if config.signing_key else None)
    key = load_signing_key(key_path, from_option=key_option is not None)
    trusted_dir = root / config.trusted_keys
    if (
        trusted_dir.is_dir()
        and any(trusted_dir.glob("*.pem"))
        and not (trusted_dir / trusted_key_name(key.public)).is_file()
    ):
        raise KeyFileError(
            f"signing key {key.key_id} is not among the trusted keys in {trusted_dir}, so the "
            "baseline's checkpoint would not verify; add its public key there"
        )
    return key


@baseline_app.command("bless")
def baseline_bless(
    workspace: WorkspaceArg = Path("."),
    scope: ScopeOption = None,
    allow_failures: Annotated[
        bool,
        typer.Option(
            "--allow-failures",
            help="Bless a run whose controls are not all met, as known failures.",
        ),
    ] = False,
    out_file: Annotated[
        Optional[Path],
        typer.Option("--out", help="Also write the baseline to this JSON file, to commit."),
    ] = None,
    ledger: LedgerOption = None,
    key: Annotated[
        Optional[Path], typer.Option(help="Signing key (PEM); overrides ASSAY_SIGNING_KEY and signing_key in assay.yaml.")
    ] = None,
    now: NowOption = None,
) -> None:
    """Record the scope's latest complete run as its baseline, in a run with a signed checkpoint."""
    from assay.engine.baseline import bless, write_baseline_file

    try:
        root, config, opened = _open_for_baseline(workspace, ledger)
        try:
            signing_key = _signing_key(root, config, key)
            blessed = bless(
                opened,
                scope=scope or config.scope,
                key=signing_key,
                now=parse_now_option(now),
                allow_failures=allow_failures,
            )
        finally:
            opened.close()
        if out_file is not None:
            write_baseline_file(blessed, out_file)
    except AssayError as exc:
        fail(exc)
    counts: dict[str, int] = {}
    for entry in blessed.controls.values():
        counts[entry.status] = counts.get(entry.status, 0) + 1
    statuses = ", ".join(f"{status} {count}" for status, count in sorted(counts.items()))
    say(
        f"blessed run {blessed.run} as the baseline of scope {blessed.scope}: "
        f"{len(blessed.controls)} controls ({statuses})"
    )
    say(f"baseline: {blessed.origin}")
    if out_file is not None:
        say(f"written to {out_file}")


@baseline_app.command("show")
def baseline_show(
    workspace: WorkspaceArg = Path("."),
    scope: ScopeOption = None,
    output_format: Annotated[str, typer.Option("--format", help="human or json.")] = "human",
    ledger: LedgerOption = None,
) -> None:
    """Show the scope's latest baseline: the blessed run and each control's status and hashes."""
    from rich.table import Table

    from assay.engine.baseline import latest_baseline

    try:
        if output_format not in ("human", "json"):
            raise UsageError(f"--format {output_format!r}: choose human or json")
        _root, config, opened = _open_for_baseline(workspace, ledger)
        scope_name = scope or config.scope
        try:
            found = latest_baseline(opened, scope_name)
        finally:
            opened.close()
        if found is None:
            raise UsageError(
                f"no baseline is blessed for scope {scope_name!r}; bless one with `assay baseline bless`"
            )
    except AssayError as exc:
        fail(exc)
    if output_format == "json":
        sys.stdout.write(
            json.dumps(found.document(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        )
        return
    say(f"baseline of scope {found.scope}: {found.origin}, blessed {found.blessed_at}")
    say(f"run: {found.run} (now {found.run_now}, git commit {found.git_commit or 'unknown'})")
    table = Table(title="Blessed controls")
    for column in ("Control", "Status", "Gate", "Definition", "Params"):
        table.add_column(column)
    for control, entry in sorted(found.controls.items()):
        table.add_row(
            control,
            entry.status,
            entry.gate,
            entry.definition_sha256[:12],
            entry.params_sha256[:12],
        )
    out.print(table)


# schema -------------------------------------------------------------------------------


@schema_app.command("controls")
def schema_controls() -> None:
    """Print the JSON Schema of control files (draft 2020-12).

    Save it and point the YAML language server at it, for instance with a
    first line `# yaml-language-server: $schema=control.schema.json` in each
    control file, or with `yaml.schemas` in the editor's settings.
    """
    from assay.controls.schema import registered_control_schema

    try:
        schema = registered_control_schema()
    except AssayError as exc:
        fail(exc)
    sys.stdout.write(json.dumps(schema, indent=2, ensure_ascii=False) + "\n")


# diff ---------------------------------------------------------------------------------


MAX_HUMAN_FACTS = 20


def diff_command(
    run_a: Annotated[
        str, typer.Argument(help="First run: an id, a unique id prefix, latest or previous.")
    ],
    run_b: Annotated[str, typer.Argument(help="Second run, in the same forms.")],
    workspace: WorkspaceArg = Path("."),
    scope: ScopeOption = None,
    ledger: LedgerOption = None,
    output_format: Annotated[str, typer.Option("--format", help="human or json.")] = "human",
) -> None:
    """Show what changed between two recorded runs: each control's status and each evidence fact.

    `latest` and `previous` are the scope's last two complete runs.
    """
    from rich.markup import escape
    from rich.table import Table

    from assay.engine.diff import diff_runs, resolve_run
    from assay.reports.ci_formats import value_text

    try:
        if output_format not in ("human", "json"):
            raise UsageError(f"--format {output_format!r}: choose human or json")
        _root, config, opened = _open_for_baseline(workspace, ledger)
        try:
            scope_name = scope or config.scope
            before = resolve_run(opened, run_a, scope_name)
            after = resolve_run(opened, run_b, scope_name)
            result = diff_runs(opened, before, after)
        finally:
            opened.close()
    except AssayError as exc:
        fail(exc)
    if output_format == "json":
        sys.stdout.write(json.dumps(result.to_json(), indent=2, ensure_ascii=False) + "\n")
        return
    say(f"before: run {before.run} ({before.scope}, {before.time})")
    say(f"after:  run {after.run} ({after.scope}, {after.time})")
    changed = result.changed
    if not changed:
        say(f"no changes in {len(result.controls)} controls")
        return
    table = Table(title="Changed controls")
    for column in ("Control", "Before", "After", "Definition", "Facts changed"):
        table.add_column(column)
    for item in changed:
        table.add_row(
            escape(item.control),
            item.status_before or "-",
            item.status_after or "-",
            "changed" if item.definition_changed else "same",
            str(len(item.fact_changes)),
        )
    out.print(table)
    for item in changed:
        lines = []
        for evidence in item.evidence:
            if evidence.status_before != evidence.status_after:
                lines.append(
                    f"evidence {evidence.evidence}: {evidence.status_before or '-'} -> "
                    f"{evidence.status_after or '-'}"
                )
        facts = item.fact_changes
        for fact in facts[:MAX_HUMAN_FACTS]:
            lines.append(f"{fact.path}: {value_text(fact.before)} -> {value_text(fact.after)}")
        if len(facts) > MAX_HUMAN_FACTS:
            lines.append(
                f"... {len(facts) - MAX_HUMAN_FACTS} more facts changed (see --format json)"
            )
        if lines:
            say("")
            say(f"{item.control}:")
            for line in lines:
                say(f"  {line}")
    say(f"{len(changed)} of {len(result.controls)} controls changed")
