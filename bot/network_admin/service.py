"""Running a network: its members, its settings, its export and its figures. Admin actions are audited."""

from __future__ import annotations

import asyncio
import csv
import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median
from zoneinfo import ZoneInfo

from bot.application.settings import LANGUAGES
from bot.joining import Standing
from bot.kernel.permissions import Action
from bot.kernel.refusals import Reason, Refusal
from bot.language.renderer import Renderer
from bot.network_admin.charts import ChartWords, draw
from bot.network_admin.figures import Figures, History, Months
from bot.network_admin.settings import NetworkSettings
from storage.models import JoinPolicy as JoinPolicy  # re-exported for handlers
from storage.models import MemberRole, Membership, MembershipStatus, Network, Person
from storage.network_admin import NetworkAdminRows

# The choices offered for each setting (buttons); a setting is only ever set to one of these.
ESCALATION_CHOICES = (12, 24, 48)
REMINDER_CHOICES = ("24,2", "24", "2", "")
RETENTION_CHOICES = (3, 6, 12, 24)  # months that closed help requests are kept


class AdminAction:
    MEMBER_REMOVED = "member_removed"
    SETTING_CHANGED = "setting_changed"
    EXPORTED = "exported"


@dataclass(frozen=True)
class MemberLine:
    membership: Membership
    person: Person

    @property
    def is_verbinder(self) -> bool:
        return self.membership.role == MemberRole.BUURTVERBINDER


@dataclass(frozen=True)
class Chart:
    """One network's chart, or the whole village's; `png` is None when too little happened for one."""

    network: str  # "" for the village
    village: bool
    filename: str
    png: bytes | None


@dataclass(frozen=True)
class Statistics:
    """What /statistiek shows one person: the figures of every network they may see, and charts."""

    figures: list[Figures]
    village: bool  # they see the whole village (a community manager)
    charts: list[Chart]

    @property
    def total_members(self) -> int:
        return sum(figures.members for figures in self.figures)


