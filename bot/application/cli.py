"""The `buurtbot` command: run the bot, the console, and manage networks from a terminal."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from bot.application.app import open_console, run
from bot.application.build import build_bot, remember_stop_request
from bot.application.data_lock import DataLock
from bot.application.demo import seed_demo
from bot.application.settings import CannotStart, Settings, SettingsError, load_settings
from bot.application.village import Village
from bot.contacts import ContactView, show_phone
from bot.joining import split_streets
from bot.kernel.refusals import Refusal
from bot.kernel.replies import html_to_plain
from bot.language.renderer import Renderer
from storage.backup import copy_store, restore_store, stores_in, unreadable
from storage.errors import StoreProblem
from storage.models import JoinPolicy

T = TypeVar("T")

app = typer.Typer(help="Buurtbot: the chat front door of a village community platform.", no_args_is_help=True)
network_app = typer.Typer(help="Street networks and their streets.", no_args_is_help=True)
verbinder_app = typer.Typer(help="Buurtverbinders.", no_args_is_help=True)
app.add_typer(network_app, name="network")
app.add_typer(verbinder_app, name="verbinder")


def _in_village(work: Callable[[Village], Awaitable[T]]) -> T:
    """Runs `work` on the village's stores, opened for the command and closed after."""

    async def opened() -> T:
        bot = build_bot(_settings(), door="cli")
        # No scheduler and no sender: only the running bot sends; what a command queues is
        # picked up by it (or by the next `buurtbot run`).
        await bot.start(background=False)
        try:
            return await work(bot.village)
        finally:
            await bot.stop()

    return _cannot_start_to_exit(lambda: asyncio.run(opened()))


def _cannot_start_to_exit(call: Callable[[], T]) -> T:
    """Runs a command; what stops it from starting (a bad setting, a damaged store) is one line
    on standard error and exit status 2, never a traceback."""
    try:
        return call()
    except (CannotStart, StoreProblem) as error:
        typer.echo(f"buurtbot: {error}", err=True)
        raise typer.Exit(2) from error


def _settings() -> Settings:
    try:
        settings = load_settings()
    except SettingsError as error:
        typer.echo(f"buurtbot: bad setting: {error}", err=True)
        raise typer.Exit(2) from error
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)  # it announces every store it opens
    return settings


@app.command("run")
def run_command() -> None:
    """The main job: the Telegram bot when BOT_TOKEN is set, otherwise the console door."""
    settings = _settings()
    if settings.bot_token:  # the console door ends at end of input; the Telegram bot on SIGTERM
        signal.signal(signal.SIGTERM, remember_stop_request)
    raise typer.Exit(_cannot_start_to_exit(lambda: asyncio.run(run(settings))))


@app.command("console")
def console_command() -> None:
    """Talk to the bot in this terminal (or from a script on standard input)."""
    settings = _settings()
    raise typer.Exit(_cannot_start_to_exit(lambda: asyncio.run(open_console(settings))))


@app.command("demo")
def demo_command() -> None:
    """Seed the small demo village into DATA_DIR."""

    added = _in_village(seed_demo)
    typer.echo(f"added: {', '.join(added)}" if added else "the demo village is already there")


@network_app.command("add")
def network_add(
    name: str,
    streets: Annotated[str, typer.Option(help='Streets, comma separated: "Nieuwstraat,Kerkstraat"')],
    open_join: Annotated[bool, typer.Option("--open", help="Join without a buurtverbinder's approval")] = False,
) -> None:
    """Create a street network with its streets."""

    async def add(village: Village) -> str:
        policy = JoinPolicy.OPEN if open_join else JoinPolicy.APPROVAL
        network = await village.networks.add(name, split_streets(streets), village.clock.now(), policy)
        return network.slug

    slug = _refusals_to_exit(lambda: _in_village(add))
    typer.echo(f"created {name} ({slug})")


