"""Messages to people in their own language: one now (`tell`), or to many through the outbox (`tell_many`)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

from bot.delivery.messenger import Messenger
from bot.delivery.outbox import Outbox
from bot.kernel.replies import Keyboard, Reply
from bot.language.renderer import Renderer
from storage.models import Network, OutboxKind, Person

Labels = Callable[..., str]  # label(name, **values) in one person's language
KeyboardFor = Callable[[Labels], Keyboard]  # buttons built in the recipient's language


class Post:
    def __init__(self, renderer: Renderer, messenger: Messenger, outbox: Outbox) -> None:
        self.renderer = renderer
        self._messenger = messenger
        self._outbox = outbox

    def labels_for(self, language: str) -> Labels:
        return functools.partial(self.renderer.label, self.renderer.language(language))

    def compose(self, person: Person, template: str, /, *, buttons: KeyboardFor | None = None, **values: Any) -> Reply:
        """A message for someone in their own language: what `tell` sends now, or the outbox later."""
        language = self.renderer.language(person.language)
        text = self.renderer.render(language, template, **values)
        keyboard = buttons(self.labels_for(language)) if buttons else ()
        return Reply(text, keyboard)

    async def tell_many(
        self,
        network: Network,
        people: Iterable[Person],
        template: str,
        /,
        *,
        kind: OutboxKind,
        ref: str,
        buttons: KeyboardFor | None = None,
        **values: Any,
    ) -> int:
        """Queues the message for each person the bot can reach, each in their own language;
        returns how many. The outbox sends them within the app's limits, not lost if the bot
        stops halfway, and keeps where each one landed (looked up by `kind` and `ref`)."""
        messages = [
            (person.id, self.compose(person, template, buttons=buttons, **values))
            for person in people
            if person.unreachable_at is None
        ]
        return await self._outbox.queue(network, messages, kind=kind, ref=ref)

    async def tell(
        self, person: Person, template: str, /, *, buttons: KeyboardFor | None = None, **values: Any
    ) -> int | None:
        """Writes to someone in their own language (their private chat is their id)."""
        return await self._messenger.send(person.id, self.compose(person, template, buttons=buttons, **values))

    async def retell(
        self, person: Person, message_id: int, template: str, /, *, buttons: KeyboardFor | None = None, **values: Any
    ) -> bool:
        """Changes a message sent to someone earlier, in their language."""
        return await self._messenger.edit(
            person.id, message_id, self.compose(person, template, buttons=buttons, **values)
        )
