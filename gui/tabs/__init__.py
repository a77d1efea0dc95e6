"""The dashboard's tabs: Queue, Sessions, Workflows, Logs, History."""
