"""WhatsApp's string ids as the integers the core keys by: update ids and message ids, from a wamid.

The core keeps every update under an integer id (`processed_update`, one namespace per run) and
its port returns integer message ids. A WhatsApp message id (`wamid.…`) is a string; its number
here is 2**62 plus 62 bits of its BLAKE2b hash: stable across restarts and redeliveries (so a
redelivered message is found kept), computed without a table, and never equal to a Telegram
update id or message id (those stay below 2**53). Two wamids share a number with a chance of
about n²/2**63 (for a million messages a day, one in ten million days).
"""

from __future__ import annotations

import hashlib

WHATSAPP_NUMBERS_FROM = 2**62


def number_of(wamid: str) -> int:
    """The integer that stands for a wamid: as the update id of a message a person sent, and as
    the message id of one the bot sent (a tap names it again in its `context`)."""
    digest = hashlib.blake2b(wamid.encode(), digest_size=8).digest()
    return WHATSAPP_NUMBERS_FROM + (int.from_bytes(digest, "big") >> 2)
