"""First start: the user's folders exist and hold their own copy of the shipped workflows.

Workflows are files users edit (model names, enabled flags), so they live in the user's data
folder. Files already there are never overwritten, so an upgrade keeps the user's changes; a
workflow shipped by a newer version is added beside them.
"""
from __future__ import annotations

import logging
import shutil
from pathlib import Path

from core.errors import SettingsError
from core.paths import AppPaths, resource_root

log = logging.getLogger(__name__)


def bundled_workflows_dir() -> Path:
    return resource_root() / "flujos"


def ensure_user_files(paths: AppPaths, workflows_dir: Path | None = None) -> list[Path]:
    """Create the app's folders and copy shipped workflows that the user does not have yet."""
    target = workflows_dir or paths.workflows_dir
    try:
        for folder in (paths.config_dir, paths.data_dir, paths.images_dir, paths.inputs_dir, paths.logs_dir, target):
            folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SettingsError(
            f"Cannot create {exc.filename} ({exc.strerror}): make the folder writable or set IMAGEBOT_HOME to a writable folder."
        ) from exc
    copied = []
    for source in sorted(bundled_workflows_dir().glob("*.json")):
        destination = target / source.name
        if not destination.exists():
            shutil.copy2(source, destination)
            copied.append(destination)
    if copied:
        log.info("Copied %d shipped workflow files to %s", len(copied), target)
    return copied
