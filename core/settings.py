"""One place that reads configuration.

Precedence, highest first: the settings file in the user's config folder, then the process
environment, then a `.env` file (so the original bot's `.env` works as it is). Secrets are the
exception: they come from the OS keyring, then the environment, then `.env`, and are never
written to the settings file.

A login written into a ComfyUI URL (`http://user:password@host:8188`) is split off at load:
`Settings.comfy_urls` holds the addresses alone (what is shown, logged and stored with a job) and
`Settings.comfy_logins` the credentials, which only the ComfyUI client sends. Saved, such a URL
keeps its user in the settings file and its password in the keyring; from the environment or
`.env` the password stays there only (and serves that address even when the settings file lists it).
"""
from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from comfy.urls import ComfyLogin, split_login, without_login
from core.dispatch import MAX_BYPASS_LIMIT, MAX_EXTRA_WAIT_LIMIT_S, Fairness
from core.errors import SettingsError
from core.gpu_mode import Schedule, program_names
from core.paths import AppPaths
from core.secrets import SecretStore, comfy_password_name

log = logging.getLogger(__name__)

DEFAULT_COMFY_URL = "http://127.0.0.1:8188"


def _int(v: Any) -> int:
    if isinstance(v, bool):
        raise ValueError("expected a whole number")
    try:
        return int(str(v).strip())
    except ValueError:
        raise ValueError(f"{str(v).strip()!r} is not a whole number") from None


def _float_tuple(v: Any) -> tuple[float, ...]:
    items = v if isinstance(v, (list, tuple)) else re.split(r"[,\s]+", str(v).strip())
    try:
        return tuple(float(i) for i in items if str(i).strip())
    except ValueError:
        raise ValueError(f"{str(v).strip()!r} is not a number or a comma-separated list of numbers") from None


def _str_or_none(v: Any) -> str | None:
    v = None if v is None else str(v).strip()
    return v or None


