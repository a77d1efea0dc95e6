"""A free port on 127.0.0.1, for a server a test starts by number (a child process, a URL that must refuse)."""
from __future__ import annotations

import socket


def free_port() -> int:
    """A port nothing listens on now (the system picks it; it may in theory be taken again before use)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
