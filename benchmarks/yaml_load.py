"""How long does reading the upstream CRDs take, with libyaml's parser and with PyYAML's pure-Python one?

``course_lib.manifests.from_yaml`` parses with libyaml where PyYAML has it (PyPI's wheels do); the sandbox reads
the fetched CRDs (``make crds``: 40 CRDs in 8.5 MB of YAML) whenever a part needs CRDs the API server lacks. Prints the
seconds of both loaders over the same files (best of 3, in this process) and their ratio; the objects must be equal.
Nothing is asserted beyond that equality.

Run: .venv/bin/python benchmarks/yaml_load.py
"""

from __future__ import annotations

import sys
import time

import yaml

from course_lib.manifests import _yaml
from course_lib.sandbox import _crds


def best_of(runs: int, fn) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return min(times), result


def main() -> None:
    folder = _crds.cache_path()
    files = sorted(folder.glob("*.yaml"))
    if not files:
        sys.exit("no fetched CRDs: run `make crds` first")
    texts = [f.read_text() for f in files]
    size = sum(len(t) for t in texts) / 1e6

    class Pure(yaml.SafeLoader):
        pass

    Pure.add_constructor("tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node))  # type: ignore[arg-type]
    fast, fast_docs = best_of(3, lambda: [d for t in texts for d in _yaml.from_yaml(t)])
    slow, slow_docs = best_of(3, lambda: [d for t in texts for d in yaml.load_all(t, Loader=Pure)])  # noqa: S506
    assert fast_docs == [d for d in slow_docs if d is not None], "the two loaders read different objects"
    print(f"{len(files)} CRD files, {size:.1f} MB, {len(fast_docs)} documents (best of 3)")
    print(f"  from_yaml ({_yaml._loader().__mro__[1].__name__}): {fast:.2f} s")
    print(f"  pure-Python SafeLoader:          {slow:.2f} s")
    print(f"  ratio: {slow / fast:.1f}x")


if __name__ == "__main__":
    main()
