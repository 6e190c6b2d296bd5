"""Running a network from chat: /members (/leden), /settings (/instellingen), /export, /stats (with charts)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.application.settings import LANGUAGES
from bot.joining import Network
from bot.kernel import commands
from bot.kernel.buttons import Tap, encode
from bot.kernel.context import Context
from bot.kernel.permissions import Action
from bot.kernel.refusals import Reason, Refusal
from bot.kernel.replies import Button, keyboard
from bot.kernel.router import Router
from bot.network_admin import ESCALATION_CHOICES, REMINDER_CHOICES, RETENTION_CHOICES, JoinPolicy

PAGE = 10


def register(router: Router) -> None:
    router.command(commands.MEMBERS, members)
    router.tap(Tap.MEMBERS, Action.MANAGE_MEMBERS, members)
    router.tap(Tap.MEMBER, Action.MANAGE_MEMBERS, member)
    router.tap(Tap.MEMBER_REMOVE, Action.MANAGE_MEMBERS, confirm_remove)
    router.tap(Tap.MEMBER_REMOVE_OK, Action.MANAGE_MEMBERS, remove)
    router.tap(Tap.MEMBER_PROMOTE, Action.APPOINT_VERBINDER, promote)
    router.command(commands.SETTINGS, settings)
    router.tap(Tap.SETTINGS, Action.CHANGE_SETTINGS, settings)
    router.tap(Tap.SETTING, Action.CHANGE_SETTINGS, change_setting)
    router.command(commands.EXPORT, export)
    router.tap(Tap.EXPORT, Action.EXPORT, export)
    router.command(commands.STATS, stats)


async def _network(ctx: Context, action: Action, tap: Tap, then: Callable[[Context, Network], Awaitable[None]]) -> None:
    """The network the button names, or the one this person runs, or a choice between them."""
    if ctx.pressed and ctx.pressed.args:
        network = await ctx.village.networks.by_id(ctx.int_arg(0))
        ctx.village.admin.require(ctx.standing, network, action)
        await then(ctx, network)
        return
    networks = [n for n in await ctx.village.networks.all() if ctx.standing.may_in(n.id or 0, action)]
    if not networks:
        raise Refusal(Reason.NOT_ALLOWED)
    if len(networks) == 1:
        await then(ctx, networks[0])
        return
    await ctx.reply("admin/which_network", buttons=keyboard(*(Button(n.name, encode(tap, n.id)) for n in networks)))


# --- members --------------------------------------------------------------------------------


async def members(ctx: Context) -> None:
    await _network(ctx, Action.MANAGE_MEMBERS, Tap.MEMBERS, _members_page)


async def _members_page(ctx: Context, network: Network) -> None:
    page = ctx.int_arg(1) if ctx.pressed and len(ctx.pressed.args) > 1 else 0
    lines = await ctx.village.admin.members(ctx.standing, network)
    shown = lines[page * PAGE : (page + 1) * PAGE]
    rows: list[Button] = [
        Button(
            ctx.label("member_line", name=line.person.name, verbinder=line.is_verbinder),
            encode(Tap.MEMBER, network.id, line.person.id),
        )
        for line in shown
    ]
    if len(lines) > (page + 1) * PAGE:
        rows.append(Button(ctx.label("next_page"), encode(Tap.MEMBERS, network.id, page + 1)))
    await ctx.reply(
        "admin/members",
        buttons=keyboard(*rows),
        network=network.name,
        count=len(lines),
        first=page * PAGE + 1,
        last=page * PAGE + len(shown),
    )


async def member(ctx: Context) -> None:
    network = await ctx.village.networks.by_id(ctx.int_arg(0))
    lines = await ctx.village.admin.members(ctx.standing, network)
    line = next((entry for entry in lines if entry.person.id == ctx.int_arg(1)), None)
    if line is None:
        raise Refusal(Reason.STALE_BUTTON)
    rows = []
    verbinder = line.is_verbinder
    if not verbinder:
        rows.append(
            Button(
                ctx.label("make_verbinder", name=line.person.name),
                encode(Tap.MEMBER_PROMOTE, network.id, line.person.id),
            )
        )
    rows.append(Button(ctx.label("remove_member"), encode(Tap.MEMBER_REMOVE, network.id, line.person.id)))
    rows.append(Button(ctx.label("back"), encode(Tap.MEMBERS, network.id)))
    await ctx.reply(
        "admin/member",
        buttons=keyboard(*rows),
        name=line.person.name,
        network=network.name,
        is_verbinder=verbinder,
        since=line.membership.created_at,
    )


async def confirm_remove(ctx: Context) -> None:
    network = await ctx.village.networks.by_id(ctx.int_arg(0))
    person = await ctx.village.admin.member_to_remove(ctx.standing, network, ctx.int_arg(1))
    buttons = keyboard(
        Button(ctx.label("yes_remove", name=person.name), encode(Tap.MEMBER_REMOVE_OK, network.id, person.id)),
        Button(ctx.label("no_stay_member"), encode(Tap.CANCEL)),
    )
    await ctx.reply("admin/confirm_remove", buttons=buttons, name=person.name, network=network.name)


async def remove(ctx: Context) -> None:
    network = await ctx.village.networks.by_id(ctx.int_arg(0))
    person = await ctx.village.admin.remove(ctx.standing, network, ctx.int_arg(1), ctx.now)
    await ctx.replace("admin/removed", name=person.name, network=network.name)
    await ctx.tell(person, "admin/you_were_removed", network=network.name)


async def promote(ctx: Context) -> None:
    network = await ctx.village.networks.by_id(ctx.int_arg(0))
    person = await ctx.village.memberships.appoint_by(ctx.standing, network, ctx.int_arg(1), ctx.now)
    await ctx.replace("admin/appointed", name=person.name, network=network.name)
    await ctx.tell(person, "admin/you_are_verbinder", network=network.name)


# --- settings -------------------------------------------------------------------------------


async def settings(ctx: Context) -> None:
    await _network(ctx, Action.CHANGE_SETTINGS, Tap.SETTINGS, _show_settings)


async def _show_settings(ctx: Context, network: Network, *, replace: bool = False) -> None:
    current = await ctx.village.admin.settings(network)
    fresh = await ctx.village.networks.by_id(network.id or 0)
    nid = network.id
    policy_next = JoinPolicy.OPEN if fresh.join_policy == JoinPolicy.APPROVAL else JoinPolicy.APPROVAL
    reminders = ",".join(str(h) for h in current.reminder_hours)
    next_reminders = (
        REMINDER_CHOICES[(REMINDER_CHOICES.index(reminders) + 1) % len(REMINDER_CHOICES)]
        if reminders in REMINDER_CHOICES
        else REMINDER_CHOICES[0]
    )
    next_hours = _next_choice(ESCALATION_CHOICES, current.escalation_hours)
    next_retention = _next_choice(RETENTION_CHOICES, current.retention_months)
    buttons = keyboard(
        Button(
            ctx.label("setting_join_policy", policy=fresh.join_policy),
            encode(Tap.SETTING, nid, "jp", policy_next.value),
        ),
        Button(
            ctx.label("setting_escalation", hours=current.escalation_hours), encode(Tap.SETTING, nid, "eh", next_hours)
        ),
        Button(ctx.label("setting_reminders", hours=reminders), encode(Tap.SETTING, nid, "rh", next_reminders or "-")),
        Button(
            ctx.label("setting_proposals", on=current.residents_propose_events),
            encode(Tap.SETTING, nid, "rp", "0" if current.residents_propose_events else "1"),
        ),
    )
    language = await ctx.village.admin.language(network)
    other_language = next(code for code in LANGUAGES if code != language)
    buttons = keyboard(
        *(row for row in buttons),
        Button(ctx.label("setting_language", language=language), encode(Tap.SETTING, nid, "lg", other_language)),
        Button(
            ctx.label("setting_retention", months=current.retention_months),
            encode(Tap.SETTING, nid, "rm", next_retention),
        ),
    )
    values = {
        "language": language,
        "network": network.name,
        "join_policy": fresh.join_policy,
        "escalation_hours": current.escalation_hours,
        "reminder_hours": list(current.reminder_hours),
        "proposals": current.residents_propose_events,
        "retention_months": current.retention_months,
    }
    if replace:
        await ctx.replace("admin/settings", buttons=buttons, **values)
    else:
        await ctx.reply("admin/settings", buttons=buttons, **values)


SETTING_NAMES = {
    "jp": "join_policy",
    "eh": "escalation_hours",
    "rh": "reminder_hours",
    "rp": "residents_propose_events",
    "lg": "language",
    "rm": "retention_months",
}


def _next_choice(choices: tuple[int, ...], current: int) -> int:
    """The choice after the current one, in turn (the first if the current one is not offered)."""
    return choices[(choices.index(current) + 1) % len(choices)] if current in choices else choices[0]


async def change_setting(ctx: Context) -> None:
    network = await ctx.village.networks.by_id(ctx.int_arg(0))
    args = ctx.pressed.args if ctx.pressed else ()
    name = SETTING_NAMES.get(args[1] if len(args) > 1 else "")
    if name is None or len(args) < 3:
        raise Refusal(Reason.STALE_BUTTON)
    value = "" if args[2] == "-" else args[2]
    await ctx.village.admin.change(ctx.standing, network, name, value, ctx.now)
    await _show_settings(ctx, network, replace=True)


# --- export and figures ---------------------------------------------------------------------


async def export(ctx: Context) -> None:
    await _network(ctx, Action.EXPORT, Tap.EXPORT, _export)


async def _export(ctx: Context, network: Network) -> None:
    files = await ctx.village.admin.export(ctx.standing, network, ctx.now)
    await ctx.reply("admin/export", network=network.name, files=sorted(files))
    for name, content in files.items():
        await ctx.village.messenger.send_document(ctx.chat_id, name, content)


async def stats(ctx: Context) -> None:
    found = await ctx.village.admin.statistics(ctx.standing, ctx.now, ctx.lang)
    await ctx.reply("admin/stats", figures=found.figures, village=found.village, total_members=found.total_members)
    for chart in found.charts:
        whose = "admin/village_" if chart.village else "admin/"
        if chart.png is None:
            await ctx.reply(f"{whose}no_chart", network=chart.network)
            continue
        caption = ctx.render(f"{whose}chart", network=chart.network).text
        await ctx.village.messenger.send_document(ctx.chat_id, chart.filename, chart.png, caption)
