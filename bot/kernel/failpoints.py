"""Failpoints: named places where a crash test can make the process die at once.

A test starts a real `buurtbot run` with BUURTBOT_FAILPOINTS set to a comma-separated list of
names, each optionally `@N` to die at its N-th pass (`outbox.sent@40`). When the process gets
there it ends with `os._exit(FAILPOINT_EXIT)`: no clean-up, no flush, as with SIGKILL. Without
the variable `failpoint()` is one set lookup on an empty set.
"""

from __future__ import annotations

import os
import sys

ENVIRONMENT_VARIABLE = "BUURTBOT_FAILPOINTS"
FAILPOINT_EXIT = 77  # what a crash test expects of a process that died at its failpoint

# Every failpoint, by the step it follows. A crash test sweeps this list; `failpoint()` refuses
# a name that is not here, so a typo cannot leave a step untested.
UPDATE_KEPT = "update.kept"  # an update is kept in the directory, not yet handled
UPDATE_HANDLED = "update.handled"  # an update was handled, not yet marked so
FLOW_SAVED = "flow.saved"  # a conversation step was saved
ANNOUNCEMENT_QUEUED = "announcement.queued"  # an announcement and its outbox rows are committed
OUTBOX_CLAIMED = "outbox.claimed"  # outbox rows were marked as being sent
OUTBOX_HANDED_OVER = "outbox.handed_over"  # a message was handed to the app, its answer not yet read
OUTBOX_RECORDED = "outbox.recorded"  # a message's result was recorded
HELP_ASKED = "help.asked"  # a help request was recorded, its helpers not yet told
HELP_CLAIMED = "help.claimed"  # a neighbour took a help request
HELP_RELAYED = "help.relayed"  # a message between asker and helper was kept, not yet passed on
HELP_CLOSED = "help.closed"  # a help request was closed
RSVP_SAVED = "rsvp.saved"  # an answer to an activity was saved
JOIN_DECIDED = "join.decided"  # a buurtverbinder's decision on a join was saved
FORGOTTEN = "forget.done"  # a person was forgotten, not yet told

ALL = (
    UPDATE_KEPT,
    UPDATE_HANDLED,
    FLOW_SAVED,
    ANNOUNCEMENT_QUEUED,
    OUTBOX_CLAIMED,
    OUTBOX_HANDED_OVER,
    OUTBOX_RECORDED,
    HELP_ASKED,
    HELP_CLAIMED,
    HELP_RELAYED,
    HELP_CLOSED,
    RSVP_SAVED,
    JOIN_DECIDED,
    FORGOTTEN,
)


def _armed(spec: str) -> dict[str, int]:
    armed: dict[str, int] = {}
    for part in filter(None, (piece.strip() for piece in spec.split(","))):
        name, _, nth = part.partition("@")
        if name not in ALL:
            raise ValueError(f"{ENVIRONMENT_VARIABLE}: unknown failpoint {name!r}")
        armed[name] = int(nth) if nth else 1
    return armed


# Read once, when this module is first imported: a failpoint is a test's instrument, not a
# setting, and reading it here keeps every pass through an unarmed failpoint free.
_ARMED = _armed(os.environ.get(ENVIRONMENT_VARIABLE, ""))
_passes: dict[str, int] = {}


def failpoint(name: str) -> None:
    """Dies here if a test armed NAME (at its N-th pass); otherwise does nothing."""
    if not _ARMED:
        return
    if name not in ALL:
        raise ValueError(f"unknown failpoint {name!r}")
    if name in _ARMED:
        _passes[name] = _passes.get(name, 0) + 1
        if _passes[name] >= _ARMED[name]:
            sys.stderr.write(f"failpoint {name}: dying\n")
            sys.stderr.flush()
            os._exit(FAILPOINT_EXIT)
