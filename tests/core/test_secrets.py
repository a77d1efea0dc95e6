"""Secrets in a real Secret Service, and the no-keyring path of a headless server."""
import sys

import pytest

from core.errors import SettingsError
from core.secrets import SecretStore


@pytest.mark.keyring
async def test_secret_round_trip_in_a_real_secret_service(secret_service):
    store = SecretStore(service="ImageBotTest-roundtrip")
    assert store.available
    await store.set_async("comfy_api_key", "abc:def")
    assert await store.get_async("comfy_api_key") == "abc:def"
    store.set("comfy_api_key", "")
    assert store.get("comfy_api_key") is None


@pytest.mark.keyring
def test_only_known_secrets_are_stored(secret_service):
    with pytest.raises(ValueError):
        SecretStore(service="ImageBotTest-names").set("anything", "x")


def test_no_keyring_is_said_once_and_clearly(no_keyring, caplog):
    store = SecretStore()
    assert not store.available
    assert store.get("discord_token") is None
    assert store.get("comfy_api_key") is None
    assert caplog.text.count("No OS keyring is available") == 1
    with pytest.raises(SettingsError, match="cannot be saved"):
        store.set("discord_token", "t")


@pytest.mark.skipif(sys.platform != "win32", reason="the Windows Credential Manager")
async def test_secret_round_trip_in_the_windows_credential_manager():
    import keyring
    from keyring.backends.Windows import WinVaultKeyring

    backend = keyring.get_keyring()  # what a Windows user gets, no setup (chained when tests add one)
    assert any(isinstance(b, WinVaultKeyring) for b in getattr(backend, "backends", [backend]))
    store = SecretStore(service="ImageBotTest-winvault")
    assert store.available
    await store.set_async("discord_token", "tökén:with-ünïcode")
    assert await store.get_async("discord_token") == "tökén:with-ünïcode"
    store.set("discord_token", "")
    assert store.get("discord_token") is None
