"""Activity messages to other people than the one tapping: the posted invitation, reminders, changes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.activities.service import ActivityView, invitation_ref
from bot.application.village import Labels, Village
from bot.kernel.buttons import Tap, encode
from bot.kernel.replies import Button, Keyboard, Reply, keyboard
from storage.models import OutboxKind, Person


def activity_values(view: ActivityView) -> dict[str, Any]:
    event = view.event
    return {
        "network": view.network.name,
        "title": event.title,
        "starts_at": event.starts_at,
        "place": event.place,
        "description": event.description,
        "capacity": event.capacity,
        "yes": view.counts.yes,
        "maybe": view.counts.maybe,
        "no": view.counts.no,
        "waiting_count": view.counts.waiting,
        "answer": view.answer,
        "waiting": view.waiting,
        "full": view.full,
        "status": event.status,
    }


def refs(view: ActivityView) -> tuple[int, int]:
    return view.network.id or 0, view.event.id or 0


def answer_keyboard(label: Labels, view: ActivityView, *, manage: bool = False) -> Keyboard:
    network_id, event_id = refs(view)
    rows: list[list[Button] | Button] = [
        [
            Button(label("rsvp_yes", chosen=view.answer == "yes"), encode(Tap.EVENT_ANSWER, network_id, event_id, "y")),
            Button(
                label("rsvp_maybe", chosen=view.answer == "maybe"), encode(Tap.EVENT_ANSWER, network_id, event_id, "m")
            ),
            Button(label("rsvp_no", chosen=view.answer == "no"), encode(Tap.EVENT_ANSWER, network_id, event_id, "n")),
        ],
        Button(label("add_to_calendar"), encode(Tap.EVENT_CALENDAR, network_id, event_id)),
    ]
    if manage:
        rows.append(
            [
                Button(label("move_event"), encode(Tap.EVENT_MOVE, network_id, event_id)),
                Button(label("cancel_event"), encode(Tap.EVENT_CANCEL, network_id, event_id)),
            ]
        )
    return keyboard(*rows)


async def post_to_audience(village: Village, view: ActivityView, people: Sequence[Person]) -> int:
    """Queues the invitation, with its answer buttons, for each of `people`; returns how many.

    The outbox sends them within Telegram's limits and keeps where each one landed, so the
    organiser's copy among them can show live counts (`Activities.postings`).
    """
    return await village.tell_many(
        view.network,
        people,
        "activity/posted",
        kind=OutboxKind.EVENT_INVITATION,
        ref=invitation_ref(view.event.id or 0),
        buttons=lambda label: answer_keyboard(label, view),
        **activity_values(view),
    )


def reminder_message(village: Village, person: Person, view: ActivityView, answer: str) -> Reply:
    """The reminder for someone who said yes or maybe, with the answer buttons to change their mind."""
    values = {**activity_values(view), "answer": answer}
    return village.compose(person, "activity/reminder", buttons=lambda label: answer_keyboard(label, view), **values)


async def tell_responders(village: Village, view: ActivityView, template: str, *, besides: int) -> int:
    """Queues the notice (moved, cancelled) for everyone who answered the activity, but `besides`
    who made the change and those the bot cannot reach; returns how many. Through the outbox,
    like every message to many: within Telegram's limits, and not lost if the bot stops halfway."""
    responders = await village.activities.responders(view.network, view.event.id or 0)
    return await village.tell_many(
        view.network,
        (person for person in responders if person.id != besides),
        template,
        kind=OutboxKind.EVENT_NOTICE,
        ref=str(view.event.id),
        **activity_values(view),
    )


async def proposal_message(village: Village, verbinder: Person, view: ActivityView, proposer: str) -> None:
    network_id, event_id = refs(view)

    def buttons(label: Labels) -> Keyboard:
        return keyboard(
            [
                Button(label("publish"), encode(Tap.EVENT_APPROVE, network_id, event_id)),
                Button(label("decline"), encode(Tap.EVENT_DECLINE, network_id, event_id)),
            ]
        )

    await village.tell(verbinder, "activity/proposed", buttons=buttons, proposer=proposer, **activity_values(view))


async def refresh_organiser_copy(village: Village, view: ActivityView, message_ids: Sequence[int]) -> None:
    """The organiser's own copies (`message_ids`, read with the answer) show the live counts; one
    edit per answer, in one chat."""
    if not message_ids:
        return
    organiser = await village.stores.directory.get_person(view.event.created_by)
    if organiser is None:
        return
    organiser_view = await village.activities.view(
        view.network.id or 0, view.event.id or 0, organiser.id, network=view.network
    )
    for message_id in message_ids:
        await village.retell(
            organiser,
            message_id,
            "activity/line",
            buttons=lambda label: answer_keyboard(label, organiser_view, manage=True),
            **activity_values(organiser_view),
        )
