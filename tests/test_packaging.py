"""build.spec, checked without building: it is run with stand-ins for PyInstaller's build steps.

The real build and a `--self-test` of the built app run in CI (.ci/run); these checks catch a
missing data folder, a dropped driver or an exclude that the code imports in a second.
"""
from __future__ import annotations

import ast
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "build.spec"
PROJECT_PACKAGES = ("core", "comfy", "bot", "gui")


class _Step:
    """Records what the spec passes to one PyInstaller build step."""

    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs
        self.binaries, self.datas, self.pure, self.scripts = [], [], [], []


def _run_spec(distpath: Path, platform: str = sys.platform) -> dict:
    """The spec's namespace after it ran as on `platform`, plus the collect_submodules calls it made.
    Its COLLECT leaves the bundle's executables in `distpath` as empty files, as PyInstaller names them."""
    import PyInstaller.utils.hooks as hooks

    collected = []

    def fake_collect_submodules(package, filter=None, **_):
        collected.append(package)
        return []

    real, saved_path, saved_platform = hooks.collect_submodules, list(sys.path), sys.platform
    hooks.collect_submodules = fake_collect_submodules
    namespace = {"SPECPATH": str(ROOT), "DISTPATH": str(distpath), "__file__": str(SPEC), "__name__": "__main__"}
    namespace.update({name: type(name, (_Step,), {}) for name in ("Analysis", "PYZ", "EXE", "BUNDLE")})

    class COLLECT(_Step):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            bundle = distpath / kwargs["name"]
            bundle.mkdir(parents=True)
            for exe in (arg for arg in args if isinstance(arg, namespace["EXE"])):
                name = exe.kwargs["name"]
                (bundle / (name if platform != "win32" or name.endswith(".exe") else name + ".exe")).touch()

    namespace["COLLECT"] = COLLECT
    try:
        sys.platform = platform
        exec(compile(SPEC.read_text(encoding="utf-8"), str(SPEC), "exec"), namespace)
    finally:
        sys.platform = saved_platform
        hooks.collect_submodules = real
        sys.path[:] = saved_path
    namespace["collected"] = collected
    return namespace


@pytest.fixture(scope="module")
def spec(tmp_path_factory):
    return _run_spec(tmp_path_factory.mktemp("dist"))


def _project_files(folder: str) -> list[Path]:
    return [p for p in sorted((ROOT / folder).rglob("*")) if p.is_file() and "__pycache__" not in p.parts]


def test_every_runtime_folder_is_shipped_file_by_file(spec):
    shipped = {(Path(src).resolve(), dest) for src, dest in spec["a"].kwargs["datas"]}
    # What `resource_root()` users read: workflows, icons and translations, Alembic's scripts.
    assert {"flujos", "resources", "core/store/migrations"} <= set(spec["DATA_FOLDERS"])
    for folder in spec["DATA_FOLDERS"]:
        for path in _project_files(folder):
            assert (path.resolve(), path.parent.relative_to(ROOT).as_posix()) in shipped, path
    destinations = {dest for _, dest in shipped}
    assert {"flujos", "core/store/migrations", "core/store/migrations/versions"} <= destinations


def test_project_packages_and_loaded_by_name_modules_are_collected(spec):
    assert set(PROJECT_PACKAGES) <= set(spec["collected"])
    assert "alembic" in spec["collected"]
    hidden = set(spec["a"].kwargs["hiddenimports"])
    assert {
        "aiosqlite", "sqlalchemy.dialects.sqlite.aiosqlite",
        "psycopg", "psycopg_binary", "sqlalchemy.dialects.postgresql.psycopg",
        "aiomysql", "pymysql", "sqlalchemy.dialects.mysql.aiomysql",
        "qasync", "PySide6.QtWidgets", "discord.ext.commands",
    } <= hidden
    # Alembic loads env.py and the migration scripts by path: their imports must be listed.
    assert {"alembic", "sqlalchemy", "core.store.models"} <= hidden


def _imported_modules(paths: list[Path]) -> set[str]:
    modules = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                modules.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                modules.add(node.module)
                modules.update(f"{node.module}.{alias.name}" for alias in node.names)
    return modules


def test_nothing_the_app_imports_is_excluded(spec):
    sources = [ROOT / "main.py"] + [p for pkg in PROJECT_PACKAGES for p in _project_files(pkg) if p.suffix == ".py"]
    sources += [p for p in _project_files("core/store/migrations") if p.suffix == ".py"]
    imported = _imported_modules(sources)
    for excluded in spec["excludes"]:
        users = sorted(m for m in imported if m == excluded or m.startswith(excluded + "."))
        assert not users, f"build.spec excludes {excluded}, but the app imports {users}"


