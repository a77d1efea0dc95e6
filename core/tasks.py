"""The TaskManager lives in `comfy.tasks` (comfy/ may not import core/, and its client owns tasks
too); core services import it from here."""
from comfy.tasks import TaskManager

__all__ = ["TaskManager"]
