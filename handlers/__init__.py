"""Handlers: thin functions per area that read an event, call a service, render and reply."""

from __future__ import annotations

from bot.kernel.router import Router
from handlers import (
    activities,
    announcements,
    common,
    contacts,
    groups,
    joins_and_invites,
    members_and_settings,
    neighbour_help,
    onboarding,
    privacy,
)


def build_router() -> Router:
    router = Router()
    for area in (
        common,
        onboarding,
        neighbour_help,
        activities,
        joins_and_invites,
        announcements,
        members_and_settings,
        groups,
        privacy,
        contacts,
    ):
        area.register(router)
    return router