@network_app.command("list")
def network_list() -> None:
    """List the street networks with their streets and buurtverbinders."""

    async def listing(village: Village) -> list[str]:
        lines = []
        for network in await village.networks.all():
            assert network.id is not None
            active, pending = await village.networks.member_counts(network.id)
            verbinders = ", ".join(await village.networks.verbinders(network.id)) or "-"
            streets = ", ".join(await village.networks.streets_of(network.id))
            lines.append(
                f"{network.slug}\t{network.name}\t{network.join_policy}\tmembers={active} pending={pending}"
                f"\tverbinders={verbinders}\tstreets={streets}"
            )
        return lines

    lines = _in_village(listing)
    typer.echo("\n".join(lines) if lines else "no networks yet: buurtbot network add NAME --streets ...")


@verbinder_app.command("add")
def verbinder_add(network: str, telegram_id: int, name: Annotated[str | None, typer.Option()] = None) -> None:
    """Appoint a buurtverbinder of NETWORK (its slug) by Telegram user id."""

    async def appoint(village: Village) -> str:
        found = await village.networks.by_slug(network)
        person = await village.memberships.appoint(found, telegram_id, by=None, now=village.clock.now(), name=name)
        return f"{person.name} ({telegram_id}) is now buurtverbinder of {found.name}"

    typer.echo(_refusals_to_exit(lambda: _in_village(appoint)))


@app.command("invite")
def invite_command(
    network: str,
    uses: Annotated[int, typer.Option(help="How many people may use it; 0 for any number")] = 1,
    days: Annotated[int, typer.Option(help="Days the link stays valid; 0 for no end")] = 14,
) -> None:
    """Print invite links for NETWORK (its slug), Telegram's and WhatsApp's: whoever opens one joins at once."""

    async def make(village: Village) -> str:
        found = await village.networks.by_slug(network)
        invite = await village.memberships.invite(
            found,
            created_by=None,
            now=village.clock.now(),
            max_uses=uses or None,
            valid_for=timedelta(days=days) if days else None,
        )
        telegram = village.deep_link(invite.code)
        whatsapp = village.whatsapp_link(invite.code, network=found.name, language=village.settings.default_language)
        if telegram is None and whatsapp is None:
            return (
                f"code: {invite.code} (console: /start {invite.code})\n"
                "no link: set BOT_USERNAME in .env to the bot's @username (without the @) to get a Telegram"
                " link, WHATSAPP_NUMBER to the bot's WhatsApp number to get a WhatsApp link"
            )
        links = [f"{app}: {link}" for app, link in (("Telegram", telegram), ("WhatsApp", whatsapp)) if link]
        return "\n".join([*links, f"(console: /start {invite.code})"])

    typer.echo(_refusals_to_exit(lambda: _in_village(make)))


@app.command("contacts")
def contacts_command() -> None:
    """List the open contact requests: who, how to reach them, street typed, network, age, taken up by."""

    async def listing(village: Village) -> list[str]:
        now = village.clock.now()
        return [
            f"#{view.id}\t{view.resident.name}\t{_reach(view)}\tstreet={view.request.street_text or '-'}"
            f"\tnetwork={view.network.name if view.network else '-'}\tage={_age(now - view.request.created_at)}"
            f"\ttaken_by={view.taker.name if view.taker else '-'}"
            for view in await village.contacts.open_all()
        ]

    lines = _in_village(listing)
    typer.echo("\n".join(lines) if lines else "no open contact requests")


def _reach(view: ContactView) -> str:
    reach = view.reach
    if reach.phone is None:
        return "a message in the chat"
    return f"phone {show_phone(reach.phone)}" + (f", call in the {reach.call_time}" if reach.call_time else "")


