"""What a handler gets: the event, who sent it, where they are in a flow, and ways to reply."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.application.village import Village
from bot.delivery.post import KeyboardFor
from bot.joining import Standing
from bot.kernel.buttons import BadButton, Pressed
from bot.kernel.events import ButtonPress, Event, JoinRequest, Message
from bot.kernel.flows import Flow, Step, as_read
from bot.kernel.refusals import Reason, Refusal
from bot.kernel.replies import Keyboard, Reply, html_to_plain
from storage.models import Person
from storage.views import FlowState


@dataclass
class Context:
    village: Village
    event: Event
    standing: Standing
    flow: FlowState | None
    now: datetime
    argument: str = ""  # what followed a command: `/start <argument>`
    pressed: Pressed | None = None
    answered: bool = field(default=False)
    handler: str = ""  # the handler the router chose, named in a log line if it fails
    # The flow when this update began (for a replay: before its first handling), kept with each
    # step it saves so that handling it again starts from there too.
    _started_from: FlowState | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.flow = as_read(self.flow, self.step_key)
        self._started_from = self.flow

    @property
    def person(self) -> Person:
        return self.standing.person

    @property
    def lang(self) -> str:
        return self.village.renderer.language(self.person.language)

    @property
    def chat_id(self) -> int:
        """Where replies go: the chat of the event (for a join request: the asker's private chat)."""
        if isinstance(self.event, JoinRequest):
            return self.event.private_chat_id
        return self.event.chat.id

    @property
    def step_key(self) -> str | None:
        """What keys the steps this update applies (storage.steps), so a replay after a crash
        finds them: its update id. None for a console line, which is never handled twice."""
        update_id = self.event.update_id
        return None if update_id is None else f"update:{update_id}"

    @property
    def text(self) -> str:
        return self.event.text.strip() if isinstance(self.event, Message) else ""

    def label(self, name: str, /, **values: Any) -> str:
        return self.village.renderer.label(self.lang, name, **values)

    def render(self, template: str, /, **values: Any) -> Reply:
        return Reply(self.village.renderer.render(self.lang, template, **values))

    def int_arg(self, index: int = 0) -> int:
        """A number the pressed button carried; a forged or stale one is refused."""
        if self.pressed is None:
            raise Refusal(Reason.STALE_BUTTON)
        try:
            return self.pressed.int_arg(index)
        except BadButton as error:
            raise Refusal(Reason.STALE_BUTTON) from error

    def in_flow(self, flow: Flow, *steps: Step) -> FlowState:
        """The current flow state if it is `flow` (at one of `steps`); otherwise the button is stale."""
        if self.flow is None or self.flow.flow != flow or (steps and self.flow.step not in steps):
            raise Refusal(Reason.STALE_BUTTON)
        return self.flow

    # --- replying ---------------------------------------------------------------------------

    async def reply(self, template: str, /, *, buttons: Keyboard = (), **values: Any) -> int | None:
        text = self.village.renderer.render(self.lang, template, **values)
        return await self.village.messenger.send(self.chat_id, Reply(text, buttons))

    async def replace(self, template: str, /, *, buttons: Keyboard = (), **values: Any) -> None:
        """Shows the outcome in place of the message whose button was pressed."""
        text = self.village.renderer.render(self.lang, template, **values)
        if isinstance(self.event, ButtonPress) and await self.village.messenger.edit(
            self.chat_id, self.event.message_id, Reply(text, buttons)
        ):
            return
        await self.village.messenger.send(self.chat_id, Reply(text, buttons))

    async def notice(self, template: str | None = None, /, *, alert: bool = False, **values: Any) -> None:
        """Answers a button press: a short toast, or a pop-up the user must close."""
        if not isinstance(self.event, ButtonPress) or self.answered:
            return
        self.answered = True
        text = None
        if template is not None:
            text = html_to_plain(self.village.renderer.render(self.lang, template, **values))[:200]
        await self.village.messenger.answer(self.event.press_id, text, alert=alert)

    async def tell(
        self, person: Person, template: str, /, *, buttons: KeyboardFor | None = None, **values: Any
    ) -> int | None:
        """Writes to someone else, in their own language (their private chat is their id)."""
        return await self.village.post.tell(person, template, buttons=buttons, **values)

    # --- flows ------------------------------------------------------------------------------

    async def enter(self, flow: Flow, step: Step, /, **data: Any) -> None:
        await self.village.flows.enter(
            self.person.id,
            self.chat_id,
            flow,
            step,
            self.now,
            step_key=self.step_key,
            started_from=self._started_from,
            **data,
        )

    async def leave_flow(self) -> bool:
        return await self.village.flows.leave(
            self.person.id, self.chat_id, now=self.now, step_key=self.step_key, started_from=self._started_from
        )
