"""Webhooks to the bot: Meta's JSON, signed with the app secret, POSTed by workers; statuses, redelivery, the handshake.

Bodies are compact JSON with non-ASCII characters and slashes escaped, as Meta sends them, so a
bot that checks the signature over re-serialised JSON instead of the raw body fails here as it
would there. Every contact carries a business-scoped user id (`user_id`), and status webhooks a
`contacts` entry too: pywa 4.5 drops updates without them (it logs a KeyError and answers 200).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import secrets

import aiohttp

from .errors import JSON, GraphError
from .records import Delivery, OutboundMessage, Signing
from .state import State


def encode(payload: JSON) -> bytes:
    """A webhook body the way Meta writes it: compact, \\uXXXX for non-ASCII, \\/ for slashes."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=True).replace("/", "\\/").encode()


class Webhooks(State):
    """Queues webhook bodies and delivers them to webhook_url; keeps every Delivery and what the bot answered."""

    webhook_url: str | None
    app_secret: str
    verify_token: str
    signing: Signing
    auto_statuses: bool
    bsuid: bool
    deliveries: list[Delivery]

    def _init_webhooks(
        self,
        *,
        webhook_url: str | None,
        app_secret: str,
        verify_token: str,
        auto_statuses: bool,
        bsuid: bool,
        webhook_concurrency: int,
        webhook_timeout: float,
    ) -> None:
        self.webhook_url = webhook_url
        self.app_secret = app_secret
        self.verify_token = verify_token
        self.signing = "valid"  # "wrong": a signature with another secret; "missing": no header
        self.auto_statuses = auto_statuses  # sent and delivered statuses for each accepted message
        self.bsuid = bsuid  # business-scoped user ids in contacts, as Meta sends since 2026
        self.deliveries = []
        self._concurrency = webhook_concurrency
        self._timeout = webhook_timeout
        self._queue: asyncio.Queue[Delivery] = asyncio.Queue()
        self._workers: list[asyncio.Task[None]] = []
        self._http: aiohttp.ClientSession | None = None

    # ------------------------------------------------------------ public side

    @property
    def webhook_statuses(self) -> list[int]:
        """The bot's HTTP status for every delivery attempt, in order (0: no answer)."""
        return [status for delivery in self.deliveries for status in delivery.statuses]

    def sign(self, body: bytes, secret: str | None = None) -> str:
        """X-Hub-Signature-256 for body: "sha256=" and the hex HMAC-SHA256 of the raw bytes."""
        key = (self.app_secret if secret is None else secret).encode()
        return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()

    async def deliver(self, payload: JSON, *, message_id: str | None = None) -> Delivery:
        """Deliver any webhook body (an entry-wrapped payload) and wait for the bot's answer. The ids of
        the messages in it can be marked as read."""
        for entry in payload.get("entry", []):
            for change in entry.get("changes", []):
                self._inbound_ids.update(m["id"] for m in change.get("value", {}).get("messages", []) if "id" in m)
        delivery = self._enqueue(Delivery("message", payload, encode(payload), message_id))
        await delivery.done.wait()
        return delivery

    async def redeliver(self, delivery: Delivery) -> int:
        """Deliver the same body again, byte for byte, as Meta does when unsure it arrived; the bot's status."""
        await delivery.done.wait()  # a delivery still under way first
        delivery.done = asyncio.Event()
        self._enqueue(delivery, record=False)
        await delivery.done.wait()
        return delivery.statuses[-1]

    async def wait_for_webhooks(self, timeout: float = 5.0) -> bool:  # noqa: ASYNC109
        """Wait until every queued webhook has been answered; False if timeout passes first."""
        try:
            await asyncio.wait_for(self._queue.join(), timeout)
        except TimeoutError:
            return False
        return True

    async def verify_webhook(self, verify_token: str | None = None, challenge: str | None = None) -> tuple[int, str]:
        """Meta's GET handshake: hub.mode=subscribe, hub.verify_token, hub.challenge. Returns the bot's
        status and body; Meta accepts the URL only for a 200 whose body is the challenge."""
        if self.webhook_url is None or self._http is None:
            raise RuntimeError("FakeGraphAPI has no webhook_url, or is not started")
        params = {
            "hub.mode": "subscribe",
            "hub.verify_token": self.verify_token if verify_token is None else verify_token,
            "hub.challenge": challenge or str(secrets.randbelow(10**10)),
        }
        async with self._http.get(self.webhook_url, params=params) as response:
            return response.status, await response.text()

    # ------------------------------------------------------------ the payloads

    def _envelope(self, value: JSON) -> JSON:
        return {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": self.waba_id,
                    "changes": [
                        {
                            "value": {
                                "messaging_product": "whatsapp",
                                "metadata": {
                                    "display_phone_number": self.display_phone_number,
                                    "phone_number_id": self.phone_id,
                                },
                                **value,
                            },
                            "field": "messages",
                        }
                    ],
                }
            ],
        }

    def _contact(self, wa_id: str, *, profile: bool = True) -> JSON:
        contact: JSON = {"profile": {"name": self.names[wa_id]}} if profile and wa_id in self.names else {}
        contact["wa_id"] = wa_id
        if self.bsuid:
            contact["user_id"] = self.bsuid_for(wa_id)
        return contact

    def _send_status(self, message: OutboundMessage, status: str, error: GraphError | None = None) -> Delivery:
        """Queue a status webhook (sent, delivered, read, failed) for a message the bot sent."""
        entry: JSON = {
            "id": message.id,
            "status": status,
            "timestamp": self._timestamp(),
            "recipient_id": message.wa_id,
        }
        if self.bsuid:
            entry["recipient_user_id"] = self.bsuid_for(message.wa_id)
        if error is not None:
            entry["errors"] = [error.webhook_error()]
        elif message.template is not None:
            template = self.templates.get((message.template.name, message.template.language))
            category = "utility" if template is None else template.category
            entry["pricing"] = {"billable": True, "pricing_model": "PMP", "type": "regular", "category": category}
        else:
            free = {"billable": False, "pricing_model": "PMP", "type": "free_customer_service", "category": "service"}
            entry["pricing"] = free
        value: JSON = {"statuses": [entry]}
        if self.bsuid:
            value["contacts"] = [self._contact(message.wa_id, profile=False)]
        message.statuses.append(status)
        payload = self._envelope(value)
        return self._enqueue(Delivery("status", payload, encode(payload)))

    # ------------------------------------------------------------- delivering

    def _enqueue(self, delivery: Delivery, *, record: bool = True) -> Delivery:
        if record:
            self.deliveries.append(delivery)
        self._queue.put_nowait(delivery)
        return delivery

    def _headers(self, body: bytes) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "User-Agent": "facebookexternalua"}
        if self.signing == "valid":
            headers["X-Hub-Signature-256"] = self.sign(body)
        elif self.signing == "wrong":
            headers["X-Hub-Signature-256"] = self.sign(body, secret=self.app_secret + "-not")
        return headers

    async def _post(self, delivery: Delivery) -> None:
        if self.webhook_url is None or self._http is None:
            return
        headers = self._headers(delivery.body)
        delivery.signatures.append(headers.get("X-Hub-Signature-256"))
        try:
            async with self._http.post(self.webhook_url, data=delivery.body, headers=headers) as response:
                await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError):
            status = 0
        delivery.statuses.append(status)

    async def _work(self) -> None:
        while True:
            delivery = await self._queue.get()
            try:
                await self._post(delivery)
            except Exception as exc:  # a bug in the fake itself: keep it for the test to see
                self.internal_errors.append(f"webhook delivery: {exc!r}")
            finally:
                delivery.done.set()
                self._queue.task_done()
                self._change.fire()

    async def _start_webhooks(self) -> None:
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self._timeout))
        self._workers = [asyncio.create_task(self._work()) for _ in range(self._concurrency)]

    async def _stop_webhooks(self) -> None:
        for worker in self._workers:
            worker.cancel()
        for worker in self._workers:
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        self._workers = []
        while not self._queue.empty():  # nobody will deliver these: wake whoever waits for them
            self._queue.get_nowait().done.set()
            self._queue.task_done()
        if self._http is not None:
            await self._http.close()
            self._http = None
