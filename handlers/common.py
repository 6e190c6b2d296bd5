"""Common: the main menu, /help, /cancel, /language, and replies to what was not understood."""

from __future__ import annotations

from bot.application.settings import LANGUAGES
from bot.kernel import commands
from bot.kernel.buttons import Tap, encode
from bot.kernel.context import Context
from bot.kernel.permissions import Action
from bot.kernel.refusals import Reason, Refusal
from bot.kernel.replies import Button, keyboard
from bot.kernel.router import Router
from handlers.keyboards import main_menu
from handlers.neighbour_help import offer_to_forward


def register(router: Router) -> None:
    router.command(commands.MENU, menu)
    router.tap(Tap.MENU, Action.MENU, menu)
    router.command(commands.HELP, help_, in_groups=True)
    router.tap(Tap.HELP, Action.HELP, help_)
    router.command(commands.CANCEL, cancel)
    router.tap(Tap.CANCEL, Action.CANCEL, cancel)
    router.command(commands.LANGUAGE, choose_language)
    router.tap(Tap.LANGUAGE_MENU, Action.LANGUAGE, choose_language)
    router.tap(Tap.LANGUAGE, Action.LANGUAGE, set_language)
    router.unknown_command(unknown_command)
    router.otherwise(not_understood)


async def menu(ctx: Context) -> None:
    await ctx.reply("common/menu", buttons=main_menu(ctx.label, ctx.standing), name=ctx.person.name)


async def help_(ctx: Context) -> None:
    """Lists exactly the commands this person may use, in their language."""
    if not ctx.event.chat.is_private:
        await ctx.reply("common/help_in_group", bot=ctx.village.bot_username)
        return
    allowed = [
        (commands.shown_name(command, ctx.lang), ctx.label(f"command_{command.name}"))
        for command in commands.ALL
        if ctx.standing.may(command.action)
    ]
    await ctx.reply("common/help", buttons=main_menu(ctx.label, ctx.standing), commands=allowed)


async def cancel(ctx: Context) -> None:
    left = await ctx.leave_flow()
    template = "common/cancelled" if left else "common/nothing_to_cancel"
    await ctx.reply(template, buttons=main_menu(ctx.label, ctx.standing))


async def choose_language(ctx: Context) -> None:
    buttons = keyboard(*(Button(ctx.label(f"language_{code}"), encode(Tap.LANGUAGE, code)) for code in LANGUAGES))
    await ctx.reply("common/choose_language", buttons=buttons)


async def set_language(ctx: Context) -> None:
    code = ctx.pressed.args[0] if ctx.pressed and ctx.pressed.args else ""
    if code not in LANGUAGES:
        raise Refusal(Reason.STALE_BUTTON)
    await ctx.village.people.set_language(ctx.person.id, code)
    ctx.person.language = code
    await ctx.replace("common/language_set")
    await menu(ctx)


async def unknown_command(ctx: Context) -> None:
    await ctx.reply("common/unknown_command", buttons=main_menu(ctx.label, ctx.standing))


async def not_understood(ctx: Context) -> None:
    if await offer_to_forward(ctx):  # written to a neighbour without tapping ✉️ first: not lost
        return
    await ctx.reply("common/not_understood", buttons=main_menu(ctx.label, ctx.standing))
