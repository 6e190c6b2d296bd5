"""What the core sends back: text in Telegram's HTML subset and rows of buttons."""

from __future__ import annotations

import html
import re
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
    text: str
    buttons: Keyboard = field(default_factory=tuple)

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
