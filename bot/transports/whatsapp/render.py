"""A Reply as WhatsApp Cloud API messages: WhatsApp's formatting, and its limits on text, buttons and lists.

Pure: no network and no framework. Each message is a plain dict in the shape of the Cloud API's
`POST /<phone-id>/messages` body without `messaging_product`, `recipient_type` and `to`, which the
door adds: `{"type": "text", "text": {...}}` or `{"type": "interactive", "interactive": {...}}`.
With pywa the door passes it on unchanged, `wa.api.send_message(sender=…, to=wa_id, recipient=None,
recipient_type="individual", typ=m["type"], msg=m[m["type"]])`, and keeps pywa's HTTP client and
typed errors; pywa's `WhatsApp.send_message(text, buttons=[Button…] | SectionList)` would make this
module build pywa's own types only for pywa to turn them back into these dicts (and check no limit).

How a Reply is shown:
- text only: text messages of at most 4,096 characters, cut between paragraphs, else between
  lines, else between words;
- 1-3 choices (buttons with `data`) whose labels fit 20 characters and differ: reply buttons;
- otherwise a list (at most 10 rows; a label over 24 characters gets a shortened title and the
  whole label as the row's description, at most 72); over 10 choices: 9 rows and a "more" row
  whose id (`wa:page:<page>:<token>`) asks for the next page, which `render_page` renders from
  the same Reply (the door keeps the Reply it sent, e.g. by the WhatsApp message id the tap
  answers, and the token tells it whether that is still the Reply the page was made from);
- an interactive body holds at most 1,024 characters: a longer text goes ahead as text messages,
  and the choices follow under the door's short `Phrases.choose`;
- URL buttons: WhatsApp's reply buttons and list rows cannot open a link, and its one URL
  button (`cta_url`) cannot share a message with reply buttons, so each becomes a "label: url"
  line under the text, where WhatsApp makes the address a link.

Formatting: <b> → *…*, <i> → _…_, <s> → ~…~, <code>/<pre> → ```…```, <a href=u>t</a> → "t (u)"
(just u when t is u); other tags are dropped, their text kept; entities decoded. Markers never
span a line break, and whitespace stays outside them, as WhatsApp needs. WhatsApp has no escape
character, so a *, _, ~ or ` that is text (a resident's "2*3*4", "_hallo_", "Anne_Marie") is
put between WORD JOINERs (U+2060), each on its own: invisible, no line break, a character Unicode
says to ignore in searching, and the resident's own characters stay in place (copy a name and it
is the name), where lookalikes (∗, ＿) would change them. A marker with a joiner on both sides is
neither preceded nor followed by a space or punctuation, so it can neither open nor close bold,
italics or strike-through, and three backticks no longer stand together to make monospace. A ">"
starting a line gets one too, so it is not taken for a quote.

Lengths are counted in UTF-16 code units, the stricter of the counts WhatsApp might use (an
emoji counts two).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from html.parser import HTMLParser
from typing import Any

from bot.kernel.replies import Button, Reply

CloudMessage = dict[str, Any]  # one message object of the Cloud API, as JSON would carry it

# The Cloud API's limits (developers.facebook.com: text, interactive reply buttons and list messages).
TEXT_MAX = 4096  # text message body
BODY_MAX = 1024  # interactive message body
REPLY_BUTTONS_MAX = 3
BUTTON_TITLE_MAX = 20
BUTTON_ID_MAX = 256
LIST_ROWS_MAX = 10  # rows of all sections together
ROW_TITLE_MAX = 24
ROW_DESCRIPTION_MAX = 72
ROW_ID_MAX = 200
SECTION_TITLE_MAX = 24
LIST_BUTTON_MAX = 20  # the button that opens the list

WORD_JOINER = "\u2060"
ELLIPSIS = "…"
PAGE_PREFIX = "wa:page:"  # never a core button's data: the core's prefixes are `Tap` values
_PAGE_ID = re.compile(r"wa:page:(\d{1,4}):([0-9a-f]{12})")
_MARKER_RUN = re.compile(r"[*_~`]+")
_QUOTE_START = re.compile(r"^(\s*)>")
_MARKERS = {
    "b": "*",
    "strong": "*",
    "i": "_",
    "em": "_",
    "s": "~",
    "strike": "~",
    "del": "~",
    "code": "```",
    "pre": "```",
}
_MONOSPACE = "```"


def length(text: str) -> int:
    """Characters as WhatsApp's limits count them, at the strictest: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


