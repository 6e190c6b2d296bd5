"""Hostile and random updates: nothing breaks, every reply is sound Telegram HTML, strangers change nothing.

Hypothesis makes the updates: unicode, huge text, HTML and template syntax, commands in the wrong chat,
forged button data and stale buttons harvested from what the bot really sent, from people the bot
knows and from strangers. One village per test function, reused across examples.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.kernel import commands
from bot.kernel.buttons import Tap
from bot.kernel.clock import ManualClock
from bot.kernel.events import ButtonPress, ChatKind, ChatRef, Event, JoinRequest, Message, Sender
from bot.kernel.replies import html_to_plain
from bot.transports.memory import SIMULATED_ID_BASE, SimulatedPerson
from tests.conftest import CM_ID, Village, make_settings, start_village
from tests.test_activity_scenarios import jan_plans_the_street_party
from tests.test_help_scenarios import asks_for_groceries, member, offers_groceries

EXAMPLES = 60  # per test; each example is a few updates

# --- what hostile people type ---------------------------------------------------------------

HOSTILE_BITS = [
    "<b>",
    "</b>",
    "<i>ingetypt</i>",  # well-formed: were it let through raw, only RAW_MARKERS would notice
    '<a href="http://evil.example">klik</a>',
    '<b class="x">',
    "<script>alert(1)</script>",
    "<",
    ">",
    "&",
    "&amp;",
    "&lt;",
    "&#60;",
    "<pre>",
    "</blockquote>",
    "<tg-spoiler>",
    '"',
    "'",
    "{{ name }}",
    "{% if x %}",
    "%s",
    "' OR 1=1; --",
    "Robert'); DROP TABLE person;--",
    "\u202e",  # right-to-left override
    "\u200b",  # zero width space
    "\ufeff",
    "👨‍👩‍👧‍👦",
    "Kerkstraat",
    "Molenstraat 7",
    "\n",
    "\t",
    " ",
    "/",
    "@buurtbot_test",
]
UNICODE = st.characters(exclude_categories=["Cs"])  # Telegram delivers valid UTF-8: no lone surrogates
SHORT = st.text(UNICODE, max_size=12)
MIXED = st.lists(st.one_of(st.sampled_from(HOSTILE_BITS), SHORT), max_size=12).map("".join)


class Long(str):
    """A text that may be long; hypothesis shows it briefly when it reports an example."""

    __slots__ = ()

    def __repr__(self) -> str:
        return str.__repr__(self) if len(self) <= 80 else f"<{len(self)} chars: {str.__repr__(self[:40])}...>"


HUGE = st.builds(
    lambda piece, times: Long((piece * times)[:10_000]),
    st.sampled_from(["K", "ä", "<b>", "&", "🏠", "Kerkstraat "]),
    st.integers(1, 10_000),
)
TEXT = st.one_of(st.text(UNICODE, max_size=200), MIXED, HUGE)
COMMAND_NAMES = sorted(name for command in commands.ALL for name in command.names())
COMMAND = st.builds(
    lambda name, to, argument: Long(f"/{name}{to} {argument}".rstrip()),
    st.sampled_from([*COMMAND_NAMES, "doeiets", "START", "Hulp"]),
    st.sampled_from(["", "@buurtbot_test", "@anderebot"]),
    st.one_of(st.just(""), MIXED, HUGE),
)
TYPED = st.one_of(TEXT, COMMAND)

ARG = st.one_of(
    st.integers(-3, 2**63).map(str),
    st.integers(0, 12).map(str),
    st.sampled_from(["y", "m", "n", "nl", "en", "xx", "today", "week", "one", "street", "on", "off", "eh", "48"]),
    st.sampled_from(["network", "helper", "boodschappen", "vervoer", "", "-1", "1e9", "0x10", "٣"]),  # ٣: Arabic 3
    SHORT,
)
FORGED = st.one_of(
    st.text(UNICODE, max_size=70),
    st.builds(lambda tap, args: ":".join([tap.value, *args]), st.sampled_from(list(Tap)), st.lists(ARG, max_size=4)),
)

STRANGERS_FROM = SIMULATED_ID_BASE + 2**33  # above every simulated name's id: crc32 is below 2**32

GROUPS = [
    ChatRef(-1001, ChatKind.GROUP, "Kerkstraat"),
    ChatRef(-1002, ChatKind.SUPERGROUP, "<b>Buurt</b> & co"),
    ChatRef(-1003, ChatKind.CHANNEL, None),
]

# --- what a sound reply looks like ----------------------------------------------------------

ALLOWED_TAGS = {"b", "i", "u", "s", "a", "code", "pre", "blockquote"}
TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)([^<>]*)>")
ATTRIBUTES = {
    "a": re.compile(r'\s+href="[^"<>]*"\s*'),
    "code": re.compile(r'(\s+class="language-[\w+-]+")?\s*'),
    "blockquote": re.compile(r"(\s+expandable)?\s*"),
}
ENTITY = re.compile(r"&(?:lt|gt|amp|quot|#\d{1,7}|#x[0-9a-fA-F]{1,6});")
RAW_MARKERS = ('href="http://evil.example', "<i>ingetypt</i>")  # in a reply only if user markup got in
TELEGRAM_TEXT_MAX = 4096  # characters after the markup is parsed


def html_problem(text: str) -> str | None:
    """Why Telegram would refuse TEXT in HTML parse mode, as far as tags and entities go; None if it is fine."""
    open_tags: list[str] = []
    position = 0
    while position < len(text):
        char = text[position]
        if char == "<":
            tag = TAG.match(text, position)
            if tag is None or tag.group(2) not in ALLOWED_TAGS:
                return f"stray or unknown tag at {position}: {text[position : position + 40]!r}"
            closing_tag, name, attributes = tag.groups()
            if closing_tag:
                if attributes.strip() or not open_tags or open_tags.pop() != name:
                    return f"</{name}> closes nothing open at {position}"
            else:
                pattern = ATTRIBUTES.get(name)
                if (pattern.fullmatch(attributes) is None) if pattern else attributes.strip():
                    return f"<{name}> with attributes Telegram refuses: {attributes!r}"
                open_tags.append(name)
            position = tag.end()
            continue
        if char == ">":
            return f"unescaped > at {position}: {text[max(0, position - 30) : position + 1]!r}"
        if char == "&" and ENTITY.match(text, position) is None:
            return f"bare & at {position}: {text[position : position + 20]!r}"
        position += 1
    return f"never closed: {open_tags}" if open_tags else None


def test_the_html_checker_knows_good_from_bad() -> None:
    assert html_problem('<b>Hoi</b> <a href="https://t.me/x?a=1&amp;b=2">x</a> &lt;3 &#39;') is None
    assert (
        html_problem('<pre><code class="language-python">x</code></pre><blockquote expandable>y</blockquote>') is None
    )
    for bad in ["<b>x", "x</b>", "<b><i>x</b></i>", "<script>", "a < b", "a > b", "Jan & Piet", '<b class="x">y</b>']:
        assert html_problem(bad) is not None, bad


# --- the village the examples are played in -------------------------------------------------


@dataclass
class Town:
    runner: asyncio.Runner
    village: Village
    clock: ManualClock
    people: list[SimulatedPerson]  # known: a resident who asked for help, a helper, a pending joiner, Jan, Karin
    data_dir: Path
    apologies: tuple[str, ...]
    strangers: Iterator[int]

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text("<the town>")  # hypothesis shows a failing example's arguments; the town is not one

    def play(self, events: list[Event]) -> list[str]:
        """Hands EVENTS to the bot one by one; returns the problems found in what came back."""
        return self.runner.run(self._play(events))

    async def _play(self, events: list[Event]) -> list[str]:
        seen = len(self.village.door.log)
        problems = []
        for event in events:
            self.clock.advance(timedelta(seconds=1))  # people, not a machine gun: flood control has its own tests
            try:
                await self.village.bot.handle(event)
            except Exception as error:  # the property under test: nothing gets out of the core
                problems.append(f"{type(event).__name__} raised {error!r}")
        return problems + self.problems_since(seen)

    def problems_since(self, seen: int) -> list[str]:
        """What is wrong with everything the bot sent, edited or answered after the first SEEN door events."""
        problems = []
        for entry in self.village.door.log[seen:]:
            texts = [reply.text for reply in entry.sent.versions] if entry.sent else []
            shown = [html_to_plain(text) for text in texts] + [entry.text or ""]
            if entry.file and entry.file.caption:
                texts.append(entry.file.caption)
            for text in texts:
                problem = html_problem(text)
                if problem:
                    problems.append(f"invalid HTML ({problem}) in {text[:300]!r}")
                if any(marker in text for marker in RAW_MARKERS):
                    problems.append(f"markup a user typed got into a reply: {text[:300]!r}")
            for plain in shown:
                if any(apology in plain for apology in self.apologies):
                    problems.append("the bot apologised: something raised inside a handler (see the log)")
                if len(plain.encode("utf-16-le", "surrogatepass")) // 2 > TELEGRAM_TEXT_MAX:
                    problems.append(f"a reply of {len(plain)} characters: Telegram refuses more than 4096")
        return problems

    def joins_and_is_approved(self, sender: Sender) -> list[str]:
        """SENDER joins Breugel-Noord by street name, Jan lets them in and looks at the member list."""

        async def scenario() -> None:
            newcomer, jan = SimulatedPerson(self.village.sim, sender), self.village.jan
            for step in (
                newcomer.says("/start"),
                newcomer.says("Kerkstraat"),
                newcomer.taps("Ja, dat is mijn straat"),
                jan.taps("Toelaten"),
                jan.says("/leden"),
                newcomer.says("/mijngegevens"),
            ):
                self.clock.advance(timedelta(seconds=1))
                await step

        seen = len(self.village.door.log)
        self.runner.run(scenario())
        return self.problems_since(seen)

    def stale_buttons(self) -> list[tuple[int, int, str]]:
        """(chat, message, data) of every button the bot ever sent: pressed later or by someone else, stale."""
        return [
            (sent.chat_id, sent.message_id, button.data)
            for sent in self.village.door.messages
            for reply in sent.versions
            for row in reply.buttons
            for button in row
            if button.data
        ]

    def contents(self) -> dict[str, list[tuple[object, ...]]]:
        """Every row of every store, except what any visitor leaves behind: their own profile,
        the update ids, a conversation step."""
        visitor_traces = {"processed_update", "conversation", "alembic_version"}
        found = {}
        for store in [self.data_dir / "directory.db", *sorted((self.data_dir / "networks").glob("*.db"))]:
            with closing(sqlite3.connect(f"{store.resolve().as_uri()}?mode=ro", uri=True)) as connection:
                tables = [name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")]
                for table in sorted(set(tables) - visitor_traces):
                    query = f'SELECT * FROM "{table}"'
                    if table == "person":
                        query += f" WHERE id < {STRANGERS_FROM}"
                    found[f"{store.stem}.{table}"] = sorted(connection.execute(query).fetchall(), key=repr)
        return found


async def _build_town(data_dir: Path, clock: ManualClock) -> tuple[Village, list[SimulatedPerson]]:
    village = await start_village(make_settings(data_dir), clock)
    anna, piet = await member(village, "Anna"), await member(village, "Piet")
    await offers_groceries(piet)
    await asks_for_groceries(anna)
    await jan_plans_the_street_party(village.jan)
    wim = village.person("Wim")
    await wim.says("/start")
    await wim.says("Kerkstraat")
    await wim.taps("Ja")  # pending: Jan's approve button is in his chat
    karin = village.person("Karin", user_id=CM_ID)
    await karin.says("/start")
    return village, [anna, piet, wim, village.jan, village.marieke, karin]


@pytest.fixture
def town(tmp_path: Path) -> Iterator[Town]:
    clock = ManualClock(datetime(2026, 11, 28, 10, 0, tzinfo=UTC))
    with asyncio.Runner() as runner:
        village, people = runner.run(_build_town(tmp_path / "data", clock))
        renderer = village.bot.village.renderer
        apologies = tuple(html_to_plain(renderer.render(language, "common/sorry"))[:30] for language in ("nl", "en"))
        strangers = itertools.count(STRANGERS_FROM)
        try:
            yield Town(runner, village, clock, people, tmp_path / "data", apologies, strangers)
        finally:
            runner.run(village.bot.stop())


# --- building updates from what hypothesis draws ----------------------------------------------


@dataclass(frozen=True)
class Said:
    text: str
    in_group: int | None  # index into GROUPS, or None for the private chat


@dataclass(frozen=True)
class Pressed:
    data: str | None  # forged data, or None: a stale button the bot really sent (picked by `stale`)
    stale: int
    in_group: int | None


@dataclass(frozen=True)
class Knocked:
    """A join request to a group (perhaps one the bot does not know)."""

    in_group: int


CHAT = st.one_of(st.none(), st.none(), st.integers(0, len(GROUPS) - 1))
SAID = st.builds(Said, TYPED, CHAT)
PRESSED = st.builds(Pressed, st.one_of(st.none(), FORGED), st.integers(0, 10**6), CHAT)
KNOCKED = st.builds(Knocked, st.integers(0, len(GROUPS) - 1))


def stranger(town: Town, language: str | None) -> Sender:
    """Someone the bot has never seen, with a name that is itself hostile."""
    return Sender(next(town.strangers), '<b>Vreemde</b> & "Co"', "<i>", "evil_<user>", language)


def to_events(town: Town, sender: Sender, steps: list[Said | Pressed | Knocked]) -> list[Event]:
    sim = town.village.sim
    stale = town.stale_buttons()
    events: list[Event] = []
    for step in steps:
        private = ChatRef(sender.id, ChatKind.PRIVATE)
        if isinstance(step, Said):
            chat = private if step.in_group is None else GROUPS[step.in_group]
            events.append(Message(sim.next_update_id(), sender, chat, step.text))
        elif isinstance(step, Pressed):
            chat = private if step.in_group is None else GROUPS[step.in_group]
            if step.data is None and stale:
                _, message_id, data = stale[step.stale % len(stale)]
            else:
                message_id, data = step.stale, step.data or ""
            events.append(ButtonPress(sim.next_update_id(), sender, chat, message_id, data, f"{chat.id}:{step.stale}"))
        else:
            events.append(JoinRequest(sim.next_update_id(), sender, GROUPS[step.in_group], sender.id))
    return events


# --- the properties -----------------------------------------------------------------------------

HYPOTHESIS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
LANGUAGE = st.sampled_from([None, "nl", "en", "de", "zz-ZZ", "<b>"])


@HYPOTHESIS
@given(who=st.integers(0, 5), steps=st.lists(st.one_of(SAID, PRESSED, KNOCKED), min_size=1, max_size=6))
def test_known_people_sending_anything_never_break_the_bot_or_a_reply(
    town: Town, who: int, steps: list[Said | Pressed | Knocked]
) -> None:
    person = town.people[who]  # Anna asked for help, Piet helps, Wim waits, Jan, Marieke, Karin the manager
    assert town.play(to_events(town, person.sender, steps)) == []


@HYPOTHESIS
@given(language=LANGUAGE, said=st.lists(SAID, min_size=1, max_size=6))
def test_a_stranger_typing_anything_changes_no_store(town: Town, language: str | None, said: list[Said]) -> None:
    before = town.contents()
    problems = town.play(to_events(town, stranger(town, language), list(said)))
    assert problems == []
    assert town.contents() == before


@HYPOTHESIS
@given(language=LANGUAGE, pressed=st.lists(PRESSED, min_size=1, max_size=6))
def test_a_stranger_pressing_forged_or_stale_buttons_changes_no_store(
    town: Town, language: str | None, pressed: list[Pressed]
) -> None:
    before = town.contents()
    problems = town.play(to_events(town, stranger(town, language), list(pressed)))
    assert problems == []
    assert town.contents() == before


NAME = st.lists(st.one_of(st.sampled_from(HOSTILE_BITS), SHORT), min_size=1, max_size=10).map(lambda n: "".join(n)[:64])


@settings(max_examples=EXAMPLES // 3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    first=NAME,
    last=st.one_of(st.none(), NAME),
    username=st.one_of(st.none(), st.from_regex(r"[a-z][a-z0-9_]{4,31}", fullmatch=True)),
)
def test_a_newcomer_with_any_name_joins_and_what_jan_sees_is_sound(
    town: Town, first: str, last: str | None, username: str | None
) -> None:
    newcomer = Sender(next(town.strangers), first, last, username, "nl")
    assert town.joins_and_is_approved(newcomer) == []
    membership = town.runner.run(
        town.village.bot.village.stores.directory.membership_of(newcomer.id, town.village.noord.id or 0)
    )
    assert membership is not None and membership.status == "active"
