"""Messages to people in their own language: one now (`tell`), or to many through the outbox (`tell_many`).

Every message composed here says what it means besides its text (`Reply.topic` and `Reply.values`):
an app that cannot show it as it is, WhatsApp outside its 24-hour window, sends that topic's
approved template instead, or refuses it (`NotDeliverable`: `tell` logs it and goes on, as for a
person who cannot be reached; the outbox marks the row failed).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.delivery.messenger import Messenger
from bot.delivery.outbox import Outbox
from bot.kernel.port import NotDeliverable
from bot.kernel.replies import Keyboard, Reply
from bot.language.dates import describe
from bot.language.renderer import Renderer
from storage.models import Network, OutboxKind, Person

log = logging.getLogger(__name__)

Labels = Callable[..., str]  # label(name, **values) in one person's language
KeyboardFor = Callable[[Labels], Keyboard]  # buttons built in the recipient's language


class Post:
    def __init__(self, renderer: Renderer, messenger: Messenger, outbox: Outbox, *, zone: ZoneInfo) -> None:
        self.renderer = renderer
        self._messenger = messenger
        self._outbox = outbox
        self._zone = zone

    def labels_for(self, language: str) -> Labels:
        return functools.partial(self.renderer.label, self.renderer.language(language))

    def compose(self, person: Person, template: str, /, *, buttons: KeyboardFor | None = None, **values: Any) -> Reply:
        """A message for someone in their own language: what `tell` sends now, or the outbox later."""
        language = self.renderer.language(person.language)
        text = self.renderer.render(language, template, **values)
        keyboard = buttons(self.labels_for(language)) if buttons else ()
        return Reply(text, keyboard, topic=template, values=self.plain_values(language, values))

    def plain_values(self, language: str, values: Mapping[str, Any]) -> dict[str, str]:
        """What a message is about as plain text (`Reply.values`): texts and numbers as they are, a
        moment as the person reads it ("zaterdag 5 december om 14:00"; without the hour when the
        value `<name>_has_time` beside `<name>_at` says none was given); flags, lists and nothing
        are left out."""
        plain: dict[str, str] = {}
        for name, value in values.items():
            if value is None or isinstance(value, bool):
                continue
            if isinstance(value, str):
                plain[name] = value
            elif isinstance(value, int):
                plain[name] = str(value)
            elif isinstance(value, datetime):
                has_time = values.get(f"{name.removesuffix('_at')}_has_time", True)
                plain[name] = describe(value, self._zone, language, bool(has_time))
        return plain

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
        """Writes to someone in their own language (their private chat is their id); None when it
        could not reach them (blocked, gone, or their app cannot carry this message now)."""
        try:
            return await self._messenger.send(person.id, self.compose(person, template, buttons=buttons, **values))
        except NotDeliverable as error:
            log.warning("%s was not delivered to %s: %s", template, person.id, error)
            return None

    async def retell(
        self, person: Person, message_id: int, template: str, /, *, buttons: KeyboardFor | None = None, **values: Any
    ) -> bool:
        """Changes a message sent to someone earlier, in their language."""
        return await self._messenger.edit(
            person.id, message_id, self.compose(person, template, buttons=buttons, **values)
        )
