"""Each app its own send budget: a busy WhatsApp never slows Telegram's replies or outbox (and the other
way round), WhatsApp's pair rate holds back one person only, a 130429 pauses WhatsApp alone, and an
announcement to a street on both apps reaches everyone once within both apps' limits.

The budgets run on the injectable clocks of tests/test_outbox.py (time moves only when a budget
sleeps); the outbox through the memory door behind a port that knows each chat's app; the mixed
street through both fake servers over real HTTP, each enforcing its app's limits.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import insert

from bot.application.settings import Settings
from bot.delivery.budget import (
    APP_SECOND_S,
    OUTBOX_PAIR_BURST,
    PAIR_BURST,
    PAIR_INTERVAL_S,
    TELEGRAM,
    PairRate,
    RateBudget,
    SendBudgets,
    TelegramChats,
    app_by_id,
)
from bot.delivery.messenger import Messenger
from bot.kernel.clock import SystemClock
from bot.kernel.core import Buurtbot
from bot.kernel.port import PairRateLimited, RateLimited
from bot.kernel.replies import Reply
from bot.transports.memory import MemoryDoor
from storage.identities import FIRST_APP_PERSON_ID, WHATSAPP
from storage.models import AppIdentity, MemberRole, Membership, MembershipStatus, OutboxKind, Person
from tests import fakegraphapi
from tests.conftest import Village
from tests.doors import WhatsAppHarness, Who, start_door, wa_id_of, whatsapp_plain
from tests.fakebotapi import FakeBotAPI
from tests.test_outbox import FakeTime

ANNA, PIET, KEES = FIRST_APP_PERSON_ID + 1, FIRST_APP_PERSON_ID + 2, FIRST_APP_PERSON_ID + 3  # on WhatsApp
JOOP, MIEP = 5005, 6006  # on Telegram


def budgets_on(time: FakeTime, *, telegram: float = 30, whatsapp: float = 80) -> SendBudgets:
    return SendBudgets(
        {
            TELEGRAM: RateBudget(telegram, chats=TelegramChats(), clock=time.clock, sleep=time.sleep),
            WHATSAPP: RateBudget(whatsapp, chats=PairRate(), clock=time.clock, sleep=time.sleep),
        }
    )


async def reply(budget: RateBudget, chat_id: int) -> None:
    await budget.for_reply(chat_id)
    budget.landed()


# --- which budget a chat takes ------------------------------------------------------------------


def test_a_chat_takes_the_budget_of_its_app() -> None:
    budgets = budgets_on(FakeTime())
    assert budgets.of(ANNA) is budgets[WHATSAPP]
    assert budgets.of(JOOP) is budgets[TELEGRAM]
    assert budgets.of(-100123) is budgets[TELEGRAM]  # a group: Telegram's
    assert app_by_id(FIRST_APP_PERSON_ID - 1) == TELEGRAM
    assert len(list(budgets)) == 2


class TwoApps(MemoryDoor):
    """The memory door as both apps at once: the chats in `whatsapp` are WhatsApp's (as a RoutingPort
    says); a chat's queued refusals come before its next sends; every send is stamped."""

    def __init__(self, whatsapp: set[int]) -> None:
        super().__init__()
        self.whatsapp = whatsapp
        self.refusals: dict[int, list[Exception]] = {}
        self.sent_at: list[tuple[int, float]] = []
        self.refused_at: list[tuple[int, float]] = []

    def app_of(self, chat_id: int) -> str:
        return WHATSAPP if chat_id in self.whatsapp else TELEGRAM

    async def send(self, chat_id: int, reply: Reply) -> int:
        waiting = self.refusals.get(chat_id)
        if waiting:
            self.refused_at.append((chat_id, time.monotonic()))
            raise waiting.pop(0)
        self.sent_at.append((chat_id, time.monotonic()))
        return await super().send(chat_id, reply)


async def test_the_messenger_follows_a_port_that_knows_each_chats_app() -> None:
    time_ = FakeTime()
    budgets = budgets_on(time_)
    messenger = Messenger(budget=budgets)
    messenger.attach(TwoApps(whatsapp={4242}))  # below 2**53, and WhatsApp's all the same
    assert budgets.of(4242) is budgets[WHATSAPP]
    for person in range(80):  # WhatsApp's second is full
        await reply(budgets[WHATSAPP], ANNA + 10 + person)
    started = time_.now
    await messenger.send(4242, Reply("Uw gegevens"))
    assert time_.now >= started + APP_SECOND_S - 1e-6  # waited for WhatsApp's budget, not Telegram's


