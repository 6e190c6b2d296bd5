"""Activities: /events (/agenda), /newevent (/activiteit), answering, calendar files, moving, cancelling."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.activities import (
    DESCRIPTION_MAX,
    PLACE_MAX,
    TITLE_MAX,
    Answer,
    Draft,
    EventStatus,
    activity_values,
    answer_keyboard,
)
from bot.joining import Network
from bot.kernel import commands
from bot.kernel.buttons import Tap, encode
from bot.kernel.context import Context
from bot.kernel.events import ButtonPress
from bot.kernel.flows import Flow, Step
from bot.kernel.permissions import Action
from bot.kernel.refusals import Reason, Refusal
from bot.kernel.replies import Button, keyboard
from bot.kernel.router import Router
from handlers.date_steps import AskWhen, DateStep
from handlers.keyboards import cancel_only

ANSWERS = {"y": Answer.YES, "m": Answer.MAYBE, "n": Answer.NO}


def register(router: Router) -> None:
    router.command(commands.EVENTS, agenda)
    router.tap(Tap.EVENTS, Action.VIEW_EVENTS, agenda)
    router.command(commands.NEW_EVENT, new_event)
    router.tap(Tap.EVENT_NEW, Action.NEW_EVENT, new_event)
    router.tap(Tap.EVENT_NETWORK, Action.NEW_EVENT, network_chosen)
    router.step(Flow.NEW_EVENT, Step.TITLE, Action.NEW_EVENT, titled)
    router.step(Flow.NEW_EVENT, Step.WHEN, Action.NEW_EVENT, NEW_EVENT_WHEN.typed)
    router.step(Flow.NEW_EVENT, Step.WHEN_CONFIRM, Action.NEW_EVENT, NEW_EVENT_WHEN.typed)
    router.tap(Tap.EVENT_WHEN_OK, Action.NEW_EVENT, when_pressed)
    router.step(Flow.NEW_EVENT, Step.PLACE, Action.NEW_EVENT, placed)
    router.step(Flow.NEW_EVENT, Step.DESCRIBE, Action.NEW_EVENT, described)
    router.tap(Tap.EVENT_NO_DESCRIPTION, Action.NEW_EVENT, described)
    router.step(Flow.NEW_EVENT, Step.CAPACITY, Action.NEW_EVENT, capacity_given)
    router.tap(Tap.EVENT_NO_LIMIT, Action.NEW_EVENT, capacity_given)
    router.tap(Tap.EVENT_SAVE, Action.NEW_EVENT, save)
    router.tap(Tap.EVENT_ANSWER, Action.VIEW_EVENTS, answered)
    router.tap(Tap.EVENT_WAIT, Action.VIEW_EVENTS, wait_for_a_place)
    router.tap(Tap.EVENT_CALENDAR, Action.VIEW_EVENTS, calendar_file)
    router.tap(Tap.EVENT_MOVE, Action.NEW_EVENT, move)
    router.step(Flow.MOVE_EVENT, Step.WHEN, Action.NEW_EVENT, MOVE_WHEN.typed)
    router.step(Flow.MOVE_EVENT, Step.WHEN_CONFIRM, Action.NEW_EVENT, MOVE_WHEN.typed)
    router.tap(Tap.EVENT_MOVE_OK, Action.NEW_EVENT, move_pressed)
    router.tap(Tap.EVENT_CANCEL, Action.NEW_EVENT, cancel)
    router.tap(Tap.EVENT_CANCEL_OK, Action.NEW_EVENT, cancel_confirmed)
    router.tap(Tap.EVENT_APPROVE, Action.PUBLISH_EVENT, approve)
    router.tap(Tap.EVENT_DECLINE, Action.PUBLISH_EVENT, decline)
    router.tap(Tap.EVENT_REMINDERS, Action.VIEW_EVENTS, reminders)


# --- the agenda -----------------------------------------------------------------------------


async def agenda(ctx: Context) -> None:
    activities = ctx.village.activities
    views = await activities.upcoming(ctx.standing, ctx.now)
    on = await activities.reminders_on(ctx.standing)
    rows = [Button(ctx.label("reminders", on=on), encode(Tap.EVENT_REMINDERS, "off" if on else "on"))]
    if any([await activities.may_create(ctx.standing, view.network) for view in ctx.standing.active]):
        rows.insert(0, Button(ctx.label("menu_new_event"), encode(Tap.EVENT_NEW)))
    footer = keyboard(*rows)
    if not views:
        await ctx.reply("activity/none", buttons=footer)
        return
    await ctx.reply("activity/agenda", count=len(views))
    for view in views:
        manage = activities.may_change(ctx.standing, view)
        await ctx.reply(
            "activity/line", buttons=answer_keyboard(ctx.label, view, manage=manage), **activity_values(view)
        )
    await ctx.reply("activity/agenda_end", buttons=footer, on=on)


async def reminders(ctx: Context) -> None:
    on = bool(ctx.pressed and ctx.pressed.args and ctx.pressed.args[0] == "on")
    await ctx.village.activities.set_reminders(ctx.standing, on)
    await ctx.replace("activity/reminders_set", on=on)


# --- creating -------------------------------------------------------------------------------


async def new_event(ctx: Context) -> None:
    allowed = [
        v.network for v in ctx.standing.active if await ctx.village.activities.may_create(ctx.standing, v.network)
    ]
    if not allowed:
        raise Refusal(Reason.NOT_ALLOWED)
    if len(allowed) == 1:
        await _ask_title(ctx, allowed[0])
        return
    await ctx.enter(Flow.NEW_EVENT, Step.NETWORK)
    await ctx.reply(
        "activity/ask_network", buttons=keyboard(*(Button(n.name, encode(Tap.EVENT_NETWORK, n.id)) for n in allowed))
    )


async def network_chosen(ctx: Context) -> None:
    ctx.in_flow(Flow.NEW_EVENT, Step.NETWORK)
    network = next((v.network for v in ctx.standing.active if v.network.id == ctx.int_arg()), None)
    if network is None or not await ctx.village.activities.may_create(ctx.standing, network):
        raise Refusal(Reason.STALE_BUTTON)
    await _ask_title(ctx, network)


async def _ask_title(ctx: Context, network: Network) -> None:
    await ctx.enter(Flow.NEW_EVENT, Step.TITLE, network_id=network.id)
    await ctx.reply("activity/ask_title", buttons=cancel_only(ctx.label), network=network.name)


async def titled(ctx: Context) -> None:
    state = ctx.in_flow(Flow.NEW_EVENT, Step.TITLE)
    title = ctx.village.activities.check_text(ctx.text, TITLE_MAX)
    await ctx.enter(Flow.NEW_EVENT, Step.WHEN, **state.data, title=title)
    await _ask_when(ctx, state.data)


async def _ask_when(ctx: Context, data: dict[str, Any]) -> None:
    await ctx.reply("activity/ask_when", buttons=cancel_only(ctx.label))


def _activity_when(flow: Flow, tap: Tap, ask: AskWhen) -> DateStep:
    """An activity starts at a time everyone can come: a day without one is asked "hoe laat?"."""
    return DateStep(
        flow=flow,
        yes=tap,
        tap=tap,
        moment="starts_at",
        with_time="has_time",
        confirm="activity/confirm_when",
        ask=ask,
        ask_time="activity/ask_time",
        time_not_understood="activity/time_not_understood",
    )


NEW_EVENT_WHEN = _activity_when(Flow.NEW_EVENT, Tap.EVENT_WHEN_OK, _ask_when)


async def when_pressed(ctx: Context) -> None:
    if await NEW_EVENT_WHEN.pressed(ctx):
        return
    state = ctx.in_flow(Flow.NEW_EVENT, Step.WHEN_CONFIRM)
    await ctx.enter(Flow.NEW_EVENT, Step.PLACE, **state.data)
    await ctx.reply("activity/ask_place", buttons=cancel_only(ctx.label))


async def placed(ctx: Context) -> None:
    state = ctx.in_flow(Flow.NEW_EVENT, Step.PLACE)
    place = ctx.village.activities.check_text(ctx.text, PLACE_MAX)
    await ctx.enter(Flow.NEW_EVENT, Step.DESCRIBE, **state.data, place=place)
    buttons = keyboard(
        Button(ctx.label("skip"), encode(Tap.EVENT_NO_DESCRIPTION)), Button(ctx.label("cancel"), encode(Tap.CANCEL))
    )
    await ctx.reply("activity/ask_description", buttons=buttons)


async def described(ctx: Context) -> None:
    state = ctx.in_flow(Flow.NEW_EVENT, Step.DESCRIBE)
    description = "" if ctx.pressed else ctx.village.activities.check_text(ctx.text, DESCRIPTION_MAX)
    await ctx.enter(Flow.NEW_EVENT, Step.CAPACITY, **state.data, description=description)
    buttons = keyboard(
        Button(ctx.label("no_limit"), encode(Tap.EVENT_NO_LIMIT)), Button(ctx.label("cancel"), encode(Tap.CANCEL))
    )
    await ctx.reply("activity/ask_capacity", buttons=buttons)


async def capacity_given(ctx: Context) -> None:
    state = ctx.in_flow(Flow.NEW_EVENT, Step.CAPACITY)
    capacity = None if ctx.pressed else ctx.village.activities.check_capacity(ctx.text)
    data = {**state.data, "capacity": capacity}
    await ctx.enter(Flow.NEW_EVENT, Step.PREVIEW, **data)
    network = await ctx.village.networks.by_id(int(data["network_id"]))
    publishing = ctx.standing.may_in(network.id or 0, Action.PUBLISH_EVENT)
    buttons = keyboard(
        Button(ctx.label("publish" if publishing else "propose"), encode(Tap.EVENT_SAVE)),
        Button(ctx.label("cancel"), encode(Tap.CANCEL)),
    )
    draft = _draft(data)
    await ctx.reply(
        "activity/preview",
        buttons=buttons,
        network=network.name,
        title=draft.title,
        starts_at=draft.starts_at,
        place=draft.place,
        description=draft.description,
        capacity=draft.capacity,
        publishing=publishing,
    )


def _draft(data: dict[str, Any]) -> Draft:
    try:
        return Draft(
            title=str(data["title"]),
            starts_at=datetime.fromisoformat(str(data["starts_at"])),
            has_time=True,
            place=str(data["place"]),
            description=str(data.get("description", "")),
            capacity=int(data["capacity"]) if data.get("capacity") else None,
        )
    except (KeyError, ValueError) as error:
        raise Refusal(Reason.STALE_BUTTON) from error


async def save(ctx: Context) -> None:
    state = ctx.in_flow(Flow.NEW_EVENT, Step.PREVIEW)
    network = await ctx.village.networks.by_id(int(state.data["network_id"]))
    activities = ctx.village.activities
    event = await activities.create(ctx.standing, network, _draft(state.data), ctx.now)
    await ctx.leave_flow()
    view = await activities.view(network.id or 0, event.id or 0, ctx.person.id)
    if event.status == EventStatus.PROPOSED:
        for verbinder in await activities.proposal_reviewers(network):
            await ctx.village.activity_messages.proposal(verbinder, view, ctx.person.name)
        await ctx.replace("activity/proposal_sent", **activity_values(view))
        return
    reached = await ctx.village.activity_messages.post_to_audience(
        view, await activities.audience(network, besides=ctx.person.id)
    )
    buttons = answer_keyboard(ctx.label, view, manage=True)
    await ctx.replace("activity/published", buttons=buttons, reached=reached, **activity_values(view))
    if isinstance(ctx.event, ButtonPress):  # the organiser's copy: its counts follow every answer
        await activities.record_posting(network, event.id or 0, ctx.chat_id, ctx.event.message_id)


async def approve(ctx: Context) -> None:
    activities = ctx.village.activities
    view = await activities.decide_proposal(ctx.standing, ctx.int_arg(0), ctx.int_arg(1), publish=True, now=ctx.now)
    reached = await ctx.village.activity_messages.post_to_audience(
        view, await activities.audience(view.network, besides=None)
    )
    await ctx.replace("activity/proposal_published", reached=reached, **activity_values(view))


async def decline(ctx: Context) -> None:
    view = await ctx.village.activities.decide_proposal(
        ctx.standing, ctx.int_arg(0), ctx.int_arg(1), publish=False, now=ctx.now
    )
    await ctx.replace("activity/proposal_declined", **activity_values(view))
    proposer = await ctx.village.people.get(view.event.created_by)
    if proposer is not None:
        await ctx.tell(proposer, "activity/your_proposal_declined", **activity_values(view))


# --- answering ------------------------------------------------------------------------------


async def answered(ctx: Context) -> None:
    answer = ANSWERS.get(ctx.pressed.args[2] if ctx.pressed and len(ctx.pressed.args) > 2 else "")
    if answer is None:
        raise Refusal(Reason.STALE_BUTTON)
    network_id, event_id = ctx.int_arg(0), ctx.int_arg(1)
    try:
        result = await ctx.village.activities.answer(
            ctx.standing, network_id, event_id, answer, ctx.now, key=ctx.step_key
        )
    except Refusal as refusal:
        if refusal.reason != Reason.EVENT_FULL:
            raise
        buttons = keyboard(Button(ctx.label("join_waiting_list"), encode(Tap.EVENT_WAIT, network_id, event_id)))
        await ctx.reply("activity/full", buttons=buttons, **refusal.values)
        return
    await _show_answer(ctx, result)


async def wait_for_a_place(ctx: Context) -> None:
    result = await ctx.village.activities.answer(
        ctx.standing, ctx.int_arg(0), ctx.int_arg(1), Answer.YES, ctx.now, wait=True, key=ctx.step_key
    )
    await _show_answer(ctx, result)


async def _show_answer(ctx: Context, result: Any) -> None:
    view = result.view
    manage = ctx.village.activities.may_change(ctx.standing, view)
    await ctx.replace("activity/line", buttons=answer_keyboard(ctx.label, view, manage=manage), **activity_values(view))
    await ctx.notice("activity/answer_noted", answer=view.answer, waiting=view.waiting)
    await ctx.village.activity_messages.refresh_organiser_copy(view, result.organiser_copies)
    if result.promoted is not None:
        await ctx.tell(result.promoted, "activity/place_for_you", **activity_values(view))
        await ctx.village.activities.told(result, ctx.step_key)


async def calendar_file(ctx: Context) -> None:
    view = await ctx.village.activities.view(ctx.int_arg(0), ctx.int_arg(1), ctx.person.id)
    if not any(v.network.id == view.network.id for v in ctx.standing.active):
        raise Refusal(Reason.NOT_MEMBER)
    caption = ctx.village.renderer.render(ctx.lang, "activity/calendar_caption", **activity_values(view))
    await ctx.village.messenger.send_document(
        ctx.chat_id, f"activiteit-{view.event.id}.ics", ctx.village.activities.calendar_file(view), caption
    )


# --- moving and cancelling ------------------------------------------------------------------


async def move(ctx: Context) -> None:
    view = await ctx.village.activities.view(ctx.int_arg(0), ctx.int_arg(1))
    if not ctx.village.activities.may_change(ctx.standing, view):
        raise Refusal(Reason.NOT_ALLOWED)
    await ctx.enter(Flow.MOVE_EVENT, Step.WHEN, network_id=view.network.id, event_id=view.event.id)
    await ctx.reply("activity/ask_new_when", buttons=cancel_only(ctx.label), **activity_values(view))


async def _ask_new_when(ctx: Context, data: dict[str, Any]) -> None:
    try:
        view = await ctx.village.activities.view(int(data["network_id"]), int(data["event_id"]))
    except (KeyError, ValueError) as error:
        raise Refusal(Reason.STALE_BUTTON) from error
    await ctx.reply("activity/ask_new_when", buttons=cancel_only(ctx.label), **activity_values(view))


MOVE_WHEN = _activity_when(Flow.MOVE_EVENT, Tap.EVENT_MOVE_OK, _ask_new_when)


async def move_pressed(ctx: Context) -> None:
    if await MOVE_WHEN.pressed(ctx):
        return
    state = ctx.in_flow(Flow.MOVE_EVENT, Step.WHEN_CONFIRM)
    starts_at = datetime.fromisoformat(str(state.data["starts_at"]))
    view = await ctx.village.activities.move(
        ctx.standing, int(state.data["network_id"]), int(state.data["event_id"]), starts_at, ctx.now
    )
    await ctx.leave_flow()
    told = await ctx.village.activity_messages.tell_responders(view, "activity/moved", besides=ctx.person.id)
    await ctx.replace("activity/moved_done", told=told, **activity_values(view))


async def cancel(ctx: Context) -> None:
    view = await ctx.village.activities.view(ctx.int_arg(0), ctx.int_arg(1))
    if not ctx.village.activities.may_change(ctx.standing, view):
        raise Refusal(Reason.NOT_ALLOWED)
    buttons = keyboard(
        Button(ctx.label("yes_cancel_event"), encode(Tap.EVENT_CANCEL_OK, view.network.id, view.event.id)),
        Button(ctx.label("no_keep_event"), encode(Tap.CANCEL)),
    )
    await ctx.reply("activity/confirm_cancel", buttons=buttons, **activity_values(view))


async def cancel_confirmed(ctx: Context) -> None:
    view = await ctx.village.activities.cancel(ctx.standing, ctx.int_arg(0), ctx.int_arg(1), ctx.now)
    told = await ctx.village.activity_messages.tell_responders(view, "activity/cancelled", besides=ctx.person.id)
    await ctx.replace("activity/cancelled_done", told=told, **activity_values(view))
