"""Meta's checks of a message the bot sends, and the parsed OutboundMessage when it passes.

Limits from Meta's message reference: a text body up to 4096 characters; interactive bodies
up to 1024, headers and footers up to 60; reply buttons 1-3 with titles up to 20 and unique
ids up to 256; a list with a button text up to 20, 1-10 sections, at most 10 rows in all,
section and row titles up to 24, row descriptions up to 72, unique row ids up to 200; a
document caption up to 1024. Graph's own parameter checks answer 100 (Invalid parameter),
the interactive parts 131009 (Parameter value is not valid), a missing part 131008.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .errors import JSON, GraphError, bad_param, invalid, missing
from .records import DocumentSent, OutboundMessage, Row, TemplateUse, UploadedMedia

TEXT_MAX = 4096
INTERACTIVE_BODY_MAX = 1024
HEADER_MAX = 60
FOOTER_MAX = 60
REPLY_BUTTONS_MAX = 3
BUTTON_TITLE_MAX = 20
BUTTON_ID_MAX = 256
LIST_BUTTON_MAX = 20
SECTIONS_MAX = 10
ROWS_MAX = 10
SECTION_TITLE_MAX = 24
ROW_TITLE_MAX = 24
ROW_DESCRIPTION_MAX = 72
ROW_ID_MAX = 200
CAPTION_MAX = 1024

OTHER_TYPES = frozenset({"image", "audio", "video", "sticker", "location", "contacts", "reaction"})
"""Message types the fake accepts without looking inside."""


def parse_message(payload: JSON, media: Mapping[str, UploadedMedia]) -> OutboundMessage:
    """The message in a POST /{phone_id}/messages body, or the GraphError Meta would answer."""
    if "messaging_product" not in payload:
        raise bad_param("The parameter messaging_product is required.")
    if payload["messaging_product"] != "whatsapp":
        raise bad_param("Param messaging_product must be 'whatsapp'.")
    if payload.get("recipient_type", "individual") not in ("individual", "group"):
        raise bad_param("Param recipient_type must be one of {individual, group}.")
    recipient = payload.get("to") or payload.get("recipient")
    if not isinstance(recipient, str | int) or not str(recipient):
        raise missing("The parameter to is required.")
    kind = str(payload.get("type", "text"))
    content = payload.get(kind)
    if kind not in {"text", "interactive", "document", "template"} | OTHER_TYPES:
        raise bad_param(f"Param type must be a supported message type, got {kind!r}.")
    if not isinstance(content, dict):
        raise missing(f"The parameter {kind} is required.")
    message = OutboundMessage(wa_id=str(recipient), type=kind, payload=payload)
    context = payload.get("context")
    if isinstance(context, dict) and context.get("message_id"):
        message.reply_to = str(context["message_id"])
    if kind == "text":
        message.text = _text(content.get("body"), "text['body']", TEXT_MAX, bad_param)
    elif kind == "interactive":
        _interactive(content, message)
    elif kind == "document":
        message.document = _document(content, media)
        message.text = message.document.caption
    elif kind == "template":
        message.template = _template(content)
    return message


def _text(value: Any, name: str, most: int, error: Callable[[str], GraphError]) -> str:
    if not isinstance(value, str) or not value:
        raise missing(f"The parameter {name} is required.")
    if len(value) > most:
        raise error(f"Param {name} must be at most {most} characters long.")
    return value


def _bounded(value: Any, what: str, most: int) -> str:
    """A title or id of 1..most characters, else 131009 in Meta's words."""
    if not isinstance(value, str) or not 1 <= len(value) <= most:
        raise invalid(f"{what} length invalid. Min length: 1, Max length: {most}")
    return value


def _interactive(content: JSON, message: OutboundMessage) -> None:
    kind = content.get("type")
    if not isinstance(kind, str):
        raise missing("The parameter interactive['type'] is required.")
    message.interactive = kind
    action = content.get("action")
    if not isinstance(action, dict):
        raise missing("The parameter interactive['action'] is required.")
    body = content.get("body")
    if kind in ("button", "list") or body is not None:
        text = body.get("text") if isinstance(body, dict) else None
        message.text = _text(text, "interactive['body']['text']", INTERACTIVE_BODY_MAX, bad_param)
    header = content.get("header")
    if isinstance(header, dict) and header.get("type") == "text":
        message.header = _text(header.get("text"), "interactive['header']['text']", HEADER_MAX, bad_param)
    footer = content.get("footer")
    if isinstance(footer, dict):
        message.footer = _text(footer.get("text"), "interactive['footer']['text']", FOOTER_MAX, bad_param)
    if kind == "button":
        message.buttons = _reply_buttons(action)
    elif kind == "list":
        message.list_button = _bounded(action.get("button"), "Button text", LIST_BUTTON_MAX)
        message.rows = _rows(action)


