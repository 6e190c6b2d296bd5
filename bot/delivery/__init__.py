"""Delivery: the outbox and its one rate-limited sender, the messenger for replies, the scheduler."""
