"""What WhatsApp users do: write, tap a reply button, pick a list row, tap a template button, read; each a webhook."""

from __future__ import annotations

from .errors import JSON
from .records import Delivery, OutboundMessage
from .webhooks import Webhooks
from .window import Conversations

DEFAULT_NAME = "Anna"
"""The profile name of a user whose name no test gave."""


class Users(Conversations, Webhooks):
    """Each action opens the user's 24-hour window (by the fake's clock), is delivered to webhook_url,
    and returns the Delivery once the bot answered it (its .status, .message_id, .body)."""

    def set_name(self, wa_id: str, name: str) -> None:
        """The profile name webhooks give for wa_id."""
        self.names[wa_id] = name

    async def send_text_from_user(
        self, wa_id: str, text: str, *, name: str | None = None, reply_to: str | None = None
    ) -> Delivery:
        """wa_id writes text to the business (quoting the bot's message reply_to, if given)."""
        message: JSON = {"type": "text", "text": {"body": text}}
        if reply_to is not None:
            message["context"] = {"from": self.display_phone_number, "id": reply_to}
        return await self._user_message(wa_id, message, name)

    async def tap_button(
        self, wa_id: str, message: OutboundMessage, button_id: str, *, name: str | None = None
    ) -> Delivery:
        """wa_id taps the reply button button_id under the bot's message."""
        titles = dict(message.buttons)
        if button_id not in titles:
            raise ValueError(f"message {message.id} has no reply button {button_id!r}: {list(titles)}")
        reply = {"type": "button_reply", "button_reply": {"id": button_id, "title": titles[button_id]}}
        return await self._user_message(wa_id, self._interactive(message, reply), name)

    async def forge_tap(
        self, wa_id: str, message: OutboundMessage, button_id: str, *, title: str = "?", name: str | None = None
    ) -> Delivery:
        """wa_id's app reports a tap on a reply button with any id under the bot's message: how a
        forged or stale button (one the message does not have) reaches the bot."""
        reply = {"type": "button_reply", "button_reply": {"id": button_id, "title": title}}
        return await self._user_message(wa_id, self._interactive(message, reply), name)

    async def choose_row(
        self, wa_id: str, message: OutboundMessage, row_id: str, *, name: str | None = None
    ) -> Delivery:
        """wa_id opens the bot's list message and picks row row_id."""
        row = next((row for row in message.rows if row.id == row_id), None)
        if row is None:
            raise ValueError(f"message {message.id} has no list row {row_id!r}: {message.row_ids}")
        chosen: JSON = {"id": row.id, "title": row.title}
        if row.description is not None:
            chosen["description"] = row.description
        return await self._user_message(
            wa_id, self._interactive(message, {"type": "list_reply", "list_reply": chosen}), name
        )

    async def tap_template_button(
        self, wa_id: str, message: OutboundMessage, index: int, *, name: str | None = None
    ) -> Delivery:
        """wa_id taps quick-reply button `index` of the bot's template message (type "button" webhook,
        with the payload the bot gave that button, else its text)."""
        if message.template is None:
            raise ValueError(f"message {message.id} is not a template message")
        template = self.templates[(message.template.name, message.template.language)]
        text = template.buttons[index]
        button = {"text": text, "payload": message.template.button_payloads.get(index, text)}
        context = {"from": self.display_phone_number, "id": message.id}
        return await self._user_message(wa_id, {"type": "button", "button": button, "context": context}, name)

    async def read_by_user(self, message: OutboundMessage) -> Delivery:
        """The user opens the chat: a `read` status webhook for the bot's message."""
        delivery = self._send_status(message, "read")
        await delivery.done.wait()
        return delivery

    def _interactive(self, message: OutboundMessage, reply: JSON) -> JSON:
        context = {"from": self.display_phone_number, "id": message.id}
        return {"type": "interactive", "interactive": reply, "context": context}

    async def _user_message(self, wa_id: str, message: JSON, name: str | None) -> Delivery:
        if self.webhook_url is None:
            raise RuntimeError("FakeGraphAPI has no webhook_url to deliver the user's message to")
        if name is not None:
            self.names[wa_id] = name
        self.names.setdefault(wa_id, DEFAULT_NAME)
        self.open_window(wa_id)
        wamid = self._new_wamid(wa_id)
        self._inbound_ids.add(wamid)
        sent: JSON = {"from": wa_id}
        if self.bsuid:
            sent["from_user_id"] = self.bsuid_for(wa_id)
        sent |= {"id": wamid, "timestamp": self._timestamp(), **message}
        return await self.deliver(
            self._envelope({"contacts": [self._contact(wa_id)], "messages": [sent]}), message_id=wamid
        )