def test_windowed_except_on_linux_one_dir_named_after_the_app(spec):
    exe, coll = spec["exe"], spec["coll"]
    assert exe.kwargs["console"] is sys.platform.startswith("linux")
    assert exe.kwargs["exclude_binaries"] is True  # one-dir: the libraries sit beside the executable
    assert exe.kwargs["name"] == coll.kwargs["name"] == "FuLLetLabsImageBot"


def test_linux_bundle_has_one_executable(tmp_path):
    spec = _run_spec(tmp_path, "linux")
    assert spec["coll"].args[0] is spec["exe"] and spec["exe"].kwargs["console"] is True
    assert sorted(p.name for p in (tmp_path / "FuLLetLabsImageBot").iterdir()) == ["FuLLetLabsImageBot"]


def test_windows_bundle_has_a_console_twin_renamed_to_com(tmp_path):
    """FuLLetLabsImageBot.com, a console build of the same program, sits beside the windowed .exe: cmd
    and PowerShell run it for `FuLLetLabsImageBot --help` (PATHEXT: .COM before .EXE) and wait for it."""
    spec = _run_spec(tmp_path, "win32")
    exe, console, coll = spec["exe"], spec["console_exe"], spec["coll"]
    assert exe.kwargs["console"] is False and console.kwargs["console"] is True
    assert coll.args[:2] == (exe, console)  # one bundle: both share _internal/
    assert console.args == exe.args  # the same code
    same = {k: v for k, v in console.kwargs.items() if k not in ("name", "console")}
    assert same == {k: v for k, v in exe.kwargs.items() if k not in ("name", "console")}
    assert exe.kwargs["icon"] and exe.kwargs["exclude_binaries"] is True
    bundle = tmp_path / "FuLLetLabsImageBot"
    assert sorted(p.name for p in bundle.iterdir()) == ["FuLLetLabsImageBot.com", "FuLLetLabsImageBot.exe"]


def test_size_filter_drops_qt_extras_but_keeps_what_runs_the_app(spec):
    drop = spec["DROP"]
    for name in ("PySide6/Qt/translations/qtbase_de.qm", "PySide6/Qt/plugins/platformthemes/libqgtk3.so",
                 "PySide6/Qt/plugins/platforms/libqwayland-generic.so", "libgtk-3.so.0", "PySide6/Qt/lib/libQt6WaylandClient.so.6"):
        assert drop.search(name), name
    for name in ("PySide6/Qt/plugins/platforms/libqxcb.so", "PySide6/Qt/plugins/platforms/libqoffscreen.so",
                 "PySide6/Qt/lib/libQt6Widgets.so.6", "PySide6/Qt/plugins/imageformats/libqsvg.so",
                 "PySide6/Qt/plugins/platforminputcontexts/libibusplatforminputcontextplugin.so", "resources/icons/app.png",
                 "PySide6/Qt/translations/qtbase_es.qm", "resources/i18n/qt/imagebot_es.qm"):   # the Spanish GUI
        assert not drop.search(name), name


@pytest.fixture
def fake_bundle(spec, tmp_path, monkeypatch):
    """The data part of the bundle, laid out as the spec ships it, announced as `sys._MEIPASS`."""
    bundle = tmp_path / "bundle" / "_internal"
    for src, dest in spec["a"].kwargs["datas"]:
        (bundle / dest).mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, bundle / dest)
    monkeypatch.setattr(sys, "_MEIPASS", str(bundle), raising=False)
    return bundle


def test_resources_and_migrations_resolve_from_the_bundle(fake_bundle):
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from core.paths import resource_root
    from core.store import head_revision

    assert resource_root() == fake_bundle
    for folder in ("resources", "flujos", "core/store/migrations/versions"):  # what --self-test checks
        assert (resource_root() / folder).is_dir()
    config = Config()
    config.set_main_option("script_location", str(fake_bundle / "core" / "store" / "migrations"))
    assert ScriptDirectory.from_config(config).get_current_head() == head_revision()


def test_first_start_from_the_bundle_loads_the_shipped_workflows_without_copying_them(fake_bundle, app_paths):
    from core.bootstrap import ensure_user_files, workflow_catalog
    from core.settings import Settings

    shipped = sorted(p.stem for p in (fake_bundle / "flujos").glob("*.json") if not p.name.endswith(".manifest.json"))
    assert shipped
    ensure_user_files(app_paths)
    assert app_paths.workflows_dir.is_dir() and list(app_paths.workflows_dir.iterdir()) == []
    workflows = workflow_catalog(Settings(paths=app_paths)).load()
    assert sorted(workflows.templates) == shipped and workflows.errors == []
    assert all(t.shipped for t in workflows.templates.values())
