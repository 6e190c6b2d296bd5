"""Settings: one object built from the environment (and `.env`), passed to whatever needs it."""

from __future__ import annotations

import os
import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

TELEGRAM_API = "https://api.telegram.org"
LANGUAGES = ("nl", "en")


class Runtime(StrEnum):
    AIOGRAM = "aiogram"
    PTB = "ptb"


class Settings(BaseSettings):
    """Everything Buurtbot can be told from outside; see `.env.example` for each one."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    bot_token: str = ""
    bot_runtime: Runtime = Runtime.AIOGRAM
    bot_api_base_url: str = TELEGRAM_API
    bot_username: str = ""
    bot_api_timeout: float = Field(default=15.0, gt=0, le=300)
    data_dir: Path = Path("data")
    community_manager_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    # How residents reach the platform when no buurtverbinder or community manager can be told.
    community_contact: str = ""
    default_language: str = "nl"
    timezone: str = "Europe/Amsterdam"
    webhook_url: str = ""
    webhook_secret: str = ""
    webhook_listen: str = "0.0.0.0:8080"
    broadcast_rate: float = Field(default=30.0, gt=0, le=1000)
    log_level: str = "INFO"
    max_concurrent_updates: int = Field(default=32, ge=1, le=1024)
    open_network_stores: int = Field(default=64, ge=1, le=100_000)
    whatsapp_token: str = ""
    whatsapp_phone_id: str = ""
    whatsapp_app_secret: str = ""
    whatsapp_verify_token: str = ""
    whatsapp_api_base_url: str = "https://graph.facebook.com"
    whatsapp_rate: float = Field(default=80.0, gt=0, le=1000)
    # The bot's WhatsApp number in international form, kept as digits only (as wa.me links want it).
    whatsapp_number: str = ""

    @field_validator("community_manager_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [part.strip() for part in value.replace(";", ",").split(",") if part.strip()]
            if not all(part.isdigit() for part in parts):
                raise ValueError("must be Telegram user ids (whole numbers), comma separated")
            return frozenset(int(part) for part in parts)
        return value

    @field_validator("default_language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        if value not in LANGUAGES:
            raise ValueError(f"must be one of {', '.join(LANGUAGES)}")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError("is not a known time zone such as Europe/Amsterdam") from error
        return value

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, value: str) -> str:
        left, colon, right = value.partition(":")
        if value and (not colon or not left.isdigit() or not right or any(c.isspace() for c in right)):
            raise ValueError("does not look like a token from @BotFather (digits:letters)")
        return value

    @field_validator("bot_api_base_url")
    @classmethod
    def _api_base_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be a URL such as https://api.telegram.org")
        return value

    @field_validator("whatsapp_number")
    @classmethod
    def _whatsapp_number(cls, value: str) -> str:
        digits = re.sub(r"[\s().-]", "", value).removeprefix("+")
        digits = digits[2:] if digits.startswith("00") else digits  # 0031 6…: the international prefix
        if value and (not digits.isdigit() or digits.startswith("0") or not 8 <= len(digits) <= 15):
            raise ValueError("must be the bot's WhatsApp number in international form, such as +31 6 12345678")
        return digits

    @field_validator("webhook_url")
    @classmethod
    def _webhook_url(cls, value: str) -> str:
        if value and (urlsplit(value).scheme != "https" or not urlsplit(value).hostname):
            raise ValueError(
                "must be an https:// URL (Telegram posts only to https), such as https://bot.example.org/hook"
            )
        return value

    @field_validator("webhook_listen")
    @classmethod
    def _webhook_listen(cls, value: str) -> str:
        _host_and_port(value)
        return value

    @field_validator("data_dir")
    @classmethod
    def _data_dir(cls, value: Path) -> Path:
        problem = _unusable_folder(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        if value.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return value.upper()

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def listen_address(self) -> tuple[str, int]:
        """WEBHOOK_LISTEN as a host and a port."""
        return _host_and_port(self.webhook_listen)

    @property
    def directory_path(self) -> Path:
        return self.data_dir / "directory.db"

    @property
    def networks_dir(self) -> Path:
        return self.data_dir / "networks"


def _host_and_port(listen: str) -> tuple[str, int]:
    host, colon, port = listen.strip().rpartition(":")
    if not colon or not port.isdigit():
        raise ValueError("must be host:port, such as 0.0.0.0:8080")
    if not 1 <= int(port) <= 65535:
        raise ValueError(f"port {port} is not between 1 and 65535")
    host = host.removeprefix("[").removesuffix("]")  # [::1]:8080
    if any(character.isspace() or character in "/[]" for character in host):
        raise ValueError(f"{host!r} is not a host name or address")
    return host or "0.0.0.0", int(port)


def _unusable_folder(folder: Path) -> str | None:
    """Why Buurtbot could not keep its stores in FOLDER (made at start-up if missing), or None."""
    if folder.exists():
        if not folder.is_dir():
            return f"{folder} is not a folder"
        if not os.access(folder, os.W_OK | os.X_OK):
            return f"{folder} is not writable"
        return None
    parent = folder.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        return f"{folder} cannot be made: {parent} is not a folder"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"{folder} cannot be made: {parent} is not writable"
    return None


class CannotStart(Exception):
    """Something outside the code stops Buurtbot from starting; the message says what, in one line."""


class SettingsError(CannotStart):
    """A setting has a bad value; the message names the variable."""


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment and `.env`, turning validation errors into one clear message."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        lines = []
        for problem in error.errors():
            variable = "_".join(str(part) for part in problem["loc"][:1]).upper()
            message = problem["msg"].removeprefix("Value error, ")
            lines.append(f"{variable}: {message}")
        raise SettingsError("; ".join(lines)) from error
