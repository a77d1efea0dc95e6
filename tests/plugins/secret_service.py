"""A real Secret Service (dbus-daemon + gnome-keyring-daemon), private to the test session."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess

import pytest

from tests.plugins import unavailable


@pytest.fixture(scope="session")
def secret_service(tmp_path_factory):
    if not (shutil.which("dbus-daemon") and shutil.which("gnome-keyring-daemon")):
        unavailable("needs the apt packages dbus and gnome-keyring")
    base = tmp_path_factory.mktemp("secret-service")
    run = base / "run"
    run.mkdir(mode=0o700)
    data = base / "data"
    data.mkdir()
    env = dict(os.environ, XDG_RUNTIME_DIR=str(run), XDG_DATA_HOME=str(data))
    bus = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--nopidfile", "--print-address=1"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True)
    address = bus.stdout.readline().strip()
    env["DBUS_SESSION_BUS_ADDRESS"] = address
    # --unlock reads the password on stdin, creates and unlocks the "login" collection, then daemonizes
    subprocess.run(["gnome-keyring-daemon", "--unlock", "--components=secrets"], input="ci-pw",
                   env=env, capture_output=True, text=True, timeout=20)
    saved = {k: os.environ.get(k) for k in ("DBUS_SESSION_BUS_ADDRESS", "XDG_RUNTIME_DIR", "XDG_DATA_HOME")}
    os.environ.update(DBUS_SESSION_BUS_ADDRESS=address, XDG_RUNTIME_DIR=str(run), XDG_DATA_HOME=str(data))
    import keyring
    from keyring.backends import SecretService

    previous = keyring.get_keyring()
    keyring.set_keyring(SecretService.Keyring())
    try:
        yield address
    finally:
        keyring.set_keyring(previous)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        _kill_keyring_daemon(address)
        bus.terminate()
        bus.wait(5)


def _kill_keyring_daemon(address: str) -> None:
    """The daemon detaches itself; find it by the private bus address in its environment."""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = open(f"/proc/{pid}/cmdline", "rb").read()
            environ = open(f"/proc/{pid}/environ", "rb").read()
        except OSError:
            continue
        if b"gnome-keyring-daemon" in cmdline and address.encode() in environ:
            os.kill(int(pid), signal.SIGTERM)


@pytest.fixture
def no_keyring():
    """The bare-server case: keyring's fail backend."""
    import keyring
    from keyring.backends import fail

    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    yield
    keyring.set_keyring(previous)
