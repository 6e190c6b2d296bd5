"""The console door driven by a script on standard input, as a newcomer or a test talks to the bot."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

from bot.application.app import run_console_door
from bot.application.settings import Settings
from tests.conftest import make_settings

JOIN_SCRIPT = "/as Anna\n/start\nkerkstaat\n1\n/as Jan\n1\n"


def python_m_bot_run(workdir: Path, script: str) -> subprocess.CompletedProcess[str]:
    """`printf SCRIPT | python -m bot run` in WORKDIR (no .env there), on WORKDIR/data, no token."""
    names = {name.upper() for name in Settings.model_fields}
    env = {key: value for key, value in os.environ.items() if key.upper() not in names}
    env["DATA_DIR"] = str(workdir / "data")
    return subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        input=script,
        capture_output=True,
        text=True,
        cwd=workdir,
        env=env,
        timeout=60,
        check=False,
    )


async def console(settings: Settings, script: str) -> str:
    """Feeds SCRIPT to the console door in this process (seeding the demo village if empty)."""
    output = io.StringIO()
    status = await run_console_door(settings, source=io.StringIO(script), output=output, seed_if_empty=True)
    assert status == 0
    return output.getvalue()


def after(transcript: str, marker: str) -> str:
    """What the console printed after MARKER (its first occurrence)."""
    assert marker in transcript, transcript
    return transcript.split(marker, 1)[1]


def test_anna_joins_and_jan_approves_through_python_m_bot_run(tmp_path: Path) -> None:
    result = python_m_bot_run(tmp_path, JOIN_SCRIPT)
    assert result.returncode == 0, result.stderr
    out = result.stdout

    assert out.startswith("[no networks in ")
    assert "seeded the demo village: Breugel-Noord, Son-Centrum, 't Zand" in out

    anna = after(out, "[you are Anna]\n")
    assert anna.startswith("Welkom, Anna! Ik ben Buurtbot")
    assert (
        "Woont u in de Kerkstraat? Die hoort bij buurtnetwerk Breugel-Noord.\n"
        "[1] Ja, dat is mijn straat\n"
        "[2] Nee, een andere straat\n"
    ) in anna
    assert "doorgestuurd naar de buurtverbinder" in anna.split("[you are Jan]")[0]

    request = after(anna, "[to Jan]\n")
    assert request.startswith("Nieuwe aanmelding voor Breugel-Noord\nAnna wil lid worden")
    assert "[1] ✅ Toelaten\n[2] ❌ Afwijzen\n" in request

    jan = after(out, "[you are Jan]\n")
    assert "✅ U heeft Anna toegelaten tot Breugel-Noord." in jan
    told = after(jan, "[to Anna]\n")
    assert told.startswith("Goed nieuws: Jan heeft u toegelaten tot buurtnetwerk Breugel-Noord.")
    assert "[1] 🙋 Hulp vragen\n" in told and "[5] 🏠 Mijn buurtnetwerk\n" in told


async def test_anna_is_still_a_member_in_the_next_console_run(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data")
    await console(settings, JOIN_SCRIPT)

    again = await console(settings, "/as Anna\n/start\n5\n")
    assert "[no networks" not in again  # the village is not seeded twice
    anna = after(again, "[you are Anna]\n")
    assert anna.startswith("Welkom terug, Anna!")
    assert "[5] 🏠 Mijn buurtnetwerk" in anna
    assert "• Breugel-Noord (Kerkstraat): lid" in after(anna, "Uw buurtnetwerken\n")


async def test_tap_n_works_like_typing_n(tmp_path: Path) -> None:
    typed = await console(make_settings(tmp_path / "a"), "/as Anna\n/start\nkerkstaat\n1\n")
    tapped = await console(make_settings(tmp_path / "b"), "/as Anna\n/start\nkerkstaat\n/tap 1\n")
    assert "doorgestuurd naar de buurtverbinder" in tapped
    assert tapped.replace(str(tmp_path / "b"), "DATA") == typed.replace(str(tmp_path / "a"), "DATA")


async def test_a_number_with_no_such_button_prints_a_notice_and_changes_nothing(
    tmp_path: Path,
) -> None:
    out = await console(make_settings(tmp_path / "data"), "/as Anna\n/start\n7\n/tap 2\nkerkstaat\n")
    assert "[1] Stoppen\n" in out  # the welcome has one button: 7 and 2 are not there
    # nothing between the notices and the next reply, and Anna is still asked for her street
    assert "[no button 7]\n[no button 2]\nWoont u in de Kerkstraat?" in out
    assert "Gestopt" not in out


async def test_a_number_only_presses_the_last_reply_with_buttons(tmp_path: Path) -> None:
    script = JOIN_SCRIPT + "/as Anna\n5\n4\n"  # her menu has 8 buttons, "Mijn buurtnetwerk" 3
    out = await console(make_settings(tmp_path / "data"), script)
    mine = after(out, "Uw buurtnetwerken\n")
    assert "[3] Terug naar het menu\n" in mine
    assert "[no button 4]" in mine
    assert "Wat kunt u hier doen?" not in mine


async def test_emma_gets_english_with_as_emma_en(tmp_path: Path) -> None:
    out = await console(make_settings(tmp_path / "data"), "/as Emma en\n/start\n")
    emma = after(out, "[you are Emma]\n")
    assert emma.startswith("Welcome, Emma!")
    assert "Which street do you live in?" in emma
    assert "[1] Stop\n" in emma
    assert "Welkom" not in emma
