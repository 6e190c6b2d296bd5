"""Lets `python -m bot` behave like the `buurtbot` command."""

from bot.cli import main

main()
