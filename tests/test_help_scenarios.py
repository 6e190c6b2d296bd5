"""Help between neighbours, told from each person's side: ask, offer, claim, relay, close, escalate."""

from __future__ import annotations

from datetime import timedelta

from bot.application.settings import Settings
from bot.delivery.scheduler import JobKind
from bot.kernel.buttons import Tap, encode
from bot.kernel.clock import ManualClock
from bot.transports.memory import SimulatedPerson
from storage.models import HelpRequest, HelpStatus, JobStatus, Network
from tests.conftest import Village, start_village


async def member(village: Village, name: str, network: Network | None = None) -> SimulatedPerson:
    """A resident who joined with an invite link."""
    app = village.bot.village
    invite = await app.memberships.invite(network or village.noord, created_by=None, now=app.clock.now())
    person = village.person(name)
    await person.says(f"/start {invite.code}")
    assert "Welkom bij buurtnetwerk" in person.last_text
    return person


async def offers_groceries(person: SimulatedPerson) -> None:
    await person.says("/aanbod")
    await person.taps("Boodschappen")
    await person.taps("Opslaan")
    assert "U helpt met: 🛒 boodschappen" in person.last_text


async def asks_for_groceries(
    anna: SimulatedPerson, *, when: str = "zaterdag 14:00", name_to: str = "Iedereen", deliver: bool = True
) -> None:
    await anna.says("/vraag")
    assert "Waar kunnen de buren mee helpen?" in anna.last_text
    await anna.taps("Boodschappen")
    await anna.says("Boodschappen halen bij de Jumbo, ik heb een lijstje")
    assert "Wanneer?" in anna.last_text
    await anna.says(when)
    assert "Bedoelt u" in anna.last_text
    await anna.taps("Ja, dat klopt")
    await anna.taps(name_to)
    assert "Zo ziet uw vraag eruit" in anna.last_text
    await anna.taps("Plaatsen")
    if deliver:  # the request goes to helpers through the outbox
        await anna.simulator.bot.village.sender.flush()


async def requests_in(village: Village, network: Network) -> list[HelpRequest]:
    from sqlmodel import select

    async with village.bot.village.stores.network(network.slug) as store, store.transaction() as session:
        return list((await session.exec(select(HelpRequest))).all())


async def test_anna_asks_both_helpers_are_told_and_the_second_to_tap_is_told_it_is_taken(village: Village) -> None:
    """One after the other; the two tapping at the same moment is in tests/test_races.py."""
    anna, piet, els = await member(village, "Anna"), await member(village, "Piet"), await member(village, "Els")
    await offers_groceries(piet)
    await offers_groceries(els)
    await asks_for_groceries(anna)
    assert "2 buren die hiermee helpen, krijgen een bericht" in anna.last_text

    for helper in (piet, els):
        assert "Een buur vraagt om hulp" in helper.last_text
        assert "Boodschappen halen bij de Jumbo" in helper.last_text and "Anna" in helper.last_text
        assert helper.last.labels == ["🙋 Ik help"]
    els_post = els.last
    await piet.taps("Ik help")
    assert "Dank u! U helpt Anna" in piet.last_text
    assert "Piet gaat u helpen" in anna.last_text
    assert "Al opgepakt" in els_post.text and els_post.labels == []  # Els's copy is taken in place

    still_on_screen = els_post.versions[0].buttons[0][0].data  # the button she had before it was taken
    assert still_on_screen is not None
    await els.press(els_post, still_on_screen)
    assert "Een andere buur helpt hier al mee" in els.answers[-1]
    [request] = await requests_in(village, village.noord)
    assert request.status == HelpStatus.CLAIMED and request.helper_id == piet.id
    assert sum("gaat u helpen" in message.text for message in anna.inbox) == 1


