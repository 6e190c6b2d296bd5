"""WhatsApp's rendering of the bot's replies: each of WhatsApp's limits, its formatting with residents'
text that cannot format, and every keyboard the bot shows in a village's stories, in Dutch and English."""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from bot.application.settings import LANGUAGES, Settings
from bot.kernel.buttons import Tap, decode
from bot.kernel.clock import ManualClock
from bot.kernel.replies import Button, Reply, keyboard
from bot.language.renderer import Renderer
from bot.neighbour_help import Category
from bot.transports.memory import SimulatedPerson
from bot.transports.whatsapp.render import (
    WORD_JOINER,
    CloudMessage,
    Phrases,
    StalePage,
    choices,
    length,
    neutralise,
    page_id,
    read_page_id,
    render,
    render_page,
    reply_token,
    shorten,
    whatsapp_text,
)
from tests.conftest import CM_ID, Village, start_village
from tests.fakegraphapi import GraphError
from tests.fakegraphapi.validation import parse_message

# The words the door supplies from the templates; any words within their limits do for these rules.
PHRASES = {
    "nl": Phrases(choose="Kies:", open_list="Kies", more="Meer…", section="Keuzes"),
    "en": Phrases(choose="Choose:", open_list="Choose", more="More…", section="Choices"),
}
NL = PHRASES["nl"]

# The Cloud API's limits, written out here rather than imported, so a wrong constant fails.
TEXT, BODY, BUTTONS, BUTTON_TITLE, BUTTON_ID = 4096, 1024, 3, 20, 256
ROWS, ROW_TITLE, ROW_DESCRIPTION, ROW_ID, SECTION_TITLE, LIST_BUTTON = 10, 24, 72, 200, 24, 20


def buttons(*labels: str) -> Reply:
    return Reply("Wat wilt u doen?", keyboard(*(Button(label, f"x:{n}") for n, label in enumerate(labels))))


def interactive(message: CloudMessage) -> dict[str, Any]:
    assert message["type"] == "interactive"
    found: dict[str, Any] = message["interactive"]
    return found


def rows(message: CloudMessage) -> list[dict[str, str]]:
    if message["type"] != "interactive" or message["interactive"]["type"] != "list":
        return []
    return [row for section in message["interactive"]["action"]["sections"] for row in section["rows"]]


def reply_buttons(message: CloudMessage) -> list[dict[str, str]]:
    if message["type"] != "interactive" or message["interactive"]["type"] != "button":
        return []
    return [button["reply"] for button in message["interactive"]["action"]["buttons"]]


def limit_breaches(message: CloudMessage) -> list[str]:
    """Each way the message breaks a limit of the Cloud API."""
    found: list[str] = []

    def within(what: str, text: str, limit: int) -> None:
        if not text.strip() or length(text) > limit:
            found.append(f"{what} {text!r} is {length(text)} characters, WhatsApp takes 1 to {limit}")

    if message["type"] == "text":
        within("text", message["text"]["body"], TEXT)
        return found
    body = interactive(message)
    within("body", body["body"]["text"], BODY)
    if body["type"] == "button":
        shown = reply_buttons(message)
        if not 1 <= len(shown) <= BUTTONS:
            found.append(f"{len(shown)} reply buttons")
        for button in shown:
            within("button title", button["title"], BUTTON_TITLE)
            within("button id", button["id"], BUTTON_ID)
        titles, ids = [b["title"] for b in shown], [b["id"] for b in shown]
    else:
        within("list button", body["action"]["button"], LIST_BUTTON)
        for section in body["action"]["sections"]:
            within("section title", section["title"], SECTION_TITLE)
        listed = rows(message)
        if not 1 <= len(listed) <= ROWS:
            found.append(f"{len(listed)} rows")
        for row in listed:
            within("row title", row["title"], ROW_TITLE)
            within("row id", row["id"], ROW_ID)
            if "description" in row:
                within("row description", row["description"], ROW_DESCRIPTION)
        titles, ids = [r["title"] for r in listed], [r["id"] for r in listed]
    if len({t.casefold() for t in titles}) != len(titles):
        found.append(f"two choices look alike: {titles}")
    if len(set(ids)) != len(ids):
        found.append(f"two choices have one id: {ids}")
    return found


