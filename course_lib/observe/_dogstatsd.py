"""DogStatsD, the protocol an app uses to send custom metrics to the Datadog Agent: datagrams, and a loopback
listener that receives them.

A DogStatsD datagram is one text line per metric sample, sent over UDP (port 8125) or a Unix socket::

    custom.checkout.latency:123.4|h|@0.5|#service:checkout-api,env:course|c:ci-1234

— ``name:value`` (several values may be packed as ``name:1:2:3``), ``|type`` (``c`` count, ``g`` gauge, ``ms``
timer, ``h`` histogram, ``d`` distribution, ``s`` set), then optional fields: ``|@rate`` (sample rate), ``|#tags``,
``|T<unix seconds>`` (timestamp), ``|c:<container id>`` and ``|e:<external data>`` (origin detection). The Agent
aggregates what it receives and forwards it to Datadog; there a monitor such as
``avg(last_5m):avg:custom.checkout.latency{service:checkout-api} > 400`` reads the metric by name and tags.

The name a monitor can read depends on the type (:func:`queryable_names`): a count, gauge, set or distribution
keeps its name, but the Agent turns a histogram or timer into five metrics, ``<name>.avg``, ``.count``,
``.median``, ``.max`` and ``.95percentile`` (its default ``histogram_aggregates`` and ``histogram_percentiles``).
So a latency sent as a histogram is queried as ``custom.checkout.latency.avg``, and a monitor on
``custom.checkout.latency`` reads nothing; the checkout app sends a distribution.

:class:`DogStatsdListener` is **not** the Datadog Agent: it is a UDP socket on 127.0.0.1 that keeps what arrives,
so a notebook sees the exact datagrams a real client library (the checkout app's ``hot-shots``) sends, and
:func:`monitor_inputs` checks that each monitor's query reads a metric, with tags, that really arrives.

Example:
    >>> [d.name for d in parse_datagrams("custom.checkout.latency:12.5|h|#service:checkout-api")]
    ['custom.checkout.latency']
    >>> parse_datagrams("a.b:1:2|c|@0.5")[1].value
    2.0

Used in: notebook 03.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..errors import ConfigError, ValidationError
from ._datadog import METRIC_REF

if TYPE_CHECKING:
    import pandas as pd

    from ._datadog import DatadogMonitor

#: DogStatsD metric types → what they mean.
TYPES = {"c": "count", "g": "gauge", "ms": "timer", "h": "histogram", "d": "distribution", "s": "set"}
#: What the Agent forwards for one histogram or timer (its defaults: ``histogram_aggregates`` max, median, avg,
#: count and ``histogram_percentiles`` 0.95).
HISTOGRAM_SUFFIXES = ("avg", "count", "median", "max", "95percentile")
_NAME = re.compile(r"[A-Za-z][\w.]*")


@dataclass(frozen=True)
class Datagram:
    """One metric sample as DogStatsD carries it.

    Attributes:
        name: metric name (``custom.checkout.latency``).
        value: the sample (a set's member is kept as text in ``raw``; its value is NaN).
        type: ``c``, ``g``, ``ms``, ``h``, ``d`` or ``s`` (:data:`TYPES`).
        sample_rate: ``@rate`` (1.0 when absent): the client sent one in 1/rate samples.
        tags: ``key:value`` (or bare) tags, in the order sent.
        timestamp: ``|T`` seconds, when the client set one.
        container: ``|c:`` origin-detection container id, when present.
        raw: the line as received.
    """

    name: str
    value: float
    type: str
    sample_rate: float = 1.0
    tags: tuple[str, ...] = ()
    timestamp: int | None = None
    container: str | None = None
    raw: str = field(default="", compare=False)

    def tag(self, key: str) -> str | None:
        """The value of tag ``key`` (``None`` when absent)."""
        for t in self.tags:
            k, _, v = t.partition(":")
            if k == key:
                return v
        return None

    @property
    def queryable(self) -> tuple[str, ...]:
        """The metric names Datadog stores for this sample (:func:`queryable_names`)."""
        return queryable_names(self.name, self.type)

    def matches(self, scope: str) -> bool:
        """True when the sample is in a Datadog query scope: ``*``, or every ``key:value`` of ``a:b,c:d``."""
        wanted = [s.strip() for s in scope.split(",") if s.strip() and s.strip() != "*"]
        return all(w in self.tags for w in wanted)


def queryable_names(name: str, kind: str) -> tuple[str, ...]:
    """The metric names a monitor can query for samples of ``name`` sent as DogStatsD type ``kind``.

    Example:
        >>> queryable_names("custom.checkout.latency", "d")
        ('custom.checkout.latency',)
        >>> queryable_names("custom.checkout.latency", "h")[:2]
        ('custom.checkout.latency.avg', 'custom.checkout.latency.count')
    """
    if kind not in TYPES:
        raise ConfigError(f"unknown DogStatsD type {kind!r}", hint=f"one of {', '.join(TYPES)}")
    if kind in ("h", "ms"):
        return tuple(f"{name}.{s}" for s in HISTOGRAM_SUFFIXES)
    return (name,)


def _parse_line(line: str) -> list[Datagram]:
    if line.startswith(("_e{", "_sc|")):
        return []  # events and service checks: not metrics
    head, sep, rest = line.partition("|")
    name, colon, values = head.partition(":")
    if not sep or not colon or not _NAME.fullmatch(name) or not values:
        raise ValidationError(f"not a DogStatsD metric line: {line!r}", hint="expected name:value|type[|@rate][|#tags]")
    fields = rest.split("|")
    kind = fields[0]
    if kind not in TYPES:
        raise ValidationError(f"unknown DogStatsD type {kind!r} in {line!r}", hint=f"one of {', '.join(TYPES)}")
    rate, stamp, container = 1.0, None, None
    tags: tuple[str, ...] = ()
    for f in fields[1:]:
        if f.startswith("@"):
            rate = float(f[1:])
        elif f.startswith("#"):
            tags = tuple(t for t in f[1:].split(",") if t)
        elif f.startswith("T") and f[1:].isdigit():
            stamp = int(f[1:])
        elif f.startswith("c:"):
            container = f[2:]
        # e:<external data> and future fields: ignored, as the Agent ignores what it does not know
    out = []
    for v in values.split(":"):
        value = float("nan") if kind == "s" else float(v)
        out.append(Datagram(name, value, kind, rate, tags, stamp, container, raw=line))
    return out


def parse_datagrams(packet: str | bytes) -> list[Datagram]:
    """Every metric sample in one UDP packet (clients may buffer several lines into one packet).

    Raises:
        ValidationError: a line is not DogStatsD.
    """
    text = packet.decode() if isinstance(packet, bytes) else packet
    return [d for line in text.splitlines() if line.strip() for d in _parse_line(line.strip())]


class DogStatsdListener:
    """A UDP socket on 127.0.0.1 that receives DogStatsD datagrams (in a background thread) and keeps them.

    It stands where the Datadog Agent's DogStatsD server would; it aggregates and forwards nothing. Use it as a
    context manager; the socket closes when the block ends (and with :meth:`close`).

    Args:
        port: the UDP port (0: a free one, read :attr:`port`).
        host: must be a loopback address.
    """

    def __init__(self, port: int = 0, *, host: str = "127.0.0.1") -> None:
        if not host.startswith("127."):
            raise ConfigError(f"the DogStatsD listener binds loopback only, not {host!r}", hint="host='127.0.0.1'")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ConfigError(f"port must be 0 (any free port) or a UDP port number, not {port!r}")
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind((host, port))
        self._sock.settimeout(0.2)
        self.host, self.port = self._sock.getsockname()[:2]
        self.datagrams: list[Datagram] = []
        self.rejected: list[str] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="dogstatsd-listener", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                packet = self._sock.recv(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                parsed = parse_datagrams(packet)
            except (ValidationError, ValueError, UnicodeDecodeError):
                with self._lock:
                    self.rejected.append(packet.decode(errors="replace"))
                continue
            with self._lock:
                self.datagrams.extend(parsed)

    def received(self, name: str | None = None) -> list[Datagram]:
        """What has arrived so far (only metric ``name`` when given)."""
        with self._lock:
            return [d for d in self.datagrams if name is None or d.name == name]

    def wait(self, name: str, count: int = 1, *, timeout: float = 10.0) -> list[Datagram]:
        """Wait until ``count`` samples of ``name`` have arrived; returns them.

        Raises:
            ValidationError: fewer arrived within ``timeout`` (names what did arrive).
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.received(name)
            if len(got) >= count:
                return got
            time.sleep(0.05)
        seen = sorted({d.name for d in self.received()})
        raise ValidationError(
            f"{len(self.received(name))} of {count} {name} samples arrived on udp://{self.host}:{self.port} "
            f"within {timeout:g} s (names seen: {', '.join(seen) or 'none'})",
            hint="is the app sending to this port (DD_AGENT_HOST / DD_DOGSTATSD_PORT)?",
        )

    def frame(self) -> pd.DataFrame:
        """The samples so far, one row each: name, type, value, sample rate, tags."""
        import pandas as pd

        rows = [(d.name, TYPES[d.type], d.value, d.sample_rate, ",".join(d.tags), d.container) for d in self.received()]
        return pd.DataFrame(rows, columns=["metric", "type", "value", "sample_rate", "tags", "container"])

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2.0)
        self._sock.close()

    def __enter__(self) -> DogStatsdListener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"DogStatsdListener(udp://{self.host}:{self.port}, {len(self.received())} samples)"


