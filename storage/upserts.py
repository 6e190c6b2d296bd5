"""Upserts made once per SQL dialect: on the hot paths building a statement costs more than running it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from storage.engine import dialect_name

_MADE: dict[tuple[str, Callable[[AsyncConnection], Any]], Any] = {}


def made_once(connection: AsyncConnection, make: Callable[[AsyncConnection], Any]) -> Any:
    """The statement MAKE builds, in the connection's SQL dialect (an upsert is spelled per
    dialect), built the first time it is asked for and reused after."""
    key = (dialect_name(connection), make)
    if key not in _MADE:
        _MADE[key] = make(connection)
    return _MADE[key]