def every_message(reply: Reply, phrases: Phrases = NL) -> list[CloudMessage]:
    """What the person can get to: the rendering, and each page behind a "more" row, in turn."""
    messages = render(reply, phrases)
    for _ in range(100):
        more = [row["id"] for row in rows(messages[-1]) if read_page_id(row["id"])]
        if not more:
            return messages
        messages += render_page(reply, more[0], phrases)
    raise AssertionError("the pages never end")


def problems(reply: Reply, phrases: Phrases) -> list[str]:
    """A limit broken, a choice that cannot be reached, a label no row or button shows whole, a link gone."""
    messages = every_message(reply, phrases)
    found = [breach for message in messages for breach in limit_breaches(message)]
    for message in messages:  # and the fake Graph API, with its own reading of Meta's checks
        try:
            parse_message({"messaging_product": "whatsapp", "to": "31612345678", **message}, {})
        except GraphError as refused:
            found.append(f"the fake Graph API refuses {message}: {refused}")
    whole: dict[str, str] = {}  # data -> the label as shown in full (a title, or a row's description)
    for message in messages:
        for button in reply_buttons(message):
            whole[button["id"]] = button["title"]
        for row in rows(message):
            whole[row["id"]] = row.get("description", row["title"])
    for choice in choices(reply):
        if choice.data not in whole:
            found.append(f"choice lost: {choice.label!r}")
        elif whole[choice.data] != choice.label.strip():
            found.append(f"label cut: {choice.label!r} ({length(choice.label)}) shows as {whole[choice.data]!r}")
    texts = "\n".join(m["text"]["body"] if m["type"] == "text" else interactive(m)["body"]["text"] for m in messages)
    links = [button.url for line in reply.buttons for button in line if button.url]
    found += [f"link lost: {url}" for url in links if url not in texts]
    return found


# --- text -----------------------------------------------------------------------------------------


def test_a_short_text_is_one_text_message_without_a_link_preview() -> None:
    assert render(Reply("Hallo <b>Anna</b>!"), NL) == [
        {"type": "text", "text": {"body": "Hallo *Anna*!", "preview_url": False}}
    ]


def test_nothing_to_say_sends_nothing() -> None:
    assert render(Reply(""), NL) == []


def paragraph(n: int, words: int = 150) -> str:
    return " ".join(f"alinea{n}woord{w}" for w in range(words))


def bodies(messages: list[CloudMessage]) -> list[str]:
    return [m["text"]["body"] for m in messages if m["type"] == "text"]


def test_a_long_text_is_cut_between_paragraphs_and_nothing_is_lost() -> None:
    paragraphs = [paragraph(n) for n in range(12)]  # about 2,000 characters each
    text = "\n\n".join(paragraphs)
    messages = render(Reply(text), NL)
    assert len(messages) > 1 and not any(limit_breaches(m) for m in messages)
    for body in bodies(messages):  # each message is whole paragraphs
        assert all(part in paragraphs for part in body.split("\n\n"))
    assert "\n\n".join(bodies(messages)) == text


def test_a_long_paragraph_is_cut_between_lines() -> None:
    lines = [paragraph(n, 40) for n in range(20)]  # one paragraph, lines of about 550
    messages = render(Reply("\n".join(lines)), NL)
    assert len(messages) > 1 and not any(limit_breaches(m) for m in messages)
    assert all(line in lines for body in bodies(messages) for line in body.split("\n"))


def test_one_endless_line_is_cut_between_words_never_inside_one() -> None:
    text = paragraph(0, 1000)  # one line of about 14,000 characters
    messages = render(Reply(text), NL)
    assert len(messages) >= 4 and not any(limit_breaches(m) for m in messages)
    assert " ".join(bodies(messages)).split() == text.split()


def test_bold_cut_across_messages_is_closed_and_opened_again() -> None:
    text = "<b>" + paragraph(0, 600) + "</b>"
    for body in bodies(render(Reply(text), NL)):
        assert body.startswith("*") and body.endswith("*") and body.count("*") == 2


def test_a_word_longer_than_a_message_is_cut_as_a_last_resort_and_kept_whole() -> None:
    word = "x" * 9000
    messages = render(Reply(word), NL)
    assert not any(limit_breaches(m) for m in messages) and "".join(bodies(messages)) == word


# --- reply buttons and lists ------------------------------------------------------------------------


