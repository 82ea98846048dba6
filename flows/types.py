"""Question types, registered by name.

Each type turns what a user typed into a stored value, refuses bad input with a
message for the user (an English msgid the bot translates, with parameters), and
shows a stored value back the Vietnamese way. Choice types also accept a button's
index. Values are JSON-safe when stored: decimals travel as strings so the exact
digits the manager typed survive.

Example (decimal)::

    - name: elec_before
      type: decimal
      label: {vi: "Điện năng trên một tấn sản phẩm (kWh)", en: "Electricity per tonne (kWh)"}
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, ClassVar

from flows import numbers
from flows.textmatch import fold

if TYPE_CHECKING:
    from flows.model import Choice

Value = str | int | Decimal | bool | list[str] | None


def N_(msgid: str) -> str:
    """Marks a msgid for the catalogs; the bot translates it when it renders."""
    return msgid


class AnswerError(ValueError):
    """An input the question cannot take; `msgid` and `params` become the user's message."""

    def __init__(self, msgid: str, **params: str) -> None:
        super().__init__(msgid)
        self.msgid = msgid
        self.params = params


_NUMBER_MESSAGES = {
    "ambiguous": N_("I can't tell which number you mean. Please write it like {example}."),
    "not_whole": N_("Please enter a whole number, for example {example}."),
    "negative_money": N_("An amount of money can't be negative. For example: {example}."),
}
_NUMBER_FALLBACK = N_("Please enter a number, for example {example}.")


def _number_error(error: numbers.NumberError) -> AnswerError:
    msgid = _NUMBER_MESSAGES.get(error.reason, _NUMBER_FALLBACK)
    return AnswerError(msgid, example=error.example)


YES_WORDS = frozenset({"co", "yes", "y", "ok", "dung", "u", "uh", "vang", "roi", "da co"})
NO_WORDS = frozenset({"khong", "ko", "k", "no", "n", "sai", "chua", "khong co", "chua co"})


@dataclass(frozen=True)
class QuestionType:
    """A kind of question; subclasses register themselves under `name`."""

    name: ClassVar[str] = ""
    asks_user: ClassVar[bool] = True
    needs_choices: ClassVar[bool] = False
    is_calculated: ClassVar[bool] = False

    def parse(self, text: str, choices: Sequence[Choice]) -> Value:
        raise NotImplementedError

    def show(self, value: Value, choices: Sequence[Choice], lang: str, decimals: int) -> str:
        if value is None:
            return "—"
        return str(value)

    def to_json(self, value: Value) -> object:
        return value

    def from_json(self, raw: object) -> Value:
        if raw is None or isinstance(raw, str | int | bool | Decimal):
            return raw
        if isinstance(raw, list):
            return [str(item) for item in raw]
        return str(raw)


QUESTION_TYPES: dict[str, QuestionType] = {}


def register(cls: type[QuestionType]) -> type[QuestionType]:
    QUESTION_TYPES[cls.name] = cls()
    return cls


@register
class TextType(QuestionType):
    name = "text"
    max_length: ClassVar[int] = 1000

    def parse(self, text: str, choices: Sequence[Choice]) -> Value:
        cleaned = text.strip()
        if not cleaned:
            raise AnswerError(N_("Please type an answer."))
        if len(cleaned) > self.max_length:
            raise AnswerError(
                N_("That is too long: please keep it under {limit} characters."),
                limit=str(self.max_length),
            )
        return cleaned


class _DecimalBased(QuestionType):
    """Numbers kept as Decimal and stored as their exact digits."""

    def to_json(self, value: Value) -> object:
        return str(value) if isinstance(value, Decimal) else value

    def from_json(self, raw: object) -> Value:
        return None if raw is None else Decimal(str(raw))

    def show(self, value: Value, choices: Sequence[Choice], lang: str, decimals: int) -> str:
        if not isinstance(value, Decimal | int):
            return "—"
        return numbers.format_decimal(Decimal(value), max_fraction_digits=decimals)


@register
class DecimalType(_DecimalBased):
    name = "decimal"

    def parse(self, text: str, choices: Sequence[Choice]) -> Value:
        try:
            return numbers.parse_decimal(text)
        except numbers.NumberError as error:
            raise _number_error(error) from error


@register
class PercentType(_DecimalBased):
    name = "percent"

    def parse(self, text: str, choices: Sequence[Choice]) -> Value:
        try:
            return numbers.parse_decimal(text, allow_percent=True)
        except numbers.NumberError as error:
            raise _number_error(error) from error

    def show(self, value: Value, choices: Sequence[Choice], lang: str, decimals: int) -> str:
        if not isinstance(value, Decimal | int):
            return "—"
        return numbers.format_percent(Decimal(value), max_fraction_digits=decimals)


@register
class CalculateType(_DecimalBased):
    """A value derived from earlier answers; never asked, shown in summaries."""

    name = "calculate"
    asks_user = False
    is_calculated = True

    def from_json(self, raw: object) -> Value:
        if isinstance(raw, bool) or raw is None:
            return raw
        try:
            return Decimal(str(raw))
        except ArithmeticError:
            return str(raw)

    def show(self, value: Value, choices: Sequence[Choice], lang: str, decimals: int) -> str:
        if isinstance(value, bool):
            return YesNoType().show(value, choices, lang, decimals)
        return super().show(value, choices, lang, decimals)