async def test_anna_and_piet_write_through_the_bot_and_anna_says_it_worked(village: Village) -> None:
    anna, piet = await member(village, "Anna"), await member(village, "Piet")
    await offers_groceries(piet)
    await asks_for_groceries(anna)
    await piet.taps("Ik help")

    await anna.taps("Bericht aan Piet")
    await anna.says("Komt zaterdag om twee uur uit?")
    assert "doorgestuurd naar Piet" in anna.last_text
    assert "Bericht van Anna" in piet.last_text and "Komt zaterdag om twee uur uit?" in piet.last_text
    await piet.taps("Bericht aan Anna")  # on her message: the helper's buttons
    await piet.says("Prima, ik bel aan!")
    assert "Bericht van Piet" in anna.last_text and "Prima, ik bel aan!" in anna.last_text

    await anna.taps("Gelukt, bedankt!")
    assert "Fijn dat het gelukt is" in anna.last_text
    assert "laat weten dat het gelukt is" in piet.last_text
    [request] = await requests_in(village, village.noord)
    assert request.status == HelpStatus.DONE

    # The request is closed: the relay no longer carries messages.
    await piet.press(piet.inbox[-2], encode(Tap.RELAY, village.noord.id, request.id))
    assert "al afgesloten" in piet.answers[-1]


async def test_an_unclaimed_request_escalates_to_jan_once_even_across_a_restart(
    settings: Settings, clock: ManualClock
) -> None:
    first = await start_village(settings, clock)
    anna = await member(first, "Anna")
    await asks_for_groceries(anna, when="overmorgen")
    assert "Er is nog niemand die hiermee hulp aanbiedt" in anna.last_text
    await first.bot.stop()

    clock.advance(timedelta(hours=23))
    second = await start_village(settings, clock, seed=False, first_update_id=9000)
    scheduler = second.bot.village.scheduler
    await scheduler.run_due()  # the night's clean-up ran; the escalation is not due yet
    assert second.jan.inbox == []

    clock.advance(timedelta(hours=2))
    assert (await scheduler.run_due()).done == 1
    escalation = second.jan.last_text
    assert "Niemand heeft nog gereageerd" in escalation and "Anna" in escalation and "Jumbo" in escalation
    await second.jan.taps("Ik neem contact op")
    assert "U volgt deze vraag op" in second.jan.last_text

    assert (await scheduler.run_due()).done == 0  # never twice
    assert len([m for m in second.jan.inbox if "Niemand heeft nog gereageerd" in m.text]) == 1
    await second.bot.stop()


async def test_a_claimed_request_does_not_escalate_and_anna_is_asked_how_it_went(
    village: Village, clock: ManualClock
) -> None:
    anna, piet = await member(village, "Anna"), await member(village, "Piet")
    await offers_groceries(piet)
    await asks_for_groceries(anna, when="morgen 15:00")
    await piet.taps("Ik help")
    clock.advance(timedelta(days=2))
    await village.bot.village.scheduler.run_due()
    assert not any("Niemand heeft nog gereageerd" in m.text for m in village.jan.inbox)
    assert "Is het gelukt?" in anna.last_text
    await anna.taps("Ja, het is gelukt")
    [request] = await requests_in(village, village.noord)
    assert request.status == HelpStatus.DONE


async def test_an_open_request_expires_after_the_networks_time(village: Village, clock: ManualClock) -> None:
    anna = await member(village, "Anna")
    await asks_for_groceries(anna, when="morgen")
    clock.advance(timedelta(days=15))
    await village.bot.village.scheduler.run_due()
    [request] = await requests_in(village, village.noord)
    assert request.status == HelpStatus.EXPIRED
    assert any("is gesloten, omdat er lang niemand op reageerde" in m.text for m in anna.inbox)


