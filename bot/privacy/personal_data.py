"""Everything Buurtbot holds about one person, across the directory and every network store."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlmodel import col, or_, select

from storage.models import Event, HelpOffer, HelpRequest, Person, RelayMessage, Rsvp

if TYPE_CHECKING:
    from bot.application.village import Village
    from bot.contacts import ContactView


def _when(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _contact_request(view: ContactView, person_id: int) -> dict[str, Any]:
    """A contact request as the resident who asked for it, or as the one who took it up (who is
    not given the resident's details here: those are the resident's)."""
    request = view.request
    when = {"asked": _when(request.created_at), "taken": _when(request.taken_at), "done": _when(request.handled_at)}
    if view.resident.id != person_id:
        return {"as": "taken up", **when}
    return {
        "as": "asked",
        "street_typed": request.street_text,
        "phone": request.phone,
        "call_time": request.call_time,
        "consented": _when(request.consent_at),
        **when,
    }


async def my_data(village: Village, person: Person) -> bytes:
    """A readable JSON file: profile, memberships, and per network what they asked, offered,
    answered and wrote through the bot."""
    directory = village.stores.directory
    data: dict[str, Any] = {
        "profile": {
            "telegram_id": person.id,
            "name": person.name,
            "username": person.username,
            "language": person.language,
            "first_seen": _when(person.created_at),
            "consented": _when(person.consented_at),
        },
        "networks": [],
        "contact_requests": [
            _contact_request(view, person.id) for view in await village.contacts.concerning(person.id)
        ],
    }
    for view in await directory.memberships_of(person.id):
        network = view.network
        async with village.stores.network(network.slug) as store, store.transaction() as session:
            asked = (
                await session.exec(
                    select(HelpRequest).where(
                        or_(HelpRequest.requester_id == person.id, HelpRequest.helper_id == person.id)
                    )
                )
            ).all()
            offer = await session.get(HelpOffer, person.id)
            answers = (
                await session.exec(
                    select(Rsvp, Event)
                    .join(Event, col(Event.id) == col(Rsvp.event_id))
                    .where(Rsvp.person_id == person.id)
                )
            ).all()
            relayed = (
                await session.exec(
                    select(RelayMessage).where(or_(RelayMessage.from_id == person.id, RelayMessage.to_id == person.id))
                )
            ).all()
        data["networks"].append(
            {
                "network": network.name,
                "street": view.street.name if view.street else None,
                "role": view.membership.role,
                "status": view.membership.status,
                "since": _when(view.membership.created_at),
                "help_requests": [
                    {
                        "as": "asker" if request.requester_id == person.id else "helper",
                        "category": request.category,
                        "description": request.description,
                        "needed": _when(request.needed_at),
                        "status": request.status,
                        "asked": _when(request.created_at),
                    }
                    for request in asked
                ],
                "offers": {"categories": [c for c in offer.categories.split(",") if c], "notify": offer.notify}
                if offer
                else None,
                "activities": [
                    {"title": event.title, "starts": _when(event.starts_at), "answer": rsvp.answer}
                    for rsvp, event in answers
                ],
                "messages_relayed": [
                    {"sent" if message.from_id == person.id else "received": message.text, "at": _when(message.at)}
                    for message in relayed
                ],
            }
        )
    return json.dumps(data, ensure_ascii=False, indent=2).encode()
