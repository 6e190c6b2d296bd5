"""Joining a street network, told from each resident's and buurtverbinder's side of the chat."""

from __future__ import annotations

from datetime import timedelta

from bot.application.settings import Settings
from bot.kernel.buttons import Tap, encode
from bot.kernel.clock import ManualClock
from storage.models import MembershipStatus
from tests.conftest import Village, start_village


async def status_of(village: Village, person_id: int, network_id: int) -> str | None:
    membership = await village.bot.village.stores.directory.membership_of(person_id, network_id)
    return membership.status if membership else None


async def test_anna_joins_by_street_name_and_jan_approves(village: Village) -> None:
    anna = village.person("Anna")
    await anna.says("/start")
    assert "Welkom, Anna" in anna.last_text
    assert "In welke straat woont u?" in anna.last_text
    assert "/privacy" in anna.last_text

    await anna.says("Kerkstraat 12")
    assert "Kerkstraat" in anna.last_text and "Breugel-Noord" in anna.last_text
    assert anna.last.labels == ["Ja, dat is mijn straat", "Nee, een andere straat"]

    await anna.taps("Ja, dat is mijn straat")
    assert "doorgestuurd naar de buurtverbinder" in anna.last_text
    assert await status_of(village, anna.id, village.noord.id or 0) == MembershipStatus.PENDING

    request = village.jan.last
    assert "Anna wil lid worden" in request.text and "Kerkstraat" in request.text
    assert request.labels == ["✅ Toelaten", "❌ Afwijzen"]

    await village.jan.taps("Toelaten")
    assert "U heeft Anna toegelaten tot Breugel-Noord" in village.jan.last_text
    assert "Jan heeft u toegelaten tot buurtnetwerk Breugel-Noord" in anna.last_text
    assert "🏠 Mijn buurtnetwerk" in anna.last.labels
    assert await status_of(village, anna.id, village.noord.id or 0) == MembershipStatus.ACTIVE

    async with village.bot.village.stores.network("breugel-noord") as store:
        assert [entry.action for entry in await store.audit_log()][:1] == ["join_approved"]


async def test_jan_declines_and_anna_is_told(village: Village) -> None:
    anna = village.person("Anna")
    await anna.says("/start")
    await anna.says("nieuwstraat")
    await anna.taps("Ja")
    await village.jan.taps("Afwijzen")
    assert "afgewezen" in village.jan.last_text
    assert "niet goedgekeurd" in anna.last_text
    assert await status_of(village, anna.id, village.noord.id or 0) == MembershipStatus.DECLINED


async def test_piet_joins_by_invite_link_at_once(village: Village) -> None:
    invite = await village.bot.village.memberships.invite(
        village.noord, created_by=village.jan.id, now=village.bot.village.clock.now()
    )
    piet = village.person("Piet")
    await piet.says(f"/start {invite.code}")
    assert "Welkom bij buurtnetwerk Breugel-Noord" in piet.last_text
    assert await status_of(village, piet.id, village.noord.id or 0) == MembershipStatus.ACTIVE
    assert village.jan.inbox == []  # no approval needed

    kees = village.person("Kees")
    await kees.says(f"/start {invite.code}")
    assert "al gebruikt of verlopen" in kees.last_text
    assert await status_of(village, kees.id, village.noord.id or 0) is None

    await piet.says(f"/start {invite.code}")
    assert "U bent al lid van buurtnetwerk Breugel-Noord" in piet.last_text


async def test_jan_makes_an_invite_in_chat(village: Village) -> None:
    await village.jan.says("/uitnodigen")
    await village.jan.taps("Voor één persoon")
    text = village.jan.last_text
    assert "https://t.me/buurtbot_test?start=" in text
    code = text.split("?start=")[1].split()[0]
    els = village.person("Els")
    await els.says(f"/start {code}")
    assert await status_of(village, els.id, village.noord.id or 0) == MembershipStatus.ACTIVE


