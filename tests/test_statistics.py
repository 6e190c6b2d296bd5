"""/statistiek with its chart: Jan sees half a year of Breugel-Noord in figures and in one picture.

Half a year is written straight into the stores, dated by hand (the chat flows that make the same
rows have tests of their own); the bot's clock then stands on 28 November 2026.
"""

from __future__ import annotations

import struct
import subprocess
import sys
import textwrap
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.kernel.clock import ManualClock
from bot.network_admin import charts, service
from bot.network_admin.charts import ChartWords
from bot.network_admin.figures import History, Months
from bot.transports.memory import SentFile, SimulatedPerson, simulated_user_id
from storage.models import (
    Answer,
    Event,
    EventStatus,
    HelpRequest,
    HelpStatus,
    MembershipStatus,
    Network,
    Rsvp,
)
from storage.network_admin import Answers, HelpMoments, MemberSpan
from tests.conftest import CM_ID, Village

ROOT = Path(__file__).resolve().parent.parent
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
BEGIN = datetime(2026, 6, 10, 10, 0, tzinfo=UTC)  # Breugel-Noord and Son-Centrum start, Jan and Marieke with them
NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
MONTHS = tuple(date(2026, month, 1) for month in range(6, 12))  # June to November 2026
PNG_SIZE = (1080, 1620)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(BEGIN)


