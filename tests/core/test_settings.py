"""Settings: the original bot's .env works as it is, precedence is file > environment > .env,
secrets never reach the settings file, and bad input names the setting to fix."""
import json

import pytest

from comfy.urls import ComfyLogin
from core.errors import SettingsError
from core.secrets import SecretStore
from core.settings import DEFAULT_COMFY_URL, Settings, import_dotenv, load_settings, read_dotenv, save_settings

ORIGINAL_DOTENV = """\
# the original bot's .env
DISCORD_TOKEN=MTIzNDU2Nzg5.original-token
ALLOWED_GUILD_ID=111111111111111111
COMFY_URL=https://my-workspace.example.com/
COMFY_API_KEY="user:secret pass"
DATABASE_URL=
EXPORT_PATH=/tmp/exports
MAX_BATCH_SIZE=2
GPU_VRAM_GB=12
"""


@pytest.fixture
def dotenv(tmp_path):
    path = tmp_path / ".env"
    path.write_text(ORIGINAL_DOTENV)
    return path


def test_defaults_without_any_configuration(app_paths, no_keyring):
    settings = load_settings(app_paths, env={})
    assert settings.comfy_urls == (DEFAULT_COMFY_URL,)
    assert settings.user_job_limit == 2
    assert settings.session_idle_minutes == 30
    assert settings.database_url is None
    assert settings.discord_token is None


def test_original_dotenv_just_works(app_paths, dotenv, no_keyring):
    settings = load_settings(app_paths, env={}, dotenv=dotenv)
    assert settings.discord_token == "MTIzNDU2Nzg5.original-token"
    assert settings.allowed_guild_ids == (111111111111111111,)
    assert settings.comfy_urls == ("https://my-workspace.example.com",)
    assert settings.comfy_api_key == "user:secret pass"
    assert settings.database_url is None  # empty means the local SQLite file, as in the original
    assert settings.export_path == "/tmp/exports"
    assert settings.max_batch_size == 2
    assert settings.gpu_vram_gb == (12.0,)


def test_settings_file_beats_environment_beats_dotenv(app_paths, dotenv, no_keyring):
    app_paths.config_dir.mkdir(parents=True)
    app_paths.settings_file.write_text(json.dumps({"max_batch_size": 8}))
    env = {"MAX_BATCH_SIZE": "3", "GPU_VRAM_GB": "24", "COMFY_URLS": "http://127.0.0.1:8188, http://127.0.0.1:8189"}
    settings = load_settings(app_paths, env=env, dotenv=dotenv)
    assert settings.max_batch_size == 8
    assert settings.sources["max_batch_size"] == str(app_paths.settings_file)
    assert settings.gpu_vram_gb == (24.0,)
    assert settings.sources["gpu_vram_gb"] == "environment"
    assert settings.comfy_urls == ("http://127.0.0.1:8188", "http://127.0.0.1:8189")
    assert settings.export_path == "/tmp/exports"


def test_several_allowed_guilds_and_role_priorities(app_paths, no_keyring):
    settings = load_settings(app_paths, env={"ALLOWED_GUILD_ID": "1, 2 3", "ROLE_PRIORITIES": "10:5,20:60"})
    assert settings.allowed_guild_ids == (1, 2, 3)
    assert settings.role_priorities == {10: 5, 20: 60}


@pytest.mark.parametrize("env, named", [
    ({"ALLOWED_GUILD_ID": "my-server"}, "ALLOWED_GUILD_ID in environment"),
    ({"COMFY_URL": "127.0.0.1:8188"}, "COMFY_URL"),
    ({"MAX_BATCH_SIZE": "four"}, "MAX_BATCH_SIZE"),
])
def test_a_bad_value_names_the_setting(app_paths, no_keyring, env, named):
    with pytest.raises(SettingsError, match=named.split(" ")[0]) as info:
        load_settings(app_paths, env=env)
    assert "expected" in str(info.value)
    assert "\n" not in str(info.value)


def test_a_corrupt_settings_file_is_reported_and_never_overwritten(app_paths, no_keyring):
    app_paths.config_dir.mkdir(parents=True)
    app_paths.settings_file.write_text("{ not json")
    with pytest.raises(SettingsError, match="settings.json is unreadable"):
        load_settings(app_paths, env={})
    with pytest.raises(SettingsError):
        save_settings(app_paths, {"max_batch_size": 3})
    assert app_paths.settings_file.read_text() == "{ not json"


def test_a_corrupt_dotenv_line_is_named(tmp_path):
    path = tmp_path / ".env"
    path.write_text("DISCORD_TOKEN=abc\nthis line is wrong\n")
    with pytest.raises(SettingsError, match=r"\.env, line 2: expected KEY=VALUE"):
        read_dotenv(path)


