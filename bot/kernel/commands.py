"""Every chat command: its English name, its Dutch alias, and the action it stands for."""

from __future__ import annotations

from dataclasses import dataclass

from bot.kernel.permissions import Action


@dataclass(frozen=True)
class Command:
    name: str  # stable English name, used in docs and tests
    alias: str | None  # what a Dutch resident types
    action: Action
    in_menu: bool = True  # shown in Telegram's command menu

    def names(self) -> tuple[str, ...]:
        return (self.name,) if self.alias is None else (self.name, self.alias)


START = Command("start", None, Action.START)
JOIN = Command("join", "aanmelden", Action.JOIN)
LEAVE = Command("leave", "afmelden", Action.LEAVE)
HELP = Command("help", "hulp", Action.HELP)
CANCEL = Command("cancel", "stop", Action.CANCEL)
LANGUAGE = Command("language", "taal", Action.LANGUAGE)
PRIVACY = Command("privacy", None, Action.PRIVACY)
MY_DATA = Command("mydata", "mijngegevens", Action.PRIVACY)
FORGET_ME = Command("forgetme", "vergeetmij", Action.PRIVACY)
MENU = Command("menu", None, Action.MENU)
PENDING = Command("pending", "aanmeldingen", Action.REVIEW_JOINS, in_menu=False)
INVITE = Command("invite", "uitnodigen", Action.INVITE, in_menu=False)
NETWORKS = Command("networks", "netwerken", Action.MANAGE_NETWORKS, in_menu=False)
MEMBERS = Command("members", "leden", Action.MANAGE_MEMBERS, in_menu=False)
SETTINGS = Command("settings", "instellingen", Action.CHANGE_SETTINGS, in_menu=False)
EXPORT = Command("export", "exporteren", Action.EXPORT, in_menu=False)
STATS = Command("stats", "statistiek", Action.STATS, in_menu=False)
LINK = Command("link", "koppel", Action.LINK_GROUP, in_menu=False)
UNLINK = Command("unlink", "ontkoppel", Action.LINK_GROUP, in_menu=False)
ANNOUNCE = Command("announce", "bericht", Action.ANNOUNCE, in_menu=False)
ANNOUNCE_ALL = Command("announceall", "berichtiedereen", Action.ANNOUNCE_ALL, in_menu=False)
ASK = Command("ask", "vraag", Action.ASK_HELP)
OFFER = Command("offer", "aanbod", Action.OFFER_HELP)
REQUESTS = Command("requests", "verzoeken", Action.VIEW_REQUESTS)
MY_REQUESTS = Command("myrequests", "mijnvragen", Action.ASK_HELP)
EVENTS = Command("events", "agenda", Action.VIEW_EVENTS)
NEW_EVENT = Command("newevent", "activiteit", Action.NEW_EVENT)
CONTACTS = Command("contacts", "contacten", Action.FOLLOW_UP_CONTACTS, in_menu=False)

ALL: tuple[Command, ...] = (
    START,
    MENU,
    ASK,
    OFFER,
    REQUESTS,
    MY_REQUESTS,
    EVENTS,
    NEW_EVENT,
    JOIN,
    LEAVE,
    HELP,
    CANCEL,
    LANGUAGE,
    PRIVACY,
    MY_DATA,
    FORGET_ME,
    PENDING,
    INVITE,
    NETWORKS,
    ANNOUNCE,
    ANNOUNCE_ALL,
    MEMBERS,
    SETTINGS,
    EXPORT,
    STATS,
    LINK,
    UNLINK,
    CONTACTS,
)


def by_typed_name(name: str) -> Command | None:
    for command in ALL:
        if name in command.names():
            return command
    return None


def shown_name(command: Command, language: str) -> str:
    """The name a person of this language is shown: the Dutch alias for Dutch speakers."""
    return command.alias if language == "nl" and command.alias else command.name
