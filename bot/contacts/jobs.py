"""The offline route's rounds: a request untaken for a day goes to the community managers, old ones go.

Contact requests live in the directory store, the scheduler's jobs in each network's store, and a
request may have no network at all. So instead of a job per request, its due time is a column of
its own (`escalate_at`), looked at in a round after every pass of the scheduler: at least once a
minute while the bot runs, never in a command-line process (which sends nothing). Durable: a
restart loses nothing, and a request that fell due while the bot was down goes at the first pass
after the start, late rather than never. Each is marked escalated (one conditional UPDATE) before
the community managers are told, so it is never told twice. Old requests are removed at most
once a day.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.contacts.messages import ContactMessages
from bot.contacts.service import Contacts
from bot.kernel.clock import Clock

PURGE_EVERY = timedelta(days=1)


class ContactJobs:
    def __init__(self, contacts: Contacts, messages: ContactMessages, clock: Clock) -> None:
        self._contacts = contacts
        self._messages = messages
        self._clock = clock
        self._purged_at: datetime | None = None

    async def run_due(self) -> int:
        """Tells the community managers of each request untaken a day after its buurtverbinders
        heard of it, and removes old requests (once a day); returns how many went on."""
        now = self._clock.now()
        due = await self._contacts.escalate_due()
        if due:
            managers = await self._contacts.community_managers()
            for view in due:
                await self._messages.tell(view, [m for m in managers if m.id != view.resident.id], now, escalated=True)
        if self._purged_at is None or now - self._purged_at >= PURGE_EVERY:
            self._purged_at = now
            await self._contacts.purge()
        return len(due)
