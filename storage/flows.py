"""Conversations in the directory: the flow each person is in with each chat, kept so a restart loses none."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.base import Store
from storage.engine import upsert
from storage.known import ONE_FLOW, Known
from storage.models import Conversation
from storage.upserts import made_once
from storage.views import FlowState

_CONVERSATIONS = Conversation.__table__  # type: ignore[attr-defined]
_FLOW = select(Conversation).where(
    col(Conversation.person_id) == bindparam("person_id"), col(Conversation.chat_id) == bindparam("chat_id")
)
_FLOWS_OF_MANY = select(Conversation).where(col(Conversation.person_id).in_(bindparam("person_ids", expanding=True)))


def _save_flow(connection: AsyncConnection) -> Any:
    """INSERT .. ON CONFLICT (person_id, chat_id) DO UPDATE: a conversation's new step."""
    save = upsert(connection, _CONVERSATIONS)
    return save.on_conflict_do_update(
        index_elements=[_CONVERSATIONS.c.person_id, _CONVERSATIONS.c.chat_id],
        set_={name: save.excluded[name] for name in ("flow", "step", "data", "updated_at")},
    )


def _flow_state(row: Conversation) -> FlowState:
    return FlowState(row.flow, row.step, json.loads(row.data), row.updated_at)


def copy_flow(flow: FlowState | None) -> FlowState | None:
    """A kept flow for a handler, which may change its data without saving it."""
    if flow is None:
        return None
    return FlowState(flow.flow, flow.step, json.loads(json.dumps(flow.data)), flow.updated_at)


async def flow_in(session: AsyncSession, person_id: int, chat_id: int) -> FlowState | None:
    """The flow a person is in with a chat, in the caller's session."""
    row = (await session.exec(_FLOW, params={"person_id": person_id, "chat_id": chat_id})).first()
    return None if row is None else _flow_state(row)


async def flows_of_people(session: AsyncSession, person_ids: Iterable[int]) -> dict[tuple[int, int], FlowState]:
    """Every flow of these people, by (person, chat), in one query."""
    rows = (await session.exec(_FLOWS_OF_MANY, params={"person_ids": sorted(person_ids)})).all()
    return {(row.person_id, row.chat_id): _flow_state(row) for row in rows}


class FlowRecords(Store):
    """The directory's conversations (part of `DirectoryStore`); what is saved is kept in `Known`."""

    _known: Known

    async def flow(self, person_id: int, chat_id: int) -> FlowState | None:
        async with self.transaction() as session:
            row = await session.get(Conversation, (person_id, chat_id))
            if row is None:
                return None
            return _flow_state(row)

    async def save_flow(
        self, *, person_id: int, chat_id: int, flow: str, step: str, data: dict[str, Any], now: datetime
    ) -> None:
        text = json.dumps(data)
        async with self.connection() as connection:  # the flow kept below, not forgotten by an event
            row = {"person_id": person_id, "chat_id": chat_id, "flow": flow, "step": step, "data": text}
            await connection.execute(made_once(connection, _save_flow), {**row, "updated_at": now})
            # Kept as written, a copy of `data` (the caller may go on changing theirs).
            self._known.keep_flow(person_id, chat_id, FlowState(flow, step, json.loads(text), now))

    async def clear_flow(self, person_id: int, chat_id: int) -> bool:
        async with self.transaction() as session:
            result = await session.exec(
                delete(Conversation)
                .where(col(Conversation.person_id) == person_id, col(Conversation.chat_id) == chat_id)
                .execution_options(**{ONE_FLOW: (person_id, chat_id)})
            )
            return bool(result.rowcount)
