"""Help between neighbours: /ask (/vraag), /offer (/aanbod), /requests (/verzoeken) and their buttons."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from bot.delivery.post import Labels
from bot.joining import Network
from bot.kernel import commands
from bot.kernel.buttons import Tap, encode
from bot.kernel.context import Context
from bot.kernel.flows import Flow, Step
from bot.kernel.limits import BEHALF_TEXT_MAX, REQUESTS_PAGE
from bot.kernel.permissions import Action
from bot.kernel.refusals import Reason, Refusal, checked_text
from bot.kernel.replies import Button, Keyboard, keyboard
from bot.kernel.router import Router
from bot.neighbour_help import (
    Category,
    Draft,
    HelpStatus,
    NameShownTo,
    asker_keyboard,
    claim_button,
    helper_keyboard,
    refs,
    request_values,
)
from handlers.date_steps import DateStep
from handlers.keyboards import cancel_only, main_menu


def register(router: Router) -> None:
    router.command(commands.ASK, ask)
    router.tap(Tap.ASK, Action.ASK_HELP, ask)
    router.tap(Tap.ASK_NETWORK, Action.ASK_HELP, network_chosen)
    router.tap(Tap.ASK_SELF, Action.ASK_HELP, for_self)
    router.tap(Tap.ASK_BEHALF, Action.ASK_ON_BEHALF, for_a_resident)
    router.step(Flow.ASK, Step.BEHALF_NAME, Action.ASK_ON_BEHALF, behalf_named)
    router.step(Flow.ASK, Step.BEHALF_CONTACT, Action.ASK_ON_BEHALF, behalf_contact_given)
    router.tap(Tap.ASK_CONSENT, Action.ASK_ON_BEHALF, behalf_consented)
    router.tap(Tap.ASK_CATEGORY, Action.ASK_HELP, category_chosen)
    router.step(Flow.ASK, Step.DESCRIBE, Action.ASK_HELP, described)
    router.tap(Tap.ASK_WHEN, Action.ASK_HELP, when_tapped)
    router.step(Flow.ASK, Step.WHEN, Action.ASK_HELP, HELP_WHEN.typed)
    router.step(Flow.ASK, Step.WHEN_CONFIRM, Action.ASK_HELP, HELP_WHEN.typed)
    router.tap(Tap.ASK_WHEN_OK, Action.ASK_HELP, when_confirmed)
    router.tap(Tap.ASK_NAME_SHOWN, Action.ASK_HELP, name_shown_chosen)
    router.tap(Tap.ASK_POST, Action.ASK_HELP, post)
    router.command(commands.OFFER, offer)
    router.tap(Tap.OFFER, Action.OFFER_HELP, offer)
    router.tap(Tap.OFFER_TOGGLE, Action.OFFER_HELP, offer_toggled)
    router.tap(Tap.OFFER_NOTIFY, Action.OFFER_HELP, offer_notify_toggled)
    router.tap(Tap.OFFER_SAVE, Action.OFFER_HELP, offer_saved)
    router.command(commands.REQUESTS, requests)
    router.command(commands.MY_REQUESTS, my_requests)
    router.tap(Tap.MY_REQUESTS, Action.ASK_HELP, my_requests)
    router.tap(Tap.DONE_CHECK, Action.ASK_HELP, done_check)
    router.tap(Tap.FORWARD, Action.ASK_HELP, forward)
    router.tap(Tap.REQUESTS, Action.VIEW_REQUESTS, requests)
    router.tap(Tap.CLAIM, Action.OFFER_HELP, claim)
    router.tap(Tap.RELAY, Action.RELAY, relay_start)
    router.step(Flow.RELAY, Step.TEXT, Action.RELAY, relay_text)
    router.tap(Tap.DONE, Action.ASK_HELP, done)
    router.tap(Tap.WITHDRAW, Action.ASK_HELP, withdraw)
    router.tap(Tap.RELEASE, Action.OFFER_HELP, release)
    router.tap(Tap.NOT_YET, Action.ASK_HELP, not_yet)
    router.tap(Tap.FOLLOW, Action.FOLLOW_UP_HELP, follow)


# --- asking, step by step -------------------------------------------------------------------


async def ask(ctx: Context) -> None:
    networks = [view.network for view in ctx.standing.active]
    if len(networks) == 1:
        await _start_for_network(ctx, networks[0])
        return
    buttons = keyboard(*(Button(n.name, encode(Tap.ASK_NETWORK, n.id)) for n in networks))
    await ctx.enter(Flow.ASK, Step.NETWORK)
    await ctx.reply("help/ask_network", buttons=buttons)


async def network_chosen(ctx: Context) -> None:
    ctx.in_flow(Flow.ASK, Step.NETWORK)
    network = next((v.network for v in ctx.standing.active if v.network.id == ctx.int_arg()), None)
    if network is None:
        raise Refusal(Reason.STALE_BUTTON)
    await _start_for_network(ctx, network)


async def _start_for_network(ctx: Context, network: Network) -> None:
    if ctx.standing.may_in(network.id or 0, Action.ASK_ON_BEHALF):
        await ctx.enter(Flow.ASK, Step.FOR_WHOM, network_id=network.id)
        buttons = keyboard(
            Button(ctx.label("for_myself"), encode(Tap.ASK_SELF)),
            Button(ctx.label("for_a_resident"), encode(Tap.ASK_BEHALF)),
            Button(ctx.label("cancel"), encode(Tap.CANCEL)),
        )
        await ctx.reply("help/ask_for_whom", buttons=buttons)
        return
    await _ask_category(ctx, network_id=network.id)


async def for_self(ctx: Context) -> None:
    state = ctx.in_flow(Flow.ASK, Step.FOR_WHOM)
    await _ask_category(ctx, **state.data)


async def for_a_resident(ctx: Context) -> None:
    state = ctx.in_flow(Flow.ASK, Step.FOR_WHOM)
    await ctx.enter(Flow.ASK, Step.BEHALF_NAME, **state.data)
    await ctx.reply("help/ask_behalf_name", buttons=cancel_only(ctx.label))


async def behalf_named(ctx: Context) -> None:
    state = ctx.in_flow(Flow.ASK, Step.BEHALF_NAME)
    name = _short_text(ctx.text)
    await ctx.enter(Flow.ASK, Step.BEHALF_CONTACT, **state.data, behalf_name=name)
    await ctx.reply("help/ask_behalf_contact", buttons=cancel_only(ctx.label), name=name)


async def behalf_contact_given(ctx: Context) -> None:
    state = ctx.in_flow(Flow.ASK, Step.BEHALF_CONTACT)
    contact = _short_text(ctx.text)
    await ctx.enter(Flow.ASK, Step.BEHALF_CONSENT, **state.data, behalf_contact=contact)
    buttons = keyboard(
        Button(ctx.label("consent_given"), encode(Tap.ASK_CONSENT)), Button(ctx.label("cancel"), encode(Tap.CANCEL))
    )
    await ctx.reply("help/ask_behalf_consent", buttons=buttons, name=state.data["behalf_name"], contact=contact)


def _short_text(text: str) -> str:
    return checked_text(" ".join(text.split()), BEHALF_TEXT_MAX)


async def behalf_consented(ctx: Context) -> None:
    state = ctx.in_flow(Flow.ASK, Step.BEHALF_CONSENT)
    await _ask_category(ctx, **state.data)


async def _ask_category(ctx: Context, **data: Any) -> None:
    await ctx.enter(Flow.ASK, Step.CATEGORY, **data)
    rows = [Button(ctx.label(f"category_{c.value}"), encode(Tap.ASK_CATEGORY, c.value)) for c in Category]
    paired = [rows[i : i + 2] for i in range(0, len(rows), 2)]
    await ctx.reply("help/ask_category", buttons=keyboard(*paired, Button(ctx.label("cancel"), encode(Tap.CANCEL))))


async def category_chosen(ctx: Context) -> None:
    state = ctx.in_flow(Flow.ASK, Step.CATEGORY)
    try:
        category = Category(ctx.pressed.args[0] if ctx.pressed and ctx.pressed.args else "")
    except ValueError as error:
        raise Refusal(Reason.STALE_BUTTON) from error
    await ctx.enter(Flow.ASK, Step.DESCRIBE, **state.data, category=category.value)
    await ctx.reply("help/ask_describe", buttons=cancel_only(ctx.label), category=category.value)


async def described(ctx: Context) -> None:
    state = ctx.in_flow(Flow.ASK, Step.DESCRIBE)
    description = ctx.village.help.check_description(ctx.text)
    await ctx.enter(Flow.ASK, Step.WHEN, **state.data, description=description)
    await _ask_when(ctx, state.data)


async def _ask_when(ctx: Context, data: dict[str, Any]) -> None:
    buttons = keyboard(
        [
            Button(ctx.label("today"), encode(Tap.ASK_WHEN, "today")),
            Button(ctx.label("tomorrow"), encode(Tap.ASK_WHEN, "tomorrow")),
        ],
        Button(ctx.label("this_week"), encode(Tap.ASK_WHEN, "week")),
        Button(ctx.label("cancel"), encode(Tap.CANCEL)),
    )
    await ctx.reply("help/ask_when", buttons=buttons)


# Help is needed on a day, at a time only if the asker gives one: no time is asked for.
HELP_WHEN = DateStep(
    flow=Flow.ASK,
    yes=Tap.ASK_WHEN_OK,
    tap=Tap.ASK_WHEN,
    moment="needed_at",
    with_time="needed_has_time",
    confirm="help/confirm_when",
    ask=_ask_when,
)


async def when_tapped(ctx: Context) -> None:
    if await HELP_WHEN.pressed(ctx):
        return
    state = ctx.in_flow(Flow.ASK, Step.WHEN, Step.WHEN_CONFIRM)
    choice = ctx.pressed.args[0] if ctx.pressed and ctx.pressed.args else ""
    zone = ctx.village.settings.zone
    today = ctx.now.astimezone(zone).date()
    days = {"today": 0, "tomorrow": 1, "week": 6 - today.weekday()}
    if choice not in days:
        raise Refusal(Reason.STALE_BUTTON)
    day = today + timedelta(days=days[choice])
    moment = datetime.combine(day, time(12), tzinfo=zone)
    await _ask_name_shown(ctx, **HELP_WHEN.kept(state.data), needed_at=moment.isoformat(), has_time=False)


async def when_confirmed(ctx: Context) -> None:
    state = ctx.in_flow(Flow.ASK, Step.WHEN_CONFIRM)
    await _ask_name_shown(ctx, **state.data)


async def _ask_name_shown(ctx: Context, **data: Any) -> None:
    await ctx.enter(Flow.ASK, Step.NAME_SHOWN, **data)
    buttons = keyboard(
        Button(ctx.label("name_to_network"), encode(Tap.ASK_NAME_SHOWN, NameShownTo.NETWORK.value)),
        Button(ctx.label("name_to_helper"), encode(Tap.ASK_NAME_SHOWN, NameShownTo.HELPER.value)),
    )
    await ctx.reply("help/ask_name_shown", buttons=buttons)


async def name_shown_chosen(ctx: Context) -> None:
    state = ctx.in_flow(Flow.ASK, Step.NAME_SHOWN)
    try:
        shown_to = NameShownTo(ctx.pressed.args[0] if ctx.pressed and ctx.pressed.args else "")
    except ValueError as error:
        raise Refusal(Reason.STALE_BUTTON) from error
    data = {**state.data, "shown_to": shown_to.value}
    await ctx.enter(Flow.ASK, Step.PREVIEW, **data)
    draft = _draft(data)
    buttons = keyboard(
        Button(ctx.label("post_request"), encode(Tap.ASK_POST)), Button(ctx.label("cancel"), encode(Tap.CANCEL))
    )
    await ctx.reply(
        "help/preview",
        buttons=buttons,
        category=draft.category.value,
        description=draft.description,
        needed_at=draft.needed_at,
        needed_has_time=draft.needed_has_time,
        asker=draft.on_behalf_name or ctx.person.name,
        name_shown_to=draft.name_shown_to.value,
    )


def _draft(data: dict[str, Any]) -> Draft:
    try:
        return Draft(
            category=Category(data["category"]),
            description=str(data["description"]),
            needed_at=datetime.fromisoformat(str(data["needed_at"])),
            needed_has_time=bool(data["has_time"]),
            name_shown_to=NameShownTo(data.get("shown_to", NameShownTo.NETWORK)),
            on_behalf_name=data.get("behalf_name"),
            on_behalf_contact=data.get("behalf_contact"),
        )
    except (KeyError, ValueError) as error:
        raise Refusal(Reason.STALE_BUTTON) from error


async def post(ctx: Context) -> None:
    state = ctx.in_flow(Flow.ASK, Step.PREVIEW)
    network = await ctx.village.networks.by_id(int(state.data["network_id"]))
    help_ = ctx.village.help
    asked = await help_.ask(ctx.standing, network, _draft(state.data), ctx.now, key=ctx.step_key)
    request = asked.request
    await ctx.leave_flow()
    view = await help_.view(network.id or 0, request.id or 0)
    if asked.tell:
        helpers = await help_.helpers_for(network, request.category, besides=ctx.person.id)
        reached = await ctx.village.help_messages.post_to_helpers(view, helpers)
        await help_.told(network, ctx.step_key)
    else:  # asked before a crash, and its copies were queued for the helpers then
        reached = await help_.reached(network, request.id or 0)
    await ctx.replace(
        "help/asked", buttons=asker_keyboard(ctx.label, view), reached=reached, **request_values(view, reveal_name=True)
    )


# --- offering help --------------------------------------------------------------------------


async def offer(ctx: Context) -> None:
    categories, notify = await ctx.village.help.offer_of(ctx.standing)
    await ctx.enter(Flow.OFFER, Step.CHOOSE_HELP, categories=sorted(categories), notify=notify)
    await ctx.reply(
        "help/offer", buttons=_offer_keyboard(ctx, categories, notify), categories=sorted(categories), notify=notify
    )


def _offer_keyboard(ctx: Context, categories: set[str], notify: bool) -> Any:
    rows = [
        Button(
            ctx.label("offer_choice", chosen=c.value in categories, category=c.value), encode(Tap.OFFER_TOGGLE, c.value)
        )
        for c in Category
    ]
    paired = [rows[i : i + 2] for i in range(0, len(rows), 2)]
    return keyboard(
        *paired,
        Button(ctx.label("offer_notify", on=notify), encode(Tap.OFFER_NOTIFY)),
        Button(ctx.label("save"), encode(Tap.OFFER_SAVE)),
    )


async def offer_toggled(ctx: Context) -> None:
    state = ctx.in_flow(Flow.OFFER, Step.CHOOSE_HELP)
    try:
        category = Category(ctx.pressed.args[0] if ctx.pressed and ctx.pressed.args else "")
    except ValueError as error:
        raise Refusal(Reason.STALE_BUTTON) from error
    categories = set(state.data.get("categories", [])) ^ {category.value}
    await _show_offer(ctx, categories, bool(state.data.get("notify", True)))


async def offer_notify_toggled(ctx: Context) -> None:
    state = ctx.in_flow(Flow.OFFER, Step.CHOOSE_HELP)
    await _show_offer(ctx, set(state.data.get("categories", [])), not state.data.get("notify", True))


async def _show_offer(ctx: Context, categories: set[str], notify: bool) -> None:
    await ctx.enter(Flow.OFFER, Step.CHOOSE_HELP, categories=sorted(categories), notify=notify)
    await ctx.replace(
        "help/offer", buttons=_offer_keyboard(ctx, categories, notify), categories=sorted(categories), notify=notify
    )


async def offer_saved(ctx: Context) -> None:
    state = ctx.in_flow(Flow.OFFER, Step.CHOOSE_HELP)
    categories, notify = set(state.data.get("categories", [])), bool(state.data.get("notify", True))
    await ctx.village.help.set_offer(ctx.standing, categories, notify, ctx.now)
    await ctx.leave_flow()
    await ctx.replace(
        "help/offer_saved", buttons=main_menu(ctx.label, ctx.standing), categories=sorted(categories), notify=notify
    )


# --- the list of requests -------------------------------------------------------------------


async def requests(ctx: Context) -> None:
    page = ctx.int_arg() if ctx.pressed and ctx.pressed.args else 0
    views = await ctx.village.help.visible_to(ctx.standing)
    shown = views[page * REQUESTS_PAGE : (page + 1) * REQUESTS_PAGE]
    if not shown:
        await ctx.reply("help/no_requests", buttons=main_menu(ctx.label, ctx.standing))
        return
    await ctx.reply(
        "help/requests", count=len(views), first=page * REQUESTS_PAGE + 1, last=page * REQUESTS_PAGE + len(shown)
    )
    for view in shown:
        mine = ctx.village.help.is_asker(ctx.standing, view)
        if mine:
            buttons = asker_keyboard(ctx.label, view)
        elif view.request.status == HelpStatus.OPEN:
            buttons = claim_button(ctx.label, view)
        else:
            buttons = ()
        await ctx.reply("help/request_line", buttons=buttons, mine=mine, **request_values(view, reveal_name=mine))
    if len(views) > (page + 1) * REQUESTS_PAGE:
        await ctx.reply(
            "help/more_requests", buttons=keyboard(Button(ctx.label("next_page"), encode(Tap.REQUESTS, page + 1)))
        )


async def my_requests(ctx: Context) -> None:
    """The asker's own requests, open or taken, each with what they can do with it."""
    views = await ctx.village.help.mine(ctx.standing)
    if not views:
        buttons = keyboard(
            Button(ctx.label("menu_ask"), encode(Tap.ASK)), Button(ctx.label("back_to_menu"), encode(Tap.MENU))
        )
        await ctx.reply("help/none_of_mine", buttons=buttons)
        return
    await ctx.reply("help/mine", count=len(views))
    for view in views:
        buttons = asker_keyboard(ctx.label, view)
        await ctx.reply("help/request_line", buttons=buttons, mine=True, **request_values(view, reveal_name=True))


