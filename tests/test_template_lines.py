"""No two lines of a template come out glued together: a line of text that ends in a block tag
keeps its line break ("🔔 Herinnering" and "📅 Snertavond" stay two lines)."""

from __future__ import annotations

import re

import pytest

from bot.application.settings import LANGUAGES
from bot.language.renderer import TEMPLATES_DIR, Renderer

TAG = re.compile(r"\{%.*?%\}|\{#.*?#\}")
TRIMMING_TAG_AT_END = re.compile(r"(?<![-+])%\}\s*$")  # trim_blocks eats the line break after it


def templates() -> list[tuple[str, str]]:
    return [
        (language, str(path.relative_to(TEMPLATES_DIR / language)))
        for language in LANGUAGES
        for path in sorted((TEMPLATES_DIR / language).rglob("*.html"))
    ]


@pytest.mark.parametrize(("language", "name"), templates())
def test_no_line_of_text_loses_its_line_break(language: str, name: str) -> None:
    renderer = Renderer()
    environment = renderer._environments[language]
    source = (TEMPLATES_DIR / language / name).read_text()
    compiled = environment.preprocess(source, name)
    glued = [
        line
        for line in compiled.split("\n")[:-1]  # the last line has no break to lose
        if TAG.sub("", line).strip() and TRIMMING_TAG_AT_END.search(line)
    ]
    assert glued == []


def test_the_reported_messages_read_on_separate_lines() -> None:
    renderer = Renderer()
    ask = renderer.render("nl", "announcement/ask_text", network="Breugel-Noord")
    assert ask.startswith("<b>Bericht aan Breugel-Noord</b>\nTyp uw bericht.")
    report = renderer.render("nl", "announcement/report", network="Breugel-Noord", sent=3, unreachable=1, failed=2)
    assert "✅ 3 verstuurd\n🚫 1 niet bereikbaar" in report and "geblokkeerd)\n⚠️ 2 mislukt" in report
