"""Part 3 on a cluster target (#16): without ``prometheus_url`` the notebook says, in one sentence, which
port-forward to run and what to pass, instead of a URL error."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from course_lib import observe
from course_lib.errors import ConfigError


def test_no_url_on_a_cluster_names_the_port_forward_and_the_value() -> None:
    with pytest.raises(ConfigError) as err:
        observe.prometheus_url(None, None)
    message = err.value.message
    assert "`kubectl port-forward -n monitoring svc/monitoring-kube-prometheus-prometheus 9090`" in message
    assert 'prometheus_url = "http://127.0.0.1:9090"' in message
    assert message.count(". ") == 0 and "\n" not in message  # one sentence
    assert "must start with" not in str(err.value)


def test_the_service_follows_the_release_name_like_the_chart() -> None:
    assert observe.prometheus_port_forward(release="kps", namespace="obs", port=19090) == (
        "kubectl port-forward -n obs svc/kps-kube-prometheus-stack-prometheus 19090:9090"
    )
    # the chart cuts its fullname to 26 characters and keeps a release that already contains its name
    assert "svc/observability-kube-prometh-prometheus " in observe.prometheus_port_forward(release="observability")
    assert "svc/kube-prometheus-stack-prometheus" in observe.prometheus_port_forward(release="kube-prometheus-stack")
    # the text the values file and the notebook's prose give for the course's own release
    assert observe.kube_prometheus_stack_install().release == "monitoring"


def test_a_stack_or_a_given_url_wins_and_a_bad_url_is_refused() -> None:
    stack = SimpleNamespace(endpoints=SimpleNamespace(prometheus="http://127.0.0.1:41234"))
    assert observe.prometheus_url(stack, "http://ignored:1") == "http://127.0.0.1:41234"
    assert observe.prometheus_url(None, "https://prom.example.com") == "https://prom.example.com"
    with pytest.raises(ConfigError, match="must be an http:// or https:// URL"):
        observe.prometheus_url(None, "127.0.0.1:9090")
