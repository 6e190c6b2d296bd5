"""Settings refuse what cannot work, naming the variable; sensible values pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.application.settings import SettingsError, load_settings


def settings_error(tmp_path: Path, **values: object) -> str:
    with pytest.raises(SettingsError) as refused:
        load_settings(**{"_env_file": None, "data_dir": tmp_path / "data", **values})
    return str(refused.value)


@pytest.mark.parametrize("token", ["nonsense", "abc:def", "123456:", "123456:with space", "your-token:here"])
def test_a_token_that_is_not_from_botfather_is_refused(tmp_path: Path, token: str) -> None:
    assert settings_error(tmp_path, bot_token=token).startswith("BOT_TOKEN: does not look like a token")


@pytest.mark.parametrize(
    ("listen", "problem"),
    [("nonsense", "must be host:port"), ("0.0.0.0:0", "not between 1 and 65535"), ("a b:80", "not a host")],
)
def test_a_listen_address_that_cannot_be_listened_on_is_refused(tmp_path: Path, listen: str, problem: str) -> None:
    message = settings_error(tmp_path, webhook_listen=listen)
    assert message.startswith("WEBHOOK_LISTEN: ") and problem in message
    assert "Value error" not in message  # pydantic's prefix is not the operator's business


@pytest.mark.parametrize(
    ("listen", "address"),
    [("0.0.0.0:8080", ("0.0.0.0", 8080)), (":8443", ("0.0.0.0", 8443)), ("[::1]:8080", ("::1", 8080))],
)
def test_a_listen_address_is_read_as_host_and_port(tmp_path: Path, listen: str, address: tuple[str, int]) -> None:
    settings = load_settings(_env_file=None, data_dir=tmp_path / "data", webhook_listen=listen)
    assert settings.listen_address == address


def test_a_data_dir_inside_a_file_is_refused_and_a_new_one_in_a_folder_is_fine(tmp_path: Path) -> None:
    a_file = tmp_path / "notes.txt"
    a_file.write_text("")
    assert settings_error(tmp_path, data_dir=a_file).startswith(f"DATA_DIR: {a_file} is not a folder")
    assert "is not a folder" in settings_error(tmp_path, data_dir=a_file / "data")
    fresh = tmp_path / "new" / "data"
    assert load_settings(_env_file=None, data_dir=fresh).data_dir == fresh
    assert not fresh.exists()  # checked, not made: the stores make it when the bot starts


def test_community_managers_that_are_not_user_ids_are_refused(tmp_path: Path) -> None:
    message = settings_error(tmp_path, community_manager_ids="1001, jan")
    assert message == "COMMUNITY_MANAGER_IDS: must be Telegram user ids (whole numbers), comma separated"
    settings = load_settings(_env_file=None, data_dir=tmp_path / "data", community_manager_ids="1001; 1002,")
    assert settings.community_manager_ids == {1001, 1002}
