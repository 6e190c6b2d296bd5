"""The tables: directory tables (networks, people, memberships, flows) and network tables."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import UtcDateTime


class JoinPolicy(StrEnum):
    APPROVAL = "approval"  # a buurtverbinder approves every joiner
    OPEN = "open"  # anyone living in one of the streets joins at once


class MemberRole(StrEnum):
    MEMBER = "member"
    BUURTVERBINDER = "buurtverbinder"


class MembershipStatus(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    DECLINED = "declined"
    LEFT = "left"


# --- directory store -------------------------------------------------------------------------


class Network(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(sa_type=String(64), unique=True)
    name: str = Field(sa_type=String(120))
    join_policy: str = Field(default=JoinPolicy.APPROVAL, sa_type=String(16))
    created_at: datetime = Field(sa_type=UtcDateTime)
    next_job_at: datetime | None = Field(default=None, sa_type=UtcDateTime, index=True)  # the scheduler's index


class Street(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("network_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    network_id: int = Field(
        sa_column=Column(Integer, ForeignKey("network.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    name: str = Field(sa_type=String(120))


class Person(SQLModel, table=True):
    """Someone who has talked to the bot; `id` is their Telegram user id."""

    id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    name: str = Field(sa_type=String(200))
    username: str | None = Field(default=None, sa_type=String(64))
    language: str = Field(sa_type=String(8))
    created_at: datetime = Field(sa_type=UtcDateTime)
    consented_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    unreachable_at: datetime | None = Field(default=None, sa_type=UtcDateTime)  # blocked the bot


class Membership(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("person_id", "network_id"),)

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("person.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    network_id: int = Field(
        sa_column=Column(Integer, ForeignKey("network.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    street_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("street.id", ondelete="SET NULL"), nullable=True)
    )
    role: str = Field(default=MemberRole.MEMBER, sa_type=String(16))
    status: str = Field(default=MembershipStatus.PENDING, sa_type=String(16))
    created_at: datetime = Field(sa_type=UtcDateTime)
    decided_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    decided_by: int | None = Field(default=None, sa_type=BigInteger)
    reminded_at: datetime | None = Field(default=None, sa_type=UtcDateTime)  # a pending member's last reminder


class Conversation(SQLModel, table=True):
    """Where a person is in a multi-step flow, per chat, so a restart loses nothing."""

    person_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    chat_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    flow: str = Field(sa_type=String(32))
    step: str = Field(sa_type=String(32))
    data: str = Field(default="{}", sa_type=Text)
    updated_at: datetime = Field(sa_type=UtcDateTime)


class Invite(SQLModel, table=True):
    code: str = Field(sa_type=String(32), primary_key=True)
    network_id: int = Field(
        sa_column=Column(Integer, ForeignKey("network.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    created_by: int | None = Field(default=None, sa_type=BigInteger)
    created_at: datetime = Field(sa_type=UtcDateTime)
    expires_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    max_uses: int | None = Field(default=None)
    uses: int = Field(default=0)
    revoked_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class ContactRequest(SQLModel, table=True):
    """A resident who asked for a person to get in touch (the offline route): how to reach them,
    with their consent, who was told, who took it up, and when it was done. `phone` is shown only
    to those told of the request, never logged, and goes when the resident is forgotten."""

    __tablename__ = "contact_request"

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(sa_column=Column(BigInteger, ForeignKey("person.id", ondelete="CASCADE"), nullable=False))
    street_text: str = Field(sa_type=String(200))  # what they typed as their street ("" if they typed none)
    created_at: datetime = Field(sa_type=UtcDateTime)
    handled_at: datetime | None = Field(default=None, sa_type=UtcDateTime)  # marked done
    network_id: int | None = Field(default=None, sa_type=Integer)  # the network their street is in, if known
    phone: str | None = Field(default=None, sa_type=String(16))  # national form; None: reach them in the chat
    call_time: str | None = Field(default=None, sa_type=String(16))  # "bel mij": morning | afternoon | evening
    consent_at: datetime | None = Field(default=None, sa_type=UtcDateTime)  # they agreed to be passed on
    escalate_at: datetime | None = Field(default=None, sa_type=UtcDateTime)  # to the community managers if untaken
    escalated_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    taken_by: int | None = Field(default=None, sa_type=BigInteger)  # who said "Ik neem contact op"
    taken_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    # JSON [[chat, message], ...]: where the request was told, so those messages can be changed later.
    notices: str = Field(default="", sa_type=Text, sa_column_kwargs={"server_default": ""})


class ProcessedUpdate(SQLModel, table=True):
    """Every update received, kept before it is handled: a redelivery changes nothing, and an
    update received but not yet handled when the bot stopped is handled after the restart."""

    __tablename__ = "processed_update"

    door: str = Field(sa_type=String(16), primary_key=True)
    update_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    received_at: datetime = Field(sa_type=UtcDateTime, index=True)
    event: str | None = Field(default=None, sa_type=Text)  # the core event, as JSON
    handled_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class LinkedGroup(SQLModel, table=True):
    """A street's Telegram group, tied to its network by a buurtverbinder with /link."""

    __tablename__ = "linked_group"

    chat_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    network_id: int = Field(
        sa_column=Column(Integer, ForeignKey("network.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    title: str = Field(default="", sa_type=String(200))
    linked_by: int = Field(sa_type=BigInteger)
    linked_at: datetime = Field(sa_type=UtcDateTime)


class GroupJoinRequest(SQLModel, table=True):
    """Someone who asked to join a linked group and waits to become a member of the network first."""

    __tablename__ = "group_join_request"

    chat_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("linked_group.chat_id", ondelete="CASCADE"), primary_key=True)
    )
    person_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    requested_at: datetime = Field(sa_type=UtcDateTime)


# --- network store ---------------------------------------------------------------------------


class AuditEntry(SQLModel, table=True):
    """An admin action in a network: who did what to whom, never the content."""

    __tablename__ = "audit_entry"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=UtcDateTime)
    actor_id: int | None = Field(default=None, sa_type=BigInteger)
    action: str = Field(sa_type=String(32))
    subject_id: int | None = Field(default=None, sa_type=BigInteger)
    detail: str = Field(default="", sa_type=String(200))


