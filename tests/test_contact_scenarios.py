"""The offline route, told from each side: a resident asks for a person, a buurtverbinder gets in touch."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import pytest

from bot.application.settings import Settings
from bot.kernel.buttons import Tap, encode
from bot.kernel.clock import ManualClock
from bot.transports.memory import SimulatedPerson
from storage.models import ContactRequest
from tests.conftest import CM_ID, Village, make_settings, start_village
from tests.test_cli import buurtbot
from tests.test_forget import store_files
from tests.test_help_scenarios import member
from tests.test_races import Rendezvous, at_once, count, pause_after

PHONE_TYPED, PHONE_SHOWN = "06-12345678", "06 1234 5678"


class Counting:
    """A resident whose every message and tap is counted: how much does reaching a person take?"""

    def __init__(self, person: SimulatedPerson) -> None:
        self.person = person
        self.interactions = 0

    async def says(self, text: str) -> None:
        self.interactions += 1
        await self.person.says(text)

    async def taps(self, label: str) -> None:
        self.interactions += 1
        await self.person.taps(label)


async def community_manager(village: Village, name: str = "Carla") -> SimulatedPerson:
    """The community manager, who once opened a chat with the bot (before that it cannot write to her)."""
    carla = village.sim.person(name, user_id=CM_ID)
    await carla.says("/menu")
    return carla


async def requests(village: Village) -> list[ContactRequest]:
    """The open requests (asked for with consent, not done)."""
    return [view.request for view in await village.bot.village.contacts.open_all()]


async def kept_of(village: Village, person: SimulatedPerson) -> list[ContactRequest]:
    """Everything kept of the person's requests, drafts and done ones included."""
    return [view.request for view in await village.bot.village.contacts.of_resident(person.id)]


async def waits_for_jan(village: Village, name: str = "Anna") -> Counting:
    """A resident who typed her street and waits for Jan to let her in to Breugel-Noord."""
    anna = Counting(village.person(name))
    await anna.says("/start")
    await anna.says("Kerkstraat 12")
    await anna.taps("Ja, dat is mijn straat")
    assert "doorgestuurd naar de buurtverbinder" in anna.person.last_text
    return anna


async def asks_to_be_called(resident: Counting, *, part: str = "'s middags", phone: str = PHONE_TYPED) -> None:
    await resident.taps("Liever bellen")
    await resident.taps(f"Bel mij {part}")
    await resident.says(phone)
    await resident.taps("Ja")


async def street_not_found(village: Village, name: str = "Kees") -> Counting:
    kees = Counting(village.person(name))
    await kees.says("/start")
    await kees.says("Dorpstraat 3")
    assert "Ik kan „Dorpstraat 3” niet vinden" in kees.person.last_text
    await kees.taps("Vraag een buurtverbinder")
    return kees


# --- asking ----------------------------------------------------------------------------------------


async def test_anna_waiting_for_jan_asks_to_be_called_in_the_afternoon_and_jan_is_told_at_once(
    village: Village,
) -> None:
    carla = await community_manager(village)
    anna = await waits_for_jan(village)
    await anna.taps("Liever bellen")
    assert "Hoe kunnen we u het best bereiken?" in anna.person.last_text
    assert anna.person.last.labels == [
        "📞 Bel mij 's ochtends",
        "📞 Bel mij 's middags",
        "📞 Bel mij 's avonds",
        "💬 Stuur mij een bericht",
        "Stoppen",
    ]
    await anna.taps("Bel mij 's middags")
    assert "Op welk nummer kunnen we u bellen?" in anna.person.last_text
    await anna.says(PHONE_TYPED)
    assert f"Uw nummer: {PHONE_SHOWN}, graag 's middags bellen" in anna.person.last_text
    assert "Mogen wij uw nummer doorgeven aan de buurtverbinder van Breugel-Noord?" in anna.person.last_text
    assert anna.person.last.labels == ["✅ Ja", "Nee"]
    await anna.taps("Ja")
    # From her first message to a buurtverbinder told: /start, her street, "Ja, dat is mijn
    # straat", "Liever bellen", "Bel mij 's middags", her number, "Ja".
    assert anna.interactions == 7
    assert "Uw vraag is doorgegeven aan de buurtverbinder van Breugel-Noord" in anna.person.last_text

    notice = village.jan.last
    assert (
        "Verzoek om contact" in notice.text and "Anna" in notice.text and "Buurtnetwerk: Breugel-Noord" in notice.text
    )
    assert f"Bereikbaar: {PHONE_SHOWN}, graag 's middags bellen" in notice.text
    assert notice.labels == ["Ik neem contact op"]
    assert not any("Verzoek om contact" in m.text for m in village.marieke.inbox + carla.inbox)

    await village.jan.taps("Ik neem contact op")
    assert "U neemt contact op met Anna" in village.jan.last_text and PHONE_SHOWN in village.jan.last_text
    assert village.jan.last.labels == ["✉️ Bericht aan Anna", "✅ Gedaan"]
    assert "Jan neemt contact met u op." in anna.person.last_text
    [request] = await requests(village)
    assert request.taken_by == village.jan.id and request.phone == "0612345678" and request.call_time == "afternoon"
    assert request.network_id == village.noord.id and request.consent_at is not None


