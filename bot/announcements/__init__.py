"""Announcements: a buurtverbinder's message to every member of a network, or of the village."""

from __future__ import annotations

from bot.announcements.service import Announcements, Queued

__all__ = ["Announcements", "Queued"]
