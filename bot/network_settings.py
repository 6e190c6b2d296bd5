"""Per-network settings with their defaults: how long before a request escalates or expires."""

from __future__ import annotations

from dataclasses import dataclass, fields

from storage.models import Network
from storage.stores import Stores


@dataclass(frozen=True)
class NetworkSettings:
    escalation_hours: int = 24  # an unclaimed request goes to the buurtverbinders after this
    request_expiry_days: int = 14  # an open request closes itself after this

    @classmethod
    def from_values(cls, values: dict[str, str]) -> NetworkSettings:
        known = {f.name: int(values[f.name]) for f in fields(cls) if f.name in values}
        return cls(**known)


async def settings_of(stores: Stores, network: Network) -> NetworkSettings:
    async with stores.network(network.slug) as store:
        return NetworkSettings.from_values(await store.settings())
