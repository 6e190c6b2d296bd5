"""What can be wrong with a store that stops Buurtbot from using it."""

from __future__ import annotations

from pathlib import Path


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
