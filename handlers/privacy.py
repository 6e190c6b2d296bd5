"""Privacy: what Buurtbot keeps about a person, why, and how to have it removed."""

from __future__ import annotations

from bot import commands
from bot.buttons import Tap
from bot.context import Context
from bot.permissions import Action
from bot.privacy import my_data as gather_my_data
from bot.router import Router
from handlers.keyboards import main_menu


def register(router: Router) -> None:
    router.command(commands.PRIVACY, privacy)
    router.tap(Tap.PRIVACY, Action.PRIVACY, privacy)
    router.command(commands.MY_DATA, my_data)


async def privacy(ctx: Context) -> None:
    await ctx.reply("privacy/full", buttons=main_menu(ctx.label, ctx.standing))


async def my_data(ctx: Context) -> None:
    """Sends the person a file with everything Buurtbot holds about them."""
    content = await gather_my_data(ctx.village, ctx.person)
    await ctx.reply("privacy/my_data")
    await ctx.village.messenger.send_document(ctx.chat_id, ctx.label("my_data_filename"), content)