@dataclass(frozen=True)
class MonitorInput:
    """What one monitor reads, and whether that arrives: the metric and scope of each ``agg:metric{scope}`` in its
    query, how many received samples feed it, and the names the samples *with those tags* are stored under (what
    to query instead when the metric name is not among them)."""

    monitor: str
    metric: str
    scope: str
    samples: int
    stored_as: tuple[str, ...] = ()

    @property
    def fed(self) -> bool:
        return self.samples > 0


def monitor_inputs(
    monitors: Sequence[DatadogMonitor], datagrams: Iterable[Datagram], *, app_metrics: str = "custom."
) -> list[MonitorInput]:
    """For every metric query of every monitor whose metric the app owns (name starts with ``app_metrics``): how
    many of ``datagrams`` it would read (same name, every scope tag present). Composites and the Agent's own
    metrics (``system.cpu.idle``) are left out: no app sends those.

    Example:
        >>> from course_lib.observe import seed_monitors
        >>> sent = parse_datagrams("custom.checkout.latency:80|d|#service:checkout-api")
        >>> [(i.monitor, i.samples) for i in monitor_inputs(seed_monitors(), sent)]
        [('latency_anomaly', 1), ('latency_high', 1)]
        >>> [i.samples for i in monitor_inputs(seed_monitors(service="payments"), sent)]
        [0, 0]
        >>> as_histogram = parse_datagrams("custom.checkout.latency:80|h|#service:checkout-api")
        >>> [i.samples for i in monitor_inputs(seed_monitors(), as_histogram)]
        [0, 0]
    """
    samples = list(datagrams)
    out = []
    for m in monitors:
        for hit in METRIC_REF.finditer(m.query):
            metric, scope = hit.group("metric"), hit.group("scope")
            if not metric.startswith(app_metrics):
                continue
            in_scope = [d for d in samples if d.matches(scope)]
            n = sum(1 for d in in_scope if metric in d.queryable)
            related = [d for d in in_scope if metric in (d.name, *d.queryable) or metric.startswith(d.name + ".")]
            stored = sorted({q for d in related for q in d.queryable})
            out.append(MonitorInput(m.resource, metric, scope, n, tuple(stored)))
    return out


