"""Privacy: /mijngegevens sends a person everything Buurtbot keeps about them, and nobody else's."""

from __future__ import annotations

import json

from tests.conftest import Village
from tests.test_activity_scenarios import jan_plans_the_street_party
from tests.test_help_scenarios import asks_for_groceries, member, offers_groceries


async def test_anna_gets_a_file_with_everything_kept_about_her(village: Village) -> None:
    anna, piet = await member(village, "Anna"), await member(village, "Piet")
    await offers_groceries(anna)
    await asks_for_groceries(anna)
    await piet.says("/verzoeken")
    await piet.taps("Ik help")
    await anna.taps("Bericht aan Piet")
    await anna.says("Om twee uur?")
    await jan_plans_the_street_party(village.jan)
    await anna.taps("Ik kom")

    await anna.says("/mijngegevens")
    assert "alles wat Buurtbot over u bewaart" in anna.last_text
    [sent] = anna.files
    assert sent.filename == "mijn-gegevens.json"
    data = json.loads(sent.content)
    assert data["profile"]["name"] == "Anna" and data["profile"]["telegram_id"] == anna.id
    [network] = data["networks"]
    assert network["network"] == "Breugel-Noord" and network["status"] == "active"
    assert network["help_requests"][0]["description"].startswith("Boodschappen halen bij de Jumbo")
    assert network["offers"] == {"categories": ["boodschappen"], "notify": True}
    assert network["activities"] == [{"title": "Straatfeest", "starts": "2026-12-05T14:00:00+00:00", "answer": "yes"}]
    assert network["messages_relayed"][0]["sent"] == "Om twee uur?"
    assert "Jan" not in sent.content.decode()  # nobody else's data


async def test_a_stranger_gets_a_file_too(village: Village) -> None:
    stranger = village.person("Vreemde")
    await stranger.says("/mydata")
    data = json.loads(stranger.files[0].content)
    assert data["profile"]["name"] == "Vreemde" and data["networks"] == []
