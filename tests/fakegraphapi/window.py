"""The 24-hour customer service window and message templates: when Meta lets a message through to a user."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from .errors import GraphError
from .records import OutboundMessage, Template, Via
from .state import State

WINDOW_SECONDS = 24 * 60 * 60


class Conversations(State):
    """Free-form messages need a user message within the last 24 hours; templates need registering."""

    enforce_window: bool
    window_refusal: Via

    def _init_conversations(self, *, enforce_window: bool, window_refusal: Via) -> None:
        self.enforce_window = enforce_window
        self.window_refusal = window_refusal

    def open_window(self, wa_id: str, at: datetime | None = None) -> None:
        """Count wa_id's latest message as sent at `at` (default: the clock's now), without a webhook."""
        self._last_inbound[wa_id] = (at or self.clock.now()).timestamp()

    def close_window(self, wa_id: str) -> None:
        self._last_inbound.pop(wa_id, None)

    def window_open(self, wa_id: str) -> bool:
        """Whether the bot may send wa_id free-form messages now: their latest message is under 24 h old."""
        last = self._last_inbound.get(wa_id)
        return last is not None and self._now() - last < WINDOW_SECONDS

    def register_template(
        self,
        name: str,
        language: str = "nl",
        *,
        body_params: int = 0,
        header_params: int = 0,
        buttons: Sequence[str] = (),
        category: str = "utility",
    ) -> Template:
        """Make a template exist (approved) in one language: its number of {{n}} parameters in the body
        and header, and the texts of its quick-reply buttons."""
        template = Template(name, language, body_params, header_params, tuple(buttons), category)
        self.templates[(name, language)] = template
        return template

    def _check_conversation(self, message: OutboundMessage) -> None:
        """132001/132000/131009 for a template that does not fit; 131047 for a free-form message
        outside the window (only when enforce_window)."""
        if message.template is not None:
            use = message.template
            template = self.templates.get((use.name, use.language))
            if template is None:
                raise GraphError(132001, f"template name ({use.name}) does not exist in {use.language}")
            if len(use.body_params) != template.body_params or len(use.header_params) != template.header_params:
                raise GraphError(
                    132000,
                    f"body: expected number of params ({template.body_params}) does not match received number "
                    f"of params ({len(use.body_params)}); header: expected ({template.header_params}), "
                    f"received ({len(use.header_params)})",
                )
            beyond = [index for index in use.button_payloads if not 0 <= index < len(template.buttons)]
            if beyond:
                raise GraphError(131009, f"Button at index {beyond[0]} does not exist in template {use.name}")
            return
        if self.enforce_window and not self.window_open(message.wa_id):
            raise GraphError(131047)
