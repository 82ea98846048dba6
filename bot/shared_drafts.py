"""A facility's draft is shared by everyone linked to it: when one person's answer
replaces another's, the earlier author is told.

If two managers answer the same question at about the same time, the later answer is
the one kept (it is what the draft, the summary and the report show). So that the
earlier answer is never lost without a word, its author gets a message in their own
language naming the question, the new value and what they had answered.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from bot.i18n import N_, normalize_language, tr
from bot.messages import Outbound
from bot.render import show_value, shown_values
from bot.storage.drafts import Draft
from flows.engine import DELETE, fill_placeholders
from flows.model import Form

if TYPE_CHECKING:
    from bot.dispatcher import Turn


async def replaced_answer_notices(
    turn: Turn,
    form: Form,
    draft: Draft,
    changes: Mapping[str, object],
    values: Mapping[str, object],
    command: str,
) -> list[Outbound]:
    """Messages for the people whose answers `changes` is about to replace.

    Call it before the changes are stored: it reads who gave the answers now in place.
    Computed figures and confirmations are not answers anyone typed, so they are left out.
    """
    asked = [
        name
        for name in changes
        if (question := form.by_name.get(name)) is not None and question.asks_user
    ]
    if not asked:
        return []
    earlier = await turn.store.drafts.authors(draft.id, asked)
    notices: list[Outbound] = []
    for name in asked:
        previous = earlier.get(name)
        if previous is None or previous.answered_by in (None, turn.user.id):
            continue
        if changes[name] is not DELETE and changes[name] == previous.value:
            continue
        author = await turn.store.users.by_id(previous.answered_by)
        if author is None or author.facility_id != draft.facility_id:
            continue
        lang = normalize_language(author.language)
        question = form.by_name[name]
        shown = shown_values(form, values, lang)
        text = tr(
            lang,
            N_(
                "ℹ️ {who} has just answered “{question}”: {value}. Your earlier answer "
                "({previous}) was replaced. Send /{command} to check it or change it again."
            ),
            who=turn.user.display_name or tr(lang, N_("A colleague at your facility")),
            question=fill_placeholders(question.label.text(lang), shown),
            value=shown.get(name, "—") if changes[name] is not DELETE else "—",
            previous=show_value(form, question, question.kind.from_json(previous.value), lang),
            command=command,
        )
        notices.append(Outbound(chat_id=author.chat_id, text=text, channel=author.channel))
    return notices
