"""Refresh the tray app's translation catalog: `python tools/i18n.py`.

1. pyside6-lupdate collects every tr()/translate()/QT_TRANSLATE_NOOP string of gui/ into
   resources/i18n/qt/imagebot_<lang>.ts (new strings arrive as "unfinished", gone ones are marked
   obsolete and dropped);
2. translate the unfinished ones (Qt Linguist: `pyside6-linguist resources/i18n/qt/imagebot_es.ts`,
   or any text editor);
3. run this again: pyside6-lrelease compiles the .ts into the .qm the app loads.
tests/gui/test_i18n.py fails while a string is missing from the catalog or untranslated.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CATALOG_DIR = ROOT / "resources" / "i18n" / "qt"
TRANSLATED = ("es",)


def tool(name: str) -> str:
    """A Qt tool installed with PySide6 (in this Python's scripts folder, or on PATH)."""
    # bin/ beside python on Linux and in venvs; Scripts\ (and .exe) for a Windows Python
    folders = os.pathsep.join([str(Path(sys.executable).parent), sysconfig.get_path("scripts")])
    found = shutil.which(name, path=folders) or shutil.which(name)
    if not found:
        sys.exit(f"{name} not found: install PySide6 (it ships {name})")
    return found


def sources() -> list[str]:
    return sorted(str(p.relative_to(ROOT)) for p in (ROOT / "gui").rglob("*.py"))


def update(ts: Path) -> None:
    subprocess.run([tool("pyside6-lupdate"), *sources(), "-no-obsolete", "-locations", "none", "-ts", str(ts)],
                   cwd=ROOT, check=True, stdout=subprocess.DEVNULL)


def release(ts: Path) -> None:
    subprocess.run([tool("pyside6-lrelease"), str(ts), "-qm", str(ts.with_suffix(".qm"))], check=True,
                   stdout=subprocess.DEVNULL)


def main() -> int:
    CATALOG_DIR.mkdir(parents=True, exist_ok=True)
    for language in TRANSLATED:
        ts = CATALOG_DIR / f"imagebot_{language}.ts"
        update(ts)
        release(ts)
        print(ts.relative_to(ROOT), ts.with_suffix(".qm").relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
