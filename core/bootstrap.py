"""First start: the user's folders exist; the workflow catalog knows where shipped and user workflows live.

The user's workflows folder holds only the user's own files (their workflows, and manifests that
change a shipped workflow's models or enabled flag); shipped workflows stay in the app.
"""
from __future__ import annotations

from pathlib import Path

from comfy.catalog import WorkflowCatalog
from core.errors import SettingsError
from core.paths import AppPaths, resource_root


def bundled_workflows_dir() -> Path:
    return resource_root() / "flujos"


def ensure_user_files(paths: AppPaths, workflows_dir: Path | None = None) -> None:
    """Create the app's folders. Shipped workflows are not copied: they are read-only defaults
    loaded from the app itself (see workflow_catalog), so an upgrade brings their fixes and a
    removed one stays removed."""
    target = workflows_dir or paths.workflows_dir
    try:
        for folder in (paths.config_dir, paths.data_dir, paths.images_dir, paths.inputs_dir, paths.logs_dir, target):
            folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SettingsError(
            f"Cannot create {exc.filename} ({exc.strerror}): make the folder writable or set IMAGEBOT_HOME to a writable folder."
        ) from exc


def workflow_catalog(settings) -> WorkflowCatalog:
    """The workflow catalog: the shipped defaults under the user's workflows folder."""
    return WorkflowCatalog(settings.workflows_path, bundled_workflows_dir())