async def test_without_the_bots_name_jan_gets_a_code_to_pass_on_not_a_link_to_another_bot(village: Village) -> None:
    village.bot.village.identity.username = ""  # no token and no BOT_USERNAME: the console, say
    await village.jan.says("/uitnodigen")
    await village.jan.taps("Voor één persoon")
    text = village.jan.last_text
    assert "t.me" not in text
    code = text.split("/start ")[1].split()[0]
    els = village.person("Els")
    await els.says(f"/start {code}")
    assert await status_of(village, els.id, village.noord.id or 0) == MembershipStatus.ACTIVE


async def test_unknown_and_expired_invites_are_refused(village: Village, clock: ManualClock) -> None:
    kees = village.person("Kees")
    await kees.says("/start nietbestaand123")
    assert "Deze uitnodiging ken ik niet" in kees.last_text

    invite = await village.bot.village.memberships.invite(village.centrum, created_by=None, now=clock.now())
    clock.advance(timedelta(days=15))
    await kees.says(f"/start {invite.code}")
    assert "al gebruikt of verlopen" in kees.last_text
    assert await status_of(village, kees.id, village.centrum.id or 0) is None


async def test_kees_mistypes_his_street_and_still_finds_it(village: Village) -> None:
    kees = village.person("Kees")
    await kees.says("/start")
    await kees.says("Moolenstrat 7")
    assert "Woont u in de Molenstraat?" in kees.last_text
    assert "Son-Centrum" in kees.last_text
    await kees.taps("Ja")
    assert "Kees wil lid worden" in village.marieke.last_text
    assert village.jan.inbox == []


async def test_a_street_that_matches_nothing_gets_suggestions_and_a_buurtverbinder(village: Village) -> None:
    kees = village.person("Kees")
    await kees.says("/aanmelden")
    await kees.says("Dorpsstraat")
    assert "Ik kan „Dorpsstraat” niet vinden" in kees.last_text
    assert "Vraag een buurtverbinder" in kees.last.labels
    await kees.taps("Vraag een buurtverbinder")
    # No community manager in this village and no street matched: nobody can be told, so no call is
    # promised (the whole offline route is in tests/test_contact_scenarios.py).
    assert "niemand die ik kan vragen" in kees.last_text and "neemt contact met u op" not in kees.last_text


async def test_a_suggested_street_is_confirmed_like_a_typed_one(village: Village) -> None:
    anna = village.person("Anna")
    await anna.says("/start")
    await anna.says("Kerkweg")  # no such street: Kerkstraat is a guess
    assert "Kerkstraat (Breugel-Noord)" in anna.last.labels
    await anna.taps("Kerkstraat (Breugel-Noord)")
    assert "Woont u in de Kerkstraat?" in anna.last_text  # asked, not joined on a mis-tap
    assert await status_of(village, anna.id, village.noord.id or 0) is None
    await anna.taps("Nee, een andere straat")
    assert await status_of(village, anna.id, village.noord.id or 0) is None
    await anna.says("Kerkweg")
    await anna.taps("Kerkstraat (Breugel-Noord)")
    await anna.taps("Ja, dat is mijn straat")
    assert await status_of(village, anna.id, village.noord.id or 0) == MembershipStatus.PENDING


async def test_a_street_in_two_networks_offers_both(village: Village) -> None:
    now = village.bot.village.clock.now()
    await village.bot.village.networks.add("Breugel-Zuid", ["Kerkstraat", "Breugelseweg"], now)
    anna = village.person("Anna")
    await anna.says("/start")
    await anna.says("kerkstraat")
    assert "Welke is van u?" in anna.last_text
    assert "Kerkstraat (Breugel-Noord)" in anna.last.labels
    assert "Kerkstraat (Breugel-Zuid)" in anna.last.labels