async def test_jan_asks_on_behalf_of_a_resident_who_phoned(village: Village) -> None:
    piet = await member(village, "Piet")
    await offers_groceries(piet)
    jan = village.jan
    await jan.says("/vraag")
    await jan.taps("Voor een buurtbewoner")
    await jan.says("mevrouw De Groot")
    await jan.says("040-1234567")
    assert "Heeft mevrouw De Groot goedgevonden" in jan.last_text
    await jan.taps("Ja, dat is goed")
    await jan.taps("Boodschappen")
    await jan.says("Brood en melk")
    await jan.taps("Morgen")
    await jan.taps("Iedereen")
    await jan.taps("Plaatsen")
    await jan.simulator.bot.village.sender.flush()
    assert "mevrouw De Groot (via de buurtverbinder)" in piet.last_text

    await piet.taps("Ik help")
    assert "040-1234567" in piet.last_text  # she agreed to be phoned by the helper
    assert "Piet gaat u helpen" in jan.last_text  # the buurtverbinder hears it for her
    [request] = await requests_in(village, village.noord)
    assert request.requester_id is None and request.entered_by == jan.id and request.consent_at is not None


async def test_a_resident_of_another_network_cannot_see_or_claim(village: Village) -> None:
    anna = await member(village, "Anna")
    kees = await member(village, "Kees", village.centrum)
    await asks_for_groceries(anna)
    await kees.says("/verzoeken")
    assert "geen open vragen" in kees.last_text
    [request] = await requests_in(village, village.noord)
    await kees.press(kees.last, encode(Tap.CLAIM, village.noord.id, request.id))
    assert "geen lid" in kees.answers[-1]
    [request] = await requests_in(village, village.noord)
    assert request.status == HelpStatus.OPEN and request.helper_id is None


async def test_requests_lists_open_requests_and_jan_sees_claimed_ones_too(village: Village) -> None:
    anna, piet, els = await member(village, "Anna"), await member(village, "Piet"), await member(village, "Els")
    await asks_for_groceries(anna)
    await els.says("/verzoeken")
    assert "Vragen in uw buurt" in els.inbox[-2].text and "Jumbo" in els.last_text
    await els.taps("Ik help")
    await piet.says("/verzoeken")
    assert "geen open vragen" in piet.last_text
    await village.jan.says("/verzoeken")
    assert "Els helpt" in village.jan.last_text


async def test_a_helper_hands_back_and_the_request_reopens(village: Village) -> None:
    anna, piet = await member(village, "Anna"), await member(village, "Piet")
    await offers_groceries(piet)
    await asks_for_groceries(anna)
    await piet.taps("Ik help")
    await piet.taps("Ik kan toch niet")
    assert "teruggegeven" in piet.last_text
    assert "kan het toch niet" in anna.last_text
    [request] = await requests_in(village, village.noord)
    assert request.status == HelpStatus.OPEN and request.helper_id is None


async def test_asking_refuses_bad_input_and_changes_nothing(village: Village) -> None:
    anna = await member(village, "Anna")
    await anna.says("/vraag")
    await anna.taps("Boodschappen")
    await anna.says("x" * 600)
    assert "Dat is te lang" in anna.last_text
    await anna.says("Iets kleins")
    await anna.says("gisteren")
    assert "al voorbij" in anna.last_text
    await anna.says("blabla")
    assert "begrijp ik niet als datum" in anna.last_text
    await anna.press(anna.last, encode(Tap.ASK_CATEGORY, "raketten"))
    assert "werkt niet meer" in anna.answers[-1]
    await anna.says("/stop")
    assert await requests_in(village, village.noord) == []


async def test_a_job_missed_beyond_its_grace_is_skipped_not_lost(village: Village, clock: ManualClock) -> None:
    anna = await member(village, "Anna")
    await asks_for_groceries(anna, when="morgen")
    clock.advance(timedelta(days=4))  # the bot was "down": the escalation is two days too late
    await village.bot.village.scheduler.run_due()
    async with village.bot.village.stores.network(village.noord.slug) as store:
        jobs = {job.kind: job.status for job in await store.jobs()}
    assert jobs[JobKind.HELP_ESCALATE] == JobStatus.SKIPPED
    assert jobs[JobKind.HELP_FOLLOW_UP] == JobStatus.DONE
    assert not any("Niemand heeft nog gereageerd" in m.text for m in village.jan.inbox)