async def test_kees_whose_street_is_not_found_reaches_the_community_manager_in_six_steps(village: Village) -> None:
    carla = await community_manager(village)
    kees = await street_not_found(village)
    await kees.taps("Bel mij 's avonds")
    await kees.says("040 123 45 67")
    assert "Mogen wij uw nummer doorgeven aan de buurtverbinder?" in kees.person.last_text
    await kees.taps("Ja")
    assert kees.interactions == 6
    assert "Uw vraag is doorgegeven." in kees.person.last_text

    notice = carla.last_text
    assert "Kees" in notice and "Straat: Dorpstraat 3" in notice and "040 123 4567, graag 's avonds bellen" in notice
    assert "Buurtnetwerk" not in notice
    assert not any("Verzoek om contact" in m.text for m in village.jan.inbox + village.marieke.inbox)
    await carla.taps("Ik neem contact op")
    assert "Carla neemt contact met u op." in kees.person.last_text


async def test_a_number_that_is_not_dutch_gets_a_clear_reply_and_changes_nothing(village: Village) -> None:
    await community_manager(village)
    kees = await street_not_found(village)
    await kees.taps("Bel mij 's ochtends")
    for typed in ("bel me maar", "12345", "+32 470 12 34 56", "0800-1234", "06-123456789"):
        await kees.says(typed)
        assert "Dat lijkt geen Nederlands telefoonnummer" in kees.person.last_text, typed
        assert kees.person.last.labels == ["Stoppen"]
    assert await requests(village) == []
    await kees.says("+31 (0)6 1234 5678")
    assert f"Uw nummer: {PHONE_SHOWN}, graag 's ochtends bellen" in kees.person.last_text


async def test_kees_says_no_and_nothing_is_kept_or_passed_on(village: Village) -> None:
    carla = await community_manager(village)
    kees = await street_not_found(village)
    await kees.says(PHONE_TYPED)  # a number typed at once: no time of day
    assert f"Uw nummer: {PHONE_SHOWN}" in kees.person.last_text and "bellen" not in kees.person.last_text.split("\n")[0]
    await kees.taps("Nee")
    assert "wij geven niets door" in kees.person.last_text
    assert await kept_of(village, kees.person) == []  # not even the number he typed
    assert not any("Verzoek om contact" in m.text for m in carla.inbox)


async def test_anna_asks_for_a_message_here_and_writes_with_jan_through_the_bot(village: Village) -> None:
    anna = await waits_for_jan(village)
    await anna.taps("Liever bellen")
    await anna.taps("Stuur mij een bericht")
    assert "Mogen wij uw naam doorgeven aan de buurtverbinder van Breugel-Noord?" in anna.person.last_text
    assert "Die stuurt u dan hier een bericht." in anna.person.last_text
    await anna.taps("Ja")
    assert "Bereikbaar: met een bericht hier in de chat" in village.jan.last_text
    [request] = await requests(village)
    assert request.phone is None

    await village.jan.taps("Ik neem contact op")
    await village.jan.taps("Bericht aan Anna")
    assert "Typ uw bericht aan Anna" in village.jan.last_text
    await village.jan.says("Dag Anna, ik kom dinsdag om tien uur langs.")
    assert "doorgestuurd naar Anna" in village.jan.last_text
    assert "Bericht van Jan" in anna.person.last_text and "dinsdag om tien uur" in anna.person.last_text
    await anna.taps("Antwoorden")
    await anna.says("Fijn, tot dinsdag!")
    assert "Bericht van Anna" in village.jan.last_text and "Fijn, tot dinsdag!" in village.jan.last_text

    await village.jan.taps("Gedaan")  # on his "U neemt contact op" message, which says so in place
    assert any("Het verzoek van Anna is afgehandeld" in message.text for message in village.jan.inbox)
    assert await requests(village) == []
    # Done: the request carries no more messages.
    await anna.person.press(anna.person.last, encode(Tap.CONTACT_WRITE, request.id))
    assert "al afgesloten" in anna.person.answers[-1]


