"""Activity messages to other people than the one tapping: the posted invitation, changes, proposals."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from bot.activities.service import Activities
from bot.activities.views import ActivityView, activity_values, answer_keyboard, invitation_ref, refs
from bot.delivery.post import Labels, Post
from bot.kernel.buttons import Tap, encode
from bot.kernel.replies import Button, Keyboard, keyboard
from storage.models import OutboxKind, Person

PersonLookup = Callable[[int], Awaitable[Person | None]]


class ActivityMessages:
    def __init__(self, post: Post, activities: Activities, person: PersonLookup) -> None:
        self._post = post
        self._activities = activities
        self._person = person

    async def post_to_audience(self, view: ActivityView, people: Sequence[Person]) -> int:
        """Queues the invitation, with its answer buttons, for each of `people`; returns how many.

        The outbox sends them within the app's limits and keeps where each one landed, so the
        organiser's copy among them can show live counts (`Activities.postings`).
        """
        return await self._post.tell_many(
            view.network,
            people,
            "activity/posted",
            kind=OutboxKind.EVENT_INVITATION,
            ref=invitation_ref(view.event.id or 0),
            buttons=lambda label: answer_keyboard(label, view),
            **activity_values(view),
        )

    async def tell_responders(self, view: ActivityView, template: str, *, besides: int) -> int:
        """Queues the notice (moved, cancelled) for everyone who answered the activity, but `besides`
        who made the change and those the bot cannot reach; returns how many. Through the outbox,
        like every message to many: within the app's limits, and not lost if the bot stops halfway."""
        responders = await self._activities.responders(view.network, view.event.id or 0)
        return await self._post.tell_many(
            view.network,
            (person for person in responders if person.id != besides),
            template,
            kind=OutboxKind.EVENT_NOTICE,
            ref=str(view.event.id),
            **activity_values(view),
        )

    async def proposal(self, verbinder: Person, view: ActivityView, proposer: str) -> None:
        network_id, event_id = refs(view)

        def buttons(label: Labels) -> Keyboard:
            return keyboard(
                [
                    Button(label("publish"), encode(Tap.EVENT_APPROVE, network_id, event_id)),
                    Button(label("decline"), encode(Tap.EVENT_DECLINE, network_id, event_id)),
                ]
            )

        await self._post.tell(
            verbinder, "activity/proposed", buttons=buttons, proposer=proposer, **activity_values(view)
        )

    async def refresh_organiser_copy(self, view: ActivityView, message_ids: Sequence[int]) -> None:
        """The organiser's own copies (`message_ids`, read with the answer) show the live counts; one
        edit per answer, in one chat."""
        if not message_ids:
            return
        organiser = await self._person(view.event.created_by)
        if organiser is None:
            return
        organiser_view = await self._activities.view(
            view.network.id or 0, view.event.id or 0, organiser.id, network=view.network
        )
        for message_id in message_ids:
            await self._post.retell(
                organiser,
                message_id,
                "activity/line",
                buttons=lambda label: answer_keyboard(label, organiser_view, manage=True),
                **activity_values(organiser_view),
            )
