"""Build and sign the audit pack of a period, from the ledger rather than one run.

The layout is the run pack's (see assay.reports.pack), plus period.json, the
summary that the reports are rendered from. records.jsonl contains every
record up to the ledger's last checkpoint. Only the records of the period's
runs, and the control and tombstone records their results depend on, keep
their bodies. Every other record, including all records of other scopes, is
written as its header with a null body, so the chain still verifies.

The build is reproducible: the same ledger, period and scope give
byte-identical files, because nothing reads the wall clock. `created_at` is
the period end, and SOURCE_DATE_EPOCH is the period end while the PDF renders.
"""

from __future__ import annotations

import os
import shutil
import zipfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from assay.engine.periods import Period, PeriodSummary, summarise_period, to_json_text
from assay.errors import AssayError
from assay.evidence.blobs import BlobStore
from assay.evidence.ledger import Ledger
from assay.keys import SigningKey, public_pem
from assay.reports import charts, render
from assay.reports.pack import PUBLIC_KEY, RECORDS, record_line, seal_pack
from assay.reports.verify_doc import verify_markdown
from assay.timeutil import parse_instant

PERIOD_KIND = "period"
SUMMARY = "period.json"
# Numeric facts drawn as line charts: fact name -> (title, unit, divisor).
CHART_FACTS: dict[str, tuple[str, str, float]] = {
    "p99_ms": ("p99 latency per run", "ms", 1.0),
    "newest_incr_age_seconds": ("hours since the newest incremental backup", "h", 3600.0),
}
# The PDF lists at most this many runs and artifacts per control; report.html
# and records.jsonl keep every one.
PDF_ROWS = 40
# Fact values longer than this are cut in the PDF.
PDF_FACT_CHARS = 160

Progress = Callable[[str, int, int], None]


def pack_name(period: Period, scope: str) -> str:
    return f"period-{period.start:%Y%m%dT%H%M%SZ}-{period.end:%Y%m%dT%H%M%SZ}-{scope}"


