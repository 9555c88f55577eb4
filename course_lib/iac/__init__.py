"""OpenTofu, offline: format check, ``init`` from a local provider mirror, ``validate``, ``plan`` and the plan as data.

``tofu`` (OpenTofu, the open-source fork of Terraform; same language, same files) is built from its pinned source by
``make tools``. Nothing here talks to a provider registry or to DigitalOcean:

* **Providers come from a filesystem mirror** (:func:`mirror_dir`), a folder laid out as
  ``<mirror>/<host>/<namespace>/<type>/<version>/<os>_<arch>/terraform-provider-<type>_v<version>``. A CLI
  configuration file (:func:`cli_config`, passed as ``TF_CLI_CONFIG_FILE``) lists only that mirror and no
  ``direct`` block, so ``tofu init`` never goes online: a provider that is not in the mirror is an error naming
  the mirror, never a download.
* **No real token.** The DigitalOcean provider makes no API call when it is configured, so a plan of *new*
  resources needs none; :data:`DUMMY_TOKEN` is an obviously fake value that does not even look like a token.
* ``plan -refresh=false`` reads no existing state from the cloud; :func:`plan` saves the plan and reads it back
  with ``tofu show -json`` into :class:`Plan`.

An honest limit of this release: the DigitalOcean provider (``terraform-provider-digitalocean``) cannot be built
here — the Go module proxy does not serve that module — so the mirror holds no ``digitalocean/digitalocean``
and :func:`check` stops at ``init`` with OpenTofu's own message. Once the provider binary is placed in the mirror
(:func:`provider_mirror_path` says where), the same calls validate and plan the cluster offline.

Example:
    >>> from course_lib import iac, provision as prov
    >>> project = iac.offline_project(prov.ClusterSpec(name="course-ada"), "/tmp/tofu-ada", k8s_version="1.37.2-do.0")
    >>> iac.check(project).steps_table()  # doctest: +SKIP

Used in: notebook 01.
"""

from __future__ import annotations

from ..pins import DIGITALOCEAN_PROVIDER_VERSION
from ._plan import CheckReport, Plan, PlannedResource, check, offline_project, plan, resolve_version
from ._run import (
    DUMMY_TOKEN,
    REGISTRY_HOST,
    TofuStep,
    cli_config,
    fmt_check,
    init,
    mirror_dir,
    mirrored_providers,
    provider_mirror_path,
    tofu,
    validate,
)
from ._state import LockConflict, lock_conflict, pg_state_project

__all__ = [
    "DIGITALOCEAN_PROVIDER_VERSION",
    "DUMMY_TOKEN",
    "REGISTRY_HOST",
    "CheckReport",
    "LockConflict",
    "Plan",
    "PlannedResource",
    "TofuStep",
    "check",
    "cli_config",
    "fmt_check",
    "init",
    "lock_conflict",
    "mirror_dir",
    "mirrored_providers",
    "offline_project",
    "pg_state_project",
    "plan",
    "provider_mirror_path",
    "resolve_version",
    "tofu",
    "validate",
]