async def test_a_waiting_member_hears_who_decides_and_may_remind_jan_once_a_day(
    village: Village, clock: ManualClock
) -> None:
    anna = village.person("Anna")
    await anna.says("/start")
    await anna.says("Kerkstraat 12")
    await anna.taps("Ja, dat is mijn straat")
    await anna.says("/vraag")  # what members may do: not "Dat kunt u hier niet doen"
    assert "Dat kunt u hier niet doen" not in anna.last_text
    assert "wacht nog op Jan" in anna.last_text and "Breugel-Noord" in anna.last_text
    await anna.says("/agenda")
    assert "wacht nog op Jan" in anna.last_text
    jan_had = len(village.jan.inbox)
    await anna.taps("🔔 Herinner Jan")
    assert "Ik heb Jan eraan herinnerd" in anna.last_text
    reminder = village.jan.last
    assert len(village.jan.inbox) == jan_had + 1
    assert "Anna wacht nog op uw besluit" in reminder.text and reminder.labels == ["✅ Toelaten", "❌ Afwijzen"]

    await anna.says("/agenda")
    await anna.taps("🔔 Herinner Jan")  # the same day: Jan is not reminded twice
    assert "al herinnerd" in (anna.answers[-1] + anna.last_text) and len(village.jan.inbox) == jan_had + 1
    clock.advance(timedelta(days=1))
    await anna.says("/agenda")
    await anna.taps("🔔 Herinner Jan")
    assert len(village.jan.inbox) == jan_had + 2

    await village.jan.taps("Toelaten")  # from the reminder
    assert "Jan heeft u toegelaten tot buurtnetwerk Breugel-Noord" in anna.last_text
    await anna.says("/agenda")
    assert "wacht nog" not in anna.last_text


async def test_a_forged_approve_button_is_refused(village: Village) -> None:
    anna = village.person("Anna")
    await anna.says("/start")
    await anna.says("Kerkstraat")
    await anna.taps("Ja")
    membership = await village.bot.village.stores.directory.membership_of(anna.id, village.noord.id or 0)
    assert membership is not None

    # Anna forges Jan's approve button for herself: she holds no buurtverbinder role.
    await anna.press(anna.last, encode(Tap.APPROVE, membership.id))
    assert "Dat kunt u hier niet doen" in anna.answers[-1]
    assert await status_of(village, anna.id, village.noord.id or 0) == MembershipStatus.PENDING

    # Marieke is a buurtverbinder, but of Son-Centrum, not of Breugel-Noord.
    await village.marieke.press(village.jan.last, encode(Tap.APPROVE, membership.id))
    assert "U bent geen buurtverbinder van Breugel-Noord" in village.marieke.answers[-1]
    assert await status_of(village, anna.id, village.noord.id or 0) == MembershipStatus.PENDING

    # Nonsense and unknown button data.
    for data in ["ma:abc", "zz:1", "", "ma", "ma:999999", "x" * 70]:
        await village.jan.press(village.jan.last, data)
        assert "Deze knop werkt niet meer" in village.jan.answers[-1]
    assert await status_of(village, anna.id, village.noord.id or 0) == MembershipStatus.PENDING


async def test_approving_twice_changes_nothing_the_second_time(village: Village) -> None:
    anna = village.person("Anna")
    await anna.says("/start")
    await anna.says("Kerkstraat")
    await anna.taps("Ja")
    request = village.jan.last
    decline = request.buttons[1].data or ""
    await village.jan.taps("Toelaten", in_message=request)
    told = len(anna.inbox)
    # A quick second tap, before Telegram showed the edited message without buttons.
    await village.jan.press(request, decline)
    assert "is al beslist" in village.jan.answers[-1]
    assert await status_of(village, anna.id, village.noord.id or 0) == MembershipStatus.ACTIVE
    assert len(anna.inbox) == told


async def test_a_street_choice_that_was_never_offered_is_refused(village: Village) -> None:
    anna = village.person("Anna")
    await anna.says("/start")
    await anna.says("Kerkstraat")
    streets = await village.bot.village.networks.choices()
    markt = next(s for s in streets if s.street == "Markt")
    await anna.press(anna.last, encode(Tap.JOIN_PICK, markt.street_id))
    assert "Deze knop werkt niet meer" in anna.answers[-1]
    assert await status_of(village, anna.id, village.centrum.id or 0) is None


