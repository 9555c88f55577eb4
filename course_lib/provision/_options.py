"""Valid DOKS choices (regions, node sizes, versions) and prices: live from the API or from a dated snapshot.

Used in: notebook 01 (choosing a spec), notebook 11 (what the session cost).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from .._resources import MISSING_HINT, data_path
from ..errors import ConfigError

#: DOKS bills a node pool per second, for at most 672 hours (28 days) a month.
HOURS_PER_MONTH = 672


@dataclass(frozen=True)
class Region:
    slug: str
    name: str


@dataclass(frozen=True)
class Size:
    """A node size with its price (USD)."""

    slug: str
    vcpus: int
    memory_mb: int
    price_monthly: float
    price_hourly: float
    description: str = ""


@dataclass(frozen=True)
class Version:
    slug: str
    kubernetes_version: str


@dataclass(frozen=True)
class AddonPrice:
    price_monthly: float
    price_hourly: float
    unit: str


@dataclass(frozen=True)
class Options:
    """What a DOKS cluster may be made of, and what it costs.

    Attributes:
        source: ``"live"`` (read from the API with your token) or ``"snapshot"`` (``data/digitalocean``).
        snapshot_date: the date the offline snapshot was written (``None`` for live data).
    """

    regions: tuple[Region, ...]
    sizes: tuple[Size, ...]
    versions: tuple[Version, ...]
    ha_control_plane: AddonPrice
    load_balancer: AddonPrice
    volume_gib: AddonPrice
    source: Literal["live", "snapshot"]
    snapshot_date: str | None = None
    note: str = ""

    @property
    def region_slugs(self) -> tuple[str, ...]:
        return tuple(r.slug for r in self.regions)

    @property
    def size_slugs(self) -> tuple[str, ...]:
        return tuple(s.slug for s in self.sizes)

    @property
    def version_slugs(self) -> tuple[str, ...]:
        return tuple(v.slug for v in self.versions)

    def size(self, slug: str) -> Size:
        """The :class:`Size` called ``slug``; a :class:`ConfigError` naming close matches otherwise."""
        for s in self.sizes:
            if s.slug == slug:
                return s
        raise ConfigError(
            f"unknown node size {slug!r}",
            hint=f"choose one of: {', '.join(self.size_slugs)}{_did_you_mean(slug, self.size_slugs)}",
        )

    def table(self, what: Literal["sizes", "regions", "versions"] = "sizes") -> Any:
        """A pandas DataFrame of one kind of option (sizes come with prices)."""
        import pandas as pd

        if what == "regions":
            return pd.DataFrame([{"slug": r.slug, "name": r.name} for r in self.regions])
        if what == "versions":
            return pd.DataFrame([{"slug": v.slug, "kubernetes_version": v.kubernetes_version} for v in self.versions])
        rows = [
            {
                "slug": s.slug,
                "vcpus": s.vcpus,
                "memory_gb": s.memory_mb / 1024,
                "usd_per_hour": s.price_hourly,
                "usd_per_month": s.price_monthly,
                "description": s.description,
            }
            for s in self.sizes
        ]
        return pd.DataFrame(rows).sort_values(["usd_per_hour", "slug"], ignore_index=True)


def _did_you_mean(value: str, choices: tuple[str, ...]) -> str:
    import difflib

    close = difflib.get_close_matches(value, choices, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def data_dir() -> Path:
    """Directory of the offline DigitalOcean snapshot: the package's ``data/digitalocean`` (see ``_resources``)."""
    return data_path("digitalocean")


def _addon(raw: dict[str, Any]) -> AddonPrice:
    return AddonPrice(float(raw["price_monthly"]), float(raw["price_hourly"]), str(raw.get("unit", "")))


def _size_from_api(raw: dict[str, Any]) -> Size:
    return Size(
        slug=raw["slug"],
        vcpus=int(raw["vcpus"]),
        memory_mb=int(raw["memory"]),
        price_monthly=float(raw["price_monthly"]),
        price_hourly=float(raw["price_hourly"]),
        description=str(raw.get("description", "")),
    )


def build_options(
    options_json: dict[str, Any], sizes: list[dict[str, Any]], addons: dict[str, Any], **meta: Any
) -> Options:
    """Combine a ``/v2/kubernetes/options`` body with ``/v2/sizes`` entries (prices) into :class:`Options`.

    Node sizes that DOKS offers but for which no price is known are left out (they cannot be estimated).
    """
    opts = options_json["options"]
    priced = {s["slug"]: s for s in sizes}
    return Options(
        regions=tuple(Region(r["slug"], r.get("name", r["slug"])) for r in opts.get("regions", [])),
        sizes=tuple(_size_from_api(priced[s["slug"]]) for s in opts.get("sizes", []) if s["slug"] in priced),
        versions=tuple(Version(v["slug"], v.get("kubernetes_version", "")) for v in opts.get("versions", [])),
        ha_control_plane=_addon(addons["ha_control_plane"]),
        load_balancer=_addon(addons["load_balancer"]),
        volume_gib=_addon(addons["volume_gib"]),
        **meta,
    )


@lru_cache(maxsize=4)
def _snapshot(path: str) -> Options:
    base = Path(path)
    try:
        options_json = json.loads((base / "options.json").read_text())
        sizes_json = json.loads((base / "sizes.json").read_text())
    except FileNotFoundError as exc:
        raise ConfigError(
            f"the DigitalOcean snapshot is missing: {exc.filename}",
            hint=MISSING_HINT,
        ) from None
    about = sizes_json.get("_about", {})
    return build_options(
        options_json,
        sizes_json["sizes"],
        sizes_json["addons"],
        source="snapshot",
        snapshot_date=about.get("snapshot_date"),
        note=about.get("note", ""),
    )


def snapshot_options() -> Options:
    """The dated offline snapshot in ``data/digitalocean`` (no network, no token).

    Example:
        >>> snapshot_options().source
        'snapshot'

    Used in: notebook 01, notebook 11.
    """
    return _snapshot(str(data_dir()))
