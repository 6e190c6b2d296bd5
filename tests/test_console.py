"""The console door driven by a script on standard input, as a newcomer or a test talks to the bot."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from bot.application.app import open_console
from bot.application.build import build_bot
from bot.application.demo import seed_demo
from bot.application.settings import Settings
from bot.kernel.replies import Reply
from bot.transports.console import run_console
from bot.transports.memory import simulated_user_id
from tests.conftest import make_settings

JOIN_SCRIPT = "/as Anna\n/start\nkerkstaat\n1\n/as Jan\n1\n"
ANNOUNCE_SCRIPT = "/as Jan\n/bericht\nStraatfeest zaterdag om drie uur\n1\n"
ANNOUNCEMENT_FOR_ANNA = "[to Anna]\n📣 Bericht van Breugel-Noord\n\nStraatfeest zaterdag om drie uur\n"
EVENT_SCRIPT = "/as Jan\n/activiteit\nSnertavond\nzaterdag 18:00\n1\nBuurthuis\nWarme snert\n20\n1\n"
INVITATION_FOR_ANNA = "[to Anna]\nUitnodiging\n📅 Snertavond · Breugel-Noord\n"
HINT = "Typ /as NAAM om iemand te zijn, bijvoorbeeld /as Anna. Typ dan /start.\n"


def python_m_bot(workdir: Path, command: str, script: str) -> subprocess.CompletedProcess[str]:
    """`printf SCRIPT | python -m bot COMMAND` in WORKDIR (no .env there), on WORKDIR/data, no token."""
    names = {name.upper() for name in Settings.model_fields}
    env = {key: value for key, value in os.environ.items() if key.upper() not in names}
    env["DATA_DIR"] = str(workdir / "data")
    return subprocess.run(
        [sys.executable, "-m", "bot", command],
        input=script,
        capture_output=True,
        text=True,
        cwd=workdir,
        env=env,
        timeout=60,
        check=False,
    )


async def console(settings: Settings, script: str) -> str:
    """Feeds SCRIPT, all at once, to the console command in this process."""
    output = io.StringIO()
    status = await open_console(settings, source=io.StringIO(script), output=output)
    assert status == 0
    return output.getvalue()


def after(transcript: str, marker: str) -> str:
    """What the console printed after MARKER (its first occurrence)."""
    assert marker in transcript, transcript
    return transcript.split(marker, 1)[1]


class Terminal:
    """Someone at the console who types a line only after seeing what they wait for."""

    def __init__(self, *, tty: bool) -> None:
        reading, self._writing = os.pipe()
        self.source = _TerminalInput(os.fdopen(reading, encoding="utf-8"), tty=tty)
        self.screen = _Screen()

    def types(self, lines: str) -> None:
        os.write(self._writing, lines.encode())

    def ends(self) -> None:
        os.close(self._writing)

    async def sees(self, text: str) -> str:
        """Waits until TEXT is on the screen (without typing anything meanwhile); the screen so far."""
        async with asyncio.timeout(30):  # a safety net: what is waited for prints well within a second
            while text not in self.screen.getvalue():
                await self.screen.changed.wait()
                self.screen.changed.clear()
        return self.screen.getvalue()


class _Screen(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.changed = asyncio.Event()

    def write(self, text: str) -> int:
        self.changed.set()
        return super().write(text)


class _TerminalInput(io.TextIOWrapper):
    def __init__(self, pipe: io.TextIOWrapper, *, tty: bool) -> None:
        super().__init__(pipe.detach(), encoding="utf-8", line_buffering=True)
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


@asynccontextmanager
async def terminal(settings: Settings, *, tty: bool = False) -> AsyncIterator[Terminal]:
    """A console running on SETTINGS while the test types into it; ends at the end of its input."""
    at = Terminal(tty=tty)
    running = asyncio.create_task(open_console(settings, source=at.source, output=at.screen))
    try:
        yield at
    finally:
        at.ends()
        assert await running == 0
        at.source.close()


# --- the first run, and the next ------------------------------------------------------------------


def test_console_on_an_empty_data_folder_seeds_the_demo_village_says_so_and_gives_a_hint(tmp_path: Path) -> None:
    first = python_m_bot(tmp_path, "console", "")
    assert first.returncode == 0, first.stderr
    seeded, hint = first.stdout.split("\n", 1)
    assert seeded == (
        f"[no networks in {tmp_path / 'data'} yet: seeded the demo village: Breugel-Noord, Son-Centrum, 't Zand;"
        " buurtverbinders: /as Jan, /as Marieke, /as Henk]"
    )
    assert hint.startswith(HINT)

    again = python_m_bot(tmp_path, "console", "")
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith(HINT)  # seeded once: the village is there now


def test_the_hint_is_in_the_villages_language(tmp_path: Path) -> None:
    out = asyncio.run(console(make_settings(tmp_path / "data", default_language="en"), ""))
    assert "Type /as NAME to be someone, for example /as Anna. Then type /start.\n" in out


def test_anna_joins_and_jan_approves_through_python_m_bot_run(tmp_path: Path) -> None:
    result = python_m_bot(tmp_path, "run", JOIN_SCRIPT)
    assert result.returncode == 0, result.stderr
    out = result.stdout

    assert "seeded the demo village: Breugel-Noord, Son-Centrum, 't Zand" in out
    assert HINT in out.split("[you are Anna]")[0]

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
    assert "[1] 🙋 Hulp vragen\n" in told and "[6] 🏠 Mijn buurtnetwerk\n" in told


async def test_anna_is_still_a_member_in_the_next_console_run(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data")
    await console(settings, JOIN_SCRIPT)

    again = await console(settings, "/as Anna\n/start\n6\n")
    assert "[no networks" not in again  # the village is not seeded twice
    anna = after(again, "[you are Anna]\n")
    assert anna.startswith("Welkom terug, Anna!")
    assert "[6] 🏠 Mijn buurtnetwerk" in anna
    assert "• Breugel-Noord (Kerkstraat): lid" in after(anna, "Uw buurtnetwerken\n")


# --- numbers: a button of the last message shown, else text --------------------------------------


async def test_tap_n_works_like_typing_n(tmp_path: Path) -> None:
    typed = await console(make_settings(tmp_path / "a"), "/as Anna\n/start\nkerkstaat\n1\n")
    tapped = await console(make_settings(tmp_path / "b"), "/as Anna\n/start\nkerkstaat\n/tap 1\n")
    assert "doorgestuurd naar de buurtverbinder" in tapped
    assert tapped.replace(str(tmp_path / "b"), "DATA") == typed.replace(str(tmp_path / "a"), "DATA")


async def test_a_number_that_is_no_button_is_what_anna_typed_and_tap_of_it_changes_nothing(tmp_path: Path) -> None:
    out = await console(make_settings(tmp_path / "data"), "/as Anna\n/start\n/tap 2\n7\n")
    welcome = after(out, "[you are Anna]\n")
    assert "[1] Stoppen\n" in welcome  # the welcome has one button: there is no 2 and no 7
    assert "[1] Stoppen\n\n[no button 2]\nIk kan „7” niet vinden." in welcome  # 7 is looked up as a street
    assert "Gestopt" not in out


async def test_a_number_presses_only_the_last_message_shown(tmp_path: Path) -> None:
    # Her menu has 9 buttons, "Mijn buurtnetwerk" 3: then 4 is text, not the menu's 📝 Mijn vragen.
    out = await console(make_settings(tmp_path / "data"), JOIN_SCRIPT + "/as Anna\n6\n4\n")
    mine = after(out, "Uw buurtnetwerken\n• Breugel-Noord (Kerkstraat): lid\n")
    shown, four = mine.split("[3] Terug naar het menu\n\n")
    assert "[4]" not in shown
    assert four.startswith("Dat begrijp ik niet helemaal.")
    assert "activiteiten" not in four


async def test_jan_types_20_places_for_his_snertavond(tmp_path: Path) -> None:
    out = await console(make_settings(tmp_path / "data"), JOIN_SCRIPT + EVENT_SCRIPT)
    asked = after(out, "Kunnen er maar een beperkt aantal mensen komen?")
    assert "[1] Geen maximum\n[2] Stoppen\n" in asked
    preview = after(asked, "Zo ziet de activiteit eruit:\n")
    assert "20 plaatsen\n" in preview.split("Publiceren?")[0]
    assert "Gestopt" not in asked


# --- messages print as they are sent ------------------------------------------------------------


async def test_anna_sees_jans_announcement_before_the_next_line_is_typed(tmp_path: Path) -> None:
    # The announcement goes through the outbox, sent in the background after Jan's tap has been
    # answered: it must show while the console waits for a line, not after the next one.
    async with terminal(make_settings(tmp_path / "data")) as at:
        at.types(JOIN_SCRIPT + ANNOUNCE_SCRIPT)
        screen = await at.sees("✅ 1 verstuurd\n")  # Jan's report on it, after Anna has it
        assert ANNOUNCEMENT_FOR_ANNA in screen
        at.types("/as Anna\n")
        await at.sees("[you are Anna]")
    assert at.screen.getvalue().count("Straatfeest zaterdag om drie uur") == 2  # Jan's preview, Anna's message


async def test_annas_rsvp_edits_the_invitation_she_was_shown(tmp_path: Path) -> None:
    async with terminal(make_settings(tmp_path / "data")) as at:
        at.types(JOIN_SCRIPT + EVENT_SCRIPT)
        await at.sees(INVITATION_FOR_ANNA)
        at.types("/as Anna\n1\n")
        await at.sees("[notice] Fijn, u komt!")
    anna = after(at.screen.getvalue(), INVITATION_FOR_ANNA)
    shown, edited = anna.split('[you are Anna]\n[edited: "Uitnodiging"]\n📅 Snertavond · Breugel-Noord\n')
    assert "👍 0 komen · 20 plaatsen\n\nKomt u? Tik op een knop.\n[1] Ik kom\n" in shown  # the original
    assert edited.startswith("🕑 zaterdag")
    assert "👍 1 komen · 20 plaatsen\n\n✅ U komt.\n[1] ✅ Ik kom\n" in edited  # then the edit, once
    assert anna.count("✅ U komt.") == 1


async def test_a_message_over_the_waiting_prompt_starts_below_it_and_the_prompt_comes_back(
    tmp_path: Path,
) -> None:
    bot = build_bot(make_settings(tmp_path / "data"), door="console")
    await bot.start()
    await seed_demo(bot.village)
    at = Terminal(tty=True)
    running = asyncio.create_task(run_console(bot, at.source, at.screen))
    try:
        at.types("/as Anna\n")
        await at.sees("[you are Anna]\nAnna> ")
        # What the outbox and the scheduler do while Anna has not typed her next line yet:
        await bot.village.messenger.send(simulated_user_id("Jan"), Reply("Herinnering: <b>snertavond</b>"))
        await bot.village.messenger.send(simulated_user_id("Anna"), Reply("Goedemorgen Anna"))
        screen = await at.sees("Goedemorgen Anna")
        assert screen.endswith(
            "[you are Anna]\nAnna> \n[to Jan]\nHerinnering: snertavond\n\nAnna> \nGoedemorgen Anna\n\nAnna> "
        )
        at.types("/as Jan\n")
        await at.sees("[you are Jan]\nJan> ")
    finally:
        at.ends()
        assert await running == 0
        at.source.close()
        await bot.stop()


async def test_emma_gets_english_with_as_emma_en(tmp_path: Path) -> None:
    out = await console(make_settings(tmp_path / "data"), "/as Emma en\n/start\n")
    emma = after(out, "[you are Emma]\n")
    assert emma.startswith("Welcome, Emma!")
    assert "Which street do you live in?" in emma
    assert "[1] Stop\n" in emma
    assert "Welkom" not in emma


# --- someone on WhatsApp: WhatsApp's rendering, offline ---------------------------------------------

WHATSAPP_JOIN = "/as Anna whatsapp\nHallo\nkerkstaat\n1\n/as Jan\n1\n"


async def test_anna_on_whatsapp_says_hallo_sees_whatsapps_buttons_and_list_and_chooses_by_number(
    tmp_path: Path,
) -> None:
    out = await console(make_settings(tmp_path / "data"), WHATSAPP_JOIN)
    anna = after(out, "[you are Anna, on WhatsApp]\n")
    # "Hallo", her first message, starts the conversation; WhatsApp's *bold*, not HTML; one button
    # that fits is a reply button.
    assert anna.startswith("Welkom, Anna!")
    assert "*In welke straat woont u?* Typ de naam van uw straat.\n[1] Stoppen\n" in anna
    # "Ja, dat is mijn straat" is over a reply button's 20 characters: the two choices are a list.
    assert (
        "Woont u in de *Kerkstraat*? Die hoort bij buurtnetwerk *Breugel-Noord*.\n"
        "[≡ Kies]\n"
        "[1] Ja, dat is mijn straat\n"
        "[2] Nee, een andere straat\n"
    ) in anna
    assert "is doorgestuurd naar de buurtverbinder" in anna.split("[you are Jan]")[0]  # 1 chose the row
    # Jan is on Telegram: his request and Anna's news, as Telegram shows them.
    assert "[1] ✅ Toelaten\n[2] ❌ Afwijzen\n" in after(anna, "[to Jan]\n")
    told = after(out, "[you are Jan]\n")
    assert "[edited:" in told.split("[to Anna]")[0]  # Telegram edits his request in place
    told = after(told, "[to Anna]\n")
    assert told.startswith("Goed nieuws: Jan heeft u toegelaten tot buurtnetwerk *Breugel-Noord*. Welkom!\n[≡ Kies]\n")
    assert "[6] 🏠 Mijn buurtnetwerk\n" in told


async def test_a_list_over_ten_choices_pages_with_meer_and_a_row_of_the_next_page_is_chosen_by_number(
    tmp_path: Path,
) -> None:
    async with terminal(make_settings(tmp_path / "data")) as at:
        at.types("/as Jan whatsapp\nmenu\n")
        first_page = after(await at.sees("[10] Meer…\n"), "[you are Jan, on WhatsApp]\n")
        assert first_page.startswith("*Menu*\nWat wilt u doen, Jan? Tik op een knop.\n[≡ Kies]\n[1] 🙋 Hulp vragen\n")
        assert first_page.count("\n[") == 11  # the list's button, 9 rows and "Meer…"
        at.types("10\n")
        second_page = after(await at.sees("❓ Hulp bij deze bot\n"), "[10] Meer…\n\n")
        assert second_page.startswith("Kies een van deze:\n[≡ Kies]\n[1] ")
        language = next(line for line in second_page.splitlines() if line.endswith("] 🌐 Taal / Language"))
        at.types(language.removeprefix("[").partition("]")[0] + "\n")  # its number on this page
        await at.sees("In welke taal wilt u berichten krijgen?\n[1] Nederlands\n[2] English\n")
        at.types("2\n")
        await at.sees("From now on I will write to you in English.")


async def test_a_row_whose_label_is_too_long_shows_its_title_and_the_whole_label_beneath(tmp_path: Path) -> None:
    out = await console(make_settings(tmp_path / "data"), "/as Piet whatsapp\nhulp\n1\n")
    piet = after(out, "[you are Piet, on WhatsApp]\n")
    assert piet.startswith("*Wat kunt u hier doen?*")  # "hulp", a plain word, is /hulp on WhatsApp
    assert "[1] 🏠 Aanmelden bij mijn…\n    🏠 Aanmelden bij mijn buurtnetwerk\n" in piet
    assert "*In welke straat woont u?*" in after(piet, "    🏠 Aanmelden bij mijn buurtnetwerk\n")  # 1 chose it


async def test_on_whatsapp_an_answer_comes_as_a_new_message_not_an_edit_and_without_a_toast(tmp_path: Path) -> None:
    async with terminal(make_settings(tmp_path / "data")) as at:
        at.types(WHATSAPP_JOIN + EVENT_SCRIPT)
        invitation = "[to Anna]\n*Uitnodiging*\n📅 *Snertavond* · Breugel-Noord\n"
        await at.sees(invitation)
        at.types("/as Anna\n1\n")
        await at.sees("✅ U komt.")
    anna = after(at.screen.getvalue(), invitation)
    assert "👍 0 komen · 20 plaatsen\n\nKomt u? Tik op een knop.\n[≡ Kies]\n[1] Ik kom\n" in anna
    answer = after(anna, "[you are Anna, on WhatsApp]\n")
    assert answer.startswith("📅 *Snertavond* · Breugel-Noord\n")  # a new message, not an edit
    assert "👍 1 komen · 20 plaatsen\n\n✅ U komt.\n[≡ Kies]\n[1] ✅ Ik kom\n" in answer
    assert '[edited: "' not in anna and "[notice]" not in anna  # no edits and no toasts on WhatsApp
    assert "[edited: to Jan, " in answer  # while Jan's copy on Telegram shows the count in place


async def test_jan_on_whatsapp_decides_by_reply_button_and_an_old_button_answers_with_a_message(
    tmp_path: Path,
) -> None:
    script = "/as Jan whatsapp\n/start\n/as Anna\n/start\nkerkstaat\n1\n/as Jan\n1\n/tap 1\n"
    out = await console(make_settings(tmp_path / "data"), script)
    request = after(out, "[to Jan]\n")
    assert request.startswith("*Nieuwe aanmelding voor Breugel-Noord*\nAnna wil lid worden")
    assert "\n[1] ✅ Toelaten\n[2] ❌ Afwijzen\n\n" in request  # two short choices: reply buttons, no list
    decided = after(request, "[you are Jan, on WhatsApp]\n")
    assert decided.startswith("✅ U heeft Anna toegelaten tot Breugel-Noord.\n\n")  # a new message
    # /tap 1 presses Toelaten again, on the request: the refusal comes as a message, not a pop-up.
    assert decided.endswith("\n\nOver de aanmelding van Anna is al beslist.\n\n")
    assert "[edited" not in decided and "[notice]" not in decided


async def test_as_anna_telegram_brings_her_back_to_telegrams_rendering(tmp_path: Path) -> None:
    out = await console(
        make_settings(tmp_path / "data"), "/as Anna whatsapp\n/start\n/as Jan\n/as Anna\n/as Anna telegram\n/start\n"
    )
    assert "[you are Jan]\n[you are Anna, on WhatsApp]\n[you are Anna]\n" in out  # `/as Anna` keeps her app
    again = after(out, "[you are Anna]\n")
    assert "<b>" not in again and "*In welke straat woont u?*" not in again
    assert "In welke straat woont u? Typ de naam van uw straat.\n[1] Stoppen\n" in again
