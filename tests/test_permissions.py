"""Who may do what: every admin command and admin button, tried by everyone who might try it."""

from __future__ import annotations

import pytest

from bot.kernel.buttons import Tap, encode
from tests.conftest import CM_ID, Village
from tests.test_help_scenarios import member

REFUSED = ("Dat kunt u hier niet doen", "U bent geen buurtverbinder van", "geen lid")

COMMANDS = ["/aanmeldingen", "/uitnodigen", "/bericht", "/leden", "/instellingen", "/exporteren", "/statistiek"]
MANAGER_COMMANDS = ["/netwerken", "/berichtiedereen"]

# who: (may use the network admin commands, may use the village-wide commands, may act on Breugel-Noord)
EXPECTED = {
    "stranger": (False, False, False),
    "resident": (False, False, False),
    "other_verbinder": (True, False, False),
    "verbinder": (True, False, True),
    "manager": (True, True, True),
}


def refused(text: str) -> bool:
    return any(fragment in text for fragment in REFUSED)


@pytest.mark.parametrize("who", list(EXPECTED))
async def test_the_permission_matrix(village: Village, who: str) -> None:
    village.bot.flood = None  # each person here tries ~30 things in one instant of the test's clock
    anna = await member(village, "Anna")  # a resident of Breugel-Noord, also the subject of admin buttons
    people = {
        "stranger": village.person("Vreemde"),
        "resident": await member(village, "Piet"),
        "other_verbinder": village.marieke,
        "verbinder": village.jan,
        "manager": village.person("Karin", user_id=CM_ID),
    }
    person = people[who]
    await person.says("/start")
    network_commands, village_commands, acts_on_noord = EXPECTED[who]

    for command in COMMANDS:
        await person.says(command)
        assert refused(person.last_text) != network_commands, (who, command, person.last_text)
        await person.says("/stop")
    for command in MANAGER_COMMANDS:
        await person.says(command)
        assert refused(person.last_text) != village_commands, (who, command, person.last_text)
        await person.says("/stop")

    app = village.bot.village
    noord = village.noord.id
    pending = await member(village, "Els", village.centrum)  # someone to take out of the wrong network
    invite = await app.memberships.invite(village.noord, created_by=None, now=app.clock.now())
    joiner = village.person("Wim")
    await joiner.says("/start")
    await joiner.says("Kerkstraat")
    await joiner.taps("Ja")
    wim = await app.stores.directory.membership_of(joiner.id, noord or 0)
    assert wim is not None
    buttons = {
        "approve a join": encode(Tap.APPROVE, wim.id),
        "list members": encode(Tap.MEMBERS, noord),
        "make buurtverbinder": encode(Tap.MEMBER_PROMOTE, noord, anna.id),
        "remove a member": encode(Tap.MEMBER_REMOVE_OK, noord, anna.id),
        "change a setting": encode(Tap.SETTING, noord, "eh", "48"),
        "export": encode(Tap.EXPORT, noord),
        "make an invite": encode(Tap.INVITE_KIND, noord, "one"),
        "revoke an invite": encode(Tap.INVITE_REVOKE, invite.code),
    }
    for name, data in buttons.items():
        before = len(person.answers)
        await person.press(person.last, data)
        answered = person.answers[before:]
        refusal = any(refused(text) for text in answered)
        assert refusal != acts_on_noord, (who, name, answered)
    del pending

    membership = await app.stores.directory.membership_of(anna.id, noord or 0)
    assert membership is not None
    removed = membership.status == "left"
    assert removed == acts_on_noord  # only someone allowed changed anything
    async with app.stores.network("breugel-noord") as store:
        log = [entry.action for entry in await store.audit_log()]
    assert ("member_removed" in log) == acts_on_noord and ("setting_changed" in log) == acts_on_noord


# who: (linked gets an answer in the linked group, may link an unlinked group as its administrator,
#       may move the linked group to Son-Centrum as its administrator)
GROUP_EXPECTED = {
    "stranger": (False, False, False),
    "resident": (True, False, False),
    "other_verbinder": (False, True, False),
    "verbinder": (True, True, False),  # of Breugel-Noord only: cannot move it to Son-Centrum
    "manager": (True, True, True),
}


@pytest.mark.parametrize("who", list(GROUP_EXPECTED))
async def test_the_permission_matrix_in_groups(village: Village, who: str) -> None:
    """Everyone is an administrator of both groups here, so only the network rules decide."""
    from bot.kernel.events import ChatKind, ChatRef

    village.bot.flood = None
    app = village.bot.village
    people = {
        "stranger": village.person("Vreemde"),
        "resident": await member(village, "Piet"),
        "other_verbinder": village.marieke,
        "verbinder": village.jan,
        "manager": village.person("Karin", user_id=CM_ID),
    }
    person = people[who]
    linked, unlinked = ChatRef(-100_1, ChatKind.SUPERGROUP, "Kerkstraat"), ChatRef(-100_2, ChatKind.SUPERGROUP, "Markt")
    for chat in (linked, unlinked):
        village.door.group_admins.update({(chat.id, person.id), (chat.id, village.jan.id)})
    await village.jan.says("/koppel", chat=linked)
    answered_in_linked, may_link, may_move = GROUP_EXPECTED[who]

    before = len(village.door.chat(linked.id))
    await person.says("/verzoeken", chat=linked)
    assert (len(village.door.chat(linked.id)) > before) == answered_in_linked, who

    own = "son-centrum" if who == "other_verbinder" else "breugel-noord"
    await person.says(f"/koppel {own}", chat=unlinked)
    network = await app.groups.network_of(unlinked.id)
    assert (network is not None) == may_link, who

    await person.says("/koppel son-centrum", chat=linked)
    network = await app.groups.network_of(linked.id)
    assert network is not None and (network.slug == "son-centrum") == may_move, who


async def test_a_stranger_to_a_request_learns_nothing_of_its_state_from_a_refusal(village: Village) -> None:
    """Marieke (Son-Centrum) presses forged buttons on two of Breugel-Noord's requests, one taken
    and being talked about, one closed: each button gets her the same answer for both."""
    from tests.test_help_scenarios import asks_for_groceries, offers_groceries, requests_in

    village.bot.flood = None
    anna, piet = await member(village, "Anna"), await member(village, "Piet")
    await offers_groceries(piet)
    await asks_for_groceries(anna)
    await piet.taps("Ik help")
    await asks_for_groceries(anna, when="zondag 11:00")
    await anna.says("/stop")
    [taken, second] = sorted(await requests_in(village, village.noord), key=lambda r: r.id or 0)
    await anna.press(anna.last, encode(Tap.WITHDRAW, village.noord.id, second.id))
    states = {r.id: r.status for r in await requests_in(village, village.noord)}
    assert states[taken.id] == "claimed" and states[second.id] != "claimed"

    marieke = village.marieke
    await marieke.says("/start")
    for tap in (Tap.RELAY, Tap.CLAIM, Tap.DONE, Tap.WITHDRAW, Tap.RELEASE, Tap.FOLLOW):
        answers = []
        for request in (taken, second):
            before = len(marieke.answers)
            await marieke.press(marieke.last, encode(tap, village.noord.id, request.id))
            answers.append(marieke.answers[before:])
        assert answers[0] == answers[1], (tap, answers)
