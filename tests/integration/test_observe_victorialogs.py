"""VictoriaLogs, the sandbox's log store, as the real process: the checkout's Loki-protocol pushes arrive as
streams, every LogsQL twin of the course's LogQL questions runs, injected errors show up in the lines and the
counts, the process listens on loopback only, and without it the client fails instead of answering."""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from course_lib import observe, sandbox, tools
from course_lib.errors import QueryError
from tests.unit.test_observe_victorialogs import ENTRIES

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not tools.available("victoria-logs"), reason="VictoriaLogs is not built: run `make tools`"),
]


def _poll(check, timeout: float, interval: float = 0.2):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sandbox.Stack]:
    old = os.environ.get("COURSE_STATE_DIR")
    os.environ["COURSE_STATE_DIR"] = str(tmp_path_factory.mktemp("logs-state"))
    try:
        yield sandbox.up(timeout=60)
    finally:
        sandbox.down()
        if old is None:
            os.environ.pop("COURSE_STATE_DIR", None)
        else:
            os.environ["COURSE_STATE_DIR"] = old


@pytest.fixture()
def logs(stack: sandbox.Stack) -> observe.VictoriaLogs:
    return observe.VictoriaLogs(sandbox.up().endpoints.victorialogs)


def _checkout_lines(logs: observe.VictoriaLogs, query: str = '{app="checkout"}') -> int:
    try:
        return len(logs.query(query, start="-5m", limit=50))
    except QueryError:
        return 0


def test_checkout_pushes_arrive_as_streams_with_the_agents_labels(logs: observe.VictoriaLogs) -> None:
    assert _poll(lambda: _checkout_lines(logs), 20), "no checkout line reached VictoriaLogs"
    assert {"app", "job", "level", "namespace"} <= set(logs.stream_fields('{app="checkout"}', start="-5m"))
    frame = logs.query('{app="checkout"}', start="-5m", limit=20)
    assert set(frame["namespace"]) == {"shop"} and frame["line"].str.contains("duration_ms=").all()
    assert frame["timestamp"].is_monotonic_increasing


def test_the_recorded_answers_have_the_real_fields(logs: observe.VictoriaLogs, stack: sandbox.Stack) -> None:
    """The unit tests' recorded entry must look like what the real store sends (no invented or missing field)."""
    assert _poll(lambda: _checkout_lines(logs), 20)
    url = f"{stack.endpoints.victorialogs}/select/logsql/query?" + urllib.parse.urlencode(
        {"query": '{app="checkout"}', "limit": 1}
    )
    with urllib.request.urlopen(url, timeout=5) as response:
        real = json.loads(response.read().decode().splitlines()[0])
    assert set(real) == set(ENTRIES[0])


def test_every_logsql_twin_runs_on_the_real_store(logs: observe.VictoriaLogs) -> None:
    assert _poll(lambda: _checkout_lines(logs), 20)
    for _logql, logsql, _answers in observe.LOGQL_TO_LOGSQL:
        if "| stats" in logsql:
            frame = logs.stats_range(logsql, start="-2m", step="10s")
            assert {"timestamp", "value"} <= set(frame.columns) and not frame.empty, logsql
        else:
            logs.query(logsql, start="-2m", limit=10)  # raises QueryError if VictoriaLogs cannot parse it


def test_injected_errors_show_in_lines_and_counts(logs: observe.VictoriaLogs, stack: sandbox.Stack) -> None:
    stack.inject(error_rate=1.0)
    try:
        assert _poll(lambda: _checkout_lines(logs, '{app="checkout", level="error"} *error*'), 20)
    finally:
        stack.inject()
    errors = logs.query('{app="checkout"} | unpack_logfmt | filter status:=500', start="-2m", limit=100)
    assert len(errors) and set(errors["level"]) == {"error"}
    by_level = logs.stats_range('{app="checkout"} | stats by (level) count()', start="-2m", step="30s")
    assert by_level.loc[by_level["level"] == "error", "value"].sum() >= 1
    hits = logs.hits('{app="checkout", level="error"}', start="-2m", step="30s")
    assert hits["value"].sum() >= len(errors) > 0


def _listening(pid: int) -> set[str]:
    return {c.laddr.ip for c in psutil.Process(pid).net_connections(kind="inet") if c.status == psutil.CONN_LISTEN}


def test_the_store_listens_on_loopback_only(stack: sandbox.Stack) -> None:
    (entry,) = [s for s in sandbox.status().services if s.name == "victorialogs"]
    assert entry.pid and entry.url.startswith("http://127.0.0.1:")
    addresses = _listening(entry.pid)
    assert addresses and all(a.startswith("127.") for a in addresses), addresses


def test_without_the_store_the_client_fails_and_status_says_so(stack: sandbox.Stack) -> None:
    current = sandbox.up()
    (entry,) = [s for s in sandbox.status().services if s.name == "victorialogs"]
    assert entry.pid
    os.kill(entry.pid, signal.SIGKILL)
    assert _poll(lambda: not sandbox.status().healthy, 5)
    with pytest.raises(QueryError, match="could not reach VictoriaLogs"):
        observe.VictoriaLogs(current.endpoints.victorialogs, timeout=2).query('{app="checkout"}')
    fresh = sandbox.up()  # replaced, and lines flow again
    assert not fresh.reused and sandbox.status().healthy
    assert _poll(lambda: _checkout_lines(observe.VictoriaLogs(fresh.endpoints.victorialogs)), 20)


def test_down_leaves_no_store_process_and_no_data(stack: sandbox.Stack, tmp_path: Path) -> None:
    current = sandbox.up()
    (entry,) = [s for s in sandbox.status().services if s.name == "victorialogs"]
    data = current.workdir / "victorialogs-data"
    assert data.is_dir()
    sandbox.down()
    assert _poll(lambda: not psutil.pid_exists(entry.pid) or psutil.Process(entry.pid).status() == "zombie", 5)
    assert not data.exists()
