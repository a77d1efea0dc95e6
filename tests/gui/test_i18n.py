"""The Spanish GUI: every string of gui/ is in the catalog and translated, the compiled catalog is
current, and a Spanish desktop gets Spanish windows, Qt's own buttons included."""
from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PySide6.QtCore import QLocale, Qt
from PySide6.QtWidgets import QWizard

from gui.i18n import CATALOG_DIR, install_translations, ui_language

ROOT = Path(__file__).resolve().parents[2]
CATALOG = CATALOG_DIR / "imagebot_es.ts"
PLACEHOLDER = re.compile(r"\{[a-z_]+(?::[^}]*)?\}")


def messages(ts: Path) -> dict[tuple[str, str], ET.Element]:
    root = ET.parse(ts).getroot()
    return {(context.findtext("name"), message.findtext("source")): message.find("translation")
            for context in root.iter("context") for message in context.iter("message")}


@pytest.fixture(scope="module")
def fresh_catalog(tmp_path_factory) -> Path:
    """What pyside6-lupdate collects from gui/ now (tools/i18n.py's own command)."""
    sys.path.insert(0, str(ROOT / "tools"))
    import i18n as tool
    ts = tmp_path_factory.mktemp("i18n") / "imagebot_es.ts"
    subprocess.run([tool.tool("pyside6-lupdate"), *tool.sources(), "-no-obsolete", "-locations", "none", "-ts",
                    str(ts)], cwd=ROOT, check=True, capture_output=True, timeout=120)
    return ts


def test_every_string_of_the_gui_is_in_the_spanish_catalog_and_translated(fresh_catalog):
    shipped = messages(CATALOG)
    missing = sorted(set(messages(fresh_catalog)) - set(shipped))
    assert not missing, f"run python tools/i18n.py and translate: {missing}"
    untranslated = [key for key, translation in shipped.items()
                    if translation.get("type") == "unfinished" or not (translation.text or "").strip()]
    assert not untranslated, untranslated


def test_translations_keep_their_placeholders():
    for (context, source), translation in messages(CATALOG).items():
        assert sorted(PLACEHOLDER.findall(source)) == sorted(PLACEHOLDER.findall(translation.text or "")), source


def test_the_compiled_catalog_is_current(tmp_path):
    sys.path.insert(0, str(ROOT / "tools"))
    import i18n as tool
    qm = tmp_path / "imagebot_es.qm"
    subprocess.run([tool.tool("pyside6-lrelease"), str(CATALOG), "-qm", str(qm)], check=True, capture_output=True,
                   timeout=60)
    assert qm.read_bytes() == CATALOG.with_suffix(".qm").read_bytes(), "run python tools/i18n.py"


@pytest.mark.parametrize("setting, system, expected", [
    ("system", "es_ES", "es"), ("system", "es_MX", "es"), ("system", "fr_FR", "en"), ("system", "en_US", "en"),
    ("en", "es_ES", "en"), ("es", "en_GB", "es"),
])
def test_the_system_locale_is_followed_unless_settings_choose(setting, system, expected):
    assert ui_language(setting, QLocale(system)) == expected


@pytest.fixture
def spanish(qapp):
    assert install_translations(qapp, "es") == "es"
    yield
    install_translations(qapp, "en")


async def test_a_spanish_desktop_gets_spanish_windows_and_qt_buttons(qtbot, gui_services, spanish):
    from gui.app import TrayApp
    from gui.wizard import SetupWizard

    app = TrayApp(gui_services, asyncio.Event(), tick_ms=0)
    qtbot.addWidget(app.dashboard)
    tabs = app.dashboard.tabs
    assert [tabs.tabText(i) for i in range(tabs.count())][:3] == ["Inicio", "Cola", "Sesiones"]
    assert app.actions.pause_queue.text() == "Pausar la cola"
    assert "Cola:" in app.dashboard.status_label.text()
    assert app.dashboard.queue_tab.model.headerData(1, Qt.Orientation.Horizontal) == "Usuario"
    wizard = SetupWizard(gui_services, first_run=True)
    qtbot.addWidget(wizard)
    assert wizard.discord_page.title() == "Bot de Discord"
    assert wizard.button(QWizard.WizardButton.CancelButton).text() == "Cancelar"        # Qt's own, from qtbase_es
    assert wizard.button(QWizard.WizardButton.NextButton).text().replace("&", "") == "Siguiente >"
    await app.close()
