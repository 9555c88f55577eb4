"""How long ``import course_lib`` takes, and the first look-ups of its packaged data, in a fresh interpreter.

The budget is 0.1 s for the import (heavy packages load on first use). The data folder is found through
``importlib.resources`` (``course_lib._resources``) only when a module that needs it is imported, so the import
itself never pays for it. The script prints seconds (min / median of N runs) and asserts nothing.

    .venv/bin/python benchmarks/package_import.py [--runs 7]
"""

from __future__ import annotations

import argparse

from _timing import fresh_interpreter_seconds, summary

SNIPPETS = {
    "import course_lib": "import course_lib",
    "import + data_path('crds') (importlib.resources)": "import course_lib._resources as r; r.data_path('crds')",
    "import + tools.read_pins() (data/tools/pins.env)": "from course_lib import tools; tools.read_pins()",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    for label, code in SNIPPETS.items():
        print(f"  {label:<50} {summary(fresh_interpreter_seconds(code, args.runs))}")


if __name__ == "__main__":
    main()