# --- separate budgets ----------------------------------------------------------------------------


async def test_a_whatsapp_burst_filling_its_second_leaves_a_telegram_reply_its_slot_at_once() -> None:
    time_ = FakeTime()
    budgets = budgets_on(time_)
    started = time_.now
    for person in range(80):  # eighty WhatsApp residents answered within one second
        await reply(budgets.of(ANNA + person), ANNA + person)
    assert time_.now == started
    await reply(budgets.of(JOOP), JOOP)
    assert time_.now == started  # Telegram's slot, at once
    await reply(budgets.of(KEES + 100), KEES + 100)
    assert time_.now >= started + APP_SECOND_S - 1e-6  # the 81st WhatsApp message waits its second


async def test_a_telegram_burst_leaves_a_whatsapp_reply_its_slot_at_once() -> None:
    time_ = FakeTime()
    budgets = budgets_on(time_)
    started = time_.now
    for person in range(30):
        await reply(budgets.of(JOOP + person), JOOP + person)
    await reply(budgets.of(ANNA), ANNA)
    assert time_.now == started
    await reply(budgets.of(MIEP + 100), MIEP + 100)
    assert time_.now >= started + APP_SECOND_S - 1e-6


async def test_a_whatsapp_reply_waiting_for_its_slot_does_not_hold_back_telegrams_outbox() -> None:
    # Replies go first, but within their own app: a WhatsApp reply waiting for a full second to
    # pass must not stop Telegram's broadcast, as it would stop WhatsApp's.
    budgets = SendBudgets({TELEGRAM: RateBudget(30, chats=TelegramChats()), WHATSAPP: RateBudget(5, chats=PairRate())})
    for person in range(5):
        await reply(budgets[WHATSAPP], ANNA + person)
    waiting = asyncio.create_task(reply(budgets[WHATSAPP], KEES + 50))
    await asyncio.sleep(0)
    started = time.monotonic()
    await budgets[TELEGRAM].for_broadcast(JOOP)
    budgets[TELEGRAM].landed()
    assert time.monotonic() - started < 0.5  # not after the WhatsApp reply's second
    assert not waiting.done()
    await waiting


async def test_a_130429_pauses_whatsapp_and_telegram_goes_on() -> None:
    time_ = FakeTime()
    budgets = budgets_on(time_)
    budgets[WHATSAPP].pause(1.0)
    started = time_.now
    await reply(budgets.of(JOOP), JOOP)
    await budgets.of(MIEP).for_broadcast(MIEP)
    assert time_.now == started
    await reply(budgets.of(ANNA), ANNA)
    assert time_.now >= started + 1.0


# --- WhatsApp's pair rate --------------------------------------------------------------------------


def breaks_metas_pair_rate(times: list[float]) -> bool:
    """Whether Meta would refuse one of these sends to one person (the fake's rule: each message
    borrows PAIR_INTERVAL s, at most PAIR_BURST - 1 of them borrowed when one goes)."""
    due = -float("inf")
    for at in sorted(times):
        if due - at > fakegraphapi.PAIR_INTERVAL * (fakegraphapi.PAIR_BURST - 1):
            return True
        due = max(due, at) + fakegraphapi.PAIR_INTERVAL
    return False


async def test_replies_to_one_person_burst_within_metas_pair_rate_and_then_slow_to_one_every_six_seconds() -> None:
    time_ = FakeTime()
    budget = budgets_on(time_)[WHATSAPP]
    started = time_.now
    times = []
    for _ in range(PAIR_BURST + 5):
        await reply(budget, ANNA)
        times.append(time_.now)
    assert times[PAIR_BURST - 1] < started + 1  # a conversation's burst goes at once
    assert times[PAIR_BURST] - started == pytest.approx(PAIR_INTERVAL_S, abs=0.1)
    assert times[-1] - times[-2] == pytest.approx(PAIR_INTERVAL_S)
    assert not breaks_metas_pair_rate(times)


