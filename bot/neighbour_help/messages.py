"""The help messages that go to other people than the one tapping: helpers, askers, buurtverbinders.

Used by the help handlers and by the help service's scheduled jobs alike, so a message looks
the same whoever triggers it. Every word is in templates/*/help/.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.application.village import Labels, Village
from bot.kernel.buttons import Tap, encode
from bot.kernel.replies import Button, Keyboard, keyboard
from bot.neighbour_help.service import RequestView, help_ref
from storage.models import HelpStatus, NameShownTo, OutboxKind, Person


def request_values(view: RequestView, *, reveal_name: bool) -> dict[str, Any]:
    """What every help template may show about a request."""
    request = view.request
    hidden = request.name_shown_to == NameShownTo.HELPER and not reveal_name
    return {
        "network": view.network.name,
        "category": request.category,
        "description": request.description,
        "needed_at": request.needed_at,
        "needed_has_time": request.needed_has_time,
        "asker": None if hidden else view.asker.name,
        "contact": view.asker.contact if reveal_name else None,
        "on_behalf": view.asker.person is None,
        "helper": view.helper.name if view.helper else None,
        "status": request.status,
    }


def refs(view: RequestView) -> tuple[int, int]:
    return view.network.id or 0, view.request.id or 0


async def asker_person(village: Village, view: RequestView) -> Person | None:
    """Who hears about the request on the asker's side: the asker, or the buurtverbinder who
    entered it for a resident who phoned."""
    if view.asker.person is not None:
        return view.asker.person
    if view.request.entered_by is not None:
        return await village.stores.directory.get_person(view.request.entered_by)
    return None


def claim_button(label: Labels, view: RequestView) -> Keyboard:
    return keyboard(Button(label("i_help"), encode(Tap.CLAIM, *refs(view))))


async def post_to_helpers(village: Village, view: RequestView, helpers: Sequence[Person]) -> int:
    """Queues the request with an "Ik help" button for each helper; returns how many. Through the
    outbox, like every message to many: within Telegram's limits, not lost if the bot stops
    halfway, and kept with where each copy landed (`Help.postings`). Copies not sent yet when the
    request is taken are not sent at all."""
    return await village.tell_many(
        view.network,
        helpers,
        "help/posted",
        kind=OutboxKind.HELP_REQUEST,
        ref=help_ref(view.request.id or 0),
        buttons=lambda label: claim_button(label, view),
        **request_values(view, reveal_name=False),
    )


async def show_taken(village: Village, view: RequestView, *, besides: int) -> None:
    """Every posted copy of the request (but the helper's own) now says it is taken."""
    for chat_id, message_id in await village.help.postings(view.network, view.request.id or 0):
        if chat_id == besides:
            continue
        person = await village.stores.directory.get_person(chat_id)
        if person is not None:
            await village.retell(person, message_id, "help/posted_taken", **request_values(view, reveal_name=False))


def asker_keyboard(label: Labels, view: RequestView) -> Keyboard:
    rows: list[Button] = []
    if view.request.status == HelpStatus.CLAIMED and view.helper is not None:
        rows.append(Button(label("message_to", name=view.helper.name), encode(Tap.RELAY, *refs(view))))
    rows.append(Button(label("done_thanks"), encode(Tap.DONE, *refs(view))))
    rows.append(Button(label("withdraw_request"), encode(Tap.WITHDRAW, *refs(view))))
    return keyboard(*rows)


def helper_keyboard(label: Labels, view: RequestView) -> Keyboard:
    return keyboard(
        Button(label("message_to", name=view.asker.name), encode(Tap.RELAY, *refs(view))),
        Button(label("hand_back"), encode(Tap.RELEASE, *refs(view))),
    )


async def tell_asker(
    village: Village, view: RequestView, template: str, *, with_buttons: bool = True, **extra: Any
) -> None:
    person = await asker_person(village, view)
    if person is None:
        return
    buttons = (lambda label: asker_keyboard(label, view)) if with_buttons else None
    await village.tell(person, template, buttons=buttons, **request_values(view, reveal_name=True), **extra)


async def escalation_message(village: Village, verbinder: Person, view: RequestView) -> None:
    hours = (village.clock.now() - view.request.created_at).total_seconds() // 3600
    await village.tell(
        verbinder,
        "help/escalated",
        buttons=lambda label: keyboard(Button(label("i_follow_up"), encode(Tap.FOLLOW, *refs(view)))),
        hours=int(hours),
        **request_values(view, reveal_name=True),
    )


async def follow_up_message(village: Village, view: RequestView) -> None:
    person = await asker_person(village, view)
    if person is None:
        return

    def buttons(label: Labels) -> Keyboard:
        return keyboard(
            Button(label("yes_it_worked"), encode(Tap.DONE, *refs(view))),
            Button(label("not_yet"), encode(Tap.NOT_YET, *refs(view))),
            Button(label("withdraw_request"), encode(Tap.WITHDRAW, *refs(view))),
        )

    await village.tell(person, "help/follow_up", buttons=buttons, **request_values(view, reveal_name=True))


async def expired_message(village: Village, view: RequestView) -> None:
    await tell_asker(village, view, "help/expired", with_buttons=False)
