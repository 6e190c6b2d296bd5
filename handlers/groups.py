"""Groups: /link (/koppel) and /unlink (/ontkoppel) in a street's group, and requests to join it."""

from __future__ import annotations

from bot.kernel import commands
from bot.kernel.context import Context
from bot.kernel.events import JoinRequest, MembersJoined
from bot.kernel.flows import Flow, Step
from bot.kernel.replies import Reply
from bot.kernel.router import Router
from handlers.keyboards import cancel_only


def register(router: Router) -> None:
    router.command(commands.LINK, link, in_groups=True)
    router.command(commands.UNLINK, unlink, in_groups=True)
    router.join_request(join_request)
    router.members_joined(welcome)


async def link(ctx: Context) -> None:
    network = await ctx.village.groups.link(ctx.standing, ctx.event.chat, ctx.argument, ctx.now)
    await ctx.reply("group/linked", network=network.name)


async def unlink(ctx: Context) -> None:
    network = await ctx.village.groups.unlink(ctx.standing, ctx.event.chat)
    await ctx.reply("group/unlinked", network=network.name)


async def join_request(ctx: Context) -> None:
    """A member is let in at once; anyone else first joins the network in a private chat."""
    event = ctx.event
    assert isinstance(event, JoinRequest)
    groups = ctx.village.groups
    network = await groups.network_of(event.chat.id)
    if network is None:
        return  # not a group of ours: Telegram keeps the request for the group's own admins
    if await groups.is_member(ctx.person, network):
        await ctx.village.messenger.decide_join_request(event.chat.id, ctx.person.id, approve=True)
        return
    await groups.remember_request(event.chat.id, ctx.person, ctx.now)
    await ctx.enter(Flow.JOIN, Step.STREET)
    await ctx.reply(
        "group/join_first",
        buttons=cancel_only(ctx.label),
        group=event.chat.title or "",
        network=network.name,
        name=ctx.person.name,
    )


async def welcome(ctx: Context) -> None:
    """New people in a linked group get a short welcome there, in the group's language."""
    event = ctx.event
    assert isinstance(event, MembersJoined)
    network = await ctx.village.groups.network_of(event.chat.id)
    if network is None:
        return
    names = [member.full_name for member in event.members]
    text = ctx.village.renderer.render(
        ctx.village.settings.default_language,
        "group/welcome",
        names=names,
        network=network.name,
        bot=ctx.village.bot_username,
    )
    await ctx.village.messenger.send(event.chat.id, Reply(text))
