"""Getting started: invitations, language, help, and the commands every form shares
(/cancel, /back), plus the facility profile form that follows linking."""

from __future__ import annotations

import itertools
import re

from bot.dispatcher import Dispatcher, Turn, base_audience, not_linked_message
from bot.formrun import PROFILE_FORM, FormHooks, FormRunner
from bot.i18n import LANGUAGES, N_
from bot.invitations import RedeemOutcome, normalize, redeem
from bot.messages import Button
from bot.storage.drafts import Draft
from flows.model import Form

LANGUAGE_NAMES = {"vi": "Tiếng Việt", "en": "English"}
_CODE_BREAKS = re.compile(r"[\s\-_.]+")


def install(dispatcher: Dispatcher, runner: FormRunner) -> None:
    @dispatcher.command("start", N_("Start, or link your chat with an invitation code"))
    async def start(turn: Turn, argument: str) -> None:
        if argument:
            await redeem_code(turn, argument, runner)
            return
        if turn.user.facility_id is None:
            turn.reply(
                turn.t(
                    "Welcome to the Cleaner Production (SXSH) assistant of the Lạng Sơn "
                    "Department of Industry and Trade. To begin, type the invitation code the "
                    "Department gave you. Send /help to see what you can do without one."
                )
            )
            return
        await welcome_linked(turn, runner)

    @dispatcher.command("help", N_("What this bot can do"))
    async def show_help(turn: Turn, argument: str) -> None:
        turn.reply(help_text(turn, await turn.dispatcher.audience(turn)))

    @dispatcher.command("lang", N_("Change the language: Tiếng Việt / English"))
    async def choose_language(turn: Turn, argument: str) -> None:
        wanted = argument.strip().lower()[:2]
        if wanted in LANGUAGES:
            await set_language(turn, wanted)
            return
        buttons = [[Button(LANGUAGE_NAMES[lang], f"lang:{lang}") for lang in LANGUAGES]]
        turn.reply(turn.t("Choose your language:"), buttons, menu=True)

    @dispatcher.callback("lang")
    async def language_pressed(turn: Turn, rest: str) -> None:
        if rest in LANGUAGES:
            await set_language(turn, rest)
        else:
            turn.reply(turn.t("That button is no longer valid. Please answer the latest message."))

    @dispatcher.command("cancel", N_("Leave the current form (your answers are kept)"))
    async def cancel(turn: Turn, argument: str) -> None:
        resume = await runner.cancel(turn)
        if resume is None:
            turn.reply(turn.t("There is no open form to leave."))
            return
        turn.reply(
            turn.t(
                "You left the form. Your answers are saved; send /{command} to "
                "continue where you stopped.",
                command=resume,
            )
        )

    @dispatcher.command("back", N_("Go back to the previous question"))
    async def back(turn: Turn, argument: str) -> None:
        if not await runner.back(turn):
            turn.reply(turn.t("There is no open form to go back in."))

    @dispatcher.command(
        "profile",
        N_("Your facility's contact details and product unit"),
        needs_link=True,
        audience="linked",
    )
    async def profile(turn: Turn, argument: str) -> None:
        await runner.open(turn, PROFILE_FORM)

    runner.register(PROFILE_FORM, FormHooks(command="profile", on_submit=_profile_saved))

    async def typed_code(turn: Turn, text: str) -> bool:
        if normalize(text) is None or not _grouped_like_a_code(text):
            if turn.user.facility_id is None and _looks_like_a_code_attempt(text):
                await redeem_code(turn, text, runner)
                return True
            return False
        await redeem_code(turn, text, runner)
        return True

    dispatcher.text_handlers.append(typed_code)


def _grouped_like_a_code(text: str) -> bool:
    """Breaks only where a shown code has them (ABCD-EFGH-JKMNP): "compressed air" or
    "bien tan cho bom" also have 13 letters, and they are questions, not codes."""
    parts = [part for part in _CODE_BREAKS.split(text.strip()) if part]
    breaks = set(itertools.accumulate(len(part) for part in parts[:-1]))
    return breaks <= {4, 8}


