"""The "my data" file: everything Buurtbot holds about one person, as readable JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.contacts import ContactView
from storage.identities import Identity, is_app_person
from storage.models import Person
from storage.privacy import KeptInNetwork
from storage.views import MembershipView


@dataclass(frozen=True)
class Gathered:
    """What was read about a person, from the directory and each network they belong to."""

    person: Person
    identities: list[Identity]
    contact_requests: list[ContactView]
    networks: list[tuple[MembershipView, KeptInNetwork]]


def _when(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _phone(stored: str | None) -> str | None:
    """A number as WhatsApp gives it (country code and number, digits only), written as people read it."""
    return f"+{stored}" if stored and stored.isdigit() else stored


def _profile(person: Person, identities: list[Identity]) -> dict[str, Any]:
    telegram = {} if is_app_person(person.id) else {"telegram_id": person.id}
    return {
        **telegram,
        "name": person.name,
        "username": person.username,
        "language": person.language,
        "first_seen": _when(person.created_at),
        "consented": _when(person.consented_at),
        "apps": [
            {"app": identity.app, "phone": _phone(identity.phone), "last_message": _when(identity.last_inbound_at)}
            for identity in identities
        ],
    }


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


def _network(view: MembershipView, kept: KeptInNetwork, person_id: int) -> dict[str, Any]:
    offer = kept.offer
    return {
        "network": view.network.name,
        "street": view.street.name if view.street else None,
        "role": view.membership.role,
        "status": view.membership.status,
        "since": _when(view.membership.created_at),
        "help_requests": [
            {
                "as": "asker" if request.requester_id == person_id else "helper",
                "category": request.category,
                "description": request.description,
                "needed": _when(request.needed_at),
                "status": request.status,
                "asked": _when(request.created_at),
            }
            for request in kept.help_requests
        ],
        "offers": {"categories": [c for c in offer.categories.split(",") if c], "notify": offer.notify}
        if offer
        else None,
        "activities": [
            {"title": event.title, "starts": _when(event.starts_at), "answer": rsvp.answer}
            for rsvp, event in kept.answers
        ],
        "messages_relayed": [
            {"sent" if message.from_id == person_id else "received": message.text, "at": _when(message.at)}
            for message in kept.relayed
        ],
    }


def personal_data(gathered: Gathered) -> bytes:
    """A readable JSON file: profile (with the apps they write from, phone number included),
    contact requests, and per network what they asked, offered, answered and wrote through the bot."""
    person = gathered.person
    data = {
        "profile": _profile(person, gathered.identities),
        "networks": [_network(view, kept, person.id) for view, kept in gathered.networks],
        "contact_requests": [_contact_request(view, person.id) for view in gathered.contact_requests],
    }
    return json.dumps(data, ensure_ascii=False, indent=2).encode()