@dataclass(frozen=True)
class Phrases:
    """The few words WhatsApp's rendering adds, in the person's language (from the templates)."""

    choose: str  # the body above choices whose text went ahead on its own; ≤ 1,024
    open_list: str  # the button that opens a list; ≤ 20
    more: str  # the last row of a list page when more choices follow; ≤ 24
    section: str  # the title of a list's one section; ≤ 24

    def __post_init__(self) -> None:
        """Refuses a phrase over its limit: interactive body 1,024, list button 20, row and section title 24."""
        limits = {"choose": BODY_MAX, "open_list": LIST_BUTTON_MAX, "more": ROW_TITLE_MAX, "section": SECTION_TITLE_MAX}
        for name, limit in limits.items():
            value: str = getattr(self, name)
            if not value.strip() or length(value) > limit:
                raise ValueError(f"WhatsApp phrase {name}={value!r} must be 1 to {limit} characters")


class StalePage(LookupError):
    """A "more" row that is not a page of this Reply (another Reply, or a page past its end)."""


# --- formatting ---------------------------------------------------------------------------------


def neutralise(text: str) -> str:
    """Text that WhatsApp shows as typed: each *, _, ~ and ` between word joiners, so none can open
    or close formatting, nor two make ``` together. Adds up to 2 characters per marker: callers
    measure after."""
    return _MARKER_RUN.sub(lambda run: WORD_JOINER + WORD_JOINER.join(run.group()) + WORD_JOINER, text)


@dataclass(frozen=True)
class _Span:
    """A piece of text with the markers around it, outermost first; `raw` text (a URL) is not neutralised."""

    text: str
    markers: tuple[str, ...] = ()
    raw: bool = False


_Line = list[_Span]


class _Reader(HTMLParser):
    """Telegram's HTML subset, read into spans; entities decoded."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.spans: list[_Span] = []
        self._open: list[tuple[str, str | None]] = []  # (tag, marker it added, if any)
        self._links: list[tuple[str, int]] = []  # (href, index of the link's first span)

    def _markers(self) -> tuple[str, ...]:
        markers = tuple(marker for _, marker in self._open if marker)
        return (_MONOSPACE,) if _MONOSPACE in markers else markers  # nothing formats inside monospace

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._links.append((dict(attrs).get("href") or "", len(self.spans)))
        elif tag in _MARKERS:
            marker = _MARKERS[tag]
            self._open.append((tag, None if marker in self._markers() else marker))

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._links:
            self._end_link(*self._links.pop())
        elif tag in _MARKERS:
            for index in range(len(self._open) - 1, -1, -1):
                if self._open[index][0] == tag:
                    del self._open[index:]
                    break

    def handle_data(self, data: str) -> None:
        self.spans.append(_Span(data, self._markers()))

    def _end_link(self, href: str, first: int) -> None:
        if not href:
            return
        shown = "".join(span.text for span in self.spans[first:]).strip()
        if shown in ("", href):
            del self.spans[first:]
            self.spans.append(_Span(href, raw=True))
        else:
            self.spans += [_Span(" ("), _Span(href, raw=True), _Span(")")]


def _read(html_text: str) -> list[_Line]:
    """The HTML's text as lines of spans (no limit applies yet)."""
    reader = _Reader()
    reader.feed(html_text)
    reader.close()
    return _lines(reader.spans)


def _lines(spans: Sequence[_Span]) -> list[_Line]:
    """Spans cut at each line break: WhatsApp's formatting never spans one (no limit applies yet)."""
    lines: list[_Line] = [[]]
    for span in spans:
        for index, part in enumerate(span.text.split("\n")):
            if index:
                lines.append([])
            if part:
                lines[-1].append(replace(span, text=part))
    return lines


