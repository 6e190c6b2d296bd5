"""Every template renders in both languages with sample data, and user input is escaped."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from jinja2 import meta

from bot.application.settings import LANGUAGES
from bot.kernel import commands
from bot.kernel.refusals import Reason
from bot.language.renderer import LABELS, Renderer

HOSTILE = '<b>Anna</b> & "Piet" <a href="http://evil">klik</a>'

SAMPLES: dict[str, Any] = {
    "name": HOSTILE,
    "reviewer": HOSTILE,
    "username": "anna_<x>",
    "network": "Breugel-Noord & <i>Co</i>",
    "street": "Kerkstraat <script>",
    "typed": "<b>Dorpsstraat</b>",
    "verbinder": "Jan <u>",
    "commands": [("hulp", "Wat kan ik hier doen?"), ("start", "<b>x</b>")],
    "memberships": [
        ("Breugel-Noord", "Kerkstraat", "active", "member"),
        ("Son-Centrum", None, "active", "buurtverbinder"),
        ("'t Zand", "Zandstraat", "pending", "member"),
        ("Oud", None, "declined", "member"),
        ("Weg", None, "left", "member"),
    ],
    "networks": [("Breugel-Noord", 12, 2), ("Son-Centrum", 3, 0)],
    "streets": ["Kerkstraat", "Nieuwstraat <b>"],
    "verbinders": ["Jan", "Marieke"],
    "count": 3,
    "shown": 2,
    "approved": True,
    "link": "https://t.me/buurtbot?start=abc",
    "whatsapp_link": "https://wa.me/31612345678?text=Hallo%20%28code%20abc%29",
    "code": "abc",
    "uses": 1,
    "expires_at": datetime(2026, 12, 12, 10, 0, tzinfo=UTC),
    "limit": 80,
    "slug": "breugel-noord",
    "members": 12,
    "has_suggestions": True,
    "bot": "buurtbot",
    "category": "boodschappen",
    "description": "Boodschappen <b>halen</b>",
    "needed_at": datetime(2026, 12, 5, 13, 0, tzinfo=UTC),
    "needed_has_time": True,
    "asker": "Anna <i>",
    "contact": "040-123 <b>",
    "on_behalf": True,
    "helper": "Piet <u>",
    "status": "claimed",
    "reached": 2,
    "hours": 24,
    "notify": True,
    "categories": ["boodschappen", "vervoer"],
    "first": 1,
    "last": 5,
    "mine": True,
    "sender": "Piet <b>",
    "text": "Kom <b>maar</b>",
    "name_shown_to": "helper",
    "title": "Straatfeest <b>",
    "starts_at": datetime(2026, 12, 5, 14, 0, tzinfo=UTC),
    "place": "Speeltuin <i>",
    "capacity": 30,
    "yes": 3,
    "maybe": 1,
    "no": 2,
    "waiting_count": 1,
    "answer": "yes",
    "waiting": False,
    "full": True,
    "has_time": True,
    "publishing": True,
    "proposer": "Els <b>",
    "told": 3,
    "on": True,
    "author": "Jan <b>",
    "recipients": 12,
    "sent": 10,
    "unreachable": 1,
    "failed": 1,
    "is_verbinder": True,
    "since": datetime(2026, 3, 1, 10, 0, tzinfo=UTC),
    "join_policy": "approval",
    "escalation_hours": 24,
    "reminder_hours": [24, 2],
    "proposals": False,
    "retention_months": 12,
    "files": ["a.csv", "b.csv"],
    "figures": [],
    "village": True,
    "total_members": 12,
    "active": 2,
    "group": "Kerkstraat <b>",
    "slugs": "breugel-noord, son-centrum",
    "names": ["Anna <b>", "Piet"],
    "language": "en",
}

LABEL_SAMPLES: dict[str, Any] = {
    "chosen": True,
    "category": "vervoer",
    "on": False,
    "verbinder": True,
    "policy": "open",
    "hours": "24,2",
    "uses": 3,
    "language": "nl",
}


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer()


def variables(renderer: Renderer, language: str, name: str) -> set[str]:
    environment = renderer._environments[language]
    assert environment.loader is not None
    source = environment.loader.get_source(environment, f"{name}.html")[0]
    return meta.find_undeclared_variables(environment.parse(source))


def test_both_languages_have_the_same_templates_and_labels(renderer: Renderer) -> None:
    assert renderer.message_names("nl") == renderer.message_names("en")
    assert renderer.label_names("nl") == renderer.label_names("en")


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_template_renders_with_sample_data_and_escapes_what_users_typed(
    renderer: Renderer, language: str
) -> None:
    names = renderer.message_names(language)
    assert len(names) > 40
    for name in names:
        wanted = variables(renderer, language, name)
        assert wanted <= SAMPLES.keys(), f"{language}/{name} needs samples for {wanted - SAMPLES.keys()}"
        text = renderer.render(language, name, **SAMPLES)  # all samples: included parts need theirs too
        assert text.strip(), f"{language}/{name} rendered empty"
        assert "<script>" not in text and 'href="http://evil"' not in text, f"{language}/{name} let markup in"
        assert "<b>halen</b>" not in text and "<b>maar</b>" not in text, f"{language}/{name} let markup in"
        for value in ("name", "network", "street", "typed", "description", "asker", "title", "place"):
            if value in wanted:
                assert "&lt;" in text, f"{language}/{name} did not escape {value}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_template_fails_loudly_when_its_values_are_missing(renderer: Renderer, language: str) -> None:
    for name in renderer.message_names(language):
        if variables(renderer, language, name):
            with pytest.raises(Exception, match="undefined"):
                renderer.render(language, name)
    # And one value missing on the branch that shows it: an error, not an empty gap.
    values = {key: value for key, value in SAMPLES.items() if key != "network"}
    with pytest.raises(Exception, match="undefined"):
        renderer.render(language, "onboarding/joined", **values)


@pytest.mark.parametrize("language", LANGUAGES)
def test_labels_are_plain_text_that_fits_a_button(renderer: Renderer, language: str) -> None:
    for name in renderer.label_names(language):
        macro = getattr(renderer._labels(language), name)
        values = {argument: LABEL_SAMPLES.get(argument, "A&B") for argument in macro.arguments}
        label = renderer.label(language, name, **values)
        assert label and "&amp;" not in label and len(label) <= 64, (language, name, label)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_command_and_refusal_has_its_words(renderer: Renderer, language: str) -> None:
    for command in commands.ALL:
        assert renderer.label(language, f"command_{command.name}")
    names = renderer.message_names(language)
    for reason in Reason:
        assert f"refusal/{reason.value}" in names


def test_the_labels_file_is_not_a_message(renderer: Renderer) -> None:
    assert LABELS.endswith(".txt")
    assert renderer.label("nl", "street_in_network", street="A&B", network="<N>") == "A&B (<N>)"


def test_dates_are_shown_in_dutch_and_in_amsterdam_time(renderer: Renderer) -> None:
    late = datetime(2026, 12, 12, 23, 30, tzinfo=UTC)  # already the 13th in Son en Breugel
    text = renderer.render("nl", "admin/invite_link", **{**SAMPLES, "expires_at": late})
    assert "13 december 2026" in text
    assert "December 13, 2026" in renderer.render("en", "admin/invite_link", **{**SAMPLES, "expires_at": late})
