"""The offline route's messages to others than the one tapping: buurtverbinders, community managers, the resident.

Used by the contact handlers and by the day-after job alike, so a message looks the same whoever
triggers it. Each is written in its recipient's language; every word is in templates/*/contacts/.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.contacts.phone import show_phone
from bot.contacts.service import Contacts, ContactView
from bot.delivery.post import Labels, Post
from bot.kernel.buttons import Tap, encode
from bot.kernel.replies import Button, Keyboard, keyboard
from storage.contacts import notices_of
from storage.models import Person


def reach_text(label: Labels, view: ContactView) -> str:
    """How the resident wants to be reached, in the reader's language: their number (and when to
    call), or a message here in the chat."""
    reach = view.reach
    if reach.phone is None:
        return label("reach_in_chat")
    phone = show_phone(reach.phone)
    return label("reach_by_phone", phone=phone, part=reach.call_time or "")


def first_name(person: Person | None) -> str:
    """How a resident is told who gets in touch: "Jan", not "Jan de Vries"."""
    return person.name.split()[0] if person is not None and person.name.split() else ""


def take_button(label: Labels, view: ContactView) -> Keyboard:
    return keyboard(Button(label("i_take_contact"), encode(Tap.CONTACT_TAKE, view.id)))


def taker_keyboard(label: Labels, view: ContactView) -> Keyboard:
    """For the one who took it up: write to the resident, and "Gedaan"."""
    return keyboard(
        Button(label("message_to", name=view.resident.name), encode(Tap.CONTACT_WRITE, view.id)),
        Button(label("contact_done"), encode(Tap.CONTACT_DONE, view.id)),
    )


def request_values(label: Labels, view: ContactView, now: datetime) -> dict[str, Any]:
    """What a message about the request shows (the number only to those who may follow it up)."""
    return {
        "name": view.resident.name,
        "username": view.resident.username,
        "typed": view.request.street_text,
        "network": view.network.name if view.network else "",
        "contact": reach_text(label, view),
        "hours": int((now - view.request.created_at).total_seconds() // 3600),
        "verbinder": view.taker.name if view.taker else "",
    }


class ContactMessages:
    def __init__(self, post: Post, contacts: Contacts) -> None:
        self._post = post
        self._contacts = contacts

    def _values(self, person: Person, view: ContactView, now: datetime) -> dict[str, Any]:
        return request_values(self._post.labels_for(person.language), view, now)

    async def tell(self, view: ContactView, people: Sequence[Person], now: datetime, *, escalated: bool = False) -> int:
        """Tells each of them now, with an "Ik neem contact op" button, and remembers where (so
        the message can show who took it up); returns how many were reached."""
        template = "contacts/escalated" if escalated else "contacts/notice"
        reached = 0
        for person in people:
            message_id = await self._post.tell(
                person,
                template,
                buttons=lambda label: take_button(label, view),
                **self._values(person, view, now),
            )
            if message_id is not None:
                await self._contacts.noted(view, person, message_id)
                reached += 1
        return reached

    async def show_taken(self, view: ContactView, now: datetime, *, besides: int) -> None:
        """Every other copy now says who takes it up, without the number."""
        await self._change_notices(view, "contacts/notice_taken", now, besides=besides)

    async def show_done(self, view: ContactView, now: datetime, *, besides: int) -> None:
        await self._change_notices(view, "contacts/notice_done", now, besides=besides)

    async def withdraw(self, view: ContactView, now: datetime) -> None:
        """The resident was forgotten: every copy loses what it said of them."""
        await self._change_notices(view, "contacts/notice_withdrawn", now, besides=None)

    async def _change_notices(self, view: ContactView, template: str, now: datetime, *, besides: int | None) -> None:
        request = await self._contacts.view(view.id)  # with every place it was told, escalation included
        for chat_id, message_id in notices_of(request.request):
            if chat_id == besides:
                continue
            person = await self._contacts.person(chat_id)
            if person is not None:
                await self._post.retell(person, message_id, template, **self._values(person, request, now))

    async def tell_resident_taken(self, view: ContactView) -> None:
        """The resident hears who will get in touch, by first name, with a button to write to them."""
        if view.taker is None:
            return
        await self._post.tell(
            view.resident,
            "contacts/taken",
            buttons=lambda label: keyboard(
                Button(label("message_to", name=first_name(view.taker)), encode(Tap.CONTACT_WRITE, view.id))
            ),
            verbinder=first_name(view.taker),
        )

    async def pass_on(self, recipient: Person, view_id: int, *, sender: str, text: str) -> None:
        """A message between the resident and the one who took their request up, with a reply button."""
        await self._post.tell(
            recipient,
            "contacts/message",
            buttons=lambda label: keyboard(Button(label("reply"), encode(Tap.CONTACT_WRITE, view_id))),
            sender=sender,
            text=text,
        )