def test_one_to_three_short_choices_are_reply_buttons_with_the_data_as_id() -> None:
    [message] = render(buttons("✅ Toelaten", "❌ Afwijzen"), NL)
    assert interactive(message) == {
        "type": "button",
        "body": {"text": "Wat wilt u doen?"},
        "action": {
            "buttons": [
                {"type": "reply", "reply": {"id": "x:0", "title": "✅ Toelaten"}},
                {"type": "reply", "reply": {"id": "x:1", "title": "❌ Afwijzen"}},
            ]
        },
    }


def test_a_label_over_20_turns_three_choices_into_a_list_that_shows_it_whole() -> None:
    reply = buttons("Ja, dat is mijn straat", "Nee")  # 22 characters: a reply button would cut it
    [message] = render(reply, NL)
    assert interactive(message)["type"] == "list"
    assert rows(message) == [{"id": "x:0", "title": "Ja, dat is mijn straat"}, {"id": "x:1", "title": "Nee"}]
    assert problems(reply, NL) == []


def test_two_buttons_that_look_alike_become_a_list_with_numbered_rows() -> None:
    [message] = render(buttons("Anna", "anna"), NL)
    assert [row["title"] for row in rows(message)] == ["1. Anna", "2. anna"]


def test_four_to_ten_choices_are_one_list() -> None:
    reply = buttons(*(f"Keuze {n}" for n in range(10)))
    [message] = render(reply, NL)
    body = interactive(message)
    assert body["type"] == "list" and body["action"]["button"] == "Kies"
    assert [section["title"] for section in body["action"]["sections"]] == ["Keuzes"]
    assert [row["id"] for row in rows(message)] == [f"x:{n}" for n in range(10)]


def test_a_label_over_24_gets_a_title_cut_at_a_word_and_the_whole_label_below() -> None:
    label = "Aanmelden bij een ander buurtnetwerk"
    [message] = render(buttons(label, "Terug", "Stoppen", "Menu"), NL)
    assert rows(message)[0] == {"id": "x:0", "title": "Aanmelden bij een ander…", "description": label}


def test_labels_that_would_be_cut_alike_are_numbered_so_no_two_rows_look_the_same() -> None:
    reply = buttons("Kerkstraat (Breugel-Noord-Oost)", "Kerkstraat (Breugel-Noord-West)", "Terug", "Stop")
    titles = [row["title"] for row in rows(render(reply, NL)[0])]
    assert len(set(titles)) == 4 and all(length(t) <= ROW_TITLE for t in titles)
    assert problems(reply, NL) == []


def test_a_choice_called_like_the_more_row_does_not_look_like_it() -> None:
    reply = buttons(*(f"Straat {n}" for n in range(8)), "Meer…", "Nog een", "En nog een")
    titles = [row["title"] for row in rows(render(reply, NL)[0])]
    assert titles.count("Meer…") == 1 and problems(reply, NL) == []


def test_more_than_ten_choices_page_by_nine_and_every_choice_is_reached_once() -> None:
    reply = buttons(*(f"Lid {n}" for n in range(25)))
    first = render(reply, NL)[0]
    assert len(rows(first)) == 10 and rows(first)[-1] == {"id": page_id(1, reply_token(reply)), "title": "Meer…"}
    messages = every_message(reply)
    assert [len(rows(m)) for m in messages] == [10, 10, 7]
    reached = [row["id"] for m in messages for row in rows(m) if not read_page_id(row["id"])]
    assert reached == [f"x:{n}" for n in range(25)]
    assert [interactive(m)["body"]["text"] for m in messages[1:]] == ["Kies:", "Kies:"]


def test_eleven_choices_are_nine_and_a_page_of_two() -> None:
    assert [len(rows(m)) for m in every_message(buttons(*(f"Lid {n}" for n in range(11))))] == [10, 2]


def test_a_page_of_another_reply_or_past_the_end_is_stale() -> None:
    reply, other = buttons(*(f"Lid {n}" for n in range(25))), buttons(*(f"Lid {n}" for n in range(26)))
    with pytest.raises(StalePage):
        render_page(reply, page_id(1, reply_token(other)), NL)
    with pytest.raises(StalePage):
        render_page(reply, page_id(9, reply_token(reply)), NL)
    with pytest.raises(StalePage):
        render_page(reply, "ma:12", NL)


def test_page_ids_never_look_like_a_core_button() -> None:
    assert all(not tap.value.startswith("wa") for tap in Tap)
    assert read_page_id(page_id(3, "0123456789ab")) == (3, "0123456789ab")
    assert read_page_id("wa:page:3") is None and read_page_id("jp:3") is None


