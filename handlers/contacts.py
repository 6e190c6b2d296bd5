"""The offline route: a resident asks for a person; buurtverbinders take it up, write back and mark it done."""

from __future__ import annotations

from typing import Any

from bot.contacts import CallTime, ContactView, Reach, reach_text, read_phone, request_values, taker_keyboard
from bot.delivery.post import Labels
from bot.kernel import commands
from bot.kernel.buttons import Tap, encode
from bot.kernel.context import Context
from bot.kernel.flows import Flow, Step
from bot.kernel.limits import STREET_TEXT_MAX
from bot.kernel.permissions import Action
from bot.kernel.refusals import Reason, Refusal
from bot.kernel.replies import Button, Keyboard, keyboard
from bot.kernel.router import Router
from handlers.keyboards import cancel_only, main_menu

CHAT = "chat"  # the "Stuur mij hier een bericht" choice
YES, NO = "yes", "no"
LIST_MAX = 10  # requests shown by /contacten, oldest first


def register(router: Router) -> None:
    router.tap(Tap.JOIN_CONTACT, Action.ASK_CONTACT, ask_for_a_person)
    router.tap(Tap.CONTACT_REACH, Action.ASK_CONTACT, reach_chosen)
    router.step(Flow.CONTACT, Step.PHONE, Action.ASK_CONTACT, phone_typed)
    router.tap(Tap.CONSENT, Action.ASK_CONTACT, consent_given)
    router.command(commands.CONTACTS, open_requests)
    router.tap(Tap.CONTACTS, Action.FOLLOW_UP_CONTACTS, open_requests)
    router.tap(Tap.CONTACT_TAKE, Action.FOLLOW_UP_CONTACTS, take)
    router.tap(Tap.CONTACT_DONE, Action.FOLLOW_UP_CONTACTS, done)
    router.tap(Tap.CONTACT_WRITE, Action.ASK_CONTACT, write)
    router.step(Flow.CONTACT, Step.TEXT, Action.ASK_CONTACT, message_typed)


# --- the resident's side ---------------------------------------------------------------------------


def reach_buttons(label: Labels) -> Keyboard:
    return keyboard(
        *(Button(label("call_me", part=part.value), encode(Tap.CONTACT_REACH, part.value)) for part in CallTime),
        Button(label("message_me_here"), encode(Tap.CONTACT_REACH, CHAT)),
        Button(label("cancel"), encode(Tap.CANCEL)),
    )


async def ask_for_a_person(ctx: Context) -> None:
    """ "Vraag een buurtverbinder" / "Liever bellen": how may we reach you? (Nobody to tell: the
    platform's own contact details instead of a promise.)"""
    typed = ""
    if ctx.flow is not None and ctx.flow.flow == Flow.JOIN:  # after a street not found
        typed = str(ctx.flow.data.get("typed", ""))[:STREET_TEXT_MAX]
    beginning = await ctx.village.contacts.begin(ctx.standing, typed)
    if beginning.already is not None:
        await ctx.leave_flow()
        taker = beginning.already.taker
        await ctx.reply(
            "contacts/already_asked",
            buttons=main_menu(ctx.label, ctx.standing),
            verbinder=taker.name if taker else "",
        )
        return
    if not beginning.anyone_to_tell:
        await ctx.leave_flow()
        await ctx.reply(
            "contacts/nobody", buttons=main_menu(ctx.label, ctx.standing), contact=beginning.platform_contact
        )
        return
    network = beginning.network
    await ctx.enter(Flow.CONTACT, Step.PHONE, typed=typed, network_id=network.id if network else None)
    await ctx.reply("contacts/how_to_reach", buttons=reach_buttons(ctx.label))


async def reach_chosen(ctx: Context) -> None:
    state = ctx.in_flow(Flow.CONTACT, Step.PHONE)
    choice = ctx.pressed.args[0] if ctx.pressed and ctx.pressed.args else ""
    if choice == CHAT:
        await _drafted(ctx, state.data, Reach())
        return
    if choice not in CallTime._value2member_map_:
        raise Refusal(Reason.STALE_BUTTON)
    await ctx.enter(Flow.CONTACT, Step.PHONE, **{**state.data, "call_time": choice})
    await ctx.reply("contacts/ask_phone", buttons=cancel_only(ctx.label))


async def phone_typed(ctx: Context) -> None:
    state = ctx.in_flow(Flow.CONTACT, Step.PHONE)
    phone = read_phone(ctx.text)
    if phone is None:  # nothing changes: still waiting for a number
        await ctx.reply("contacts/phone_not_understood", buttons=cancel_only(ctx.label))
        return
    call_time = state.data.get("call_time")
    known = call_time in CallTime._value2member_map_
    await _drafted(ctx, state.data, Reach(phone, CallTime(str(call_time)) if known else None))


async def _drafted(ctx: Context, data: dict[str, Any], reach: Reach) -> None:
    """How to reach them is known: kept as a draft, and they are asked whether it may be passed on."""
    network_id = data.get("network_id")
    request_id = await ctx.village.contacts.draft(
        ctx.standing,
        typed=str(data.get("typed", "")),
        network_id=int(network_id) if network_id else None,
        reach=reach,
        now=ctx.now,
        key=ctx.step_key,
    )
    await ctx.enter(Flow.CONTACT, Step.CONFIRM, request_id=request_id)
    view = await ctx.village.contacts.draft_view(ctx.standing, request_id)
    buttons = keyboard(
        Button(ctx.label("consent_yes"), encode(Tap.CONSENT, YES)),
        Button(ctx.label("consent_no"), encode(Tap.CONSENT, NO)),
    )
    contact = reach_text(ctx.label, view) if view.reach.phone else ""
    network = view.network.name if view.network else ""
    await ctx.reply("contacts/ask_consent", buttons=buttons, contact=contact, network=network)