# --- claiming, relaying, closing ------------------------------------------------------------


async def claim(ctx: Context) -> None:
    network_id, request_id = ctx.int_arg(0), ctx.int_arg(1)
    view = await ctx.village.help.claim(ctx.standing, network_id, request_id, ctx.now, key=ctx.step_key)
    await ctx.replace(
        "help/you_help", buttons=helper_keyboard(ctx.label, view), **request_values(view, reveal_name=True)
    )
    if view.tell:  # else this tap was handled before a crash, and the asker was told then
        await ctx.village.help_messages.show_taken(view, besides=ctx.person.id)
        await ctx.village.help_messages.tell_asker(view, "help/helper_found")
        await ctx.village.help.told(view.network, ctx.step_key)


async def relay_start(ctx: Context) -> None:
    network_id, request_id = ctx.int_arg(0), ctx.int_arg(1)
    other = await ctx.village.help.relay_partner(ctx.standing, network_id, request_id)
    await ctx.enter(Flow.RELAY, Step.TEXT, network_id=network_id, request_id=request_id)
    await ctx.reply("help/relay_ask", buttons=cancel_only(ctx.label), name=other)


async def relay_text(ctx: Context) -> None:
    state = ctx.in_flow(Flow.RELAY, Step.TEXT)
    await _relay(ctx, int(state.data["network_id"]), int(state.data["request_id"]), ctx.text)


