"""Request helpers: sizes for an aspect within a workflow's limits, image type by content."""
import pytest

from bot.requests import image_kind, size_for
from comfy.workflows import Range
from core.jobservice import WorkflowInfo, WorkflowLimits
from tests.bot.conftest import png

ANY_SIZE = Range(256, 2048, 16)


def make_info(width: Range = ANY_SIZE, height: Range = ANY_SIZE, defaults: dict | None = None) -> WorkflowInfo:
    defaults = {"width": 1024, "height": 1024} if defaults is None else defaults
    return WorkflowInfo("z", "Z", "imagine", defaults=defaults, limits=WorkflowLimits(width, height, 4, 4000))


@pytest.mark.parametrize("aspect, expected", [("square", (1024, 1024)), ("portrait", (832, 1248)),
                                              ("landscape", (1248, 832)), ("tall", (768, 1360)), ("wide", (1360, 768))])
def test_sizes_keep_about_the_default_area(aspect, expected):
    assert size_for(make_info(), aspect) == expected


def test_no_aspect_means_the_workflow_default():
    assert size_for(make_info(), None) == (None, None)
    assert size_for(None, None) == (None, None)


def test_sizes_stay_within_the_limits_and_keep_the_shape():
    small = make_info(width=Range(256, 1024, 64), height=Range(256, 768, 64))
    width, height = size_for(small, "tall")
    assert width <= 1024 and height <= 768 and width % 64 == 0 and height % 64 == 0
    assert width < height
    # A manifest that names no default size: the common 1024 x 1024 area.
    assert size_for(make_info(defaults={}), "square") == (1024, 1024)


def test_a_workflow_that_takes_no_size_keeps_its_own():
    fixed = WorkflowInfo("fixed", "Fixed", "imagine", defaults={}, limits=WorkflowLimits(None, None, 1, 4000))
    assert size_for(fixed, "wide") == (None, None)
    sized = WorkflowInfo("z", "Z", "imagine", defaults={"width": 1024, "height": 1024},
                         limits=WorkflowLimits(Range(256, 2048, 16), Range(256, 2048, 16), 4, 4000))
    assert size_for(sized, "wide") == (1360, 768)


def test_image_kind_by_content_not_name():
    assert image_kind(png()) == "png"
    assert image_kind(b"\xff\xd8\xff\xe0" + b"0" * 20) == "jpeg"
    assert image_kind(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "webp"
    assert image_kind(b"GIF89a....") is None
    assert image_kind(b"%PDF-1.7") is None
    assert image_kind(b"") is None
