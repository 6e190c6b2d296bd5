"""Privacy: what Buurtbot keeps about someone (my data) and forgetting them."""

from __future__ import annotations

from bot.privacy.forgetting import forget, leave_no_trace
from bot.privacy.personal_data import my_data

__all__ = ["forget", "leave_no_trace", "my_data"]
