"""Lets `python -m bot` behave like the `buurtbot` command."""

from bot.application.cli import main

main()
