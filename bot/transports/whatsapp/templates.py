"""WhatsApp's message templates: the approved template that carries each unprompted message outside the 24-hour window.

WhatsApp lets a business write freely only within 24 hours of the person's last message; outside
that window only templates Meta approved beforehand go through. Every message that reaches a person
unprompted has one here, found by its topic (the core's template name, `Reply.topic`): Meta's name
for it, the values (`Reply.values`) that fill its placeholders {{1}}, {{2}}, … in that order, and its
quick-reply button, whose tap reopens the window (the door then shows the message itself, with its
buttons; see port.py).

The words are in the templates folder, like every word a resident reads:
`<language>/whatsapp/template/<topic>.html` is the body, written with the values' names; rendered with
"{{1}}", "{{2}}", … in their place it is the body Meta approves. `whatsapp/button_<kind>.html` is the
button, `whatsapp/template_examples.html` the sample values Meta's review asks for.
docs/whatsapp-templates.json, what to submit to Meta, is made from these by `submission.py`.

A value becomes a parameter as WhatsApp takes one (`parameter`): no line breaks, tabs or runs of
spaces, no formatting, at most PARAM_MAX characters, never empty.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from bot.transports.whatsapp.render import length, neutralise, shorten

CATEGORY = "UTILITY"  # messages about something the person takes part in: not marketing
OPEN_PAYLOAD = "wa:open"  # the quick-reply button's payload; never a core button's data (those are `Tap` values)
PARAM_MAX = 200  # characters per parameter: with the body's own words, within the body's 1,024
VIEW = "view"  # "Bekijk het": the message itself follows the tap
OPEN = "open"  # "Open Buurtbot"
EMPTY = "–"  # Meta refuses an empty parameter
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class WhatsAppTemplate:
    topic: str  # the core's template name, e.g. "help/helper_found"
    name: str  # Meta's name: lower case letters, digits and underscores
    params: tuple[str, ...]  # the names in `Reply.values` for {{1}}, {{2}}, …
    button: str = VIEW

    def parameters(self, values: Mapping[str, str] | None) -> list[str]:
        """The values for {{1}}, {{2}}, …, each made a parameter WhatsApp takes."""
        values = values or {}
        return [parameter(values.get(name)) for name in self.params]

    def missing(self, values: Mapping[str, str] | None) -> list[str]:
        return [name for name in self.params if not (values or {}).get(name)]


def _templates(*templates: WhatsAppTemplate) -> dict[str, WhatsAppTemplate]:
    return {template.topic: template for template in templates}


T = WhatsAppTemplate
TEMPLATES: Mapping[str, WhatsAppTemplate] = _templates(
    # announcements
    T("announcement/message", "buurtbot_announcement", ("network", "author", "text")),
    # activities
    T("activity/posted", "buurtbot_activity_invitation", ("network", "title", "starts_at", "place")),
    T("activity/reminder", "buurtbot_activity_reminder", ("title", "starts_at", "place")),
    T("activity/moved", "buurtbot_activity_moved", ("title", "starts_at", "place")),
    T("activity/cancelled", "buurtbot_activity_cancelled", ("title", "starts_at")),
    T("activity/place_for_you", "buurtbot_activity_place_for_you", ("title", "starts_at")),
    T("activity/proposed", "buurtbot_activity_proposed", ("proposer", "network", "title")),
    # help between neighbours
    T("help/posted", "buurtbot_help_request", ("network", "description")),
    T("help/helper_found", "buurtbot_help_helper_found", ("helper", "description")),
    T("help/escalated", "buurtbot_help_escalated", ("network", "hours", "description")),
    T("help/follow_up", "buurtbot_help_follow_up", ("description",)),
    T("help/relayed", "buurtbot_help_relayed", ("sender", "description", "text")),
    # joining
    T("onboarding/approved", "buurtbot_join_approved", ("verbinder", "network"), OPEN),
    T("onboarding/declined", "buurtbot_join_declined", ("network",), OPEN),
    T("admin/join_request", "buurtbot_join_request", ("name", "network")),
    T("admin/join_reminder", "buurtbot_join_reminder", ("name", "network")),
    # the offline route
    T("contacts/notice", "buurtbot_contact_request", ("name",)),
    T("contacts/escalated", "buurtbot_contact_escalated", ("name", "hours")),
    T("contacts/taken", "buurtbot_contact_taken", ("verbinder",)),
    T("contacts/message", "buurtbot_contact_message", ("sender", "text")),
)


def template_for(topic: str | None) -> WhatsAppTemplate | None:
    return None if topic is None else TEMPLATES.get(topic)


def parameter(value: str | None) -> str:
    """A value as a template parameter: one line (WhatsApp refuses line breaks, tabs and 4 or more
    spaces in a row), shown as typed (no formatting), at most PARAM_MAX characters, never empty."""
    flat = _SPACES.sub(" ", value or "").strip()
    limit = PARAM_MAX
    shown = neutralise(shorten(flat, limit))
    while length(shown) > PARAM_MAX:  # markers made it longer
        limit -= length(shown) - PARAM_MAX
        shown = neutralise(shorten(flat, limit))
    return shown or EMPTY
