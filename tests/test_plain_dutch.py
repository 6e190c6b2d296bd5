"""Plain Dutch (B1) in every message: short sentences, no semicolons, no words residents don't know.

What a template says is read as a resident reads it: each `{% … %}` tag ends a stretch of text
(the branches of an `if` are alternatives, not one sentence), a `{{ value }}` counts as one word,
and markup is not read.
"""

from __future__ import annotations

import re

import pytest

from bot.language.renderer import TEMPLATES_DIR

MAX_WORDS = 20  # in one sentence
# Words a resident does not know: technical terms, and numbers they never see.
UNKNOWN_WORDS = ("JSON", "CSV", "teksteditor", "Telegram-nummer", "ID", "URL", "database", "callback", "deeplink")

TAG = re.compile(r"\{%.*?%\}|\{#.*?#\}", re.DOTALL)
VALUE = re.compile(r"\{\{.*?\}\}", re.DOTALL)
MARKUP = re.compile(r"<[^>]+>")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n")


def messages() -> list[str]:
    return [str(path.relative_to(TEMPLATES_DIR / "nl")) for path in sorted((TEMPLATES_DIR / "nl").rglob("*.html"))]


def read_as_a_resident(name: str) -> str:
    source = (TEMPLATES_DIR / "nl" / name).read_text()
    return MARKUP.sub("", VALUE.sub("X", TAG.sub("\n", source)))


def sentences(text: str) -> list[str]:
    return [sentence.strip() for sentence in SENTENCE_END.split(text) if sentence.strip()]


@pytest.mark.parametrize("name", messages())
def test_sentences_are_short(name: str) -> None:
    too_long = [s for s in sentences(read_as_a_resident(name)) if len(s.split()) > MAX_WORDS]
    assert too_long == []


@pytest.mark.parametrize("name", messages())
def test_no_semicolons(name: str) -> None:
    assert ";" not in read_as_a_resident(name)


@pytest.mark.parametrize("name", messages())
def test_no_words_residents_do_not_know(name: str) -> None:
    text = read_as_a_resident(name)
    found = [word for word in UNKNOWN_WORDS if re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text)]
    assert found == []


def test_the_measure_reads_branches_as_alternatives_and_counts_a_value_as_one_word() -> None:
    assert sentences(TAG.sub("\n", "Fijn{% if x %}, u komt.{% else %} Jammer.{% endif %} Tot dan!")) == [
        "Fijn",
        ", u komt.",
        "Jammer.",
        "Tot dan!",
    ]
    assert VALUE.sub("X", "Hallo {{ name }}, welkom") == "Hallo X, welkom"
