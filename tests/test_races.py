"""First one wins: neighbours who tap at the same moment, interleaved for real.

Each test holds every contender right after it has read what it decides on, until the other
has read too (or, where the read and the write share one turn in the store, until the other
has had every chance to), and only then lets them write. Without the guard that makes the
first one win, both would win. Once all have read, the last to arrive goes on at once while the
others wake after it: a test picks who writes first by the order it starts the taps in.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from bot.kernel.clock import ManualClock
from bot.transports.memory import SimulatedPerson
from storage.models import Event, EventStatus, HelpStatus, MembershipStatus, Rsvp
from tests.conftest import Village
from tests.test_activity_scenarios import jan_plans_the_street_party
from tests.test_help_scenarios import asks_for_groceries, member, offers_groceries, requests_in

# Loop turns a contender that has read waits for the other to read as well, where the other may
# rightly be unable to (it waits for its turn in the store while the first one holds it).
PATIENCE = 1000
RACE_DEADLINE_S = 10  # only so that a broken race fails instead of hanging the suite


class Rendezvous:
    """Where contenders wait after reading until all of them have read."""

    def __init__(self, contenders: int = 2) -> None:
        self.contenders = contenders
        self.arrived = 0
        self._everyone = asyncio.Event()

    @property
    def met(self) -> bool:
        return self._everyone.is_set()

    async def arrive(self, *, patience: int | None = None) -> None:
        self.arrived += 1
        if self.arrived >= self.contenders:
            self._everyone.set()
        if patience is None:
            await self._everyone.wait()
            return
        for _ in range(patience):  # yields to the loop, never to the wall clock
            if self._everyone.is_set():
                return
            await asyncio.sleep(0)


def pause_after(
    monkeypatch: pytest.MonkeyPatch,
    owner: object,
    read: str,
    rendezvous: Rendezvous,
    *,
    patience: int | None = None,
) -> None:
    """Makes the first calls of `owner.read` (one per contender) wait at the rendezvous once read."""
    original: Callable[..., Awaitable[Any]] = getattr(owner, read)
    calls = 0

    async def read_then_wait(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        result = await original(*args, **kwargs)
        calls += 1
        if calls <= rendezvous.contenders:
            await rendezvous.arrive(patience=patience)
        return result

    monkeypatch.setattr(owner, read, read_then_wait)


async def at_once(*taps: Awaitable[object]) -> None:
    async with asyncio.timeout(RACE_DEADLINE_S):
        await asyncio.gather(*taps)


def count(person: SimulatedPerson, text: str) -> int:
    """How often the person was shown this: in a message (in any of its versions, as one edited
    later still was read), or in the short answer to a tap."""
    shown = sum(any(text in version.text for version in message.versions) for message in person.inbox)
    return shown + sum(text in answer for answer in person.answers)


# --- help: "Ik help" ----------------------------------------------------------------------------


async def test_piet_and_els_both_tap_ik_help_on_annas_request_at_once_and_exactly_one_has_it(
    village: Village, monkeypatch: pytest.MonkeyPatch
) -> None:
    anna, piet, els = await member(village, "Anna"), await member(village, "Piet"), await member(village, "Els")
    await offers_groceries(piet)
    await offers_groceries(els)
    await asks_for_groceries(anna)
    piet_post, els_post = piet.last, els.last

    race = Rendezvous()
    pause_after(monkeypatch, village.bot.village.help, "view", race)  # both read the request open
    await at_once(piet.taps("Ik help", in_message=piet_post), els.taps("Ik help", in_message=els_post))
    assert race.met  # both read it open before either took it

    [request] = await requests_in(village, village.noord)
    assert request.status == HelpStatus.CLAIMED
    winner, loser = (piet, els) if request.helper_id == piet.id else (els, piet)
    assert count(winner, "Dank u! U helpt Anna") == 1
    assert count(loser, "Dank u! U helpt Anna") == 0
    assert "Een andere buur helpt hier al mee" in loser.answers[-1]
    assert count(anna, "gaat u helpen") == 1  # Anna is told once, of the one who helps
    assert f"{winner.sender.first_name} gaat u helpen" in anna.last_text


async def test_jan_and_wim_both_tap_ik_neem_contact_op_on_an_escalated_request_and_one_follows_it_up(
    village: Village, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = village.bot.village
    wim = village.person("Wim")
    await app.memberships.appoint(village.noord, wim.id, by=None, now=clock.now(), name="Wim")
    anna = await member(village, "Anna")
    await asks_for_groceries(anna, when="overmorgen")
    clock.advance(timedelta(hours=25))
    await app.scheduler.run_due()
    jan, escalated_to_jan, escalated_to_wim = village.jan, village.jan.last, wim.last
    assert "Niemand heeft nog gereageerd" in escalated_to_jan.text and "Niemand heeft nog gereageerd" in wim.last_text

    race = Rendezvous()
    pause_after(monkeypatch, app.help, "view", race)  # both read: nobody follows it up yet
    await at_once(
        jan.taps("Ik neem contact op", in_message=escalated_to_jan),
        wim.taps("Ik neem contact op", in_message=escalated_to_wim),
    )
    assert race.met

    following = [person for person in (jan, wim) if count(person, "U volgt deze vraag op") == 1]
    assert len(following) == 1, "both were told they follow the request up"
    [request] = await requests_in(village, village.noord)
    assert request.followed_up_by == following[0].id
    [other] = [person for person in (jan, wim) if person is not following[0]]
    assert "Een andere buur helpt hier al mee" in other.answers[-1]


@pytest.mark.parametrize(
    "first",
    [
        "Anna",
        "Piet",
    ],
)
async def test_anna_taps_gelukt_as_piet_hands_her_request_back_and_one_of_them_counts(
    village: Village, monkeypatch: pytest.MonkeyPatch, first: str
) -> None:
    anna, piet = await member(village, "Anna"), await member(village, "Piet")
    await offers_groceries(piet)
    await asks_for_groceries(anna)
    await piet.taps("Ik help")
    closing, handing_back = anna.last, piet.last
    assert "Gelukt, bedankt!" in " ".join(closing.labels) and "Ik kan toch niet" in " ".join(handing_back.labels)

    race = Rendezvous()
    pause_after(monkeypatch, village.bot.village.help, "view", race)  # both read it claimed by Piet
    taps = [anna.taps("Gelukt, bedankt!", in_message=closing), piet.taps("Ik kan toch niet", in_message=handing_back)]
    await at_once(*(taps if first == "Piet" else reversed(taps)))  # the last to have read writes first
    assert race.met

    [request] = await requests_in(village, village.noord)
    assert request.status == (HelpStatus.DONE if first == "Anna" else HelpStatus.OPEN)
    if request.status == HelpStatus.DONE:  # Anna was first: nothing was handed back
        assert count(piet, "teruggegeven") == 0 and count(anna, "kan het toch niet") == 0
    else:  # Piet was first: the request is open again, and Anna did not close what she no longer had
        assert request.status == HelpStatus.OPEN and request.helper_id is None
        assert count(anna, "Fijn dat het gelukt is") == 0


async def test_piet_taps_ik_help_just_as_the_request_escalates_and_jan_is_not_told_nobody_came(
    village: Village, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = village.bot.village
    anna = await member(village, "Anna")
    await asks_for_groceries(anna, when="overmorgen")
    piet = await member(village, "Piet")
    await piet.says("/verzoeken")
    clock.advance(timedelta(hours=25))  # the escalation is due

    race = Rendezvous()
    pause_after(monkeypatch, app.help, "view", race)  # the escalation and Piet both read it open
    escalating = app.scheduler.run_due()
    await at_once(escalating, piet.taps("Ik help"))  # Piet, the last to read, takes it first
    assert race.met

    [request] = await requests_in(village, village.noord)
    assert request.status == HelpStatus.CLAIMED and request.helper_id == piet.id
    assert count(village.jan, "Niemand heeft nog gereageerd") == 0, "Jan was told nobody came, though Piet did"


# --- joining: two buurtverbinders decide at once ------------------------------------------------


async def test_jan_approves_and_wim_declines_annas_join_at_once_and_exactly_one_decision_counts(
    village: Village, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = village.bot.village
    wim = village.person("Wim")
    await app.memberships.appoint(village.noord, wim.id, by=None, now=clock.now(), name="Wim")
    anna = village.person("Anna")
    await anna.says("/start")
    await anna.says("Kerkstraat 12")
    await anna.taps("Ja, dat is mijn straat")
    jan = village.jan
    asked_jan, asked_wim = jan.last, wim.last
    assert "Anna wil lid worden" in asked_jan.text and "Anna wil lid worden" in asked_wim.text

    race = Rendezvous()
    pause_after(monkeypatch, app.stores.directory, "membership", race)  # both read the join still waiting
    await at_once(jan.taps("Toelaten", in_message=asked_jan), wim.taps("Afwijzen", in_message=asked_wim))
    assert race.met

    membership = await app.stores.directory.membership_of(anna.id, village.noord.id or 0)
    assert membership is not None
    approved = membership.status == MembershipStatus.ACTIVE
    decider, other = (jan, wim) if approved else (wim, jan)
    assert membership.status in (MembershipStatus.ACTIVE, MembershipStatus.DECLINED)
    assert membership.decided_by == decider.id
    assert "Over de aanmelding van Anna is al beslist" in other.answers[-1]
    assert count(other, "U heeft Anna toegelaten") + count(other, "afgewezen") == 0
    told = count(anna, "heeft u toegelaten") + count(anna, "niet goedgekeurd")
    assert told == 1  # Anna hears one decision, once
    async with app.stores.network("breugel-noord") as store:
        decisions = [e.action for e in await store.audit_log() if e.action in ("join_approved", "join_declined")]
    assert decisions == ["join_approved" if approved else "join_declined"]


async def test_jan_publishes_and_wim_declines_annas_proposal_at_once_and_exactly_one_decision_counts(
    village: Village, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = village.bot.village
    wim = village.person("Wim")
    await app.memberships.appoint(village.noord, wim.id, by=None, now=clock.now(), name="Wim")
    anna = await member(village, "Anna")
    async with app.stores.network("breugel-noord") as store:
        await store.set_setting("residents_propose_events", "1")
    await anna.says("/activiteit")
    await anna.says("Koffieochtend")
    await anna.says("morgen om 10 uur")
    await anna.taps("Ja, dat klopt")
    await anna.says("Bij Anna, Kerkstraat 3")
    await anna.says("Iedereen welkom, ik zet koffie")
    await anna.says("8")
    await anna.taps("Voorstellen")
    jan = village.jan
    asked_jan, asked_wim = jan.last, wim.last
    assert "Anna stelt een activiteit voor" in asked_jan.text and "Anna stelt een activiteit voor" in asked_wim.text

    race = Rendezvous()
    pause_after(monkeypatch, app.activities, "view", race)  # both read the proposal still undecided
    await at_once(jan.taps("Publiceren", in_message=asked_jan), wim.taps("Afwijzen", in_message=asked_wim))
    assert race.met

    async with app.stores.network("breugel-noord") as store, store.transaction() as session:
        [event] = (await session.exec(select(Event))).all()
    published = event.status == EventStatus.PUBLISHED
    decider, other = (jan, wim) if published else (wim, jan)
    assert "al beslist" in other.answers[-1], "both decided on the proposal"
    assert count(other, "is gepubliceerd.") + count(other, "is niet gepubliceerd") == 0
    assert count(decider, "is gepubliceerd.") + count(decider, "is niet gepubliceerd") == 1
    assert count(anna, "Uw voorstel „Koffieochtend” is deze keer niet gepubliceerd") == (0 if published else 1)


async def test_truus_and_bram_use_the_last_use_of_an_invite_at_once_and_one_gets_in(
    village: Village, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = village.bot.village
    invite = await app.memberships.invite(village.noord, created_by=village.jan.id, now=clock.now(), max_uses=1)
    truus, bram = village.person("Truus"), village.person("Bram")

    race = Rendezvous()
    pause_after(monkeypatch, app.stores.directory, "invite", race)  # both read it with a use left
    await at_once(truus.says(f"/start {invite.code}"), bram.says(f"/start {invite.code}"))
    assert race.met

    members = [p for p in (truus, bram) if count(p, "Welkom bij buurtnetwerk") == 1]
    assert len(members) == 1, "an invite for one brought in two"
    [turned_away] = [p for p in (truus, bram) if p is not members[0]]
    assert count(turned_away, "Deze uitnodiging voor Breugel-Noord is al gebruikt") == 1
    assert await app.stores.directory.membership_of(turned_away.id, village.noord.id or 0) is None
    used = await app.stores.directory.invite(invite.code)
    assert used is not None and used.uses == 1


# --- activities: the last place, and places freed for those waiting -----------------------------


async def rsvps(village: Village) -> list[Rsvp]:
    async with village.bot.village.stores.network("breugel-noord") as store, store.transaction() as session:
        return list((await session.exec(select(Rsvp))).all())


def pause_after_reading_the_activity(monkeypatch: pytest.MonkeyPatch, village: Village, race: Rendezvous) -> None:
    """An answer reads the activity and writes in one turn in the store: whoever reads first holds
    the turn, so it waits a while for the other (who cannot read meanwhile), then goes on."""
    pause_after(monkeypatch, village.bot.village.activities, "_event_and_answers", race, patience=PATIENCE)


async def test_piet_and_els_tap_ik_kom_for_the_last_place_at_once_and_one_gets_it(
    village: Village, monkeypatch: pytest.MonkeyPatch
) -> None:
    anna, piet, els = await member(village, "Anna"), await member(village, "Piet"), await member(village, "Els")
    await jan_plans_the_street_party(village.jan, capacity="2")
    await anna.taps("Ik kom")  # one place left
    piet_invitation, els_invitation = piet.last, els.last

    race = Rendezvous()
    pause_after_reading_the_activity(monkeypatch, village, race)
    await at_once(piet.taps("Ik kom", in_message=piet_invitation), els.taps("Ik kom", in_message=els_invitation))
    assert race.arrived == 2  # both tried

    coming = sorted(r.person_id for r in await rsvps(village) if r.answer == "yes" and not r.waiting)
    assert len(coming) == 2, "more neighbours have a place than there are places"
    [lucky] = [p for p in (piet, els) if p.id in coming]
    [too_late] = [p for p in (piet, els) if p is not lucky]
    assert "✅ U komt." in lucky.last_text
    assert "is vol" in too_late.last_text and too_late.last.labels == ["⏳ Op de wachtlijst"]


async def test_two_places_freed_at_once_go_to_the_two_waiting(
    village: Village, monkeypatch: pytest.MonkeyPatch
) -> None:
    anna, piet = await member(village, "Anna"), await member(village, "Piet")
    els, kees = await member(village, "Els"), await member(village, "Kees")
    await jan_plans_the_street_party(village.jan, capacity="2")
    await anna.taps("Ik kom")
    await piet.taps("Ik kom")
    for waiting in (els, kees):
        await waiting.taps("Ik kom")
        await waiting.taps("Op de wachtlijst")
        assert "U staat op de wachtlijst" in waiting.last_text

    race = Rendezvous()
    pause_after_reading_the_activity(monkeypatch, village, race)
    anna_invitation = next(m for m in anna.inbox if "Uitnodiging" in m.versions[0].plain_text)
    piet_invitation = next(m for m in piet.inbox if "Uitnodiging" in m.versions[0].plain_text)
    await at_once(anna.taps("Kan niet", in_message=anna_invitation), piet.taps("Kan niet", in_message=piet_invitation))
    assert race.arrived == 2

    answers = {r.person_id: (r.answer, r.waiting) for r in await rsvps(village)}
    assert answers[els.id] == ("yes", False) and answers[kees.id] == ("yes", False), "a freed place stayed empty"
    assert count(els, "Er is een plaats vrijgekomen") == 1
    assert count(kees, "Er is een plaats vrijgekomen") == 1


async def test_piet_frees_his_place_as_els_first_in_line_gives_up_waiting_and_kees_gets_it(
    village: Village, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    piet, els, kees = await member(village, "Piet"), await member(village, "Els"), await member(village, "Kees")
    await jan_plans_the_street_party(village.jan, capacity="1")
    await piet.taps("Ik kom")
    for waiting in (els, kees):  # Els first, then Kees, a minute later
        await waiting.taps("Ik kom")
        await waiting.taps("Op de wachtlijst")
        clock.advance(timedelta(minutes=1))

    race = Rendezvous()
    pause_after_reading_the_activity(monkeypatch, village, race)
    piet_invitation = next(m for m in piet.inbox if "Uitnodiging" in m.versions[0].plain_text)
    els_invitation = next(m for m in els.inbox if "Uitnodiging" in m.versions[0].plain_text)
    await at_once(piet.taps("Kan niet", in_message=piet_invitation), els.taps("Kan niet", in_message=els_invitation))
    assert race.arrived == 2

    answers = {r.person_id: (r.answer, r.waiting) for r in await rsvps(village)}
    assert answers[els.id] == ("no", False)
    assert answers[kees.id] == ("yes", False), "the place went to Els, who no longer wanted it"
    # (Els may have heard of the place just before her own "Kan niet" passed it on: that is fine.)
    assert count(kees, "Er is een plaats vrijgekomen") == 1