def test_a_text_over_1024_goes_ahead_and_the_choices_follow_under_the_short_phrase() -> None:
    text = paragraph(0, 100)  # about 1,300 characters
    ahead, choice = render(Reply(text, keyboard(Button("Ja", "y"), Button("Nee", "n"))), NL)
    assert ahead == {"type": "text", "text": {"body": text, "preview_url": False}}
    assert interactive(choice)["body"] == {"text": "Kies:"} and len(reply_buttons(choice)) == 2


def test_choices_without_text_get_the_short_phrase_as_body() -> None:
    [message] = render(Reply("", keyboard(Button("Ja", "y"))), PHRASES["en"])
    assert interactive(message)["body"] == {"text": "Choose:"}


def test_url_buttons_become_label_and_link_lines_under_the_text() -> None:
    reply = Reply(
        "Uw uitnodiging:",
        keyboard(Button("Open de site", url="https://buurt.example/a_b"), Button("Stoppen", "cx")),
    )
    [message] = render(reply, NL)
    assert interactive(message)["body"]["text"] == "Uw uitnodiging:\n\nOpen de site: https://buurt.example/a_b"
    assert [b["id"] for b in reply_buttons(message)] == ["cx"]
    [only_links] = render(Reply("Kijk:", keyboard(Button("Site", url="https://buurt.example"))), NL)
    assert only_links["text"]["body"] == "Kijk:\n\nSite: https://buurt.example"


def test_phrases_over_their_limit_are_refused() -> None:
    with pytest.raises(ValueError, match="open_list"):
        Phrases(choose="Kies:", open_list="Kies een van deze opties", more="Meer…", section="Keuzes")
    with pytest.raises(ValueError, match="more"):
        Phrases(choose="Kies:", open_list="Kies", more="", section="Keuzes")


def test_shorten_cuts_after_a_whole_word_and_only_inside_one_word_when_it_must() -> None:
    assert shorten("🙋 Hulp vragen aan de buren vandaag", 24) == "🙋 Hulp vragen aan de…"
    assert shorten("Boodschappendienstverlening", 24) == "Boodschappendienstverle…"
    assert shorten("Kort", 24) == "Kort"


# --- formatting -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("html_text", "shown"),
    [
        ("<b>Straatfeest</b> op zaterdag", "*Straatfeest* op zaterdag"),
        ("<i>let op</i>", "_let op_"),
        ("<s>oud</s> nieuw", "~oud~ nieuw"),
        ("<code>AB12</code>", "```AB12```"),
        ("<pre>regel</pre>", "```regel```"),
        ('<a href="https://buurt.example">de site</a>', "de site (https://buurt.example)"),
        ('<a href="https://buurt.example">https://buurt.example</a>', "https://buurt.example"),
        ("Vis &amp; friet &lt;3 &quot;lekker&quot;", 'Vis & friet <3 "lekker"'),
        ("<b>Hallo </b>Anna", "*Hallo* Anna"),  # WhatsApp ignores "*Hallo *"
        ("<b>twee\nregels</b>", "*twee*\n*regels*"),  # a marker never spans a line
        ("<b>vet <i>en schuin</i></b>", "*vet _en schuin_*"),
        ("<b><b>dubbel</b></b>", "*dubbel*"),
        ("<u>onderstreept</u> <tg-spoiler>geheim</tg-spoiler>", "onderstreept geheim"),
    ],
)
def test_telegram_html_becomes_whatsapp_formatting(html_text: str, shown: str) -> None:
    assert whatsapp_text(html_text) == shown


def _boundary(char: str | None) -> bool:
    return char is None or char.isspace() or unicodedata.category(char)[0] in "PS"


def whatsapp_formats(text: str) -> list[str]:
    """What WhatsApp shows formatted, by the rules it documents and users observe: a marker opens
    after a line start, space or punctuation and before a non-space; it closes after a non-space
    and before a line end, space or punctuation; never across a line break. ``` is taken
    wherever it stands (the stricter reading). Returns the formatted pieces with their markers."""
    found: list[str] = []
    for marker in ("```", "*", "_", "~", "`"):
        size = len(marker)
        for line in text.split("\n"):
            start = 0
            while (i := line.find(marker, start)) != -1:
                start = i + 1
                before = line[i - 1] if i else None
                after = line[i + size] if i + size < len(line) else None
                if marker != "```" and (not _boundary(before) or after is None or after.isspace()):
                    continue
                if marker == "`" and (before == "`" or after == "`"):
                    continue
                for j in (m.start() for m in re.finditer(re.escape(marker), line[i + size :])):
                    end = i + size + j
                    close_after = line[end + size] if end + size < len(line) else None
                    if end == i + size:
                        continue
                    if marker == "```" or (not line[end - 1].isspace() and _boundary(close_after)):
                        found.append(line[i : end + size])
                        start = end + size
                        break
    return found