async def test_the_outbox_uses_only_its_share_of_a_persons_burst() -> None:
    time_ = FakeTime()
    budget = budgets_on(time_)[WHATSAPP]
    for _ in range(OUTBOX_PAIR_BURST):
        assert budget.free_at(ANNA) <= time_.now
        await budget.for_broadcast(ANNA)
        budget.landed()
    assert budget.free_at(ANNA) > time_.now  # the rest of the burst is for Anna's conversation
    assert budget.free_at(PIET) <= time_.now
    waited = time_.now
    await reply(budget, ANNA)  # she writes: her answer goes at once
    assert time_.now - waited < 1.0


async def test_a_pair_rate_refusal_holds_back_that_person_only() -> None:
    time_ = FakeTime()
    budgets = budgets_on(time_)
    whatsapp = budgets[WHATSAPP]
    whatsapp.back_off(ANNA, 6.0)  # Meta said 131056 for Anna
    started = time_.now
    assert whatsapp.free_at(PIET) <= started and whatsapp.free_at(ANNA) > started + 6.0
    await reply(whatsapp, PIET)
    await whatsapp.for_broadcast(KEES)
    whatsapp.landed()
    assert time_.now < started + 1.0  # the others go on
    await reply(whatsapp, ANNA)
    assert time_.now >= started + 6.0


# --- the outbox: each app's lane -------------------------------------------------------------------


@dataclass
class Street:
    village: Village
    door: TwoApps
    people: dict[int, str] = field(default_factory=dict)

    async def queue(self, *people: int) -> None:
        rows = [(person, Reply(f"Straatfeest zaterdag, {person}")) for person in people]
        await self.village.bot.village.outbox.queue(self.village.noord, rows, kind=OutboxKind.ANNOUNCEMENT)

    def sent_to(self, person: int) -> list[float]:
        return [at for chat, at in self.door.sent_at if chat == person]


@pytest.fixture
async def street(village: Village) -> AsyncIterator[Street]:
    door = TwoApps(whatsapp={ANNA, PIET, KEES})
    village.bot.attach(door)
    pair_rate = village.bot.village.sender.budgets[WHATSAPP].chats
    assert isinstance(pair_rate, PairRate)
    pair_rate.interval = 0.01  # Meta's six seconds would make the test wait minutes after a refusal
    yield Street(village, door)


async def test_a_131056_for_anna_holds_back_her_message_only_and_she_gets_it_once_later(street: Street) -> None:
    street.door.refusals[ANNA] = [PairRateLimited(0.3)]
    await street.queue(ANNA, PIET, KEES, JOOP, MIEP)
    await street.village.bot.village.sender.flush()
    [(_, refused)] = street.door.refused_at
    assert Counter(chat for chat, _ in street.door.sent_at) == dict.fromkeys([ANNA, PIET, KEES, JOOP, MIEP], 1)
    assert street.sent_to(ANNA)[0] >= refused + 0.3  # she waited her back-off
    # Piet and Kees (WhatsApp too) did not wait for it: WhatsApp was not paused.
    assert max(street.sent_to(PIET) + street.sent_to(KEES)) < refused + 0.3


async def test_a_130429_pauses_whatsapps_lane_while_telegrams_goes_on(street: Street) -> None:
    street.door.refusals[ANNA] = [RateLimited(0.5)]  # the number's throughput, used up
    await street.queue(ANNA, PIET, KEES, JOOP, MIEP)
    await street.village.bot.village.sender.flush()
    [(_, refused)] = street.door.refused_at
    assert Counter(chat for chat, _ in street.door.sent_at) == dict.fromkeys([ANNA, PIET, KEES, JOOP, MIEP], 1)
    later = [at for chat in (ANNA, PIET, KEES) for at in street.sent_to(chat) if at > refused]
    assert later and min(later) >= refused + 0.5  # WhatsApp waited, whoever was next
    assert all(at < refused + 0.5 for chat in (JOOP, MIEP) for at in street.sent_to(chat))