def build_period_pack(
    ledger: Ledger,
    blobs: BlobStore,
    key: SigningKey,
    period: Period,
    scope: str,
    out: Path,
    *,
    progress: Progress | None = None,
) -> Path:
    """Write the signed pack of `scope` over `period` to the folder `out`; return `out`.

    The pack is written to a hidden `.NAME.partial` folder beside `out` and
    renamed when complete. An existing `out` is replaced.
    """
    summary = summarise_period(ledger, period, scope, progress)
    if not summary.runs:
        raise AssayError(
            f"no complete run of scope {scope!r} falls in {summary.start}..{summary.end}"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.parent / f".{out.name}.partial"
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir()
    try:
        _write_contents(partial, summary, period, ledger, blobs, key, progress)
        if progress:
            progress("signing", 5, 5)
        seal_pack(partial, key, {
            "kind": PERIOD_KIND,
            "workspace": summary.workspace,
            "scope": scope,
            "period": {"start": summary.start, "end": summary.end},
            "created_at": summary.end,
            "ledger_head": {"seq": summary.head_seq, "hash": summary.head_hash},
            "runs": [run.run for run in summary.runs],
            "statuses": {control.control: control.status.value for control in summary.controls},
        })
        if out.exists():
            shutil.rmtree(out)
        os.replace(partial, out)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return out


def zip_pack(folder: Path, instant: datetime) -> Path:
    """Write FOLDER.zip with sorted entries all dated `instant`, so it is reproducible."""
    target = folder.with_name(folder.name + ".zip")
    stamp = max(instant.timetuple()[:6], (1980, 1, 1, 0, 0, 0))
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(f"{folder.name}/{path.relative_to(folder).as_posix()}", stamp)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    return target


def _write_contents(
    folder: Path,
    summary: PeriodSummary,
    period: Period,
    ledger: Ledger,
    blobs: BlobStore,
    key: SigningKey,
    progress: Progress | None,
) -> None:
    if progress:
        progress("writing records and evidence", 1, 5)
    with (folder / RECORDS).open("wb") as handle:
        for record in ledger.records(1, summary.head_seq):
            handle.write(record_line(record, with_body=record.seq in summary.body_seqs))
    evidence_dir = folder / "evidence" / "sha256"
    evidence_dir.mkdir(parents=True)
    for digest in sorted(summary.artifacts):
        if digest in summary.purged:
            continue
        if not blobs.has(digest):
            raise AssayError(
                f"evidence blob {digest} is missing from {blobs.root} and no tombstone records "
                "its deletion; restore it, or run `assay ledger verify` to find what else is missing"
            )
        shutil.copyfile(blobs.path_for(digest), evidence_dir / digest)
    (folder / PUBLIC_KEY).write_bytes(public_pem(key.public))
    (folder / SUMMARY).write_text(to_json_text(summary), encoding="utf-8")
    (folder / "VERIFY.md").write_text(
        verify_markdown(key.key_id, pdf_signed=key.pdf is not None, period=True), encoding="utf-8"
    )

    if progress:
        progress("rendering report.pdf", 2, 5)
    context = report_context(summary, period, key, pdf=True)
    pdf, warnings = render.render_pdf(
        render.render_template("period_report.html.j2", context, autoescape=True), period.end
    )
    if warnings:
        # The blocked URLs are listed in every report, so the PDF is rendered
        # again with them.
        context["warnings"] = warnings
        pdf, _ = render.render_pdf(
            render.render_template("period_report.html.j2", context, autoescape=True), period.end
        )
    if key.pdf is not None:
        from assay.reports.pdf_signature import sign_pdf  # imported here: pyHanko is slow to import

        # Signed at the period end, so a rebuilt pack is byte-identical.
        pdf = sign_pdf(pdf, key.pdf, period.end)
    (folder / "report.pdf").write_bytes(pdf)
    if progress:
        progress("rendering report.html", 3, 5)
    context = report_context(summary, period, key, pdf=False)
    context["warnings"] = warnings
    (folder / "report.html").write_text(
        render.render_template("period_report.html.j2", context, autoescape=True), encoding="utf-8"
    )
    if progress:
        progress("rendering report.md", 4, 5)
    (folder / "report.md").write_text(
        render.render_template("period_report.md.j2", context, autoescape=False), encoding="utf-8"
    )


def _shorten(value: Any) -> str:
    text = render._fact(value)
    if len(text) <= PDF_FACT_CHARS:
        return text
    return text[:PDF_FACT_CHARS] + f"… ({len(text)} characters; whole in records.jsonl)"


def _charts(summary: PeriodSummary, period: Period) -> dict[str, list[str]]:
    """Return the inline SVG charts of each control: numeric facts over time, then the met strip."""
    found: dict[str, list[str]] = {}
    for control in summary.controls:
        svgs: list[str] = []
        series: dict[tuple[str, str], list[tuple[datetime, float]]] = {}
        for run in control.runs:
            when = parse_instant(run.time)
            for use in run.evidence:
                for name, value in (use.facts or {}).items():
                    if name in CHART_FACTS and isinstance(value, (int, float)) and not isinstance(value, bool):
                        series.setdefault((use.evidence, name), []).append(
                            (when, value / CHART_FACTS[name][2])
                        )
        for (evidence, name), points in sorted(series.items()):
            title, unit, _ = CHART_FACTS[name]
            svgs.append(charts.line_chart(
                points, period.start, period.end, title=f"{title}, {evidence}", unit=unit
            ))
        strip = [
            (parse_instant(run.time), None if run.status == "not_applicable" else run.status in ("pass", "waived"))
            for run in control.runs
        ]
        svgs.append(charts.status_strip(strip, period.start, period.end, title="met (green) / not met (red)"))
        found[control.control] = svgs
    return found


def report_context(
    summary: PeriodSummary, period: Period, key: SigningKey, *, pdf: bool
) -> dict[str, Any]:
    """Build the template context of the period reports; `pdf` selects the summarised form."""
    artifacts_of: dict[str, list[dict[str, Any]]] = {}
    for control in summary.controls:
        seen: dict[str, dict[str, Any]] = {}
        for run in control.runs:
            for use in run.evidence:
                for artifact in use.artifacts:
                    item = seen.setdefault(artifact["sha256"], {
                        **artifact, "evidence": use.evidence, "first": run.time, "runs": 0,
                    })
                    item["last"] = run.time
                    item["runs"] += 1
        artifacts_of[control.control] = sorted(seen.values(), key=lambda a: (a["first"], a["sha256"]))
    return {
        "title": f"Period audit pack: {summary.workspace}",
        "summary": summary,
        "key_id": key.key_id,
        "pdf": pdf,
        "pdf_rows": PDF_ROWS,
        "charts": _charts(summary, period),
        "artifacts_of": artifacts_of,
        "shorten": _shorten if pdf else render._fact,
        "warnings": [],
    }
