"""Telegram groups of a street: linking them to a network and letting members in."""
