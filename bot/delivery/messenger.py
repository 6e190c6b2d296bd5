"""Sends interactive replies through the door, within each app's send budget, riding out rate limits and hiccups."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from bot.delivery.budget import ChatApps, RateBudget, SendBudgets
from bot.kernel.port import (
    BlockedByUser,
    ChatNotFound,
    DoorError,
    MessageGone,
    MessageNotModified,
    OutboundPort,
    PairRateLimited,
    RateLimited,
    TransientDoorError,
)
from bot.kernel.replies import Reply

log = logging.getLogger(__name__)

ATTEMPTS = 4
BACKOFF_S = 0.5  # doubled after every transient failure
LONGEST_WAIT_S = 30.0  # an interactive reply will not wait longer than this for a rate limit

T = TypeVar("T")


class Messenger:
    """The core's way out: one door attached, retries handled, unreachable people logged.

    Every message sent or edited takes a slot of its app's send budget first (replies go before
    that app's outbox, and wait briefly when its second is full, or for their own chat); answering
    a button press and deciding a join request are not messages and do not.
    """

    def __init__(
        self,
        on_unreachable: Callable[[int], Awaitable[None]] | None = None,
        budget: SendBudgets | RateBudget | None = None,
    ) -> None:
        self._port: OutboundPort | None = None
        self._on_unreachable = on_unreachable
        self._budgets = SendBudgets.one(budget) if isinstance(budget, RateBudget) else budget

    def attach(self, port: OutboundPort) -> None:
        """The door to send through; a port that knows each chat's app (both apps at once) says
        which budget a chat's messages take."""
        self._port = port
        if self._budgets is not None and isinstance(port, ChatApps):
            self._budgets.route(port.app_of)

    @property
    def port(self) -> OutboundPort:
        if self._port is None:
            raise RuntimeError("no door attached to the messenger")
        return self._port

    async def send(self, chat_id: int, reply: Reply) -> int | None:
        """The message id, or None when the chat cannot be reached (blocked, gone)."""
        try:
            return await self._with_retries(lambda: self.port.send(chat_id, reply), chat_id=chat_id, counted=True)
        except (BlockedByUser, ChatNotFound) as error:
            log.info("chat %s unreachable: %s", chat_id, error)
            if isinstance(error, BlockedByUser) and self._on_unreachable is not None:
                await self._on_unreachable(chat_id)
            return None

    async def send_document(
        self, chat_id: int, filename: str, content: bytes, caption: str | None = None
    ) -> int | None:
        try:
            return await self._with_retries(
                lambda: self.port.send_document(chat_id, filename, content, caption), chat_id=chat_id, counted=True
            )
        except (BlockedByUser, ChatNotFound) as error:
            log.info("chat %s unreachable for a file: %s", chat_id, error)
            return None

    async def edit(self, chat_id: int, message_id: int, reply: Reply) -> bool:
        try:
            await self._with_retries(lambda: self.port.edit(chat_id, message_id, reply), chat_id=chat_id, counted=True)
        except MessageNotModified:
            return True
        except MessageGone:
            return False
        except (BlockedByUser, ChatNotFound) as error:
            log.info("chat %s unreachable for an edit: %s", chat_id, error)
            return False
        return True

    async def decide_join_request(self, chat_id: int, user_id: int, *, approve: bool) -> bool:
        try:
            await self._with_retries(
                lambda: self.port.decide_join_request(chat_id, user_id, approve=approve), chat_id=chat_id
            )
        except DoorError as error:  # the request was withdrawn or already handled in the group
            log.info("join request of %s in %s could not be decided: %s", user_id, chat_id, error)
            return False
        return True

    async def answer(self, press_id: str, text: str | None = None, *, alert: bool = False) -> None:
        try:
            await self._with_retries(lambda: self.port.answer_press(press_id, text, alert=alert))
        except (BlockedByUser, ChatNotFound, MessageGone) as error:
            # A press answered too late (Telegram allows about 15 s) is harmless.
            log.info("could not answer button press %s: %s", press_id, error)

    async def _with_retries(
        self, call: Callable[[], Awaitable[T]], *, chat_id: int | None = None, counted: bool = False
    ) -> T:
        """Makes the call, again after a rate limit or a hiccup; a `counted` call (a message) takes a
        slot of its chat's app's budget for each attempt. A rate limit pauses that app's budget, or
        holds back only this chat when it is about this chat alone (`PairRateLimited`)."""
        delay = BACKOFF_S
        budget = None if chat_id is None or self._budgets is None else self._budgets.of(chat_id)
        for attempt in range(1, ATTEMPTS + 1):
            try:
                if budget is not None and chat_id is not None and counted:
                    return await self._within(budget, chat_id, call)
                return await call()
            except RateLimited as error:
                if budget is not None and chat_id is not None and isinstance(error, PairRateLimited):
                    budget.back_off(chat_id, error.retry_after)
                elif budget is not None:
                    budget.pause(error.retry_after)  # the app's limit holds for every message
                if attempt == ATTEMPTS or error.retry_after > LONGEST_WAIT_S:
                    raise
                log.warning("rate limited; waiting %ss", error.retry_after)
                await asyncio.sleep(error.retry_after)
            except TransientDoorError as error:
                if attempt == ATTEMPTS:
                    raise
                log.warning("transient failure (attempt %s): %s", attempt, error)
                await asyncio.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")

    @staticmethod
    async def _within(budget: RateBudget, chat_id: int, call: Callable[[], Awaitable[T]]) -> T:
        await budget.for_reply(chat_id)
        try:
            return await call()
        finally:
            budget.landed()
