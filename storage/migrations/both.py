"""Migrations that the directory and every network store each make, written once for both."""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

from storage.types import UtcDateTime

if TYPE_CHECKING:
    from alembic.operations import Operations


def remember_applied_steps(op: Operations) -> None:
    """Steps applied by an update, so a replay after a crash applies nothing twice (models.AppliedStep)."""
    op.create_table(
        "applied_step",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("ref", sa.String(64), nullable=False),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("told_at", UtcDateTime, nullable=True),
    )
    op.create_index("ix_applied_step_at", "applied_step", ["at"])
