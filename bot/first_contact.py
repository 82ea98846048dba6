"""Someone not yet linked who writes anything but a code or a command gets the welcome.

On Telegram the first message is /start (the app's Start button); on Zalo there is no
such button and people open with "Xin chào", so the welcome, with how to link, must not
depend on a command they do not know yet.
"""

from __future__ import annotations

from bot.dispatcher import Dispatcher, Turn


def install(dispatcher: Dispatcher) -> None:
    understood_elsewhere = dispatcher.fallback_text

    async def welcome_the_unlinked(turn: Turn, text: str) -> None:
        if turn.user.facility_id is None:
            await dispatcher.run_command(turn, "start")
        elif understood_elsewhere is not None:
            await understood_elsewhere(turn, text)
        else:
            turn.reply(turn.t("I didn't understand that. Send /help to see what I can do."))

    dispatcher.fallback_text = welcome_the_unlinked
