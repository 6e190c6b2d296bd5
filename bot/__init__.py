"""Buurtbot: the chat front door of a village community platform."""