class HelpStatus(StrEnum):
    OPEN = "open"
    CLAIMED = "claimed"
    DONE = "done"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class NameShownTo(StrEnum):
    NETWORK = "network"  # everyone who sees the request sees the requester's name
    HELPER = "helper"  # only the neighbour who helps learns who asked


class HelpRequest(SQLModel, table=True):
    """A resident's request for help, from asking to done (or cancelled, or expired)."""

    __tablename__ = "help_request"

    id: int | None = Field(default=None, primary_key=True)
    requester_id: int | None = Field(default=None, sa_type=BigInteger, index=True)  # None: asked by phone
    on_behalf_name: str | None = Field(default=None, sa_type=String(120))
    on_behalf_contact: str | None = Field(default=None, sa_type=String(120))
    entered_by: int | None = Field(default=None, sa_type=BigInteger)  # the buurtverbinder who typed it in
    consent_at: datetime | None = Field(default=None, sa_type=UtcDateTime)  # on-behalf consent recorded
    category: str = Field(sa_type=String(24))
    description: str = Field(sa_type=Text)
    needed_at: datetime = Field(sa_type=UtcDateTime)
    needed_has_time: bool = Field(default=False)
    name_shown_to: str = Field(default=NameShownTo.NETWORK, sa_type=String(16))
    status: str = Field(default=HelpStatus.OPEN, sa_type=String(16), index=True)
    helper_id: int | None = Field(default=None, sa_type=BigInteger)
    created_at: datetime = Field(sa_type=UtcDateTime)
    claimed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    escalated_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    followed_up_by: int | None = Field(default=None, sa_type=BigInteger)


