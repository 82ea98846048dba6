"""Every string the bot shows exists in Vietnamese and English."""

from __future__ import annotations

from bot.i18n import catalog, tr
from flows.model import LANGUAGES, FormRegistry
from locales.catalogs import extracted, problems


def test_every_message_in_the_code_has_a_vietnamese_and_an_english_translation() -> None:
    assert extracted(), "the extraction found no messages at all"
    assert problems() == []


def test_the_vietnamese_catalog_really_is_vietnamese() -> None:
    assert tr("vi", "Yes") == "Có"
    assert tr("en", "Yes") == "Yes"
    assert len(catalog("vi")) == len(catalog("en"))


def test_every_form_text_exists_in_both_languages() -> None:
    for form in FormRegistry.builtin().all():
        labels = [form.title, *(q.label for q in form.questions)]
        labels += [q.hint for q in form.questions if q.hint]
        labels += [c.label for choices in form.choice_lists.values() for c in choices]
        for label in labels:
            for lang in LANGUAGES:
                assert label.text(lang).strip(), f"{form.id}: empty {lang} text in {label}"
