"""Small statistics and the result record of the benchmark (no Qt, no third-party code)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0–100) with linear interpolation between closest ranks."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    if len(ordered) == 1:
        return float(ordered[0])
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = math.ceil(position)
    fraction = position - low
    return float(ordered[low] + (ordered[high] - ordered[low]) * fraction)


def median(values: Sequence[float]) -> float:
    """The median (ValueError when empty)."""
    if not values:
        raise ValueError("median of no values")
    return float(statistics.median(values))


@dataclass
class Result:
    """One measure as written to the JSON file: the median over ``runs`` runs, with min/max.

    ``target`` is the limit the value must not exceed (None when the issue sets none; then
    ``met`` is None). ``details`` holds supporting numbers (raw per-run values, baselines).
    """

    name: str
    value: float | None
    unit: str
    target: float | None
    met: bool | None
    min: float | None
    max: float | None
    runs: int
    description: str = ""
    note: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_runs(cls, name: str, per_run: Sequence[float], unit: str, target: float | None,
                  description: str, **details: Any) -> Result:
        """Median/min/max of per-run values; ``met`` = median ≤ target."""
        value = median(per_run)
        return cls(name=name, value=round(value, 3), unit=unit, target=target,
                   met=None if target is None else value <= target,
                   min=round(min(per_run), 3), max=round(max(per_run), 3), runs=len(per_run),
                   description=description,
                   details={"per_run": [round(v, 3) for v in per_run], **details})

    @classmethod
    def skipped(cls, name: str, unit: str, target: float | None, description: str,
                note: str) -> Result:
        """A measure that could not run here (``value`` None, ``met`` None, ``note`` why)."""
        return cls(name=name, value=None, unit=unit, target=target, met=None, min=None,
                   max=None, runs=0, description=description, note=note)

    def to_json(self) -> dict[str, Any]:
        """The JSON object (key order: the issue's fields first)."""
        return asdict(self)


def _fmt(value: float | None) -> str:
    if value is None:
        return "–"
    if abs(value) >= 100:
        return f"{value:.0f}"
    return f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"


def format_table(results: Sequence[Result]) -> str:
    """A Markdown table (readable on a terminal, pasteable into the README)."""
    lines = ["| measure | median | min | max | target | met | runs |",
             "|---|---:|---:|---:|---:|:---:|---:|"]
    for r in results:
        unit = f" {r.unit}"
        target = f"≤ {_fmt(r.target)}{unit}" if r.target is not None else "–"
        met = {True: "yes", False: "**no**", None: "–"}[r.met]
        value = _fmt(r.value) + unit if r.value is not None else f"skipped: {r.note}"
        lines.append(f"| {r.description or r.name} | {value} | {_fmt(r.min)} | {_fmt(r.max)} "
                     f"| {target} | {met} | {r.runs} |")
    return "\n".join(lines)