def _reply_buttons(action: JSON) -> list[tuple[str, str]]:
    buttons = action.get("buttons")
    if not isinstance(buttons, list | tuple) or not 1 <= len(buttons) <= REPLY_BUTTONS_MAX:
        raise invalid(f"Number of buttons invalid. Min: 1, Max: {REPLY_BUTTONS_MAX}")
    found: list[tuple[str, str]] = []
    for button in buttons:
        reply = button.get("reply") if isinstance(button, dict) and button.get("type") == "reply" else None
        if not isinstance(reply, dict):
            raise missing("The parameter interactive['action']['buttons'][]['reply'] is required.")
        button_id = _bounded(reply.get("id"), "Button id", BUTTON_ID_MAX)
        title = _bounded(reply.get("title"), "Button title", BUTTON_TITLE_MAX)
        if button_id in (known for known, _ in found):
            raise invalid(f"Duplicate button id: {button_id}")
        found.append((button_id, title))
    return found


def _rows(action: JSON) -> list[Row]:
    sections = action.get("sections")
    if not isinstance(sections, list | tuple) or not 1 <= len(sections) <= SECTIONS_MAX:
        raise invalid(f"Number of sections invalid. Min: 1, Max: {SECTIONS_MAX}")
    rows: list[Row] = []
    for section in sections:
        if not isinstance(section, dict):
            raise missing("The parameter interactive['action']['sections'][] is required.")
        title = section.get("title")
        if title is not None or len(sections) > 1:  # a title is required once there are two sections
            title = _bounded(title, "Section title", SECTION_TITLE_MAX)
        section_rows = section.get("rows")
        if not isinstance(section_rows, list | tuple) or not section_rows:
            raise invalid("Section rows invalid. A section needs at least 1 row")
        for row in section_rows:
            if not isinstance(row, dict):
                raise missing("The parameter interactive['action']['sections'][]['rows'][] is required.")
            row_id = _bounded(row.get("id"), "Row id", ROW_ID_MAX)
            if row_id in (known.id for known in rows):
                raise invalid(f"Duplicate row id: {row_id}")
            description = row.get("description")
            if description is not None:
                description = _bounded(description, "Row description", ROW_DESCRIPTION_MAX)
            rows.append(Row(row_id, _bounded(row.get("title"), "Row title", ROW_TITLE_MAX), description, title))
    if len(rows) > ROWS_MAX:
        raise invalid(f"Total row count exceed max allowed count: {ROWS_MAX}")
    return rows


def _document(content: JSON, media: Mapping[str, UploadedMedia]) -> DocumentSent:
    media_id, link = content.get("id"), content.get("link")
    if media_id is None and link is None:
        raise missing("The parameter document['id'] or document['link'] is required.")
    uploaded = None
    if media_id is not None:
        uploaded = media.get(str(media_id))
        if uploaded is None:
            raise invalid(f"Media id {media_id} is not valid: no such upload.")
    caption = content.get("caption")
    if caption is not None:
        caption = _text(caption, "document['caption']", CAPTION_MAX, bad_param)
    filename = content.get("filename")
    return DocumentSent(
        media_id=None if media_id is None else str(media_id),
        link=None if link is None else str(link),
        filename=None if filename is None else str(filename),
        caption=caption,
        media=uploaded,
    )


def _template(content: JSON) -> TemplateUse:
    name = content.get("name")
    if not isinstance(name, str) or not name:
        raise missing("The parameter template['name'] is required.")
    language = content.get("language")
    code = language.get("code") if isinstance(language, dict) else None
    if not isinstance(code, str) or not code:
        raise missing("The parameter template['language']['code'] is required.")
    params: dict[str, list[str]] = {"body": [], "header": []}
    payloads: dict[int, str] = {}
    components = content.get("components") or []
    if not isinstance(components, list | tuple):
        raise bad_param("Param template['components'] must be an array.")
    for component in components:
        if not isinstance(component, dict):
            raise bad_param("Param template['components'][] must be an object.")
        kind = str(component.get("type", "")).lower()
        parameters = component.get("parameters") or []
        if kind in params:
            params[kind].extend(_param_text(p) for p in parameters)
        elif kind == "button":
            index = int(component.get("index", 0))
            for parameter in parameters:
                if isinstance(parameter, dict) and parameter.get("type") == "payload":
                    payloads[index] = str(parameter.get("payload", ""))
    return TemplateUse(name, code, tuple(params["body"]), tuple(params["header"]), payloads)


def _param_text(parameter: Any) -> str:
    if not isinstance(parameter, dict):
        raise bad_param("Param template['components'][]['parameters'][] must be an object.")
    kind = str(parameter.get("type", "text"))
    value = parameter.get(kind)
    return str(value) if not isinstance(value, dict) else str(value.get("fallback_value", value))
