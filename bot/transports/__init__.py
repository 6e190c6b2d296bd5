"""Doors: the only place that knows a chat framework. Each turns updates into core events."""