@register
class IntegerType(QuestionType):
    name = "integer"

    def parse(self, text: str, choices: Sequence[Choice]) -> Value:
        try:
            return numbers.parse_integer(text)
        except numbers.NumberError as error:
            raise _number_error(error) from error

    def from_json(self, raw: object) -> Value:
        return None if raw is None else int(str(raw))

    def show(self, value: Value, choices: Sequence[Choice], lang: str, decimals: int) -> str:
        if not isinstance(value, int | Decimal) or isinstance(value, bool):
            return "—"
        return numbers.format_decimal(Decimal(value), max_fraction_digits=0)


@register
class YearType(IntegerType):
    name = "year"

    def parse(self, text: str, choices: Sequence[Choice]) -> Value:
        cleaned = text.strip().replace(".", "").replace(" ", "")
        if not (cleaned.isdigit() and len(cleaned) == 4 and 1990 <= int(cleaned) <= 2100):
            raise AnswerError(
                N_("Please enter a year with four digits, for example {example}."), example="2026"
            )
        return int(cleaned)

    def show(self, value: Value, choices: Sequence[Choice], lang: str, decimals: int) -> str:
        return str(value) if isinstance(value, int) else "—"


@register
class MoneyType(IntegerType):
    name = "money"

    def parse(self, text: str, choices: Sequence[Choice]) -> Value:
        try:
            return numbers.parse_money(text)
        except numbers.NumberError as error:
            raise _number_error(error) from error

    def show(self, value: Value, choices: Sequence[Choice], lang: str, decimals: int) -> str:
        if not isinstance(value, int | Decimal) or isinstance(value, bool):
            return "—"
        return numbers.format_money(value)


@register
class YesNoType(QuestionType):
    name = "yes_no"

    def parse(self, text: str, choices: Sequence[Choice]) -> Value:
        folded = fold(text).rstrip(".!")
        if folded in YES_WORDS or folded == "1":
            return True
        if folded in NO_WORDS or folded == "2":
            return False
        raise AnswerError(N_("Please answer yes or no (1 = yes, 2 = no)."))

    def from_json(self, raw: object) -> Value:
        return None if raw is None else bool(raw)

    def show(self, value: Value, choices: Sequence[Choice], lang: str, decimals: int) -> str:
        if value is None:
            return "—"
        if lang == "en":
            return "Yes" if value else "No"
        return "Có" if value else "Không"


def match_choice(text: str, labels: Sequence[Sequence[str]]) -> int | None:
    """Index of the option a user typed: its number, its label, or the label folded.

    `labels` holds every accepted spelling per option (both languages). A unique
    prefix of a label counts too, so "tiet kiem" picks "Tiết kiệm điện" when nothing
    else starts that way.
    """
    cleaned = text.strip().rstrip(".)")
    if cleaned.isdigit():
        number = int(cleaned)
        return number - 1 if 1 <= number <= len(labels) else None
    folded = fold(text)
    if not folded:
        return None
    for index, spellings in enumerate(labels):
        if any(fold(label) == folded for label in spellings):
            return index
    starts = [
        index
        for index, spellings in enumerate(labels)
        if any(fold(label).startswith(folded) for label in spellings)
    ]
    return starts[0] if len(starts) == 1 and len(folded) >= 3 else None


def _choice_spellings(choices: Sequence[Choice]) -> list[list[str]]:
    return [[choice.label.vi, choice.label.en, choice.value] for choice in choices]


@register
class SelectOneType(QuestionType):
    name = "select_one"
    needs_choices = True

    def parse(self, text: str, choices: Sequence[Choice]) -> Value:
        index = match_choice(text, _choice_spellings(choices))
        if index is None:
            raise AnswerError(
                N_("Please pick one of the options: type its number (1–{count}) or its name."),
                count=str(len(choices)),
            )
        return choices[index].value

    def show(self, value: Value, choices: Sequence[Choice], lang: str, decimals: int) -> str:
        for choice in choices:
            if choice.value == value:
                return choice.label.text(lang)
        return "—"


@register
class SelectMultipleType(QuestionType):
    name = "select_multiple"
    needs_choices = True

    def parse(self, text: str, choices: Sequence[Choice]) -> Value:
        parts = [part for part in _split_multiple(text) if part]
        if not parts:
            raise AnswerError(N_("Please pick at least one option."))
        spellings = _choice_spellings(choices)
        picked: list[str] = []
        for part in parts:
            index = match_choice(part, spellings)
            if index is None:
                raise AnswerError(
                    N_(
                        "I don't know the option \u201c{part}\u201d. Type the numbers, "
                        "for example 1, 3."
                    ),
                    part=part,
                )
            if choices[index].value not in picked:
                picked.append(choices[index].value)
        # Stored in the form's own order so equal selections compare equal.
        order = [choice.value for choice in choices]
        return sorted(picked, key=order.index)

    def show(self, value: Value, choices: Sequence[Choice], lang: str, decimals: int) -> str:
        if not isinstance(value, list) or not value:
            return "—"
        labels = {choice.value: choice.label.text(lang) for choice in choices}
        return "; ".join(labels.get(item, item) for item in value)


def _split_multiple(text: str) -> list[str]:
    """ "1, 3 5" or "1;3" or "quản lý nội vi, cải tiến thiết bị" -> separate parts."""
    separators = text.replace(";", ",").replace("\n", ",")
    parts: list[str] = []
    for chunk in separators.split(","):
        chunk = chunk.strip()
        if chunk.replace(" ", "").isdigit():
            parts.extend(chunk.split())
        else:
            parts.append(chunk)
    return parts


@register
class NoteType(QuestionType):
    """A text shown to the user with nothing to answer (an explanation, a result)."""

    name = "note"
    asks_user = False
