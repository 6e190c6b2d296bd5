"""The "when?" step of a flow, shared by activities and help requests.

What a resident typed is read back with "Ja, dat klopt" and "Opnieuw typen". A day without a time is
asked "hoe laat?" where the flow needs a time, instead of a time being made up. A weekday that does
not fit its date ("za 13 dec" when the 13th is a Sunday) is asked about: a button for each day meant.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from bot.kernel.buttons import Tap, encode
from bot.kernel.context import Context
from bot.kernel.flows import Flow, Step
from bot.kernel.refusals import Reason, Refusal
from bot.kernel.replies import Button, Keyboard, keyboard
from bot.language.dates import (
    WeekdayDoesNotMatch,
    When,
    WhenInPast,
    WhenNotUnderstood,
    describe,
    parse_time_on,
    parse_when,
)

AGAIN = "again"  # a button's argument: back to the question, to type the day anew
PICK = "pick"  # a button's arguments: this, and the index of the day offered that was tapped

# Kept in the flow's data while the step is on, and dropped once the moment is read back.
DAY = "when_day"  # the day waiting for its time, ISO
CHOICES = "when_choices"  # the moments offered when weekday and date disagree, ISO
HAS_TIME = "has_time"  # whether the moment (read back, or offered) has a time of day

WHICH_DAY = "common/which_day"

AskWhen = Callable[[Context, dict[str, Any]], Awaitable[None]]  # asks "when?" (again), given the flow's data


@dataclass(frozen=True)
class DateStep:
    flow: Flow
    yes: Tap  # "Ja, dat klopt" under the read-back: the flow's own handler goes on from there
    # The other buttons of this step, with AGAIN or PICK as their first argument: the flow's handler of
    # this tap lets `pressed` handle them first.
    tap: Tap
    moment: str  # the name the moment read back has in the flow's data and in the templates
    with_time: str  # the name the templates give whether the moment has a time of day
    confirm: str  # the template reading the moment back, with the values of `values`
    ask: AskWhen
    # Set where the flow needs a time of day: the template asking "hoe laat?" (with the values of
    # `values`), and the one for an answer that is not a time.
    ask_time: str = ""
    time_not_understood: str = ""
    default_hour: int = 10

    def values(self, when: When) -> dict[str, Any]:
        """The moment as this step's templates take it."""
        return {self.moment: when.at, self.with_time: when.has_time}

    def kept(self, data: dict[str, Any]) -> dict[str, Any]:
        """The flow's data without what this step keeps while it is on."""
        return {name: value for name, value in data.items() if name not in (self.moment, HAS_TIME, DAY, CHOICES)}

    async def typed(self, ctx: Context) -> None:
        """Text at the step: a day and perhaps a time, or the time asked for."""
        state = ctx.in_flow(self.flow, Step.WHEN, Step.WHEN_CONFIRM)
        data = self.kept(state.data)
        zone = ctx.village.settings.zone
        waiting_for_time = state.step == Step.WHEN and DAY in state.data
        if waiting_for_time:
            try:
                at_time = parse_time_on(_day(state.data[DAY]), ctx.text, ctx.now, zone)
            except WhenInPast as error:
                raise Refusal(Reason.WHEN_IN_PAST) from error
            except WhenNotUnderstood:
                at_time = None  # perhaps a day and a time after all: "morgen 15:00"
            if at_time is not None:
                await self._settle(ctx, data, at_time)
                return
        try:
            when = parse_when(ctx.text, ctx.now, zone, default_hour=self.default_hour)
        except WeekdayDoesNotMatch as mismatch:
            await self._ask_which_day(ctx, data, mismatch)
            return
        except WhenInPast as error:
            raise Refusal(Reason.WHEN_IN_PAST) from error
        except WhenNotUnderstood as error:
            if waiting_for_time:
                await ctx.reply(self.time_not_understood, buttons=self._time_buttons(ctx))
                return
            raise Refusal(Reason.WHEN_NOT_UNDERSTOOD) from error
        await self._settle(ctx, data, when)

    async def pressed(self, ctx: Context) -> bool:
        """Handles "Opnieuw typen" (and "Andere dag") and a day tapped; False for any other button."""
        args = ctx.pressed.args if ctx.pressed else ()
        if args[:1] == (AGAIN,):
            state = ctx.in_flow(self.flow, Step.WHEN, Step.WHEN_CONFIRM)
            data = self.kept(state.data)
            await ctx.enter(self.flow, Step.WHEN, **data)
            await self.ask(ctx, data)
            return True
        if args[:1] == (PICK,):
            state = ctx.in_flow(self.flow, Step.WHEN)
            choices, index = state.data.get(CHOICES), ctx.int_arg(1)
            if not isinstance(choices, list) or not 0 <= index < len(choices):
                raise Refusal(Reason.STALE_BUTTON)
            when = When(at=_moment(choices[index]), has_time=bool(state.data.get(HAS_TIME)))
            if when.at < ctx.now:  # offered a while ago
                raise Refusal(Reason.WHEN_IN_PAST)
            await self._settle(ctx, self.kept(state.data), when)
            return True
        return False

    async def _settle(self, ctx: Context, data: dict[str, Any], when: When) -> None:
        """Asks for the time if one is needed and missing; otherwise reads the moment back."""
        if self.ask_time and not when.has_time:
            day = when.at.astimezone(ctx.village.settings.zone).date()
            await ctx.enter(self.flow, Step.WHEN, **data, **{DAY: day.isoformat()})
            await ctx.reply(self.ask_time, buttons=self._time_buttons(ctx), **self.values(when))
            return
        await ctx.enter(
            self.flow, Step.WHEN_CONFIRM, **data, **{self.moment: when.at.isoformat(), HAS_TIME: when.has_time}
        )
        buttons = keyboard(
            Button(ctx.label("yes_that_is_right"), encode(self.yes)),
            Button(ctx.label("type_again"), encode(self.tap, AGAIN)),
        )
        await ctx.reply(self.confirm, buttons=buttons, **self.values(when))

    async def _ask_which_day(self, ctx: Context, data: dict[str, Any], mismatch: WeekdayDoesNotMatch) -> None:
        offered = (mismatch.named, mismatch.written)
        moments = [when.at.isoformat() for when in offered]
        await ctx.enter(self.flow, Step.WHEN, **data, **{CHOICES: moments, HAS_TIME: mismatch.written.has_time})
        zone = ctx.village.settings.zone
        days = [
            Button(describe(when.at, zone, ctx.lang, False), encode(self.tap, PICK, index))
            for index, when in enumerate(offered)
        ]
        buttons = keyboard(*days, Button(ctx.label("type_again"), encode(self.tap, AGAIN)))
        await ctx.reply(WHICH_DAY, buttons=buttons, starts_at=mismatch.written.at)

    def _time_buttons(self, ctx: Context) -> Keyboard:
        return keyboard(
            Button(ctx.label("other_day"), encode(self.tap, AGAIN)), Button(ctx.label("cancel"), encode(Tap.CANCEL))
        )


def _day(kept: object) -> date:
    try:
        return date.fromisoformat(str(kept))
    except ValueError as error:
        raise Refusal(Reason.STALE_BUTTON) from error


def _moment(kept: object) -> datetime:
    try:
        return datetime.fromisoformat(str(kept))
    except ValueError as error:
        raise Refusal(Reason.STALE_BUTTON) from error
