"""Multi-step conversations: which flow a person is in, kept in the directory store."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from bot.limits import FLOW_TTL
from storage.directory import DirectoryStore, FlowState


class Flow(StrEnum):
    JOIN = "join"
    NEW_NETWORK = "new_network"
    ASK = "ask"
    OFFER = "offer"
    RELAY = "relay"
    NEW_EVENT = "new_event"
    MOVE_EVENT = "move_event"
    ANNOUNCE = "announce"
    ANNOUNCE_ALL = "announce_all"


class Step(StrEnum):
    STREET = "street"  # waiting for the street name
    CHOOSE = "choose"  # street choices shown, waiting for a tap
    NAME = "name"
    STREETS = "streets"
    CONFIRM = "confirm"
    NETWORK = "network"
    FOR_WHOM = "for_whom"
    BEHALF_NAME = "behalf_name"
    BEHALF_CONTACT = "behalf_contact"
    BEHALF_CONSENT = "behalf_consent"
    CATEGORY = "category"
    DESCRIBE = "describe"
    WHEN = "when"
    WHEN_CONFIRM = "when_confirm"
    NAME_SHOWN = "name_shown"
    PREVIEW = "preview"
    CHOOSE_HELP = "choose_help"
    TEXT = "text"
    TITLE = "title"
    PLACE = "place"
    CAPACITY = "capacity"


class Flows:
    def __init__(self, directory: DirectoryStore) -> None:
        self._directory = directory

    async def fresh(self, person_id: int, chat_id: int, state: FlowState | None, now: datetime) -> FlowState | None:
        """`state` as read, or None (and forgotten) when it has gone stale."""
        if state is not None and now - state.updated_at > FLOW_TTL:
            await self._directory.clear_flow(person_id, chat_id)
            return None
        return state

    async def enter(self, person_id: int, chat_id: int, flow: Flow, step: Step, now: datetime, **data: Any) -> None:
        await self._directory.save_flow(person_id=person_id, chat_id=chat_id, flow=flow, step=step, data=data, now=now)

    async def leave(self, person_id: int, chat_id: int) -> bool:
        return await self._directory.clear_flow(person_id, chat_id)