async def test_bad_input_gets_a_clear_reply_and_changes_nothing(village: Village) -> None:
    anna = village.person("Anna")
    await anna.says("/start")
    await anna.says("K" * 5000)
    assert "Dat is te lang" in anna.last_text
    flow = await village.bot.village.stores.directory.flow(anna.id, anna.id)
    assert flow is not None and flow.step == "street"

    await anna.says("/doeiets")
    assert "Dat commando ken ik niet" in anna.last_text

    await anna.says("Kerkstraat")
    await anna.says("hallo daar")  # text while a button is expected: searched as a street again
    assert "niet vinden" in anna.last_text
    assert await status_of(village, anna.id, village.noord.id or 0) is None


async def test_a_redelivered_update_changes_nothing(village: Village) -> None:
    anna = village.person("Anna")
    await anna.says("/start", update_id=77)
    count = len(anna.inbox)
    await anna.says("/start", update_id=77)
    assert len(anna.inbox) == count


async def test_a_half_finished_join_survives_a_restart(settings: Settings, clock: ManualClock) -> None:
    first = await start_village(settings, clock)
    anna = first.person("Anna")
    await anna.says("/start")
    await first.bot.stop()

    second = await start_village(settings, clock, seed=False, first_update_id=5000)
    anna = second.person("Anna")
    await anna.says("Kerkstraat")
    assert "Woont u in de Kerkstraat?" in anna.last_text
    await anna.taps("Ja")
    assert "Anna wil lid worden" in second.jan.last_text
    await second.bot.stop()


async def test_a_stale_flow_expires(village: Village, clock: ManualClock) -> None:
    anna = village.person("Anna")
    await anna.says("/start")
    clock.advance(timedelta(days=3))
    await anna.says("Kerkstraat")
    assert "Dat begrijp ik niet helemaal" in anna.last_text


async def test_cancel_leaves_the_flow(village: Village) -> None:
    anna = village.person("Anna")
    await anna.says("/start")
    await anna.taps("Stoppen")
    assert "Gestopt" in anna.last_text
    await anna.says("Kerkstraat")
    assert "Dat begrijp ik niet helemaal" in anna.last_text
    await anna.says("/stop")
    assert "Er is niets om te stoppen" in anna.last_text


async def test_the_privacy_screen_works_by_buttons_and_no_keeps_everything(village: Village) -> None:
    anna = village.person("Anna")
    await anna.says("/menu")
    await anna.taps("🔒 Mijn gegevens")  # the menu's privacy button
    assert "Uw gegevens bij Buurtbot" in anna.last_text and "/vergeetmij" not in anna.last_text
    await anna.taps("Mijn gegevens opvragen")
    assert "alles wat Buurtbot over u bewaart" in anna.last_text
    [sent] = anna.files
    assert sent.filename == "mijn-gegevens.json"
    await anna.says("/privacy")
    await anna.taps("Vergeet mij")
    assert "Wilt u dat Buurtbot u vergeet?" in anna.last_text
    await anna.taps("Nee, niets veranderen")
    assert "er verandert niets" in anna.last_text and "Er is niets om te stoppen" not in anna.last_text
    await anna.says("/privacy")
    await anna.taps("Vergeet mij")
    await anna.taps("Ja, vergeet mij")
    assert "U bent vergeten" in anna.last_text


async def test_help_shows_this_persons_choices_as_buttons_and_the_commands_in_one_line(village: Village) -> None:
    anna = village.person("Anna")
    await anna.says("/hulp")
    assert "🏠 Aanmelden bij mijn buurtnetwerk" in anna.last.labels  # a tap, not a command to type
    assert len(anna.last_text.splitlines()) <= 4  # no list of commands to read through
    assert "/aanmelden" in anna.last_text
    assert "/aanmeldingen" not in anna.last_text and "/netwerken" not in anna.last_text
    assert "📋 Aanmeldingen" not in anna.last.labels

    await village.jan.says("/hulp")
    assert "/aanmeldingen" in village.jan.last_text and "/uitnodigen" in village.jan.last_text
    assert "/netwerken" not in village.jan.last_text

    english = village.person("Emma", language="en")
    await english.says("/help")
    assert "What can you do here?" in english.last_text and "/join" in english.last_text


