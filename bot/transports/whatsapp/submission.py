"""What to submit to Meta: every WhatsApp template in every language, as Meta's template API takes it.

`python -m bot.transports.whatsapp.submission > docs/whatsapp-templates.json` writes the file; a test
keeps it current. Each body is `whatsapp/template/<topic>` rendered with "{{1}}", "{{2}}", … for the
values named in the registry (`templates.TEMPLATES`), so the words stay in the templates folder and
the placeholders' order in the registry.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from bot.application.settings import LANGUAGES
from bot.kernel.replies import html_to_plain
from bot.language.renderer import Renderer
from bot.transports.whatsapp.templates import CATEGORY, TEMPLATES, WhatsAppTemplate

BODY_MAX = 1024  # a template's body, filled in
BUTTON_MAX = 25  # a quick-reply button's text


def placeholder(number: int) -> str:
    return "{{" + str(number) + "}}"


def body(renderer: Renderer, language: str, template: WhatsAppTemplate) -> str:
    """The body Meta approves: the words of `whatsapp/template/<topic>`, {{1}}, {{2}}, … for the values."""
    placeholders = {name: placeholder(number) for number, name in enumerate(template.params, 1)}
    return html_to_plain(renderer.render(language, f"whatsapp/template/{template.topic}", **placeholders)).strip()


def button_text(renderer: Renderer, language: str, kind: str) -> str:
    return html_to_plain(renderer.render(language, f"whatsapp/button_{kind}")).strip()


def examples(renderer: Renderer, language: str) -> dict[str, str]:
    """Sample values by name (`whatsapp/template_examples`, a "name=value" line each)."""
    lines = html_to_plain(renderer.render(language, "whatsapp/template_examples")).splitlines()
    return {name.strip(): value.strip() for name, _, value in (line.partition("=") for line in lines) if value}


def submission(renderer: Renderer, languages: Sequence[str] = LANGUAGES) -> dict[str, Any]:
    """Every template in every language as Meta's template API takes it (one POST each)."""
    entries = []
    for template in TEMPLATES.values():
        for language in languages:
            samples = examples(renderer, language)
            entries.append(
                {
                    "topic": template.topic,
                    "template": {
                        "name": template.name,
                        "language": language,
                        "category": CATEGORY,
                        "parameter_format": "POSITIONAL",
                        "components": [
                            {
                                "type": "BODY",
                                "text": body(renderer, language, template),
                                "example": {"body_text": [[samples[name] for name in template.params]]},
                            },
                            {
                                "type": "BUTTONS",
                                "buttons": [
                                    {"type": "QUICK_REPLY", "text": button_text(renderer, language, template.button)}
                                ],
                            },
                        ],
                    },
                }
            )
    return {
        "about": (
            "Buurtbot's WhatsApp message templates, made by `python -m bot.transports.whatsapp.submission`: "
            "submit each entry's `template` to Meta (see docs/whatsapp-templates.md)."
        ),
        "templates": entries,
    }


def submission_json(renderer: Renderer) -> str:
    return json.dumps(submission(renderer), ensure_ascii=False, indent=2) + "\n"


if __name__ == "__main__":
    print(submission_json(Renderer()), end="")