async def test_messages_to_both_apps_go_side_by_side_each_at_its_apps_pace(village: Village) -> None:
    door = TwoApps(whatsapp=set(range(FIRST_APP_PERSON_ID, FIRST_APP_PERSON_ID + 40)))
    village.bot.attach(door)
    telegram = list(range(20_000, 20_040))
    whatsapp = sorted(door.whatsapp)
    mixed = [person for pair in zip(telegram, whatsapp, strict=True) for person in pair]
    rows = [(person, Reply("Koffieochtend")) for person in mixed]
    await village.bot.village.outbox.queue(village.noord, rows, kind=OutboxKind.ANNOUNCEMENT)
    await village.bot.village.sender.flush()
    assert Counter(chat for chat, _ in door.sent_at) == dict.fromkeys(mixed, 1)
    last_whatsapp = max(at for chat, at in door.sent_at if chat in door.whatsapp)
    first_telegram = min(at for chat, at in door.sent_at if chat not in door.whatsapp)
    telegram_after = sum(1 for chat, at in door.sent_at if chat not in door.whatsapp and at > last_whatsapp)
    # WhatsApp's forty went at its own pace (80/s, half a second), not Telegram's (30/s, 1.3 s):
    # most of Telegram's were still to go when WhatsApp's last one went.
    assert last_whatsapp - first_telegram < 1.0
    assert telegram_after >= 10


# --- a street on both apps, both fake servers -----------------------------------------------------

TEXT = "Zaterdag is de Eikenlaan afgesloten voor het straatfeest."
WHATSAPP_THROUGHPUT = 20  # the fake's and the bot's, lowered so forty messages take two seconds


def mixed_seed(telegram: list[int], whatsapp: list[int]) -> Any:
    async def seed(bot: Buurtbot) -> None:
        village = bot.village
        now = village.clock.now()
        noord = await village.networks.add("Breugel-Noord", ["Nieuwstraat", "Kerkstraat"], now)
        await village.memberships.appoint(noord, 1001, by=None, now=now, name="Jan")
        people = sorted(telegram + whatsapp, key=lambda person: person % FIRST_APP_PERSON_ID)
        async with village.stores.directory.transaction() as session:
            connection = await session.connection()
            await connection.execute(
                insert(Person),
                [{"id": p, "name": f"Buur {p % 1000}", "language": "nl", "created_at": now} for p in people],
            )
            await connection.execute(
                insert(Membership),
                [
                    {"person_id": p, "network_id": noord.id, "role": MemberRole.MEMBER}
                    | {"status": MembershipStatus.ACTIVE, "created_at": now, "decided_at": now}
                    for p in people
                ],
            )
            await connection.execute(
                insert(AppIdentity),
                [{"person_id": p, "app": WHATSAPP, "app_id": wa_id_of(p), "created_at": now} for p in whatsapp],
            )

    return seed


@pytest.mark.timeout(120)
async def test_an_announcement_to_a_street_on_both_apps_reaches_everyone_once_within_both_limits(
    settings: Settings,
) -> None:
    telegram = [20_000 + n for n in range(0, 80, 2)]
    whatsapp = [FIRST_APP_PERSON_ID + n for n in range(1, 80, 2)]
    fast = settings.model_copy(update={"whatsapp_rate": float(WHATSAPP_THROUGHPUT)})
    async with FakeBotAPI(token="123456:MIXED", enforce_rate_limits=True) as api:
        door = await start_door("whatsapp", fast, SystemClock(), api, mixed_seed(telegram, whatsapp))
        assert isinstance(door, WhatsAppHarness)
        graph = door.graph
        graph.enforce_rate_limits, graph.throughput = True, WHATSAPP_THROUGHPUT  # Meta's checks, refusing
        for person in whatsapp:
            graph.open_window(wa_id_of(person))  # they wrote today
        jan = Who(door, "Jan", 1001)
        await jan.says("/bericht")
        await jan.says(TEXT)
        await jan.taps("Versturen")
        report = await api.wait_for_message(jan.id, lambda r: "Verslag" in (r.get("text") or ""), timeout=60)
        await door.stop()
    on_telegram = Counter(int(r["chat_id"]) for r in api.sent if TEXT in (r.get("text") or ""))
    on_whatsapp = Counter(m.wa_id for m in graph.sent if TEXT in whatsapp_plain(m.text or ""))
    assert on_telegram == dict.fromkeys(telegram, 1)
    assert on_whatsapp == dict.fromkeys([wa_id_of(p) for p in whatsapp], 1)
    assert "80 verstuurd" in (report["text"] or "")
    assert api.rate_violations == 0, api.violations[:3]
    assert graph.rate_violations == [], graph.rate_violations[:3]