async def test_a_resident_cannot_use_admin_commands(village: Village) -> None:
    anna = village.person("Anna")
    for command in ["/pending", "/aanmeldingen", "/invite", "/netwerken"]:
        await anna.says(command)
        assert "Dat kunt u hier niet doen" in anna.last_text


async def test_leaving_asks_for_confirmation(village: Village) -> None:
    invite = await village.bot.village.memberships.invite(
        village.noord, created_by=None, now=village.bot.village.clock.now()
    )
    piet = village.person("Piet")
    await piet.says(f"/start {invite.code}")
    await piet.says("/afmelden")
    assert "Weet u zeker" in piet.last_text
    await piet.taps("Nee, ik blijf lid")
    assert await status_of(village, piet.id, village.noord.id or 0) == MembershipStatus.ACTIVE
    await piet.says("/leave")
    await piet.taps("Ja, afmelden")
    assert "U bent afgemeld bij Breugel-Noord" in piet.inbox[-2].text
    assert await status_of(village, piet.id, village.noord.id or 0) == MembershipStatus.LEFT


async def test_the_last_buurtverbinder_cannot_leave(village: Village) -> None:
    await village.jan.says("/afmelden")
    await village.jan.taps("Ja, afmelden")
    assert "U bent de enige buurtverbinder" in village.jan.answers[-1]
    assert await status_of(village, village.jan.id, village.noord.id or 0) == MembershipStatus.ACTIVE


async def test_language_switches_to_english(village: Village) -> None:
    anna = village.person("Anna")
    await anna.says("/taal")
    await anna.taps("English")
    assert "I will write to you in English" in anna.inbox[-2].text
    await anna.says("/start")
    assert "Which street do you live in?" in anna.last_text


async def test_english_telegram_gets_english(village: Village) -> None:
    emma = village.person("Emma", language="en-GB")
    await emma.says("/start")
    assert "Welcome, Emma!" in emma.last_text


async def test_the_community_manager_adds_a_network_in_chat(village: Village) -> None:
    manager = village.person("Karin", user_id=4242)
    await manager.says("/netwerken")
    assert "Breugel-Noord" in manager.last_text
    await manager.taps("Nieuw buurtnetwerk")
    await manager.says("Breugel-Zuid")
    await manager.says("Breugelseweg, Sonseweg ; Van den Elsenstraat")
    assert "3 straten" in manager.last_text
    await manager.taps("Opslaan")
    assert "Breugel-Zuid is aangemaakt" in manager.last_text

    resident = village.person("Wim")
    await resident.says("/start")
    await resident.says("sonseweg 3")
    assert "Breugel-Zuid" in resident.last_text
    await resident.taps("Ja")
    # No buurtverbinder yet: the community manager is asked instead.
    assert "Wim wil lid worden" in manager.last_text
    await manager.taps("Toelaten")
    assert "toegelaten" in resident.last_text


async def test_commands_in_a_group_are_moved_to_a_private_chat(village: Village) -> None:
    from bot.kernel.events import ChatKind, ChatRef
    from tests.test_help_scenarios import member

    group = ChatRef(-100123, ChatKind.SUPERGROUP, "Kerkstraat")
    kees = village.person("Kees")  # no member of any network: the group learns nothing from him
    await kees.says("/aanmelden", chat=group)
    assert village.door.chat(group.id) == []

    anna = await member(village, "Anna")
    await anna.says("/aanmelden", chat=group)
    messages = village.door.chat(group.id)
    assert "privégesprek" in messages[-1].text
    await anna.says("gewoon een gesprek in de groep", chat=group)
    assert len(village.door.chat(group.id)) == 1
