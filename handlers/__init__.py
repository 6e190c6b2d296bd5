"""Handlers: thin functions per area that read an event, call a service, render and reply."""

from __future__ import annotations

from bot.router import Router
from handlers import activities, admin, announcements, common, help, network_admin, onboarding, privacy


def build_router() -> Router:
    router = Router()
    for area in (common, onboarding, help, activities, admin, announcements, network_admin, privacy):
        area.register(router)
    return router
