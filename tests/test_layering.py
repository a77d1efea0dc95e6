"""The architecture, checked from the imports: core/ and comfy/ know nothing of Qt or Discord;
bot/ and gui/ never import each other; comfy/ does not depend on core/; no module imports one
that imports it back, however indirectly."""
import ast
import graphlib
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


PROJECT = ("core", "comfy", "bot", "gui")


def project_modules(root: Path) -> dict[str, Path]:
    """Dotted module name -> file, for the project's packages and main.py."""
    modules = {}
    for package in PROJECT:
        for path in (root / package).rglob("*.py"):
            parts = path.relative_to(root).with_suffix("").parts
            modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    if (root / "main.py").exists():
        modules["main"] = root / "main.py"
    return modules


def project_imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules `name` imports anywhere in its file: at the top, in a function, or under
    TYPE_CHECKING (a cycle of type hints is still a cycle a reader has to untangle)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]

    def known(dotted: str) -> str | None:          # the module itself, or the package it lives in
        while dotted and dotted not in modules:
            dotted = dotted.rpartition(".")[0]
        return dotted or None

    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(known(alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            # `from bot import results` imports the module bot.results; `from bot.results import X` bot.results
            found.update(known(f"{base}.{alias.name}") if f"{base}.{alias.name}" in modules else known(base)
                         for alias in node.names)
    return found - {None, name}


def import_cycle(root: Path) -> list[str] | None:
    """One cycle of imports among the project's modules (a -> b -> ... -> a), None when there is none."""
    modules = project_modules(root)
    graph = {name: project_imports(name, path, modules) for name, path in modules.items()}
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as exc:
        return list(reversed(exc.args[1]))
    return None


def test_no_module_imports_one_that_imports_it_back():
    cycle = import_cycle(ROOT)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_check_sees_a_cycle_of_type_hints(tmp_path):
    (tmp_path / "bot").mkdir()
    (tmp_path / "bot" / "__init__.py").write_text("")
    (tmp_path / "bot" / "hub.py").write_text("from bot.delivery import deliver\n")
    (tmp_path / "bot" / "delivery.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .hub import Hub\n")
    (tmp_path / "bot" / "other.py").write_text("from bot import hub\nimport os\n")
    cycle = import_cycle(tmp_path)
    assert cycle is not None and sorted(set(cycle)) == ["bot.delivery", "bot.hub"]
    (tmp_path / "bot" / "delivery.py").write_text("def deliver(): pass\n")
    assert import_cycle(tmp_path) is None


def test_nothing_reads_the_shared_folder():
    offenders = [str(p.relative_to(ROOT)) for pkg in ("core", "comfy", "bot", "gui", "tests", "bench")
                 for p in (ROOT / pkg).rglob("*.py") if "../shared" in p.read_text(encoding="utf-8") and p.name != "test_layering.py"]
    offenders += ["main.py"] if "../shared" in (ROOT / "main.py").read_text() else []
    assert not offenders
