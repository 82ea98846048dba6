"""Flow events to chat replies: question texts, buttons and summaries in the user's language."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from decimal import Decimal

from bot.i18n import tr
from bot.messages import Button, Outbound
from flows.engine import (
    Confirm,
    EditMenu,
    Event,
    Problem,
    Prompt,
    SelectionChanged,
    Stale,
    Summary,
    SummaryItem,
    fill_placeholders,
)
from flows.model import Form, Label, Question
from flows.types import Value

CHECKED = "✅ "
_MAX_BUTTON_LABEL = 60


def flow_button(step: int, action: str, index: int = 0) -> str:
    """Callback data for a flow button; short enough for Telegram's 64 bytes."""
    return f"f:{step}:{action}:{index}"


def shown_values(form: Form, values: Mapping[str, object], lang: str) -> Mapping[str, str]:
    """Every value formatted for display, for filling `{name}` in labels."""
    return ShownValues(form, values, lang)


class ShownValues(Mapping[str, str]):
    """Values formatted on first use: a label names a few of a form's many values, and
    formatting numbers the Vietnamese way is not free."""

    def __init__(self, form: Form, values: Mapping[str, object], lang: str) -> None:
        self._form = form
        self._values = values
        self._lang = lang
        self._shown: dict[str, str] = {}

    def __getitem__(self, name: str) -> str:
        if name not in self._shown:
            value = self._values[name]
            question = self._form.by_name.get(name)
            if question is None:
                self._shown[name] = "" if value is None else str(value)
            else:
                self._shown[name] = show_value(self._form, question, _typed(value), self._lang)
        return self._shown[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


def _typed(value: object) -> Value:
    if value is None or isinstance(value, str | int | bool):
        return value
    if isinstance(value, list):
        return [str(item) for item in value]
    return value if isinstance(value, Decimal) else str(value)


def show_value(form: Form, question: Question, value: Value, lang: str) -> str:
    return question.kind.show(value, form.choices_of(question), lang, question.decimals)


def form_text(form: Form, label: Label, values: Mapping[str, object], lang: str) -> str:
    """A form's title or intro with its `{context}` names filled in."""
    return fill_placeholders(label.text(lang), shown_values(form, values, lang))


class FlowRenderer:
    """Renders one turn's events; holds what every reply needs to know."""

    def __init__(
        self,
        form: Form,
        lang: str,
        chat_id: str,
        values: Mapping[str, object],
        progress: tuple[int, int],
        pressed_message_id: int | None,
    ) -> None:
        self.form = form
        self.lang = lang
        self.chat_id = chat_id
        self.values = values
        self.shown = shown_values(form, values, lang)
        self.progress = progress
        self.pressed_message_id = pressed_message_id

    def t(self, msgid: str, **params: object) -> str:
        return tr(self.lang, msgid, **params)

    def text(self, label: Label | None) -> str:
        if label is None:
            return ""
        return fill_placeholders(label.text(self.lang), self.shown)

    def render(self, events: list[Event]) -> list[Outbound]:
        replies: list[Outbound] = []
        for event in events:
            reply = self._render_one(event)
            if reply is not None:
                replies.append(reply)
        return replies

    def _render_one(self, event: Event) -> Outbound | None:
        if isinstance(event, Prompt):
            return self.prompt(event)
        if isinstance(event, SelectionChanged):
            reply = self.prompt(Prompt(event.question, event.step, selected=event.selected))
            reply.edit_message_id = self.pressed_message_id
            return reply
        if isinstance(event, Problem):
            if event.label is not None:
                message = self.text(event.label)
            else:
                msgid = event.msgid or ""
                message = tr(self.lang, msgid, **dict(event.params))
            return Outbound(self.chat_id, "⚠️ " + message)
        if isinstance(event, Confirm):
            return self.confirm(event)
        if isinstance(event, Summary):
            return self.summary(event)
        if isinstance(event, EditMenu):
            return self.edit_menu(event)
        if isinstance(event, Stale):
            return Outbound(
                self.chat_id,
                self.t("That button is no longer valid. Please answer the latest message."),
            )
        return None

    def prompt(self, prompt: Prompt) -> Outbound:
        question = prompt.question
        done, total = self.progress
        lines = [f"({min(done + 1, total)}/{total}) {self.text(question.label)}"]
        if question.hint:
            lines.append(self.text(question.hint))
        if prompt.current_value is not None:
            current = show_value(self.form, question, prompt.current_value, self.lang)
            lines.append(self.t("Current answer: {value}", value=current))
        if question.type == "select_multiple":
            lines.append(
                self.t("Pick all that apply, then press Done (or type the numbers, e.g. 1, 3).")
            )
        buttons = self._answer_buttons(prompt)
        controls: list[Button] = []
        if prompt.can_back:
            controls.append(
                Button(
                    self.t("⬅ Back"),
                    flow_button(prompt.step, "back"),
                    numbered=False,
                    typed="/back",
                )
            )
        if not question.required:
            controls.append(
                Button(self.t("Skip"), flow_button(prompt.step, "skip"), numbered=False, typed="-")
            )
        if controls:
            buttons.append(controls)
        return Outbound(self.chat_id, "\n".join(lines), buttons)

    def _answer_buttons(self, prompt: Prompt) -> list[list[Button]]:
        question = prompt.question
        step = prompt.step
        if question.type == "yes_no":
            return [
                [
                    Button(self.t("Yes"), flow_button(step, "choose", 0)),
                    Button(self.t("No"), flow_button(step, "choose", 1)),
                ]
            ]
        rows: list[list[Button]] = []
        if question.type in {"select_one", "select_multiple"}:
            action = "choose" if question.type == "select_one" else "toggle"
            for index, choice in enumerate(self.form.choices_of(question)):
                label = choice.label.text(self.lang)
                if question.type == "select_multiple" and choice.value in prompt.selected:
                    label = CHECKED + label
                rows.append([Button(short_label(label), flow_button(step, action, index))])
            if question.type == "select_multiple":
                rows.append(
                    [
                        Button(
                            self.t("Done ✔"),
                            flow_button(step, "done"),
                            numbered=False,
                            typed=self.t("done"),
                        )
                    ]
                )
            return rows
        if prompt.default_value is not None:
            default = show_value(self.form, question, prompt.default_value, self.lang)
            rows.append(
                [Button(default, flow_button(step, "default"), numbered=False, typed=default)]
            )
        return rows

    def confirm(self, event: Confirm) -> Outbound:
        question = event.question
        value = show_value(self.form, question, event.value, self.lang)
        if question.asks_user:
            lines = [self.t("You entered: {value}", value=value)]
        else:
            lines = [f"{self.text(question.label)}: {value}"]
        if event.warned and question.warning_message:
            message = question.warning_message
            # The message names the value being questioned as it is about to be stored.
            names = message.placeholders() & set(self.shown)
            shown = {name: self.shown[name] for name in names}
            shown[question.name] = value
            lines.append("⚠️ " + fill_placeholders(message.text(self.lang), shown))
        lines.append(self.t("Is that right?"))
        buttons = [
            [
                Button(self.t("Yes"), flow_button(event.step, "yes")),
                Button(self.t("No"), flow_button(event.step, "no")),
            ]
        ]
        return Outbound(self.chat_id, "\n".join(lines), buttons)

    def summary_lines(self, items: tuple[SummaryItem, ...]) -> list[str]:
        lines = []
        for item in items:
            label = self.text(item.question.label)
            value = show_value(self.form, item.question, item.value, self.lang)
            lines.append(f"• {label}\n   → {value}")
        return lines

    def summary(self, event: Summary) -> Outbound:
        title = self.text(self.form.title)
        lines = [self.t("Please check your answers — {title}:", title=title), ""]
        lines.extend(self.summary_lines(event.items))
        lines.append("")
        lines.append(self.t("Type 1 to submit, or 2 to change an answer."))
        buttons = [
            [
                Button(self.t("Submit"), flow_button(event.step, "submit")),
                Button(self.t("Change an answer"), flow_button(event.step, "change")),
            ]
        ]
        return Outbound(self.chat_id, "\n".join(lines), buttons)

    def edit_menu(self, event: EditMenu) -> Outbound:
        rows = []
        for index, item in enumerate(event.items):
            rows.append(
                [
                    Button(
                        short_label(self.text(item.question.label)),
                        flow_button(event.step, "edit", index),
                    )
                ]
            )
        rows.append(
            [
                Button(
                    self.t("⬅ Back"), flow_button(event.step, "back"), numbered=False, typed="/back"
                )
            ]
        )
        return Outbound(self.chat_id, self.t("Which answer do you want to change?"), rows)


def short_label(label: str) -> str:
    """A button label that fits on a phone: long ones end in an ellipsis."""
    return label if len(label) <= _MAX_BUTTON_LABEL else label[: _MAX_BUTTON_LABEL - 1] + "…"
