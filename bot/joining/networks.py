"""Street networks: creating them with their streets, finding a resident's street, appointing."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from bot.joining.streets import StreetChoice, StreetSearch, find_street
from bot.kernel.limits import NETWORK_NAME_MAX, STREET_LIST_MAX, STREET_TEXT_MAX
from bot.kernel.refusals import Reason, Refusal
from storage.directory import DirectoryStore, DuplicateNetworkError
from storage.models import JoinPolicy, MemberRole, MembershipStatus
from storage.models import Network as Network  # re-exported for handlers
from storage.stores import Stores


def slugify(name: str) -> str:
    """`'t Zand-Oost` → `t-zand-oost`: the network's name in URLs and file names."""
    text = unicodedata.normalize("NFKD", name.casefold())
    text = "".join(char for char in text if not unicodedata.combining(char))
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:64]


def split_streets(text: str) -> list[str]:
    """`Kerkstraat, Nieuwstraat` or one street per line → clean, distinct street names."""
    names = (" ".join(part.split()) for part in re.split(r"[,;\n]", text))
    return list(dict.fromkeys(name for name in names if name))


class Networks:
    def __init__(self, stores: Stores, *, on_added: Sequence[Callable[[Network], Awaitable[None]]] = ()) -> None:
        """`on_added` is called with each network added (the help service plans its nightly clean-up)."""
        self._stores = stores
        self._choices: tuple[StreetChoice, ...] | None = None
        self._on_added = tuple(on_added)

    @property
    def _directory(self) -> DirectoryStore:
        return self._stores.directory

    def check_new(self, name: str, streets: Sequence[str]) -> tuple[str, list[str]]:
        """The cleaned name and streets of a new network, or a Refusal saying what is wrong."""
        name = " ".join(name.split())
        if not name or len(name) > NETWORK_NAME_MAX or not slugify(name):
            raise Refusal(Reason.TOO_LONG, limit=NETWORK_NAME_MAX)
        cleaned = [street for street in streets if street]
        if not cleaned:
            raise Refusal(Reason.NO_STREETS)
        if len(cleaned) > STREET_LIST_MAX or any(len(street) > STREET_TEXT_MAX for street in cleaned):
            raise Refusal(Reason.TOO_LONG, limit=STREET_TEXT_MAX)
        return name, cleaned

    async def add(
        self, name: str, streets: Sequence[str], now: datetime, join_policy: JoinPolicy = JoinPolicy.APPROVAL
    ) -> Network:
        name, cleaned = self.check_new(name, streets)
        slug = slugify(name)
        if await self._directory.network_by_slug(slug) is not None:
            raise Refusal(Reason.DUPLICATE_NETWORK, name=name)
        # The store first: a network the directory knows always has one (start-up refuses a
        # network whose store is missing). A stop between the two leaves an empty store that
        # the next attempt to create the network takes as it is.
        await self._stores.create_network(slug)
        try:
            network = await self._directory.add_network(
                slug=slug, name=name, streets=cleaned, join_policy=join_policy, now=now
            )
        except DuplicateNetworkError as error:
            raise Refusal(Reason.DUPLICATE_NETWORK, name=name) from error
        self._choices = None
        for added in self._on_added:
            await added(network)
        return network

    async def all(self) -> Sequence[Network]:
        return await self._directory.networks()

    async def by_slug(self, slug: str) -> Network:
        network = await self._directory.network_by_slug(slug)
        if network is None:
            raise Refusal(Reason.UNKNOWN_NETWORK, name=slug)
        return network

    async def by_id(self, network_id: int) -> Network:
        network = await self._directory.network(network_id)
        if network is None:
            raise Refusal(Reason.STALE_BUTTON)
        return network

    async def streets_of(self, network_id: int) -> list[str]:
        return [street.name for street in await self._directory.streets_of(network_id)]

    async def street_name(self, street_id: int | None) -> str | None:
        """The name of a street a resident gave when joining, if they gave one."""
        street = await self._directory.street(street_id) if street_id else None
        return street.name if street else None

    async def choices(self) -> tuple[StreetChoice, ...]:
        if self._choices is None:
            rows = await self._directory.streets()
            self._choices = tuple(
                StreetChoice(street.id or 0, street.name, network.id or 0, network.name, 0.0)
                for street, network in rows
            )
        return self._choices

    async def find(self, typed: str) -> StreetSearch:
        if len(typed) > STREET_TEXT_MAX:
            raise Refusal(Reason.TOO_LONG, limit=STREET_TEXT_MAX)
        return find_street(typed, await self.choices())

    async def choice(self, street_id: int) -> StreetChoice | None:
        return next((choice for choice in await self.choices() if choice.street_id == street_id), None)

    async def member_counts(self, network_id: int) -> tuple[int, int]:
        active = await self._directory.count_members(network_id, MembershipStatus.ACTIVE)
        pending = await self._directory.count_members(network_id, MembershipStatus.PENDING)
        return active, pending

    async def verbinders(self, network_id: int) -> list[str]:
        people = await self._directory.people_with_role(network_id, MemberRole.BUURTVERBINDER)
        return [person.name for person in people]
