"""FakeBotAPI itself: the parts (state, updates, waiting, limits, faults, methods, webhooks, server) put together."""

from __future__ import annotations

from .server import Server
from .updates import Updates
from .waiting import Waiting


class FakeBotAPI(Server, Updates, Waiting):
    """An in-process Telegram Bot API for one bot token; see the package docstring."""

    def __init__(
        self,
        token: str = "123456:TEST",
        *,
        bot_username: str = "buurtbot_test_bot",
        bot_first_name: str = "Buurtbot",
        enforce_rate_limits: bool = False,
        first_update_id: int | None = None,
    ) -> None:
        super().__init__(
            token, bot_username=bot_username, bot_first_name=bot_first_name, first_update_id=first_update_id
        )
        self._init_limits(enforce_rate_limits)
        self._init_faults()
        self._init_webhooks()
        self._init_methods()
        self._init_server()