async def offer_to_forward(ctx: Context) -> bool:
    """Text typed outside any flow by someone in a taken request (asker or helper) is offered for
    passing on ("Doorsturen naar Anna?") rather than lost; False when there is no one to pass it to."""
    if not ctx.event.chat.is_private or not ctx.text.strip() or not ctx.standing.memberships:
        return False
    views = await ctx.village.help.conversations(ctx.standing)
    if not views:
        return False
    rows: list[Button] = []
    for view in views:
        partner = await ctx.village.help.relay_partner(ctx.standing, *refs(view))
        rows.append(Button(ctx.label("forward_to", name=partner), encode(Tap.FORWARD, *refs(view))))
    rows.append(Button(ctx.label("dont_forward"), encode(Tap.CANCEL)))
    await ctx.enter(Flow.FORWARD, Step.CONFIRM, text=ctx.text)
    await ctx.reply("help/forward_offer", buttons=keyboard(*rows), text=ctx.text.strip())
    return True


async def forward(ctx: Context) -> None:
    state = ctx.in_flow(Flow.FORWARD, Step.CONFIRM)
    await _relay(ctx, ctx.int_arg(0), ctx.int_arg(1), str(state.data["text"]))


async def _relay(ctx: Context, network_id: int, request_id: int, text: str) -> None:
    """Passes the text on to the other side of the request; both keep the buttons to go on with it."""
    help_ = ctx.village.help
    view, recipient_id = await help_.relay(ctx.standing, network_id, request_id, text, ctx.now, key=ctx.step_key)
    await ctx.leave_flow()
    if not view.tell:  # passed on before a crash, and the sender was told so then
        return
    recipient = await ctx.village.people.get(recipient_id)
    if recipient is None:
        raise Refusal(Reason.STALE_BUTTON)
    recipient_asks = view.helper is not None and recipient.id != view.helper.id

    def recipient_buttons(label: Labels) -> Keyboard:
        return asker_keyboard(label, view) if recipient_asks else helper_keyboard(label, view)

    await ctx.tell(
        recipient,
        "help/relayed",
        buttons=recipient_buttons,
        sender=ctx.person.name,
        text=text.strip(),
        **request_values(view, reveal_name=True),
    )
    mine = asker_keyboard(ctx.label, view) if help_.is_asker(ctx.standing, view) else helper_keyboard(ctx.label, view)
    await ctx.reply("help/relay_sent", buttons=mine, name=recipient.name)
    await help_.told(view.network, ctx.step_key)