async def test_someone_who_asked_already_is_not_asked_again(village: Village) -> None:
    anna = await waits_for_jan(village)
    await asks_to_be_called(anna)
    await anna.taps("Liever bellen")
    assert "U heeft al gevraagd om contact" in anna.person.last_text
    await village.jan.taps("Ik neem contact op")
    await anna.taps("Liever bellen")
    assert "Jan neemt contact met u op" in anna.person.last_text
    assert len(await requests(village)) == 1


async def test_a_resident_without_a_network_finds_liever_bellen_in_the_menu(village: Village) -> None:
    carla = await community_manager(village)
    piet = village.person("Piet")
    await piet.says("/menu")
    assert "📞 Liever bellen" in piet.last.labels
    await piet.taps("Liever bellen")
    await piet.taps("Bel mij 's ochtends")
    await piet.says("0499 123456")
    await piet.taps("Ja")
    assert "Piet" in carla.last_text and "0499 123 456, graag 's ochtends bellen" in carla.last_text


async def test_an_english_resident_asks_to_be_called(village: Village) -> None:
    carla = await community_manager(village)
    emma = village.person("Emma", language="en")
    await emma.says("/start")
    await emma.says("Dorpstraat 3")
    await emma.taps("Ask a buurtverbinder")
    assert "How can we best reach you?" in emma.last_text
    await emma.taps("Call me evenings")
    await emma.says("12")
    assert "does not look like a Dutch phone number" in emma.last_text
    await emma.says("06 1234 5678")
    assert "May we pass your number on to the buurtverbinder?" in emma.last_text
    await emma.taps("Yes")
    assert "Your request has been passed on." in emma.last_text
    assert "Emma" in carla.last_text  # Carla reads it in Dutch
    await carla.taps("Ik neem contact op")
    assert "Carla will get in touch with you." in emma.last_text


# --- nobody to tell ----------------------------------------------------------------------------------


async def test_with_nobody_to_tell_kees_is_promised_nothing_and_gets_a_sorry(
    tmp_path: Path, clock: ManualClock
) -> None:
    village = await start_village(make_settings(tmp_path / "data", community_manager_ids=frozenset()), clock)
    kees = await street_not_found(village)
    assert "niemand die ik kan vragen" in kees.person.last_text
    assert "Vraag een buur of familielid om u te helpen" in kees.person.last_text
    assert "neemt contact" not in kees.person.last_text
    assert await requests(village) == []
    await village.bot.stop()


async def test_with_nobody_to_tell_kees_gets_the_platforms_own_contact_details(
    tmp_path: Path, clock: ManualClock
) -> None:
    settings = make_settings(
        tmp_path / "data", community_manager_ids=frozenset(), community_contact="Het Dorpshuis, 0499 477 000"
    )
    village = await start_village(settings, clock)
    kees = await street_not_found(village)
    assert "niemand die ik kan vragen" in kees.person.last_text
    assert "U kunt ons zelf bereiken: Het Dorpshuis, 0499 477 000" in kees.person.last_text
    assert "neemt contact" not in kees.person.last_text
    assert await requests(village) == []
    await village.bot.stop()


# --- taking it up --------------------------------------------------------------------------------------


