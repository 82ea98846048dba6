"""Charts of the indicators as PNG: the four indicators against their targets, and the
reporting progress by commune.

matplotlib draws them with its Agg backend (no display, no network) on `Figure` objects
of their own — never pyplot's global state — so a chart can be drawn in a worker thread
while the bot answers other chats. The font is DejaVu Sans, which ships with matplotlib
and has every Vietnamese letter. matplotlib is imported only when a chart is drawn: it
takes a while to load and most runs of the program draw none.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING

from bot.access import commune_name
from bot.i18n import tr
from bot.indicators import (
    APPLYING_TARGET,
    AWARE_TARGET,
    SAVING_TARGET,
    UNIT_TARGET,
    Indicators,
    Share,
)
from flows.numbers import format_decimal, format_percent
from flows.textmatch import fold

if TYPE_CHECKING:
    from matplotlib.figure import Figure

FONT = "DejaVu Sans"
DPI = 110
REACHED = "#2E7D32"
BELOW = "#EF6C00"
TARGET = "#263238"
ON_TIME = "#2E7D32"
LATE = "#EF6C00"
WRITING = "#64B5F6"
MISSING = "#CFD8DC"


def _figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def _png(figure: Figure) -> bytes:
    import matplotlib

    buffer = io.BytesIO()
    with matplotlib.rc_context({"font.family": FONT}):
        figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def _share_note(lang: str, share: Share) -> str:
    if share.value is None:
        return tr(lang, "no data")
    return f"{format_percent(share.value)} ({share.count}/{share.of})"


def indicators_chart(figures: Indicators, title: str, lang: str) -> bytes:
    """Four bars (0–100 %) with each target marked: reached in green, below in orange."""
    import matplotlib

    saving = figures.overall_saving
    rows: list[tuple[str, Decimal | None, Decimal, Decimal | None, str]] = [
        (
            tr(lang, "Aware of SXSH"),
            figures.aware_share.value,
            AWARE_TARGET,
            None,
            _share_note(lang, figures.aware_share),
        ),
        (
            tr(lang, "Applying SXSH"),
            figures.applying_share.value,
            APPLYING_TARGET,
            None,
            _share_note(lang, figures.applying_share),
        ),
        (
            tr(lang, "Saving per unit of product"),
            saving.value,
            SAVING_TARGET[0],
            SAVING_TARGET[1],
            (
                tr(
                    lang,
                    "{value} (average, n = {count})",
                    value=format_percent(saving.value),
                    count=saving.count,
                )
                if saving.value is not None
                else tr(lang, "no data")
            ),
        ),
        (
            tr(lang, "Medium and large with an SXSH unit"),
            figures.unit_share.value,
            UNIT_TARGET,
            None,
            _share_note(lang, figures.unit_share),
        ),
    ]
    with matplotlib.rc_context({"font.family": FONT}):
        figure = _figure(8.5, 4.2)
        axes = figure.add_subplot()
        positions = list(range(len(rows)))[::-1]
        for y, (_label, value, low, high, note) in zip(positions, rows, strict=True):
            shown = float(value) if value is not None else 0.0
            reached = value is not None and value >= low
            axes.barh(y, shown, height=0.55, color=REACHED if reached else BELOW)
            if high is None:
                axes.plot([float(low)] * 2, [y - 0.38, y + 0.38], color=TARGET, linewidth=2.5)
            else:
                axes.fill_betweenx(
                    [y - 0.38, y + 0.38], float(low), float(high), color=TARGET, alpha=0.2
                )
            target = (
                format_percent(low)
                if high is None
                else f"{format_decimal(low)}–{format_percent(high)}"
            )
            axes.text(
                min(max(shown, float(high or low)) + 1.5, 101),
                y,
                f"{note}\n{tr(lang, 'target {target}', target=target)}",
                va="center",
                fontsize=9,
            )
        axes.set_yticks(positions, [row[0] for row in rows], fontsize=10)
        axes.set_ylim(-0.5, len(rows) - 0.5)
        axes.set_xlim(0, 135)
        axes.set_xticks(range(0, 101, 20), [f"{tick}%" for tick in range(0, 101, 20)])
        axes.spines[["top", "right"]].set_visible(False)
        axes.set_title(title, fontsize=12, loc="left")
        axes.set_xlabel(
            tr(
                lang,
                "Registered {registered} · reported {reported} (late {late}) · not reported "
                "{missing}.\nThe line is the plan's target; the shaded band, its range.",
                registered=figures.registered,
                reported=figures.reported,
                late=figures.late,
                missing=figures.not_reported,
            ),
            fontsize=8,
            color="#455A64",
            loc="left",
        )
        return _png(figure)


def progress_chart(by_commune: Mapping[str, Indicators], title: str, lang: str) -> bytes:
    """One stacked bar per commune with facilities: on time, late, writing, not started."""
    import matplotlib
    from matplotlib.ticker import MaxNLocator

    communes = sorted(by_commune, key=lambda code: fold(commune_name(code)), reverse=True)
    parts: list[tuple[str, str, Callable[[Indicators], int]]] = [
        (tr(lang, "reported on time"), ON_TIME, lambda f: f.on_time),
        (tr(lang, "reported late"), LATE, lambda f: f.late),
        (tr(lang, "draft being written"), WRITING, lambda f: f.drafting),
        (tr(lang, "not started"), MISSING, lambda f: f.not_reported - f.drafting),
    ]
    with matplotlib.rc_context({"font.family": FONT}):
        figure = _figure(8.5, 1.6 + 0.32 * max(len(communes), 3))
        axes = figure.add_subplot()
        positions = list(range(len(communes)))
        left = [0.0] * len(communes)
        for label, colour, count in parts:
            widths = [float(count(by_commune[code])) for code in communes]
            axes.barh(positions, widths, left=left, height=0.7, color=colour, label=label)
            left = [start + width for start, width in zip(left, widths, strict=True)]
        widest = max(left, default=1.0) or 1.0
        for y, code in enumerate(communes):
            figures = by_commune[code]
            axes.text(
                left[y] + widest * 0.01,
                y,
                f"{figures.reported}/{figures.registered}",
                va="center",
                fontsize=8,
            )
        axes.set_yticks(positions, [commune_name(code) for code in communes], fontsize=9)
        axes.set_xlim(0, widest * 1.12)
        axes.set_xlabel(tr(lang, "facilities"))
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.spines[["top", "right"]].set_visible(False)
        figure.legend(loc="outside lower center", ncols=len(parts), fontsize=8, frameon=False)
        axes.set_title(title, fontsize=12, loc="left")
        return _png(figure)