def _looks_like_a_code_attempt(text: str) -> bool:
    """Short words of ASCII letters and digits, typed by someone not yet linked; a
    question such as "5S nhà xưởng" or "lò hơi 2 tấn" is not one."""
    compact = text.replace("-", "").replace(" ", "")
    return (
        8 <= len(compact) <= 20
        and compact.isascii()
        and compact.isalnum()
        and any(ch.isdigit() for ch in compact)
        and len(text.split()) <= 3
    )


async def redeem_code(turn: Turn, text: str, runner: FormRunner) -> None:
    result = await redeem(turn.store, turn.user.id, turn.user.facility_id, text, turn.now)
    if result.outcome is RedeemOutcome.LINKED:
        await turn.refresh_user()
        facility = await turn.facility()
        name = facility.name if facility else ""
        turn.reply(
            turn.t("Welcome, {facility}! Your chat is now linked to your facility.", facility=name)
        )
        await welcome_linked(turn, runner)
        return
    if result.outcome is RedeemOutcome.ALREADY_LINKED:
        facility = await turn.facility()
        turn.reply(
            turn.t(
                "Your chat is already linked to {facility}.",
                facility=facility.name if facility else "",
            )
        )
        return
    messages = {
        RedeemOutcome.UNKNOWN: N_(
            "That invitation code is not right. Please check it and type "
            "it again ({tries} tries left this hour)."
        ),
        RedeemOutcome.USED: N_(
            "That invitation code has already been used. Ask the Department "
            "for a new one if you need it."
        ),
        RedeemOutcome.EXPIRED: N_(
            "That invitation code has expired. Please ask the Department for a new one."
        ),
        RedeemOutcome.TOO_MANY_TRIES: N_(
            "Too many wrong codes. Please wait an hour and try again, or call the Department."
        ),
    }
    turn.reply(turn.t(messages[result.outcome], tries=result.tries_left))


async def welcome_linked(turn: Turn, runner: FormRunner) -> None:
    """After linking (and in the console demo): continue what the facility has open."""
    if await runner.resume(turn):
        return
    facility = await turn.facility()
    if facility is None:
        turn.reply(not_linked_message(turn))
        return
    profile = await turn.store.drafts.find(facility.id, PROFILE_FORM, "once")
    if profile is None or profile.status == "draft":
        await runner.open(turn, PROFILE_FORM)
        return
    turn.reply(help_text(turn, await turn.dispatcher.audience(turn)))


async def _profile_saved(turn: Turn, form: Form, draft: Draft, values: dict[str, object]) -> None:
    await turn.store.drafts.set_status(draft.id, "submitted", turn.now)
    turn.reply(
        turn.t("Thank you, your facility profile is saved. Send /help to see what you can do next.")
    )


async def set_language(turn: Turn, lang: str) -> None:
    await turn.store.users.set_language(turn.user.id, lang)
    await turn.refresh_user()
    turn.reply(turn.t("Language set: {language}.", language=LANGUAGE_NAMES[lang]))


STAFF_AUDIENCES = {"staff", "admin"}


def help_text(turn: Turn, audience: set[str] | None = None) -> str:
    """The commands this user may use; staff commands in a section of their own."""
    audience = audience or base_audience(turn)
    lines = [turn.t("What you can do:")]
    for command in turn.dispatcher.listed_commands(audience - STAFF_AUDIENCES):
        lines.append(f"/{command.name} — {turn.t(command.description)}")
    staff_commands = turn.dispatcher.listed_commands(audience & STAFF_AUDIENCES)
    if staff_commands:
        lines.append("")
        lines.append(turn.t("For Department staff:"))
        for command in staff_commands:
            lines.append(f"/{command.name} — {turn.t(command.description)}")
    elif turn.user.facility_id is None:
        lines.append("")
        lines.append(not_linked_message(turn))
    return "\n".join(lines)
