"""Webhooks: POSTing queued updates to the bot's listener like Telegram does, one at a time, retried until a 200."""

from __future__ import annotations

import asyncio
import contextlib

import aiohttp

from .common import JSON
from .state import State


class Webhooks(State):
    """The delivering side of setWebhook (the method itself is in methods.py)."""

    webhook_statuses: list[int]

    def _init_webhooks(self) -> None:
        self.webhook_statuses = []  # HTTP status of each delivery push_webhooks_to made (0: no answer)
        self._pusher: asyncio.Task[None] | None = None

    def push_webhooks_to(self, local_url: str) -> None:
        """Delivers queued updates to the webhook like Telegram does, but to `local_url`.

        The URL given to setWebhook must be https, so tests route its deliveries to the bot's
        local listener. One update at a time, in order, with the secret token from setWebhook;
        an update is dropped from the queue only after a 200, and retried otherwise.
        """

        async def push() -> None:
            async with aiohttp.ClientSession() as session:
                while not self._closing:
                    if not self.webhook["url"] or not self._updates:
                        await self._update_signal.wait(0.5)
                        continue
                    update = self._updates[0]
                    secret = self.webhook.get("secret_token")
                    headers = {} if secret is None else {"X-Telegram-Bot-Api-Secret-Token": str(secret)}
                    try:
                        async with session.post(local_url, json=update, headers=headers) as response:
                            status = response.status
                    except aiohttp.ClientError:
                        status = 0
                    self.webhook_statuses.append(status)
                    if status == 200:
                        if self._updates and self._updates[0] is update:
                            self._updates.pop(0)
                        self._change_signal.fire()
                    else:
                        await asyncio.sleep(0.2)

        self._pusher = asyncio.create_task(push())

    async def deliver_webhook(
        self,
        url: str,
        update: JSON,
        secret_token: str | None = None,
    ) -> int:
        """POST one update to a webhook like Telegram does; returns the HTTP status."""
        update = dict(update)
        if "update_id" not in update:
            update["update_id"] = self._next_update_id
            self._next_update_id += 1
        headers = {} if secret_token is None else {"X-Telegram-Bot-Api-Secret-Token": secret_token}
        async with aiohttp.ClientSession() as session, session.post(url, json=update, headers=headers) as response:
            return response.status

    async def _stop_pushing(self) -> None:
        if self._pusher is not None:
            self._pusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pusher
