"""The composition root: the services of one village, each built once with what it uses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from bot.activities import Activities, ActivityMessages
from bot.announcements import Announcements
from bot.application.settings import Settings
from bot.contacts import ContactJobs, ContactMessages, Contacts
from bot.delivery.budget import TELEGRAM, PairRate, RateBudget, SendBudgets, TelegramChats
from bot.delivery.messenger import Messenger
from bot.delivery.outbox import Outbox, Turns
from bot.delivery.post import Post
from bot.delivery.scheduler import JobKind, JobPlan, Scheduler
from bot.delivery.sender import Sender
from bot.groups import Groups
from bot.joining import Memberships, Networks, People
from bot.kernel.clock import Clock
from bot.kernel.flows import Flows
from bot.kernel.identity import BotIdentity
from bot.kernel.replies import html_to_plain
from bot.language.renderer import Renderer
from bot.neighbour_help import Help, HelpJobs, HelpMessages
from bot.network_admin import NetworkAdmin
from bot.privacy import Privacy
from storage.contacts import ContactRows
from storage.identities import WHATSAPP, AppIdentities
from storage.network_admin import NetworkAdminRows
from storage.outbox import OutboxRows
from storage.privacy import PrivacyRows
from storage.stores import Stores

# The message a WhatsApp invite link fills in for the resident; `bot.transports.whatsapp.words` reads
# its "(code …)" back as /start CODE.
WHATSAPP_INVITE_TEXT = "admin/invite_whatsapp_text"


@dataclass(frozen=True)
class Village:
    settings: Settings
    clock: Clock
    stores: Stores
    renderer: Renderer
    messenger: Messenger
    post: Post
    people: People
    networks: Networks
    memberships: Memberships
    flows: Flows
    jobs: JobPlan
    scheduler: Scheduler
    help: Help
    help_messages: HelpMessages
    activities: Activities
    activity_messages: ActivityMessages
    outbox: Outbox
    sender: Sender
    announcements: Announcements
    admin: NetworkAdmin
    groups: Groups
    contacts: Contacts
    contact_messages: ContactMessages
    contact_jobs: ContactJobs
    privacy: Privacy
    identity: BotIdentity

    @classmethod
    def build(cls, settings: Settings, clock: Clock, renderer: Renderer | None = None) -> Village:
        """Every service once, in the order they need each other; nothing is set afterwards."""
        stores = Stores(settings.data_dir, max_open=settings.open_network_stores)
        directory = stores.directory
        renderer = renderer or Renderer(timezone=settings.zone)

        async def unreachable(person_id: int, now: datetime | None = None) -> None:
            await directory.mark_unreachable(person_id, now or clock.now())

        budgets = SendBudgets(
            {
                TELEGRAM: RateBudget(settings.broadcast_rate, chats=TelegramChats()),
                WHATSAPP: RateBudget(settings.whatsapp_rate, chats=PairRate()),
            }
        )
        messenger = Messenger(on_unreachable=unreachable, budget=budgets)
        turns = Turns()
        outbox_rows = OutboxRows(stores)
        outbox = Outbox(outbox_rows, clock, turns)
        post = Post(renderer, messenger, outbox, zone=settings.zone)
        jobs = JobPlan(stores, clock)
        help_ = Help(stores, clock, settings.zone, jobs, outbox)
        networks = Networks(stores, on_added=(help_.plan_retention,))
        people = People(
            directory, community_managers=settings.community_manager_ids, default_language=settings.default_language
        )
        memberships = Memberships(stores, community_managers=settings.community_manager_ids)
        activities = Activities(stores, clock, jobs, post, outbox)
        admin = NetworkAdmin(NetworkAdminRows(stores), renderer, settings.zone, settings.default_language)
        groups = Groups(stores, networks, messenger)
        announcements = Announcements(
            stores,
            renderer=renderer,
            post=post,
            outbox=outbox,
            networks=networks,
            groups=groups,
            language_of=admin.language,
        )
        help_messages = HelpMessages(post, clock, help_, directory.get_person)
        help_jobs = HelpJobs(
            help_, help_messages, people_with_role=directory.people_with_role, reviewers=memberships.reviewers
        )
        sender = Sender(
            rows=outbox_rows,
            turns=turns,
            clock=clock,
            messenger=messenger,
            budgets=budgets,
            networks=directory.networks,
            network_by_slug=directory.network_by_slug,
            written_stamp=stores.written_stamp,
            mark_unreachable=unreachable,
            on_report=announcements.report,
        )
        contacts = Contacts(
            ContactRows(directory),
            clock,
            find_street=networks.find,
            network=directory.network,
            person=directory.get_person,
            people_with_role=directory.people_with_role,
            community_managers=settings.community_manager_ids,
            platform_contact=settings.community_contact,
        )
        contact_messages = ContactMessages(post, contacts)
        contact_jobs = ContactJobs(contacts, contact_messages, clock)
        scheduler = Scheduler(
            stores,
            clock,
            jobs,
            runners={
                JobKind.HELP_ESCALATE: help_jobs.escalate,
                JobKind.HELP_FOLLOW_UP: help_jobs.follow_up,
                JobKind.HELP_EXPIRE: help_jobs.expire,
                JobKind.HELP_RETENTION: help_.purge,
            },
            batch_runners={JobKind.EVENT_REMIND: activities.remind_all},
            # Contact requests live in the directory, not in a network's job table: their round
            # (escalating what is untaken after a day, retention) runs after each pass.
            rounds=(contact_jobs.run_due,),
        )
        privacy = Privacy(
            PrivacyRows(stores),
            AppIdentities(directory),
            contacts,
            contact_messages,
            clock,
            memberships_of=directory.memberships_of,
            verbinders=networks.verbinders,
        )
        return cls(
            settings=settings,
            clock=clock,
            stores=stores,
            renderer=renderer,
            messenger=messenger,
            post=post,
            people=people,
            networks=networks,
            memberships=memberships,
            flows=Flows(directory),
            jobs=jobs,
            scheduler=scheduler,
            help=help_,
            help_messages=help_messages,
            activities=activities,
            activity_messages=ActivityMessages(post, activities, directory.get_person),
            outbox=outbox,
            sender=sender,
            announcements=announcements,
            admin=admin,
            groups=groups,
            contacts=contacts,
            contact_messages=contact_messages,
            contact_jobs=contact_jobs,
            privacy=privacy,
            identity=BotIdentity(settings.bot_username),
        )

    @property
    def bot_username(self) -> str:
        return self.identity.username

    def deep_link(self, code: str) -> str | None:
        """The Telegram link that starts the bot with `code`; None while the bot's name is unknown
        (no token and no BOT_USERNAME): a link to a made-up name would open someone else's bot."""
        return f"https://t.me/{self.bot_username}?start={code}" if self.bot_username else None

    def whatsapp_link(self, code: str, *, network: str, language: str) -> str | None:
        """The wa.me link that opens a chat with the bot's WhatsApp number with a message already
        typed that asks to join by `code` (the resident only taps Send; the WhatsApp door reads it as
        /start CODE); None without WHATSAPP_NUMBER."""
        if not self.settings.whatsapp_number:
            return None
        text = html_to_plain(self.renderer.render(language, WHATSAPP_INVITE_TEXT, code=code, network=network))
        return f"https://wa.me/{self.settings.whatsapp_number}?text={quote(text.strip(), safe='')}"
