"""Admin: buurtverbinders review joins and invite; community managers add networks and appoint."""

from __future__ import annotations

from bot.joining import Network, Person, split_streets
from bot.kernel import commands
from bot.kernel.buttons import Tap, encode
from bot.kernel.context import Context
from bot.kernel.flows import Flow, Step
from bot.kernel.limits import (
    INVITE_TTL,
    INVITE_USES,
    NETWORK_NAME_MAX,
    PENDING_PAGE,
    STREET_INVITE_TTL,
    STREET_INVITE_USES,
)
from bot.kernel.permissions import Action
from bot.kernel.refusals import Reason, Refusal
from bot.kernel.replies import Button, keyboard
from bot.kernel.router import Router
from handlers.keyboards import cancel_only, main_menu, review_buttons


def register(router: Router) -> None:
    router.tap(Tap.APPROVE, Action.REVIEW_JOINS, approve)
    router.tap(Tap.DECLINE, Action.REVIEW_JOINS, decline)
    router.command(commands.PENDING, pending)
    router.tap(Tap.PENDING, Action.REVIEW_JOINS, pending)
    router.command(commands.INVITE, invite)
    router.tap(Tap.INVITE, Action.INVITE, invite)
    router.tap(Tap.INVITE_FOR, Action.INVITE, invite_for)
    router.tap(Tap.INVITE_KIND, Action.INVITE, invite_kind_chosen)
    router.tap(Tap.INVITE_REVOKE, Action.INVITE, revoke_invite)
    router.command(commands.NETWORKS, networks)
    router.tap(Tap.NETWORKS, Action.MANAGE_NETWORKS, networks)
    router.tap(Tap.NETWORK_SHOW, Action.MANAGE_NETWORKS, show_network)
    router.tap(Tap.NETWORK_NEW, Action.MANAGE_NETWORKS, new_network)
    router.step(Flow.NEW_NETWORK, Step.NAME, Action.MANAGE_NETWORKS, network_named)
    router.step(Flow.NEW_NETWORK, Step.STREETS, Action.MANAGE_NETWORKS, streets_given)
    router.tap(Tap.NETWORK_SAVE, Action.MANAGE_NETWORKS, save_network)
    router.tap(Tap.APPOINT_PICK, Action.APPOINT_VERBINDER, appoint)
    router.awaiting_approval(awaiting_approval)
    router.tap(Tap.REMIND_REVIEWER, Action.START, remind_reviewer)


# --- waiting for approval -------------------------------------------------------------------


def first_name(person: Person) -> str:
    return person.name.split()[0] if person.name.strip() else ""


async def awaiting_approval(ctx: Context) -> None:
    """Someone whose membership still waits asked for what members may do: who decides, and a
    button to remind them."""
    waiting = ctx.standing.pending[0]
    reviewers = await ctx.village.memberships.reviewers(waiting.network.id or 0)
    reviewer = first_name(reviewers[0]) if len(reviewers) == 1 else ""
    buttons = keyboard(
        Button(ctx.label("remind_reviewer", name=reviewer), encode(Tap.REMIND_REVIEWER, waiting.membership.id)),
        Button(ctx.label("back_to_menu"), encode(Tap.MENU)),
    )
    await ctx.reply("onboarding/still_waiting", buttons=buttons, network=waiting.network.name, reviewer=reviewer)


async def remind_reviewer(ctx: Context) -> None:
    reminder = await ctx.village.memberships.remind_reviewers(ctx.standing, ctx.int_arg(0), ctx.now)
    network, membership_id = reminder.waiting.network, reminder.waiting.membership.id
    for reviewer in reminder.reviewers:
        await ctx.tell(
            reviewer,
            "admin/join_reminder",
            buttons=lambda label: review_buttons(label, membership_id),
            name=ctx.person.name,
            network=network.name,
        )
    named = first_name(reminder.reviewers[0]) if len(reminder.reviewers) == 1 else ""
    await ctx.replace("onboarding/reminder_sent", reviewer=named, network=network.name)


# --- reviewing joins ------------------------------------------------------------------------


async def approve(ctx: Context) -> None:
    await _decide(ctx, approve=True)


async def decline(ctx: Context) -> None:
    await _decide(ctx, approve=False)


