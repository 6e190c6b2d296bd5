"""Keyboards more than one area shows: the main menu and a lone cancel button."""

from __future__ import annotations

from bot.delivery.post import Labels
from bot.joining import Standing
from bot.kernel.buttons import Tap, encode
from bot.kernel.permissions import Action
from bot.kernel.replies import Button, Keyboard, keyboard


def main_menu(label: Labels, standing: Standing) -> Keyboard:
    """Large plain buttons, one per row; what a person sees depends on what they may do."""
    rows: list[Button] = []
    if standing.active:
        rows.append(Button(label("menu_ask"), encode(Tap.ASK)))
        rows.append(Button(label("menu_offer"), encode(Tap.OFFER)))
        rows.append(Button(label("menu_requests"), encode(Tap.REQUESTS)))
        rows.append(Button(label("menu_my_requests"), encode(Tap.MY_REQUESTS)))
        rows.append(Button(label("menu_agenda"), encode(Tap.EVENTS)))
        if standing.verbinder_of():  # residents find it in the agenda, where their network lets them propose
            rows.append(Button(label("menu_new_event"), encode(Tap.EVENT_NEW)))
        rows.append(Button(label("menu_my_networks"), encode(Tap.MY_NETWORKS)))
    else:
        rows.append(Button(label("menu_join"), encode(Tap.JOIN_START)))
        rows.append(Button(label("prefer_a_call"), encode(Tap.JOIN_CONTACT)))  # the offline route
    if standing.may(Action.REVIEW_JOINS):
        rows.append(Button(label("menu_pending"), encode(Tap.PENDING)))
        rows.append(Button(label("menu_invite"), encode(Tap.INVITE)))
        rows.append(Button(label("menu_announce"), encode(Tap.ANNOUNCE)))
        rows.append(Button(label("menu_members"), encode(Tap.MEMBERS)))
        rows.append(Button(label("menu_settings"), encode(Tap.SETTINGS)))
    if standing.may(Action.FOLLOW_UP_CONTACTS):
        rows.append(Button(label("menu_contacts"), encode(Tap.CONTACTS)))
    if standing.may(Action.MANAGE_NETWORKS):
        rows.append(Button(label("menu_networks"), encode(Tap.NETWORKS)))
    rows.append(Button(label("menu_language"), encode(Tap.LANGUAGE_MENU)))
    rows.append(Button(label("menu_privacy"), encode(Tap.PRIVACY)))
    rows.append(Button(label("menu_help"), encode(Tap.HELP)))
    return keyboard(*rows)


def review_buttons(label: Labels, membership_id: int | None) -> Keyboard:
    """What a buurtverbinder decides a join with."""
    return keyboard(
        [
            Button(label("approve"), encode(Tap.APPROVE, membership_id)),
            Button(label("decline"), encode(Tap.DECLINE, membership_id)),
        ]
    )


def cancel_only(label: Labels) -> Keyboard:
    return keyboard(Button(label("cancel"), encode(Tap.CANCEL)))