def test_dotenv_quotes_comments_and_export(tmp_path):
    path = tmp_path / ".env"
    path.write_text("export A=1\nB='two words'\nC=3 # comment\n\n# D=4\n")
    assert read_dotenv(path) == {"A": "1", "B": "two words", "C": "3"}


def test_a_secret_in_the_settings_file_is_refused(app_paths, no_keyring):
    app_paths.config_dir.mkdir(parents=True)
    app_paths.settings_file.write_text(json.dumps({"discord_token": "abc"}))
    with pytest.raises(SettingsError, match="secrets belong in the keyring"):
        load_settings(app_paths, env={})


@pytest.mark.keyring
def test_saved_secrets_go_to_the_keyring_not_the_file(app_paths, secret_service):
    store = SecretStore(service="ImageBotTest-save")
    save_settings(app_paths, {
        "discord_token": "tok.en.value-123",
        "comfy_api_key": "k3y-value",
        "database_url": "postgresql://bot:p%40ss-word@db.example.com:5432/bot?sslmode=require",
        "allowed_guild_ids": (42,),
    }, secrets=store)
    written = app_paths.settings_file.read_text()
    for secret in ("tok.en.value-123", "k3y-value", "p%40ss-word", "p@ss-word"):
        assert secret not in written
    assert json.loads(written)["database_url"] == "postgresql://bot@db.example.com:5432/bot?sslmode=require"
    settings = load_settings(app_paths, env={}, secrets=store)
    assert settings.discord_token == "tok.en.value-123"
    assert settings.comfy_api_key == "k3y-value"
    assert settings.database_url == "postgresql://bot:p%40ss-word@db.example.com:5432/bot?sslmode=require"
    assert settings.allowed_guild_ids == (42,)
    assert "p@ss-word" in settings.secret_values()


@pytest.mark.keyring
def test_keyring_secret_beats_environment(app_paths, secret_service):
    store = SecretStore(service="ImageBotTest-precedence")
    store.set("discord_token", "from-keyring")
    settings = load_settings(app_paths, env={"DISCORD_TOKEN": "from-env"}, secrets=store)
    assert settings.discord_token == "from-keyring"


def test_without_a_keyring_secrets_come_from_the_environment(app_paths, no_keyring, caplog):
    settings = load_settings(app_paths, env={"DISCORD_TOKEN": "env-token"})
    assert settings.discord_token == "env-token"
    assert "No OS keyring" in caplog.text
    with pytest.raises(SettingsError, match="environment variable instead"):
        save_settings(app_paths, {"discord_token": "x"})
    assert not app_paths.settings_file.exists() or "x" not in app_paths.settings_file.read_text()


def test_settings_repr_shows_no_secret(app_paths, no_keyring):
    settings = load_settings(app_paths, env={"DISCORD_TOKEN": "very-secret-token"})
    assert "very-secret-token" not in repr(settings)


def test_a_password_inside_a_comfyui_url_is_a_secret(app_paths, no_keyring):
    settings = load_settings(app_paths, env={"COMFY_URLS": "https://me:hunter2%21@gpu.example.com/comfy"})
    assert {"hunter2%21", "hunter2!"} <= set(settings.secret_values())
    assert "hunter2" not in repr(settings)


# ---- a login written into a ComfyUI URL ----

def test_a_login_in_comfy_urls_is_split_off_the_addresses(app_paths, no_keyring):
    settings = load_settings(app_paths, env={"COMFY_URLS": "http://bot:pa%24s@gpu-a:8188, http://gpu-b:8188"})
    assert settings.comfy_urls == ("http://gpu-a:8188", "http://gpu-b:8188")
    assert settings.comfy_url == "http://gpu-a:8188"
    assert settings.comfy_logins == {"http://gpu-a:8188": ComfyLogin("bot", "pa$s")}
    assert {"pa$s", "pa%24s"} <= set(settings.secret_values())
    assert "pa$s" not in repr(settings) and "pa$s" not in repr(settings.comfy_logins)


def test_the_original_bots_dotenv_url_with_a_login_works(app_paths, no_keyring, tmp_path):
    dotenv = tmp_path / "login.env"
    dotenv.write_text("COMFY_URL=https://bot:hunter2@my-workspace.example.com/comfy/\n")
    settings = load_settings(app_paths, env={}, dotenv=dotenv)
    assert settings.comfy_urls == ("https://my-workspace.example.com/comfy",)
    assert settings.comfy_logins["https://my-workspace.example.com/comfy"] == ComfyLogin("bot", "hunter2")


def test_the_same_comfyui_twice_is_refused_by_name(app_paths, no_keyring):
    with pytest.raises(SettingsError, match="COMFY_URLS.*listed twice"):
        load_settings(app_paths, env={"COMFY_URLS": "http://a:1@gpu:8188,http://gpu:8188"})


