"""Activities: creating and proposing them, answers and the waiting list, reminders, calendar files."""

from __future__ import annotations

from bot.activities.messages import ActivityMessages
from bot.activities.service import DESCRIPTION_MAX, PLACE_MAX, RSVP_STEP, TITLE_MAX, Activities, Answer, EventStatus
from bot.activities.views import ActivityView, Draft, activity_values, answer_keyboard, invitation_ref, refs

__all__ = [
    "DESCRIPTION_MAX",
    "PLACE_MAX",
    "RSVP_STEP",
    "TITLE_MAX",
    "Activities",
    "ActivityMessages",
    "ActivityView",
    "Answer",
    "Draft",
    "EventStatus",
    "activity_values",
    "answer_keyboard",
    "invitation_ref",
    "refs",
]
