"""The architecture, checked from the imports: core/ and comfy/ know nothing of Qt or Discord;
bot/ and gui/ never import each other; comfy/ does not depend on core/."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {
    "core": {"PySide6", "qasync", "discord", "bot", "gui"},
    "comfy": {"PySide6", "qasync", "discord", "bot", "gui", "core", "sqlalchemy", "keyring"},
    "bot": {"gui", "PySide6", "qasync"},
    "gui": {"bot", "discord"},
}


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_respect_the_layers(package):
    offenders = []
    for path in sorted((ROOT / package).rglob("*.py")):
        bad = imported_roots(path) & FORBIDDEN[package]
        if bad:
            offenders.append(f"{path.relative_to(ROOT)} imports {', '.join(sorted(bad))}")
    assert not offenders, "\n".join(offenders)


def test_the_checker_sees_a_forbidden_import(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("import os\nfrom PySide6.QtCore import QObject\nfrom . import sibling\n")
    assert imported_roots(sample) == {"os", "PySide6"}


def test_nothing_reads_the_shared_folder():
    offenders = [str(p.relative_to(ROOT)) for pkg in ("core", "comfy", "bot", "gui", "tests", "bench")
                 for p in (ROOT / pkg).rglob("*.py") if "../shared" in p.read_text(encoding="utf-8") and p.name != "test_layering.py"]
    offenders += ["main.py"] if "../shared" in (ROOT / "main.py").read_text() else []
    assert not offenders
