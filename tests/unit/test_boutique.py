"""Online Boutique as the course renders it: schema-valid, wired like upstream's release (every *_ADDR names a
Service and its port), and its service graph (what Kiali draws) read from the manifests, with each edge's PromQL."""

from __future__ import annotations

import pytest

from course_lib import manifests as m
from course_lib import plots
from course_lib.manifests import _boutique as b


def test_it_validates_and_has_a_deployment_per_component_and_a_service_per_server() -> None:
    objs = m.online_boutique()
    assert m.validate(objs).ok
    deployments = {o["metadata"]["name"] for o in objs if o["kind"] == "Deployment"}
    services = {o["metadata"]["name"] for o in objs if o["kind"] == "Service"}
    assert deployments == {s.name for s in b.SERVICES}
    assert services == {s.name for s in b.SERVICES if s.service_port} | {"frontend-external"}
    assert "loadgenerator" not in services
    ns = objs[0]
    assert ns["kind"] == "Namespace" and ns["metadata"]["labels"]["istio-injection"] == "enabled"


def test_every_address_variable_names_a_service_port_that_reaches_a_container_port() -> None:
    objs = m.online_boutique()
    services = {o["metadata"]["name"]: o for o in objs if o["kind"] == "Service"}
    containers = {
        o["metadata"]["name"]: o["spec"]["template"]["spec"]["containers"][0] for o in objs if o["kind"] == "Deployment"
    }
    for name, container in containers.items():
        for env in container.get("env", []):
            host, port = env["value"].split(":")
            svc = services[host]
            (svc_port,) = svc["spec"]["ports"]
            assert svc_port["port"] == int(port), (name, env)
            target = containers[svc["spec"]["selector"]["app"]]
            assert svc_port["targetPort"] == target["ports"][0]["containerPort"], (name, env)
    # two facts of upstream's release that a naive rendering gets wrong
    assert services["emailservice"]["spec"]["ports"][0] == {"name": "grpc", "port": 5000, "targetPort": 8080}
    assert services["frontend"]["spec"]["ports"][0]["port"] == 80


def test_options_leave_out_the_load_balancer_and_the_mesh_label() -> None:
    objs = m.online_boutique("shop-demo", external=False, mesh=False)
    assert "frontend-external" not in {o["metadata"]["name"] for o in objs}
    assert "istio-injection" not in (objs[0]["metadata"].get("labels") or {})
    assert {o["metadata"].get("namespace") for o in objs[1:]} == {"shop-demo"}
    with pytest.raises(Exception, match="namespace"):
        m.online_boutique("Not A Name")


def test_the_service_graph_has_upstreams_sixteen_calls_and_changes_with_the_manifests() -> None:
    objs = m.online_boutique()
    graph = m.service_graph(objs)
    assert len(graph) == 16
    assert set(graph[graph["source"] == "frontend"]["destination"]) == {
        "adservice", "cartservice", "checkoutservice", "currencyservice", "productcatalogservice",
        "recommendationservice", "shippingservice",
    }  # fmt: skip
    assert graph[graph["source"] == "cartservice"].to_dict("records") == [
        {"source": "cartservice", "destination": "redis-cart", "port": 6379, "variable": "REDIS_ADDR"}
    ]
    # without the Redis Service the cart's edge is gone: the graph is read, not listed
    fewer = [o for o in objs if not (o["kind"] == "Service" and o["metadata"]["name"] == "redis-cart")]
    assert len(m.service_graph(fewer)) == 15


def test_layers_put_callers_left_and_each_edge_has_a_query() -> None:
    graph = m.service_graph(m.online_boutique())
    layer = plots.graph_layers(graph)
    assert layer["loadgenerator"] == 0 and layer["frontend"] == 1 and layer["redis-cart"] == 4
    assert all(layer[s] < layer[d] for s, d in zip(graph["source"], graph["destination"], strict=True))
    queries = m.edge_queries(graph, namespace="boutique")
    assert len(queries) == 16 and all('reporter="source"' in q for q in queries["promql"])
    fig = plots.service_graph_figure(graph)
    assert len(fig.layout.annotations) == 16 and len(fig.data[0].x) == 12
