"""How long a notebook's first cell (``cl.start``) and its first plotly figure take, in a fresh interpreter.

``cl.start`` used to import plotly's renderers to set the mime-type renderer, and they import nbformat and
jsonschema's format checkers (a grammar compiled at import: seconds). It now sets ``PLOTLY_RENDERER`` instead,
so notebooks without plots never pay, and those with plots pay at their first figure. The script prints seconds
(min / median of N runs) and asserts nothing.

    .venv/bin/python benchmarks/session_start.py [--runs 5]
"""

from __future__ import annotations

import argparse

from _timing import fresh_interpreter_seconds, summary

START = "import course_lib as cl; cl.start(target='sandbox')"
FIGURE = "import plotly.graph_objects as go; fig = go.Figure(go.Scatter(x=[1, 2], y=[3, 4])); fig._repr_mimebundle_()"
SNIPPETS = {
    "cl.start()": START,
    "cl.start() + first figure": f"{START}; {FIGURE}",
    "the old start (renderers loaded eagerly)": (
        "import course_lib as cl; import plotly.io as pio; pio.renderers.default = 'plotly_mimetype'; "
        "cl.start(target='sandbox')"
    ),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    for label, code in SNIPPETS.items():
        times = fresh_interpreter_seconds(code, args.runs)
        print(f"  {label:<42} {summary(times)}")


if __name__ == "__main__":
    main()
