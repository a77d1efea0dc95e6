"""The tray app's language: English or Spanish, following the system locale unless Settings say
otherwise (`Settings.language`). The app's strings go through Qt's tr(); their Spanish catalog is
resources/i18n/qt/imagebot_es.ts (edit it with Qt Linguist or by hand, then `python tools/i18n.py`
rebuilds the .qm); Qt's own buttons and dialogs come from Qt's qtbase_<lang>.qm.
"""
from __future__ import annotations

from PySide6.QtCore import QLibraryInfo, QLocale, QTranslator
from PySide6.QtWidgets import QApplication

from core.paths import resource_root

CATALOG_DIR = resource_root() / "resources" / "i18n" / "qt"
LANGUAGES = ("en", "es")          # the first is the language the code is written in
# Installed translators must stay alive while installed (Qt does not own them).
_installed: list[QTranslator] = []


def ui_language(setting: str, system: QLocale | None = None) -> str:
    """The language to show: the setting when it names one, else the system's when supported, else English."""
    if setting in LANGUAGES:
        return setting
    language = (system or QLocale.system()).name().split("_")[0]
    return language if language in LANGUAGES else LANGUAGES[0]


def catalogs(language: str) -> list[str]:
    """The .qm files for `language`: the app's, then Qt's own (wizard buttons, dialogs)."""
    if language == LANGUAGES[0]:
        return []
    qt_dir = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
    return [str(CATALOG_DIR / f"imagebot_{language}.qm"), f"{qt_dir}/qtbase_{language}.qm"]


def install_translations(app: QApplication, setting: str = "system") -> str:
    """Show the app in the chosen language from now on (windows built afterwards); returns it."""
    for translator in _installed:
        app.removeTranslator(translator)
    _installed.clear()
    language = ui_language(setting)
    for path in catalogs(language):
        translator = QTranslator(app)
        if translator.load(path):
            app.installTranslator(translator)
            _installed.append(translator)
    QLocale.setDefault(QLocale(language))
    return language
