"""Privacy: what Buurtbot keeps about a person, why, and how to have it removed."""

from __future__ import annotations

from bot import commands
from bot.buttons import Tap
from bot.context import Context
from bot.permissions import Action
from bot.router import Router
from handlers.keyboards import main_menu


def register(router: Router) -> None:
    router.command(commands.PRIVACY, privacy)
    router.tap(Tap.PRIVACY, Action.PRIVACY, privacy)


async def privacy(ctx: Context) -> None:
    await ctx.reply("privacy/full", buttons=main_menu(ctx.label, ctx.standing))
