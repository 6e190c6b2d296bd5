"""Announcements: /announce (/bericht) to one network, /announceall (/berichtiedereen) to every network."""

from __future__ import annotations

from bot.kernel import commands
from bot.kernel.buttons import Tap, encode
from bot.kernel.context import Context
from bot.kernel.flows import Flow, Step
from bot.kernel.permissions import Action
from bot.kernel.refusals import Reason, Refusal
from bot.kernel.replies import Button, keyboard
from bot.kernel.router import Router
from handlers.keyboards import cancel_only


def register(router: Router) -> None:
    router.command(commands.ANNOUNCE, announce)
    router.tap(Tap.ANNOUNCE, Action.ANNOUNCE, announce)
    router.tap(Tap.ANNOUNCE_NETWORK, Action.ANNOUNCE, network_chosen)
    router.step(Flow.ANNOUNCE, Step.TEXT, Action.ANNOUNCE, written)
    router.command(commands.ANNOUNCE_ALL, announce_everywhere)
    router.step(Flow.ANNOUNCE_ALL, Step.TEXT, Action.ANNOUNCE_ALL, written)
    router.tap(Tap.ANNOUNCE_SEND, Action.ANNOUNCE, send)


async def announce(ctx: Context) -> None:
    networks = [n for n in await ctx.village.networks.all() if ctx.standing.may_in(n.id or 0, Action.ANNOUNCE)]
    if not networks:
        raise Refusal(Reason.NOT_ALLOWED)
    if len(networks) == 1:
        await _ask_text(ctx, Flow.ANNOUNCE, network_id=networks[0].id, network=networks[0].name)
        return
    await ctx.enter(Flow.ANNOUNCE, Step.NETWORK)
    buttons = keyboard(*(Button(n.name, encode(Tap.ANNOUNCE_NETWORK, n.id)) for n in networks))
    await ctx.reply("announcement/ask_network", buttons=buttons)


async def network_chosen(ctx: Context) -> None:
    ctx.in_flow(Flow.ANNOUNCE, Step.NETWORK)
    network = await ctx.village.networks.by_id(ctx.int_arg())
    if not ctx.standing.may_in(network.id or 0, Action.ANNOUNCE):
        raise Refusal(Reason.NOT_YOUR_NETWORK, network=network.name)
    await _ask_text(ctx, Flow.ANNOUNCE, network_id=network.id, network=network.name)


async def announce_everywhere(ctx: Context) -> None:
    await _ask_text(ctx, Flow.ANNOUNCE_ALL, network=None)


async def _ask_text(ctx: Context, flow: Flow, **data: object) -> None:
    await ctx.enter(flow, Step.TEXT, **data)
    await ctx.reply("announcement/ask_text", buttons=cancel_only(ctx.label), network=data.get("network"))


async def written(ctx: Context) -> None:
    state = ctx.flow
    if state is None:
        raise Refusal(Reason.STALE_BUTTON)
    text = ctx.village.announcements.check_text(ctx.text)
    await ctx.enter(Flow(state.flow), Step.PREVIEW, **state.data, text=text)
    buttons = keyboard(
        Button(ctx.label("send"), encode(Tap.ANNOUNCE_SEND)), Button(ctx.label("cancel"), encode(Tap.CANCEL))
    )
    await ctx.reply(
        "announcement/preview", buttons=buttons, network=state.data.get("network"), text=text, author=ctx.person.name
    )


async def send(ctx: Context) -> None:
    state = (
        ctx.in_flow(Flow.ANNOUNCE, Step.PREVIEW)
        if ctx.flow and ctx.flow.flow == Flow.ANNOUNCE
        else ctx.in_flow(Flow.ANNOUNCE_ALL, Step.PREVIEW)
    )
    announcements = ctx.village.announcements
    if state.flow == Flow.ANNOUNCE_ALL:
        queued = await announcements.announce_everywhere(
            ctx.standing, str(state.data["text"]), ctx.now, key=ctx.step_key
        )
    else:
        network = await ctx.village.networks.by_id(int(state.data["network_id"]))
        text = str(state.data["text"])
        queued = [await announcements.announce(ctx.standing, network, text, ctx.now, key=ctx.step_key)]
    await ctx.leave_flow()
    await ctx.replace(
        "announcement/queued",
        networks=[q.network.name for q in queued],
        recipients=sum(q.recipients for q in queued),
    )