@pytest.mark.keyring
def test_a_saved_comfy_password_goes_to_the_keyring_not_the_file(app_paths, secret_service):
    store = SecretStore(service="ImageBotTest-comfy-save")
    save_settings(app_paths, {"comfy_urls": ("http://bot:hunter2%21@gpu:8188", "http://other:8188")}, secrets=store)
    written = app_paths.settings_file.read_text()
    assert "hunter2" not in written
    assert json.loads(written)["comfy_urls"] == ["http://bot@gpu:8188", "http://other:8188"]
    settings = load_settings(app_paths, env={}, secrets=store)
    assert settings.comfy_urls == ("http://gpu:8188", "http://other:8188")
    assert settings.comfy_logins == {"http://gpu:8188": ComfyLogin("bot", "hunter2!")}
    # The settings window shows (and saves back) the address alone: the stored login stays.
    save_settings(app_paths, {"comfy_urls": settings.comfy_urls}, secrets=store)
    assert load_settings(app_paths, env={}, secrets=store).comfy_logins == settings.comfy_logins


@pytest.mark.keyring
def test_a_password_written_into_the_settings_file_is_moved_to_the_keyring(app_paths, secret_service):
    store = SecretStore(service="ImageBotTest-comfy-move")
    app_paths.config_dir.mkdir(parents=True)
    app_paths.settings_file.write_text(json.dumps({"comfy_urls": ["http://bot:hunter2@gpu:8188"]}))
    settings = load_settings(app_paths, env={}, secrets=store)
    assert settings.comfy_logins == {"http://gpu:8188": ComfyLogin("bot", "hunter2")}
    assert "hunter2" not in app_paths.settings_file.read_text()
    assert load_settings(app_paths, env={}, secrets=store).comfy_logins == settings.comfy_logins


def test_a_password_in_the_settings_file_without_a_keyring_is_refused_clearly(app_paths, no_keyring):
    app_paths.config_dir.mkdir(parents=True)
    app_paths.settings_file.write_text(json.dumps({"comfy_urls": ["http://bot:hunter2@gpu:8188"]}))
    with pytest.raises(SettingsError, match="comfy_urls in .*settings.json holds a password") as info:
        load_settings(app_paths, env={})
    assert "hunter2" not in str(info.value) and "COMFY_URLS in the environment" in str(info.value)


# ---- retention ----

def test_retention_defaults_to_thirty_days_and_no_size_cap(app_paths, no_keyring):
    settings = load_settings(app_paths, env={})
    assert (settings.result_retention_days, settings.result_retention_max_gb) == (30, None)
    settings = load_settings(app_paths, env={"RESULT_RETENTION_DAYS": "7", "RESULT_RETENTION_MAX_GB": "2.5"})
    assert (settings.result_retention_days, settings.result_retention_max_gb) == (7, 2.5)
    assert load_settings(app_paths, env={"RESULT_RETENTION_MAX_GB": ""}).result_retention_max_gb is None


@pytest.mark.parametrize("env", [
    {"RESULT_RETENTION_DAYS": "-1"}, {"RESULT_RETENTION_DAYS": "0"}, {"RESULT_RETENTION_DAYS": "99999999"},
    {"RESULT_RETENTION_DAYS": "a month"}, {"RESULT_RETENTION_MAX_GB": "-3"}, {"RESULT_RETENTION_MAX_GB": "nan"},
    {"RESULT_RETENTION_MAX_GB": "inf"}, {"RESULT_RETENTION_MAX_GB": "0"},
])
def test_a_bad_retention_value_names_the_setting(app_paths, no_keyring, env):
    (name, value), = env.items()
    with pytest.raises(SettingsError, match=f"^{name} in environment: .*expected") as info:
        load_settings(app_paths, env=env)
    assert "\n" not in str(info.value)


def test_a_vram_list_is_kept_per_backend(app_paths, no_keyring):
    env = {"COMFY_URLS": "http://127.0.0.1:8188,http://127.0.0.1:8189,http://127.0.0.1:8190",
           "GPU_VRAM_GB": "8.0,16.0,24.0"}
    settings = load_settings(app_paths, env=env)
    assert settings.gpu_vram_gb == (8.0, 16.0, 24.0)
    assert settings.vram_gb_for("http://127.0.0.1:8189") == 16.0
    assert settings.notes == ()


def test_a_vram_list_that_does_not_match_the_urls_is_ignored_with_a_note(app_paths, no_keyring):
    settings = load_settings(app_paths, env={"GPU_VRAM_GB": "8.0,16.0,24.0"})    # one URL: the default
    assert settings.gpu_vram_gb == ()
    assert settings.vram_gb_for(DEFAULT_COMFY_URL) is None
    assert "GPU_VRAM_GB lists 3 values for 1 ComfyUI URL" in settings.notes[0]


