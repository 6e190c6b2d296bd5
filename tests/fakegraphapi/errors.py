"""Graph API error answers: the codes the fake gives, their HTTP status, title and details, and their JSON shapes."""

from __future__ import annotations

import secrets
import string
from typing import Any

JSON = dict[str, Any]
"""A JSON object, as Graph sends and takes it."""

ERROR_DOCS = "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"

CATALOGUE: dict[int, tuple[int, str, str]] = {
    # code: (HTTP status, title, details), after Meta's "WhatsApp error codes" page.
    1: (400, "An unknown error occurred", "Invalid request or possible server error."),
    2: (503, "Service temporarily unavailable", "Temporary due to downtime or due to being overloaded."),
    100: (400, "Invalid parameter", "The request included one or more unsupported or misspelled parameters."),
    190: (401, "Invalid OAuth access token - Cannot parse access token", "Your access token has expired."),
    130429: (400, "Rate limit hit", "Cloud API message throughput has been reached."),
    131000: (500, "Something went wrong", "Message failed to send due to an unknown error."),
    131008: (400, "Required parameter is missing", "The request is missing a required parameter."),
    131009: (400, "Parameter value is not valid", "One or more parameter values are invalid."),
    131016: (503, "Service unavailable", "A service is temporarily unavailable."),
    131021: (400, "Recipient cannot be sender", "Sender and recipient phone number is the same."),
    131026: (
        400,
        "Message undeliverable",
        "Message failed to send because the recipient's phone number is not a WhatsApp number, "
        "they have not accepted the latest terms, or they use an old WhatsApp version.",
    ),
    131047: (
        400,
        "Re-engagement message",
        "Message failed to send because more than 24 hours have passed since the customer last replied to this number.",
    ),
    131048: (
        400,
        "Spam rate limit hit",
        "Message failed to send because of restrictions on how many messages can be sent.",
    ),
    131051: (400, "Unsupported message type", "Message type is not currently supported."),
    131053: (400, "Media upload error", "Unable to upload the media used in the message."),
    131056: (
        400,
        "(Business Account, Consumer Account) pair rate limit hit",
        "Message failed to send because there were too many messages sent from this phone number "
        "to the same phone number in a short period of time.",
    ),
    132000: (
        400,
        "Number of parameters does not match the expected number of params",
        "The number of variable parameter values does not match the number of variables in the template.",
    ),
    132001: (404, "Template name does not exist in the translation", "The template does not exist in this language."),
}
"""Codes the fake answers with; fail_next and fail_to take any other code too (HTTP 400, title "Error")."""

_PLAIN_MESSAGES = frozenset({1, 2, 190})
"""Codes whose Graph message is the title alone; the others read "(#code) title"."""


def fbtrace_id() -> str:
    alphabet = string.ascii_letters + string.digits
    return "A" + "".join(secrets.choice(alphabet) for _ in range(22))


class GraphError(Exception):
    """One Graph API error: raised inside the fake, answered as Graph's error body with its HTTP status."""

    def __init__(
        self,
        code: int,
        details: str | None = None,
        *,
        http_status: int | None = None,
        title: str | None = None,
        subcode: int | None = None,
        is_transient: bool | None = None,
    ) -> None:
        known_status, known_title, known_details = CATALOGUE.get(code, (400, "Error", ""))
        self.code = code
        self.http_status = http_status or known_status
        self.title = title or known_title
        self.details = known_details if details is None else details
        self.subcode = subcode
        self.is_transient = is_transient
        super().__init__(f"{self.message}: {self.details}")

    @property
    def message(self) -> str:
        return self.title if self.code in _PLAIN_MESSAGES else f"(#{self.code}) {self.title}"

    def body(self) -> JSON:
        """Graph's answer: {"error": {message, type, code, error_data, fbtrace_id, ...}}."""
        error: JSON = {"message": self.message, "type": "OAuthException", "code": self.code}
        if self.details:
            error["error_data"] = {"messaging_product": "whatsapp", "details": self.details}
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        if self.is_transient is not None:
            error["is_transient"] = self.is_transient
        error["fbtrace_id"] = fbtrace_id()
        return {"error": error}

    def webhook_error(self) -> JSON:
        """The error as a failed status webhook carries it: {code, title, message, error_data, href}."""
        return {
            "code": self.code,
            "title": self.title,
            "message": self.title,
            "error_data": {"details": self.details},
            "href": ERROR_DOCS,
        }


def invalid(details: str) -> GraphError:
    """131009 Parameter value is not valid: an interactive message's parts out of bounds."""
    return GraphError(131009, details)


def bad_param(details: str) -> GraphError:
    """100 Invalid parameter: Graph's own check of a parameter (a text too long, an unknown type)."""
    return GraphError(100, details)


def missing(details: str) -> GraphError:
    """131008 Required parameter is missing."""
    return GraphError(131008, details)
