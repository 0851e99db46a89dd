"""Charts as inline SVG, drawn from a report's figures (WeasyPrint runs no JavaScript).

Each function takes labelled values and returns an <svg> element as text: a line for equity and the bankroll's
cash, bars (green up, red down) for hourly PnL. Figures are floats here, for drawing only.
"""
from __future__ import annotations

from collections.abc import Sequence
from html import escape

from neolight.formats import money

WIDTH, HEIGHT = 680, 190
LEFT, RIGHT, TOP, BOTTOM = 78, 10, 12, 26  # margins for the value and time labels
UP, DOWN, LINE, GRID = "#1a7f37", "#c62828", "#1f4e9c", "#d0d7de"


def _frame(low: float, high: float) -> tuple[float, float]:
    if high == low:
        pad = abs(high) * 0.01 or 1.0
        return low - pad, high + pad
    return low, high


def _y(value: float, low: float, high: float) -> float:
    return TOP + (HEIGHT - TOP - BOTTOM) * (1 - (value - low) / (high - low))


def _axes(low: float, high: float, labels: Sequence[str]) -> list[str]:
    parts = [f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{HEIGHT - BOTTOM}" stroke="{GRID}"/>']
    for value in (low, (low + high) / 2, high):
        y = _y(value, low, high)
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="{GRID}" '
                     f'stroke-dasharray="2,3"/>')
        parts.append(f'<text x="{LEFT - 4}" y="{y + 3:.1f}" text-anchor="end" font-size="9">{escape(money(value))}</text>')
    if labels:
        step = max(1, len(labels) // 6)
        for i in range(0, len(labels), step):
            x = _x(i, len(labels))
            parts.append(f'<text x="{x:.1f}" y="{HEIGHT - 8}" text-anchor="middle" font-size="9">'
                         f'{escape(labels[i])}</text>')
    return parts


def _x(i: int, n: int) -> float:
    span = WIDTH - LEFT - RIGHT
    return LEFT + (span * (i + 0.5) / n if n else 0)


def _svg(parts: list[str], title: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
            f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>'
            + "".join(parts) + "</svg>")


def line_chart(labels: Sequence[str], values: Sequence[float], *, title: str) -> str:
    """A line through `values` over `labels` (e.g. equity at each hour's end)."""
    if not values:
        return ""
    low, high = _frame(min(values), max(values))
    points = " ".join(f"{_x(i, len(values)):.1f},{_y(v, low, high):.1f}" for i, v in enumerate(values))
    dots = [f'<circle cx="{_x(i, len(values)):.1f}" cy="{_y(v, low, high):.1f}" r="2" fill="{LINE}"/>'
            for i, v in enumerate(values)] if len(values) <= 60 else []
    return _svg([*_axes(low, high, labels), f'<polyline fill="none" stroke="{LINE}" stroke-width="1.6" '
                 f'points="{points}"/>', *dots], title)


def bar_chart(labels: Sequence[str], values: Sequence[float], *, title: str) -> str:
    """Bars from zero, green above and red below (e.g. PnL per hour)."""
    if not values:
        return ""
    low, high = _frame(min(0.0, *values), max(0.0, *values))
    zero, width = _y(0.0, low, high), max(1.0, (WIDTH - LEFT - RIGHT) / len(values) * 0.7)
    bars = []
    for i, v in enumerate(values):
        y = _y(v, low, high)
        bars.append(f'<rect x="{_x(i, len(values)) - width / 2:.1f}" y="{min(y, zero):.1f}" width="{width:.1f}" '
                    f'height="{max(abs(zero - y), 0.5):.1f}" fill="{UP if v >= 0 else DOWN}"/>')
    return _svg([*_axes(low, high, labels), *bars,
                 f'<line x1="{LEFT}" y1="{zero:.1f}" x2="{WIDTH - RIGHT}" y2="{zero:.1f}" stroke="#57606a"/>'], title)
