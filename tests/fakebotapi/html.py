"""Telegram's parse modes: HTML tags checked like Telegram's parser does, and text lengths in UTF-16 units."""

from __future__ import annotations

import html
import re

from .common import bad

HTML_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "tg-emoji",
        "code",
        "pre",
        "blockquote",
    }
)
_HTML_ENTITY_RE = re.compile(r"&(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")


def utf16_len(text: str) -> int:
    """The length Telegram's limits count: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def parse_html(text: str) -> str:
    """Check tags like Telegram's HTML parser does and return the plain text."""
    plain: list[str] = []
    open_tags: list[str] = []
    pos = 0
    while (start := text.find("<", pos)) != -1:
        plain.append(text[pos:start])
        offset = len(text[:start].encode())
        is_end = text.startswith("</", start)
        end = text.find(">", start)
        if end == -1:
            kind = "end" if is_end else "start"
            raise bad(f"can't parse entities: Unclosed {kind} tag at byte offset {offset}")
        if is_end:
            name = text[start + 2 : end].strip().lower()
            if not open_tags:
                raise bad(f"can't parse entities: Unexpected end tag at byte offset {offset}")
            if name != open_tags[-1]:
                raise bad(
                    f"can't parse entities: Unmatched end tag at byte offset {offset}, "
                    f'expected "</{open_tags[-1]}>", found "</{name}>"'
                )
            open_tags.pop()
        else:
            name = re.split(r"[\s/]", text[start + 1 : end], maxsplit=1)[0].lower()
            if name not in HTML_TAGS:
                raise bad(f'can\'t parse entities: Unsupported start tag "{name}" at byte offset {offset}')
            open_tags.append(name)
        pos = end + 1
    plain.append(text[pos:])
    if open_tags:
        raise bad(f"can't parse entities: Can't find end tag corresponding to start tag \"{open_tags[0]}\"")
    return _HTML_ENTITY_RE.sub(lambda match: html.unescape(match[0]), "".join(plain))


def formatted(text: str, parse_mode: str | None) -> str:
    """Validate text for its parse_mode and return what Telegram would show (Markdown passes unchecked)."""
    return parse_html(text) if (parse_mode or "").lower() == "html" else text
