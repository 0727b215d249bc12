"""The dashboard's trend chart, laid out on the server: records created and completed per week as the geometry of
an inline SVG (the CSP allows no inline script or style, so the page draws it from these numbers alone; colours
come from static/css/app.css), with the words a screen reader hears and the table beside it."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

WIDTH, HEIGHT = 360, 180  # the SVG's viewBox
LEFT, BOTTOM, TOP = 30, 24, 8  # room for the scale, the weeks' labels, the top label
KINDS = (("created", "Created", "chart-open"), ("completed", "Completed", "chart-done"))


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    value: int
    kind: str  # created or completed
    css: str


@dataclass(frozen=True)
class Week:
    """One week of the chart: ISO name, the label shown (its Monday), the counts, where its label goes."""

    iso: str
    label: str
    created: int
    completed: int
    x: float


@dataclass(frozen=True)
class Trend:
    weeks: list[Week]
    bars: list[Bar]
    ticks: list[tuple[float, int]]  # (y, value) of the scale's lines
    width: int = WIDTH
    height: int = HEIGHT
    baseline: float = HEIGHT - BOTTOM
    left: int = LEFT

    @property
    def empty(self) -> bool:
        """Nothing created or completed in these weeks: a chart of zero bars says nothing, so none is drawn."""
        return not any(week.created or week.completed for week in self.weeks)

    @property
    def summary(self) -> str:
        """The chart in one sentence (its SVG description)."""
        created = sum(week.created for week in self.weeks)
        completed = sum(week.completed for week in self.weeks)
        busiest = max(self.weeks, key=lambda week: (week.created + week.completed, week.iso))
        return (
            f"In the last {len(self.weeks)} weeks, {created} created and {completed} completed; "
            f"the busiest was the week of {busiest.label} ({busiest.created} created, {busiest.completed} completed)."
        )


def monday(iso_week: str) -> dt.date:
    year, week = iso_week.split("-W")
    return dt.date.fromisocalendar(int(year), int(week), 1)


def nice_top(value: int) -> int:
    """The scale's top: the smallest of 1, 2 or 5 times a power of 10 at least ``value`` (at least 1)."""
    if value <= 1:
        return 1
    power = 10 ** int(math.log10(value))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= value)


def trend(weeks: list[tuple[str, int, int]]) -> Trend:
    """The chart of (week, created, completed), oldest first: two bars a week on one scale."""
    top = nice_top(max([n for _, created, completed in weeks for n in (created, completed)] or [0]))
    plot_height, slot = HEIGHT - BOTTOM - TOP, (WIDTH - LEFT) / max(1, len(weeks))
    bar_width = slot * 0.34
    shown, bars = [], []
    for n, (iso, created, completed) in enumerate(weeks):
        start = LEFT + n * slot + slot * 0.14
        for k, (kind, _, css) in enumerate(KINDS):
            value = created if kind == "created" else completed
            height = round(plot_height * value / top, 1)
            x = round(start + k * bar_width, 1)
            bars.append(Bar(x, round(HEIGHT - BOTTOM - height, 1), round(bar_width, 1), height, value, kind, css))
        label = monday(iso).strftime("%d %b").lstrip("0")
        shown.append(Week(iso, label, created, completed, round(LEFT + n * slot + slot / 2, 1)))
    ticks = [(round(HEIGHT - BOTTOM - plot_height * value / top, 1), value) for value in sorted({0, top // 2, top})]
    return Trend(shown, bars, ticks)