def _serialize(line: Sequence[_Span]) -> str:
    """One line in WhatsApp's formatting: markers opened and closed around non-blank text only,
    whitespace kept outside them (WhatsApp ignores "* bold *")."""
    out: list[str] = []
    opened: list[str] = []
    pending = ""  # whitespace that goes outside a marker if one closes before more text
    for span in line:
        text = span.text if span.raw else neutralise(span.text)
        core = text.strip()
        if not core:
            pending += text
            continue
        lead, trail = text[: len(text) - len(text.lstrip())], text[len(text.rstrip()) :]
        keep = 0
        while keep < min(len(opened), len(span.markers)) and opened[keep] == span.markers[keep]:
            keep += 1
        out.extend(reversed(opened[keep:]))
        del opened[keep:]
        out.append(pending + lead)
        out.extend(span.markers[keep:])
        opened.extend(span.markers[keep:])
        out.append(core)
        pending = trail
    out.extend(reversed(opened))
    out.append(pending)
    return _QUOTE_START.sub(lambda start: f"{start.group(1)}{WORD_JOINER}>", "".join(out))


def whatsapp_text(html_text: str) -> str:
    """Telegram's HTML subset in WhatsApp's formatting, text neutralised (no limit applies here)."""
    return "\n".join(_serialize(line) for line in _read(html_text))


# --- text within 4,096 ---------------------------------------------------------------------------


def _words(line: _Line) -> list[_Line]:
    """The line cut after each run of whitespace, for the 4,096 of a text message; a word may run
    across spans (`<b>Anna</b>'s`)."""
    words: list[_Line] = [[]]
    for span in line:
        for piece in re.findall(r"\S*\s*", span.text):
            if piece:
                words[-1].append(replace(span, text=piece))
                if piece[-1].isspace():
                    words.append([])
    return [word for word in words if word]


def _cut_word(word: _Line, limit: int) -> list[str]:
    """The last resort for one word longer than a message: pieces cut anywhere, each as long as
    fits `limit`."""
    chars = [replace(span, text=char) for span in word for char in span.text]
    pieces: list[str] = []
    while chars:
        fits, over = 1, len(chars) + 1  # the longest prefix within `limit` is at least 1, below `over`
        while over - fits > 1:
            middle = (fits + over) // 2
            fits, over = (middle, over) if length(_serialize(_merged(chars[:middle]))) <= limit else (fits, middle)
        pieces.append(_serialize(_merged(chars[:fits])))
        del chars[:fits]
    return pieces


def _merged(spans: Sequence[_Span]) -> _Line:
    """Neighbouring spans of the same kind as one, so a piece is measured as it will be sent (no limit of its own)."""
    merged: _Line = []
    for span in spans:
        if merged and (merged[-1].markers, merged[-1].raw) == (span.markers, span.raw):
            merged[-1] = replace(merged[-1], text=merged[-1].text + span.text)
        else:
            merged.append(span)
    return merged


# A piece of text and what joins it to the piece before: a paragraph break, a line break, a space
# (a line cut between words) or nothing (a word cut).
_Piece = tuple[str, str]


def _split_line(line: _Line, limit: int) -> list[_Piece]:
    """A line too long for one message, in pieces of whole words, each within `limit`."""
    pieces: list[_Piece] = []
    current: _Line = []
    for word in _words(line):
        if length(_serialize(current + word)) <= limit:
            current += word
            continue
        if current:
            pieces.append((" ", _serialize(current).rstrip()))
        current = word
        if length(_serialize(word)) > limit:
            cut = _cut_word(word, limit)
            pieces += [(" ", cut[0]), *(("", piece) for piece in cut[1:])]
            current = []
    if current:
        pieces.append((" ", _serialize(current).rstrip()))
    return [("\n", pieces[0][1]), *pieces[1:]] if pieces else []


