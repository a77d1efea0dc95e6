"""Configured secrets never reach a log line: not in the message, its arguments or a traceback."""
import logging

from core.logs import REDACTED, setup_logging

TOKEN = "MTIzNDU2Nzg5.secret-token-value"


def test_secrets_are_redacted_everywhere(tmp_path, capsys):
    system = setup_logging(tmp_path / "logs", "DEBUG", [TOKEN])
    log = logging.getLogger("bot.test")
    log.info("logging in with %s", TOKEN)
    log.warning(f"token in the message itself: {TOKEN}")
    try:
        raise RuntimeError(f"login failed for {TOKEN}")
    except RuntimeError:
        log.exception("failure")
    for handler in logging.getLogger().handlers:
        handler.flush()
    written = system.log_file.read_text()
    shown = capsys.readouterr().err
    ring = "\n".join(line.text for line in system.ring.lines)
    for text in (written, shown, ring):
        assert TOKEN not in text
        assert REDACTED in text
    assert "login failed for ***" in written


def test_secrets_added_later_are_redacted_too(tmp_path):
    system = setup_logging(None, "INFO", [], console=False)
    system.redactor.add("late-secret-1234")
    logging.getLogger("core").info("value late-secret-1234")
    assert system.ring.lines[-1].text.endswith("value ***")


def test_log_ring_feeds_listeners_with_the_source(tmp_path):
    system = setup_logging(None, "INFO", [], console=False)
    seen = []
    system.ring.add_listener(seen.append)
    logging.getLogger("comfyui").info("Starting server")
    assert seen[-1].source == "comfyui"
    assert "Starting server" in seen[-1].text


def test_library_noise_stays_out_and_the_apps_lines_stay_in():
    system = setup_logging(None, "DEBUG", [], console=False)
    logging.getLogger("aiohttp.access").info("127.0.0.1 GET /system_stats 200")
    logging.getLogger("discord.gateway").debug("keeping shard alive")
    logging.getLogger("discord.client").warning("PyNaCl is not installed, voice will NOT be supported")
    logging.getLogger("discord.client").warning("davey is not installed, voice will NOT be supported")
    logging.getLogger("discord.ext.commands.bot").warning("Privileged message content intent is missing, commands "
                                                          "may not work as expected.")
    logging.getLogger("discord.http").warning("We are being rate limited.")
    logging.getLogger("core.jobs").debug("job #1 queued")
    texts = [line.text for line in system.ring.lines]
    assert not any("system_stats" in t or "shard" in t or "voice" in t or "Privileged" in t for t in texts)
    assert any("rate limited" in t for t in texts)          # a library's real warning stays
    assert any("job #1 queued" in t for t in texts)
