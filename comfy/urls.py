"""ComfyUI addresses: a login written into a URL is split off, and "the same server" means the
same origin (scheme, host, port).

`http://bot:pa55@gpu:8188` is an address plus a secret. Everything that shows, stores or keys a
backend by its URL gets the address alone (`http://gpu:8188`); the login travels apart, only to
the client that sends it, and only to that origin.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from yarl import URL


@dataclass(frozen=True)
class ComfyLogin:
    """HTTP Basic credentials for a ComfyUI behind a proxy. The password never shows in a repr."""
    user: str
    password: str = field(repr=False)


def split_login(url: str) -> tuple[str, ComfyLogin | None]:
    """(the address: the URL without user or password, in the one form ComfyClient.base_url has
    (host lower-case, no default port, no trailing slash); the login written into it or None)."""
    parsed = URL(url.strip())
    login = None if parsed.user is None and parsed.password is None \
        else ComfyLogin(parsed.user or "", parsed.password or "")
    return str(parsed.with_user(None)).rstrip("/"), login


def without_login(url: str) -> str:
    """The URL as it may be shown, stored or logged."""
    try:
        return split_login(url)[0]
    except ValueError:  # not even a URL: say nothing of it rather than echo a secret
        return "(an invalid URL)"


_WEB_SCHEME = {"ws": "http", "wss": "https"}  # a websocket is the same server as its HTTP URL


def origin(url: str | URL) -> tuple[str, str, int | None]:
    """(scheme, host, port) with the scheme's default port filled in: what "same server" means."""
    parsed = url if isinstance(url, URL) else URL(url)
    scheme = parsed.scheme.lower()
    return _WEB_SCHEME.get(scheme, scheme), (parsed.host or "").lower(), parsed.port
