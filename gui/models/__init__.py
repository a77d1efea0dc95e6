"""Qt item models. Each is fed by CoreBridge signals (and a snapshot from a service when a window opens)."""
