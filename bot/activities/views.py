"""What an activity shows and is made of: drafts, views with their counts, answer buttons, values."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.delivery.post import Labels
from bot.kernel.buttons import Tap, encode
from bot.kernel.replies import Button, Keyboard, keyboard
from storage.activities import RsvpRow
from storage.activities import invitation_ref as invitation_ref  # re-exported: the outbox's name for invitations
from storage.models import Answer, Event, Network, Person, Rsvp


@dataclass(frozen=True)
class Draft:
    title: str
    starts_at: datetime
    has_time: bool
    place: str
    description: str
    capacity: int | None


@dataclass(frozen=True)
class Counts:
    yes: int = 0
    maybe: int = 0
    no: int = 0
    waiting: int = 0


@dataclass(frozen=True)
class ActivityView:
    network: Network
    event: Event
    counts: Counts
    answer: str | None = None  # the viewer's own answer
    waiting: bool = False

    @property
    def full(self) -> bool:
        return self.event.capacity is not None and self.counts.yes >= self.event.capacity


@dataclass(frozen=True)
class Answered:
    view: ActivityView
    promoted: Person | None  # someone from the waiting list who now has a place
    organiser_copies: Sequence[int]  # ids of the organiser's messages about it (none if they answered)
    network: Network | None = None  # where the step was kept (see `Activities.told`)


def view_of(network: Network, event: Event, rows: Sequence[Rsvp | RsvpRow], viewer: int | None) -> ActivityView:
    counts = Counts(
        yes=sum(r.answer == Answer.YES and not r.waiting for r in rows),
        maybe=sum(r.answer == Answer.MAYBE for r in rows),
        no=sum(r.answer == Answer.NO for r in rows),
        waiting=sum(r.waiting for r in rows),
    )
    mine = next((r for r in rows if r.person_id == viewer), None)
    return ActivityView(network, event, counts, mine.answer if mine else None, bool(mine and mine.waiting))


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
