"""Buurtverbinders at work: members, settings, invites, export and figures, each as Jan sees them."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from bot.kernel.clock import ManualClock
from storage.models import MembershipStatus
from tests.conftest import CM_ID, Village
from tests.test_help_scenarios import asks_for_groceries, member, requests_in


async def test_jan_pages_members_and_takes_someone_out_with_a_confirmation(village: Village) -> None:
    anna = await member(village, "Anna")
    jan = village.jan
    await jan.says("/leden")
    assert "Leden van Breugel-Noord" in jan.last_text and "Anna" in jan.last.labels and "Jan ⭐" in jan.last.labels
    await jan.taps("Anna")
    await jan.taps("Uit het buurtnetwerk halen")
    assert "Weet u zeker" in jan.last_text
    await jan.taps("Ja, Anna verwijderen")
    assert "Anna is geen lid meer van Breugel-Noord" in jan.last_text
    assert "U bent geen lid meer" in anna.last_text
    membership = await village.bot.village.stores.directory.membership_of(anna.id, village.noord.id or 0)
    assert membership is not None and membership.status == MembershipStatus.LEFT


async def test_a_network_always_keeps_a_buurtverbinder(village: Village) -> None:
    jan = village.jan
    await jan.says("/leden")
    await jan.taps("Jan")
    await jan.taps("Uit het buurtnetwerk halen")
    await jan.taps("Ja, Jan verwijderen")
    assert "U bent de enige buurtverbinder" in jan.answers[-1]


async def test_jan_makes_anna_buurtverbinder_and_she_can_approve(village: Village) -> None:
    anna = await member(village, "Anna")
    await village.jan.says("/leden")
    await village.jan.taps("Anna")
    await village.jan.taps("Anna buurtverbinder maken")
    assert "U bent nu buurtverbinder van Breugel-Noord" in anna.last_text
    wim = village.person("Wim")
    await wim.says("/start")
    await wim.says("Kerkstraat")
    await wim.taps("Ja")
    assert "Wim wil lid worden" in anna.last_text
    await anna.taps("Toelaten")
    assert "toegelaten" in wim.last_text


async def test_settings_change_how_the_network_works(village: Village, clock: ManualClock) -> None:
    jan = village.jan
    await jan.says("/instellingen")
    assert "een buurtverbinder keurt nieuwe leden goed" in jan.last_text
    await jan.taps("Aanmelden: met goedkeuring")
    assert "iedereen uit de straten kan meteen lid worden" in jan.last_text
    await jan.taps("Naar buurtverbinder na: 24 uur")
    assert "na 48 uur" in jan.last_text

    wim = village.person("Wim")
    await wim.says("/start")
    await wim.says("Nieuwstraat")
    await wim.taps("Ja")
    assert "U bent nu lid" in wim.last_text  # open: no approval needed

    await asks_for_groceries(wim, when="overmorgen")
    clock.advance(timedelta(hours=30))
    await village.bot.village.scheduler.run_due()
    assert not any("Niemand heeft nog gereageerd" in m.text for m in jan.inbox)
    clock.advance(timedelta(hours=19))
    await village.bot.village.scheduler.run_due()
    assert any("Niemand heeft nog gereageerd" in m.text for m in jan.inbox)

    await jan.says("/instellingen")
    await jan.taps("Taal van de groep: Nederlands")
    assert "Taal van de groep: English" in jan.last_text
    async with village.bot.village.stores.network("breugel-noord") as store:
        changes = [entry.detail for entry in await store.audit_log() if entry.action == "setting_changed"]
    assert sorted(changes) == ["escalation_hours=48", "join_policy=open", "language=en"]


async def test_jan_chooses_how_long_closed_help_requests_are_kept(village: Village, clock: ManualClock) -> None:
    anna = await member(village, "Anna")
    await asks_for_groceries(anna, when="morgen")
    await anna.taps("Gelukt, bedankt!")  # nobody took it: she is asked first
    await anna.taps("Ja, sluit mijn vraag")  # closed today
    jan = village.jan
    await jan.says("/instellingen")
    assert "na 12 maanden gewist" in jan.last_text
    await jan.taps("Hulpvragen bewaren: 12 maanden")
    assert "na 24 maanden gewist" in jan.last_text and "Hulpvragen bewaren: 24 maanden" in jan.last.labels

    app = village.bot.village
    await app.help.plan_retention(village.noord)
    clock.advance(timedelta(days=400))  # past the default 12 months, within the chosen 24
    await app.scheduler.run_due()  # a night's clean-up long overdue still runs, and plans the next
    assert len(await requests_in(village, village.noord)) == 1
    await jan.says("/instellingen")
    await jan.taps("Hulpvragen bewaren: 24 maanden")  # round to the shortest: 3 months
    assert "na 3 maanden gewist" in jan.last_text
    clock.advance(timedelta(days=1))
    await app.scheduler.run_due()
    assert await requests_in(village, village.noord) == []
    async with app.stores.network("breugel-noord") as store:
        changes = [entry.detail for entry in await store.audit_log() if entry.action == "setting_changed"]
    assert changes == ["retention_months=3", "retention_months=24"]  # newest first


async def test_invites_for_one_or_for_the_street_and_revoking(village: Village) -> None:
    jan = village.jan
    await jan.says("/uitnodigen")
    await jan.taps("Voor de hele straat")
    assert "De link werkt 50 keer" in jan.last_text
    code = jan.last_text.split("?start=")[1].split()[0]
    for name in ("Anna", "Piet"):
        neighbour = village.person(name)
        await neighbour.says(f"/start {code}")
        assert "U bent nu lid" in neighbour.last_text
    await jan.says("/uitnodigen")
    await jan.taps("Intrekken")
    assert "werkt niet meer" in jan.last_text
    kees = village.person("Kees")
    await kees.says(f"/start {code}")
    assert "al gebruikt of verlopen" in kees.last_text


async def test_export_sends_members_requests_and_activities_as_csv(village: Village) -> None:
    anna = await member(village, "Anna")
    await asks_for_groceries(anna)
    jan = village.jan
    await jan.says("/exporteren")
    files = {f.filename: f.content.decode() for f in jan.files}
    assert sorted(files) == [
        "breugel-noord-activiteiten.csv",
        "breugel-noord-hulpvragen.csv",
        "breugel-noord-leden.csv",
    ]
    members = list(csv.reader(io.StringIO(files["breugel-noord-leden.csv"])))
    assert members[0] == ["naam", "straat", "rol", "lid sinds"] and {row[0] for row in members[1:]} == {"Jan", "Anna"}
    assert "Jumbo" in files["breugel-noord-hulpvragen.csv"]


async def test_stats_for_the_network_and_for_the_village(village: Village) -> None:
    anna, piet = await member(village, "Anna"), await member(village, "Piet")
    await asks_for_groceries(anna)
    await piet.says("/verzoeken")
    await piet.taps("Ik help")
    [request] = await requests_in(village, village.noord)
    assert request.claimed_at is not None
    await village.jan.says("/statistiek")
    text = village.jan.last_text
    assert "Breugel-Noord" in text and "3 leden" in text and "1 hulpvragen, 1 opgepakt" in text
    assert "Son-Centrum" not in text
    manager = village.person("Karin", user_id=CM_ID)
    await manager.says("/statistiek")
    assert "Son-Centrum" in manager.last_text and "Het hele dorp" in manager.last_text
