"""Fake WhatsApp Cloud API (Meta's Graph API) for tests and benchmarks, built on aiohttp.web.

It listens on 127.0.0.1 on a free port and answers ``POST /v{version}/{phone_id}/messages`` and
``POST /v{version}/{phone_id}/media`` the way graph.facebook.com does (Bearer token, Graph's
JSON and error bodies), and it POSTs Meta's webhooks, signed with the app secret, to the bot::

    async with FakeGraphAPI(webhook_url="http://127.0.0.1:8443/whatsapp") as graph:
        session = graph.http_session()              # httpx.AsyncClient routed to the fake
        wa = WhatsApp(phone_id=graph.phone_id, token=graph.token, session=session,
                      app_secret=graph.app_secret, verify_token=graph.verify_token)
        await graph.send_text_from_user("31612345678", "hallo", name="Anna")
        reply = await graph.wait_for_message("31612345678")
        await session.aclose()                      # pywa never closes its session

pywa (4.5) has no base-URL setting: its GraphAPI sets ``session.base_url`` to
``https://graph.facebook.com/v{api_version}`` when the client is built. Either pass
``graph.http_session()`` (its transport sends graph.facebook.com to the fake, whatever the
base URL), or pass your own ``httpx.AsyncClient`` and, *after* ``WhatsApp(...)``, set
``session.base_url = graph.graph_url(api_version)``.

Like Meta it checks: the token (190), the phone number id (100), message shapes and lengths
(100, 131008, 131009: see validation.py), the 24-hour window (131047), templates (132001,
132000), throughput (130429) and the pair rate (131056). Each refusal the bot caused is a
``Violation`` in ``violations``; rate-limit breaches are refused only with
``enforce_rate_limits=True`` (like the fake Bot API), and counted either way. Windows and rate
limits count by ``clock`` (anything with ``now()``), so a test moves time by hand.

Where things are:

- ``api.py``: FakeGraphAPI, assembled from the parts below, and its settings.
- ``server.py``: the aiohttp app, token and phone number checks, /messages, /media, mark-as-read.
- ``validation.py``: Meta's checks of a message, and its parsed OutboundMessage.
- ``window.py``: the 24-hour window (open_window, window_open) and register_template.
- ``limits.py``: throughput and pair rate; ``faults.py``: fail_next, stall_next, fail_to.
- ``webhooks.py``: signing, delivering, statuses, redeliver, verify_webhook, wait_for_webhooks.
- ``users.py``: send_text_from_user, tap_button, choose_row, tap_template_button, read_by_user.
- ``waiting.py``: wait_for_messages, wait_for_message, wait_until.
- ``state.py``: what the fake remembers; ``records.py``: its typed records; ``errors.py``: GraphError.
"""

from .api import FakeGraphAPI
from .errors import CATALOGUE, JSON, GraphError
from .limits import PAIR_BURST, PAIR_INTERVAL, THROUGHPUT
from .records import (
    Clock,
    Delivery,
    DocumentSent,
    OutboundMessage,
    Row,
    Signing,
    Template,
    TemplateUse,
    UploadedMedia,
    Via,
    Violation,
)
from .webhooks import encode
from .window import WINDOW_SECONDS

__all__ = [
    "CATALOGUE",
    "JSON",
    "PAIR_BURST",
    "PAIR_INTERVAL",
    "THROUGHPUT",
    "WINDOW_SECONDS",
    "Clock",
    "Delivery",
    "DocumentSent",
    "FakeGraphAPI",
    "GraphError",
    "OutboundMessage",
    "Row",
    "Signing",
    "Template",
    "TemplateUse",
    "UploadedMedia",
    "Via",
    "Violation",
    "encode",
]
