"""Privacy: what Buurtbot keeps about a person, why, and how to have it removed."""

from __future__ import annotations

from bot.kernel import commands, failpoints
from bot.kernel.buttons import Tap, encode
from bot.kernel.context import Context
from bot.kernel.permissions import Action
from bot.kernel.replies import Button, keyboard
from bot.kernel.router import Router
from handlers.keyboards import main_menu


def register(router: Router) -> None:
    router.command(commands.PRIVACY, privacy)
    router.tap(Tap.PRIVACY, Action.PRIVACY, privacy)
    router.command(commands.MY_DATA, my_data)
    router.command(commands.FORGET_ME, forget_me)
    router.tap(Tap.MY_DATA, Action.PRIVACY, my_data)
    router.tap(Tap.FORGET_ME_ASK, Action.PRIVACY, forget_me)
    router.tap(Tap.FORGET_ME, Action.PRIVACY, forget_me_confirmed)
    router.tap(Tap.FORGET_ME_NOT, Action.PRIVACY, forget_me_not)


async def privacy(ctx: Context) -> None:
    buttons = keyboard(
        Button(ctx.label("privacy_my_data"), encode(Tap.MY_DATA)),
        Button(ctx.label("privacy_forget_me"), encode(Tap.FORGET_ME_ASK)),
        Button(ctx.label("back_to_menu"), encode(Tap.MENU)),
    )
    await ctx.reply("privacy/full", buttons=buttons)


async def my_data(ctx: Context) -> None:
    """Sends the person a file with everything Buurtbot holds about them."""
    content = await ctx.village.privacy.my_data(ctx.person)
    await ctx.reply("privacy/my_data")
    await ctx.village.messenger.send_document(ctx.chat_id, ctx.label("my_data_filename"), content)


async def forget_me(ctx: Context) -> None:
    buttons = keyboard(
        Button(ctx.label("yes_forget_me"), encode(Tap.FORGET_ME)),
        Button(ctx.label("no_keep_me"), encode(Tap.FORGET_ME_NOT)),
    )
    await ctx.reply("privacy/forget_confirm", buttons=buttons)


async def forget_me_not(ctx: Context) -> None:
    await ctx.replace("privacy/kept", buttons=main_menu(ctx.label, ctx.standing))


async def forget_me_confirmed(ctx: Context) -> None:
    """Everything about this person leaves every store; what others need loses their name."""
    await ctx.village.privacy.forget(ctx.standing)
    failpoints.failpoint(failpoints.FORGOTTEN)
    # Told once it is done. Handled again after a crash, the update finds the person anew (the
    # core records whoever writes) and forgets them again: the same end, and one edit in place.
    await ctx.replace("privacy/forgotten")
    await ctx.village.privacy.leave_no_trace(ctx.person.id)
