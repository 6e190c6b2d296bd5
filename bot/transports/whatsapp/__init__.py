"""The WhatsApp door: the Cloud API behind the core's port; `render` turns a Reply into WhatsApp's messages.

What others use: `WhatsAppDoor` (webhook routes and port), `RoutingPort` (both apps at once),
`run_whatsapp` (WhatsApp alone). The rest is the door's own: `inbound`
(Meta's webhook JSON), `words` (plain words as commands), `ids` (wamids as the core's integers),
`port` (sending, the rule for edits and the 24-hour window), `templates` (the approved template of
each unprompted message), `submission` (those templates as Meta takes them), `errors` (pywa's errors
as the port's).
"""

from bot.transports.whatsapp.door import PATH, WhatsAppDoor
from bot.transports.whatsapp.routing import RoutingPort
from bot.transports.whatsapp.runner import run_whatsapp

__all__ = ["PATH", "RoutingPort", "WhatsAppDoor", "run_whatsapp"]