class HelpPosting(SQLModel, table=True):
    """Where a request was posted, so every copy can show that it is taken."""

    __tablename__ = "help_posting"

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(
        sa_column=Column(Integer, ForeignKey("help_request.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    chat_id: int = Field(sa_type=BigInteger)
    message_id: int = Field(sa_type=BigInteger)


class HelpOffer(SQLModel, table=True):
    """What a resident can help with, and whether they want to hear of new requests."""

    __tablename__ = "help_offer"

    person_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    categories: str = Field(default="", sa_type=String(200))  # comma separated category names
    notify: bool = Field(default=True)
    updated_at: datetime = Field(sa_type=UtcDateTime)


class RelayMessage(SQLModel, table=True):
    """A message passed between requester and helper, so neither sees the other's number."""

    __tablename__ = "relay_message"

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(
        sa_column=Column(Integer, ForeignKey("help_request.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    from_id: int = Field(sa_type=BigInteger)
    to_id: int = Field(sa_type=BigInteger)
    text: str = Field(sa_type=Text)
    at: datetime = Field(sa_type=UtcDateTime)


class JobStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    SKIPPED = "skipped"  # missed by more than the grace window while the bot was down
    INTERRUPTED = "interrupted"  # the bot stopped while it ran; not run again
    FAILED = "failed"


class ScheduledJob(SQLModel, table=True):
    """Something to do at a time: an escalation, a follow-up, an expiry, a reminder."""

    __tablename__ = "scheduled_job"
    # Due jobs are found by status, then time: (status, due_at) serves both due_jobs and next_due.
    __table_args__ = (UniqueConstraint("kind", "ref"), Index("ix_scheduled_job_status_due_at", "status", "due_at"))

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(sa_type=String(32))
    ref: str = Field(sa_type=String(64))  # what it is about, e.g. a request id; one job per kind and ref
    due_at: datetime = Field(sa_type=UtcDateTime, index=True)
    status: str = Field(default=JobStatus.PENDING, sa_type=String(16))
    created_at: datetime = Field(sa_type=UtcDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class NetworkSetting(SQLModel, table=True):
    """One setting of the network, by name; absent means the default in bot/network_admin/settings.py."""

    __tablename__ = "network_setting"

    name: str = Field(sa_type=String(32), primary_key=True)
    value: str = Field(sa_type=String(200))


class EventStatus(StrEnum):
    PROPOSED = "proposed"  # a resident's idea, waiting for a buurtverbinder
    PUBLISHED = "published"
    CANCELLED = "cancelled"
    DECLINED = "declined"


class Answer(StrEnum):
    YES = "yes"
    MAYBE = "maybe"
    NO = "no"


class Event(SQLModel, table=True):
    """A street party, a repair café, a coffee morning."""

    __tablename__ = "event"

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(sa_type=String(120))
    starts_at: datetime = Field(sa_type=UtcDateTime, index=True)
    place: str = Field(sa_type=String(200))
    description: str = Field(default="", sa_type=Text)
    capacity: int | None = Field(default=None)
    status: str = Field(default=EventStatus.PUBLISHED, sa_type=String(16), index=True)
    created_by: int = Field(sa_type=BigInteger)
    created_at: datetime = Field(sa_type=UtcDateTime)
    updated_at: datetime = Field(sa_type=UtcDateTime)


class EventPosting(SQLModel, table=True):
    """A copy of the event's announcement with RSVP buttons, to update in place."""

    __tablename__ = "event_posting"

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(
        sa_column=Column(Integer, ForeignKey("event.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    chat_id: int = Field(sa_type=BigInteger)
    message_id: int = Field(sa_type=BigInteger)


class Rsvp(SQLModel, table=True):
    """Someone's answer to an event; `waiting` when the event was full (a waiting list)."""

    __tablename__ = "rsvp"

    event_id: int = Field(sa_column=Column(Integer, ForeignKey("event.id", ondelete="CASCADE"), primary_key=True))
    person_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    answer: str = Field(sa_type=String(8))
    waiting: bool = Field(default=False)
    answered_at: datetime = Field(sa_type=UtcDateTime)


class MemberPreference(SQLModel, table=True):
    """What a member of this network wants to hear about."""

    __tablename__ = "member_preference"

    person_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    event_news: bool = Field(default=True)
    event_reminders: bool = Field(default=True)


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # handed to Telegram; after a crash it is tried again (maybe a duplicate)
    SENT = "sent"
    UNREACHABLE = "unreachable"  # blocked the bot or deleted their account: never retried
    FAILED = "failed"  # gave up after repeated errors
    WITHDRAWN = "withdrawn"  # not sent: what it was about ended first (a help request was taken)


class Announcement(SQLModel, table=True):
    """A message from a buurtverbinder (or the community manager) to the whole network."""

    __tablename__ = "announcement"

    id: int | None = Field(default=None, primary_key=True)
    author_id: int = Field(sa_type=BigInteger)
    text: str = Field(sa_type=Text)
    created_at: datetime = Field(sa_type=UtcDateTime)
    reported_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class OutboxKind(StrEnum):
    """What an outbox message is: one fact, for the sender's log, the report and what happens once sent."""

    ANNOUNCEMENT = "announcement"
    EVENT_REMINDER = "event_reminder"
    EVENT_INVITATION = "event_invitation"
    EVENT_NOTICE = "event_notice"  # an activity moved or cancelled, to those who answered
    HELP_REQUEST = "help_request"  # a request for help, to a neighbour who offers that help


class OutboxMessage(SQLModel, table=True):
    """One message to one chat, waiting for the sender; the per-recipient outbox."""

    __tablename__ = "outbox_message"
    # A message about something (an activity's invitation) is looked up by what and to whom:
    # on every RSVP, for the organiser's copy.
    __table_args__ = (Index("ix_outbox_message_kind_ref_chat_id", "kind", "ref", "chat_id"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(
        default=OutboxKind.ANNOUNCEMENT, sa_type=String(24), sa_column_kwargs={"server_default": "announcement"}
    )
    ref: str = Field(default="", sa_type=String(64), sa_column_kwargs={"server_default": ""})  # e.g. an event id
    announcement_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("announcement.id", ondelete="CASCADE"), nullable=True, index=True),
    )
    chat_id: int = Field(sa_type=BigInteger)
    text: str = Field(sa_type=Text)  # rendered in the recipient's language when queued
    buttons: str = Field(default="", sa_type=Text, sa_column_kwargs={"server_default": ""})  # JSON rows; "" for none
    status: str = Field(default=DeliveryStatus.PENDING, sa_type=String(16), index=True)
    attempts: int = Field(default=0)
    not_before: datetime = Field(sa_type=UtcDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
    message_id: int | None = Field(default=None, sa_type=BigInteger)  # the app's, once sent
    # What the message means, for an app that cannot show it as it is (WhatsApp outside its 24-hour
    # window sends this topic's template): the template it was rendered from, and its plain values
    # as a JSON object. NULL for a message without one (a group's copy).
    topic: str | None = Field(default=None, sa_type=String(64))
    template_values: str | None = Field(default=None, sa_type=Text)


class AppliedStep(SQLModel, table=True):
    """A step an update applied (an announcement queued, a request claimed, a join decided), kept
    in the same transaction as the step's effect, in the store that holds the effect: when the
    update is handled again after a crash, the step finds it and applies nothing twice.
    `told_at` is set once the messages that follow the step went out, so a replay sends those
    only if the crash came before them."""

    __tablename__ = "applied_step"

    key: str = Field(sa_type=String(64), primary_key=True)  # the update's key (see Context.step_key)
    kind: str = Field(sa_type=String(24))
    ref: str = Field(default="", sa_type=String(64))  # what the step made or changed, e.g. an announcement id
    at: datetime = Field(sa_type=UtcDateTime, index=True)
    told_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


def _tables(*models: type[SQLModel]) -> tuple[Table, ...]:
    return tuple(model.__table__ for model in models)  # type: ignore[attr-defined]


DIRECTORY_TABLES = _tables(
    Network,
    Street,
    Person,
    Membership,
    Conversation,
    Invite,
    ContactRequest,
    ProcessedUpdate,
    LinkedGroup,
    GroupJoinRequest,
    AppliedStep,
)
NETWORK_TABLES = _tables(
    AuditEntry,
    HelpRequest,
    HelpPosting,
    HelpOffer,
    RelayMessage,
    ScheduledJob,
    NetworkSetting,
    Event,
    EventPosting,
    Rsvp,
    MemberPreference,
    Announcement,
    OutboxMessage,
    AppliedStep,
)


# --- people on other chat apps (directory store) ---------------------------------------------------


class AppIdentity(SQLModel, table=True):
    """Who a person is on a chat app other than Telegram (WhatsApp: their `wa_id`). A person found
    this way gets a person id from a range Telegram user ids never reach (`storage.identities`);
    the id is also their private chat id. `phone` is never shown to another resident nor logged,
    and goes when the person is forgotten."""

    __tablename__ = "app_identity"
    __table_args__ = (UniqueConstraint("app", "app_id"),)

    person_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    app: str = Field(sa_type=String(16))
    app_id: str = Field(sa_type=String(64))  # WhatsApp: the wa_id
    phone: str | None = Field(default=None, sa_type=String(32))
    created_at: datetime = Field(sa_type=UtcDateTime)
    last_inbound_at: datetime | None = Field(default=None, sa_type=UtcDateTime)  # WhatsApp's 24-hour window


DIRECTORY_TABLES = (*DIRECTORY_TABLES, *_tables(AppIdentity))
