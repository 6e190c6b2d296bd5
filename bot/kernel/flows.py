"""Multi-step conversations: which flow a person is in, kept in the directory store."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from bot.kernel import failpoints
from bot.kernel.limits import FLOW_TTL
from storage.directory import DirectoryStore
from storage.views import FlowState


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
    FORWARD = "forward"  # text typed outside a flow during a taken request: pass it on?
    CONTACT = "contact"  # the offline route: how a resident wants to be reached, their consent; messages about it


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
    PHONE = "phone"  # waiting for a phone number (or a tap saying how else to reach them)


# A flow step saved while handling an update carries, under this name in its data, the update's
# key and the flow as it was before: if the update is handled again after a crash, it starts
# from where it started the first time (see `as_read`), not from the step it already saved.
STEP_MARK = "_step"
LEFT = ""  # the flow and step of a flow left by an update that may be handled again


def as_read(state: FlowState | None, key: str | None) -> FlowState | None:
    """The flow as an update sees it: for an update handled again after a crash, the flow from
    before its first handling; a flow left (by an earlier update) is no flow; the mark is removed."""
    if state is None:
        return None
    mark = state.data.get(STEP_MARK)
    if isinstance(mark, dict) and key is not None and mark.get("key") == key:
        before = mark.get("before")
        if not isinstance(before, dict):
            return None
        return FlowState(str(before["flow"]), str(before["step"]), dict(before["data"]), state.updated_at)
    if state.flow == LEFT:
        return None
    if mark is None:
        return state
    data = {name: value for name, value in state.data.items() if name != STEP_MARK}
    return FlowState(state.flow, state.step, data, state.updated_at)


def _marked(data: dict[str, Any], key: str | None, before: FlowState | None) -> dict[str, Any]:
    if key is None:  # never handled twice (the console)
        return data
    was = None if before is None else {"flow": before.flow, "step": before.step, "data": before.data}
    return {**data, STEP_MARK: {"key": key, "before": was}}


class Flows:
    def __init__(self, directory: DirectoryStore) -> None:
        self._directory = directory

    async def fresh(self, person_id: int, chat_id: int, state: FlowState | None, now: datetime) -> FlowState | None:
        """`state` as read, or None (and forgotten) when it has gone stale."""
        if state is not None and now - state.updated_at > FLOW_TTL:
            await self._directory.clear_flow(person_id, chat_id)
            return None
        return state

    async def enter(
        self,
        person_id: int,
        chat_id: int,
        flow: Flow,
        step: Step,
        now: datetime,
        *,
        step_key: str | None = None,
        started_from: FlowState | None = None,
        **data: Any,
    ) -> None:
        """Saves the step; with the update's `step_key`, also where that update started from."""
        data = _marked(data, step_key, started_from)
        await self._directory.save_flow(person_id=person_id, chat_id=chat_id, flow=flow, step=step, data=data, now=now)
        failpoints.failpoint(failpoints.FLOW_SAVED)

    async def leave(
        self,
        person_id: int,
        chat_id: int,
        *,
        now: datetime | None = None,
        step_key: str | None = None,
        started_from: FlowState | None = None,
    ) -> bool:
        """Leaves the flow; True if there was one. With the update's `step_key` the flow is kept
        as left, with where the update started from, so handling it again finds that."""
        if step_key is None or now is None:
            return await self._directory.clear_flow(person_id, chat_id)
        data = _marked({}, step_key, started_from)
        await self._directory.save_flow(person_id=person_id, chat_id=chat_id, flow=LEFT, step=LEFT, data=data, now=now)
        return started_from is not None
