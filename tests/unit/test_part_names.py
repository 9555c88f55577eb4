"""Names that never collide between parts (#16): every manifest the course registers, rendered, and grouped by
identity (API group, kind, namespace, name). Two parts may share an object only on purpose, consistently: the same
identity from two parts must be the same object, annotations aside (Part 9 marks Part 4's checkout Service global
for Cilium with one; an annotation changes no selector and no immutable field). (The old Part 4 / Part 6 clash was a Deployment ``checkout`` in
``shop`` with other selector labels: Part 6 now installs its release into a namespace of its own.)"""

from __future__ import annotations

import json
from collections import defaultdict

from course_lib import manifests as m


def _identity(obj: dict) -> tuple[str, str, str, str]:
    group = obj["apiVersion"].rpartition("/")[0]
    meta = obj["metadata"]
    return group, obj["kind"], meta.get("namespace") or "", meta["name"]


def _by_identity() -> dict[tuple[str, str, str, str], dict[str, str]]:
    """identity → {part: the object as canonical JSON}; a part that renders one identity twice keeps both apart."""
    seen: dict[tuple[str, str, str, str], dict[str, str]] = defaultdict(dict)
    for entry, objects in m.render_all().items():
        part = entry.split("/", 1)[0]
        for obj in objects:
            if obj.get("kind") == "Namespace":
                continue  # a namespace is shared on purpose; its objects are compared below
            key = f"{part}:{entry}" if part in seen[_identity(obj)] else part
            bare = {**obj, "metadata": {k: v for k, v in obj["metadata"].items() if k != "annotations"}}
            seen[_identity(obj)][key] = json.dumps(bare, sort_keys=True)
    return seen


def test_no_two_parts_register_different_objects_under_one_name() -> None:
    clashes = {
        identity: sorted(parts)
        for identity, parts in _by_identity().items()
        if len({p.split(":")[0] for p in parts}) > 1 and len(set(parts.values())) > 1
    }
    assert not clashes, clashes


def test_the_check_sees_a_clash_like_the_old_checkout_deployment() -> None:
    seen = _by_identity()
    assert ("apps", "Deployment", "shop", "checkout") in seen  # Part 4's own Deployments are in the picture
    assert {"04", "09"} <= set(seen[("", "Service", "shop", "checkout")])  # shared on purpose, and equal
    part4 = m.render("04/checkout-app")
    clash = json.loads(json.dumps(next(o for o in part4 if o["kind"] == "Deployment")))
    clash["spec"]["selector"] = {"matchLabels": {"app.kubernetes.io/name": "checkout"}}  # what Part 6 used to apply
    assert json.dumps(clash, sort_keys=True) not in set(seen[_identity(clash)].values())
