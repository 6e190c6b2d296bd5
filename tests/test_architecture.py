"""The layout keeps its promises: frameworks stay in their doors, every command is wired."""

from __future__ import annotations

import ast
from pathlib import Path

from bot import commands
from handlers import build_router

ROOT = Path(__file__).resolve().parent.parent
FRAMEWORKS = ("aiogram", "telegram")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_no_module_outside_the_doors_imports_a_chat_framework() -> None:
    offenders = []
    for folder in ("bot", "handlers", "storage"):
        for path in (ROOT / folder).rglob("*.py"):
            if "transports" in path.relative_to(ROOT).parts:
                continue
            if imported_modules(path) & set(FRAMEWORKS):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_every_command_and_button_has_a_handler() -> None:
    assert build_router().missing() == []


def test_command_names_and_aliases_are_unique_and_telegram_shaped() -> None:
    names = [name for command in commands.ALL for name in command.names()]
    assert len(names) == len(set(names))
    assert all(name.isascii() and name.islower() and 1 <= len(name) <= 32 for name in names)


def test_every_module_says_what_it_does_on_its_first_line() -> None:
    missing = []
    for folder in ("bot", "handlers", "storage"):
        for path in (ROOT / folder).rglob("*.py"):
            if not ast.get_docstring(ast.parse(path.read_text())):
                missing.append(str(path.relative_to(ROOT)))
    assert missing == []


def test_env_example_documents_every_setting() -> None:
    from bot.settings import Settings

    example = (ROOT / ".env.example").read_text()
    documented = {line.split("=")[0] for line in example.splitlines() if line and not line.startswith("#")}
    assert documented == {name.upper() for name in Settings.model_fields}


def test_button_prefixes_are_unique() -> None:
    from bot.buttons import Tap

    # Two names with one value would silently become aliases of one button.
    assert len(Tap.__members__) == len({tap.value for tap in Tap})
