"""Button data: a short prefix and a few arguments, checked before anything acts on them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

MAX_DATA_BYTES = 64  # Telegram's limit on callback data
SEPARATOR = ":"


class Tap(StrEnum):
    """What a button does. The value is what travels in the callback data."""

    MENU = "menu"
    JOIN_START = "js"
    JOIN_PICK = "jp"  # args: street id
    JOIN_SUGGESTED = "jq"  # args: street id: a street we guessed, asked "Woont u in…?" first
    JOIN_RETRY = "jr"
    JOIN_CONTACT = "jc"
    APPROVE = "ma"  # args: membership id
    DECLINE = "md"  # args: membership id
    LEAVE_PICK = "lp"  # args: network id
    LEAVE_CONFIRM = "lc"  # args: network id
    LEAVE_KEEP = "lk"
    LANGUAGE = "lg"  # args: language code
    LANGUAGE_MENU = "lm"
    MY_NETWORKS = "mn"
    PRIVACY = "pv"
    HELP = "hp"
    CANCEL = "cx"
    PENDING = "pj"
    INVITE = "iv"
    INVITE_FOR = "ai"  # args: network id
    NETWORKS = "nl"
    NETWORK_NEW = "nn"
    NETWORK_SAVE = "ns"
    NETWORK_SHOW = "nw"  # args: network id
    APPOINT_PICK = "vp"  # args: network id, person id
    ASK = "ha"
    ASK_NETWORK = "hn"  # args: network id
    ASK_SELF = "hs"
    ASK_BEHALF = "hb"
    ASK_CONSENT = "hk"
    ASK_CATEGORY = "hc"  # args: category
    ASK_WHEN = "hw"  # args: today | tomorrow | week
    ASK_WHEN_OK = "hy"
    ASK_NAME_SHOWN = "hv"  # args: network | helper
    ASK_POST = "hq"
    OFFER = "oa"
    OFFER_TOGGLE = "ot"  # args: category
    OFFER_NOTIFY = "on"
    OFFER_SAVE = "os"
    REQUESTS = "rq"  # args: page
    CLAIM = "rc"  # args: network id, request id
    RELAY = "rr"  # args: network id, request id
    DONE = "rd"  # args: network id, request id
    WITHDRAW = "rx"  # args: network id, request id
    RELEASE = "rl"  # args: network id, request id
    NOT_YET = "rn"  # args: network id, request id
    FOLLOW = "rf"  # args: network id, request id
    EVENTS = "ev"
    EVENT_NEW = "en"
    EVENT_NETWORK = "et"  # args: network id
    EVENT_WHEN_OK = "ew"
    EVENT_NO_DESCRIPTION = "ed"
    EVENT_NO_LIMIT = "el"
    EVENT_SAVE = "es"
    EVENT_ANSWER = "ea"  # args: network id, event id, y | m | n
    EVENT_WAIT = "eq"  # args: network id, event id
    EVENT_CALENDAR = "ec"  # args: network id, event id
    EVENT_MOVE = "em"  # args: network id, event id
    EVENT_MOVE_OK = "eo"
    EVENT_CANCEL = "ex"  # args: network id, event id
    EVENT_CANCEL_OK = "ek"  # args: network id, event id
    EVENT_APPROVE = "ep"  # args: network id, event id
    EVENT_DECLINE = "er"  # args: network id, event id
    EVENT_REMINDERS = "eh"  # args: on | off
    ANNOUNCE = "an"
    ANNOUNCE_NETWORK = "ak"  # args: network id
    ANNOUNCE_SEND = "as"
    MEMBERS = "ml"  # args: network id, page
    MEMBER = "mm"  # args: network id, person id
    MEMBER_REMOVE = "mr"  # args: network id, person id
    MEMBER_REMOVE_OK = "mo"  # args: network id, person id
    MEMBER_PROMOTE = "mp"  # args: network id, person id
    SETTINGS = "st"  # args: network id
    SETTING = "sv"  # args: network id, setting name, value
    EXPORT = "xp"  # args: network id
    INVITE_KIND = "ik"  # args: network id, one | street
    INVITE_REVOKE = "ir"  # args: invite code
    FORGET_ME = "fm"  # "Ja, vergeet mij": the confirmation
    FORGET_ME_ASK = "fa"  # the privacy screen's "Vergeet mij": asks first
    FORGET_ME_NOT = "fn"  # "Nee, niets veranderen"
    MY_DATA = "my"
    REMIND_REVIEWER = "rv"  # args: membership id
    MY_REQUESTS = "mq"
    DONE_CHECK = "dq"  # args: network id, request id: "Gelukt" on a request nobody took asks first
    FORWARD = "fw"  # args: network id, request id: text typed outside a flow, passed on after all
    # The offline route: a resident asks for a person (JOIN_CONTACT above), a buurtverbinder takes it up.
    CONTACT_REACH = "cr"  # args: morning | afternoon | evening | chat
    CONSENT = "cy"  # args: yes | no
    CONTACT_TAKE = "ct"  # args: contact request id
    CONTACT_DONE = "cd"  # args: contact request id
    CONTACT_WRITE = "cw"  # args: contact request id
    CONTACTS = "cl"


class BadButton(ValueError):
    """Button data we did not make, or made for another moment."""


@dataclass(frozen=True)
class Pressed:
    tap: Tap
    args: tuple[str, ...]

    def int_arg(self, index: int = 0) -> int:
        try:
            return int(self.args[index])
        except (IndexError, ValueError) as error:
            raise BadButton(f"{self.tap} needs a number at {index}") from error


def encode(tap: Tap, *args: object) -> str:
    data = SEPARATOR.join([tap.value, *(str(arg) for arg in args)])
    if len(data.encode()) > MAX_DATA_BYTES:
        raise ValueError(f"button data too long: {data!r}")
    return data


def decode(data: str) -> Pressed:
    if not data or len(data.encode()) > MAX_DATA_BYTES:
        raise BadButton("empty or oversized button data")
    head, *args = data.split(SEPARATOR)
    try:
        tap = Tap(head)
    except ValueError as error:
        raise BadButton(f"unknown button {head!r}") from error
    return Pressed(tap, tuple(args))
