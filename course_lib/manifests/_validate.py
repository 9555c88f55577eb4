"""Validate manifests offline: built-in kinds against Kubernetes' own OpenAPI schemas (kubernetes-validate,
strict mode, for a pinned Kubernetes version) and custom resources against the course's CRD schemas in
``data/crds/<group>/<Kind>_<version>.json``. A kind that is neither is an error, never a silent pass.

Example:
    >>> report = validate([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}])
    >>> report.ok, report.results[0].schema, report.results[0].validator
    (True, 'kubernetes 1.37 (strict)', 'kubernetes-validate (strict)')

Used in: notebooks 02, 04, 05, 08, 09 ("validate before you apply") and ``course validate``.
"""

from __future__ import annotations

import functools
import json
import sys
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from .._resources import MISSING_HINT, data_path
from ..errors import ConfigError, ValidationError, redact
from ._versions import OUTDATED

#: Kubernetes minor the built-in kinds are checked against: the one the sandbox's kube-apiserver runs
#: (``KUBERNETES_VERSION`` in ``data/tools/pins.env``), which is also the newest kubernetes-validate 1.37.0 ships
#: and one DOKS offers (override per call, e.g. with an older cluster's minor).
DEFAULT_KUBE_VERSION = "1.37"
#: Where the CRD schemas live: the package's ``data/crds`` (``course_lib._resources``; override ``COURSE_DATA_DIR``).
CRD_DIR = data_path("crds")
_MAX_MESSAGE = 300
_HIDDEN_PATHS = {("Secret", "data"), ("Secret", "stringData")}


@dataclass(frozen=True)
class ObjectResult:
    """The verdict on one object.

    Attributes:
        kind: ``kind`` of the object (``"?"`` when missing).
        name: ``metadata.name`` (``"?"`` when missing).
        api_version: ``apiVersion`` as written.
        namespace: ``metadata.namespace`` or ``None``.
        ok: no errors.
        errors: one readable line per problem: ``<field path>: <schema message>``.
        schema: which schema judged it (``kubernetes 1.34 (strict)`` or a ``data/crds/...`` path).
        validator: which validator judged it: ``kubernetes-validate (strict)`` for built-in kinds,
            ``authored schema (data/crds, from <upstream project and version>)`` for the course's CRD
            schemas, the batch's CustomResourceDefinition, or ``none``.
    """

    kind: str
    name: str
    api_version: str
    namespace: str | None
    ok: bool
    errors: tuple[str, ...] = ()
    schema: str = ""
    validator: str = ""


