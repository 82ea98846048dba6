"""/stats for staff and `sxsh-bot stats`: the four indicators of a year against the plan's
targets, for the caller's scope, per commune and per sector, with two charts.

The figures come from one read-only snapshot (`bot.storage.snapshot`) in a worker
thread and are computed by `bot.indicators`; this module only words them. In the chat the
text answers at once and the charts follow as photos from a background task (drawing
takes a moment), like the exports.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from bot.access import Access, commune_name, refuse_outside_scope, staff_access
from bot.charts import indicators_chart, progress_chart
from bot.clock import show_datetime
from bot.dispatcher import Dispatcher, Turn, stale_message
from bot.geo import find_sector
from bot.i18n import N_, tr
from bot.indicators import (
    APPLYING_TARGET,
    AWARE_TARGET,
    RESOURCE_LABELS,
    RESOURCES,
    SAVING_TARGET,
    UNIT_TARGET,
    Average,
    Breakdown,
    Indicators,
    Share,
    TargetState,
    compute,
    target_state,
    target_text,
)
from bot.messages import Attachment, Button, Outbound
from bot.staff import DocumentSender, asked_for, parse_export_data
from bot.storage.snapshot import FacilityFilter, read_snapshot
from flows.numbers import format_percent

log = logging.getLogger(__name__)

# Channels that show pictures; elsewhere the text says where to get the charts.
PHOTO_CHANNELS = frozenset({"telegram"})
COMMUNES = "c"
SECTORS = "s"


def load_breakdown(database: Path, scope: FacilityFilter, year: int) -> Breakdown:
    """The indicators of `year` for `scope`, from one read-only snapshot (synchronous)."""
    with read_snapshot(database) as reader:
        return compute(reader.facility_years(scope, year))


def scope_words(lang: str, scope: FacilityFilter) -> str:
    where = commune_name(scope.commune_code) if scope.commune_code else tr(lang, "whole province")
    if scope.sector_code:
        sector = find_sector(scope.sector_code)
        name = (sector.name_en if lang == "en" else sector.name_vi) if sector else ""
        return f"{where}, {scope.sector_code} {name}".strip()
    return where


_MARKS = {
    TargetState.NO_DATA: N_("no data"),
    TargetState.REACHED: N_("✅ reached"),
    TargetState.BELOW: N_("✗ not yet"),
}


def _mark(lang: str, value: Decimal | None, target: Decimal) -> str:
    return tr(lang, _MARKS[target_state(value, target)])


def _share(share: Share) -> str:
    if share.value is None:
        return "—"
    return f"{format_percent(share.value)} ({share.count}/{share.of})"


def _average(average: Average) -> str:
    return "—" if average.value is None else format_percent(average.value)


def summary_text(
    lang: str, year: int, scope: FacilityFilter, figures: Indicators, as_of: str
) -> str:
    """The indicators of one scope, each next to its target, and where the reports stand."""
    savings = " · ".join(
        f"{tr(lang, RESOURCE_LABELS[r])} {_average(figures.saving(r))} ({figures.saving(r).count})"
        for r in RESOURCES
        if figures.saving(r).count
    )
    lines = [
        tr(
            lang,
            "📊 SXSH indicators {year} — {scope} (as of {time})",
            year=year,
            scope=scope_words(lang, scope),
            time=as_of,
        ),
        tr(lang, "Registered facilities: {count}", count=figures.registered),
        tr(
            lang,
            "Reported: {reported} (on time {on_time}, late {late}) · not reported: {missing} "
            "(writing a draft: {writing})",
            reported=figures.reported,
            on_time=figures.on_time,
            late=figures.late,
            missing=figures.not_reported,
            writing=figures.drafting,
        ),
        "",
        tr(
            lang,
            "1. Aware of SXSH: {value} — target {target} {mark}",
            value=_share(figures.aware_share),
            target=target_text(AWARE_TARGET),
            mark=_mark(lang, figures.aware_share.value, AWARE_TARGET),
        ),
        tr(
            lang,
            "2. Applying SXSH: {value} — target {target} {mark}",
            value=_share(figures.applying_share),
            target=target_text(APPLYING_TARGET),
            mark=_mark(lang, figures.applying_share.value, APPLYING_TARGET),
        ),
        tr(
            lang,
            "3. Saving per unit of product at applying facilities: {value} (average of "
            "{count}) — target {target} {mark}",
            value=_average(figures.overall_saving),
            count=figures.overall_saving.count,
            target=target_text(*SAVING_TARGET),
            mark=_mark(lang, figures.overall_saving.value, SAVING_TARGET[0]),
        ),
    ]
    if savings:
        lines.append("   " + savings)
    lines.append(
        tr(
            lang,
            "4. Medium and large facilities with a dedicated SXSH unit: {value} — target "
            "{target} {mark}",
            value=_share(figures.unit_share),
            target=target_text(UNIT_TARGET),
            mark=_mark(lang, figures.unit_share.value, UNIT_TARGET),
        )
    )
    lines.append("")
    lines.append(
        tr(
            lang,
            "Shares are of all registered facilities: one that has not reported counts as "
            "not aware and not applying. The definitions are in the export's first sheet.",
        )
    )
    return "\n".join(lines)


def group_lines(lang: str, groups: Mapping[str, Indicators], by: str) -> list[str]:
    """One line per commune (or sector) with facilities."""
    lines = []
    for code, figures in groups.items():
        if by == COMMUNES:
            name = commune_name(code)
        else:
            sector = find_sector(code)
            name = (
                f"{code} {(sector.name_en if lang == 'en' else sector.name_vi) if sector else ''}"
            )
        lines.append(
            tr(
                lang,
                "• {name}: reported {reported}/{registered} (late {late}) · aware {aware} · "
                "applying {applying} · saving {saving} · SXSH unit {unit}",
                name=name.strip(),
                reported=figures.reported,
                registered=figures.registered,
                late=figures.late,
                aware=_average_or_share(figures.aware_share),
                applying=_average_or_share(figures.applying_share),
                saving=_average(figures.overall_saving),
                unit=(
                    f"{figures.with_unit}/{figures.medium_large}" if figures.medium_large else "—"
                ),
            )
        )
    return lines


def _average_or_share(share: Share) -> str:
    return "—" if share.value is None else format_percent(share.value)


@dataclass(frozen=True)
class ChartFiles:
    indicators: bytes
    progress: bytes


def draw_charts(lang: str, year: int, scope: FacilityFilter, breakdown: Breakdown) -> ChartFiles:
    where = scope_words(lang, scope)
    return ChartFiles(
        indicators_chart(
            breakdown.total,
            tr(lang, "SXSH indicators {year} — {scope}", year=year, scope=where),
            lang,
        ),
        progress_chart(
            breakdown.by_commune,
            tr(lang, "Yearly reports {year} by commune — {scope}", year=year, scope=where),
            lang,
        ),
    )


def chart_names(year: int) -> tuple[str, str]:
    return f"sxsh-{year}-indicators.png", f"sxsh-{year}-progress-by-commune.png"


class ChatCharts:
    """Draws the charts of a /stats and sends them as photos, outside the chat turn."""

    def __init__(self, dispatcher: Dispatcher, senders: Mapping[str, DocumentSender]) -> None:
        self.dispatcher = dispatcher
        self.senders = senders
        self._running: set[asyncio.Task[None]] = set()

    def start(self, turn: Turn, year: int, scope: FacilityFilter, breakdown: Breakdown) -> None:
        sender = self.senders.get(turn.user.channel)
        if sender is None:
            return
        task = asyncio.create_task(
            self._send(sender, turn.user.chat_id, turn.lang, year, scope, breakdown)
        )
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _send(
        self,
        sender: DocumentSender,
        chat_id: str,
        lang: str,
        year: int,
        scope: FacilityFilter,
        breakdown: Breakdown,
    ) -> None:
        try:
            charts = await asyncio.to_thread(draw_charts, lang, year, scope, breakdown)
            names = chart_names(year)
            for name, content, caption in (
                (names[0], charts.indicators, tr(lang, "The indicators against the targets")),
                (names[1], charts.progress, tr(lang, "Yearly reports by commune")),
            ):
                await sender.send(
                    Outbound(chat_id, caption, attachment=Attachment("photo", name, content))
                )
        except Exception:
            log.exception("could not send the /stats charts to chat %s", chat_id)

    async def wait(self) -> None:
        while self._running:
            await asyncio.gather(*list(self._running), return_exceptions=True)


def _buttons(turn: Turn, year: int, scope: FacilityFilter) -> list[list[Button]]:
    where = f"{year}:{scope.commune_code or '-'}:{scope.sector_code or '-'}"
    return [
        [
            Button(turn.t("By commune"), f"sx:{COMMUNES}:{where}"),
            Button(turn.t("By sector"), f"sx:{SECTORS}:{where}"),
        ]
    ]


async def _figures(
    turn: Turn, access: Access, commune: str | None, sector: str | None, year: int
) -> tuple[FacilityFilter, Breakdown] | None:
    scope = access.scope.narrow(commune, sector)
    if scope is None:
        refuse_outside_scope(turn, access)
        return None
    database = turn.dispatcher.database.path
    return scope, await asyncio.to_thread(load_breakdown, database, scope, year)


def install(dispatcher: Dispatcher, senders: Mapping[str, DocumentSender]) -> ChatCharts:
    charts = ChatCharts(dispatcher, senders)

    @dispatcher.command(
        "stats", N_("The plan's four indicators against their targets"), audience="staff"
    )
    async def stats(turn: Turn, argument: str) -> None:
        access = await staff_access(turn)
        if access is None:
            return
        ask = asked_for(turn, argument, "/stats 2026 Tam Thanh C23")
        if ask is None:
            return
        found = await _figures(turn, access, ask.commune_code, ask.sector_code, ask.year)
        if found is None:
            return
        scope, breakdown = found
        as_of = show_datetime(turn.now, turn.settings.zone)
        text = summary_text(turn.lang, ask.year, scope, breakdown.total, as_of)
        if turn.user.channel not in PHOTO_CHANNELS:
            text += "\n" + turn.t(
                "The charts are sent on Telegram; on the server: sxsh-bot stats --charts FOLDER"
            )
        turn.reply(text, _buttons(turn, ask.year, scope), menu=True)
        if turn.user.channel in PHOTO_CHANNELS and breakdown.total.registered:
            charts.start(turn, ask.year, scope, breakdown)

    @dispatcher.callback("sx")
    async def stats_pressed(turn: Turn, rest: str) -> None:
        access = await staff_access(turn)
        if access is None:
            return
        by, _, where = rest.partition(":")
        ask = parse_export_data(where.replace(":", ":xlsx:", 1))
        if ask is None or by not in (COMMUNES, SECTORS):
            turn.reply(stale_message(turn))
            return
        found = await _figures(turn, access, ask.commune_code, ask.sector_code, ask.year)
        if found is None:
            return
        scope, breakdown = found
        groups = breakdown.by_commune if by == COMMUNES else breakdown.by_sector
        heading = (
            turn.t(
                "By commune, {year} — {scope}:", year=ask.year, scope=scope_words(turn.lang, scope)
            )
            if by == COMMUNES
            else turn.t(
                "By sector, {year} — {scope}:", year=ask.year, scope=scope_words(turn.lang, scope)
            )
        )
        lines = group_lines(turn.lang, groups, by) or [turn.t("No facilities.")]
        turn.reply("\n".join([heading, *lines]))

    return charts
