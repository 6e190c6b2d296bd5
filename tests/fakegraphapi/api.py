"""FakeGraphAPI itself: its parts (state, checks, window, limits, faults, webhooks, users, waiting, server) together."""

from __future__ import annotations

from .limits import PAIR_BURST, PAIR_INTERVAL, THROUGHPUT
from .records import Clock, SystemClock, Via
from .server import Server
from .users import Users
from .waiting import Waiting


class FakeGraphAPI(Server, Users, Waiting):
    """An in-process WhatsApp Cloud API for one business phone number; see the package docstring."""

    def __init__(
        self,
        token: str = "EAAG-test-token",
        *,
        phone_id: str = "106540352242922",
        display_phone_number: str = "31850000000",
        waba_id: str = "102290129340398",
        app_secret: str = "test-app-secret",
        verify_token: str = "test-verify-token",
        webhook_url: str | None = None,
        clock: Clock | None = None,
        enforce_window: bool = True,
        window_refusal: Via = "response",
        enforce_rate_limits: bool = False,
        throughput: float | None = THROUGHPUT,
        pair_interval: float | None = PAIR_INTERVAL,
        pair_burst: int = PAIR_BURST,
        auto_statuses: bool = True,
        bsuid: bool = True,
        webhook_concurrency: int = 1,
        webhook_timeout: float = 20.0,
    ) -> None:
        super().__init__(
            token=token,
            phone_id=phone_id,
            display_phone_number=display_phone_number,
            waba_id=waba_id,
            clock=clock or SystemClock(),
        )
        self._init_conversations(enforce_window=enforce_window, window_refusal=window_refusal)
        self._init_limits(
            enforce_rate_limits=enforce_rate_limits,
            throughput=throughput,
            pair_interval=pair_interval,
            pair_burst=pair_burst,
        )
        self._init_faults()
        self._init_webhooks(
            webhook_url=webhook_url,
            app_secret=app_secret,
            verify_token=verify_token,
            auto_statuses=auto_statuses,
            bsuid=bsuid,
            webhook_concurrency=webhook_concurrency,
            webhook_timeout=webhook_timeout,
        )
        self._init_server()
