"""Onboarding: /start, joining a street network by street name or invite, and /leave."""

from __future__ import annotations

from bot.delivery.post import Labels
from bot.joining import JoinOutcome, JoinResult, StreetChoice
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


def register(router: Router) -> None:
    router.command(commands.START, start)
    router.command(commands.JOIN, ask_street)
    router.tap(Tap.JOIN_START, Action.JOIN, ask_street)
    router.tap(Tap.JOIN_RETRY, Action.JOIN, ask_street)
    router.step(Flow.JOIN, Step.STREET, Action.JOIN, street_typed)
    router.step(Flow.JOIN, Step.CHOOSE, Action.JOIN, street_typed)
    router.tap(Tap.JOIN_PICK, Action.JOIN, street_picked)
    router.tap(Tap.JOIN_SUGGESTED, Action.JOIN, street_suggested)
    router.tap(Tap.MY_NETWORKS, Action.MY_NETWORKS, my_networks)
    router.command(commands.LEAVE, leave)
    router.tap(Tap.LEAVE_PICK, Action.LEAVE, confirm_leave)
    router.tap(Tap.LEAVE_CONFIRM, Action.LEAVE, leave_confirmed)
    router.tap(Tap.LEAVE_KEEP, Action.LEAVE, leave_cancelled)


async def start(ctx: Context) -> None:
    if ctx.argument:
        result = await ctx.village.memberships.join_by_invite(ctx.person, ctx.argument, ctx.now)
        await ctx.leave_flow()
        await _tell_outcome(ctx, result)
        return
    if ctx.standing.active:
        await ctx.reply("onboarding/welcome_back", buttons=main_menu(ctx.label, ctx.standing), name=ctx.person.name)
        return
    await ctx.enter(Flow.JOIN, Step.STREET)
    await ctx.reply("onboarding/welcome", buttons=cancel_only(ctx.label), name=ctx.person.name)


async def ask_street(ctx: Context) -> None:
    await ctx.enter(Flow.JOIN, Step.STREET)
    await ctx.reply("onboarding/ask_street", buttons=cancel_only(ctx.label))


async def street_typed(ctx: Context) -> None:
    typed = ctx.text
    if len(typed) > STREET_TEXT_MAX:
        raise Refusal(Reason.TOO_LONG, limit=STREET_TEXT_MAX)
    search = await ctx.village.networks.find(typed)
    offered = search.matches or search.suggestions
    await ctx.enter(Flow.JOIN, Step.CHOOSE, typed=typed, offered=[choice.street_id for choice in offered])
    if len(search.matches) == 1:
        match = search.matches[0]
        await _confirm_street(ctx, match)
    elif search.matches:
        await ctx.reply("onboarding/choose_street", buttons=_street_buttons(ctx.label, search.matches))
    else:  # only guesses: each is confirmed like a typed street before anyone joins
        buttons = _street_buttons(ctx.label, search.suggestions, contact=True, pick=Tap.JOIN_SUGGESTED)
        await ctx.reply("onboarding/street_not_found", buttons=buttons, typed=typed, has_suggestions=bool(offered))


async def _confirm_street(ctx: Context, choice: StreetChoice) -> None:
    buttons = keyboard(
        Button(ctx.label("yes_my_street"), encode(Tap.JOIN_PICK, choice.street_id)),
        Button(ctx.label("no_other_street"), encode(Tap.JOIN_RETRY)),
    )
    await ctx.reply("onboarding/confirm_street", buttons=buttons, street=choice.street, network=choice.network)


def _street_buttons(
    label: Labels, choices: tuple[StreetChoice, ...], *, contact: bool = False, pick: Tap = Tap.JOIN_PICK
) -> Keyboard:
    rows = [
        Button(label("street_in_network", street=c.street, network=c.network), encode(pick, c.street_id))
        for c in choices
    ]
    rows.append(Button(label("type_again"), encode(Tap.JOIN_RETRY)))
    if contact:
        rows.append(Button(label("ask_verbinder"), encode(Tap.JOIN_CONTACT)))
    return keyboard(*rows)


async def street_suggested(ctx: Context) -> None:
    """A street we guessed from what was typed: "Woont u in de Kerkstraat?" before anything happens."""
    street_id = ctx.int_arg()
    state = ctx.in_flow(Flow.JOIN, Step.CHOOSE)
    if street_id not in state.data.get("offered", []):
        raise Refusal(Reason.STALE_BUTTON)
    choice = await ctx.village.networks.choice(street_id)
    if choice is None:
        raise Refusal(Reason.STALE_BUTTON)
    await _confirm_street(ctx, choice)


