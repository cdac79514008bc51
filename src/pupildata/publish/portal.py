"""What the portal shows of published releases: their manifests, files and a chart, read from the outputs folder."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None  # None: withheld


def releases(outputs: Path) -> list[dict[str, Any]]:
    """Every release written, newest period first within each release."""
    found = []
    for manifest in sorted((outputs / "releases").glob("*/*/release.json")):
        data = json.loads(manifest.read_text(encoding="utf-8"))
        data["files"] = sorted(p.name for p in manifest.parent.iterdir() if p.suffix == ".csv")
        found.append(data)
    return sorted(found, key=lambda r: (r["release"], r["time_period"]), reverse=False)


def release(outputs: Path, name: str, period: str) -> dict[str, Any] | None:
    return next((r for r in releases(outputs) if r["release"] == name and r["time_period"] == period), None)


def file_path(outputs: Path, name: str, period: str, file: str) -> Path | None:
    """The path of a published file, only if the release lists it (no other path can be reached)."""
    found = release(outputs, name, period)
    if found is None or file not in found["files"]:
        return None
    return outputs / "releases" / name / period / file


#: The indicator a release's chart shows when its table has it; otherwise the table's first percentage.
HEADLINES = ("obese_percent", "at_expected_percent", "expected_progress_percent", "in_learning_percent")


def chart_data(outputs: Path, name: str, period: str, table: str) -> tuple[str, list[Bar]]:
    """The headline percentage of a table by region (all filters at Total): its label and one bar per region."""
    path = file_path(outputs, name, period, f"{table}.csv")
    if path is None:
        return "", []
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        return "", []
    percents = [c for c in rows[0] if c.endswith("_percent")]
    indicator = next((c for c in HEADLINES if c in percents), percents[0] if percents else "")
    if not indicator:
        return "", []
    filters = [c for c in rows[0] if c in ("breakdown_topic", "breakdown", "nc_year", "subject", "age")]
    bars = []
    for row in rows:
        if all(row[f] == "Total" for f in filters) and row["geographic_level"] in ("National", "Regional"):
            label = row.get("region_name", "England") if row["geographic_level"] == "Regional" else "England"
            value = row[indicator]
            bars.append(
                Bar(label, None if value in ("c", "z", "x", "u") else (0.0 if value == "low" else float(value)))
            )
    return indicator.removesuffix("_percent").replace("_", " "), bars


def bar_chart(bars: list[Bar], width: int = 640, left: int = 220, bar_h: int = 22, gap: int = 8) -> dict[str, Any]:
    """Geometry of a horizontal bar chart, drawn as SVG by the page template (so every label is escaped there)."""
    top = max((b.value or 0.0) for b in bars) if bars else 0.0
    scale = (width - left - 70) / top if top > 0 else 0.0
    rows = []
    for k, bar in enumerate(bars):
        length = (bar.value or 0.0) * scale
        rows.append(
            {
                "label": bar.label,
                "y": 20 + k * (bar_h + gap),
                "length": round(length, 1),
                "text": "withheld (c)" if bar.value is None else f"{bar.value:g}%",
                "text_x": round(left + (4 if bar.value is None else length + 6), 1),
            }
        )
    return {"width": width, "height": 30 + len(bars) * (bar_h + gap), "left": left, "bar_h": bar_h, "rows": rows}
