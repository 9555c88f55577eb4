"""YAML in and out: many manifests as one multi-document stream, and back.

Example:
    >>> text = to_yaml([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}])
    >>> from_yaml(text)[0]["kind"]
    'Namespace'
    >>> from_yaml("ops: [=, '!=']")[0]["ops"]
    ['=', '!=']

Used in: notebooks 02, 04, 05, 08, 09 (``print(to_yaml(objects))``) and ``course validate --file``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..errors import ValidationError


def _loader() -> type:
    """PyYAML's safe loader, except that a bare ``=`` is the string ``"="`` (as Kubernetes' YAML reads it).

    PyYAML implements YAML 1.1's ``!!value`` tag for ``=`` and has no constructor for it, so upstream CRDs that
    list ``=`` in an enum (Argo CD's, for one) would not load. It is libyaml's parser where PyYAML was built with it
    (PyPI's wheels are): the same safe constructors, about 7 times faster on the upstream CRD files' 8.5 MB
    (benchmarks/yaml_load.py).
    """
    import yaml

    class Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
        pass

    Loader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node))  # type: ignore[arg-type]
    return Loader


def to_yaml(objects: Mapping[str, Any] | Iterable[Mapping[str, Any]]) -> str:
    """Dump one manifest or many as a YAML multi-document stream (``---`` between documents).

    Key order is kept as the builders wrote it (apiVersion, kind, metadata, spec ...).
    """
    import yaml

    docs = [objects] if isinstance(objects, Mapping) else list(objects)
    return yaml.safe_dump_all([dict(d) for d in docs], sort_keys=False, default_flow_style=False, width=120)


def from_yaml(text: str, *, source: str = "<text>") -> list[dict[str, Any]]:
    """Parse a YAML multi-document stream into a list of manifests (empty documents are skipped).

    Raises:
        ValidationError: the text is not YAML, or a document is not a mapping.
    """
    import yaml

    try:
        docs = list(yaml.load_all(text, Loader=_loader()))  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise ValidationError(
            f"{source} is not valid YAML: {exc}", hint="check indentation and that documents are separated by ---"
        ) from None
    result: list[dict[str, Any]] = []
    for index, doc in enumerate(docs):
        if doc is None:
            continue
        if not isinstance(doc, dict):
            raise ValidationError(
                f"document {index} of {source} is a {type(doc).__name__}, not a Kubernetes object",
                hint="every YAML document must be a mapping with apiVersion, kind and metadata",
            )
        result.append(doc)
    return result


def read_yaml_file(path: str | Path) -> list[dict[str, Any]]:
    """Read a YAML file (one or many documents) into manifests."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValidationError(f"cannot read {p}: {exc.strerror}", hint="check the path") from None
    return from_yaml(text, source=str(p))