async def street_picked(ctx: Context) -> None:
    street_id = ctx.int_arg()
    state = ctx.in_flow(Flow.JOIN, Step.CHOOSE)
    if street_id not in state.data.get("offered", []):
        raise Refusal(Reason.STALE_BUTTON)  # a street we never offered: forged or from an old message
    choice = await ctx.village.networks.choice(street_id)
    if choice is None:
        raise Refusal(Reason.STALE_BUTTON)
    result = await ctx.village.memberships.request(
        ctx.person, network_id=choice.network_id, street_id=street_id, now=ctx.now
    )
    await ctx.leave_flow()
    await _tell_outcome(ctx, result, street=choice.street)


async def _tell_outcome(ctx: Context, result: JoinResult, street: str | None = None) -> None:
    network = result.network.name
    if result.outcome == JoinOutcome.PENDING:
        # Waiting for a buurtverbinder, a resident may rather talk to one: the offline route.
        call = keyboard(Button(ctx.label("prefer_a_call"), encode(Tap.JOIN_CONTACT)))
        await ctx.replace("onboarding/waiting_for_approval", buttons=call, network=network)
        membership_id = result.membership.id

        def review_buttons(label: Labels) -> Keyboard:
            return keyboard(
                [
                    Button(label("approve"), encode(Tap.APPROVE, membership_id)),
                    Button(label("decline"), encode(Tap.DECLINE, membership_id)),
                ]
            )

        for reviewer in result.reviewers:
            await ctx.tell(
                reviewer,
                "admin/join_request",
                buttons=review_buttons,
                name=ctx.person.name,
                username=ctx.person.username,
                street=street,
                network=network,
            )
        return
    if result.outcome == JoinOutcome.JOINED:
        await ctx.village.groups.let_in(ctx.person, result.network)
    standing = await ctx.village.people.standing(ctx.person)
    template = {
        JoinOutcome.JOINED: "onboarding/joined",
        JoinOutcome.ALREADY_MEMBER: "onboarding/already_member",
        JoinOutcome.ALREADY_PENDING: "onboarding/already_pending",
    }[result.outcome]
    await ctx.replace(template, buttons=main_menu(ctx.label, standing), network=network)


async def my_networks(ctx: Context) -> None:
    rows = [Button(ctx.label("join_another"), encode(Tap.JOIN_START))]
    if ctx.standing.active:
        rows.append(Button(ctx.label("leave_network"), encode(Tap.LEAVE_PICK)))
    rows.append(Button(ctx.label("back_to_menu"), encode(Tap.MENU)))
    memberships = [
        (view.network.name, view.street.name if view.street else None, view.membership.status, view.membership.role)
        for view in ctx.standing.memberships
    ]
    await ctx.reply("onboarding/my_networks", buttons=keyboard(*rows), memberships=memberships)


async def leave(ctx: Context) -> None:
    active = ctx.standing.active
    if len(active) == 1:
        await _ask_leave_confirmation(ctx, active[0].network.id or 0, active[0].network.name)
        return
    buttons = keyboard(
        *(Button(view.network.name, encode(Tap.LEAVE_PICK, view.network.id)) for view in active),
        Button(ctx.label("cancel"), encode(Tap.LEAVE_KEEP)),
    )
    await ctx.reply("onboarding/leave_which", buttons=buttons)


async def confirm_leave(ctx: Context) -> None:
    if ctx.pressed and not ctx.pressed.args:
        await leave(ctx)  # "leave" from the network overview: ask which one
        return
    network_id = ctx.int_arg()
    view = next((v for v in ctx.standing.active if v.network.id == network_id), None)
    if view is None:
        raise Refusal(Reason.NOT_MEMBER)
    await _ask_leave_confirmation(ctx, network_id, view.network.name)


async def _ask_leave_confirmation(ctx: Context, network_id: int, network: str) -> None:
    buttons = keyboard(
        Button(ctx.label("yes_leave", network=network), encode(Tap.LEAVE_CONFIRM, network_id)),
        Button(ctx.label("no_stay"), encode(Tap.LEAVE_KEEP)),
    )
    await ctx.reply("onboarding/leave_confirm", buttons=buttons, network=network)


async def leave_confirmed(ctx: Context) -> None:
    network = await ctx.village.memberships.leave(ctx.standing, ctx.int_arg(), ctx.now)
    standing = await ctx.village.people.standing(ctx.person)
    await ctx.replace("onboarding/left", network=network.name)
    await ctx.reply("common/menu", buttons=main_menu(ctx.label, standing), name=ctx.person.name)


async def leave_cancelled(ctx: Context) -> None:
    await ctx.replace("onboarding/stayed")