@dataclass(frozen=True)
class ValidationReport:
    """Results for a batch of objects, in input order.

    Example:
        >>> r = validate([{"apiVersion": "v1", "kind": "Nope", "metadata": {"name": "x"}}])
        >>> r.ok, r.failures[0].errors[0].startswith("unknown kind")
        (False, True)
    """

    results: tuple[ObjectResult, ...]
    kube_version: str = DEFAULT_KUBE_VERSION
    counts: Mapping[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when every object is valid."""
        return all(r.ok for r in self.results)

    @property
    def failures(self) -> tuple[ObjectResult, ...]:
        """The objects that failed."""
        return tuple(r for r in self.results if not r.ok)

    def rows(self) -> list[dict[str, Any]]:
        """One dict per object (kind, name, namespace, result, validator, errors) — ready for ``pandas.DataFrame``."""
        return [
            {
                "kind": r.kind,
                "name": r.name,
                "namespace": r.namespace or "",
                "result": "ok" if r.ok else "FAIL",
                "validator": r.validator,
                "errors": "; ".join(r.errors),
            }
            for r in self.results
        ]

    def validators(self) -> dict[str, str]:
        """Kind → the validator that judged it (kinds in first-seen order; several are joined with ``; ``)."""
        seen: dict[str, list[str]] = {}
        for r in self.results:
            names = seen.setdefault(r.kind, [])
            if r.validator not in names:
                names.append(r.validator)
        return {kind: "; ".join(names) for kind, names in seen.items()}

    def table(self, *, errors: bool = True) -> str:
        """A plain-text table (kind, name, result), failing objects followed by their schema messages, then
        which validator judged each kind, then the summary line."""
        width_kind = max([4, *(len(r.kind) for r in self.results)])
        width_name = max([4, *(len(_qualified(r)) for r in self.results)])
        lines = [f"{'KIND':<{width_kind}}  {'NAME':<{width_name}}  RESULT"]
        for r in self.results:
            lines.append(f"{r.kind:<{width_kind}}  {_qualified(r):<{width_name}}  {'ok' if r.ok else 'FAIL'}")
            if errors and not r.ok:
                lines.extend(f"    - {e}" for e in r.errors)
        by_kind = self.validators()
        if by_kind:
            width = max([4, *(len(k) for k in by_kind)])
            lines.append("")
            lines.append(f"{'KIND':<{width}}  VALIDATED BY")
            lines.extend(f"{kind:<{width}}  {validator}" for kind, validator in by_kind.items())
        passed = sum(r.ok for r in self.results)
        lines.append(f"{passed}/{len(self.results)} objects valid (Kubernetes {self.kube_version})")
        return "\n".join(lines)

    def raise_for_errors(self) -> ValidationReport:
        """Return ``self`` when all objects are valid, else raise :class:`~course_lib.errors.ValidationError`."""
        if self.ok:
            return self
        first = self.failures[0]
        raise ValidationError(
            f"{len(self.failures)} of {len(self.results)} objects are invalid; first: {first.kind} "
            f"{_qualified(first)}: {first.errors[0]}",
            hint="fix the fields named before the colon (see report.table() for all messages)",
        )

    def __str__(self) -> str:
        return self.table()

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # IPython shows the table
        printer.text(self.table())


def _qualified(r: ObjectResult) -> str:
    return f"{r.namespace}/{r.name}" if r.namespace else r.name


def _jsonschema() -> ModuleType:
    """Import ``jsonschema`` without its optional RFC 3987 IRI grammar.

    ``jsonschema`` imports ``rfc3987_syntax`` (installed by Jupyter) when present, and that module builds a
    lark grammar at import time: 3-8 s on the course machine, most of ``course validate``'s run time. The
    module is hidden for the one import, so only the ``iri``/``iri-reference`` format checks are missing
    in this process — no course schema uses them, and validation does not assert formats anyway.
    """
    if "jsonschema" not in sys.modules and "rfc3987_syntax" not in sys.modules:
        sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]
        try:
            import jsonschema
        finally:
            sys.modules.pop("rfc3987_syntax", None)
    import jsonschema

    return jsonschema


# --- schema lookup ---------------------------------------------------------------------------------


@functools.cache
def crd_index(crd_dir: str = str(CRD_DIR)) -> dict[tuple[str, str, str], Path]:
    """Map ``(group, version, kind)`` → schema file for every file in ``data/crds``.

    Raises:
        ConfigError: the directory is missing (the package's data folder is incomplete).
    """
    if not Path(crd_dir).is_dir():
        raise ConfigError(
            f"the CRD schema directory {crd_dir} does not exist",
            hint=MISSING_HINT,
        )
    index: dict[tuple[str, str, str], Path] = {}
    for path in sorted(Path(crd_dir).glob("*/*_*.json")):
        kind, _, version = path.stem.rpartition("_")
        index[(path.parent.name, version, kind)] = path
    return index


def crd_schemas(crd_dir: str | Path = CRD_DIR) -> list[dict[str, str]]:
    """The CRD schemas the course ships, with the upstream project and version each was written from."""
    rows = []
    for (group, version, kind), path in crd_index(str(crd_dir)).items():
        upstream = json.loads(path.read_text(encoding="utf-8")).get("x-upstream", {})
        rows.append(
            {
                "apiVersion": f"{group}/{version}",
                "kind": kind,
                "upstream": upstream.get("project", ""),
                "upstream_version": upstream.get("version", ""),
                "file": f"data/crds/{group}/{path.name}",
            }
        )
    return rows


#: The ObjectMeta schema every file in ``data/crds`` uses for ``metadata`` (``"$ref": OBJECTMETA_URI``).
OBJECTMETA_URI = "urn:course-lib:crds:objectmeta"


@functools.cache
def _crd_registry(crd_dir: Path) -> Any:
    """The shared definitions (``data/crds/objectmeta.json``) the CRD schemas refer to."""
    from referencing import Registry, Resource

    path = crd_dir / "objectmeta.json"
    if not path.is_file():
        return Registry()
    return Resource.from_contents(json.loads(path.read_text(encoding="utf-8"))) @ Registry()


#: How :attr:`ObjectResult.validator` names the built-in kinds' validator.
BUILTIN_VALIDATOR = "kubernetes-validate (strict)"


@functools.cache
def _crd_label(path: Path) -> str:
    """``authored schema (data/crds, from Argo CD v3.5.1)`` for a schema file, from its ``x-upstream``."""
    upstream = json.loads(path.read_text(encoding="utf-8")).get("x-upstream", {})
    project = str(upstream.get("project", "")).split(" (")[0]
    source = " ".join(part for part in (project, str(upstream.get("version", ""))) if part) or "unknown upstream"
    return f"authored schema (data/crds, from {source})"


@functools.cache
def _crd_validator(path: Path) -> Any:
    jsonschema = _jsonschema()
    schema = json.loads(path.read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema, registry=_crd_registry(path.parent.parent))


def _resolve_kube_version(kube_version: str) -> str:
    """``"1.37"``/``"v1.37.2"`` → the kubernetes-validate schema directory version (``"1.37.0"``)."""
    _jsonschema()
    from kubernetes_validate import utils as kv
    from packaging.version import InvalidVersion, Version

    wanted = kube_version.lstrip("v")
    available = sorted(set(kv.all_versions()), key=Version)
    try:
        minor = Version(wanted).release[:2]
    except InvalidVersion:
        minor = ()
    for version in available:
        if Version(version).release[:2] == minor:
            return version
    supported = ", ".join(".".join(v.split(".")[:2]) for v in available)
    raise ConfigError(
        f"Kubernetes {kube_version!r} is not a version kubernetes-validate knows",
        hint=f"use one of: {supported}",
    )


@functools.cache
def _builtin_registry(schema_version: str) -> Any:
    from kubernetes_validate import utils as kv
    from referencing import Registry, Resource

    defs = kv.schema_contents(
        f"kubernetes-json-schema/v{schema_version}-local-strict/_definitions.json", schema_version
    )
    return Resource.from_contents(defs) @ Registry()


@functools.cache
def _builtin_validator(schema_version: str, kind: str, api_version: str) -> Any:
    """A strict validator for a built-in kind, or ``None`` when Kubernetes has no such kind/apiVersion."""
    import re

    from kubernetes_validate import utils as kv

    jsonschema = _jsonschema()

    api = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    filename = f"kubernetes-json-schema/v{schema_version}-local-strict/{kind.lower()}-{api}.json"
    try:
        schema = kv.schema_contents(filename, schema_version)
    except FileNotFoundError:
        return None
    props = schema.get("properties", {})
    if kind not in props.get("kind", {}).get("enum", [kind]) or api_version not in props.get("apiVersion", {}).get(
        "enum", [api_version]
    ):
        return None  # the file name matched, but it is another kind or group (e.g. networking.istio.io)
    return jsonschema.Draft202012Validator(schema, registry=_builtin_registry(schema_version))


# --- validation ------------------------------------------------------------------------------------


def _format(kind: str, error: Any) -> str:
    path = [str(p) for p in error.absolute_path]
    where = (
        "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path).lstrip(".") or "(top level)"
    )
    if path and (kind, path[0]) in _HIDDEN_PATHS:
        message = f"value rejected by '{error.validator}' (value hidden: it may be secret)"
    else:
        message = _message(error)
    if len(message) > _MAX_MESSAGE:
        message = message[: _MAX_MESSAGE - 3] + "..."
    return redact(f"{where}: {message}")


def _message(error: Any) -> str:
    """The schema message, with the object left out where jsonschema would print all of it."""
    rule, instance = error.validator, error.instance
    if rule == "not" and isinstance(error.validator_value, Mapping) and set(error.validator_value) == {"required"}:
        fields = [str(f) for f in error.validator_value["required"]]
        return f"{' and '.join(fields)} are mutually exclusive: set only one"
    if rule in ("minProperties", "maxProperties") and isinstance(instance, Mapping):
        bound = "at least" if rule == "minProperties" else "at most"
        listed = ", ".join(sorted(map(str, instance))) or "none"
        return f"has {len(instance)} field(s) ({listed}); {bound} {error.validator_value} allowed"
    return str(error.message)


def _errors(validator: Any, kind: str, obj: Mapping[str, Any]) -> tuple[str, ...]:
    errors = sorted(validator.iter_errors(obj), key=lambda e: [str(p) for p in e.absolute_path])
    return tuple(_format(kind, e) for e in errors)


def _unknown(kind: str, api_version: str, kube_version: str) -> str:
    index = crd_index(str(CRD_DIR))
    for row in OUTDATED:
        if row.seed == api_version and kind in row.kind:
            return f"apiVersion {api_version} is outdated for {kind}: use {row.current} ({row.why})"
    same_kind = sorted(f"{g}/{v}" for (g, v, k) in index if k == kind)
    if same_kind:
        return f"no schema for {kind} in apiVersion {api_version}; the course has {kind} as {', '.join(same_kind)}"
    known = sorted({k for (_, _, k) in index})
    return (
        f"unknown kind {kind} (apiVersion {api_version}): not a built-in kind of Kubernetes {kube_version} "
        f"and no CRD schema in data/crds or CustomResourceDefinition in this batch (known custom kinds: {', '.join(known)})"
    )


def _structural(schema: Any) -> Any:
    """Turn a CRD's openAPIV3Schema into JSON Schema that behaves like the API server in strict mode.

    Objects that list ``properties`` reject other fields (unless ``x-kubernetes-preserve-unknown-fields``),
    ``nullable`` admits null and ``x-kubernetes-int-or-string`` admits both types.
    """
    if isinstance(schema, list):
        return [_structural(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: _structural(value) for key, value in schema.items()}
    if out.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["type"] = ["integer", "string"]
    if out.get("nullable") and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    if (
        "properties" in out
        and "additionalProperties" not in out
        and not out.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    if out.get("type") == "object" and "properties" in out and "metadata" in out["properties"]:
        out["properties"]["metadata"] = {"type": "object"}  # the API server checks metadata itself
    return out


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _batch_crds(items: list[Any]) -> dict[tuple[str, str, str], tuple[Any, str]]:
    """CustomResourceDefinitions in the batch → ``(group, version, kind)``: (validator or None, description)."""
    found: dict[tuple[str, str, str], tuple[Any, str]] = {}
    for obj in items:
        if not (isinstance(obj, Mapping) and obj.get("kind") == "CustomResourceDefinition"):
            continue
        spec = _mapping(obj.get("spec"))
        group, kind = spec.get("group"), _mapping(spec.get("names")).get("kind")
        if not isinstance(group, str) or not isinstance(kind, str):
            continue
        label = f"CustomResourceDefinition {_mapping(obj.get('metadata')).get('name', '?')} in this batch"
        versions = spec.get("versions")
        for version in versions if isinstance(versions, list) else []:
            if not isinstance(version, Mapping) or not isinstance(version.get("name"), str):
                continue
            schema = _mapping(version.get("schema")).get("openAPIV3Schema")
            validator = _jsonschema().Draft4Validator(_structural(schema)) if isinstance(schema, Mapping) else None
            found[(group, version["name"], kind)] = (validator, label)
    return found


def validate_object(
    obj: Mapping[str, Any],
    *,
    kube_version: str = DEFAULT_KUBE_VERSION,
    batch_crds: Mapping[tuple[str, str, str], tuple[Any, str]] | None = None,
) -> ObjectResult:
    """Validate one manifest; never raises for a bad manifest (the result carries the errors).

    Args:
        obj: the manifest.
        kube_version: Kubernetes minor for built-in kinds.
        batch_crds: custom kinds defined by CustomResourceDefinitions that travel with the object
            (see :func:`validate`); their openAPIV3Schema is used, strictly.

    Raises:
        ConfigError: ``kube_version`` is not one kubernetes-validate has schemas for.
    """
    if not isinstance(obj, Mapping):
        return ObjectResult(
            "?", "?", "?", None, False, (f"(top level): a manifest is a mapping, got {type(obj).__name__}",)
        )
    kind, api_version = obj.get("kind"), obj.get("apiVersion")
    raw_meta = obj.get("metadata")
    meta: Mapping[str, Any] = raw_meta if isinstance(raw_meta, Mapping) else {}
    name = meta["name"] if isinstance(meta.get("name"), str) else "?"
    namespace = meta["namespace"] if isinstance(meta.get("namespace"), str) else None
    shown_kind = kind if isinstance(kind, str) and kind else "?"

    def result(errors: tuple[str, ...], schema: str, validator: str = "none") -> ObjectResult:
        return ObjectResult(shown_kind, name, str(api_version), namespace, not errors, errors, schema, validator)

    if not isinstance(kind, str) or not isinstance(api_version, str) or not kind or not api_version:
        return result(("(top level): apiVersion and kind must both be set (strings)",), "none")
    group, _, version = api_version.rpartition("/")
    crd_path = crd_index(str(CRD_DIR)).get((group, version, kind))
    if crd_path is not None:
        return result(
            _errors(_crd_validator(crd_path), kind, obj), f"data/crds/{group}/{crd_path.name}", _crd_label(crd_path)
        )
    if batch_crds and (group, version, kind) in batch_crds:
        batch_validator, label = batch_crds[(group, version, kind)]
        if batch_validator is None:
            return result((), f"{label} (it has no schema, so only its presence is checked)", label)
        return result(_errors(batch_validator, kind, obj), label, f"{label} (strict)")
    schema_version = _resolve_kube_version(kube_version)
    minor = ".".join(schema_version.split(".")[:2])
    validator = _builtin_validator(schema_version, kind, api_version)
    if validator is None:
        return result((_unknown(kind, api_version, minor),), "none")
    errors = _errors(validator, kind, obj)
    if name == "?" and not errors:
        errors = ("metadata.name: is required",)
    return result(errors, f"kubernetes {minor} (strict)", BUILTIN_VALIDATOR)


def validate(
    objects: Mapping[str, Any] | Iterable[Mapping[str, Any]], *, kube_version: str = DEFAULT_KUBE_VERSION
) -> ValidationReport:
    """Validate manifests and return a :class:`ValidationReport` (it does not raise for invalid objects).

    A custom kind is known when the course ships its schema (``data/crds``) or when a
    CustomResourceDefinition for it is part of the same batch (as when a file installs a CRD and uses it).

    Args:
        objects: one manifest or many (e.g. a builder's output, or :func:`from_yaml` of a file).
        kube_version: Kubernetes minor for built-in kinds, e.g. ``"1.37"``.

    Example:
        >>> from course_lib.manifests import checkout_app
        >>> validate(checkout_app()).ok
        True

    Used in: notebooks 02, 04, 05, 08, 09.
    """
    items = [objects] if isinstance(objects, Mapping) else list(objects)
    _resolve_kube_version(kube_version)  # fail fast on a bad version, before any work
    batch_crds = _batch_crds(items)
    results = tuple(validate_object(o, kube_version=kube_version, batch_crds=batch_crds) for o in items)
    counts = dict(sorted(Counter(r.kind for r in results).items()))
    return ValidationReport(results=results, kube_version=kube_version, counts=counts)
