"""The console session the README shows, typed into a real `buurtbot console` on a fresh data folder."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from bot.application.settings import Settings

README = Path(__file__).resolve().parents[1] / "README.md"
ANSWERED = " <- "  # a typed line, then what it does, with what the bot says "in quotes"
QUOTED = re.compile(r'"([^"]+)"')


def readme_example() -> list[tuple[str, list[str]]]:
    """The README's console example: each typed line with the bot's words quoted beside it."""
    blocks = re.findall(r"^```[a-z]*\n(.*?)^```$", README.read_text(), flags=re.MULTILINE | re.DOTALL)
    example = next(block for block in blocks if ANSWERED in block)
    lines = []
    for line in example.splitlines():
        typed, _, said = line.partition(ANSWERED)
        lines.append((typed.strip(), QUOTED.findall(said)))
    return lines


def buurtbot_console(workdir: Path, typed: str) -> subprocess.CompletedProcess[str]:
    """`printf TYPED | python -m bot console` in WORKDIR (no .env there), on WORKDIR/data, no token."""
    names = {name.upper() for name in Settings.model_fields}
    env = {key: value for key, value in os.environ.items() if key.upper() not in names}
    env["DATA_DIR"] = str(workdir / "data")
    return subprocess.run(
        [sys.executable, "-m", "bot", "console"],
        input=typed,
        capture_output=True,
        text=True,
        cwd=workdir,
        env=env,
        timeout=60,
        check=False,
    )


def test_the_readme_example_reads_the_example_block() -> None:
    example = readme_example()
    assert [typed for typed, _ in example] == ["/as Anna", "/start", "kerkstaat 12", "1", "/as Jan", "1"]
    assert ("kerkstaat 12", ["Woont u in de Kerkstraat?"]) in example


def test_the_readme_example_says_what_the_console_says_on_a_fresh_data_folder(tmp_path: Path) -> None:
    example = readme_example()
    result = buurtbot_console(tmp_path, "".join(f"{typed}\n" for typed, _ in example))
    assert result.returncode == 0, result.stderr
    transcript = result.stdout
    assert transcript.startswith(f"[no networks in {tmp_path / 'data'} yet: seeded the demo village: ")

    # Each answer the README quotes is there, in the order the README tells them.
    seen = 0
    for typed, said in example:
        for words in said:
            found = transcript.find(words, seen)
            assert found >= 0, f"after typing {typed!r} the README promises {words!r}:\n{transcript}"
            seen = found + len(words)
