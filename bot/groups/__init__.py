"""Telegram groups of a street: linking them to a network and letting members in."""

from __future__ import annotations

from bot.groups.service import Groups

__all__ = ["Groups"]