async def done_check(ctx: Context) -> None:
    """ "Gelukt" on a request nobody took yet: asked first, so one mis-tap closes nothing."""
    view = await ctx.village.help.view(ctx.int_arg(0), ctx.int_arg(1))
    if view.request.status != HelpStatus.OPEN:
        # Taken since the button was made: nothing to ask. (Closed already: `done` says so, or,
        # for this same tap handled again after a crash, finishes telling.)
        await done(ctx)
        return
    if not ctx.village.help.is_asker(ctx.standing, view):
        raise Refusal(Reason.STALE_BUTTON)
    buttons = keyboard(
        Button(ctx.label("close_my_request"), encode(Tap.DONE, *refs(view))),
        Button(ctx.label("keep_it_open"), encode(Tap.MY_REQUESTS)),
    )
    await ctx.reply("help/done_check", buttons=buttons, **request_values(view, reveal_name=True))


async def done(ctx: Context) -> None:
    await _close(ctx, HelpStatus.DONE, "help/closed_done", "help/thanks_for_helper")


async def withdraw(ctx: Context) -> None:
    await _close(ctx, HelpStatus.CANCELLED, "help/withdrawn", "help/withdrawn_for_helper")


async def _close(ctx: Context, status: HelpStatus, for_asker: str, for_helper: str) -> None:
    help_ = ctx.village.help
    view = await help_.close(ctx.standing, ctx.int_arg(0), ctx.int_arg(1), status, ctx.now, key=ctx.step_key)
    if not view.tell:  # this tap was handled before a crash, and both were told then
        return
    await ctx.reply(for_asker, **request_values(view, reveal_name=True))
    if view.helper is not None:
        await ctx.tell(view.helper, for_helper, **request_values(view, reveal_name=True))
    await help_.told(view.network, ctx.step_key)


async def release(ctx: Context) -> None:
    view = await ctx.village.help.release(ctx.standing, ctx.int_arg(0), ctx.int_arg(1))
    await ctx.reply("help/released", **request_values(view, reveal_name=True))
    reopened = await ctx.village.help.view(*refs(view))
    await ctx.village.help_messages.tell_asker(reopened, "help/released_for_asker")


async def not_yet(ctx: Context) -> None:
    view = await ctx.village.help.view(ctx.int_arg(0), ctx.int_arg(1))
    if not ctx.village.help.is_asker(ctx.standing, view):
        raise Refusal(Reason.STALE_BUTTON)
    await ctx.reply(
        "help/still_open", buttons=asker_keyboard(ctx.label, view), **request_values(view, reveal_name=True)
    )


async def follow(ctx: Context) -> None:
    view = await ctx.village.help.follow(ctx.standing, ctx.int_arg(0), ctx.int_arg(1))
    await ctx.reply("help/following_up", **request_values(view, reveal_name=True))
