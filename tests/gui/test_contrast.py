"""Text contrast measured on the rendered windows: Home, every tab and every wizard page, in English
and Spanish, light and dark, with the states that show warnings (not set up, ComfyUI down, paused).
tools/screenshots.py renders the same windows (also at 200 %) and runs the same measure."""
from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from core.jobs import BackendHealthChanged
from gui.i18n import install_translations
from gui.theme import apply_theme, window_text_contrasts
from tests.gui.fakes import make_request

MINIMUM = 4.5


@pytest.fixture(params=["en-light", "en-dark", "es-light", "es-dark"])
def look(request, qapp):
    language, theme = request.param.split("-")
    install_translations(qapp, language)
    apply_theme(qapp, theme)
    yield request.param
    install_translations(qapp, "en")
    apply_theme(qapp, "light")


def low(window) -> list[tuple[float, str]]:
    return [(round(ratio, 2), what) for ratio, what in window_text_contrasts(window) if ratio < MINIMUM]


async def test_every_window_reads_at_4_5_to_1(qtbot, gui_services, look):
    from gui.app import TrayApp

    gui_services.settings = replace(gui_services.settings, discord_token=None)      # "not set up" warnings
    service = gui_services.job_service
    for n in range(3):
        await service.submit(make_request(n))
    service.start_next()
    await service.pause()
    app = TrayApp(gui_services, asyncio.Event(), tick_ms=0)
    qtbot.addWidget(app.dashboard)
    gui_services.bus.publish(BackendHealthChanged("http://127.0.0.1:8188", False, "connection refused"))
    dashboard = app.dashboard
    dashboard.resize(1180, 720)
    dashboard.show()
    problems = {}
    for index in range(dashboard.tabs.count()):
        dashboard.tabs.setCurrentIndex(index)
        await asyncio.sleep(0.02)
        problems[dashboard.tabs.tabText(index)] = low(dashboard)
    wizard = app.open_wizard(first_run=True)
    for page in range(4):
        await asyncio.sleep(0.02)
        problems[f"wizard {page}"] = low(wizard)
        wizard.next() if page else wizard.discord_page.validatePage() or wizard.next()
        if wizard.currentId() == 0:                    # the token is missing: show the warning, then go on
            wizard.discord_page.token.setText("x" * 10)
            wizard.discord_page._unchecked_token = "x" * 10
            wizard.next()
    assert not {name: found for name, found in problems.items() if found}, look
    await app.close()