class NetworkAdmin:
    def __init__(self, rows: NetworkAdminRows, renderer: Renderer, zone: ZoneInfo, default_language: str) -> None:
        self._rows = rows
        self._renderer = renderer
        self._zone = zone
        self._default_language = default_language
        # One chart at a time: each takes a core for a few tenths of a second, and matplotlib does not
        # promise that two threads may draw at once.
        self._drawing = asyncio.Lock()

    def require(self, standing: Standing, network: Network, action: Action) -> None:
        if not standing.may_in(network.id or 0, action):
            raise Refusal(Reason.NOT_YOUR_NETWORK, network=network.name)

    async def members(self, standing: Standing, network: Network) -> list[MemberLine]:
        """The active members, buurtverbinders first."""
        self.require(standing, network, Action.MANAGE_MEMBERS)
        return [MemberLine(membership, person) for membership, person in await self._rows.members(network.id or 0)]

    async def member_to_remove(self, standing: Standing, network: Network, person_id: int) -> Person:
        """The person a buurtverbinder is about to take out of the network, asked before they confirm."""
        self.require(standing, network, Action.MANAGE_MEMBERS)
        person = await self._rows.person(person_id)
        if person is None:
            raise Refusal(Reason.STALE_BUTTON)
        return person

    async def remove(self, standing: Standing, network: Network, person_id: int, now: datetime) -> Person:
        """Takes someone out of the network; the last buurtverbinder stays."""
        self.require(standing, network, Action.MANAGE_MEMBERS)
        membership = await self._rows.membership(person_id, network.id or 0)
        person = await self._rows.person(person_id)
        if membership is None or person is None or membership.status != MembershipStatus.ACTIVE:
            raise Refusal(Reason.STALE_BUTTON)
        if membership.role == MemberRole.BUURTVERBINDER and await self._rows.verbinder_count(network.id or 0) <= 1:
            raise Refusal(Reason.LAST_VERBINDER, network=network.name)
        assert membership.id is not None
        if not await self._rows.mark_left(membership.id, by=standing.person.id, now=now):
            raise Refusal(Reason.STALE_BUTTON)  # someone else took them out a moment before
        await self._audit(network, standing.person.id, AdminAction.MEMBER_REMOVED, person_id, "", now)
        return person

    # --- settings -------------------------------------------------------------------------

    async def settings(self, network: Network) -> NetworkSettings:
        return NetworkSettings.from_values(await self._rows.settings(network.slug))

    async def language(self, network: Network) -> str:
        """The language of the network's group chats."""
        return (await self.settings(network)).language or self._default_language

    async def change(self, standing: Standing, network: Network, name: str, value: str, now: datetime) -> None:
        """Sets one setting to one of the values the buttons offer; anything else is refused."""
        self.require(standing, network, Action.CHANGE_SETTINGS)
        allowed = {
            "join_policy": {JoinPolicy.APPROVAL.value, JoinPolicy.OPEN.value},
            "escalation_hours": {str(hours) for hours in ESCALATION_CHOICES},
            "reminder_hours": set(REMINDER_CHOICES),
            "residents_propose_events": {"0", "1"},
            "language": set(LANGUAGES),
            "retention_months": {str(months) for months in RETENTION_CHOICES},
        }
        if value not in allowed.get(name, set()):
            raise Refusal(Reason.STALE_BUTTON)
        if name == "join_policy":
            await self._rows.set_join_policy(network.id or 0, JoinPolicy(value))
        else:
            await self._rows.set_setting(network.slug, name, value)
        await self._audit(network, standing.person.id, AdminAction.SETTING_CHANGED, None, f"{name}={value}", now)

    # --- export ---------------------------------------------------------------------------

    async def export(self, standing: Standing, network: Network, now: datetime) -> dict[str, bytes]:
        """The network's members, help requests and activities as CSV files, by file name."""
        self.require(standing, network, Action.EXPORT)
        members = io.StringIO()
        writer = csv.writer(members)
        writer.writerow(["naam", "straat", "rol", "lid sinds"])
        streets = await self._rows.street_names(network.id or 0)
        for line in await self.members(standing, network):
            writer.writerow(
                [
                    line.person.name,
                    streets.get(line.membership.street_id or 0, ""),
                    line.membership.role,
                    line.membership.created_at.date().isoformat(),
                ]
            )
        asked = io.StringIO()
        writer = csv.writer(asked)
        writer.writerow(["gevraagd op", "soort", "omschrijving", "nodig op", "status"])
        for request in await self._rows.help_requests(network.slug):
            writer.writerow(
                [
                    request.created_at.isoformat(),
                    request.category,
                    request.description,
                    request.needed_at.isoformat(),
                    request.status,
                ]
            )
        agenda = io.StringIO()
        writer = csv.writer(agenda)
        writer.writerow(["titel", "begint", "plaats", "status", "komen", "misschien", "kunnen niet"])
        for answered in await self._rows.events_with_answers(network.slug):
            event = answered.event
            writer.writerow(
                [
                    event.title,
                    event.starts_at.isoformat(),
                    event.place,
                    event.status,
                    answered.yes,
                    answered.maybe,
                    answered.no,
                ]
            )
        await self._audit(network, standing.person.id, AdminAction.EXPORTED, None, "", now)
        return {
            f"{network.slug}-leden.csv": members.getvalue().encode(),
            f"{network.slug}-hulpvragen.csv": asked.getvalue().encode(),
            f"{network.slug}-activiteiten.csv": agenda.getvalue().encode(),
        }

    # --- figures and charts ---------------------------------------------------------------

    async def statistics(self, standing: Standing, now: datetime, language: str) -> Statistics:
        """The figures of every network this person may see; a chart of each network they are a
        buurtverbinder of, and for a community manager one of the whole village, in their language."""
        networks = [n for n in await self._rows.networks() if standing.may_in(n.id or 0, Action.STATS)]
        if not networks:
            raise Refusal(Reason.NOT_ALLOWED)
        figures = [await self._figures(network, now) for network in networks]
        village = standing.may(Action.MANAGE_NETWORKS)
        months = Months.up_to(now, self._zone)
        own = {network.id for network in standing.verbinder_of()}
        histories = {
            network.id: await self._history(network, months) for network in networks if village or network.id in own
        }
        charts = [
            await self._chart(histories[network.id], language, network=network)
            for network in networks
            if network.id in own
        ]
        if village:
            charts.append(await self._chart(History.together(months, list(histories.values())), language))
        return Statistics(figures, village, charts)

    async def _figures(self, network: Network, now: datetime) -> Figures:
        network_id = network.id or 0
        local = now.astimezone(self._zone)
        month_start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        help_ = await self._rows.help_counts(network.slug)
        activities = await self._rows.activity_counts(network.slug)
        hours = [(taken - asked) / timedelta(hours=1) for asked, taken in help_.waits]
        return Figures(
            network=network.name,
            members=await self._rows.member_count(network_id),
            joined_this_month=await self._rows.joined_since(network_id, month_start),
            asked=help_.asked,
            claimed=help_.claimed,
            done=help_.done,
            median_hours_to_claim=round(median(hours), 1) if hours else None,
            events=activities.published,
            attending=activities.attending,
        )

    async def _history(self, network: Network, months: Months) -> History:
        return History.of(
            months,
            await self._rows.member_spans(network.id or 0),
            await self._rows.help_moments(network.slug, months.since),
            await self._rows.answers(network.slug, months.since, months.until),
        )

    async def _chart(self, history: History, language: str, *, network: Network | None = None) -> Chart:
        """Draws the chart in a worker thread, so the bot answers others meanwhile."""
        name, slug = (network.name, network.slug) if network else ("", "")
        village = network is None
        rendered = self._renderer.render(language, "admin/chart_words", network=name, slug=slug)
        words = ChartWords.read(rendered, self._renderer.language(language), village=village)
        if not history.worth_a_chart:
            return Chart(network=name, village=village, filename=words.filename, png=None)
        async with self._drawing:
            png = await asyncio.to_thread(draw, history, words)
        return Chart(network=name, village=village, filename=words.filename, png=png)

    async def _audit(
        self, network: Network, actor: int, action: str, subject: int | None, detail: str, now: datetime
    ) -> None:
        await self._rows.audit(network.slug, actor_id=actor, action=action, subject_id=subject, detail=detail, now=now)
