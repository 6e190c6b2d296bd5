"""What help between neighbours shows and is made of: drafts, views of a request, its buttons and values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from bot.delivery.post import Labels
from bot.kernel.buttons import Tap, encode
from bot.kernel.replies import Button, Keyboard, keyboard
from storage.help import help_ref as help_ref  # how the outbox names a request's copies; re-exported
from storage.models import HelpRequest, HelpStatus, NameShownTo, Network, Person


class Category(StrEnum):
    """What help is about. Labels are `category_<value>` in templates/*/labels.txt."""

    GROCERIES = "boodschappen"
    TRANSPORT = "vervoer"
    ODD_JOBS = "klusjes"
    COMPANY = "gezelschap"
    COMPUTER = "computerhulp"
    OTHER = "anders"


@dataclass(frozen=True)
class Draft:
    """A request being put together in the ask flow."""

    category: Category
    description: str
    needed_at: datetime
    needed_has_time: bool
    name_shown_to: NameShownTo
    on_behalf_name: str | None = None
    on_behalf_contact: str | None = None


@dataclass(frozen=True)
class Asker:
    """Who a request is for: a person on Telegram, or a resident who phoned (on behalf)."""

    name: str
    person: Person | None  # None when entered on behalf of someone without Telegram
    contact: str | None = None


@dataclass(frozen=True)
class Asked:
    request: HelpRequest
    # False when the request was asked before a crash and its helpers' copies were queued then.
    tell: bool = True


@dataclass(frozen=True)
class RequestView:
    network: Network
    request: HelpRequest
    asker: Asker
    helper: Person | None
    # False when a step was handled again after a crash that came after its messages went out.
    tell: bool = True


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


def claim_button(label: Labels, view: RequestView) -> Keyboard:
    return keyboard(Button(label("i_help"), encode(Tap.CLAIM, *refs(view))))


def asker_keyboard(label: Labels, view: RequestView) -> Keyboard:
    rows: list[Button] = []
    if view.request.status == HelpStatus.CLAIMED and view.helper is not None:
        rows.append(Button(label("message_to", name=view.helper.name), encode(Tap.RELAY, *refs(view))))
    # Nobody took it yet: one tap must not close it by mistake, so "Gelukt" asks first.
    done = Tap.DONE if view.request.status == HelpStatus.CLAIMED else Tap.DONE_CHECK
    rows.append(Button(label("done_thanks"), encode(done, *refs(view))))
    rows.append(Button(label("withdraw_request"), encode(Tap.WITHDRAW, *refs(view))))
    return keyboard(*rows)


def helper_keyboard(label: Labels, view: RequestView) -> Keyboard:
    return keyboard(
        Button(label("message_to", name=view.asker.name), encode(Tap.RELAY, *refs(view))),
        Button(label("hand_back"), encode(Tap.RELEASE, *refs(view))),
    )
