"""Settings for a course session: target, names, region, limits, and where files go.

Secrets come only from the environment (``DIGITALOCEAN_TOKEN``) and are wrapped in :class:`Secret`,
whose ``repr``/``str`` never show the value. Notebook parameters never carry a secret.

Example:
    >>> s = Settings(target="sandbox", learner="ada")
    >>> s.resource_name("cluster")
    'course-ada-cluster'

Used in: every notebook's first code cell (``settings = course_lib.settings(target=target)``).
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal, get_args

from .errors import ConfigError

Target = Literal["sandbox", "kubeconfig", "doks"]
TARGETS: tuple[str, ...] = get_args(Target)

TOKEN_ENV = "DIGITALOCEAN_TOKEN"
#: Label put on everything the course creates, so cleanup can find it.
COURSE_LABEL = "app.kubernetes.io/managed-by"
COURSE_LABEL_VALUE = "course-lib"
RUN_ID_LABEL = "course-lib/run-id"
COURSE_TAG = "k8s-course"

_NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


class Secret:
    """A string that never shows itself in ``repr``, ``str`` or f-strings.

    >>> Secret("dop_v1_x")
    Secret('***')
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get(self) -> str:
        """Return the real value (only to hand it to an API client)."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("Secrets are not pickled; read them from the environment where they are used.")


def cache_dir() -> Path:
    """Directory for built tools and downloaded data (outside git)."""
    base = os.environ.get("COURSE_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "course-lib"
    )
    return Path(base)


def state_dir() -> Path:
    """Directory for runtime state such as the sandbox state file."""
    base = os.environ.get("COURSE_STATE_DIR") or os.path.join(
        os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state"), "course-lib"
    )
    return Path(base)


@contextlib.contextmanager
def using_state_dir(path: str | os.PathLike[str]) -> Iterator[Path]:
    """:func:`state_dir` is ``path`` inside the block (``COURSE_STATE_DIR``, so kernels and processes started there
    inherit it); the previous value comes back afterwards."""
    old = os.environ.get("COURSE_STATE_DIR")
    os.environ["COURSE_STATE_DIR"] = str(path)
    try:
        yield Path(path)
    finally:
        if old is None:
            os.environ.pop("COURSE_STATE_DIR", None)
        else:
            os.environ["COURSE_STATE_DIR"] = old


def is_http_url(value: object) -> bool:
    """Whether ``value`` is a URL the course's HTTP clients can ask: a string starting with http:// or https://.

    Example:
        >>> is_http_url("http://127.0.0.1:9090"), is_http_url("localhost:9090"), is_http_url(None)
        (True, False, False)
    """
    return isinstance(value, str) and value.startswith(("http://", "https://"))


def validate_name(value: str, *, what: str = "name", max_len: int = 63) -> str:
    """Check a DNS-1123 label (lowercase letters, digits, '-', at most ``max_len`` characters)."""
    if not value or len(value) > max_len or not _NAME_RE.match(value):
        raise ConfigError(
            f"{what} {value!r} is not a valid DNS-1123 label",
            hint=f"use lowercase letters, digits and '-', start and end with a letter or digit, at most {max_len} characters",
        )
    return value


def validate_target(target: str) -> Target:
    """Return ``target`` if it is one of the known targets, else raise a :class:`ConfigError`."""
    if target not in TARGETS:
        raise ConfigError(f"unknown target {target!r}", hint=f"choose one of: {', '.join(TARGETS)}")
    return target  # type: ignore[return-value]


def token(*, required: bool = False) -> Secret | None:
    """Read the DigitalOcean token from the environment (never from parameters).

    Args:
        required: raise a :class:`ConfigError` when it is missing.
    """
    value = os.environ.get(TOKEN_ENV, "").strip()
    if not value:
        if required:
            raise ConfigError(
                f"{TOKEN_ENV} is not set",
                hint=(
                    f"create a token in the DigitalOcean control panel (API → Tokens), then in a terminal run "
                    f"`read -s {TOKEN_ENV} && export {TOKEN_ENV}` before starting Jupyter; never paste it into a notebook"
                ),
            )
        return None
    return Secret(value)


def new_run_id() -> str:
    """A short random id that labels everything one run creates."""
    return secrets.token_hex(3)


@dataclass(frozen=True)
class Settings:
    """Settings for one course session.

    Args:
        target: where the course runs: ``sandbox`` (local processes), ``kubeconfig`` (any cluster), ``doks``.
        learner: a short name that makes resource names unique per learner (classroom batches).
        region: DigitalOcean region slug for the live path.
        max_hourly_cost: cost guard in USD per hour; creation beyond it is refused.
        kubeconfig: path to a kubeconfig for the ``kubeconfig`` target.
        context: kubeconfig context to use.
        run_id: labels everything this session creates.
    """

    target: Target = "sandbox"
    learner: str = "learner"
    region: str = "nyc1"
    max_hourly_cost: float = 0.50
    kubeconfig: str | None = None
    context: str | None = None
    run_id: str = field(default_factory=new_run_id)

    def __post_init__(self) -> None:
        validate_target(self.target)
        validate_name(self.learner, what="learner", max_len=20)
        if self.max_hourly_cost < 0:
            raise ConfigError(
                f"max_hourly_cost must not be negative, got {self.max_hourly_cost}",
                hint="give a limit in USD per hour, e.g. 0.50",
            )

    @property
    def token(self) -> Secret | None:
        """The DigitalOcean token from the environment, or ``None``; required for ``target='doks'``."""
        return token(required=self.target == "doks")

    @property
    def has_token(self) -> bool:
        return token() is not None

    def resource_name(self, suffix: str) -> str:
        """A consistent, per-learner resource name: ``course-<learner>-<suffix>``."""
        return validate_name(f"course-{self.learner}-{suffix}")

    @property
    def labels(self) -> dict[str, str]:
        """Labels put on every Kubernetes object the course creates."""
        return {COURSE_LABEL: COURSE_LABEL_VALUE, RUN_ID_LABEL: self.run_id}

    def with_(self, **changes: object) -> Settings:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)  # type: ignore[arg-type]


def settings(**kwargs: object) -> Settings:
    """Build :class:`Settings`; the notebooks call this with their parameters."""
    return Settings(**kwargs)  # type: ignore[arg-type]


__all__ = [
    "is_http_url",
    "COURSE_LABEL",
    "COURSE_LABEL_VALUE",
    "COURSE_TAG",
    "RUN_ID_LABEL",
    "TARGETS",
    "TOKEN_ENV",
    "Secret",
    "Settings",
    "Target",
    "cache_dir",
    "new_run_id",
    "settings",
    "state_dir",
    "token",
    "validate_name",
    "validate_target",
]
