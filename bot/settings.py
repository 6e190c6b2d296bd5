"""Settings: one object built from the environment (and `.env`), passed to whatever needs it."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated
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
    database_url: str = ""
    community_manager_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    default_language: str = "nl"
    timezone: str = "Europe/Amsterdam"
    webhook_url: str = ""
    webhook_secret: str = ""
    webhook_listen: str = "0.0.0.0:8080"
    broadcast_rate: float = Field(default=30.0, gt=0, le=1000)
    log_level: str = "INFO"
    max_concurrent_updates: int = Field(default=32, ge=1, le=1024)
    open_network_stores: int = Field(default=64, ge=1, le=100_000)

    @field_validator("community_manager_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(int(part) for part in value.replace(";", ",").split(",") if part.strip())
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
        if value and (":" not in value or value.startswith("your")):
            raise ValueError("does not look like a token from @BotFather (digits:letters)")
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
    def directory_path(self) -> Path:
        return self.data_dir / "directory.db"

    @property
    def networks_dir(self) -> Path:
        return self.data_dir / "networks"


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
            lines.append(f"{variable}: {problem['msg']}")
        raise SettingsError("; ".join(lines)) from error
