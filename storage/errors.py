"""What can be wrong with a store that stops Buurtbot from using it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

RESTORE = (
    "Nothing was replaced: stop the bot and bring the stores back with `buurtbot restore DIR --force` "
    "(it moves the present ones aside) from a backup made with `buurtbot backup DIR`"
)


class StoreProblem(Exception):
    """A store is missing, empty, damaged, read-only, on a full disk or of an unknown schema.

    Its message names the file and says how to put it right (`buurtbot restore`, say); it is
    printed as one line, never as a traceback, and nothing replaces the store by an empty one.
    """

    def __init__(self, path: Path, problem: str, remedy: str) -> None:
        super().__init__(f"{path}: {problem}. {remedy}")
        self.path = path
        self.problem = problem
        self.remedy = remedy


class StoreBusy(StoreProblem):
    """Another process held a store's write lock for longer than Buurtbot waits for it."""

    def __init__(self, path: Path, waited_s: float) -> None:
        super().__init__(
            path,
            f"busy: another process held its write lock for more than {waited_s:g} s",
            "Finish or stop that process (a backup, a buurtbot command, an sqlite3 shell), then try again",
        )


# What SQLite says (sqlite3's messages) → what is wrong with the file, and what to do about it.
_PROBLEMS: tuple[tuple[str, str, str], ...] = (
    ("file is not a database", "not a database (SQLite cannot read it)", RESTORE),
    ("database disk image is malformed", "damaged (database disk image is malformed)", RESTORE),
    (
        "attempt to write a readonly database",
        "read-only: SQLite may not write to it",
        "Give the user Buurtbot runs as write access to the file and its folder, then start again",
    ),
    (
        "database or disk is full",
        "the disk is full: SQLite could not write to it",
        "Free space on the disk, then start again; nothing kept before was lost",
    ),
    (
        "unable to open database file",
        "cannot be opened (missing, or its folder not readable)",
        "Check the file and its folder are there and readable; " + RESTORE,
    ),
    ("disk i/o error", "cannot be read or written (disk I/O error)", "Check the disk; " + RESTORE),
)


def problem_of(error: BaseException) -> tuple[str, str] | None:
    """(problem, remedy) when ERROR (sqlite3's, or SQLAlchemy's wrapping one) says the store file
    itself is at fault, None for any other error."""
    cause = getattr(error, "orig", None) or error
    if not isinstance(cause, sqlite3.Error):
        return None
    message = str(cause).casefold()
    for said, problem, remedy in _PROBLEMS:
        if said in message:
            return problem, remedy
    return None


def is_busy(error: BaseException) -> bool:
    """Whether ERROR is SQLite saying another connection holds the lock (SQLITE_BUSY)."""
    if not isinstance(error, sqlite3.OperationalError):
        return False
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None:
        return bool(code & 0xFF == sqlite3.SQLITE_BUSY)
    return "database is locked" in str(error)