RESIDENTS_WRITE = [
    "2*3*4",
    "_hallo_",
    "~weg~",
    "```code```",
    "`code`",
    "Anne_Marie",
    "*dringend* hulp nodig",
    "a * b * c",
    "__init__ en **vet**",
    "_Anne_ en *Piet* en ~Kees~",
]


@pytest.mark.parametrize("typed", RESIDENTS_WRITE)
def test_what_a_resident_types_cannot_format_and_reads_as_typed(typed: str) -> None:
    shown = whatsapp_text(f"Bericht van Anna:\n{typed}")  # the template escaped it for Telegram already
    assert whatsapp_formats(shown) == []
    assert shown.replace(WORD_JOINER, "") == f"Bericht van Anna:\n{typed}"  # same characters, same search


@pytest.mark.parametrize("typed", RESIDENTS_WRITE)
def test_a_residents_text_inside_bold_keeps_the_bold_and_nothing_more(typed: str) -> None:
    shown = whatsapp_text(f"<b>{typed}</b> zegt Anna")
    assert len(whatsapp_formats(shown)) == 1 and whatsapp_formats(shown)[0].startswith("*")


def test_the_formatting_model_sees_what_neutralising_prevents() -> None:
    # Without the joiners WhatsApp would format most of these: the two tests above can fail.
    formatted = [typed for typed in RESIDENTS_WRITE if whatsapp_formats(typed)]
    assert len(formatted) >= 6 and "Anne_Marie" not in formatted


def test_a_line_a_resident_starts_with_a_quote_mark_is_not_a_quote() -> None:
    assert whatsapp_text("Anna schreef:\n&gt; ik kom") == f"Anna schreef:\n{WORD_JOINER}> ik kom"


def test_neutralise_leaves_text_without_markers_alone() -> None:
    assert neutralise("Gewoon een zin, met 3 woorden!") == "Gewoon een zin, met 3 woorden!"


# --- every label the templates give a button ----------------------------------------------------------

NOT_BUTTONS = ("command_", "my_data_filename")  # command menu texts and a file name
SAMPLES: dict[str, tuple[object, ...]] = {
    "name": ("Anne-Marie van den Heuvel",),
    "network": ("Breugel-Noord", "Son-Centrum"),
    "street": ("Van den Elsenstraat", "Sint Genovevalaan"),
    "category": tuple(c.value for c in Category),
    "chosen": (True, False),
    "on": (True, False),
    "verbinder": (True, False),
    "policy": ("open", "approval"),
    "hours": ("24,2", "2", ""),
    "months": (3, 12, 24),
    "language": ("nl", "en"),
    "code": ("k7Hq2xWm9a",),
    "uses": (0, 12),
    "part": ("morning", "afternoon", "evening", ""),
    "phone": ("040-1234567", "+31 6 12345678"),
}


def every_label(renderer: Renderer, language: str) -> Iterator[tuple[str, str]]:
    """(name, text) of each button label, with every sample value its macro takes."""
    module = renderer._labels(language)  # the macros, for their argument names: no public accessor
    for name in renderer.label_names(language):
        if name.startswith(NOT_BUTTONS):
            continue
        arguments = getattr(module, name).arguments
        unknown = [a for a in arguments if a not in SAMPLES]
        if unknown:
            pytest.fail(f"label {name} takes {unknown}: give SAMPLES values like the ones it will get")
        for values in itertools.product(*(SAMPLES[a] for a in arguments)):
            yield name, renderer.label(language, name, **dict(zip(arguments, values, strict=True)))


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_button_label_fits_a_list_rows_description_so_none_is_cut(language: str) -> None:
    renderer = Renderer()
    too_long = sorted(
        f"{name}: {text!r} ({length(text)})"
        for name, text in set(every_label(renderer, language))
        if length(text) > ROW_DESCRIPTION
    )
    assert too_long == [], f"labels WhatsApp would cut (over {ROW_DESCRIPTION} characters)"


# --- every keyboard in the village's stories -----------------------------------------------------------

