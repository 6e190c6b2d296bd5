"""The layout keeps its promises: frameworks stay in their doors, every command is wired, handlers
reach data only through services, storage knows nothing of the bot, and no new import cycle appears."""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator
from pathlib import Path

from bot.kernel import commands
from handlers import build_router

ROOT = Path(__file__).resolve().parent.parent
FRAMEWORKS = ("aiogram", "telegram")
PACKAGES = ("bot", "handlers", "storage")


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
    from bot.application.settings import Settings

    example = (ROOT / ".env.example").read_text()
    documented = {line.split("=")[0] for line in example.splitlines() if line and not line.startswith("#")}
    assert documented == {name.upper() for name in Settings.model_fields}


def test_button_prefixes_are_unique() -> None:
    from bot.kernel.buttons import Tap

    # Two names with one value would silently become aliases of one button.
    assert len(Tap.__members__) == len({tap.value for tap in Tap})


# --- layers: handlers -> services (bot) -> storage --------------------------------------------
#
# Every import counts, wherever it stands: at the top, under `if TYPE_CHECKING:`, inside a function.


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_modules() -> dict[str, Path]:
    """Every module of the app's packages by its dotted name (`bot.neighbour_help.service`, `storage.migrations`)."""
    return {module_name(path): path for folder in PACKAGES for path in sorted((ROOT / folder).rglob("*.py"))}


def imported_names(path: Path) -> Iterator[tuple[int, str]]:
    """(line, dotted name) of everything the module imports, with `X` and `X.name` for `from X import
    name` (name may be a module), relative imports made absolute."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            else:
                base = node.module or ""
            yield node.lineno, base
            for alias in node.names:
                yield node.lineno, f"{base}.{alias.name}"


def layer_breaches(folder: str, forbidden: tuple[str, ...]) -> list[str]:
    return sorted(
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in sorted((ROOT / folder).rglob("*.py"))
        for line, name in imported_names(path)
        if name.split(".")[0] in forbidden
    )


def test_no_handler_imports_storage() -> None:
    # A handler parses, calls a service, renders and replies; a type or enum it needs from a table
    # is re-exported by the service that owns it (`bot.neighbour_help.service.HelpStatus`,
    # `bot.joining.networks.Network`).
    assert layer_breaches("handlers", ("storage",)) == []


def test_no_handler_touches_the_stores() -> None:
    offenders = sorted(
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in sorted((ROOT / "handlers").rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path)))
        if (isinstance(node, ast.Attribute) and node.attr == "stores")
        or (isinstance(node, ast.Constant) and node.value == "stores")  # getattr(village, "stores")
    )
    assert offenders == []


def test_only_storage_builds_sql() -> None:
    # Services speak in domain objects; every statement (and every SQLite assumption) is in storage/.
    sql = ("sqlalchemy", "sqlmodel", "aiosqlite", "sqlite3")
    assert layer_breaches("bot", sql) == [] and layer_breaches("handlers", sql) == []


def test_storage_knows_nothing_of_the_bot_or_its_handlers() -> None:
    assert layer_breaches("storage", ("bot", "handlers")) == []


# --- capabilities: each package's `__init__` is its door ---------------------------------------

# One package per capability of the village. Outside its own package, a capability is imported
# only through its door (`from bot.neighbour_help import Help`), never a module of its own
# (`bot.neighbour_help.service`): what its `__init__` exports is what others may use.
CAPABILITIES = ("joining", "neighbour_help", "activities", "announcements", "groups", "network_admin", "privacy")


def private_imports(modules: dict[str, Path]) -> list[str]:
    breaches = []
    for name, path in modules.items():
        for line, imported in imported_names(path):
            parts = imported.split(".")
            if len(parts) < 3 or parts[0] != "bot" or parts[1] not in CAPABILITIES:
                continue
            owner = f"bot.{parts[1]}"
            if name == owner or name.startswith(f"{owner}."):
                continue
            inner = f"{owner}.{parts[2]}"
            if inner in modules:  # a module of the package, not a name its door exports
                breaches.append(f"{path.relative_to(ROOT)}:{line} imports {inner}")
    return sorted(set(breaches))


def test_capabilities_are_used_only_through_their_doors() -> None:
    assert private_imports(package_modules()) == []


def test_every_capability_door_exports_what_it_imports() -> None:
    for capability in CAPABILITIES:
        door = importlib.import_module(f"bot.{capability}")
        exported = set(getattr(door, "__all__", ()))
        assert exported, f"bot.{capability} exports nothing"
        assert all(hasattr(door, name) for name in exported)


# --- import cycles ----------------------------------------------------------------------------
#
# None: services get what they use in their constructors from the one composition root
# (`bot.application.village`), so no service needs to name the village or a sibling that needs it.


def import_graph() -> dict[str, set[str]]:
    """module -> the app's modules it imports (the most specific module each name resolves to)."""
    modules = package_modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for _, imported in imported_names(path):
            target = imported
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                graph[name].add(target)
    # `from bot.kernel import commands` names both `bot.kernel` and `bot.kernel.commands`: the package that holds an
    # imported module is not counted as a dependency of its own (else every handler that imports
    # `handlers.keyboards` would be in a cycle with `handlers/__init__.py`).
    return {
        name: {t for t in targets if not any(o.startswith(f"{t}.") for o in targets)} for name, targets in graph.items()
    }


def strongly_connected(graph: dict[str, set[str]]) -> set[tuple[str, ...]]:
    """Tarjan's algorithm; the components of more than one module, each as a sorted tuple."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: set[tuple[str, ...]] = set()

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.add(tuple(sorted(component)))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_strongly_connected_finds_a_cycle_and_nothing_else() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert strongly_connected(graph) == {("a", "b", "c")}


def test_no_import_cycle() -> None:
    assert sorted(strongly_connected(import_graph())) == []
