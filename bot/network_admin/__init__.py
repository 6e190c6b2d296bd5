"""Network administration: members, roles, a network's settings, statistics and their charts, export."""

from __future__ import annotations

from bot.network_admin.service import (
    ESCALATION_CHOICES,
    REMINDER_CHOICES,
    RETENTION_CHOICES,
    Chart,
    JoinPolicy,
    NetworkAdmin,
    Statistics,
)
from bot.network_admin.settings import NetworkSettings, settings_of

__all__ = [
    "ESCALATION_CHOICES",
    "REMINDER_CHOICES",
    "RETENTION_CHOICES",
    "Chart",
    "JoinPolicy",
    "NetworkAdmin",
    "NetworkSettings",
    "Statistics",
    "settings_of",
]
