"""Privacy: what Buurtbot keeps about someone (my data) and forgetting them."""

from __future__ import annotations

from bot.privacy.service import Privacy

__all__ = ["Privacy"]
