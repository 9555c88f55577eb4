"""One exception hierarchy for the whole course library.

Every error carries its context and a ``hint`` that tells the reader what to do next.
No error message ever contains a secret: :func:`redact` scrubs known secret values from any
text before it becomes part of a message.

Used in: every notebook (errors surface in cell outputs).
"""

from __future__ import annotations

import os
from typing import Any

#: Environment variables whose values are secrets. Their values are scrubbed from messages.
SECRET_ENV_VARS: tuple[str, ...] = (
    "DIGITALOCEAN_TOKEN",
    "DIGITALOCEAN_ACCESS_TOKEN",
    "DATADOG_API_KEY",
    "DATADOG_APP_KEY",
    "ARGOCD_AUTH_TOKEN",
)

_MASK = "***"


def secret_values() -> list[str]:
    """Return the non-trivial secret values currently present in the environment."""
    return [v for name in SECRET_ENV_VARS if len(v := os.environ.get(name, "")) >= 4]


def redact(text: str, extra: list[str] | None = None) -> str:
    """Replace every known secret value in ``text`` with ``***``.

    >>> redact("token is dop_v1_abc", extra=["dop_v1_abc"])
    'token is ***'
    """
    for value in [*secret_values(), *(extra or [])]:
        if value:
            text = text.replace(value, _MASK)
    return text


class CourseError(Exception):
    """Base of every error raised by ``course_lib``.

    Args:
        message: what went wrong, in one sentence.
        hint: what the reader can do about it.
        **context: facts that help (name, status, command, timeout ...); shown in the message.
    """

    default_hint: str = ""

    def __init__(self, message: str, *, hint: str | None = None, **context: Any) -> None:
        self.message = redact(str(message))
        self.hint = redact(hint if hint is not None else self.default_hint)
        self.context = {k: v for k, v in context.items() if v is not None}
        super().__init__(self.__str__())

    def __str__(self) -> str:
        parts = [self.message]
        if self.context:
            facts = ", ".join(f"{k}={v!r}" for k, v in self.context.items())
            parts.append(f"({redact(facts)})")
        text = " ".join(parts)
        if self.hint:
            text += f"\n  How to fix: {self.hint}"
        return text

    def __reduce__(self) -> tuple[Any, ...]:  # keep errors picklable across process pools
        return (_rebuild, (type(self), self.message, self.hint, self.context))


def _rebuild(cls: type[CourseError], message: str, hint: str, context: dict[str, Any]) -> CourseError:
    return cls(message, hint=hint, **context)


class ConfigError(CourseError):
    """Bad settings or parameters: wrong target, unknown part, missing token ..."""


class ToolMissingError(CourseError):
    """A program the course needs is not installed."""

    default_hint = "Run `make run` or `make test` once (they install what is missing), then `course doctor`."


class ProvisionError(CourseError):
    """A DigitalOcean API call or a cost guard failed."""


class CostLimitError(ProvisionError):
    """The estimated cost is above the configured limit."""


class ClusterError(CourseError):
    """A Kubernetes operation failed."""


class ValidationError(CourseError):
    """A manifest does not match its schema."""


class SandboxError(CourseError):
    """A local sandbox service could not start, answer or stop."""


class PortInUseError(SandboxError):
    """A port the sandbox wants is already taken."""


class QueryError(CourseError):
    """Prometheus or Loki rejected a query; carries the server's own message."""


class RunError(CourseError):
    """A notebook batch run failed."""


class ExerciseError(CourseError):
    """A learner's answer to a "Your turn" exercise is not right yet."""


__all__ = [
    "SECRET_ENV_VARS",
    "ClusterError",
    "ConfigError",
    "CostLimitError",
    "CourseError",
    "ExerciseError",
    "PortInUseError",
    "ProvisionError",
    "QueryError",
    "RunError",
    "SandboxError",
    "ToolMissingError",
    "ValidationError",
    "redact",
    "secret_values",
]


class ToolError(CourseError):
    """An external program (helm, kubectl, kustomize ...) ran and failed; the message carries its stderr."""


__all__.append("ToolError")
