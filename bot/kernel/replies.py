"""What the core sends back: text in Telegram's HTML subset and rows of buttons."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Button:
    """A button that reports `data` back when tapped, or opens `url`."""

    label: str
    data: str | None = None
    url: str | None = None


Keyboard = tuple[tuple[Button, ...], ...]


@dataclass(frozen=True)
class Reply:
    """A message: its text and buttons, and what it means where an app cannot show it as is.

    `topic` is the template it was rendered from ("help/helper_found") and `values` the few plain
    texts that say what it is about (names, the network, a title, a date as text): WhatsApp, which
    outside its 24-hour window takes only templates approved beforehand, sends that topic's template
    with these values instead (bot/transports/whatsapp/templates.py). Other apps ignore both.
    """

    text: str
    buttons: Keyboard = field(default_factory=tuple)
    topic: str | None = None
    values: Mapping[str, str] | None = field(default=None, hash=False)

    @property
    def plain_text(self) -> str:
        return html_to_plain(self.text)


def keyboard(*rows: Button | list[Button] | tuple[Button, ...]) -> Keyboard:
    """Rows of buttons; a bare button is a row of its own (large, easy to tap)."""
    return tuple((row,) if isinstance(row, Button) else tuple(row) for row in rows)


_TAG = re.compile(r"<[^>]+>")


def html_to_plain(text: str) -> str:
    """What a person reads on screen: tags dropped, entities decoded."""
    return html.unescape(_TAG.sub("", text))