async def _decide(ctx: Context, *, approve: bool) -> None:
    decision = await ctx.village.memberships.decide(
        ctx.standing, ctx.int_arg(), approve=approve, now=ctx.now, key=ctx.step_key
    )
    await ctx.replace(
        "admin/join_decided", approved=approve, name=decision.resident.name, network=decision.network.name
    )
    if not decision.tell:  # this tap was handled before a crash, and the resident was told then
        return
    resident = decision.resident
    await ctx.village.groups.let_in(resident, decision.network, approve=approve)
    standing = await ctx.village.people.standing(resident)
    template = "onboarding/approved" if approve else "onboarding/declined"
    await ctx.tell(
        resident,
        template,
        buttons=lambda label: main_menu(label, standing),
        network=decision.network.name,
        verbinder=ctx.person.name,
    )
    await ctx.village.memberships.told(ctx.step_key, ctx.now)


async def pending(ctx: Context) -> None:
    waiting = await ctx.village.memberships.pending(ctx.standing)
    if not waiting:
        await ctx.reply("admin/no_pending")
        return
    await ctx.reply("admin/pending_count", count=len(waiting), shown=min(len(waiting), PENDING_PAGE))
    for membership, person, network in waiting[:PENDING_PAGE]:
        buttons = keyboard(
            [
                Button(ctx.label("approve"), encode(Tap.APPROVE, membership.id)),
                Button(ctx.label("decline"), encode(Tap.DECLINE, membership.id)),
            ]
        )
        await ctx.reply(
            "admin/join_request",
            buttons=buttons,
            name=person.name,
            username=person.username,
            street=await ctx.village.networks.street_name(membership.street_id),
            network=network.name,
        )


# --- invites --------------------------------------------------------------------------------


async def _networks_to_manage(ctx: Context, action: Action) -> list[Network]:
    everything = await ctx.village.networks.all()
    return [network for network in everything if network.id is not None and ctx.standing.may_in(network.id, action)]


async def invite(ctx: Context) -> None:
    networks = await _networks_to_manage(ctx, Action.INVITE)
    if len(networks) == 1:
        await _send_invite(ctx, networks[0])
        return
    if not networks:
        raise Refusal(Reason.NOT_ALLOWED)
    buttons = keyboard(*(Button(n.name, encode(Tap.INVITE_FOR, n.id)) for n in networks))
    await ctx.reply("admin/invite_which", buttons=buttons)


async def invite_for(ctx: Context) -> None:
    network = await ctx.village.networks.by_id(ctx.int_arg())
    if not ctx.standing.may_in(network.id or 0, Action.INVITE):
        raise Refusal(Reason.NOT_YOUR_NETWORK, network=network.name)
    await _send_invite(ctx, network)


async def _send_invite(ctx: Context, network: Network) -> None:
    """Offers the two kinds of invite, and lists the ones still valid with a revoke button."""
    active = await ctx.village.memberships.active_invites(network, ctx.now)
    rows = [
        Button(ctx.label("invite_one"), encode(Tap.INVITE_KIND, network.id, "one")),
        Button(ctx.label("invite_street"), encode(Tap.INVITE_KIND, network.id, "street")),
        *(
            Button(ctx.label("revoke_invite", code=i.code, uses=i.uses), encode(Tap.INVITE_REVOKE, i.code))
            for i in active
        ),
    ]
    await ctx.reply("admin/invite_kind", buttons=keyboard(*rows), network=network.name, active=len(active))


async def invite_kind_chosen(ctx: Context) -> None:
    network = await ctx.village.networks.by_id(ctx.int_arg(0))
    if not ctx.standing.may_in(network.id or 0, Action.INVITE):
        raise Refusal(Reason.NOT_YOUR_NETWORK, network=network.name)
    kind = ctx.pressed.args[1] if ctx.pressed and len(ctx.pressed.args) > 1 else ""
    if kind not in ("one", "street"):
        raise Refusal(Reason.STALE_BUTTON)
    street = kind == "street"
    created = await ctx.village.memberships.invite(
        network,
        created_by=ctx.person.id,
        now=ctx.now,
        max_uses=STREET_INVITE_USES if street else INVITE_USES,
        valid_for=STREET_INVITE_TTL if street else INVITE_TTL,
    )
    await ctx.reply(
        "admin/invite_link",
        link=ctx.village.deep_link(created.code),
        whatsapp_link=ctx.village.whatsapp_link(created.code, network=network.name, language=ctx.lang),
        code=created.code,
        network=network.name,
        uses=created.max_uses,
        expires_at=created.expires_at,
    )


