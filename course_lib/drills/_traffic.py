"""Part 04's break-and-fix drills (notebook 04_networking_mesh): see :mod:`course_lib.drills`.

``04-route-wrong-port``: an IngressRoute whose backend names a port its Service does not have. Traefik (the real
proxy, a local process reading the sandbox API server) refuses to build that route, so every request for its host
gets Traefik's ``404 page not found`` although the IngressRoute, the Service and its endpoints all exist. The
backend is the checkout ``v1`` process Traefik's sandbox group runs on 127.0.0.1, put behind the selector-less
Service by a hand-written EndpointSlice (:func:`course_lib.manifests.local_endpoint_slice`): nothing is ever routed
to a pod or ClusterIP address.
"""

from __future__ import annotations

import time
from typing import Any

from . import Drill, Verdict, drill
from ._live import delete_namespace

NAMESPACE = "drill-04"
SERVICE = "shop"
ROUTE = "shop"
HOST = "shop.drill.example.com"
#: the port the Service really has (as every checkout Service of this part)
SERVICE_PORT = 80
#: the port the broken IngressRoute names instead
WRONG_PORT = 8080
#: seconds a probe waits for Traefik to read a change (its providers throttle updates to one every 2 s)
SETTLE = 15.0


@drill
class RouteWrongPort(Drill):
    """The IngressRoute ``drill-04/shop`` sends ``shop.drill.example.com`` to port 8080 of Service ``shop``, which
    only has port 80: Traefik logs ``service port not found`` and leaves the route out."""

    id = "04-route-wrong-port"
    title = "a route that Traefik will not build"
    symptom = (
        f"every request for {HOST} gets `404 page not found` from Traefik, although `kubectl get ingressroute` "
        "lists the route and the shop's Service has a ready endpoint"
    )
    first_look = f"kubectl -n {NAMESPACE} get ingressroute {ROUTE} -o yaml"
    needs = "traefik"

    def unavailable(self) -> str:
        from .. import tools

        if tools.find("traefik") is None:
            return "this drill needs Traefik, which is not built: run `make tools`"
        if getattr(self.session.cluster, "dry_run", True) or not getattr(self.session.cluster, "kubeconfig", None):
            return "this drill needs the sandbox's API server for Traefik to read"
        return ""

    # -- the objects ---------------------------------------------------------------------------------------------
    def _traefik(self) -> Any:
        """The running Traefik for this cluster's API server (started, and remembered as started, when none runs)."""
        from pathlib import Path

        from .. import sandbox

        kubeconfig = str(Path(str(self.session.cluster.kubeconfig)).resolve())
        running = sandbox.traefik_endpoints()
        if running is not None and running.kubeconfig == kubeconfig:
            return running
        self.state["started_traefik"] = True
        return sandbox.traefik_up(kubeconfig=kubeconfig)

    def objects(self, backend_port: int, *, route_port: int = WRONG_PORT) -> list[dict[str, Any]]:
        """Namespace, selector-less Service ``shop`` (port 80, named ``http``), the EndpointSlice that puts the
        local checkout ``v1`` process behind it, and the IngressRoute naming ``route_port``."""
        from .. import manifests as m

        labels = getattr(getattr(self.session, "settings", None), "labels", None)
        return [
            m.namespace(NAMESPACE, labels=labels),
            m.checkout_service(
                SERVICE, namespace=NAMESPACE, port=SERVICE_PORT, version="v1", select_pods=False, labels=labels
            ),
            m.local_endpoint_slice(SERVICE, namespace=NAMESPACE, port=backend_port, labels=labels),
            m.traefik_ingress_route(
                ROUTE,
                namespace=NAMESPACE,
                labels=labels,
                routes=[m.traefik_route(host=HOST, service=SERVICE, port=route_port)],
            ),
        ]

    def break_(self) -> None:
        up = self._traefik()
        port = int(up.ports["backend-v1"])
        self.state["backend_port"] = port
        self.session.cluster.apply(self.objects(port))
        self.remember(
            [
                ("IngressRoute", ROUTE, NAMESPACE),
                ("Service", SERVICE, NAMESPACE),
                ("EndpointSlice", f"{SERVICE}-local", NAMESPACE),
            ]
        )

    # -- the probe -----------------------------------------------------------------------------------------------
    def _request(self) -> tuple[int | None, str]:
        """One real request through Traefik's ``web`` entry point (127.0.0.1): its status and a description."""
        from .. import sandbox, traffic

        up = sandbox.traefik_endpoints()
        if up is None:
            return None, "Traefik is not running (no answer on its entry point): start it with traffic.start_edge"
        try:
            got = traffic.edge_request(up.web, HOST, "/orders/7", timeout=3.0)
        except OSError as exc:
            return None, f"no answer from Traefik on {up.web}: {type(exc).__name__}"
        if got.status == 200 and got.version:
            return 200, f"HTTP 200 through Traefik for {HOST}, answered by checkout {got.version}"
        if got.status == 200:
            return -1, f"HTTP 200 for {HOST}, but not from the shop's checkout backend"
        return got.status, f"HTTP {got.status} from Traefik for {HOST}"

    def probe(self) -> Verdict:
        hint = (
            "compare the port the IngressRoute's service names with the ports `kubectl get svc` lists; "
            "Traefik's dashboard shows the router in error"
        )
        untouched = self.untouched()
        status, message = self._request()
        deadline = time.monotonic() + (0 if untouched else SETTLE)
        while status != 200 and status is not None and time.monotonic() < deadline:
            time.sleep(0.25)  # Traefik reads the API server's change within a few seconds
            status, message = self._request()
        return Verdict(status == 200, message, "" if status == 200 else hint, attempted=not untouched)

    # -- clean ---------------------------------------------------------------------------------------------------
    def clean(self) -> None:
        from .. import sandbox

        cluster = self.session.cluster
        port = int(self.state.get("backend_port", 1))
        objects = self.objects(port)
        cluster.delete(objects[1:])  # the route, the slice and the Service; then their namespace
        delete_namespace(cluster, NAMESPACE, timeout=60)  # the next start() re-creates it: wait until it is gone
        if self.state.pop("started_traefik", False):
            sandbox.traefik_down()
