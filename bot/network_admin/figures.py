"""The figures /statistiek shows: totals for its message, and month by month for its chart."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from storage.models import Answer
from storage.network_admin import Answers, HelpMoments, MemberSpan

MONTHS_SHOWN = 6  # this month and the five before it: room for large type on a phone's screen


@dataclass(frozen=True)
class Figures:
    """One network's totals, for the message."""

    network: str
    members: int
    joined_this_month: int
    asked: int
    claimed: int
    done: int
    median_hours_to_claim: float | None
    events: int
    attending: int


@dataclass(frozen=True)
class Months:
    """The months a chart shows, oldest first, in the village's time zone."""

    firsts: tuple[date, ...]  # the first day of each
    zone: ZoneInfo
    now: datetime

    @classmethod
    def up_to(cls, now: datetime, zone: ZoneInfo, count: int = MONTHS_SHOWN) -> Months:
        local = now.astimezone(zone)
        index = local.year * 12 + local.month - 1
        firsts = tuple(date((i // 12), i % 12 + 1, 1) for i in range(index - count + 1, index + 1))
        return cls(firsts, zone, now)

    def start(self, first: date) -> datetime:
        return datetime(first.year, first.month, first.day, tzinfo=self.zone)

    @property
    def since(self) -> datetime:
        """When the first month shown begins."""
        return self.start(self.firsts[0])

    @property
    def until(self) -> datetime:
        """When the month after this one begins (activities later this month count this month)."""
        last = self.firsts[-1]
        return self.start(date(last.year + last.month // 12, last.month % 12 + 1, 1))

    def ends(self) -> list[datetime]:
        """The end of each month shown; this month's is now."""
        return [self.start(first) for first in self.firsts[1:]] + [self.now]

    def index_of(self, moment: datetime | None) -> int | None:
        """Which month shown a moment falls in, if any."""
        if moment is None:
            return None
        local = moment.astimezone(self.zone)
        first = date(local.year, local.month, 1)
        return self.firsts.index(first) if first in self.firsts else None


@dataclass(frozen=True)
class History:
    """A network, or the whole village, month by month (each tuple one number a month shown)."""

    months: tuple[date, ...]
    members: tuple[int, ...]  # at the end of the month (this month: now)
    asked: tuple[int, ...]
    taken: tuple[int, ...]  # taken up by a neighbour that month
    done: tuple[int, ...]  # closed as "it worked" that month
    yes: tuple[int, ...]  # answers to the activities of that month
    maybe: tuple[int, ...]
    no: tuple[int, ...]

    @classmethod
    def of(
        cls, months: Months, spans: Iterable[MemberSpan], help_: Iterable[HelpMoments], answers: Iterable[Answers]
    ) -> History:
        spans = list(spans)
        members = tuple(
            sum(1 for span in spans if span.since <= end and (span.until is None or span.until > end))
            for end in months.ends()
        )
        size = len(months.firsts)
        asked, taken, done = [0] * size, [0] * size, [0] * size
        for request in help_:
            for counts, moment in ((asked, request.asked_at), (taken, request.taken_at), (done, request.done_at)):
                index = months.index_of(moment)
                if index is not None:
                    counts[index] += 1
        by_answer = {Answer.YES: [0] * size, Answer.MAYBE: [0] * size, Answer.NO: [0] * size}
        for found in answers:
            index = months.index_of(found.starts_at)
            if index is not None:
                by_answer[found.answer][index] += found.count
        return cls(
            months=months.firsts,
            members=members,
            asked=tuple(asked),
            taken=tuple(taken),
            done=tuple(done),
            yes=tuple(by_answer[Answer.YES]),
            maybe=tuple(by_answer[Answer.MAYBE]),
            no=tuple(by_answer[Answer.NO]),
        )

    @classmethod
    def together(cls, months: Months, histories: Sequence[History]) -> History:
        """The whole village: every network's numbers added up (someone in two networks counts twice,
        as in the message's total)."""

        def total(name: str) -> tuple[int, ...]:
            columns = [getattr(history, name) for history in histories]
            return tuple(sum(values) for values in zip(*columns, strict=True)) if columns else (0,) * len(months.firsts)

        return cls(
            months=months.firsts,
            members=total("members"),
            asked=total("asked"),
            taken=total("taken"),
            done=total("done"),
            yes=total("yes"),
            maybe=total("maybe"),
            no=total("no"),
        )

    @property
    def has_help(self) -> bool:
        return any(self.asked) or any(self.taken) or any(self.done)

    @property
    def has_answers(self) -> bool:
        return any(self.yes) or any(self.maybe) or any(self.no)

    @property
    def worth_a_chart(self) -> bool:
        """Something to compare: help or answers in the months shown, or a number of members that
        changed from one month with members to another. (A network that began this month, or whose
        members stayed the same and did nothing else, gets a sentence instead of an empty chart.)"""
        counts = {members for members in self.members if members}
        return self.has_help or self.has_answers or len(counts) > 1
