"""Form definitions: YAML files validated by pydantic when they load.

A form is data, in the spirit of XLSForm: an ordered list of questions, each with a
type, a name, a label in Vietnamese and English, and optional expressions for
`relevant`, `constraint`, `calculate` and a soft `warning`. Everything that can be
checked without a user — unknown types, expressions that do not compile, names that
are read before they are asked, missing translations — fails here, when the bot
starts, with the file, the question and what is wrong.
"""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from flows.expr import Expression, ExpressionError, compile_expression
from flows.types import QUESTION_TYPES, QuestionType

Language = Literal["vi", "en"]
LANGUAGES: tuple[Language, ...] = ("vi", "en")

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,40}$")
_PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")


class FormError(Exception):
    """A form file that cannot be used; the message names the file and the question."""


class Label(BaseModel):
    """Text in both languages; Vietnamese is the reference, English is required too."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    vi: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def text(self, lang: str) -> str:
        return self.en if lang == "en" else self.vi

    def placeholders(self) -> set[str]:
        return set(_PLACEHOLDER.findall(self.vi)) | set(_PLACEHOLDER.findall(self.en))


class Choice(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    value: str = Field(pattern=r"^[a-z0-9_]{1,40}$")
    label: Label


class Question(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    type: str
    label: Label
    hint: Label | None = None
    # A short heading for tables and exports (the label is a whole question).
    column: Label | None = None
    required: bool = True
    relevant: str | None = None
    constraint: str | None = None
    constraint_message: Label | None = None
    calculate: str | None = None
    # A soft check: when true, the user is asked once whether the value is right and
    # the value is stored together with their confirmation.
    warning: str | None = None
    warning_message: Label | None = None
    # For calculated values: show the result and ask the user to confirm it.
    confirm: bool = False
    default: str | None = None
    choices: list[Choice] | str | None = None
    # Number formatting for display: decimals shown after the comma.
    decimals: int = Field(default=2, ge=0, le=6)

    @field_validator("name")
    @classmethod
    def _name_is_identifier(cls, name: str) -> str:
        if not _NAME.match(name):
            raise ValueError(f"name {name!r} must be lower-case letters, digits and _")
        return name

    @field_validator("type")
    @classmethod
    def _type_is_known(cls, type_name: str) -> str:
        if type_name not in QUESTION_TYPES:
            known = ", ".join(sorted(QUESTION_TYPES))
            raise ValueError(f"unknown question type {type_name!r} (known: {known})")
        return type_name

    @model_validator(mode="after")
    def _fields_fit_the_type(self) -> Question:
        kind = self.kind
        if kind.needs_choices and self.choices is None:
            raise ValueError("a choice question needs `choices`")
        if not kind.needs_choices and self.choices is not None:
            raise ValueError(f"type {self.type} takes no `choices`")
        if kind.is_calculated and not self.calculate:
            raise ValueError("a calculate question needs `calculate`")
        if self.calculate and not kind.is_calculated:
            raise ValueError("`calculate` belongs on a question of type calculate")
        if self.confirm and not kind.is_calculated:
            raise ValueError("`confirm` belongs on a question of type calculate")
        if self.constraint and self.constraint_message is None:
            raise ValueError("a `constraint` needs a `constraint_message` in vi and en")
        if self.warning and self.warning_message is None:
            raise ValueError("a `warning` needs a `warning_message` in vi and en")
        return self

    @property
    def kind(self) -> QuestionType:
        return QUESTION_TYPES[self.type]

    @property
    def asks_user(self) -> bool:
        return self.kind.asks_user

    def expressions(self) -> dict[str, str]:
        found = {
            "relevant": self.relevant,
            "constraint": self.constraint,
            "calculate": self.calculate,
            "warning": self.warning,
            "default": self.default,
        }
        return {field: source for field, source in found.items() if source}


class Form(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,40}$")
    version: int = Field(ge=1)
    # The title and intro may name context values, e.g. "… năm {report_year}".
    title: Label
    # "year": one draft per facility and year; "once": a single record per facility;
    # "each": every run starts a new record (e.g. repeated self-assessments).
    period: Literal["year", "once", "each"] = "once"
    intro: Label | None = None
    questions: list[Question] = Field(min_length=1)
    choice_lists: dict[str, list[Choice]] = Field(default_factory=dict)
    # Names the bot supplies at run time (e.g. the facility's product unit, this year).
    context: list[str] = Field(default_factory=list)

    @cached_property
    def by_name(self) -> dict[str, Question]:
        return {question.name: question for question in self.questions}

    @cached_property
    def compiled(self) -> dict[tuple[str, str], Expression]:
        """Every expression of the form, compiled once: (question name, field) -> Expression."""
        return {
            (question.name, field): compile_expression(source)
            for question in self.questions
            for field, source in question.expressions().items()
        }

    def expression(self, question: Question, field: str) -> Expression | None:
        return self.compiled.get((question.name, field))

    def choices_of(self, question: Question) -> list[Choice]:
        if isinstance(question.choices, str):
            return self.choice_lists[question.choices]
        return list(question.choices or [])

    def index_of(self, name: str) -> int:
        return next(i for i, question in enumerate(self.questions) if question.name == name)

    @model_validator(mode="after")
    def _names_and_expressions_are_consistent(self) -> Form:
        seen: set[str] = set(self.context)
        for question in self.questions:
            if question.name in seen:
                raise ValueError(f"question {question.name!r}: the name is used twice")
            if isinstance(question.choices, str) and question.choices not in self.choice_lists:
                raise ValueError(
                    f"question {question.name!r}: unknown choice list {question.choices!r}"
                )
            for field, source in question.expressions().items():
                try:
                    expression = compile_expression(source)
                except ExpressionError as error:
                    raise ValueError(f"question {question.name!r}, {field}: {error}") from error
                # A question's own calculation may not read itself; a constraint or
                # warning reads the value being checked through `.` or its own name.
                own = {question.name} if field in {"constraint", "warning"} else set()
                unknown = expression.names - seen - own
                if unknown:
                    names = ", ".join(sorted(unknown))
                    raise ValueError(
                        f"question {question.name!r}, {field}: reads {names}, "
                        "which is not an earlier question or a context name"
                    )
            texts = [question.label, question.hint, question.constraint_message]
            texts.append(question.warning_message)
            own_value = {question.name}
            for text in texts:
                if text is None:
                    continue
                unknown_names = text.placeholders() - seen - own_value
                if unknown_names:
                    raise ValueError(
                        f"question {question.name!r}: the text refers to unknown "
                        f"{', '.join(sorted(unknown_names))}"
                    )
            seen.add(question.name)
        # A title or intro is shown before any answer exists: it may name context only.
        for where, text in (("title", self.title), ("intro", self.intro)):
            unknown_context = text.placeholders() - set(self.context) if text else set()
            if unknown_context:
                raise ValueError(
                    f"the {where} refers to {', '.join(sorted(unknown_context))}, "
                    "which is not a context name"
                )
        return self


def load_form(path: Path) -> Form:
    """Read and validate one form file; any problem becomes a FormError naming the file."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise FormError(f"{path}: cannot read the form: {error}") from error
    try:
        return Form.model_validate(raw)
    except ValidationError as error:
        problems = []
        for problem in error.errors():
            where = _describe_location(raw, problem["loc"])
            problems.append(f"{where}: {problem['msg']}")
        raise FormError(f"{path}: " + "; ".join(problems)) from error


