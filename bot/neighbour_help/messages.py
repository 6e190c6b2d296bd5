"""The help messages that go to other people than the one tapping: helpers, askers, buurtverbinders.

Used by the help handlers and by the help jobs alike, so a message looks the same whoever
triggers it. Every word is in templates/*/help/.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from bot.delivery.post import Labels, Post
from bot.kernel.buttons import Tap, encode
from bot.kernel.clock import Clock
from bot.kernel.replies import Button, Keyboard, keyboard
from bot.neighbour_help.service import Help
from bot.neighbour_help.views import RequestView, asker_keyboard, claim_button, help_ref, refs, request_values
from storage.models import OutboxKind, Person

PersonLookup = Callable[[int], Awaitable[Person | None]]


class HelpMessages:
    def __init__(self, post: Post, clock: Clock, help_: Help, person: PersonLookup) -> None:
        self._post = post
        self._clock = clock
        self._help = help_
        self._person = person

    async def asker_person(self, view: RequestView) -> Person | None:
        """Who hears about the request on the asker's side: the asker, or the buurtverbinder who
        entered it for a resident who phoned."""
        if view.asker.person is not None:
            return view.asker.person
        if view.request.entered_by is not None:
            return await self._person(view.request.entered_by)
        return None

    async def post_to_helpers(self, view: RequestView, helpers: Sequence[Person]) -> int:
        """Queues the request with an "Ik help" button for each helper; returns how many. Through the
        outbox, like every message to many: within the app's limits, not lost if the bot stops
        halfway, and kept with where each copy landed (`Help.postings`). Copies not sent yet when the
        request is taken are not sent at all."""
        return await self._post.tell_many(
            view.network,
            helpers,
            "help/posted",
            kind=OutboxKind.HELP_REQUEST,
            ref=help_ref(view.request.id or 0),
            buttons=lambda label: claim_button(label, view),
            **request_values(view, reveal_name=False),
        )

    async def show_taken(self, view: RequestView, *, besides: int) -> None:
        """Every posted copy of the request (but the helper's own) now says it is taken."""
        for chat_id, message_id in await self._help.postings(view.network, view.request.id or 0):
            if chat_id == besides:
                continue
            person = await self._person(chat_id)
            if person is not None:
                await self._post.retell(
                    person, message_id, "help/posted_taken", **request_values(view, reveal_name=False)
                )

    async def tell_asker(self, view: RequestView, template: str, *, with_buttons: bool = True, **extra: Any) -> None:
        person = await self.asker_person(view)
        if person is None:
            return
        buttons = (lambda label: asker_keyboard(label, view)) if with_buttons else None
        await self._post.tell(person, template, buttons=buttons, **request_values(view, reveal_name=True), **extra)

    async def escalation(self, verbinder: Person, view: RequestView) -> None:
        hours = (self._clock.now() - view.request.created_at).total_seconds() // 3600
        await self._post.tell(
            verbinder,
            "help/escalated",
            buttons=lambda label: keyboard(Button(label("i_follow_up"), encode(Tap.FOLLOW, *refs(view)))),
            hours=int(hours),
            **request_values(view, reveal_name=True),
        )

    async def follow_up(self, view: RequestView) -> None:
        person = await self.asker_person(view)
        if person is None:
            return

        def buttons(label: Labels) -> Keyboard:
            return keyboard(
                Button(label("yes_it_worked"), encode(Tap.DONE, *refs(view))),
                Button(label("not_yet"), encode(Tap.NOT_YET, *refs(view))),
                Button(label("withdraw_request"), encode(Tap.WITHDRAW, *refs(view))),
            )

        await self._post.tell(person, "help/follow_up", buttons=buttons, **request_values(view, reveal_name=True))

    async def expired(self, view: RequestView) -> None:
        await self.tell_asker(view, "help/expired", with_buttons=False)