def test_importing_the_original_dotenv_keeps_every_value(tmp_path):
    path = tmp_path / ".env"
    path.write_text(ORIGINAL_DOTENV.replace("COMFY_URL=https://my-workspace.example.com/",
                                            "COMFY_URLS=http://127.0.0.1:8188,http://10.0.0.5:8188\n"
                                            "COMFY_URL=http://ignored.example:8188")
                    .replace("GPU_VRAM_GB=12", "GPU_VRAM_GB=8.0,16.0\nUSER_JOB_LIMIT=lots\nOPENAI_KEY=x")
                    .replace("DATABASE_URL=", "DATABASE_URL=postgresql://bot:s3cret@db:5432/imagebot"))
    imported = import_dotenv(path)
    assert imported.values["comfy_urls"] == ("http://127.0.0.1:8188", "http://10.0.0.5:8188")
    assert imported.values["gpu_vram_gb"] == (8.0, 16.0)
    assert imported.values["database_url"] == "postgresql://bot:s3cret@db:5432/imagebot"
    assert imported.values["discord_token"] == "MTIzNDU2Nzg5.original-token"
    assert imported.values["export_path"] == "/tmp/exports" and imported.values["max_batch_size"] == 2
    assert imported.text["comfy_urls"] == "http://127.0.0.1:8188,http://10.0.0.5:8188"
    assert imported.problems == ("USER_JOB_LIMIT: 'lots' is not a whole number; "
                                 "expected active jobs per user",)
    assert imported.unknown == ("OPENAI_KEY",)


def test_settings_built_or_replaced_with_a_login_in_a_url_still_hold_addresses_only(app_paths):
    from dataclasses import replace

    settings = Settings(paths=app_paths, comfy_urls=("http://bot:hunter2@gpu:8188",))
    assert settings.comfy_urls == ("http://gpu:8188",)
    assert settings.comfy_logins == {"http://gpu:8188": ComfyLogin("bot", "hunter2")}
    assert replace(settings, max_batch_size=2).comfy_logins == settings.comfy_logins
    assert replace(settings, comfy_urls=("http://other:8188",)).comfy_logins == {}


def test_gpu_time_settings(app_paths, no_keyring):
    settings = load_settings(app_paths, env={"MAX_BYPASS": "0", "MAX_EXTRA_WAIT_S": "30.5",
                                             "MODEL_AWARE_DISPATCH": "false",
                                             "HOST_GPU_SCHEDULE": "mon-fri 18:00-23:00; sat,sun 10:00-14:00",
                                             "HOST_GPU_PROGRAMS": "EldenRing.exe, cs2"})
    assert (settings.fairness.model_aware, settings.fairness.max_bypass, settings.fairness.max_extra_wait_s) == \
        (False, 0, 30.5)
    assert settings.host_gpu_programs == ("eldenring", "cs2")
    defaults = load_settings(app_paths, env={})
    assert defaults.fairness.model_aware and defaults.max_bypass == 8 and defaults.max_extra_wait_s == 90


@pytest.mark.parametrize("env, says", [
    ({"MAX_BYPASS": "-1"}, "MAX_BYPASS in environment: -1 is out of range: use 0 to 10000 jobs (0: no limit)"),
    ({"MAX_BYPASS": "lots"}, "MAX_BYPASS in environment: 'lots' is not a whole number"),
    ({"MAX_BYPASS": "99999999"}, "MAX_BYPASS"),
    ({"MAX_EXTRA_WAIT_S": "-3"}, "MAX_EXTRA_WAIT_S in environment: -3.0 is out of range"),
    ({"MAX_EXTRA_WAIT_S": "nan"}, "MAX_EXTRA_WAIT_S"),
    ({"MAX_EXTRA_WAIT_S": "1e12"}, "MAX_EXTRA_WAIT_S"),
    ({"HOST_GPU_SCHEDULE": "weekdays 18-23"}, "HOST_GPU_SCHEDULE in environment: 'weekdays 18-23' is not a schedule"),
])
def test_absurd_gpu_time_settings_name_the_setting(app_paths, no_keyring, env, says):
    with pytest.raises(SettingsError) as caught:
        load_settings(app_paths, env=env)
    assert says in str(caught.value)


def test_a_login_from_dotenv_serves_its_address_when_the_settings_file_lists_it(app_paths, no_keyring, tmp_path):
    dotenv = tmp_path / "login.env"
    dotenv.write_text("COMFY_URL=http://bot:hunter2@gpu:8188\n")
    app_paths.config_dir.mkdir(parents=True)
    app_paths.settings_file.write_text(json.dumps({"comfy_urls": ["http://gpu:8188", "http://other:8188"]}))
    settings = load_settings(app_paths, env={}, dotenv=dotenv)
    assert settings.comfy_urls == ("http://gpu:8188", "http://other:8188")
    assert settings.comfy_logins == {"http://gpu:8188": ComfyLogin("bot", "hunter2")}