def check_monitor_inputs(inputs: Sequence[MonitorInput]) -> None:
    """Raise unless every monitor input is fed by at least one sample.

    Raises:
        ValidationError: names the monitor, the metric and scope it reads, and that nothing matching arrived.
    """
    if not inputs:
        raise ValidationError("no monitor reads an app metric", hint="seed_monitors() reads custom.checkout.latency")
    starved = [i for i in inputs if not i.fed]
    if starved:
        i = starved[0]
        if i.stored_as:
            hint = f"with those tags Datadog stores {', '.join(i.stored_as)}: query one of them, or send a distribution"
        else:
            hint = "compare the metric name and tags the app sends (listener.frame()) with the monitor's query"
        raise ValidationError(
            f"monitor {i.monitor} reads {i.metric}{{{i.scope}}}, but no sample stored under that name with those "
            "tags arrived",
            hint=hint,
        )


def monitor_inputs_frame(inputs: Sequence[MonitorInput]) -> pd.DataFrame:
    """One row per monitor input: monitor, metric, scope, samples, fed, and the names those samples are stored as.

    Used in: notebook 03."""
    import pandas as pd

    rows = [(i.monitor, i.metric, i.scope, i.samples, i.fed, ", ".join(i.stored_as)) for i in inputs]
    return pd.DataFrame(rows, columns=["monitor", "reads", "scope", "samples", "fed", "stored as"])
