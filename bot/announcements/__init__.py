"""Announcements: a buurtverbinder's message to every member of a network, or of the village."""
