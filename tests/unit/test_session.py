"""``cl.start``: the first cell of every notebook sets plotly's renderer without loading it."""

from __future__ import annotations

import subprocess
import sys

import pytest

import course_lib as cl


def test_start_defers_plotly_renderers_but_they_come_up_as_mimetype() -> None:
    code = (
        "import sys, course_lib as cl\n"
        "cl.start(target='sandbox')\n"
        "print('loaded' if 'plotly.io._renderers' in sys.modules else 'deferred')\n"
        "import plotly.io as pio\n"
        "print(pio.renderers.default)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["deferred", "plotly_mimetype"]


def test_start_sets_the_renderer_when_plotly_is_already_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    import plotly.io as pio

    monkeypatch.setattr(pio.renderers, "default", "json")
    cl.start(target="sandbox")
    assert pio.renderers.default == "plotly_mimetype"


def test_start_rejects_a_bad_target_before_touching_the_display() -> None:
    with pytest.raises(cl.CourseError, match="target"):
        cl.start(target="moon")
