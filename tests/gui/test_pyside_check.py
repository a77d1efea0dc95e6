from gui.pyside_check import refcount_problem
from gui.services import comfy_probe


def test_installed_pyside6_keeps_reference_counts(qapp):
    # PySide6 6.12.0 on Python 3.11 fails this, and the app would abort after a few hundred signals
    assert refcount_problem() is None


async def test_comfy_probe_describes_the_fake(fake_comfy):
    text = await comfy_probe(fake_comfy.url)
    assert text.startswith("ComfyUI ") and "4090" in text