def at(month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


async def joins(village: Village, name: str, network: Network, when: datetime) -> int:
    directory = village.bot.village.stores.directory
    person_id = simulated_user_id(name)
    await directory.upsert_person(person_id=person_id, name=name, username=None, language="nl", now=when)
    await directory.request_membership(
        person_id=person_id, network_id=network.id or 0, street_id=None, status=MembershipStatus.ACTIVE, now=when
    )
    return person_id


async def leaves(village: Village, person_id: int, network: Network, when: datetime) -> None:
    directory = village.bot.village.stores.directory
    membership = await directory.membership_of(person_id, network.id or 0)
    assert membership is not None and membership.id is not None
    assert await directory.decide_membership(
        membership_id=membership.id, expected=MembershipStatus.ACTIVE, status=MembershipStatus.LEFT, by=None, now=when
    )


async def asks(
    village: Village,
    network: Network,
    asker: int,
    asked: datetime,
    taken: tuple[int, datetime] | None = None,
    done: datetime | None = None,
) -> None:
    status = HelpStatus.DONE if done else HelpStatus.CLAIMED if taken else HelpStatus.OPEN
    request = HelpRequest(
        requester_id=asker,
        category="boodschappen",
        description="Boodschappen halen bij de Jumbo",
        needed_at=asked + timedelta(days=1),
        status=status,
        helper_id=taken[0] if taken else None,
        created_at=asked,
        claimed_at=taken[1] if taken else None,
        closed_at=done,
    )
    async with village.bot.village.stores.network(network.slug) as store, store.transaction() as session:
        session.add(request)


async def activity(
    village: Village, network: Network, title: str, starts_at: datetime, answers: dict[int, Answer]
) -> None:
    async with village.bot.village.stores.network(network.slug) as store, store.transaction() as session:
        event = Event(
            title=title,
            starts_at=starts_at,
            place="Speeltuin Kerkstraat",
            status=EventStatus.PUBLISHED,
            created_by=village.jan.id,
            created_at=starts_at - timedelta(days=14),
            updated_at=starts_at - timedelta(days=14),
        )
        session.add(event)
        await session.flush()
        assert event.id is not None
        for person_id, answer in answers.items():
            session.add(Rsvp(event_id=event.id, person_id=person_id, answer=answer, answered_at=event.created_at))


async def half_a_year_of_breugel_noord(village: Village, clock: ManualClock) -> None:
    """Jan's network from June to November; what the chart must show is in BREUGEL_NOORD."""
    noord = village.noord
    anna = await joins(village, "Anna", noord, at(7, 5))
    piet = await joins(village, "Piet", noord, at(7, 5))
    els = await joins(village, "Els", noord, at(8, 20))
    await asks(village, noord, anna, at(8, 20), taken=(piet, at(8, 21)), done=at(8, 22))
    await asks(village, noord, anna, at(9, 15), taken=(piet, at(9, 16)))
    await activity(village, noord, "Burendag", at(9, 26, 12), {anna: Answer.YES, piet: Answer.YES, els: Answer.MAYBE})
    await leaves(village, piet, noord, at(10, 10))
    # 23:30 in UTC on 31 October is half past midnight on 1 November in Son en Breugel: November.
    await activity(village, noord, "Snertavond", at(10, 31, 23, 30), {anna: Answer.YES, els: Answer.NO})
    await asks(village, noord, anna, at(11, 27))
    await joins(village, "Kees", noord, at(11, 28, 9))
    clock.advance(NOW - clock.now())


BREUGEL_NOORD = {
    "members": (1, 3, 4, 4, 3, 4),  # Jan; Anna and Piet; Els; Piet left in October; Kees
    "asked": (0, 0, 1, 1, 0, 1),
    "taken": (0, 0, 1, 1, 0, 0),
    "done": (0, 0, 1, 0, 0, 0),
    "yes": (0, 0, 0, 2, 0, 1),
    "maybe": (0, 0, 0, 1, 0, 0),
    "no": (0, 0, 0, 0, 0, 1),
}


def png_size(content: bytes) -> tuple[int, int]:
    assert content.startswith(charts.PNG_SIGNATURE)
    assert content[12:16] == b"IHDR"  # the first chunk says how large the picture is
    width, height = struct.unpack(">II", content[16:24])
    return width, height


def series(history: History) -> dict[str, tuple[int, ...]]:
    return {name: getattr(history, name) for name in BREUGEL_NOORD}


@pytest.fixture
def drawn(monkeypatch: pytest.MonkeyPatch) -> list[tuple[History, ChartWords]]:
    """Every chart drawn, with what it was drawn from (and drawn all the same)."""
    found: list[tuple[History, ChartWords]] = []
    draw: Callable[[History, ChartWords], bytes] = charts.draw

    def drawing(history: History, words: ChartWords) -> bytes:
        found.append((history, words))
        return draw(history, words)

    monkeypatch.setattr(service, "draw", drawing)
    return found


def only_file(person: SimulatedPerson) -> SentFile:
    [sent] = person.files
    return sent


# --- what a buurtverbinder sees ---------------------------------------------------------------


async def test_jan_gets_the_figures_and_a_chart_of_half_a_year(
    village: Village, clock: ManualClock, drawn: list[tuple[History, ChartWords]]
) -> None:
    await half_a_year_of_breugel_noord(village, clock)
    jan = village.jan
    await jan.says("/statistiek")

    text = jan.inbox[-1].text
    assert "Breugel-Noord" in text and "4 leden (1 nieuw deze maand)" in text
    assert "3 hulpvragen, 2 opgepakt, 1 gelukt" in text and "Meestal binnen 24.0 uur opgepakt" in text
    assert "2 activiteiten, 3 keer „ik kom”" in text and "Son-Centrum" not in text
    chart = only_file(jan)
    assert chart.filename == "statistiek-breugel-noord.png"
    assert chart.caption is not None and "Breugel-Noord: leden, hulpvragen en antwoorden" in chart.caption
    assert png_size(chart.content) == PNG_SIZE
    [(history, words)] = drawn
    assert history.months == MONTHS and series(history) == BREUGEL_NOORD
    assert (words.title, words.asked, words.yes, words.language) == (
        "Cijfers van Breugel-Noord",
        "gevraagd",
        "ik kom",
        "nl",
    )
    log = [event.kind for event in village.door.log if event.chat_id == jan.id][-2:]
    assert log == ["send", "file"]  # the figures first, then the picture


async def test_an_english_speaking_buurtverbinder_gets_it_in_english(
    village: Village, clock: ManualClock, drawn: list[tuple[History, ChartWords]]
) -> None:
    await half_a_year_of_breugel_noord(village, clock)
    sam = village.person("Sam", language="en")
    await village.bot.village.memberships.appoint(village.noord, sam.id, by=None, now=NOW, name="Sam", language="en")
    await sam.says("/stats")

    assert "Figures" in sam.last_text and "5 members (2 new this month)" in sam.last_text
    chart = only_file(sam)
    assert chart.filename == "statistics-breugel-noord.png"
    assert chart.caption is not None and "Breugel-Noord: members, help requests and answers" in chart.caption
    assert png_size(chart.content) == PNG_SIZE
    [(history, words)] = drawn
    assert history.members == (1, 3, 4, 4, 3, 5)
    assert (words.title, words.help, words.no, words.language) == (
        "Figures for Breugel-Noord",
        "Help requests per month",
        "can't come",
        "en",
    )


async def test_the_community_manager_gets_a_chart_of_the_whole_village(
    village: Village, clock: ManualClock, drawn: list[tuple[History, ChartWords]]
) -> None:
    await half_a_year_of_breugel_noord(village, clock)
    karin = village.person("Karin", user_id=CM_ID)
    await karin.says("/statistiek")

    text = karin.inbox[-1].text
    assert "Breugel-Noord" in text and "Son-Centrum" in text and "5 leden in 2 buurtnetwerken" in text
    chart = only_file(karin)  # the village's; she is no buurtverbinder of a network of her own
    assert chart.filename == "statistiek-dorp.png" and chart.caption and "Het hele dorp" in chart.caption
    assert png_size(chart.content) == PNG_SIZE
    [(history, words)] = drawn
    assert words.title == "Cijfers van het hele dorp"
    assert history.members == (2, 4, 5, 5, 4, 5)  # Marieke in Son-Centrum since June, and Breugel-Noord
    assert history.asked == BREUGEL_NOORD["asked"] and history.yes == BREUGEL_NOORD["yes"]


async def test_a_network_where_little_happened_gets_a_sentence_instead_of_a_chart(
    village: Village, clock: ManualClock, drawn: list[tuple[History, ChartWords]]
) -> None:
    clock.advance(NOW - clock.now())  # Marieke has run Son-Centrum on her own since June
    marieke = village.marieke
    await marieke.says("/statistiek")
    assert "Son-Centrum" in marieke.inbox[-2].text and "👥 1 lid (" in marieke.inbox[-2].text
    assert "In Son-Centrum is nog te weinig gebeurd voor een grafiek." in marieke.last_text
    assert marieke.files == [] and drawn == []


async def test_a_resident_gets_the_usual_refusal_and_no_chart(
    village: Village, clock: ManualClock, drawn: list[tuple[History, ChartWords]]
) -> None:
    await half_a_year_of_breugel_noord(village, clock)
    anna = village.person("Anna")
    await anna.says("/statistiek")
    assert "Dat kunt u hier niet doen" in anna.last_text
    assert anna.files == [] and drawn == []


# --- matplotlib is loaded by the first chart, not before --------------------------------------

MATPLOTLIB_PROBE = textwrap.dedent(
    """
    import asyncio, sys, tempfile
    from datetime import UTC, datetime
    from pathlib import Path

    import bot.application.cli  # what `buurtbot run` loads
    from bot.kernel.clock import ManualClock
    from tests.conftest import make_settings, start_village
    from tests.test_statistics import BEGIN, half_a_year_of_breugel_noord

    async def main() -> None:
        with tempfile.TemporaryDirectory() as folder:
            clock = ManualClock(BEGIN)
            village = await start_village(make_settings(Path(folder) / "data"), clock)
            await village.jan.says("/start")
            await village.person("Anna").says("/start")
            print("after /start:", "matplotlib" in sys.modules)
            await half_a_year_of_breugel_noord(village, clock)
            await village.jan.says("/statistiek")
            print("charts sent:", len(village.jan.files))
            print("after /statistiek:", "matplotlib" in sys.modules)
            await village.bot.stop()

    print("at start:", "matplotlib" in sys.modules)
    asyncio.run(main())
    """
)


def test_starting_and_start_leave_matplotlib_unloaded_and_the_first_chart_loads_it() -> None:
    # A process of its own: this one may have loaded matplotlib in another test already.
    done = subprocess.run(
        [sys.executable, "-c", MATPLOTLIB_PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "at start: False",
        "after /start: False",
        "charts sent: 1",
        "after /statistiek: True",
    ]


# --- months, the village's time zone, and the words --------------------------------------------


def test_the_months_shown_cross_the_new_year_in_the_villages_time() -> None:
    # 31 January 23:30 UTC is already February in Son en Breugel.
    months = Months.up_to(datetime(2027, 1, 31, 23, 30, tzinfo=UTC), AMSTERDAM)
    assert months.firsts == tuple(
        date(y, m, 1) for y, m in ((2026, 9), (2026, 10), (2026, 11), (2026, 12), (2027, 1), (2027, 2))
    )
    assert months.since == datetime(2026, 8, 31, 22, 0, tzinfo=UTC)  # midnight, summer time
    assert months.until == datetime(2027, 2, 28, 23, 0, tzinfo=UTC)  # midnight, winter time
    assert months.index_of(datetime(2026, 8, 31, 21, 59, tzinfo=UTC)) is None
    assert months.index_of(datetime(2026, 12, 31, 23, 0, tzinfo=UTC)) == 4  # New Year's midnight: January


def test_history_counts_each_moment_in_its_own_month() -> None:
    months = Months.up_to(NOW, AMSTERDAM)
    history = History.of(
        months,
        [MemberSpan(at(6, 10), None), MemberSpan(at(7, 1), at(9, 30, 23)), MemberSpan(at(1, 1), at(5, 1))],
        [
            HelpMoments(at(5, 30), at(6, 2), at(6, 3)),  # asked before the months shown
            HelpMoments(at(8, 31, 23), None, None),  # 1 September in the village
        ],
        [Answers(at(11, 1), Answer.MAYBE, 3), Answers(at(11, 20), Answer.MAYBE, 2)],
    )
    assert history.members == (1, 2, 2, 2, 1, 1)  # the second left on 1 October, at 01:00 in the village
    assert history.asked == (0, 0, 0, 1, 0, 0) and history.taken == (1, 0, 0, 0, 0, 0)
    assert history.done == (1, 0, 0, 0, 0, 0) and history.maybe == (0, 0, 0, 0, 0, 5)
    assert History.together(months, [history, history]).maybe == (0, 0, 0, 0, 0, 10)


def test_what_is_worth_a_chart() -> None:
    months = Months.up_to(NOW, AMSTERDAM)
    nothing = (0,) * 6

    def history(members: tuple[int, ...], asked: tuple[int, ...] = nothing) -> History:
        return History(MONTHS, members, asked, nothing, nothing, nothing, nothing, nothing)

    assert not history((0, 0, 0, 0, 0, 1)).worth_a_chart  # a network that began this month
    assert not history((3, 3, 3, 3, 3, 3)).worth_a_chart  # nothing moved
    assert history((0, 0, 0, 0, 2, 3)).worth_a_chart
    assert history((3, 3, 3, 3, 3, 3), asked=(0, 0, 0, 0, 0, 1)).worth_a_chart
    assert not History.together(months, []).worth_a_chart


def test_every_word_on_the_chart_comes_from_the_template() -> None:
    lines = ["title: Cijfers van A &amp; B", "village_title: Cijfers van het hele dorp", "file: statistiek-a-b"]
    with pytest.raises(ValueError, match=r"missing \['answers', "):
        ChartWords.read("\n".join(lines), "nl")
