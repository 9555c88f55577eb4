"""Part 5's two overview tables: the charts it installs (Kyverno, Falco, External Secrets Operator) with their pins,
and Sealed Secrets next to the External Secrets Operator. See :mod:`course_lib.policy`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..pins import ESO_CHART, FALCO_CHART, KYVERNO_CHART, HelmChart

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

# ----------------------------------------------------------------------------------------------- charts


def charts() -> dict[str, HelmChart]:
    """The charts of part 5 with their pins.

    Example:
        >>> sorted(charts())
        ['external-secrets', 'falco', 'kyverno']

    Used in: notebook 05.
    """
    return {"kyverno": KYVERNO_CHART, "falco": FALCO_CHART, "external-secrets": ESO_CHART}


def charts_table() -> pd.DataFrame:
    """Chart, pinned version, application version and namespace, one row per chart."""
    import pandas as pd

    rows = [
        {
            "release": c.release,
            "chart": f"{c.repo_name}/{c.chart}",
            "version": c.version,
            "app": c.app_version,
            "namespace": c.namespace,
        }
        for c in charts().values()
    ]
    return pd.DataFrame(rows)


def secrets_comparison() -> pd.DataFrame:
    """Sealed Secrets and External Secrets Operator side by side.

    Used in: notebook 05.
    """
    import pandas as pd

    rows = [
        ("What is in Git", "the secret, encrypted (SealedSecret)", "only a reference (ExternalSecret)"),
        (
            "Where the value lives",
            "in the cluster, as a Secret the controller decrypts",
            "in an external manager (Vault, AWS/GCP/Azure, …)",
        ),
        ("Who can decrypt", "only the controller's private key in that cluster", "the manager's access rules decide"),
        (
            "Rotation",
            "re-seal and commit a new SealedSecret",
            "change it in the manager; ESO refreshes (refreshInterval)",
        ),
        ("Many clusters", "seal once per cluster (one key pair each)", "one store, any number of clusters"),
        ("Extra infrastructure", "none besides the controller", "a secret manager and its credentials"),
        ("Lose the key", "back up the controller's key, or re-seal everything", "nothing in the cluster to lose"),
    ]
    return pd.DataFrame(rows, columns=["", "Sealed Secrets", "External Secrets Operator"])
