"""Part 1 on the sandbox: OpenTofu state and locking in PostgreSQL (the built-in ``pg`` backend) — a small root
module with a local module, and two applies at once on one state (:func:`lock_conflict`). See
:mod:`course_lib.iac`."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import config
from ..errors import ConfigError, ToolError
from ._run import TofuStep, _directory, _env, _first_line, mirror_dir, tofu

# --- state and locking on the sandbox's PostgreSQL (backend "pg") ---------------------------------------------

_STATE_MAIN = """\
# Stand-ins: terraform_data is built into OpenTofu (no provider to download). It plays the DigitalOcean
# cluster and node pool whose provider cannot be installed here; state, locking, plans and modules work the same.
terraform {
  backend "pg" {
    conn_str    = "__CONN__"
    schema_name = "__SCHEMA__"
  }
}

variable "node_count" {
  type    = number
  default = 2
}

variable "hold_seconds" {
  description = "how long the slow step of an apply takes (the lock is held meanwhile)"
  type        = number
  default     = 0
}

resource "terraform_data" "cluster" {
  input = { name = "__CLUSTER__", region = "nyc1" }
}

module "node_pool" {
  source  = "./modules/node_pool"
  cluster = terraform_data.cluster.output.name
  nodes   = var.node_count
}

resource "terraform_data" "slow_step" {
  triggers_replace = var.hold_seconds
  input            = var.hold_seconds

  provisioner "local-exec" {
    command = "sleep ${self.input}"
  }
}

output "nodes" {
  value = module.node_pool.names
}
"""

_STATE_MODULE = """\
variable "cluster" {
  type = string
}

variable "nodes" {
  type = number
}

resource "terraform_data" "node" {
  count = var.nodes
  input = "${var.cluster}-node-${count.index}"
}

output "names" {
  value = terraform_data.node[*].output
}
"""


def pg_state_project(
    directory: str | os.PathLike[str], *, conn_str: str, schema: str = "course_state", cluster: str = "course-cluster"
) -> Path:
    """Write a small root module whose state lives in PostgreSQL (OpenTofu's built-in ``pg`` backend): a
    ``terraform_data`` "cluster", a local module ``modules/node_pool`` with ``node_count`` nodes, and a slow step
    that holds the state lock for ``hold_seconds``.

    ``conn_str`` is a libpq URL, e.g. ``postgres://app@127.0.0.1:5432/app?sslmode=disable`` (the sandbox's
    database; on a team, a managed PostgreSQL with a password from ``PG_CONN_STR`` instead of the file).

    Used in: notebook 01.
    """
    config.validate_name(cluster, what="cluster")
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", schema):
        raise ConfigError(f"schema {schema!r} is not a plain identifier", hint="e.g. schema='course_state'")
    out = Path(directory).expanduser().resolve()
    (out / "modules" / "node_pool").mkdir(parents=True, exist_ok=True)
    main = _STATE_MAIN.replace("__CONN__", conn_str).replace("__SCHEMA__", schema).replace("__CLUSTER__", cluster)
    (out / "main.tf").write_text(main)
    (out / "modules" / "node_pool" / "main.tf").write_text(_STATE_MODULE)
    return out


@dataclass(frozen=True)
class LockConflict:
    """Two ``tofu apply`` runs at once on one state, as they happened.

    Attributes:
        holder: the first apply (it held the lock during its slow step).
        refused: the second apply, started while the first ran (``-lock-timeout=0s``).
        locks: the advisory locks PostgreSQL showed meanwhile (``pg_locks`` + ``pg_stat_activity``).
        force_unlock: ``tofu force-unlock -force <ID>`` with the ID the refusal printed.
        refused_again: a third apply right after it, while the first still ran.
    """

    holder: TofuStep
    refused: TofuStep
    locks: Any
    force_unlock: TofuStep
    refused_again: TofuStep

    def table(self) -> Any:
        """One row per step: the command, whether it succeeded, and the line that says why."""
        import pandas as pd

        def says(step: TofuStep) -> str:
            for needle in ("Error acquiring the state lock", "successfully unlocked", "Apply complete"):
                for line in step.output.splitlines():
                    if needle in line:
                        return line.strip()
            return _first_line(step)

        rows = [
            ("1st apply (holds the lock)", self.holder.ok, says(self.holder)),
            ("2nd apply, meanwhile", self.refused.ok, says(self.refused)),
            ("force-unlock <ID>", self.force_unlock.ok, says(self.force_unlock)),
            ("3rd apply, meanwhile", self.refused_again.ok, says(self.refused_again)),
        ]
        return pd.DataFrame(rows, columns=["step", "ok", "says"]).set_index("step")


def lock_conflict(
    directory: str | os.PathLike[str], *, db: Any, hold_seconds: int = 6, timeout: float = 60.0
) -> LockConflict:
    """Start an apply whose slow step holds the state lock for ``hold_seconds``, and while it runs: a second
    apply (refused: the lock), a look at ``pg_locks``, ``tofu force-unlock`` with the ID from the refusal, and a
    third apply. With the ``pg`` backend the lock is a PostgreSQL advisory lock held by the first apply's database
    session: ``force-unlock`` from another process reports success but cannot release it (the third apply is
    refused too); it ends with that session — when the apply finishes, or is killed.

    Used in: notebook 01.
    """
    import subprocess
    import time

    from .. import tools

    path = _directory(directory)
    binary = tools.find("tofu")
    if binary is None:
        from ..errors import ToolMissingError

        raise ToolMissingError("tofu is not built", hint="run `make tools`", program="tofu")
    base = mirror_dir()
    base.mkdir(parents=True, exist_ok=True)
    args = ["apply", "-auto-approve", "-no-color", f"-var=hold_seconds={hold_seconds}"]
    start = time.monotonic()
    first = subprocess.Popen(
        [binary, *args], cwd=path, env=_env(base, path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    locks_sql = (
        "SELECT l.objid AS lock, l.pid AS holder_pid, l.granted, a.state, a.backend_type FROM pg_locks l "
        "JOIN pg_stat_activity a USING (pid) WHERE l.locktype = 'advisory'"
    )
    try:
        deadline = time.monotonic() + timeout
        while True:
            locks = db.query(locks_sql, user="postgres")
            if len(locks) and first.poll() is None:
                break
            if first.poll() is not None or time.monotonic() > deadline:
                raise ToolError("the first apply never held the lock", hint="read its output", command="tofu apply")
            time.sleep(0.1)
        again = ["apply", "-auto-approve", "-lock-timeout=0s", f"-var=hold_seconds={hold_seconds + 1}"]
        refused = tofu(path, *again)
        match = re.search(r"ID:\s+([0-9a-f-]{36})", refused.output)
        unlock = tofu(path, "force-unlock", "-force", match.group(1) if match else "unknown")
        refused_again = tofu(path, *again)
        out, _ = first.communicate(timeout=timeout)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    holder = TofuStep(
        " ".join(args), first.returncode == 0, out.replace(str(path), ".").strip(), time.monotonic() - start
    )
    return LockConflict(holder, refused, locks, unlock, refused_again)
