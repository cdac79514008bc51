"""Small bar charts drawn on the server as SVG, so they need no script and pass the strict CSP.

Only the geometry is computed here; ``templates/charts.html`` draws it. Colours come from classes in
``static/app.css`` (never inline styles, which the CSP blocks). A chart always has a text alternative: its
title and description, and the table of the same numbers that sits next to it on the page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

WIDTH = 960  # the width of the page's content, so that the chart's text is drawn at its own size
LABEL_WIDTH = 300
VALUE_WIDTH = 140
ROW_HEIGHT = 36
BAR_HEIGHT = 24
TOP = 8


@dataclass(frozen=True)
class Series:
    name: str
    css: str  # the modifier of app-chart__bar, e.g. "sent" gives app-chart__bar--sent


@dataclass(frozen=True)
class Segment:
    x: float
    width: float
    value: int
    series: Series


@dataclass(frozen=True)
class Row:
    label: str
    full_label: str
    y: float
    segments: tuple[Segment, ...]
    total_text: str
    value_x: float

    @property
    def text_y(self) -> float:
        return self.y + BAR_HEIGHT / 2


@dataclass(frozen=True)
class Chart:
    title: str
    description: str
    series: tuple[Series, ...]
    rows: tuple[Row, ...]
    width: int = WIDTH
    label_width: int = LABEL_WIDTH

    @property
    def height(self) -> int:
        return TOP * 2 + ROW_HEIGHT * len(self.rows)

    @property
    def track_width(self) -> int:
        return self.width - self.label_width - VALUE_WIDTH

    @property
    def bar_height(self) -> int:
        return BAR_HEIGHT


def _short(label: str, most: int = 36) -> str:
    return label if len(label) <= most else label[: most - 1] + "…"


def stacked_bars(
    title: str,
    description: str,
    series: Sequence[Series],
    rows: Sequence[tuple[str, Sequence[int]]],
    total_text: str = "{total:,}",
    *,
    shares: bool = False,
) -> Chart:
    """Horizontal stacked bars, one row per (label, values per series), scaled to the largest total — or,
    with ``shares``, each bar the full width, split in proportion to its values."""
    largest = max((sum(values) for _, values in rows), default=0) or 1
    span = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    drawn = []
    for index, (label, values) in enumerate(rows):
        x = float(LABEL_WIDTH)
        segments = []
        scale = (sum(values) or 1) if shares else largest
        for one, value in zip(series, values, strict=True):
            width = span * value / scale
            if value:
                segments.append(Segment(round(x, 1), round(max(width, 2.0), 1), value, one))
            x += width
        total = sum(values)
        text = total_text.format(total=total, values=values)
        end = max((s.x + s.width for s in segments), default=float(LABEL_WIDTH))
        drawn.append(Row(_short(label), label, TOP + index * ROW_HEIGHT, tuple(segments), text, round(end + 8, 1)))
    return Chart(title, description, tuple(series), tuple(drawn))


__all__ = ["Chart", "Row", "Segment", "Series", "stacked_bars"]