TYPED = {
    "nl": {
        "street": "Kerkstraat 12",
        "unknown street": "Dorpsstraat",
        "request": "Boodschappen halen bij de Jumbo, ik heb een lijstje",
        "when": "zaterdag 14:00",
        "event": "Straatfeest",
        "event when": "zaterdag 5 december 15:00",
        "event new when": "zaterdag 5 december 16:00",
        "place": "Speeltuin Kerkstraat",
        "message": "Komt zaterdag om twee uur uit?",
        "announcement": "Zaterdag is de straat dicht voor het straatfeest.",
        "name": "mevrouw De Groot",
        "phone": "040-1234567",
        "network": "Son-Zuid",
        "streets": "Zuiderstraat, Dorpsstraat",
    },
    "en": {
        "street": "Kerkstraat 12",
        "unknown street": "Dorpsstraat",
        "request": "Groceries from the Jumbo, I have a list",
        "when": "saturday 14:00",
        "event": "Street party",
        "event when": "saturday 5 December 15:00",
        "event new when": "saturday 5 December 16:00",
        "place": "Playground Kerkstraat",
        "message": "Does Saturday at two suit you?",
        "announcement": "On Saturday the street is closed for the party.",
        "name": "Mrs De Groot",
        "phone": "040-1234567",
        "network": "Son-Zuid",
        "streets": "Zuiderstraat, Dorpsstraat",
    },
}
# Not tapped while exploring: the endings (the stories tap them last) and another language.
SKIPPED_WHILE_EXPLORING = {Tap.FORGET_ME, Tap.LEAVE_CONFIRM, Tap.MEMBER_REMOVE_OK, Tap.EVENT_CANCEL_OK, Tap.LANGUAGE}


def find(person: SimulatedPerson, kind: Tap, *args: str) -> tuple[Any, str]:
    for sent in reversed(person.inbox):
        for button in sent.buttons:
            if button.data and decode(button.data).tap == kind and decode(button.data).args[: len(args)] == args:
                return sent, button.data
    seen = [f"{m.text[:80]!r} {[b.data for b in m.buttons]}" for m in person.inbox[-3:]]
    raise LookupError(f"{person.sender.first_name} sees no button {kind.name} {args}; last saw {seen}")


def a_moment_later(person: SimulatedPerson) -> None:
    """A second passes between two things a person does, as in a chat (and the flood guard agrees)."""
    clock = person.simulator.bot.village.clock
    assert isinstance(clock, ManualClock)
    clock.advance(timedelta(seconds=1))


async def says(person: SimulatedPerson, text: str) -> None:
    a_moment_later(person)
    await person.says(text)


async def tap(person: SimulatedPerson, kind: Tap, *args: str) -> None:
    """Taps the newest button that does `kind` (with these first arguments): one story, every language."""
    sent, data = find(person, kind, *args)
    a_moment_later(person)
    await person.press(sent, data)


async def explore(person: SimulatedPerson, tapped: set[Tap], depth: int = 3) -> None:
    """From the person's menu, taps each kind of button they are shown not tapped before, `depth` deep."""
    await says(person, "/menu")
    frontier = [person.last]
    for _ in range(depth):
        found = []
        for sent in frontier:
            for button in list(sent.buttons):
                kind = decode(button.data).tap if button.data else None
                if kind is None or kind in tapped or kind in SKIPPED_WHILE_EXPLORING:
                    continue
                tapped.add(kind)
                before, versions = len(person.inbox), len(sent.versions)
                a_moment_later(person)
                await person.press(sent, button.data or "")
                found += [m for m in person.inbox[before:] if m.buttons]
                if len(sent.versions) > versions:
                    found.append(sent)
        frontier = found
    await says(person, "/cancel")


