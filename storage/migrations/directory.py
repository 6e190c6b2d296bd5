"""Migrations of the directory store (networks, streets, people, memberships, flows)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

from storage.migrations import Migration
from storage.migrations.both import remember_applied_steps
from storage.types import UtcDateTime

if TYPE_CHECKING:
    from alembic.operations import Operations


def _create_tables(op: Operations) -> None:
    op.create_table(
        "network",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("slug", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("join_policy", sa.String(16), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
    )
    op.create_table(
        "street",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("network_id", sa.Integer, sa.ForeignKey("network.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.UniqueConstraint("network_id", "name"),
    )
    op.create_index("ix_street_network_id", "street", ["network_id"])
    op.create_table(
        "person",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("username", sa.String(64), nullable=True),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("consented_at", UtcDateTime, nullable=True),
    )
    op.create_table(
        "membership",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("person_id", sa.BigInteger, sa.ForeignKey("person.id", ondelete="CASCADE"), nullable=False),
        sa.Column("network_id", sa.Integer, sa.ForeignKey("network.id", ondelete="CASCADE"), nullable=False),
        sa.Column("street_id", sa.Integer, sa.ForeignKey("street.id", ondelete="SET NULL"), nullable=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("decided_at", UtcDateTime, nullable=True),
        sa.Column("decided_by", sa.BigInteger, nullable=True),
        sa.UniqueConstraint("person_id", "network_id"),
    )
    op.create_index("ix_membership_person_id", "membership", ["person_id"])
    op.create_index("ix_membership_network_id", "membership", ["network_id"])
    op.create_table(
        "conversation",
        sa.Column("person_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("chat_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("flow", sa.String(32), nullable=False),
        sa.Column("step", sa.String(32), nullable=False),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    )
    op.create_table(
        "invite",
        sa.Column("code", sa.String(32), primary_key=True),
        sa.Column("network_id", sa.Integer, sa.ForeignKey("network.id", ondelete="CASCADE"), nullable=False),
        sa.Column("created_by", sa.BigInteger, nullable=True),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("expires_at", UtcDateTime, nullable=True),
        sa.Column("max_uses", sa.Integer, nullable=True),
        sa.Column("uses", sa.Integer, nullable=False),
        sa.Column("revoked_at", UtcDateTime, nullable=True),
    )
    op.create_index("ix_invite_network_id", "invite", ["network_id"])
    op.create_table(
        "contact_request",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("person_id", sa.BigInteger, sa.ForeignKey("person.id", ondelete="CASCADE"), nullable=False),
        sa.Column("street_text", sa.String(200), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("handled_at", UtcDateTime, nullable=True),
    )
    op.create_table(
        "processed_update",
        sa.Column("door", sa.String(16), primary_key=True),
        sa.Column("update_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("received_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_processed_update_received_at", "processed_update", ["received_at"])


def _keep_updates_until_handled(op: Operations) -> None:
    op.add_column("processed_update", sa.Column("event", sa.Text, nullable=True))
    op.add_column("processed_update", sa.Column("handled_at", UtcDateTime, nullable=True))


def _remember_unreachable_people(op: Operations) -> None:
    op.add_column("person", sa.Column("unreachable_at", UtcDateTime, nullable=True))


def _index_the_next_job_of_each_network(op: Operations) -> None:
    op.add_column("network", sa.Column("next_job_at", UtcDateTime, nullable=True))
    op.create_index("ix_network_next_job_at", "network", ["next_job_at"])


def _link_groups(op: Operations) -> None:
    op.create_table(
        "linked_group",
        sa.Column("chat_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("network_id", sa.Integer, sa.ForeignKey("network.id", ondelete="CASCADE"), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("linked_by", sa.BigInteger, nullable=False),
        sa.Column("linked_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_linked_group_network_id", "linked_group", ["network_id"])
    op.create_table(
        "group_join_request",
        sa.Column(
            "chat_id", sa.BigInteger, sa.ForeignKey("linked_group.chat_id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("person_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("requested_at", UtcDateTime, nullable=False),
    )


def _remember_join_reminders(op: Operations) -> None:
    op.add_column("membership", sa.Column("reminded_at", UtcDateTime, nullable=True))


def _identify_people_on_other_apps(op: Operations) -> None:
    op.create_table(
        "app_identity",
        sa.Column("person_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("app", sa.String(16), nullable=False),
        sa.Column("app_id", sa.String(64), nullable=False),
        sa.Column("phone", sa.String(32), nullable=True),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("last_inbound_at", UtcDateTime, nullable=True),
        sa.UniqueConstraint("app", "app_id"),
    )


def _follow_contact_requests(op: Operations) -> None:
    for column in (
        sa.Column("network_id", sa.Integer, nullable=True),
        sa.Column("phone", sa.String(16), nullable=True),
        sa.Column("call_time", sa.String(16), nullable=True),
        sa.Column("consent_at", UtcDateTime, nullable=True),
        sa.Column("escalate_at", UtcDateTime, nullable=True),
        sa.Column("escalated_at", UtcDateTime, nullable=True),
        sa.Column("taken_by", sa.BigInteger, nullable=True),
        sa.Column("taken_at", UtcDateTime, nullable=True),
        sa.Column("notices", sa.Text, nullable=False, server_default=""),
    ):
        op.add_column("contact_request", column)


MIGRATIONS = (
    Migration(1, "networks, streets, people, memberships, flows, invites", _create_tables),
    Migration(2, "updates are kept until handled", _keep_updates_until_handled),
    Migration(3, "people who blocked the bot", _remember_unreachable_people),
    Migration(4, "when each network's next scheduled job is due", _index_the_next_job_of_each_network),
    Migration(5, "Telegram groups linked to networks, and who waits to join them", _link_groups),
    Migration(6, "steps applied by an update, so a replay applies nothing twice", remember_applied_steps),
    Migration(7, "contact requests: how to reach the resident, who was told, who took it up", _follow_contact_requests),
    Migration(8, "who people are on WhatsApp (person ids of their own, phone numbers)", _identify_people_on_other_apps),
    Migration(9, "when a member waiting for approval last reminded the buurtverbinder", _remember_join_reminders),
)
