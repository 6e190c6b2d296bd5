"""Meta's rate limits on sending: the phone number's throughput (130429) and the pair rate per user (131056).

Throughput: at most `throughput` messages a second from the business number (Meta's default
is 80; it counts outbound messages here, inbound ones are not). Pair rate: one message every
`pair_interval` seconds (6) to the same user on average, with bursts of up to `pair_burst`
(Meta documents 45) that borrow from the time after them. Both count in the fake's clock.
"""

from __future__ import annotations

from collections import deque

from .errors import GraphError
from .records import Violation
from .state import State

THROUGHPUT = 80.0
PAIR_INTERVAL = 6.0
PAIR_BURST = 45


class Limits(State):
    """Checks a send against both limits; a breach is a Violation, and refused when enforce_rate_limits."""

    enforce_rate_limits: bool
    throughput: float | None
    pair_interval: float | None
    pair_burst: int

    def _init_limits(
        self,
        *,
        enforce_rate_limits: bool,
        throughput: float | None,
        pair_interval: float | None,
        pair_burst: int,
    ) -> None:
        self.enforce_rate_limits = enforce_rate_limits
        self.throughput = throughput  # None: no throughput limit
        self.pair_interval = pair_interval  # None: no pair rate limit
        self.pair_burst = pair_burst
        self._second: deque[float] = deque()  # clock timestamps of the sends in the latest second
        self._pair_due: dict[str, float] = {}  # wa_id → when its borrowed time is paid back (GCRA)

    @property
    def rate_violations(self) -> list[Violation]:
        return [v for v in self.violations if v.kind in ("throughput", "pair_rate")]

    def _check_rates(self, wa_id: str) -> None:
        """Raises 130429 or 131056 for a send that breaks a limit, when enforce_rate_limits; a breach is
        a Violation either way."""
        now = self._now()
        while self._second and now - self._second[0] >= 1.0:
            self._second.popleft()
        found: list[GraphError] = []
        if self.throughput is not None and len(self._second) + 1 > self.throughput:
            found.append(GraphError(130429))
            details = f"{len(self._second) + 1} messages within 1 s, limit {self.throughput:g}"
            self.violations.append(Violation("throughput", 130429, wa_id, details))
        borrowed = max(self._pair_due.get(wa_id, now) - now, 0.0)
        if self.pair_interval is not None and borrowed > self.pair_interval * (self.pair_burst - 1):
            found.append(GraphError(131056))
            details = f"{borrowed / self.pair_interval + 1:.1f} messages in a burst, limit {self.pair_burst}"
            self.violations.append(Violation("pair_rate", 131056, wa_id, details))
        if found and self.enforce_rate_limits:
            raise found[0]

    def _count_send(self, wa_id: str) -> None:
        """A message went out to wa_id: it counts against both limits from now on."""
        now = self._now()
        self._second.append(now)
        if self.pair_interval is not None:
            self._pair_due[wa_id] = max(self._pair_due.get(wa_id, now), now) + self.pair_interval
