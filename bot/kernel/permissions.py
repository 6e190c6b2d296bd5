"""Who may do what: one table of role × action, checked before a handler runs."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum


class Role(StrEnum):
    STRANGER = "stranger"  # anyone who writes to the bot
    RESIDENT = "resident"  # an active member of at least one network
    BUURTVERBINDER = "buurtverbinder"
    COMMUNITY_MANAGER = "community_manager"


class Action(StrEnum):
    START = "start"
    JOIN = "join"
    LEAVE = "leave"
    HELP = "help"
    CANCEL = "cancel"
    LANGUAGE = "language"
    PRIVACY = "privacy"
    MENU = "menu"
    MY_NETWORKS = "my_networks"
    ASK_CONTACT = "ask_contact"
    REVIEW_JOINS = "review_joins"
    INVITE = "invite"
    MANAGE_NETWORKS = "manage_networks"
    APPOINT_VERBINDER = "appoint_verbinder"
    ASK_HELP = "ask_help"
    OFFER_HELP = "offer_help"
    VIEW_REQUESTS = "view_requests"
    RELAY = "relay"
    ASK_ON_BEHALF = "ask_on_behalf"
    FOLLOW_UP_HELP = "follow_up_help"
    NEW_EVENT = "new_event"  # residents only where the network lets them propose
    PUBLISH_EVENT = "publish_event"
    VIEW_EVENTS = "view_events"
    ANNOUNCE = "announce"
    ANNOUNCE_ALL = "announce_all"
    MANAGE_MEMBERS = "manage_members"
    CHANGE_SETTINGS = "change_settings"
    EXPORT = "export"
    STATS = "stats"
    LINK_GROUP = "link_group"
    FOLLOW_UP_CONTACTS = "follow_up_contacts"  # residents who asked for a person; per request, checked by bot.contacts


_EVERYONE = frozenset(Role)
_MEMBERS = frozenset({Role.RESIDENT, Role.BUURTVERBINDER, Role.COMMUNITY_MANAGER})
_CONNECTORS = frozenset({Role.BUURTVERBINDER, Role.COMMUNITY_MANAGER})
_MANAGERS = frozenset({Role.COMMUNITY_MANAGER})

PERMISSIONS: Mapping[Action, frozenset[Role]] = {
    Action.START: _EVERYONE,
    Action.JOIN: _EVERYONE,
    Action.HELP: _EVERYONE,
    Action.CANCEL: _EVERYONE,
    Action.LANGUAGE: _EVERYONE,
    Action.PRIVACY: _EVERYONE,
    Action.MENU: _EVERYONE,
    Action.ASK_CONTACT: _EVERYONE,
    Action.MY_NETWORKS: _EVERYONE,
    Action.LEAVE: _MEMBERS,
    Action.REVIEW_JOINS: _CONNECTORS,
    Action.INVITE: _CONNECTORS,
    Action.MANAGE_NETWORKS: _MANAGERS,
    Action.APPOINT_VERBINDER: _CONNECTORS,  # within their own network; checked per network
    Action.ASK_HELP: _MEMBERS,
    Action.OFFER_HELP: _MEMBERS,
    Action.VIEW_REQUESTS: _MEMBERS,
    Action.RELAY: _MEMBERS,
    Action.ASK_ON_BEHALF: _CONNECTORS,
    Action.FOLLOW_UP_HELP: _CONNECTORS,
    Action.NEW_EVENT: _MEMBERS,
    Action.PUBLISH_EVENT: _CONNECTORS,
    Action.VIEW_EVENTS: _MEMBERS,
    Action.ANNOUNCE: _CONNECTORS,
    Action.ANNOUNCE_ALL: _MANAGERS,
    Action.MANAGE_MEMBERS: _CONNECTORS,
    Action.CHANGE_SETTINGS: _CONNECTORS,
    Action.EXPORT: _CONNECTORS,
    Action.STATS: _CONNECTORS,
    Action.LINK_GROUP: _CONNECTORS,
    Action.FOLLOW_UP_CONTACTS: _CONNECTORS,
}


def may(roles: frozenset[Role], action: Action) -> bool:
    return bool(PERMISSIONS[action] & roles)