def _describe_location(raw: object, location: tuple[int | str, ...]) -> str:
    """Turn pydantic's ('questions', 3, 'label') into 'question "elec_now", label'."""
    parts: list[str] = []
    if len(location) >= 2 and location[0] == "questions" and isinstance(location[1], int):
        name = None
        if isinstance(raw, dict):
            questions = raw.get("questions")
            if isinstance(questions, list) and location[1] < len(questions):
                entry = questions[location[1]]
                name = entry.get("name") if isinstance(entry, dict) else None
        parts.append(f'question "{name}"' if name else f"question #{location[1] + 1}")
        parts.extend(str(part) for part in location[2:])
    else:
        parts.extend(str(part) for part in location)
    return ", ".join(parts) if parts else "form"


class FormRegistry:
    """The forms the bot runs, loaded from a folder of YAML files at start-up."""

    def __init__(self, forms: dict[str, Form]) -> None:
        self._forms = forms

    @classmethod
    def load(cls, folder: Path) -> FormRegistry:
        forms: dict[str, Form] = {}
        for path in sorted(folder.glob("*.yaml")):
            form = load_form(path)
            if form.id in forms:
                raise FormError(f"{path}: form id {form.id!r} is used by another file")
            forms[form.id] = form
        return cls(forms)

    @classmethod
    def builtin(cls) -> FormRegistry:
        return cls.load(Path(__file__).parent / "forms")

    def get(self, form_id: str) -> Form:
        return self._forms[form_id]

    def __contains__(self, form_id: object) -> bool:
        return form_id in self._forms

    def all(self) -> list[Form]:
        return list(self._forms.values())
