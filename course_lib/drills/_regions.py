"""Part 09's break-and-fix drills (notebook 09_multi_region): see :mod:`course_lib.drills`.

``09-cluster-label-drift``: the ApplicationSet ``guestbook-global`` deploys to every cluster whose Argo CD cluster
Secret carries ``env: production``. The Secret of ``prod-fra1`` was registered again by hand with ``env: prod``:
the clusters generator no longer picks it, so the Frankfurt region silently gets no Application (nothing fails,
nothing is red; the region is just missing). Only the API server is needed: the probe evaluates the live
ApplicationSet's selector over the live Secrets with the same semantics Argo CD uses
(:func:`course_lib.regions.match_clusters`). The drill's objects live in their own namespace ``drill-09``, where no
Argo CD looks, and their servers are loopback addresses where nothing listens.
"""

from __future__ import annotations

import base64
from typing import Any

from . import Drill, Verdict, drill
from ._live import delete_namespace

NAMESPACE = "drill-09"
APPSET = "guestbook-global"
DRIFTED = "prod-fra1"
#: name, env label, region: the fleet of the drill (prod-fra1's env label is the one that drifted)
FLEET = (("prod-nyc1", "production", "nyc1"), (DRIFTED, "prod", "fra1"), ("staging-fra1", "staging", "fra1"))
WANTED = ("prod-fra1", "prod-nyc1")


@drill
class ClusterLabelDrift(Drill):
    """A cluster Secret whose ``env`` label drifted (``prod`` instead of ``production``): the ApplicationSet's
    clusters generator skips that region."""

    id = "09-cluster-label-drift"
    title = "a region the ApplicationSet skips"
    symptom = (
        "the guestbook runs in nyc1 but not in fra1: the ApplicationSet generates no Application for prod-fra1, "
        "and nothing reports an error"
    )
    first_look = f"kubectl -n {NAMESPACE} get secrets -l argocd.argoproj.io/secret-type=cluster --show-labels"
    sandbox_only = "this drill writes Argo CD cluster Secrets, so it runs on the course's own control plane only"

    def objects(self) -> list[dict[str, Any]]:
        """Namespace, one cluster Secret per cluster of :data:`FLEET` and the ApplicationSet (``env: production``)."""
        from .. import manifests as m
        from .. import regions as rg

        labels = getattr(getattr(self.session, "settings", None), "labels", None)
        secrets = [
            rg.cluster_secret(
                name,
                server=f"https://127.0.0.1:{16441 + i}",  # loopback, nothing listens: no controller reads drill-09
                labels={"env": env, "region": region},
                namespace=NAMESPACE,
            )
            for i, (name, env, region) in enumerate(FLEET)
        ]
        appset = rg.application_set(APPSET, selector={"matchLabels": {"env": "production"}}, labels=labels)
        appset["metadata"]["namespace"] = NAMESPACE
        return [m.namespace(NAMESPACE, labels=labels), *secrets, appset]

    def break_(self) -> None:
        objects = self.objects()
        prepare = getattr(self.session, "prepare", None)
        if prepare is not None:  # the ApplicationSet CRD (upstream's, or a placeholder) on the course's control plane
            prepare(objects)
        self.session.cluster.apply(objects)
        self.remember([("Secret", DRIFTED, NAMESPACE), ("ApplicationSet", APPSET, NAMESPACE)])

    def selected(self) -> list[str]:
        """The clusters the live ApplicationSet's generator picks from the live cluster Secrets of ``drill-09``."""
        from .. import regions as rg

        cluster = self.session.cluster
        appset = cluster.get("ApplicationSet", APPSET, namespace=NAMESPACE)
        selector = ((appset.get("spec") or {}).get("generators") or [{}])[0].get("clusters", {}).get("selector") or {}
        live = cluster.list("Secret", namespace=NAMESPACE, selector=f"{rg.CLUSTER_SECRET_LABEL}=cluster")
        secrets = [
            {
                "metadata": s["metadata"],
                "stringData": {k: base64.b64decode(v).decode() for k, v in (s.get("data") or {}).items()},
            }
            for s in live
        ]
        return rg.match_clusters(selector, [s for s in secrets if "name" in s["stringData"]])

    def probe(self) -> Verdict:
        picked = self.selected()
        listed = ", ".join(picked) or "no cluster"
        if tuple(picked) == WANTED:
            return Verdict(True, f"the ApplicationSet picks {listed}: every production region gets the guestbook")
        extra = sorted(set(picked) - set(WANTED))
        hint = (
            "the selector now also picks a cluster that is not production"
            if extra
            else "compare the labels of each cluster Secret with the ApplicationSet's selector"
        )
        return Verdict(False, f"the ApplicationSet picks {listed}", hint, attempted=not self.untouched())

    def clean(self) -> None:
        cluster = self.session.cluster
        objects = self.objects()
        cluster.delete(objects[1:])
        delete_namespace(cluster, NAMESPACE, timeout=60)  # the next start() re-creates it: wait until it is gone