async def village_stories(village: Village, clock: ManualClock, language: str) -> None:
    """Residents and buurtverbinders go through what the bot offers: joining, help, activities,
    members, settings, invites, announcements, privacy; then each explores their menu."""
    app, said = village.bot.village, TYPED[language]
    jan, marieke = village.person("Jan", language=language), village.person("Marieke", language=language)
    for verbinder in (jan, marieke):
        await says(verbinder, "/menu")
        await app.people.set_language(verbinder.id, language)

    async def member(name: str, network: Any = None) -> SimulatedPerson:
        invite = await app.memberships.invite(network or village.noord, created_by=None, now=clock.now())
        person = village.person(name, language=language)
        await says(person, f"/start {invite.code}")
        return person

    async def flush() -> None:
        await app.sender.flush()

    # Joining: by street, a street not found, approval and refusal.
    kees, wim, els = (village.person(n, language=language) for n in ("Kees", "Wim", "Els"))
    await says(kees, "/start")
    await says(kees, said["street"])
    await tap(kees, Tap.JOIN_PICK)
    await tap(jan, Tap.APPROVE)
    await says(wim, "/start")
    await says(wim, said["unknown street"])
    karin = village.person("Karin", language=language, user_id=CM_ID)
    await says(karin, "/menu")  # the community manager, known to the bot: she can be told
    await tap(wim, Tap.JOIN_CONTACT)  # the offline route: how to reach him, his consent, who takes it up
    await tap(wim, Tap.CONTACT_REACH, "afternoon")
    await says(wim, said["phone"])
    await tap(wim, Tap.CONSENT, "yes")
    await says(karin, "/contacts")
    await tap(karin, Tap.CONTACT_TAKE)
    await tap(karin, Tap.CONTACT_WRITE)
    await says(karin, said["message"])
    await tap(karin, Tap.CONTACT_DONE)
    guessed = village.person("Guus", language=language)
    await says(guessed, "/start")
    await says(guessed, "Kerkweg")  # no such street: a guess, confirmed before joining
    await tap(guessed, Tap.JOIN_SUGGESTED)
    await tap(guessed, Tap.JOIN_PICK)
    await says(els, "/join")
    await says(els, "Kerkstr")
    await tap(els, Tap.JOIN_PICK)
    await tap(jan, Tap.DECLINE)
    lies = village.person("Lies", language=language)
    await says(lies, "/start")
    await says(lies, said["street"])
    await tap(lies, Tap.JOIN_PICK)
    await says(lies, "/ask")  # still waiting for Jan: she can remind him
    await tap(lies, Tap.REMIND_REVIEWER)
    await tap(jan, Tap.APPROVE)
    neighbours = [await member(f"Buur{n}") for n in range(8)]  # a member list longer than a page
    anna, piet = await member("Anna"), await member("Piet")
    await member("Anna", village.centrum)  # Anna is in two networks: she chooses one

    # Help: offering, asking, claiming, writing through the bot, on behalf of a resident.
    await says(piet, "/offer")
    await tap(piet, Tap.OFFER_TOGGLE, Category.GROCERIES.value)
    await tap(piet, Tap.OFFER_NOTIFY)
    await tap(piet, Tap.OFFER_NOTIFY)  # and on again
    await tap(piet, Tap.OFFER_TOGGLE, Category.TRANSPORT.value)
    await tap(piet, Tap.OFFER_SAVE)
    await says(anna, "/ask")
    await tap(anna, Tap.ASK_NETWORK, str(village.noord.id))
    await tap(anna, Tap.ASK_CATEGORY, Category.GROCERIES.value)
    await says(anna, said["request"])
    await says(anna, said["when"])
    await tap(anna, Tap.ASK_WHEN_OK)
    await tap(anna, Tap.ASK_NAME_SHOWN)
    await tap(anna, Tap.ASK_POST)
    await flush()
    await tap(piet, Tap.CLAIM)
    await tap(anna, Tap.RELAY)
    await says(anna, said["message"])
    await tap(piet, Tap.RELAY)
    await says(anna, said["message"])
    await says(piet, "/requests")
    await says(jan, "/ask")
    await tap(jan, Tap.ASK_BEHALF)
    await says(jan, said["name"])
    await says(jan, said["phone"])
    await tap(jan, Tap.ASK_CONSENT)
    await tap(jan, Tap.ASK_CATEGORY, Category.TRANSPORT.value)
    await says(jan, said["request"])
    await tap(jan, Tap.ASK_WHEN, "tomorrow")
    await tap(jan, Tap.ASK_NAME_SHOWN)
    await tap(jan, Tap.ASK_POST)
    await flush()
    clock.advance(timedelta(days=2))
    await app.scheduler.run_due()  # an unclaimed request goes to the buurtverbinder, the claimed one asks how it went
    await flush()
    await tap(jan, Tap.FOLLOW)
    await tap(anna, Tap.NOT_YET)

    # An activity: planned, answered, moved, full, reminded; a resident's proposal.
    await says(jan, "/newevent")
    await says(jan, said["event"])
    await says(jan, said["event when"])
    await tap(jan, Tap.EVENT_WHEN_OK)
    await says(jan, said["place"])
    await tap(jan, Tap.EVENT_NO_DESCRIPTION)
    await says(jan, "2")
    await tap(jan, Tap.EVENT_SAVE)
    await flush()
    await tap(anna, Tap.EVENT_ANSWER)
    await tap(piet, Tap.EVENT_ANSWER)
    await tap(neighbours[0], Tap.EVENT_ANSWER)
    await tap(neighbours[0], Tap.EVENT_WAIT)
    await tap(jan, Tap.EVENT_MOVE)
    await says(jan, said["event new when"])
    await tap(jan, Tap.EVENT_MOVE_OK)
    await flush()
    await says(jan, "/settings")
    await tap(jan, Tap.SETTING, str(village.noord.id), "rp")
    await says(piet, "/newevent")
    await says(piet, said["event"])
    await says(piet, said["event when"])
    await tap(piet, Tap.EVENT_WHEN_OK)
    await says(piet, said["place"])
    await tap(piet, Tap.EVENT_NO_DESCRIPTION)
    await tap(piet, Tap.EVENT_NO_LIMIT)
    await tap(piet, Tap.EVENT_SAVE)
    await tap(jan, Tap.EVENT_APPROVE)
    await flush()
    clock.advance(timedelta(days=6))
    await app.scheduler.run_due()
    await flush()

    # The buurtverbinder's work and the community manager's.
    await says(jan, "/members")
    await tap(jan, Tap.MEMBERS, str(village.noord.id), "1")
    await tap(jan, Tap.MEMBER)
    await tap(jan, Tap.MEMBER_REMOVE)
    await says(jan, "/invite")
    await tap(jan, Tap.INVITE_KIND, str(village.noord.id), "one")
    await says(jan, "/invite")
    await tap(jan, Tap.INVITE_KIND, str(village.noord.id), "street")
    await says(jan, "/invite")
    await says(jan, "/announce")
    await says(jan, said["announcement"])
    await tap(jan, Tap.ANNOUNCE_SEND)
    await flush()
    await says(karin, "/networks")
    await tap(karin, Tap.NETWORK_SHOW)
    await says(karin, "/networks")
    await tap(karin, Tap.NETWORK_NEW)
    await says(karin, said["network"])
    await says(karin, said["streets"])
    await tap(karin, Tap.NETWORK_SAVE)
    await says(karin, "/announceall")
    await says(karin, said["announcement"])
    await tap(karin, Tap.ANNOUNCE_SEND)
    await flush()

    # Each person explores the buttons of their menu, then the endings.
    for person in (anna, piet, jan, karin, kees, wim, neighbours[1]):
        await explore(person, set())
    await says(jan, "/events")
    await tap(jan, Tap.EVENT_CANCEL)
    await tap(jan, Tap.EVENT_CANCEL_OK)
    await flush()
    await app.memberships.appoint(village.centrum, jan.id, by=None, now=clock.now(), name="Jan")
    await says(jan, "/newevent")  # two networks now: which one
    await tap(jan, Tap.EVENT_NETWORK, str(village.centrum.id))
    await says(jan, "/export")
    await tap(jan, Tap.EXPORT, str(village.centrum.id))
    await says(anna, "/leave")
    await tap(anna, Tap.LEAVE_PICK)
    await tap(anna, Tap.LEAVE_CONFIRM)
    await says(wim, "/forgetme")
    await tap(wim, Tap.FORGET_ME)


def every_reply(village: Village) -> list[Reply]:
    return [reply for sent in village.door.messages for reply in sent.versions]


@pytest.mark.parametrize("language", LANGUAGES)
async def test_every_keyboard_of_the_village_stories_fits_whatsapp(
    language: str, settings: Settings, clock: ManualClock
) -> None:
    fast = settings.model_copy(update={"broadcast_rate": 1000.0})  # the send budget is not what this tests
    village = await start_village(fast, clock)
    try:
        await village_stories(village, clock, language)
        replies = every_reply(village)
    finally:
        await village.bot.stop()
    shown = {decode(b.data).tap for reply in replies for row in reply.buttons for b in row if b.data}
    # A new kind of button joins the stories, or WhatsApp's rendering of it goes unchecked.
    assert sorted(t.name for t in set(Tap) - shown) == [], "kinds of button the stories never show"
    found = sorted({issue for reply in replies for issue in problems(reply, PHRASES[language])})
    assert found == [], f"{language}: what WhatsApp would cut or lose"
