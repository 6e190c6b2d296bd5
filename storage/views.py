"""What the directory hands out besides its tables: a membership with its network, a conversation's state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.models import Membership, Network, Street


@dataclass(frozen=True)
class MembershipView:
    """A membership with the network (and street) it belongs to."""

    membership: Membership
    network: Network
    street: Street | None


@dataclass(frozen=True)
class FlowState:
    flow: str
    step: str
    data: dict[str, Any]
    updated_at: datetime