def _text_chunks(lines: Sequence[_Line], limit: int = TEXT_MAX) -> list[str]:
    """Text messages of at most `limit` (4,096): the whole text if it fits, else cut between
    paragraphs, then between lines, then between words; nothing is left out."""
    whole = "\n".join(_serialize(line) for line in lines).strip()
    if length(whole) <= limit:
        return [whole] if whole else []
    paragraphs: list[list[_Piece]] = [[]]
    for line in lines:
        text = _serialize(line)
        if not text.strip():
            paragraphs.append([])
        else:
            paragraphs[-1] += [("\n", text)] if length(text) <= limit else _split_line(line, limit)
    chunks: list[str] = []
    current = ""
    for paragraph in filter(None, paragraphs):
        alone = paragraph[0][1] + "".join(glue + text for glue, text in paragraph[1:])
        pieces = [("\n\n", paragraph[0][1]), *paragraph[1:]]
        if current and length(f"{current}\n\n{alone}") > limit and length(alone) <= limit:
            chunks.append(current)  # the paragraph fits a message of its own: start one
            current = ""
        for glue, text in pieces:
            candidate = f"{current}{glue}{text}" if current else text
            if length(candidate) <= limit:
                current = candidate
            else:
                if current:
                    chunks.append(current)
                current = text
    if current:
        chunks.append(current)
    return chunks


# --- choices ---------------------------------------------------------------------------------------


def shorten(label: str, limit: int) -> str:
    """The label within `limit` (a row title's 24, a description's 72): whole if it fits, else cut
    after a whole word with "…" (within a word only when the first word alone is too long)."""
    label = label.strip()
    if length(label) <= limit:
        return label
    room = limit - length(ELLIPSIS)
    cut = label[:room]
    while length(cut) > room:
        cut = cut[:-1]
    if label[len(cut)] != " " and " " in cut:  # the cut fell inside a word: end at the word before
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:-–\u200d") + ELLIPSIS


def reply_token(reply: Reply) -> str:
    """12 hex characters that name this Reply's text and buttons, carried in a "more" row's id
    (which stays far within a row id's 200)."""
    return hashlib.blake2b(repr((reply.text, reply.buttons)).encode(), digest_size=6).hexdigest()


def page_id(page: int, token: str) -> str:
    """The id of the "more" row that asks for `page` (within a row id's 200)."""
    return f"{PAGE_PREFIX}{page}:{token}"


def read_page_id(row_id: str) -> tuple[int, str] | None:
    """(page, token) of a "more" row's id; None for any other id (a core button's data)."""
    found = _PAGE_ID.fullmatch(row_id)
    return (int(found.group(1)), found.group(2)) if found else None


def choices(reply: Reply) -> list[Button]:
    """The Reply's buttons that answer with data, row by row; a repeated `data` is one choice (ids
    must differ within a WhatsApp message)."""
    seen: set[str] = set()
    found: list[Button] = []
    for row in reply.buttons:
        for button in row:
            if button.data is not None and button.data not in seen:
                seen.add(button.data)
                found.append(button)
    return found


def _links(reply: Reply) -> list[_Line]:
    """URL buttons as "label: url" lines under a blank line: WhatsApp's buttons cannot open a link."""
    links = [[_Span(f"{b.label.strip()}: "), _Span(b.url, raw=True)] for row in reply.buttons for b in row if b.url]
    return [[], *links] if links else []


def _fit_reply_buttons(shown: Sequence[Button]) -> bool:
    """Reply buttons can show these whole: 1 to 3, titles 1 to 20 characters and all different."""
    titles = [b.label.strip() for b in shown]
    return (
        1 <= len(shown) <= REPLY_BUTTONS_MAX
        and all(0 < length(t) <= BUTTON_TITLE_MAX for t in titles)
        and len({t.casefold() for t in titles}) == len(titles)
    )


def _reply_buttons(shown: Sequence[Button], body: str) -> CloudMessage:
    """An interactive `button` message: ≤ 3 reply buttons, titles ≤ 20, ids ≤ 256, body ≤ 1,024."""
    buttons = [{"type": "reply", "reply": {"id": b.data, "title": b.label.strip()}} for b in shown]
    return {
        "type": "interactive",
        "interactive": {"type": "button", "body": {"text": body}, "action": {"buttons": buttons}},
    }