def _age(age: timedelta) -> str:
    hours = int(age.total_seconds() // 3600)
    return f"{hours // 24}d{hours % 24}h" if hours >= 24 else f"{hours}h"


@app.command("backup")
def backup_command(target: Path) -> None:
    """Copy every store, consistently, into TARGET (safe while the bot runs)."""
    settings = _settings()
    sources = [path for path in (settings.directory_path, *sorted(settings.networks_dir.glob("*.db"))) if path.exists()]
    if not sources:
        typer.echo(f"buurtbot: no stores in {settings.data_dir} to back up", err=True)
        raise typer.Exit(1)
    for source in sources:
        copy_store(source, target / source.relative_to(settings.data_dir))
    typer.echo(f"backed up {len(sources)} stores to {target}")


@app.command("restore")
def restore_command(
    source: Path,
    force: Annotated[
        bool, typer.Option("--force", help="Replace the stores in DATA_DIR; they are first moved aside, not deleted")
    ] = False,
) -> None:
    """Bring every store of a backup in SOURCE back into DATA_DIR (stop the bot first)."""
    settings = _settings()
    lock = DataLock(settings.data_dir)
    try:
        if lock.path.exists():  # a bot that runs, or ran, on DATA_DIR made it; none made it: none runs
            lock.acquire()  # the running bot holds it: its stores must not be replaced under it
    except CannotStart as error:
        typer.echo(f"buurtbot: {error}; restore runs only while no bot does. Nothing was changed", err=True)
        raise typer.Exit(1) from error
    try:
        _restore(settings, source, force=force)
    finally:
        lock.release()


def _restore(settings: Settings, source: Path, *, force: bool) -> None:
    if source.resolve() == settings.data_dir.resolve():
        typer.echo(f"buurtbot: {source} is DATA_DIR itself; restore from the folder a backup was made into", err=True)
        raise typer.Exit(1)
    stores = stores_in(source)
    if not (source / "directory.db").is_file():
        typer.echo(f"buurtbot: {source} has no directory.db, so it is not a backup made by buurtbot backup", err=True)
        raise typer.Exit(1)
    for store in stores:
        problem = unreadable(store)
        if problem:
            typer.echo(f"buurtbot: {store} cannot be restored: {problem}; nothing was changed", err=True)
            raise typer.Exit(1)
    present = stores_in(settings.data_dir)
    if present:
        if not force:
            typer.echo(
                f"buurtbot: {settings.data_dir} already has stores ({present[0].name}); nothing was changed. "
                "To replace them, stop the bot and run restore again with --force",
                err=True,
            )
            raise typer.Exit(1)
        aside = _move_aside(settings.data_dir, present)
        typer.echo(f"moved the stores that were in {settings.data_dir} to {aside}")
    for store in stores:
        restore_store(store, settings.data_dir / store.relative_to(source))
    typer.echo(f"restored {len(stores)} stores from {source} into {settings.data_dir}")


def _move_aside(data_dir: Path, stores: list[Path]) -> Path:
    """Moves STORES (with their -wal and -shm files) into a new dated folder in DATA_DIR."""
    stamp = f"before-restore-{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
    aside, attempt = data_dir / stamp, 1
    while aside.exists():  # a second restore within the same second
        attempt += 1
        aside = data_dir / f"{stamp}-{attempt}"
    for database in stores:
        for path in (database, database.with_name(database.name + "-wal"), database.with_name(database.name + "-shm")):
            if path.exists():
                target = aside / path.relative_to(data_dir)
                target.parent.mkdir(parents=True, exist_ok=True)
                path.rename(target)
    return aside


def _refusals_to_exit(call: Callable[[], T]) -> T:
    """Runs a command; a refusal (unknown network, duplicate name...) is printed, exit status 1."""
    try:
        return call()
    except Refusal as refusal:
        language = load_settings().default_language
        text = Renderer().render(language, f"refusal/{refusal.reason.value}", **refusal.values)
        typer.echo(f"buurtbot: {html_to_plain(text)}", err=True)
        raise typer.Exit(1) from refusal


def main() -> None:
    app()
