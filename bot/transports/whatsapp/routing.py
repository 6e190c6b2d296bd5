"""Both apps at once: each outbound call goes to the app the person is on, groups to Telegram.

A person first seen on WhatsApp has an id from the range Telegram ids never reach (see
`storage.identities`), and the WhatsApp door knows the few below it that are WhatsApp's too; so
the id alone says where to write. Groups, pins, join requests and the command menu are Telegram's.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.delivery.budget import TELEGRAM
from bot.kernel.port import CommandMenu, OutboundPort
from bot.kernel.replies import Reply
from bot.transports.whatsapp.door import WhatsAppDoor
from bot.transports.whatsapp.port import is_whatsapp_press
from storage.identities import WHATSAPP


class RoutingPort:
    """The core's one port when Telegram and WhatsApp run together."""

    def __init__(self, telegram: OutboundPort, whatsapp: WhatsAppDoor) -> None:
        self._telegram = telegram
        self._whatsapp = whatsapp

    def app_of(self, chat_id: int) -> str:
        """Which app a chat is on: its messages take that app's send budget."""
        return WHATSAPP if self._whatsapp.reaches(chat_id) else TELEGRAM

    def _to(self, chat_id: int) -> OutboundPort:
        return self._whatsapp.port if self._whatsapp.reaches(chat_id) else self._telegram

    async def send(self, chat_id: int, reply: Reply) -> int:
        return await self._to(chat_id).send(chat_id, reply)

    async def edit(self, chat_id: int, message_id: int, reply: Reply) -> None:
        await self._to(chat_id).edit(chat_id, message_id, reply)

    async def answer_press(self, press_id: str, text: str | None = None, *, alert: bool = False) -> None:
        port: OutboundPort = self._whatsapp.port if is_whatsapp_press(press_id) else self._telegram
        await port.answer_press(press_id, text, alert=alert)

    async def send_document(self, chat_id: int, filename: str, content: bytes, caption: str | None = None) -> int:
        return await self._to(chat_id).send_document(chat_id, filename, content, caption)

    async def set_commands(self, menus: Sequence[CommandMenu]) -> None:
        await self._telegram.set_commands(menus)

    async def decide_join_request(self, chat_id: int, user_id: int, *, approve: bool) -> None:
        await self._telegram.decide_join_request(chat_id, user_id, approve=approve)

    async def pin(self, chat_id: int, message_id: int) -> None:
        await self._telegram.pin(chat_id, message_id)

    async def is_group_admin(self, chat_id: int, user_id: int) -> bool:
        return await self._telegram.is_group_admin(chat_id, user_id)
