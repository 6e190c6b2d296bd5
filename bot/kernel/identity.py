"""Who the bot is in its chat app: its username, known from settings or learned when the door starts."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class BotIdentity:
    """Set once by the door that learns it (Telegram's getMe); read by routing and invite links."""

    username: str = ""