async def revoke_invite(ctx: Context) -> None:
    code = ctx.pressed.args[0] if ctx.pressed and ctx.pressed.args else ""
    network = await ctx.village.memberships.revoke(ctx.standing, code, ctx.now)
    await ctx.replace("admin/invite_revoked", network=network.name, code=code)


# --- networks (community manager) -------------------------------------------------------------


async def networks(ctx: Context) -> None:
    everything = await ctx.village.networks.all()
    overview = []
    for network in everything:
        active, waiting = await ctx.village.networks.member_counts(network.id or 0)
        overview.append((network.name, active, waiting))
    rows = [Button(n.name, encode(Tap.NETWORK_SHOW, n.id)) for n in everything]
    rows.append(Button(ctx.label("new_network"), encode(Tap.NETWORK_NEW)))
    await ctx.reply("admin/networks", buttons=keyboard(*rows), networks=overview)


async def show_network(ctx: Context) -> None:
    network = await ctx.village.networks.by_id(ctx.int_arg())
    assert network.id is not None
    members = await ctx.village.memberships.members(network.id)
    rows = [
        Button(ctx.label("make_verbinder", name=person.name), encode(Tap.APPOINT_PICK, network.id, person.id))
        for person in members[:20]
    ]
    rows.append(Button(ctx.label("back_to_networks"), encode(Tap.NETWORKS)))
    await ctx.reply(
        "admin/network",
        buttons=keyboard(*rows),
        network=network.name,
        slug=network.slug,
        streets=await ctx.village.networks.streets_of(network.id),
        verbinders=await ctx.village.networks.verbinders(network.id),
        members=len(members),
    )


async def appoint(ctx: Context) -> None:
    network = await ctx.village.networks.by_id(ctx.int_arg(0))
    person_id = ctx.int_arg(1)
    members = await ctx.village.memberships.members(network.id or 0)
    person = next((p for p in members if p.id == person_id), None)
    if person is None:
        raise Refusal(Reason.STALE_BUTTON)
    await ctx.village.memberships.appoint_by(ctx.standing, network, person_id, ctx.now)
    await ctx.replace("admin/appointed", name=person.name, network=network.name)
    await ctx.tell(person, "admin/you_are_verbinder", network=network.name)


async def new_network(ctx: Context) -> None:
    await ctx.enter(Flow.NEW_NETWORK, Step.NAME)
    await ctx.reply("admin/ask_network_name", buttons=cancel_only(ctx.label))


async def network_named(ctx: Context) -> None:
    name = " ".join(ctx.text.split())
    if not name or len(name) > NETWORK_NAME_MAX:
        raise Refusal(Reason.TOO_LONG, limit=NETWORK_NAME_MAX)
    await ctx.enter(Flow.NEW_NETWORK, Step.STREETS, name=name)
    await ctx.reply("admin/ask_streets", buttons=cancel_only(ctx.label), network=name)


async def streets_given(ctx: Context) -> None:
    state = ctx.in_flow(Flow.NEW_NETWORK, Step.STREETS)
    name, streets = ctx.village.networks.check_new(str(state.data["name"]), split_streets(ctx.text))
    await ctx.enter(Flow.NEW_NETWORK, Step.CONFIRM, name=name, streets=streets)
    buttons = keyboard(
        Button(ctx.label("save"), encode(Tap.NETWORK_SAVE)), Button(ctx.label("cancel"), encode(Tap.CANCEL))
    )
    await ctx.reply("admin/confirm_network", buttons=buttons, network=name, streets=streets)


async def save_network(ctx: Context) -> None:
    state = ctx.in_flow(Flow.NEW_NETWORK, Step.CONFIRM)
    network = await ctx.village.networks.add(str(state.data["name"]), list(state.data["streets"]), ctx.now)
    await ctx.leave_flow()
    await ctx.replace("admin/network_created", network=network.name, slug=network.slug)
