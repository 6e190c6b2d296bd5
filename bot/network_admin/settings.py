"""Per-network settings with their defaults: how long before a request escalates or expires."""

from __future__ import annotations

from dataclasses import dataclass, fields

from storage.models import Network
from storage.network_admin import setting_values
from storage.stores import Stores


@dataclass(frozen=True)
class NetworkSettings:
    escalation_hours: int = 24  # an unclaimed request goes to the buurtverbinders after this
    request_expiry_days: int = 14  # an open request closes itself after this
    reminder_hours: tuple[int, ...] = (24, 2)  # event reminders, hours before the start
    residents_propose_events: bool = False  # may residents propose events for approval?
    language: str = ""  # what the network's group chats are written in; empty: DEFAULT_LANGUAGE
    retention_months: int = 12  # closed help requests and their relayed messages are removed after this

    @classmethod
    def from_values(cls, values: dict[str, str]) -> NetworkSettings:
        known: dict[str, object] = {}
        for field in fields(cls):
            if field.name not in values:
                continue
            raw = values[field.name]
            if field.name == "reminder_hours":
                known[field.name] = tuple(int(part) for part in raw.split(",") if part.strip())
            elif field.name == "residents_propose_events":
                known[field.name] = raw == "1"
            elif field.name == "language":
                known[field.name] = raw
            else:
                known[field.name] = int(raw)
        return cls(**known)  # type: ignore[arg-type]


async def settings_of(stores: Stores, network: Network) -> NetworkSettings:
    return NetworkSettings.from_values(await setting_values(stores, network.slug))