def _page_bounds(total: int, page: int) -> tuple[int, int, bool]:
    """(first, end, more) of a page: 10 rows when the rest fits, else 9 and a "more" row."""
    first = page * (LIST_ROWS_MAX - 1)
    if page < 0 or first >= total:
        raise StalePage(f"no page {page} of {total} choices")
    if total - first <= LIST_ROWS_MAX:
        return first, total, False
    return first, first + LIST_ROWS_MAX - 1, True


def _titles(shown: Sequence[Button], first: int, taken: set[str]) -> list[str]:
    """Row titles ≤ 24, all different: shortened labels, or numbered ("3. …") when two would look alike."""
    titles = [shorten(b.label, ROW_TITLE_MAX) for b in shown]
    folded = [t.casefold() for t in titles]
    if len(set(folded)) == len(folded) and not taken.intersection(folded):
        return titles

    def numbered(position: int, label: str) -> str:
        prefix = f"{position}. "
        return prefix + shorten(label, ROW_TITLE_MAX - len(prefix))

    return [numbered(first + index + 1, b.label) for index, b in enumerate(shown)]


def _list_page(all_choices: Sequence[Button], page: int, body: str, token: str, phrases: Phrases) -> CloudMessage:
    """An interactive `list` message: one section (title ≤ 24) of ≤ 10 rows (id ≤ 200, title ≤ 24,
    description ≤ 72), list button ≤ 20, body ≤ 1,024; a label cut in its title is whole in its description."""
    first, end, more = _page_bounds(len(all_choices), page)
    shown = all_choices[first:end]
    titles = _titles(shown, first, {phrases.more.strip().casefold()} if more else set())
    rows: list[dict[str, str]] = []
    for button, title in zip(shown, titles, strict=True):
        row = {"id": button.data or "", "title": title}
        if title != button.label.strip():
            row["description"] = shorten(button.label, ROW_DESCRIPTION_MAX)
        rows.append(row)
    if more:
        rows.append({"id": page_id(page + 1, token), "title": phrases.more.strip()})
    section = {"title": phrases.section.strip(), "rows": rows}
    return {
        "type": "interactive",
        "interactive": {
            "type": "list",
            "body": {"text": body},
            "action": {"button": phrases.open_list.strip(), "sections": [section]},
        },
    }


def _text_message(body: str) -> CloudMessage:
    """A `text` message; its body ≤ 4,096 (the caller cuts it)."""
    return {"type": "text", "text": {"body": body, "preview_url": False}}


def render(reply: Reply, phrases: Phrases) -> list[CloudMessage]:
    """The Reply as WhatsApp messages, in sending order, each within its limit: text ≤ 4,096 per
    message; its choices as ≤ 3 reply buttons (titles ≤ 20) or a list page (≤ 10 rows, titles ≤ 24,
    descriptions ≤ 72) under a body ≤ 1,024; URL buttons as lines of the text."""
    lines = _read(reply.text) + _links(reply)
    offered = choices(reply)
    if not offered:
        return [_text_message(chunk) for chunk in _text_chunks(lines)]
    text = "\n".join(_serialize(line) for line in lines).strip()
    ahead: list[CloudMessage] = []
    if not text or length(text) > BODY_MAX:
        ahead = [_text_message(chunk) for chunk in _text_chunks(lines)]
        text = neutralise(phrases.choose.strip())
    if _fit_reply_buttons(offered):
        return [*ahead, _reply_buttons(offered, text)]
    return [*ahead, _list_page(offered, 0, text, reply_token(reply), phrases)]


def render_page(reply: Reply, row_id: str, phrases: Phrases) -> list[CloudMessage]:
    """The page a "more" row asks for, from the Reply it was made from: a list (≤ 10 rows, titles
    ≤ 24, descriptions ≤ 72, body ≤ 1,024) under `phrases.choose`. Raises StalePage when the row
    is not of this Reply or the page is past its end."""
    read = read_page_id(row_id)
    token = reply_token(reply)
    if read is None or read[1] != token:
        raise StalePage(f"{row_id!r} is not a page of this reply")
    return [_list_page(choices(reply), read[0], neutralise(phrases.choose.strip()), token, phrases)]
