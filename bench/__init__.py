"""Benchmarks: how fast, how big and how light Buurtbot is, against the fake Bot API on 127.0.0.1."""
