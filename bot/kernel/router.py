"""Routes an event to its handler: commands, button taps and flow steps, permission first."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.kernel import commands
from bot.kernel.buttons import BadButton, Tap, decode
from bot.kernel.commands import Command
from bot.kernel.context import Context
from bot.kernel.events import ButtonPress, JoinRequest, MembersJoined, Message, parse_command
from bot.kernel.flows import Flow, Step
from bot.kernel.permissions import Action, Role, may
from bot.kernel.refusals import Reason, Refusal

Handler = Callable[[Context], Awaitable[None]]


@dataclass(frozen=True)
class Route:
    action: Action
    handler: Handler
    in_groups: bool = False  # by default a command in a group is sent to the private chat


class Router:
    def __init__(self) -> None:
        self._commands: dict[str, Route] = {}
        self._taps: dict[Tap, Route] = {}
        self._steps: dict[tuple[str, str], Route] = {}
        self._unknown_command: Handler | None = None
        self._join_request: Handler | None = None
        self._members_joined: Handler | None = None
        self._otherwise: Handler | None = None
        self._awaiting_approval: Handler | None = None

    # --- registration ---------------------------------------------------------------------

    def command(self, command: Command, handler: Handler, *, in_groups: bool = False) -> None:
        if command.name in self._commands:
            raise ValueError(f"/{command.name} registered twice")
        self._commands[command.name] = Route(command.action, handler, in_groups)

    def tap(self, tap: Tap, action: Action, handler: Handler) -> None:
        if tap in self._taps:
            raise ValueError(f"button {tap} registered twice")
        self._taps[tap] = Route(action, handler)

    def step(self, flow: Flow, step: Step, action: Action, handler: Handler) -> None:
        self._steps[(flow, step)] = Route(action, handler)

    def unknown_command(self, handler: Handler) -> None:
        self._unknown_command = handler

    def join_request(self, handler: Handler) -> None:
        """Someone asked to join a group the bot manages."""
        self._join_request = handler

    def members_joined(self, handler: Handler) -> None:
        """People came into a group the bot is in."""
        self._members_joined = handler

    def awaiting_approval(self, handler: Handler) -> None:
        """What a member may do, asked by someone whose membership still waits for approval."""
        self._awaiting_approval = handler

    def otherwise(self, handler: Handler) -> None:
        """Text outside any flow, in a private chat."""
        self._otherwise = handler

    def missing(self) -> list[str]:
        """Commands and buttons nothing handles: a wiring mistake a test should catch."""
        absent = [f"/{c.name}" for c in commands.ALL if c.name not in self._commands]
        return absent + [f"button {tap.name}" for tap in Tap if tap not in self._taps]

    # --- dispatch -------------------------------------------------------------------------

    async def route(self, ctx: Context) -> None:
        if isinstance(ctx.event, ButtonPress):
            await self._route_press(ctx)
        elif isinstance(ctx.event, JoinRequest):
            if self._join_request is not None:
                await self._join_request(ctx)
        elif isinstance(ctx.event, MembersJoined):
            if self._members_joined is not None:
                await self._members_joined(ctx)
        else:
            await self._route_message(ctx, ctx.event)

    async def _route_press(self, ctx: Context) -> None:
        try:
            ctx.pressed = decode(ctx.event.data if isinstance(ctx.event, ButtonPress) else "")
        except BadButton as error:
            raise Refusal(Reason.STALE_BUTTON) from error
        route = self._taps.get(ctx.pressed.tap)
        if route is None:
            raise Refusal(Reason.STALE_BUTTON)
        if not ctx.event.chat.is_private:
            raise Refusal(Reason.PRIVATE_ONLY)
        await self._run(ctx, route)
        await ctx.notice()  # stops the spinner on the button if the handler said nothing

    async def _route_message(self, ctx: Context, message: Message) -> None:
        call = parse_command(message.text.strip(), ctx.village.bot_username or None)
        if call is not None:
            command = commands.by_typed_name(call.name)
            route = self._commands.get(command.name) if command else None
            if route is None:
                if message.chat.is_private and self._unknown_command:
                    await self._unknown_command(ctx)
                return
            if not message.chat.is_private:
                if not await ctx.village.groups.answers_in(ctx.standing, message.chat):
                    return  # a stranger to this group's network: no answer where everyone reads along
                if not route.in_groups:
                    raise Refusal(Reason.PRIVATE_ONLY)
            ctx.argument = call.argument
            await self._run(ctx, route)
            return
        if not message.chat.is_private:
            return  # the bot does not chime in on group conversation
        flow = ctx.flow
        step_route = self._steps.get((flow.flow, flow.step)) if flow else None
        if step_route is not None:
            await self._run(ctx, step_route)
        elif self._otherwise is not None:
            await self._otherwise(ctx)

    async def _run(self, ctx: Context, route: Route) -> None:
        if not ctx.standing.may(route.action):
            waiting = ctx.standing.pending and may(frozenset({Role.STRANGER, Role.RESIDENT}), route.action)
            if waiting and self._awaiting_approval is not None:
                await self._awaiting_approval(ctx)  # not "not allowed": allowed soon, and who decides
                return
            raise Refusal(Reason.NOT_ALLOWED)
        ctx.handler = f"{route.handler.__module__}.{route.handler.__qualname__}"
        await route.handler(ctx)
