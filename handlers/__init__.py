"""Handlers: thin functions per area that read an event, call a service, render and reply."""

from __future__ import annotations

from bot.router import Router
from handlers import activities, admin, announcements, common, groups, help, network_admin, onboarding, privacy


def build_router() -> Router:
    router = Router()
    for area in (common, onboarding, help, activities, admin, announcements, network_admin, groups, privacy):
        area.register(router)
    return router
