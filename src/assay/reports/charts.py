"""Hand-written inline SVG charts for the period report: no JavaScript, no web fonts.

Each function returns one `<svg>` element as text, with every coordinate
rounded to 0.1 so the output is the same on every machine.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape

WIDTH = 640
LINE_HEIGHT = 160
STRIP_HEIGHT = 34
MARGIN_LEFT = 56
MARGIN_RIGHT = 10
FONT = 'font-family="DejaVu Sans, sans-serif" font-size="9"'
MET_COLOUR = "#2e8b57"
NOT_MET_COLOUR = "#c0392b"
OTHER_COLOUR = "#bbbbbb"


def _x(instant: datetime, start: datetime, end: datetime) -> float:
    span = (end - start).total_seconds() or 1.0
    share = (instant - start).total_seconds() / span
    return MARGIN_LEFT + max(0.0, min(1.0, share)) * (WIDTH - MARGIN_LEFT - MARGIN_RIGHT)


def _n(value: float) -> str:
    return f"{value:.1f}"


def line_chart(
    points: Sequence[tuple[datetime, float]],
    start: datetime,
    end: datetime,
    *,
    title: str,
    unit: str,
    limit: float | None = None,
) -> str:
    """Plot `points` (time, value) over [start, end] as a polyline, with an optional limit line."""
    top, bottom = 18.0, LINE_HEIGHT - 18.0
    values = [value for _, value in points]
    high = max([*values, limit or 0.0, 0.0]) or 1.0
    high *= 1.05

    def y(value: float) -> float:
        return bottom - (value / high) * (bottom - top)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{LINE_HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {LINE_HEIGHT}" role="img" aria-label="{escape(title)}">',
        f'<text x="{MARGIN_LEFT}" y="11" {FONT} font-weight="bold">{escape(title)} ({escape(unit)})</text>',
        f'<line x1="{MARGIN_LEFT}" y1="{_n(bottom)}" x2="{WIDTH - MARGIN_RIGHT}" y2="{_n(bottom)}" stroke="#888"/>',
        f'<line x1="{MARGIN_LEFT}" y1="{_n(top)}" x2="{MARGIN_LEFT}" y2="{_n(bottom)}" stroke="#888"/>',
        f'<text x="{MARGIN_LEFT - 4}" y="{_n(top + 3)}" {FONT} text-anchor="end">{high:.4g}</text>',
        f'<text x="{MARGIN_LEFT - 4}" y="{_n(bottom)}" {FONT} text-anchor="end">0</text>',
        f'<text x="{MARGIN_LEFT}" y="{LINE_HEIGHT - 4}" {FONT}>{start:%Y-%m-%d}</text>',
        f'<text x="{WIDTH - MARGIN_RIGHT}" y="{LINE_HEIGHT - 4}" {FONT} text-anchor="end">{end:%Y-%m-%d}</text>',
    ]
    if limit is not None:
        parts.append(
            f'<line x1="{MARGIN_LEFT}" y1="{_n(y(limit))}" x2="{WIDTH - MARGIN_RIGHT}" '
            f'y2="{_n(y(limit))}" stroke="{NOT_MET_COLOUR}" stroke-dasharray="4 3"/>'
        )
    if points:
        coords = " ".join(f"{_n(_x(when, start, end))},{_n(y(value))}" for when, value in points)
        parts.append(f'<polyline fill="none" stroke="#1f4e99" stroke-width="1" points="{coords}"/>')
    else:
        parts.append(f'<text x="{WIDTH // 2}" y="{LINE_HEIGHT // 2}" {FONT} text-anchor="middle">no values</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def status_strip(
    points: Sequence[tuple[datetime, bool | None]], start: datetime, end: datetime, *, title: str
) -> str:
    """Draw one coloured band per run from its time to the next run's (or the period end).

    True is met, False is not met and None (not applicable) is grey.
    """
    band_top, band_bottom = 14.0, STRIP_HEIGHT - 4.0
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{STRIP_HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {STRIP_HEIGHT}" role="img" aria-label="{escape(title)}">',
        f'<text x="{MARGIN_LEFT}" y="10" {FONT}>{escape(title)}</text>',
        f'<rect x="{MARGIN_LEFT}" y="{_n(band_top)}" width="{WIDTH - MARGIN_LEFT - MARGIN_RIGHT}" '
        f'height="{_n(band_bottom - band_top)}" fill="#f3f3f3"/>',
    ]
    # Adjacent runs of the same colour are merged into one rectangle, so a
    # quarter of hourly runs stays a few rectangles.
    merged: list[tuple[float, float, bool | None]] = []
    for index, (when, met) in enumerate(points):
        left = _x(when, start, end)
        right = _x(points[index + 1][0], start, end) if index + 1 < len(points) else _x(end, start, end)
        if merged and merged[-1][2] == met:
            merged[-1] = (merged[-1][0], right, met)
        else:
            merged.append((left, right, met))
    for left, right, met in merged:
        if met:
            colour = MET_COLOUR
        elif met is False:
            colour = NOT_MET_COLOUR
        else:
            colour = OTHER_COLOUR
        parts.append(
            f'<rect x="{_n(left)}" y="{_n(band_top)}" width="{_n(max(right - left, 0.5))}" '
            f'height="{_n(band_bottom - band_top)}" fill="{colour}"/>'
        )
    parts.append("</svg>")
    return "\n".join(parts)