async def test_jan_and_wim_tap_ik_neem_contact_op_at_once_and_exactly_one_has_it(
    village: Village, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = village.bot.village
    wim = village.person("Wim")
    await app.memberships.appoint(village.noord, wim.id, by=None, now=clock.now(), name="Wim")
    anna = await waits_for_jan(village)
    await asks_to_be_called(anna)
    jan, to_jan, to_wim = village.jan, village.jan.last, wim.last
    assert "Verzoek om contact" in to_jan.text and "Verzoek om contact" in to_wim.text

    race = Rendezvous()
    pause_after(monkeypatch, app.contacts, "view", race)  # both read it untaken
    await at_once(jan.taps("Ik neem contact op", in_message=to_jan), wim.taps("Ik neem contact op", in_message=to_wim))
    assert race.met

    [request] = await requests(village)
    winner, loser = (jan, wim) if request.taken_by == jan.id else (wim, jan)
    loser_copy = to_wim if loser is wim else to_jan
    assert count(winner, "U neemt contact op met Anna") == 1
    assert count(loser, "U neemt contact op met Anna") == 0
    assert f"{winner.sender.first_name} neemt al contact op" in loser.answers[-1]
    assert f"Anna: {winner.sender.first_name} neemt contact op." in loser_copy.text
    assert PHONE_SHOWN not in loser_copy.text and loser_copy.labels == []  # the number is gone from the copy
    assert count(anna.person, "neemt contact met u op") == 1
    assert f"{winner.sender.first_name} neemt contact met u op." in anna.person.last_text


async def test_only_those_told_see_the_request_and_a_resident_may_not_list_them(village: Village) -> None:
    anna = await waits_for_jan(village)
    await asks_to_be_called(anna)
    [request] = await requests(village)

    await village.jan.says("/contacten")
    assert "Verzoeken om contact: 1" in village.jan.inbox[-2].text
    assert "Anna" in village.jan.last_text and PHONE_SHOWN in village.jan.last_text
    assert "Nog niemand neemt contact op" in village.jan.last_text
    assert village.jan.last.labels == ["Ik neem contact op", "✅ Gedaan"]

    await village.marieke.says("/contacten")  # Son-Centrum's buurtverbinder
    assert "Er zijn geen open verzoeken om contact" in village.marieke.last_text
    await village.marieke.press(village.marieke.last, encode(Tap.CONTACT_TAKE, request.id))
    assert "Deze knop werkt niet meer" in village.marieke.answers[-1]
    assert not any(PHONE_SHOWN in m.text for m in village.marieke.inbox)

    piet = await member(village, "Piet")  # a resident of Breugel-Noord, no buurtverbinder
    await piet.says("/contacten")
    assert "📞" not in piet.last_text and not any(PHONE_SHOWN in m.text for m in piet.inbox)


async def test_jan_finds_it_in_his_menu_and_marks_it_done_and_every_copy_says_so(village: Village) -> None:
    app = village.bot.village
    wim = village.person("Wim")
    await app.memberships.appoint(village.noord, wim.id, by=None, now=app.clock.now(), name="Wim")
    anna = await waits_for_jan(village)
    await asks_to_be_called(anna)
    to_wim = wim.last

    await village.jan.says("/menu")
    await village.jan.taps("Verzoeken om contact")
    await village.jan.taps("Gedaan")
    assert "Het verzoek van Anna is afgehandeld" in village.jan.last_text
    assert "Het verzoek van Anna is afgehandeld" in to_wim.text and to_wim.labels == []
    assert await requests(village) == []
    await village.jan.says("/contacten")
    assert "Er zijn geen open verzoeken om contact" in village.jan.last_text


# --- a day later, and long after ---------------------------------------------------------------------


async def test_a_request_untaken_for_a_day_goes_to_the_community_manager_once_even_across_a_restart(
    settings: Settings, clock: ManualClock
) -> None:
    first = await start_village(settings, clock)
    await community_manager(first)
    anna = await waits_for_jan(first)
    await asks_to_be_called(anna)
    await first.bot.stop()

    clock.advance(timedelta(hours=23))
    second = await start_village(settings, clock, seed=False, first_update_id=9000)
    app = second.bot.village
    carla = second.sim.person("Carla", user_id=CM_ID)
    await app.scheduler.run_due()  # the contact round runs after every pass of the scheduler
    assert carla.inbox == []

    clock.advance(timedelta(hours=2))
    await app.scheduler.run_due()
    escalated = carla.last
    assert "al 25 uur open" in escalated.text and "Anna" in escalated.text and PHONE_SHOWN in escalated.text
    assert escalated.labels == ["Ik neem contact op"]

    await app.scheduler.run_due()
    assert await app.contact_jobs.run_due() == 0  # never twice
    assert len([m for m in carla.inbox if "uur open" in m.text]) == 1

    await carla.taps("Ik neem contact op")
    assert "U neemt contact op met Anna" in carla.last_text
    assert "Carla neemt contact met u op." in second.sim.person("Anna").last_text
    await second.bot.stop()


async def test_a_request_taken_within_the_day_does_not_go_on(village: Village, clock: ManualClock) -> None:
    carla = await community_manager(village)
    anna = await waits_for_jan(village)
    await asks_to_be_called(anna)
    await village.jan.taps("Ik neem contact op")
    clock.advance(timedelta(days=2))
    assert await village.bot.village.contact_jobs.run_due() == 0
    assert not any("uur open" in m.text for m in carla.inbox)


async def test_requests_are_removed_a_year_after_they_were_done(village: Village, clock: ManualClock) -> None:
    app = village.bot.village
    await community_manager(village)
    anna = await waits_for_jan(village)
    await asks_to_be_called(anna)
    await village.jan.taps("Ik neem contact op")
    await village.jan.taps("Gedaan")
    clock.advance(timedelta(days=200))
    kees = await street_not_found(village)
    await kees.taps("Bel mij 's ochtends")
    await kees.says("06-98765432")
    await kees.taps("Ja")
    clock.advance(timedelta(days=170))  # Anna's done 370 days ago, Kees's asked 170 days ago

    await app.contact_jobs.run_due()
    assert await kept_of(village, anna.person) == []
    assert len(await kept_of(village, kees.person)) == 1
    for path in store_files(app.settings.data_dir):
        assert b"0612345678" not in path.read_bytes(), path.name


# --- privacy -------------------------------------------------------------------------------------------


async def test_kees_finds_his_number_in_mijngegevens_and_vergeetmij_leaves_no_trace_of_it(
    village: Village, settings: Settings
) -> None:
    app = village.bot.village
    carla = await community_manager(village)
    kees = await street_not_found(village)
    await kees.taps("Bel mij 's middags")
    await kees.says("06-98765432")
    await kees.taps("Ja")
    await carla.taps("Ik neem contact op")
    told = carla.last  # the notice, now "U neemt contact op met Kees"

    await kees.person.says("/mijngegevens")
    [file] = kees.person.files
    assert b'"phone": "0698765432"' in file.content and b'"call_time": "afternoon"' in file.content
    await carla.says("/mijngegevens")
    assert b"0698765432" not in carla.files[-1].content  # hers: that she took one up, not his number

    await kees.person.says("/vergeetmij")
    await kees.person.taps("Ja, vergeet mij")
    assert "U bent vergeten" in kees.person.last_text
    assert "Dit verzoek is ingetrokken" in told.text and "98765432" not in told.text.replace(" ", "")
    assert await requests(village) == []
    traces = [b"0698765432", b"06 9876 5432", b"06-98765432", b"98765432"]
    for path in store_files(settings.data_dir):
        content = path.read_bytes()
        for trace in traces:
            assert trace not in content, (path.name, trace)
    await carla.says("/contacten")
    assert "Er zijn geen open verzoeken om contact" in carla.last_text
    assert await app.contacts.concerning(carla.id) == []


async def test_the_phone_number_is_never_written_to_the_log(
    village: Village, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await community_manager(village)
    anna = await waits_for_jan(village)
    await asks_to_be_called(anna, phone="06-55511122")
    await village.jan.taps("Ik neem contact op")

    typed = "06-55511122"

    async def fails(*_: object, **__: object) -> object:
        # As a real bug might: an error whose message quotes the number.
        raise ValueError(f"cannot pass on {typed} ({typed.replace('-', '')})")

    monkeypatch.setattr(village.bot.village.contacts, "begin", fails)
    kees = village.person("Kees")
    await kees.says("/menu")
    await kees.taps("Liever bellen")
    assert "sorry" in kees.answers[-1].casefold()
    assert any(record.levelno >= logging.ERROR for record in caplog.records)
    for secret in ("55511122", "555 111", "5551 1122"):
        assert secret not in caplog.text, secret


async def test_buurtbot_contacts_lists_the_open_ones_for_the_operator(
    tmp_path: Path, settings: Settings, clock: ManualClock
) -> None:
    village = await start_village(settings, clock)
    await community_manager(village)
    kees = await street_not_found(village)
    await kees.taps("Bel mij 's middags")
    await kees.says(PHONE_TYPED)
    await kees.taps("Ja")
    anna = await waits_for_jan(village)
    await anna.taps("Liever bellen")
    await anna.taps("Stuur mij een bericht")
    await anna.taps("Ja")
    await village.jan.taps("Ik neem contact op")
    await village.bot.stop()

    result = buurtbot(tmp_path, "contacts")
    assert result.returncode == 0, result.stderr
    kees_line, anna_line = result.stdout.strip().splitlines()
    assert "Kees" in kees_line and "phone 06 1234 5678, call in the afternoon" in kees_line
    assert "street=Dorpstraat 3" in kees_line and "network=-" in kees_line and "taken_by=-" in kees_line
    assert "age=" in kees_line
    assert "Anna" in anna_line and "a message in the chat" in anna_line and "network=Breugel-Noord" in anna_line
    assert "street=-" in anna_line and "taken_by=Jan" in anna_line
