"""Conversation without commands: the plain words a WhatsApp resident types, as the commands they mean.

WhatsApp has no `/commands` and no menu of them. So a message that is just a command's name or
its Dutch alias, without the slash ("hulp", "Menu", "stop!", "vergeet mij"), is that command;
and someone's very first message, whatever it says ("Hallo"), starts the conversation as /start
does. Anything longer is what the person wrote (a street, a question), so a sentence that merely
contains "hulp" stays a sentence. A message that already starts with "/" is left alone.
"""

from __future__ import annotations

from bot.kernel import commands

_MOST_WORDS = 2  # "vergeet mij", "mijn gegevens": a command's name typed as two words
_TRIMMED = " \t\n.!?,;:'\"¿¡"


def as_typed(text: str, *, first: bool) -> str:
    """The text the core should read for what the person typed; `first` for their first message."""
    stripped = text.strip()
    if stripped.startswith("/"):
        return stripped
    words = stripped.strip(_TRIMMED).casefold().split()
    if 1 <= len(words) <= _MOST_WORDS:
        command = commands.by_typed_name("".join(words))
        if command is not None:
            return f"/{command.name}"
    return f"/{commands.START.name}" if first else text
