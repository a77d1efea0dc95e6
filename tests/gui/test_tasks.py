"""Errors in words a host understands; the library's own words folded into the details."""
from __future__ import annotations

from comfy.errors import ComfyConnectionError
from gui.tasks import error_details, error_text

RAW = ("Cannot reach ComfyUI at http://127.0.0.1:9 (ClientConnectorError: Cannot connect to host 127.0.0.1:9 "
       "ssl:default [Connect call failed ('127.0.0.1', 9)]). Check that ComfyUI is running and that COMFY_URL is right.")


def test_library_names_stay_out_of_the_text_and_in_the_details():
    try:
        try:
            raise ConnectionRefusedError(111, "Connect call failed")
        except ConnectionRefusedError as cause:
            raise ComfyConnectionError(RAW) from cause
    except ComfyConnectionError as exc:
        error = exc
    assert error_text(error) == ("Cannot reach ComfyUI at http://127.0.0.1:9. Check that ComfyUI is running and "
                                 "that COMFY_URL is right.")
    details = error_details(error)
    assert "ClientConnectorError" in details and "ConnectionRefusedError" in details


def test_an_error_without_words_is_not_a_class_name():
    assert error_text(RuntimeError()) == "something went wrong (details in the log)"
    assert error_text(KeyError("x")) == "'x'"