async def test_a_request_taken_before_every_helper_had_it_is_not_sent_to_the_others(village: Village) -> None:
    """Requests reach helpers through the outbox; Piet finds this one under /verzoeken and takes
    it before the outbox got to Els and him: neither gets a request that is already taken."""
    from sqlmodel import select

    from storage.models import DeliveryStatus, OutboxKind, OutboxMessage

    anna, piet, els = await member(village, "Anna"), await member(village, "Piet"), await member(village, "Els")
    await offers_groceries(piet)
    await offers_groceries(els)
    await asks_for_groceries(anna, when="morgen", deliver=False)
    assert "2 buren die hiermee helpen, krijgen een bericht" in anna.last_text
    await piet.says("/verzoeken")
    await piet.taps("Ik help")
    assert "Dank u! U helpt Anna" in piet.last_text
    assert "Piet gaat u helpen" in anna.last_text
    await village.bot.village.sender.flush()
    assert not any("Een buur vraagt om hulp" in message.text for message in els.inbox)
    assert not any("Een buur vraagt om hulp" in message.text for message in piet.inbox)
    async with village.bot.village.stores.network("breugel-noord") as store, store.transaction() as session:
        rows = (await session.exec(select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.HELP_REQUEST))).all()
    assert sorted(row.status for row in rows) == [DeliveryStatus.WITHDRAWN, DeliveryStatus.WITHDRAWN]


async def test_closed_requests_and_their_messages_go_after_the_retention_period(
    village: Village, clock: ManualClock
) -> None:
    from sqlmodel import select

    from storage.models import OutboxKind, OutboxMessage, RelayMessage

    anna, piet = await member(village, "Anna"), await member(village, "Piet")
    await offers_groceries(piet)
    await asks_for_groceries(anna)
    await piet.taps("Ik help")
    await anna.taps("Bericht aan Piet")
    await anna.says("Tot zaterdag!")
    await anna.taps("Gelukt, bedankt!")
    await asks_for_groceries(anna, when="morgen")  # still open: it stays
    app = village.bot.village
    await app.help.plan_retention(village.noord)

    clock.advance(timedelta(days=200))
    await app.scheduler.run_due()
    assert len(await requests_in(village, village.noord)) == 2  # within the 12 months

    clock.advance(timedelta(days=200))
    await app.scheduler.run_due()
    remaining = await requests_in(village, village.noord)
    assert [r.status for r in remaining] == [HelpStatus.EXPIRED]  # the second one expired, more recently
    async with app.stores.network("breugel-noord") as store, store.transaction() as session:
        assert (await session.exec(select(RelayMessage))).all() == []
        # The copies the outbox sent Piet go with their request: only the remaining one's are left.
        posts = (await session.exec(select(OutboxMessage).where(OutboxMessage.kind == OutboxKind.HELP_REQUEST))).all()
        assert [post.ref for post in posts] == [str(remaining[0].id)]
    async with app.stores.network("breugel-noord") as store:
        assert "help_purged" in [entry.action for entry in await store.audit_log()]


async def test_a_network_added_while_the_bot_runs_is_cleaned_up_from_its_first_night(
    village: Village, clock: ManualClock
) -> None:
    app = village.bot.village
    network = await app.networks.add("Breugel-Zuid", ["Molenstraat"], clock.now())
    async with app.stores.network(network.slug) as store:
        jobs = [(job.kind, job.ref) for job in await store.jobs()]
    assert jobs == [(JobKind.HELP_RETENTION, "nightly")]


async def test_one_person_cannot_keep_more_than_five_requests_open(village: Village) -> None:
    village.bot.flood = None  # forty taps in one instant of the test's clock
    anna = await member(village, "Anna")
    for _ in range(5):
        await asks_for_groceries(anna, when="morgen")
    await anna.says("/vraag")
    await anna.taps("Boodschappen")
    await anna.says("Nog eentje")
    await anna.taps("Morgen")
    await anna.taps("Iedereen")
    await anna.taps("Plaatsen")
    assert "U heeft al 5 vragen open staan" in anna.answers[-1]
    assert len(await requests_in(village, village.noord)) == 5


