"""Limits on what people type and on how long things live, each defined once."""

from __future__ import annotations

from datetime import timedelta

STREET_TEXT_MAX = 80  # longer than any street name in the Netherlands
NETWORK_NAME_MAX = 60
STREET_LIST_MAX = 200  # streets in one network
FLOW_TTL = timedelta(days=2)  # a half-finished flow older than this is forgotten
INVITE_TTL = timedelta(days=14)
INVITE_USES = 1
UPDATE_MEMORY = timedelta(days=2)  # how long update ids are remembered against redelivery
PENDING_PAGE = 10
REQUESTS_PAGE = 5
BEHALF_TEXT_MAX = 120  # a name or a phone number typed in for a resident who phoned
STREET_INVITE_USES = 50  # an invite for a flyer or the street's group chat
STREET_INVITE_TTL = timedelta(days=30)
FLOOD_LIMIT = 20  # events one sender (or one group) may send within FLOOD_WINDOW
FLOOD_WINDOW = timedelta(seconds=10)
FLOOD_PAUSE = timedelta(seconds=60)  # how long a flooder is ignored after one notice
FLOOD_TRACKED = 10_000  # senders remembered at most; only those active within FLOOD_WINDOW matter
OPEN_REQUESTS_MAX = 5  # help requests one person may have open (or taken up) at once
EVENTS_PER_DAY_MAX = 3  # activities one person may create or propose in 24 hours
BUSY_RETRY_S = 30.0  # an update whose store stayed locked by another process is tried again after this
