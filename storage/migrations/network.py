"""Migrations of a network's own store: audit log, help, jobs, events, announcements and the outbox."""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

from storage.migrations import Migration
from storage.migrations.both import remember_applied_steps
from storage.types import UtcDateTime

if TYPE_CHECKING:
    from alembic.operations import Operations


def _create_audit_log(op: Operations) -> None:
    op.create_table(
        "audit_entry",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("actor_id", sa.BigInteger, nullable=True),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("subject_id", sa.BigInteger, nullable=True),
        sa.Column("detail", sa.String(200), nullable=False),
    )


def _create_help_and_jobs(op: Operations) -> None:
    op.create_table(
        "help_request",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("requester_id", sa.BigInteger, nullable=True),
        sa.Column("on_behalf_name", sa.String(120), nullable=True),
        sa.Column("on_behalf_contact", sa.String(120), nullable=True),
        sa.Column("entered_by", sa.BigInteger, nullable=True),
        sa.Column("consent_at", UtcDateTime, nullable=True),
        sa.Column("category", sa.String(24), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("needed_at", UtcDateTime, nullable=False),
        sa.Column("needed_has_time", sa.Boolean, nullable=False),
        sa.Column("name_shown_to", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("helper_id", sa.BigInteger, nullable=True),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("claimed_at", UtcDateTime, nullable=True),
        sa.Column("closed_at", UtcDateTime, nullable=True),
        sa.Column("escalated_at", UtcDateTime, nullable=True),
        sa.Column("followed_up_by", sa.BigInteger, nullable=True),
    )
    op.create_index("ix_help_request_requester_id", "help_request", ["requester_id"])
    op.create_index("ix_help_request_status", "help_request", ["status"])
    op.create_table(
        "help_posting",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("request_id", sa.Integer, sa.ForeignKey("help_request.id", ondelete="CASCADE"), nullable=False),
        sa.Column("chat_id", sa.BigInteger, nullable=False),
        sa.Column("message_id", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_help_posting_request_id", "help_posting", ["request_id"])
    op.create_table(
        "help_offer",
        sa.Column("person_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("categories", sa.String(200), nullable=False),
        sa.Column("notify", sa.Boolean, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    )
    op.create_table(
        "relay_message",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("request_id", sa.Integer, sa.ForeignKey("help_request.id", ondelete="CASCADE"), nullable=False),
        sa.Column("from_id", sa.BigInteger, nullable=False),
        sa.Column("to_id", sa.BigInteger, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_relay_message_request_id", "relay_message", ["request_id"])
    op.create_table(
        "scheduled_job",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("ref", sa.String(64), nullable=False),
        sa.Column("due_at", UtcDateTime, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("finished_at", UtcDateTime, nullable=True),
        sa.UniqueConstraint("kind", "ref"),
    )
    op.create_index("ix_scheduled_job_due_at", "scheduled_job", ["due_at"])
    op.create_index("ix_scheduled_job_status", "scheduled_job", ["status"])
    op.create_table(
        "network_setting",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("value", sa.String(200), nullable=False),
    )


def _create_events(op: Operations) -> None:
    op.create_table(
        "event",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("title", sa.String(120), nullable=False),
        sa.Column("starts_at", UtcDateTime, nullable=False),
        sa.Column("place", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("capacity", sa.Integer, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_by", sa.BigInteger, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_event_starts_at", "event", ["starts_at"])
    op.create_index("ix_event_status", "event", ["status"])
    op.create_table(
        "event_posting",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("event_id", sa.Integer, sa.ForeignKey("event.id", ondelete="CASCADE"), nullable=False),
        sa.Column("chat_id", sa.BigInteger, nullable=False),
        sa.Column("message_id", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_event_posting_event_id", "event_posting", ["event_id"])
    op.create_table(
        "rsvp",
        sa.Column("event_id", sa.Integer, sa.ForeignKey("event.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("person_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("answer", sa.String(8), nullable=False),
        sa.Column("waiting", sa.Boolean, nullable=False),
        sa.Column("answered_at", UtcDateTime, nullable=False),
    )
    op.create_table(
        "member_preference",
        sa.Column("person_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("event_news", sa.Boolean, nullable=False),
        sa.Column("event_reminders", sa.Boolean, nullable=False),
    )


def _create_outbox(op: Operations) -> None:
    op.create_table(
        "announcement",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("author_id", sa.BigInteger, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("reported_at", UtcDateTime, nullable=True),
    )
    op.create_table(
        "outbox_message",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("announcement_id", sa.Integer, sa.ForeignKey("announcement.id", ondelete="CASCADE"), nullable=True),
        sa.Column("chat_id", sa.BigInteger, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("not_before", UtcDateTime, nullable=False),
        sa.Column("finished_at", UtcDateTime, nullable=True),
    )
    op.create_index("ix_outbox_message_announcement_id", "outbox_message", ["announcement_id"])
    op.create_index("ix_outbox_message_status", "outbox_message", ["status"])


def _general_outbox(op: Operations) -> None:
    """Any message to many people goes through the outbox, not only announcements."""
    op.add_column("outbox_message", sa.Column("kind", sa.String(24), nullable=False, server_default="announcement"))
    op.add_column("outbox_message", sa.Column("ref", sa.String(64), nullable=False, server_default=""))
    op.add_column("outbox_message", sa.Column("buttons", sa.Text, nullable=False, server_default=""))
    op.add_column("outbox_message", sa.Column("message_id", sa.BigInteger, nullable=True))


def _jobs_by_status_and_time(op: Operations) -> None:
    """Due jobs are looked up by status, then due time: one index for both (the status one is its prefix)."""
    op.create_index("ix_scheduled_job_status_due_at", "scheduled_job", ["status", "due_at"])
    op.drop_index("ix_scheduled_job_status", "scheduled_job")


def _outbox_by_subject(op: Operations) -> None:
    """The outbox's messages about something (an activity), to someone, are found without a scan."""
    op.create_index("ix_outbox_message_kind_ref_chat_id", "outbox_message", ["kind", "ref", "chat_id"])


def _outbox_topics(op: Operations) -> None:
    """An outbox message keeps what it means (its template and plain values), so WhatsApp can send
    its approved template outside the 24-hour window."""
    op.add_column("outbox_message", sa.Column("topic", sa.String(64), nullable=True))
    op.add_column("outbox_message", sa.Column("template_values", sa.Text, nullable=True))


MIGRATIONS = (
    Migration(1, "audit log", _create_audit_log),
    Migration(2, "help requests, offers, relay, scheduled jobs, settings", _create_help_and_jobs),
    Migration(3, "events, RSVPs, member preferences", _create_events),
    Migration(4, "announcements and the per-recipient outbox", _create_outbox),
    Migration(5, "the outbox carries any message: kind, ref, buttons, Telegram's message id", _general_outbox),
    Migration(6, "scheduled jobs indexed by (status, due_at)", _jobs_by_status_and_time),
    Migration(7, "outbox messages indexed by (kind, ref, chat_id)", _outbox_by_subject),
    Migration(8, "steps applied by an update, so a replay applies nothing twice", remember_applied_steps),
    Migration(9, "outbox messages keep their topic and template values", _outbox_topics),
)