async def test_mijn_vragen_shows_annas_requests_and_gelukt_on_one_nobody_took_asks_first(village: Village) -> None:
    anna, piet = await member(village, "Anna"), await member(village, "Piet")
    await offers_groceries(piet)
    await asks_for_groceries(anna)
    await anna.says("/menu")
    await anna.taps("📝 Mijn vragen")
    assert "Mijn vragen" in anna.inbox[-2].text and "1 vraag open of opgepakt" in anna.inbox[-2].text
    assert "Boodschappen halen bij de Jumbo" in anna.last_text
    assert anna.last.labels == ["✅ Gelukt, bedankt!", "Vraag intrekken"]
    await anna.taps("Gelukt")  # nobody took it yet: one tap closes nothing
    assert "Niemand heeft uw vraag nog opgepakt" in anna.last_text
    assert (await requests_in(village, village.noord))[0].status == HelpStatus.OPEN
    await anna.taps("Nee, laat open staan")
    assert "Boodschappen halen bij de Jumbo" in anna.last_text  # back to her requests

    before_piet = anna.last
    await piet.taps("Ik help")
    await anna.taps("Gelukt", in_message=before_piet)  # the older button, made while nobody had it
    assert "Fijn dat het gelukt is" in anna.last_text  # taken since: closed at once, no question
    assert (await requests_in(village, village.noord))[0].status == HelpStatus.DONE


async def test_mijn_vragen_for_a_taken_request_writes_to_the_helper_and_closes_without_asking(
    village: Village,
) -> None:
    anna, piet = await member(village, "Anna"), await member(village, "Piet")
    await offers_groceries(piet)
    await asks_for_groceries(anna)
    await piet.taps("Ik help")
    await anna.says("/mijnvragen")  # taken: she can write to Piet and close it from here
    assert "Piet" in anna.last_text
    assert any("Bericht aan Piet" in label for label in anna.last.labels)
    await anna.taps("Gelukt")
    assert (await requests_in(village, village.noord))[0].status == HelpStatus.DONE  # no question once taken


async def test_text_typed_without_tapping_is_offered_for_forwarding_and_every_relay_keeps_its_buttons(
    village: Village,
) -> None:
    anna, piet = await member(village, "Anna"), await member(village, "Piet")
    await offers_groceries(piet)
    await asks_for_groceries(anna)
    await piet.taps("Ik help")

    await piet.says("Ik kom om twee uur langs, is dat goed?")  # typed without tapping ✉️ first
    assert "Wilt u dit bericht doorsturen?" in piet.last_text and "Ik kom om twee uur langs" in piet.last_text
    assert "Dat begrijp ik niet helemaal" not in piet.last_text
    await piet.taps("Doorsturen naar Anna")
    assert "Ik kom om twee uur langs, is dat goed?" in anna.last_text
    assert any("Gelukt" in label for label in anna.last.labels)  # "Gelukt" on the newest message, not an old one
    assert any("Bericht aan Piet" in label for label in anna.last.labels)
    assert piet.last.labels  # "Uw bericht is doorgestuurd" has the helper's buttons too
    assert any("Bericht aan Anna" in label for label in piet.last.labels)

    await anna.says("Prima, tot straks!")
    await anna.taps("Niet doorsturen")
    assert "Prima" not in piet.last_text  # not sent: she chose not to
    await anna.says("Prima, tot straks!")
    await anna.taps("Doorsturen naar Piet")
    assert "Prima, tot straks!" in piet.last_text
    await anna.taps("Gelukt")
    assert (await requests_in(village, village.noord))[0].status == HelpStatus.DONE


async def test_text_typed_with_no_request_under_way_is_still_not_understood(village: Village) -> None:
    anna = await member(village, "Anna")
    await anna.says("Hallo, hoe werkt dit?")
    assert "Dat begrijp ik niet helemaal" in anna.last_text
