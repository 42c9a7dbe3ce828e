"""Charts of the mid-term report as PNG images (matplotlib, Agg backend, no pyplot state).

Chart labels use theme ids and English words: matplotlib does not shape Khmer script,
so Khmer headings stay in the document text, not in the images.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from services.tracker.domain.report import STATUS_KEYS, MidTermReport
from services.tracker.domain.report_labels import STATUS_LABELS

# Colour per status, from "not started" (red) to "fully implemented" (green).
STATUS_COLOURS = {
    "not_started": "#d7301f",
    "in_progress": "#fc8d59",
    "partially_implemented": "#fdcc8a",
    "fully_implemented": "#31a354",
    "not_assessable": "#969696",
    "not_assessed": "#d9d9d9",
}


def _png(figure: Figure) -> bytes:
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=150, bbox_inches="tight", metadata={"Software": None})
    return buffer.getvalue()


def chart_by_theme(report: MidTermReport) -> bytes:
    """Horizontal stacked bars: recommendations per theme, coloured by CNCC status."""
    rows = list(reversed(report.statistics.by_theme))
    labels = [f"{r.key} {report.theme_labels[r.key].en}" if r.key in report.theme_labels else "Other" for r in rows]
    figure = Figure(figsize=(7.5, max(2.5, 0.32 * len(rows) + 1.2)))
    axes = figure.add_subplot()
    left = [0] * len(rows)
    for key in STATUS_KEYS:
        values = [r.cncc_statuses.get(key, 0) for r in rows]
        axes.barh(labels, values, left=left, color=STATUS_COLOURS[key], label=STATUS_LABELS[key][0])
        left = [a + b for a, b in zip(left, values, strict=True)]
    axes.set_xlabel("Recommendations (a recommendation counts under each of its themes)")
    axes.set_title("Recommendations by theme and CNCC status", fontsize=11)
    axes.legend(fontsize=7, loc="lower right")
    axes.tick_params(axis="y", labelsize=8)
    axes.spines[["top", "right"]].set_visible(False)
    return _png(figure)


def chart_status(report: MidTermReport) -> bytes:
    """Grouped bars: how many recommendations CNCC and the CSO coalition put in each status."""
    rows = report.statistics.by_status
    labels = [STATUS_LABELS[r.key][0] for r in rows]
    positions = list(range(len(rows)))
    figure = Figure(figsize=(7.5, 3.2))
    axes = figure.add_subplot()
    width = 0.38
    axes.bar([p - width / 2 for p in positions], [r.cncc for r in rows], width, label="CNCC", color="#2b8cbe")
    axes.bar(
        [p + width / 2 for p in positions],
        [r.cso for r in rows],
        width,
        label="CSO coalition",
        color="#f03b20",
    )
    axes.set_xticks(positions, labels, fontsize=8, rotation=15)
    axes.set_ylabel("Recommendations")
    axes.set_title("CNCC and CSO views of implementation status", fontsize=11)
    axes.legend(fontsize=8)
    axes.spines[["top", "right"]].set_visible(False)
    return _png(figure)


def render_charts(report: MidTermReport) -> dict[str, bytes]:
    """All charts of the report, by name: ``by_theme`` and ``status``."""
    charts = {"status": chart_status(report)}
    if report.statistics.by_theme:
        charts["by_theme"] = chart_by_theme(report)
    return charts
