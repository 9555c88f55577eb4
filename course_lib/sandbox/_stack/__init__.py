"""The local sandbox stack: real Prometheus, Alertmanager, node_exporter, Pushgateway and three small Python
services (checkout, traffic generator, alert webhook receiver), all on 127.0.0.1.

``up()`` starts the stack (or reuses a healthy one recorded in the state file), ``status()`` reports on it and
``down()`` stops it. The stack deliberately outlives the notebook kernel that started it (each child runs in its
own session), so the next notebook reuses it; ``status``/``up``/``down`` find the children through the state
file and an environment marker, so a crashed kernel leaves nothing behind that ``down`` cannot clean.

Example:
    >>> from course_lib import sandbox
    >>> stack = sandbox.up()                           # doctest: +SKIP
    >>> stack.inject(latency_ms=600)                   # doctest: +SKIP
    >>> sandbox.down()                                 # doctest: +SKIP

Used in: notebooks 03 (observability) and every notebook that runs on ``target="sandbox"``.
"""

from __future__ import annotations

from ._conf import (
    write_configs,  # noqa: F401
)
from ._handle import (
    Stack,  # noqa: F401
)
from ._life import (  # noqa: F401
    reload_on_demand_jobs,
    up,
)
from ._overview import SandboxOverview, overview  # noqa: F401
from ._procs import (  # noqa: F401
    down,
    isolated,
    status,
    stop_and_delete,
    stop_stack,
)
from ._records import (  # noqa: F401
    MARKER_ENV,
    SCRAPE_INTERVAL,
    SERVICE_NAMES,
    STATE_VERSION,
    Faults,
    ServiceStatus,
    StackEndpoints,
    StackStatus,
    _locked,
    _write_state,
    as_dict,
    state_file,
)

__all__ = [
    "Faults",
    "ServiceStatus",
    "Stack",
    "StackEndpoints",
    "StackStatus",
    "as_dict",
    "down",
    "stop_stack",
    "isolated",
    "state_file",
    "status",
    "up",
    "write_configs",
]
