"""The flow engine on its own: plain inputs in, answers and events out, no I/O."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from flows.engine import (
    CONFIRMED,
    DELETE,
    BackInput,
    Confirm,
    EditMenu,
    Engine,
    Event,
    FlowState,
    Input,
    Press,
    Problem,
    Prompt,
    SelectionChanged,
    Stale,
    Submitted,
    Summary,
    TextInput,
    decode_answers,
    progress,
)
from flows.model import Form, FormError, FormRegistry, load_form

FORMS = Path(__file__).parent / "fixtures" / "forms"
CONTEXT = {"product_unit": "tấn", "current_year": 2026}


@pytest.fixture(scope="module")
def form() -> Form:
    return load_form(FORMS / "savings_check.yaml")


class Session:
    """Drives the engine the way the bot does: stored answers and state persist between turns."""

    def __init__(self, form: Form) -> None:
        self.form = form
        self.state = FlowState(form_id=form.id)
        self.stored: dict[str, object] = {}
        self.events: list[Event] = []

    def _apply(self, engine: Engine, result_changes: dict[str, object]) -> None:
        for name, value in result_changes.items():
            if value is DELETE:
                self.stored.pop(name, None)
            else:
                self.stored[name] = value

    def start(self) -> list[Event]:
        engine = Engine(self.form, self.state, self.stored, CONTEXT)
        result = engine.start()
        self._apply(engine, result.changes)
        self.state = result.state
        self.events = result.events
        return result.events

    def send(self, given: Input | str) -> list[Event]:
        if isinstance(given, str):
            given = TextInput(given)
        engine = Engine(self.form, self.state, self.stored, CONTEXT)
        result = engine.handle(given)
        self._apply(engine, result.changes)
        self.state = result.state
        self.events = result.events
        return result.events

    def asked(self) -> str | None:
        prompts = [e for e in self.events if isinstance(e, Prompt | Confirm)]
        return prompts[-1].question.name if prompts else None

    @property
    def step(self) -> int:
        return self.state.step


def answer_through_elec(session: Session) -> None:
    session.start()
    session.send("2026")
    session.send("có")
    session.send("2")  # equipment modification only: the housekeeping note stays hidden
    assert session.asked() == "elec_before"


def test_the_first_question_of_a_new_form_is_asked_with_this_year_as_default(form: Form) -> None:
    session = Session(form)
    events = session.start()
    assert isinstance(events[0], Prompt)
    assert events[0].question.name == "year"
    assert events[0].default_value == 2026


def test_a_default_button_answers_with_the_default(form: Form) -> None:
    session = Session(form)
    session.start()
    session.send(Press(session.step, "default"))
    assert session.stored["year"] == 2026
    assert session.asked() == "applied"


def test_a_facility_that_did_not_apply_skips_every_measure_question(form: Form) -> None:
    session = Session(form)
    session.start()
    session.send("2026")
    session.send("khong")
    assert session.asked() == "staff_trained"


def test_a_manager_who_types_vietnamese_numbers_gets_the_exact_saving(form: Form) -> None:
    session = Session(form)
    answer_through_elec(session)
    session.send("125,5")
    events = session.send("100,4")
    confirm = next(e for e in events if isinstance(e, Confirm))
    assert confirm.question.name == "elec_saving_pct"
    assert confirm.value == Decimal("20")
    assert confirm.warned is False
    assert session.stored["elec_before"] == "125.5"
    assert session.stored["elec_now"] == "100.4"
    session.send("1")
    assert session.stored["elec_saving_pct" + CONFIRMED] == str(confirm.value)
    assert session.asked() == "staff_trained"


def test_a_saving_of_75_percent_is_questioned_and_stored_only_with_confirmation(
    form: Form,
) -> None:
    session = Session(form)
    answer_through_elec(session)
    session.send("100")
    events = session.send("25")
    confirm = next(e for e in events if isinstance(e, Confirm))
    assert confirm.warned is True and confirm.value == Decimal("75")
    assert "elec_saving_pct" + CONFIRMED not in session.stored
    session.send(Press(session.step, "yes"))
    assert session.stored["elec_saving_pct" + CONFIRMED] == "75"


def test_a_negative_saving_is_questioned_and_no_asks_the_last_figure_again(form: Form) -> None:
    session = Session(form)
    answer_through_elec(session)
    session.send("100")
    events = session.send("120")
    confirm = next(e for e in events if isinstance(e, Confirm))
    assert confirm.warned is True and confirm.value == Decimal("-20")
    session.send("không")
    assert session.asked() == "elec_now"
    assert "elec_now" not in session.stored
    session.send("90")
    assert session.asked() == "elec_saving_pct"


def test_a_soft_warning_on_an_input_asks_once_then_keeps_the_confirmed_value(form: Form) -> None:
    session = Session(form)
    session.start()
    session.send("2026")
    session.send("không")
    events = session.send("600")
    assert any(isinstance(e, Confirm) and e.warned for e in events)
    assert "staff_trained" not in session.stored
    session.send("có")
    assert session.stored["staff_trained"] == 600
    assert session.stored["staff_trained" + CONFIRMED] == "600"
    assert session.asked() == "investment"


def test_a_constraint_refuses_zero_with_the_forms_own_message_and_keeps_the_question(
    form: Form,
) -> None:
    session = Session(form)
    answer_through_elec(session)
    events = session.send("0")
    problem = next(e for e in events if isinstance(e, Problem))
    assert problem.label is not None and "125,5" in problem.label.vi
    assert "elec_before" not in session.stored
    assert session.state.current == "elec_before"


@pytest.mark.parametrize(
    ("typed", "reason_fragment"),
    [("1,250", "can't tell"), ("abc", "Please enter a number"), ("", "Please enter a number")],
)
def test_a_bad_number_gets_a_message_with_an_example(
    form: Form, typed: str, reason_fragment: str
) -> None:
    session = Session(form)
    answer_through_elec(session)
    events = session.send(typed)
    problem = next(e for e in events if isinstance(e, Problem))
    assert problem.msgid is not None and reason_fragment in problem.msgid
    assert "example" in problem.params


def test_multiple_choice_buttons_toggle_and_done_stores_them_in_form_order(form: Form) -> None:
    session = Session(form)
    session.start()
    session.send("2026")
    session.send("có")
    step = session.step
    events = session.send(Press(step, "toggle", 2))
    assert isinstance(events[0], SelectionChanged) and events[0].selected == ("technology_change",)
    session.send(Press(step, "toggle", 0))
    session.send(Press(step, "toggle", 2))
    session.send(Press(step, "toggle", 1))
    session.send(Press(step, "done"))
    assert session.stored["techniques"] == ["good_housekeeping", "equipment_modification"]
    assert session.asked() == "housekeeping_note"


@pytest.mark.parametrize(
    "typed",
    ["1, 2", "1 2", "quản lý nội vi; cải tiến thiết bị", "quan ly noi vi, cai tien thiet bi"],
)
def test_multiple_choice_accepts_numbers_and_labels_without_diacritics(
    form: Form, typed: str
) -> None:
    session = Session(form)
    session.start()
    session.send("2026")
    session.send("có")
    session.send(typed)
    assert session.stored["techniques"] == ["good_housekeeping", "equipment_modification"]


@pytest.mark.parametrize("typed", ["2", "Thể tích", "the tich", "volume", "Volume"])
def test_single_choice_accepts_number_label_and_folded_label(form: Form, typed: str) -> None:
    session = Session(form)
    session.start()
    session.send("2026")
    session.send("không")
    session.send("3")
    session.send("-")
    session.send(typed)
    assert session.stored["unit_kind"] == "volume"


def test_a_required_question_cannot_be_skipped_but_an_optional_one_can(form: Form) -> None:
    session = Session(form)
    session.start()
    session.send("2026")
    session.send("không")
    events = session.send("-")
    assert any(
        isinstance(e, Problem) and e.msgid == "This question needs an answer." for e in events
    )
    session.send("3")
    session.send(Press(session.step, "skip"))
    assert session.stored["investment"] is None
    assert session.asked() == "unit_kind"


def test_a_stale_or_forged_button_changes_nothing(form: Form) -> None:
    session = Session(form)
    session.start()
    old_step = session.step
    session.send("2026")
    before = dict(session.stored)
    assert session.send(Press(old_step, "default")) == [Stale()]
    assert session.send(Press(session.step, "choose", 7)) == [Stale()]
    assert session.send(Press(session.step, "explode", 0)) == [Stale()]
    assert session.stored == before


def test_back_returns_to_the_previous_question_and_then_continues_in_order(form: Form) -> None:
    session = Session(form)
    session.start()
    session.send("2026")
    session.send("không")
    assert session.asked() == "staff_trained"
    session.send(BackInput())
    assert session.asked() == "applied"
    session.send(BackInput())
    assert session.asked() == "year"
    session.send("2025")
    assert session.asked() == "applied"
    session.send("không")
    assert session.asked() == "staff_trained"
    assert session.stored["year"] == 2025


def test_back_on_the_first_question_says_there_is_nothing_before(form: Form) -> None:
    session = Session(form)
    session.start()
    events = session.send(BackInput())
    assert isinstance(events[0], Problem)


def finish_short_form(session: Session) -> None:
    session.start()
    session.send("2026")
    session.send("không")
    session.send("3")
    session.send("1,5 triệu")
    session.send("1")


def test_the_summary_lists_every_relevant_answer_and_submit_ends_the_form(form: Form) -> None:
    session = Session(form)
    finish_short_form(session)
    summary = next(e for e in session.events if isinstance(e, Summary))
    names = [item.question.name for item in summary.items]
    assert names == ["year", "applied", "staff_trained", "investment", "unit_kind"]
    assert session.stored["investment"] == 1_500_000
    events = session.send("1")
    assert events == [Submitted()]
    assert session.state.mode == "done"


def test_changing_an_answer_from_the_summary_asks_newly_relevant_questions_then_returns(
    form: Form,
) -> None:
    session = Session(form)
    finish_short_form(session)
    session.send(Press(session.step, "change"))
    menu = next(e for e in session.events if isinstance(e, EditMenu))
    applied_index = [item.question.name for item in menu.items].index("applied")
    session.send(Press(session.step, "edit", applied_index))
    assert session.asked() == "applied"
    session.send("có")
    assert session.asked() == "techniques"
    session.send("3")
    session.send("200")
    session.send("150")
    session.send("có")  # confirm 25 %
    summary = next(e for e in session.events if isinstance(e, Summary))
    assert "elec_saving_pct" in [item.question.name for item in summary.items]
    assert session.stored["elec_saving_pct"] == "25"


def test_resuming_starts_at_the_first_unanswered_question(form: Form) -> None:
    session = Session(form)
    session.start()
    session.send("2026")
    session.send("không")
    resumed = Session(form)
    resumed.stored = dict(session.stored)
    events = resumed.start()
    assert isinstance(events[0], Prompt) and events[0].question.name == "staff_trained"


def test_progress_counts_the_longest_path_still_open_and_only_shrinks(form: Form) -> None:
    session = Session(form)
    session.start()
    assert progress(form, {}, CONTEXT) == (0, 9)
    session.send("2026")
    session.send("có")
    session.send("2")  # equipment only: the housekeeping note is closed
    assert progress(form, decode_answers(form, session.stored), CONTEXT) == (3, 8)
    session.send(BackInput())
    session.send(BackInput())
    session.send("không")  # the whole measures branch closes
    assert progress(form, decode_answers(form, session.stored), CONTEXT) == (2, 5)


def test_the_builtin_forms_all_load() -> None:
    registry = FormRegistry.builtin()
    assert "facility_profile" in registry
    assert "annual_report" in registry


def test_an_answer_stores_only_the_computed_figures_it_changes(form: Form) -> None:
    session = Session(form)
    answer_through_elec(session)
    session.send("125,5")
    engine = Engine(form, session.state, session.stored, CONTEXT)
    result = engine.handle(TextInput("100,4"))
    assert set(result.changes) == {"elec_now", "elec_saving_pct"}
    session.stored.update(result.changes)
    confirmed = Engine(form, result.state, session.stored, CONTEXT).handle(TextInput("có"))
    assert set(confirmed.changes) == {"elec_saving_pct" + CONFIRMED}


def test_a_title_or_intro_may_name_context_values_and_nothing_else(tmp_path: Path) -> None:
    path = tmp_path / "titled.yaml"
    form_text = (
        "id: titled\nversion: 1\n"
        "title: {{vi: 'Báo cáo năm {{report_year}}', en: 'Report {{report_year}}'}}\n"
        "intro: {{vi: 'Hạn {{deadline}}', en: 'Due {{deadline}}'}}\n{context}"
        "questions:\n  - {{name: a, type: text, label: {{vi: x, en: y}}}}\n"
    )
    path.write_text(form_text.format(context="context: [report_year]\n"), encoding="utf-8")
    with pytest.raises(FormError) as raised:
        load_form(path)
    assert "the intro refers to deadline, which is not a context name" in str(raised.value)
    path.write_text(
        form_text.format(context="context: [report_year, deadline]\n"), encoding="utf-8"
    )
    assert load_form(path).title.placeholders() == {"report_year"}


BROKEN_FORMS = {
    "unknown type": ("  - {name: a, type: colour, label: {vi: x, en: y}}", "unknown question type"),
    "missing english": ("  - {name: a, type: text, label: {vi: x}}", 'question "a", label, en'),
    "read before asked": (
        "  - {name: a, type: text, relevant: 'b == 1', label: {vi: x, en: y}}\n"
        "  - {name: b, type: integer, label: {vi: x, en: y}}",
        "reads b",
    ),
    "hostile expression": (
        "  - {name: a, type: text, relevant: \"__import__('os')\", label: {vi: x, en: y}}",
        "question 'a', relevant",
    ),
    "constraint without message": (
        "  - {name: a, type: integer, constraint: '. > 0', label: {vi: x, en: y}}",
        "constraint_message",
    ),
    "choices missing": ("  - {name: a, type: select_one, label: {vi: x, en: y}}", "choices"),
    "duplicate name": (
        "  - {name: a, type: text, label: {vi: x, en: y}}\n"
        "  - {name: a, type: text, label: {vi: x, en: y}}",
        "used twice",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN_FORMS))
def test_a_broken_form_fails_at_load_naming_the_file_question_and_problem(
    tmp_path: Path, case: str
) -> None:
    questions, expected = BROKEN_FORMS[case]
    path = tmp_path / "broken.yaml"
    path.write_text(
        "id: broken\nversion: 1\ntitle: {vi: x, en: y}\nquestions:\n" + questions + "\n",
        encoding="utf-8",
    )
    with pytest.raises(FormError) as raised:
        load_form(path)
    message = str(raised.value)
    assert str(path) in message
    assert expected in message