def _bool(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    s = str(v).strip().lower()
    if s in ("1", "true", "yes", "on"):
        return True
    if s in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("expected true or false")


def _int_tuple(v: Any) -> tuple[int, ...]:
    items = v if isinstance(v, (list, tuple)) else re.split(r"[,\s]+", str(v).strip())
    return tuple(_int(i) for i in items if str(i).strip())


def _url_tuple(v: Any) -> tuple[str, ...]:
    items = v if isinstance(v, (list, tuple)) else re.split(r"[,\s]+", str(v).strip())
    urls = tuple(str(i).strip().rstrip("/") for i in items if str(i).strip())
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{url!r} is not an http(s) URL like {DEFAULT_COMFY_URL}")
    return urls


LANGUAGES = ("system", "en", "es")
THEMES = ("system", "light", "dark")


def _choice(v: Any, choices: tuple[str, ...]) -> str:
    value = str(v).strip().lower()
    if value not in choices:
        raise ValueError(f"{value!r} is not one of {', '.join(choices)}")
    return value


def _between(parse: Callable[[Any], Any], low: float, high: float, unit: str) -> Callable[[Any], Any]:
    def check(v: Any) -> Any:
        value = parse(v)
        if not low <= value <= high:       # NaN fails this too
            raise ValueError(f"{value!r} is out of range: use {low:g} to {high:g} {unit}")
        return value
    return check


def _number(v: Any) -> float:
    try:
        return float(str(v).strip())
    except ValueError:
        raise ValueError(f"{str(v).strip()!r} is not a number") from None


def _seconds(v: Any) -> float:
    try:
        return float(str(v).strip())
    except ValueError:
        raise ValueError(f"{str(v).strip()!r} is not a number of seconds") from None


def _schedule(v: Any) -> str:
    text = str(v or "").strip()
    Schedule.parse(text)          # ValueError saying how to write it
    return text


def _role_priorities(v: Any) -> dict[int, int]:
    if isinstance(v, dict):
        return {_int(k): _int(p) for k, p in v.items()}
    out: dict[int, int] = {}
    for item in re.split(r"[,\s]+", str(v).strip()):
        if item:
            role, _, prio = item.partition(":")
            out[_int(role)] = _int(prio)
    return out


@dataclass(frozen=True)
class _Field:
    env: str
    parse: Callable[[Any], Any]
    help: str
    secret: bool = False


# name -> how to read it. The env names are the original bot's where it had one.
FIELDS: dict[str, _Field] = {
    "discord_token": _Field("DISCORD_TOKEN", _str_or_none, "the bot token from the Discord developer portal", secret=True),
    "allowed_guild_ids": _Field("ALLOWED_GUILD_ID", _int_tuple, "your server ID(s), digits, comma-separated"),
    "comfy_urls": _Field("COMFY_URLS", _url_tuple, "ComfyUI base URL(s), comma-separated (http://user:password@host "
                         "for a ComfyUI behind a proxy)"),
    "comfy_api_key": _Field("COMFY_API_KEY", _str_or_none, "API key (or user:password) of a ComfyUI behind a proxy", secret=True),
    "database_url": _Field("DATABASE_URL", _str_or_none, "empty for the local SQLite file, or postgresql://... / mysql://..."),
    "export_path": _Field("EXPORT_PATH", _str_or_none, "a folder that also receives every result"),
    "max_batch_size": _Field("MAX_BATCH_SIZE", _int, "images per request, at most"),
    "gpu_vram_gb": _Field("GPU_VRAM_GB", _float_tuple, "GPU memory in GB, one value or one per ComfyUI URL "
                                                     "(e.g. 8.0,16.0,24.0)"),
    "comfy_folder": _Field("COMFY_FOLDER", _str_or_none, "the ComfyUI folder to launch (holds main.py)"),
    "comfy_python": _Field("COMFY_PYTHON", _str_or_none, "the Python that runs ComfyUI"),
    "comfy_extra_args": _Field("COMFY_EXTRA_ARGS", lambda v: str(v or ""), "extra ComfyUI command-line arguments"),
    "comfy_allow_non_loopback": _Field("COMFY_ALLOW_NON_LOOPBACK", _bool, "let ComfyUI listen beyond 127.0.0.1"),
    "comfy_ready_timeout_s": _Field("COMFY_READY_TIMEOUT_S", float, "seconds to wait for ComfyUI to start"),
    "workflows_dir": _Field("WORKFLOWS_DIR", _str_or_none, "folder of workflow templates"),
    "user_job_limit": _Field("USER_JOB_LIMIT", _int, "active jobs per user"),
    "queue_cap": _Field("QUEUE_CAP", _int, "jobs waiting at most"),
    "max_prompt_length": _Field("MAX_PROMPT_LENGTH", _int, "characters per prompt"),
    "session_idle_minutes": _Field("SESSION_IDLE_MINUTES", _int, "minutes before an idle session channel is deleted"),
    "session_warning_minutes": _Field("SESSION_WARNING_MINUTES", _int, "minutes of warning before deletion"),
    "upload_limit_mb": _Field("UPLOAD_LIMIT_MB", float, "largest image the bot uploads to Discord, in MB"),
    "discord_message_content": _Field("DISCORD_MESSAGE_CONTENT", _bool, "true: ask Discord for the privileged Message "
                                      "Content intent (switch it on in the Developer Portal first), so bare !sync "
                                      "and !help work; without it mention the bot (@Bot help)"),
    "admin_role_ids": _Field("ADMIN_ROLE_IDS", _int_tuple, "role IDs treated as bot admins"),
    "role_priorities": _Field("ROLE_PRIORITIES", _role_priorities, "role_id:priority pairs, lower runs first"),
    "max_attempts": _Field("MAX_ATTEMPTS", _int, "dispatch attempts per job before it fails"),
    "log_level": _Field("LOG_LEVEL", lambda v: str(v).upper(), "DEBUG, INFO, WARNING or ERROR"),
    "language": _Field("IMAGEBOT_LANGUAGE", lambda v: _choice(v, LANGUAGES), "the app's language: system, en or es"),
    "theme": _Field("IMAGEBOT_THEME", lambda v: _choice(v, THEMES), "the app's colours: system, light or dark"),
    "model_aware_dispatch": _Field("MODEL_AWARE_DISPATCH", _bool, "true: run jobs whose model is loaded first (within "
                                   "MAX_BYPASS / MAX_EXTRA_WAIT_S); false: strictly first come first served"),
    "max_bypass": _Field("MAX_BYPASS", _between(_int, 0, MAX_BYPASS_LIMIT, "jobs (0: no limit)"),
                         "how many later jobs may go before a waiting job, at most (0: no limit)"),
    "max_extra_wait_s": _Field("MAX_EXTRA_WAIT_S", _between(_seconds, 0, MAX_EXTRA_WAIT_LIMIT_S, "seconds (0: no limit)"),
                               "seconds a job may wait past its first-come turn, at most (0: no limit)"),
    "host_gpu_schedule": _Field("HOST_GPU_SCHEDULE", _schedule, "when the host uses the GPU and the queue holds, "
                                "e.g. 'mon-fri 18:00-23:00; sat,sun 10:00-14:00'"),
    "host_gpu_programs": _Field("HOST_GPU_PROGRAMS", program_names, "programs (games) during which the host uses "
                                "the GPU and the queue holds, comma-separated, e.g. 'eldenring.exe, cs2'"),
    "result_retention_days": _Field("RESULT_RETENTION_DAYS", _between(_int, 1, 36500, "days"),
                                    "days a result image is kept (whole days, 1 or more; default 30)"),
    "result_retention_max_gb": _Field("RESULT_RETENTION_MAX_GB", _between(_number, 0.001, 1_000_000, "GB"),
                                      "the most GB of result images kept, oldest removed first (empty: no cap)"),
}
# setting name -> keyring entry name (the same name; read from the `secret` flag above)
SECRET_FIELDS = {name: name for name, spec in FIELDS.items() if spec.secret}


@dataclass(frozen=True)
class Settings:
    paths: AppPaths
    discord_token: str | None = None
    allowed_guild_ids: tuple[int, ...] = ()
    comfy_urls: tuple[str, ...] = (DEFAULT_COMFY_URL,)
    comfy_api_key: str | None = None
    database_url: str | None = None
    export_path: str | None = None
    max_batch_size: int = 4
    gpu_vram_gb: tuple[float, ...] = ()      # one value for every backend, or one per comfy_urls entry
    comfy_folder: str | None = None
    comfy_python: str | None = None
    comfy_extra_args: str = ""
    comfy_allow_non_loopback: bool = False
    comfy_ready_timeout_s: float = 300.0
    workflows_dir: str | None = None
    user_job_limit: int = 2
    queue_cap: int = 1000
    max_prompt_length: int = 4000
    session_idle_minutes: int = 30
    session_warning_minutes: int = 5
    upload_limit_mb: float = 10.0
    discord_message_content: bool = False
    admin_role_ids: tuple[int, ...] = ()
    role_priorities: dict[int, int] = field(default_factory=dict)
    max_attempts: int = 3
    log_level: str = "INFO"
    language: str = "system"       # the tray app's language; "system" follows the OS locale
    theme: str = "system"          # light or dark; "system" follows the OS colour scheme
    model_aware_dispatch: bool = True
    max_bypass: int = Fairness.max_bypass
    max_extra_wait_s: float = Fairness.max_extra_wait_s
    host_gpu_schedule: str = ""
    host_gpu_programs: tuple[str, ...] = ()
    result_retention_days: int = 30
    result_retention_max_gb: float | None = None
    comfy_logins: dict[str, ComfyLogin] = field(default_factory=dict)  # address in comfy_urls -> its login
    sources: dict[str, str] = field(default_factory=dict, compare=False)  # field -> where its value came from
    notes: tuple[str, ...] = field(default=(), compare=False)  # values accepted with a remark (shown and logged)

    def __post_init__(self) -> None:
        # However the settings were built (loaded, replaced by the settings window, a test), a login
        # written into a ComfyUI URL is split off here: comfy_urls only ever holds addresses.
        addresses: list[str] = []
        logins: dict[str, ComfyLogin] = {}
        for url in self.comfy_urls:
            address, login = split_login(url)
            addresses.append(address)
            if login is not None or address in self.comfy_logins:
                logins[address] = login or self.comfy_logins[address]
        object.__setattr__(self, "comfy_urls", tuple(addresses))
        object.__setattr__(self, "comfy_logins", logins)

    @property
    def comfy_url(self) -> str:
        return self.comfy_urls[0]

    def vram_gb_for(self, url: str) -> float | None:
        """The GPU memory declared for one backend (GPU_VRAM_GB), or None when not declared."""
        if len(self.gpu_vram_gb) == 1:
            return self.gpu_vram_gb[0]
        if url in self.comfy_urls and len(self.gpu_vram_gb) == len(self.comfy_urls):
            return self.gpu_vram_gb[self.comfy_urls.index(url)]
        return None

    @property
    def fairness(self) -> Fairness:
        return Fairness(self.model_aware_dispatch, self.max_bypass, self.max_extra_wait_s)

    @property
    def workflows_path(self) -> Path:
        return Path(self.workflows_dir).expanduser() if self.workflows_dir else self.paths.workflows_dir

    def secret_values(self) -> list[str]:
        """Every secret in force, for the log redactor."""
        values = [self.discord_token, self.comfy_api_key]
        password = urlsplit(self.database_url or "").password  # a password written into a URL is a secret too
        values += [password, unquote(password or "")]  # as written in the URL, and as the server sees it
        for login in self.comfy_logins.values():
            values += [login.password, quote(login.password, safe="")]
        return [v for v in values if v]

    def __repr__(self) -> str:  # never print secrets
        return f"Settings(comfy_urls={len(self.comfy_urls)} URL(s), allowed_guild_ids={self.allowed_guild_ids}, ...)"


_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")


def read_dotenv(path: Path) -> dict[str, str]:
    """Parse a `.env` file: KEY=VALUE lines, `#` comments, optional quotes and `export`."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SettingsError(f"{path} is not a text file: fix or remove it.") from exc
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _LINE.match(line)
        if not match:
            raise SettingsError(f"{path}, line {number}: expected KEY=VALUE; fix that line or remove it.")
        key, value = match.groups()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        values[key] = value
    return values


@dataclass(frozen=True)
class DotenvImport:
    """What a `.env` file (the original bot's) holds, read setting by setting so nothing is lost.

    `values` are parsed (setting name -> value, secrets included); `text` is each as written (to fill a
    form); `problems` the lines that could not be used and why; `unknown` the keys this app does not use."""
    values: dict[str, Any]
    text: dict[str, str]
    problems: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()


# the original bot's single-URL name, read as COMFY_URLS when that is not given
_ALIASES = {"COMFY_URL": "comfy_urls"}


def import_dotenv(path: Path) -> DotenvImport:
    """Read every setting a `.env` gives; raises SettingsError only when the file cannot be read at all."""
    raw = read_dotenv(path)
    by_env = {spec.env: name for name, spec in FIELDS.items()}
    values: dict[str, Any] = {}
    text: dict[str, str] = {}
    problems: list[str] = []
    unknown: list[str] = []
    for key, value in raw.items():
        name = by_env.get(key) or _ALIASES.get(key)
        if name is None:
            if key != "IMAGEBOT_HOME":
                unknown.append(key)
            continue
        if not value.strip() or (key in _ALIASES and FIELDS[name].env in raw):
            continue                      # empty means "the default"; COMFY_URLS beats COMFY_URL
        try:
            values[name] = FIELDS[name].parse(value)
        except (TypeError, ValueError) as exc:
            problems.append(f"{key}: {exc}; expected {FIELDS[name].help}")
            continue
        text[name] = value.strip()
    return DotenvImport(values, text, tuple(problems), tuple(unknown))


def read_settings_file(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SettingsError(
            f"Settings file {path} is unreadable ({exc}): fix it or move it away to start from defaults."
        ) from exc
    if not isinstance(data, dict):
        raise SettingsError(f"Settings file {path} must hold a JSON object: fix it or move it away.")
    secrets = set(data) & set(SECRET_FIELDS)
    if secrets:
        raise SettingsError(f"Settings file {path} holds a secret ({', '.join(sorted(secrets))}): remove it; secrets belong in the keyring.")
    return data


def load_settings(
    paths: AppPaths | None = None,
    *,
    env: Mapping[str, str] | None = None,
    dotenv: Path | None = None,
    secrets: SecretStore | None = None,
) -> Settings:
    """Read every source and return validated settings, or raise SettingsError naming the culprit."""
    paths = paths or AppPaths.default()
    env = os.environ if env is None else env
    if dotenv is None:
        dotenv = Path(env.get("IMAGEBOT_ENV_FILE", ".env"))
    dotenv_values = read_dotenv(dotenv) if dotenv.is_file() else {}
    file_values = read_settings_file(paths.settings_file)
    secrets = secrets or SecretStore()

    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for name, spec in FIELDS.items():
        candidates: list[tuple[str, Any]] = []
        if spec.secret:
            stored = secrets.get(SECRET_FIELDS[name])
            candidates.append(("keyring", stored))
        else:
            candidates.append((str(paths.settings_file), file_values.get(name)))
        candidates.append(("environment", env.get(spec.env)))
        candidates.append((str(dotenv), dotenv_values.get(spec.env)))
        if name == "comfy_urls":  # the original bot had one COMFY_URL
            candidates += [("environment", env.get("COMFY_URL")), (str(dotenv), dotenv_values.get("COMFY_URL"))]
        for source, raw in candidates:
            if raw is None or (isinstance(raw, str) and not raw.strip()):
                continue
            try:
                values[name] = spec.parse(raw)
            except (TypeError, ValueError) as exc:
                where = f"{spec.env} in {source}" if source != str(paths.settings_file) else f"{name} in {source}"
                raise SettingsError(f"{where}: {exc}; expected {spec.help}.") from exc
            sources[name] = source
            break

    notes = []
    vram, urls = values.get("gpu_vram_gb", ()), values.get("comfy_urls", (DEFAULT_COMFY_URL,))
    if len(vram) > 1 and len(vram) != len(urls):
        notes.append(f"GPU_VRAM_GB lists {len(vram)} values for {len(urls)} ComfyUI URL(s): ignored. Give one value, "
                     "or one per URL in COMFY_URLS order.")
        values["gpu_vram_gb"] = ()
    db_password = secrets.get("database_password")
    if db_password and values.get("database_url"):
        values["database_url"] = _with_password(values["database_url"], db_password)
    if "comfy_urls" in values:
        if sources["comfy_urls"] == str(paths.settings_file):
            values["comfy_urls"] = _comfy_urls_from_file(paths, values["comfy_urls"], secrets)
        # A login written in the environment or .env serves that address even when the settings
        # file (saved from the settings window, which shows addresses only) now lists it.
        values["comfy_logins"] = _written_logins(env.get("COMFY_URLS"), env.get("COMFY_URL"),
                                                 dotenv_values.get("COMFY_URLS"), dotenv_values.get("COMFY_URL"))
        addresses = [without_login(url) for url in values["comfy_urls"]]
        twice = next((a for i, a in enumerate(addresses) if a in addresses[:i]), None)
        if twice:
            raise SettingsError(f"COMFY_URLS in {sources['comfy_urls']}: {twice} is listed twice; list each ComfyUI once.")
    return Settings(paths=paths, sources=sources, notes=tuple(notes), **values)


def _comfy_urls_from_file(paths: AppPaths, urls: tuple[str, ...], secrets: SecretStore) -> tuple[str, ...]:
    """The stored URLs with their passwords from the keyring. A password found in the file itself
    (written by hand, or by an older version) is moved to the keyring first."""
    if any(split_url_password(url)[1] for url in urls):
        try:
            save_settings(paths, {"comfy_urls": urls}, secrets)
        except SettingsError as exc:
            raise SettingsError(
                f"comfy_urls in {paths.settings_file} holds a password, which belongs in the keyring, and it could "
                f"not be moved there ({exc}) Remove it from that file, or set COMFY_URLS in the environment.") from exc
        log.info("The password in comfy_urls was moved from the settings file to the keyring.")
        return urls
    return tuple(_with_password(url, secrets.get(comfy_password_name(url)) or "") if urlsplit(url).username else url
                 for url in urls)


def _written_logins(*texts: str | None) -> dict[str, ComfyLogin]:
    logins: dict[str, ComfyLogin] = {}
    for text in texts:
        try:
            urls = _url_tuple(text) if text and text.strip() else ()
        except ValueError:
            continue
        for address, login in map(split_login, urls):
            if login is not None:
                logins.setdefault(address, login)
    return logins


def _with_password(url: str, password: str) -> str:
    parts = urlsplit(url)
    if parts.password or not parts.username or not password:
        return url
    user, _, host_port = parts.netloc.rpartition("@")
    return parts._replace(netloc=f"{user}:{quote(password, safe='')}@{host_port}").geturl()


def split_url_password(url: str) -> tuple[str, str | None]:
    """(the URL without its password, the password or None): the password belongs in the keyring."""
    parts = urlsplit(url)
    if not parts.password:
        return url, None
    user_info, _, host_port = parts.netloc.rpartition("@")
    return parts._replace(netloc=f"{user_info.partition(':')[0]}@{host_port}").geturl(), unquote(parts.password)


def _comfy_url_to_store(url: str, secrets: SecretStore, stored: list[str]) -> str:
    """The URL as the settings file may hold it: its password goes to the keyring. The address
    alone (as the settings window shows it) keeps the login already stored for it."""
    bare, password = split_url_password(url)
    if password:
        secrets.set(comfy_password_name(bare), password)
        return bare
    if not urlsplit(bare).username:
        return next((old for old in stored if without_login(old) == bare), bare)
    return bare


def save_settings(paths: AppPaths, changes: Mapping[str, Any], secrets: SecretStore | None = None) -> None:
    """Write changed settings: secrets to the keyring, the rest to the settings file (atomically).

    A password in the database URL or a ComfyUI URL is split off into the keyring. An unreadable settings file is
    never overwritten: read_settings_file raises first.
    """
    secrets = secrets or SecretStore()
    current = read_settings_file(paths.settings_file)
    for name, value in changes.items():
        if name not in FIELDS:
            raise SettingsError(f"unknown setting {name!r}")
        if name in SECRET_FIELDS:
            secrets.set(SECRET_FIELDS[name], value or "")
            continue
        if name == "database_url" and value:
            value, password = split_url_password(value)
            if password:
                secrets.set("database_password", password)
        if name == "comfy_urls" and value:
            stored = [str(url) for url in current.get("comfy_urls") or []]
            value = tuple(_comfy_url_to_store(url, secrets, stored) for url in _url_tuple(value))
        if value is None:
            current.pop(name, None)
        else:
            current[name] = list(value) if isinstance(value, tuple) else value
    paths.config_dir.mkdir(parents=True, exist_ok=True)
    tmp = paths.settings_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(current, indent=2, sort_keys=True), encoding="utf-8")
    os.replace(tmp, paths.settings_file)


