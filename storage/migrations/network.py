"""Migrations of a network's own store (audit log; help, events and outbox follow)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.operations import Operations

from storage.migrations import Migration
from storage.types import UtcDateTime


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


MIGRATIONS = (Migration(1, "audit log", _create_audit_log),)
