"""The lock on DATA_DIR that makes the running bot the village's one sender.

Only one process may send a village's outbox and run its scheduler: a second one would reset
the first one's messages under way and send them again. The running bot (and the console door)
holds an exclusive `flock` on `DATA_DIR/buurtbot.lock` for as long as it runs; the operating
system lets go of it when the process ends, however it ends (SIGKILL included), so a crash never
leaves a stale lock behind. CLI commands do not take it: they only queue, the running bot sends.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

from bot.application.settings import CannotStart

LOCK_NAME = "buurtbot.lock"


class DataLock:
    """Held from `acquire` until `release` (or the end of the process)."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / LOCK_NAME
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        """Takes the lock, or raises CannotStart when another Buurtbot holds it."""
        if self._file is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip()
            handle.close()
            which = f" (process {holder})" if holder.isdigit() else ""
            raise CannotStart(
                f"another Buurtbot{which} runs on {self.path.parent}; "
                "only one may send this village's messages (stop it first, or set another DATA_DIR)"
            ) from None
        except BaseException:
            handle.close()
            raise
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file is None:
            return
        try:
            self._file.seek(0)
            self._file.truncate()
            fcntl.flock(self._file, fcntl.LOCK_UN)
        finally:
            self._file.close()
            self._file = None

    @property
    def held(self) -> bool:
        return self._file is not None
