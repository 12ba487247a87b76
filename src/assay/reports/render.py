"""Render the markdown, HTML and PDF reports from one jinja2 context.

The PDF renderer fetches nothing: only `data:` URIs are loaded, and every
other URL a report names is blocked and returned as a warning.
"""

from __future__ import annotations

import json
import logging
import os
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Iterator

from jinja2 import Environment, PackageLoader, StrictUndefined

logger = logging.getLogger(__name__)


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.0f} %"


def _fact(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _markdown_cell(value: Any) -> str:
    """Escape text for a markdown table cell: pipes, newlines and HTML-like brackets."""
    text = str(value).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")
    return text.replace("<", "&lt;").replace(">", "&gt;")


def _environment(autoescape: bool) -> Environment:
    env = Environment(
        loader=PackageLoader("assay.reports", "templates"),
        # A plain boolean, because select_autoescape(["html"]) does not match
        # report.html.j2 (the name ends in .j2).
        autoescape=autoescape,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters["percent"] = _percent
    env.filters["fact"] = _fact
    env.filters["md"] = _markdown_cell
    return env


def render_template(name: str, context: dict[str, Any], *, autoescape: bool) -> str:
    """Render the template `name` from assay/reports/templates with the report filters."""
    return _environment(autoescape=autoescape).get_template(name).render(**context)


def render_markdown(context: dict[str, Any]) -> str:
    return _environment(autoescape=False).get_template("report.md.j2").render(**context)


def render_html(context: dict[str, Any]) -> str:
    return _environment(autoescape=True).get_template("report.html.j2").render(**context)


@contextmanager
def _source_date_epoch(instant: datetime) -> Iterator[None]:
    # WeasyPrint stamps font subsets and metadata with the current time unless
    # SOURCE_DATE_EPOCH is set. Pinning it to the run's instant keeps rebuilds
    # of the same run byte-identical.
    previous = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = str(int(instant.timestamp()))
    try:
        yield
    finally:
        if previous is None:
            del os.environ["SOURCE_DATE_EPOCH"]
        else:
            os.environ["SOURCE_DATE_EPOCH"] = previous


def render_pdf(html: str, instant: datetime) -> tuple[bytes, list[str]]:
    """Render `html` to PDF bytes; return them with the URLs that were blocked."""
    from weasyprint import HTML  # imported here: WeasyPrint is slow to import
    from weasyprint.urls import URLFetcher

    blocked: list[str] = []

    class _DataOnlyFetcher(URLFetcher):  # type: ignore[misc]
        def fetch(self, url: str, headers: Any = None) -> Any:
            if url.startswith("data:"):
                return super().fetch(url, headers)
            blocked.append(url)
            raise ValueError(f"blocked: the report renderer fetches nothing ({url})")

    weasy_logger = logging.getLogger("weasyprint")
    level = weasy_logger.level
    weasy_logger.setLevel(logging.CRITICAL)
    try:
        with _source_date_epoch(instant):
            document = HTML(string=html, base_url="about:blank", url_fetcher=_DataOnlyFetcher())
            pdf = document.write_pdf()
    finally:
        weasy_logger.setLevel(level)
    warnings = [f"blocked URL in report: {url}" for url in sorted(set(blocked))]
    for warning in warnings:
        logger.warning("%s", warning)
    return pdf, warnings