async def consent_given(ctx: Context) -> None:
    state = ctx.in_flow(Flow.CONTACT, Step.CONFIRM)
    request_id = int(state.data["request_id"])
    answer = ctx.pressed.args[0] if ctx.pressed and ctx.pressed.args else ""
    contacts = ctx.village.contacts
    if answer == NO:
        await contacts.decline(ctx.standing, request_id)
        await ctx.leave_flow()
        await ctx.replace("contacts/not_passed_on", buttons=main_menu(ctx.label, ctx.standing))
        return
    if answer != YES:
        raise Refusal(Reason.STALE_BUTTON)
    asked = await contacts.ask(ctx.standing, request_id, ctx.now, key=ctx.step_key)
    await ctx.leave_flow()
    menu = main_menu(ctx.label, ctx.standing)
    if asked.view is None:  # the buurtverbinders and community managers went in the meantime
        await ctx.replace("contacts/nobody", buttons=menu, contact=asked.platform_contact)
        return
    if asked.view.tell:  # else this tap was handled before a crash, and they were told then
        await ctx.village.contact_messages.tell(asked.view, asked.told, ctx.now)
    network = asked.view.network
    await ctx.replace("contacts/passed_on", buttons=menu, network=network.name if network else "")
    await contacts.told(ctx.step_key)


# --- the buurtverbinder's side -----------------------------------------------------------------------


async def open_requests(ctx: Context) -> None:
    """/contacten: the open requests this buurtverbinder or community manager may follow up."""
    views = await ctx.village.contacts.open_for(ctx.standing)
    if not views:
        await ctx.reply("contacts/none", buttons=main_menu(ctx.label, ctx.standing))
        return
    await ctx.reply("contacts/list", count=len(views), shown=min(len(views), LIST_MAX))
    for view in views[:LIST_MAX]:
        buttons = _list_buttons(ctx, view)
        await ctx.reply("contacts/request", buttons=buttons, **request_values(ctx.label, view, ctx.now))


def _list_buttons(ctx: Context, view: ContactView) -> Keyboard:
    """Untaken: take it up (or mark it done); taken by this person: write, done; by another: done."""
    if view.request.taken_by == ctx.person.id:
        return taker_keyboard(ctx.label, view)
    done_button = Button(ctx.label("contact_done"), encode(Tap.CONTACT_DONE, view.id))
    if view.request.taken_by is None:
        return keyboard(Button(ctx.label("i_take_contact"), encode(Tap.CONTACT_TAKE, view.id)), done_button)
    return keyboard(done_button)


async def take(ctx: Context) -> None:
    """ "Ik neem contact op": the first one has it; the others' copies say who."""
    taking = await ctx.village.contacts.take(ctx.standing, ctx.int_arg(), ctx.now, key=ctx.step_key)
    view = taking.view
    values = request_values(ctx.label, view, ctx.now)
    if not taking.won:
        await ctx.notice("contacts/taken_by_other", verbinder=values["verbinder"])
        await ctx.replace("contacts/notice_taken", **values)
        return
    await ctx.replace("contacts/you_take", buttons=taker_keyboard(ctx.label, view), **values)
    if view.tell:  # else this tap was handled before a crash, and everyone was told then
        messages = ctx.village.contact_messages
        await messages.show_taken(view, ctx.now, besides=ctx.person.id)
        await messages.tell_resident_taken(view)
        await ctx.village.contacts.told(ctx.step_key)


async def done(ctx: Context) -> None:
    view = await ctx.village.contacts.done(ctx.standing, ctx.int_arg(), ctx.now, key=ctx.step_key)
    await ctx.replace("contacts/done", **request_values(ctx.label, view, ctx.now))
    if view.tell:
        await ctx.village.contact_messages.show_done(view, ctx.now, besides=ctx.person.id)
        await ctx.village.contacts.told(ctx.step_key)


# --- messages between them -----------------------------------------------------------------------------


async def write(ctx: Context) -> None:
    request_id = ctx.int_arg()
    partner = await ctx.village.contacts.partner(ctx.standing, request_id)
    await ctx.enter(Flow.CONTACT, Step.TEXT, request_id=request_id)
    await ctx.reply("contacts/ask_message", buttons=cancel_only(ctx.label), name=partner.name)


async def message_typed(ctx: Context) -> None:
    state = ctx.in_flow(Flow.CONTACT, Step.TEXT)
    request_id = int(state.data["request_id"])
    contacts = ctx.village.contacts
    recipient, text, tell = await contacts.write(ctx.standing, request_id, ctx.text, ctx.now, key=ctx.step_key)
    await ctx.leave_flow()
    if tell:  # else it was passed on before a crash
        await ctx.village.contact_messages.pass_on(recipient, request_id, sender=ctx.person.name, text=text)
    await ctx.reply("contacts/message_sent", name=recipient.name)
    await contacts.told(ctx.step_key)
