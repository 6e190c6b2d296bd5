"""Conversation without commands: the plain words a WhatsApp resident types, as the commands they mean.

WhatsApp has no `/commands` and no menu of them. So a message that is just a command's name or
its Dutch alias, without the slash ("hulp", "Menu", "stop!", "vergeet mij"), is that command;
and someone's very first message, whatever it says ("Hallo"), starts the conversation as /start
does. Anything longer is what the person wrote (a street, a question), so a sentence that merely
contains "hulp" stays a sentence. A message that already starts with "/" is left alone.

WhatsApp has no deep links either: an invite for WhatsApp is a wa.me link whose message is typed
in for the resident (`Village.whatsapp_link`, words from templates/*/admin/invite_whatsapp_text),
ending in "(code ABC123)". A message that ends so, the first or any later one, is `/start ABC123`,
as the Telegram link's /start would be.
"""

from __future__ import annotations

import re

from bot.kernel import commands

_MOST_WORDS = 2  # "vergeet mij", "mijn gegevens": a command's name typed as two words
_TRIMMED = " \t\n.!?,;:'\"¿¡"
# "(code ABC123)" ending an invite link's message; a code is 1 to 32 of [A-Za-z0-9_-] (bot.joining).
_INVITE_CODE = re.compile(r"\(\s*code\s*:?\s*([A-Za-z0-9_-]{1,32})\s*\)[\s.!]*$", re.IGNORECASE)


def as_typed(text: str, *, first: bool) -> str:
    """The text the core should read for what the person typed; `first` for their first message."""
    stripped = text.strip()
    if stripped.startswith("/"):
        return stripped
    invited = _INVITE_CODE.search(stripped)
    if invited is not None:
        return f"/{commands.START.name} {invited.group(1)}"
    words = stripped.strip(_TRIMMED).casefold().split()
    if 1 <= len(words) <= _MOST_WORDS:
        command = commands.by_typed_name("".join(words))
        if command is not None:
            return f"/{command.name}"
    return f"/{commands.START.name}" if first else text
